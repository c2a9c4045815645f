/**
 * What an RDS instance (database.ts) and an Aurora cluster (cluster.ts) share: the stack's KMS key,
 * the enhanced-monitoring role, log groups made before RDS would make its own, the event topic and
 * subscriptions, and the RDS-managed master secret. Each function creates its resources as
 * children of the component that calls it, under that component's name, so the resources of an
 * existing instance stack keep their URNs.
 */
import * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";
import type { ControlEvidence } from "./controls.js";
import type { DatabaseNetwork } from "./network.js";

export interface AccountContext {
  partition: pulumi.Output<string>;
  accountId: pulumi.Output<string>;
  region: string;
}

export function accountContext(parent: pulumi.Resource, region: string): AccountContext {
  return {
    partition: aws.getPartitionOutput({}, { parent }).partition,
    accountId: aws.getCallerIdentityOutput({}, { parent }).accountId,
    region,
  };
}

/**
 * The stack's own KMS key (rotation on) for storage, the master secret, Performance Insights,
 * the log groups and the event topic. `logGroupPrefixes` are the log group names (without the
 * trailing `/<type>`) CloudWatch Logs may encrypt with it.
 */
export function stackKey(
  name: string,
  parent: pulumi.Resource,
  args: { identifier: string; account: AccountContext; logGroupPrefixes: string[]; tags: Record<string, string>; protect: boolean },
): aws.kms.Key {
  const { identifier, account, logGroupPrefixes, tags, protect } = args;
  const { partition, accountId, region } = account;
  const logGroupArns = logGroupPrefixes.map((prefix) => pulumi.interpolate`arn:${partition}:logs:${region}:${accountId}:log-group:${prefix}/*`);
  const key = new aws.kms.Key(
    `${name}-key`,
    {
      description: `${identifier}: RDS storage, master secret, Performance Insights, logs and event topic`,
      enableKeyRotation: true,
      deletionWindowInDays: 30,
      policy: pulumi.jsonStringify({
        Version: "2012-10-17",
        Statement: [
          {
            Sid: "AccountAdministersTheKey",
            Effect: "Allow",
            Principal: { AWS: pulumi.interpolate`arn:${partition}:iam::${accountId}:root` },
            Action: "kms:*",
            Resource: "*",
          },
          {
            Sid: "CloudWatchLogsEncryptsThisDatabasesLogs",
            Effect: "Allow",
            Principal: { Service: `logs.${region}.amazonaws.com` },
            Action: ["kms:Encrypt*", "kms:Decrypt*", "kms:ReEncrypt*", "kms:GenerateDataKey*", "kms:Describe*"],
            Resource: "*",
            // One prefix stays a plain string, as the policy of an instance without replicas always was.
            Condition: { ArnLike: { "kms:EncryptionContext:aws:logs:arn": logGroupArns.length === 1 ? logGroupArns[0]! : logGroupArns } },
          },
          {
            Sid: "RdsEventsPublishToTheEncryptedTopic",
            Effect: "Allow",
            Principal: { Service: "events.rds.amazonaws.com" },
            Action: ["kms:GenerateDataKey*", "kms:Decrypt"],
            Resource: "*",
          },
        ],
      }),
      tags,
    },
    { parent, protect },
  );
  new aws.kms.Alias(`${name}-key-alias`, { name: `alias/${identifier}`, targetKeyId: key.keyId }, { parent });
  return key;
}

/** The role RDS's enhanced monitoring publishes with; its ARN resolves only once the policy is attached. */
export function monitoringRole(
  name: string,
  parent: pulumi.Resource,
  args: { identifier: string; account: AccountContext; tags: Record<string, string> },
): pulumi.Output<string> {
  const role = new aws.iam.Role(
    `${name}-monitoring`,
    {
      description: `Enhanced monitoring of ${args.identifier}`,
      assumeRolePolicy: JSON.stringify({
        Version: "2012-10-17",
        Statement: [{ Effect: "Allow", Principal: { Service: "monitoring.rds.amazonaws.com" }, Action: "sts:AssumeRole" }],
      }),
      tags: args.tags,
    },
    { parent },
  );
  const attachment = new aws.iam.RolePolicyAttachment(
    `${name}-monitoring-policy`,
    { role: role.name, policyArn: pulumi.interpolate`arn:${args.account.partition}:iam::aws:policy/service-role/AmazonRDSEnhancedMonitoringRole` },
    { parent },
  );
  // A database must not start before the role can publish.
  return pulumi.all([role.arn, attachment.id]).apply(([arn]) => arn);
}

/**
 * One log group per exported type, created before the database so RDS writes into groups with a
 * retention (and, in prod, our key) instead of creating its own that keep logs forever.
 */
export function logGroups(
  name: string,
  parent: pulumi.Resource,
  args: { prefix: string; types: string[]; retentionDays: number; keyArn: pulumi.Output<string> | undefined; tags: Record<string, string> },
): aws.cloudwatch.LogGroup[] {
  const { prefix, types, retentionDays, keyArn, tags } = args;
  return types.map(
    (type) =>
      new aws.cloudwatch.LogGroup(
        `${name}-log-${type}`,
        { name: `${prefix}/${type}`, retentionInDays: retentionDays, ...(keyArn ? { kmsKeyId: keyArn } : {}), tags },
        { parent },
      ),
  );
}

