/** The policy documents and parameter lists of infra/rds-policies.ts, as plain values. */
import { describe, expect, test } from "vitest";
import {
  EVENT_CATEGORIES,
  eventTopicPolicy,
  logGroupArnPattern,
  monitoringPolicyArn,
  monitoringTrustPolicy,
  parameterList,
  stackKeyPolicy,
} from "../infra/rds-policies.js";
import { parseStackSettings, type AwsStackSettings } from "../stacks/index.js";
import { readStackFile } from "./support/pulumi.js";

const account = { partition: "aws-cn", accountId: "111122223333", region: "cn-north-1" };

describe("the stack key's policy", () => {
  test("the account administers it; RDS events may use it for the topic", () => {
    const policy = stackKeyPolicy(account, ["/aws/rds/instance/db"]);
    expect(policy.Version).toBe("2012-10-17");
    expect(policy.Statement.map((s) => s.Sid)).toEqual(["AccountAdministersTheKey", "CloudWatchLogsEncryptsThisDatabasesLogs", "RdsEventsPublishToTheEncryptedTopic"]);
    expect(policy.Statement[0]).toMatchObject({ Principal: { AWS: "arn:aws-cn:iam::111122223333:root" }, Action: "kms:*" });
    expect(policy.Statement[2]).toMatchObject({ Principal: { Service: "events.rds.amazonaws.com" }, Action: ["kms:GenerateDataKey*", "kms:Decrypt"] });
  });

  test("CloudWatch Logs of the region, for this database's log groups only: one prefix a string, several a list", () => {
    const logs = (prefixes: string[]) => stackKeyPolicy(account, prefixes).Statement[1]!;
    expect(logs(["/aws/rds/instance/db"])).toMatchObject({
      Principal: { Service: "logs.cn-north-1.amazonaws.com" },
      Condition: { ArnLike: { "kms:EncryptionContext:aws:logs:arn": "arn:aws-cn:logs:cn-north-1:111122223333:log-group:/aws/rds/instance/db/*" } },
    });
    expect(logs(["/a", "/b"]).Condition).toEqual({
      ArnLike: { "kms:EncryptionContext:aws:logs:arn": [logGroupArnPattern(account, "/a"), logGroupArnPattern(account, "/b")] },
    });
  });
});

test("the event topic's policy: RDS publishes to that topic, for this account's events only", () => {
  expect(eventTopicPolicy("arn:aws:sns:eu-west-1:111122223333:t", "111122223333")).toEqual({
    Version: "2012-10-17",
    Statement: [
      {
        Sid: "RdsEventsOfThisAccount",
        Effect: "Allow",
        Principal: { Service: "events.rds.amazonaws.com" },
        Action: "sns:Publish",
        Resource: "arn:aws:sns:eu-west-1:111122223333:t",
        Condition: { StringEquals: { "aws:SourceAccount": "111122223333" } },
      },
    ],
  });
});

test("the monitoring role: assumed by RDS monitoring, with the managed policy of the partition", () => {
  expect(monitoringTrustPolicy().Statement).toEqual([{ Effect: "Allow", Principal: { Service: "monitoring.rds.amazonaws.com" }, Action: "sts:AssumeRole" }]);
  expect(monitoringPolicyArn("aws-us-gov")).toBe("arn:aws-us-gov:iam::aws:policy/service-role/AmazonRDSEnhancedMonitoringRole");
});

test("the parameters: TLS forced and pg_stat_statements loaded after a reboot, the slow-statement threshold from the settings", () => {
  const settings = parseStackSettings(
    { ...readStackFile("dev").config, "pg-migrations:migratorPassword": "a-migrator-password-long-enough", "pg-migrations:slowStatementMs": "250" },
    { project: "pg-migrations", stack: "dev" },
  ) as AwsStackSettings;
  const params = parameterList(settings);
  expect(params.find((p) => p.name === "rds.force_ssl")).toEqual({ name: "rds.force_ssl", value: "1", applyMethod: "pending-reboot" });
  expect(params.find((p) => p.name === "shared_preload_libraries")).toMatchObject({ value: "pg_stat_statements", applyMethod: "pending-reboot" });
  expect(params.find((p) => p.name === "log_min_duration_statement")).toEqual({ name: "log_min_duration_statement", value: "250", applyMethod: "immediate" });
});

test("the event categories: RDS.19's for clusters, RDS.20's for instances, RDS.21 and RDS.22's for parameter and security groups", () => {
  expect(EVENT_CATEGORIES["db-cluster"]).toEqual(expect.arrayContaining(["failover", "failure", "maintenance"]));
  expect(EVENT_CATEGORIES["db-instance"]).toEqual(expect.arrayContaining(["configuration change", "failure", "maintenance"]));
  expect(EVENT_CATEGORIES["db-parameter-group"]).toEqual(["configuration change", "maintenance"]);
  expect(EVENT_CATEGORIES["db-security-group"]).toEqual(["configuration change", "failure"]);
});
