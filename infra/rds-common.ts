/**
 * The resources an RDS instance (database.ts) and an Aurora cluster (cluster.ts) both make: the
 * stack's KMS key, the enhanced-monitoring role, the parameter group's arguments, log groups made
 * before RDS would make its own, the event topic and subscriptions, and the RDS-managed master
 * secret; and what both read back for the Security Hub controls. The documents and lists these
 * resources carry are in rds-policies.ts, the settings in security-posture.ts. Each function
 * creates its resources as children of the component that calls it, under that component's name,
 * so the resources of an existing stack keep their URNs.
 */
import * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";
import type { AwsStackSettings } from "../stacks/index.js";
import type { ControlEvidence } from "./controls.js";
import type { DatabaseNetwork } from "./network.js";
import {
  EVENT_CATEGORIES,
  eventTopicPolicy,
  monitoringPolicyArn,
  monitoringTrustPolicy,
  parameterGroupDescription,
  parameterList,
  stackKeyPolicy,
  type EventSourceType,
} from "./rds-policies.js";
import type { PostureArns, SecurityPosture } from "./security-posture.js";

export interface AccountContext {
  partition: pulumi.Output<string>;
  accountId: pulumi.Output<string>;
  region: string;
}

function accountContext(parent: pulumi.Resource, region: string): AccountContext {
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
function stackKey(
  name: string,
  parent: pulumi.Resource,
  args: { identifier: string; account: AccountContext; logGroupPrefixes: string[]; tags: Record<string, string>; protect: boolean },
): aws.kms.Key {
  const { identifier, account, logGroupPrefixes, tags, protect } = args;
  const policy = pulumi
    .all([account.partition, account.accountId])
    .apply(([partition, accountId]) => JSON.stringify(stackKeyPolicy({ partition, accountId, region: account.region }, logGroupPrefixes)));
  const key = new aws.kms.Key(
    `${name}-key`,
    {
      description: `${identifier}: RDS storage, master secret, Performance Insights, logs and event topic`,
      enableKeyRotation: true,
      deletionWindowInDays: 30,
      policy,
      tags,
    },
    { parent, protect },
  );
  new aws.kms.Alias(`${name}-key-alias`, { name: `alias/${identifier}`, targetKeyId: key.keyId }, { parent });
  return key;
}

/** The role RDS's enhanced monitoring publishes with; its ARN resolves only once the policy is attached. */
function monitoringRole(
  name: string,
  parent: pulumi.Resource,
  args: { identifier: string; account: AccountContext; tags: Record<string, string> },
): pulumi.Output<string> {
  const role = new aws.iam.Role(
    `${name}-monitoring`,
    { description: `Enhanced monitoring of ${args.identifier}`, assumeRolePolicy: JSON.stringify(monitoringTrustPolicy()), tags: args.tags },
    { parent },
  );
  const attachment = new aws.iam.RolePolicyAttachment(
    `${name}-monitoring-policy`,
    { role: role.name, policyArn: args.account.partition.apply(monitoringPolicyArn) },
    { parent },
  );
  // A database must not start before the role can publish.
  return pulumi.all([role.arn, attachment.id]).apply(([arn]) => arn);
}

/** What the posture's inputs point at, and the account they live in: created before the database. */
export interface PostureSupport extends PostureArns {
  account: AccountContext;
  kmsKey: aws.kms.Key | undefined;
  keyArn: pulumi.Output<string> | undefined;
  monitoringRoleArn: pulumi.Output<string> | undefined;
}

/** The stack key (when the posture wants one of its own) and the monitoring role (when monitoring is on). */
export function postureSupport(
  name: string,
  parent: pulumi.Resource,
  args: { identifier: string; region: string; posture: SecurityPosture; logGroupPrefixes: string[]; tags: Record<string, string> },
): PostureSupport {
  const { identifier, posture, logGroupPrefixes, tags } = args;
  const account = accountContext(parent, args.region);
  const kmsKey = posture.ownKmsKey ? stackKey(name, parent, { identifier, account, logGroupPrefixes, tags, protect: posture.protectFromDeletion }) : undefined;
  const monitoringRoleArn = posture.monitoringIntervalSeconds > 0 ? monitoringRole(name, parent, { identifier, account, tags }) : undefined;
  return { account, kmsKey, keyArn: kmsKey?.arn, monitoringRoleArn };
}

/** The parameter group's arguments, for a DB or a cluster parameter group of the given family. */
export function parameterGroupArgs(settings: AwsStackSettings, family: string, tags: Record<string, string>) {
  return { family, description: parameterGroupDescription(settings.rds.identifier), parameters: parameterList(settings), tags };
}

/**
 * One log group per exported type, created before the database so RDS writes into groups with a
 * retention (and, in prod, our key) instead of creating its own that keep logs forever.
 */
export function logGroups(
  name: string,
  parent: pulumi.Resource,
  args: { prefix: string; posture: SecurityPosture; keyArn: pulumi.Output<string> | undefined; tags: Record<string, string> },
): aws.cloudwatch.LogGroup[] {
  const { prefix, keyArn, tags } = args;
  const { types, retentionDays } = args.posture.logExports;
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
function eventTopic(
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
      policy: pulumi.all([topic.arn, args.account.accountId]).apply(([topicArn, accountId]) => JSON.stringify(eventTopicPolicy(topicArn, accountId))),
    },
    { parent },
  );
  return topic.arn;
}

export interface EventSource {
  /** Name part of the subscription resource: `${name}-${suffix}-events`. */
  suffix: string;
  /** Also picks the event categories (EVENT_CATEGORIES). */
  sourceType: EventSourceType;
  /** Undefined: every source of that type in the account and region. */
  sourceIds: pulumi.Input<string>[] | undefined;
}

/** The event subscriptions the posture asks for (none when it asks for none), and the topic they publish to. */
export function eventSubscriptions(
  name: string,
  parent: pulumi.Resource,
  args: { posture: SecurityPosture; support: PostureSupport; sources: EventSource[]; tags: Record<string, string> },
): aws.rds.EventSubscription[] {
  const { posture, support, sources, tags } = args;
  if (!posture.events) return [];
  const topicArn = eventTopic(name, parent, { existingTopicArn: posture.events.existingTopicArn, keyArn: support.keyArn, account: support.account, tags });
  return sources.map(
    ({ suffix, sourceType, sourceIds }) =>
      new aws.rds.EventSubscription(
        `${name}-${suffix}-events`,
        { snsTopic: topicArn, sourceType, eventCategories: [...EVENT_CATEGORIES[sourceType]], ...(sourceIds ? { sourceIds } : {}), enabled: true, tags },
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

/**
 * The master secret RDS manages (manageMasterUserPassword), from the resource's masterUserSecrets:
 * its ARN, and the password read from Secrets Manager as a Pulumi secret.
 */
export function masterCredentials(
  parent: pulumi.Resource,
  secrets: pulumi.Output<{ secretArn: string }[]>,
  identifier: string,
): { secretArn: pulumi.Output<string>; password: pulumi.Output<string> } {
  const secretArn = secrets.apply((list) => {
    const arn = list[0]?.secretArn;
    if (!arn) throw new Error(`RDS reports no managed master secret for ${identifier}; manageMasterUserPassword must be true`);
    return arn;
  });
  const secret = aws.secretsmanager.getSecretVersionOutput({ secretId: secretArn }, { parent });
  return { secretArn, password: pulumi.secret(secret.secretString.apply((text) => parseMasterSecret(text).password)) };
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