/** The SNS topic RDS events go to: the configured one, or one of the stack's own, encrypted with its key. */
export function eventTopic(
  name: string,
  parent: pulumi.Resource,
  args: { existingTopicArn: string | undefined; keyArn: pulumi.Output<string> | undefined; account: AccountContext; tags: Record<string, string> },
): pulumi.Input<string> {
  if (args.existingTopicArn) return args.existingTopicArn;
  const topic = new aws.sns.Topic(`${name}-events`, { ...(args.keyArn ? { kmsMasterKeyId: args.keyArn } : {}), tags: args.tags }, { parent });
  new aws.sns.TopicPolicy(
    `${name}-events-policy`,
    {
      arn: topic.arn,
      policy: pulumi.jsonStringify({
        Version: "2012-10-17",
        Statement: [
          {
            Sid: "RdsEventsOfThisAccount",
            Effect: "Allow",
            Principal: { Service: "events.rds.amazonaws.com" },
            Action: "sns:Publish",
            Resource: topic.arn,
            Condition: { StringEquals: { "aws:SourceAccount": args.account.accountId } },
          },
        ],
      }),
    },
    { parent },
  );
  return topic.arn;
}

export interface EventSource {
  /** Name part of the subscription resource: `${name}-${suffix}-events`. */
  suffix: string;
  sourceType: string;
  eventCategories: string[];
  /** Undefined: every source of that type in the account and region. */
  sourceIds: pulumi.Input<string>[] | undefined;
}

export function subscribe(
  name: string,
  parent: pulumi.Resource,
  topicArn: pulumi.Input<string>,
  sources: EventSource[],
  tags: Record<string, string>,
): aws.rds.EventSubscription[] {
  return sources.map(
    ({ suffix, sourceType, eventCategories, sourceIds }) =>
      new aws.rds.EventSubscription(
        `${name}-${suffix}-events`,
        { snsTopic: topicArn, sourceType, eventCategories, ...(sourceIds ? { sourceIds } : {}), enabled: true, tags },
        { parent },
      ),
  );
}

function parseMasterSecret(text: string): { username: string; password: string } {
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    parsed = undefined;
  }
  const p = parsed as { username?: unknown; password?: unknown } | undefined;
  if (!p || typeof p.password !== "string" || typeof p.username !== "string") {
    // Never include the text: it is the secret.
    throw new Error("the RDS-managed master secret is not the JSON {username, password} RDS writes; check the secret in Secrets Manager");
  }
  return { username: p.username, password: p.password };
}

/** The ARN of the master secret RDS manages (manageMasterUserPassword), from the resource's masterUserSecrets. */
export function masterSecretArn(secrets: pulumi.Output<{ secretArn: string }[]>, identifier: string): pulumi.Output<string> {
  return secrets.apply((list) => {
    const arn = list[0]?.secretArn;
    if (!arn) throw new Error(`RDS reports no managed master secret for ${identifier}; manageMasterUserPassword must be true`);
    return arn;
  });
}

/** The master password, read from Secrets Manager, as a Pulumi secret. */
export function masterPassword(parent: pulumi.Resource, secretArn: pulumi.Output<string>): pulumi.Output<string> {
  const secret = aws.secretsmanager.getSecretVersionOutput({ secretId: secretArn }, { parent });
  return pulumi.secret(secret.secretString.apply((text) => parseMasterSecret(text).password));
}

/** Whether a parameter group's parameters force TLS (Security Hub RDS.38). */
export function forcesTls(parameters: pulumi.Output<{ name: string; value: string }[] | undefined>): pulumi.Output<boolean> {
  return parameters.apply((params) => (params ?? []).some((p) => p.name === "rds.force_ssl" && p.value === "1"));
}

/**
 * What the Security Hub controls need beyond the posture (infra/controls.ts), read from the
 * resources: the database's tags, its subnet group and the event subscriptions that exist.
 */
export function controlEvidence(
  tags: pulumi.Output<Record<string, string> | undefined>,
  network: DatabaseNetwork,
  subscriptions: aws.rds.EventSubscription[],
): pulumi.Output<ControlEvidence> {
  return pulumi
    .output({
      tags,
      subnetGroupName: network.subnetGroupName,
      subnetGroupTags: network.subnetGroupTags,
      subscriptions: subscriptions.map((s) => pulumi.output({ sourceType: s.sourceType, eventCategories: s.eventCategories, enabled: s.enabled })),
    })
    .apply((e): ControlEvidence => ({
      tags: e.tags ?? {},
      subnetGroup: { name: e.subnetGroupName, tags: e.subnetGroupTags ?? {} },
      eventSubscriptions: e.subscriptions.map((s) => ({ sourceType: s.sourceType ?? "", eventCategories: s.eventCategories ?? [], enabled: s.enabled ?? true })),
    }));
}
