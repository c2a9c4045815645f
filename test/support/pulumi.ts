/**
 * Loading the Pulumi program under Pulumi's own mocks, from a stack's real Pulumi.<stack>.yaml.
 *
 * Mocks are global to the process (vitest runs each test file in its own), so a test file
 * loads the program once per `runProgram` and re-imports it only after `vi.resetModules()`.
 */
import * as pulumi from "@pulumi/pulumi";
import { readFileSync } from "node:fs";
import { createRequire } from "node:module";
import path from "node:path";
import { fileURLToPath } from "node:url";

export const PROJECT = "pg-migrations";
export const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..", "..");

// js-yaml comes with @pulumi/pulumi; it has no bundled types, so its one function is typed here.
const yaml = createRequire(import.meta.url)("js-yaml") as { load(text: string): unknown };

export interface StackFile {
  /** "<namespace>:<key>" -> value as the Pulumi CLI hands it to a program (lists and maps as JSON). */
  config: Record<string, string>;
  /** Keys whose value is an encrypted `secure:` value (they cannot be read here). */
  secure: string[];
}

/** Reads Pulumi.<stack>.yaml the way the CLI presents it to the program. */
export function readStackFile(stack: string): StackFile {
  const doc = yaml.load(readFileSync(path.join(ROOT, `Pulumi.${stack}.yaml`), "utf8")) as { config?: Record<string, unknown> } | null;
  const config: Record<string, string> = {};
  const secure: string[] = [];
  for (const [key, value] of Object.entries(doc?.config ?? {})) {
    if (value && typeof value === "object" && !Array.isArray(value) && "secure" in value) {
      secure.push(key);
    } else {
      config[key] = typeof value === "string" ? value : JSON.stringify(value);
    }
  }
  return { config, secure };
}

export interface Registered {
  type: string;
  name: string;
  /** Inputs as the engine received them; secrets are wrapped (see isSecretValue). */
  inputs: Record<string, unknown>;
  state: Record<string, unknown>;
  /** `type::name` of every resource this one depends on (dependsOn and inputs). */
  dependencies: string[];
  /** The `protect` resource option. */
  protect: boolean;
  custom: boolean;
  provider?: string | undefined;
  /** The URN the engine gave it (type chain through its parents, and name); set once the program has run. */
  urn: string;
  /** The parent's URN ("" for the stack's direct children). */
  parent: string;
}

export const SECRET_SIG_KEY = pulumi.runtime.specialSigKey;
export const SECRET_SIG = pulumi.runtime.specialSecretSig;

export function isSecretValue(v: unknown): v is { value: unknown } {
  return typeof v === "object" && v !== null && (v as Record<string, unknown>)[SECRET_SIG_KEY] === SECRET_SIG;
}

/** The value with every secret wrapper removed. */
export function reveal<T = unknown>(v: unknown): T {
  if (isSecretValue(v)) return reveal(v.value);
  if (Array.isArray(v)) return v.map((x) => reveal(x)) as T;
  if (v && typeof v === "object") return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, reveal(x)])) as T;
  return v as T;
}

export type ResourceHandler = (args: pulumi.runtime.MockResourceArgs, registered: Registered) => Promise<Record<string, unknown> | undefined>;
export type CallHandler = (args: pulumi.runtime.MockCallArgs) => Record<string, unknown> | undefined;

export interface RunOptions {
  stack: string;
  config: Record<string, string>;
  secretKeys?: string[];
  preview?: boolean;
  /** Extra or replaced state for a resource; may do real work (the end-to-end tests run commands here). */
  onResource?: ResourceHandler;
  onCall?: CallHandler;
}

export interface ProgramRun {
  exports: Record<string, unknown>;
  resources: Registered[];
  calls: pulumi.runtime.MockCallArgs[];
  ofType(type: string): Registered[];
  named(type: string, name: string): Registered;
}

/** The account, partition and network the mocks answer with. */
export const MOCK_ACCOUNT = "123456789012";
export const DEFAULT_VPC = "vpc-0d0d0d0d0d0d0d0d0";
export const DEFAULT_SUBNETS = ["subnet-0d0d0d0d0d0d0d0d1", "subnet-0d0d0d0d0d0d0d0d2", "subnet-0d0d0d0d0d0d0d0d3"];

/** What AWS would report for the resources whose outputs the program reads. */
function awsState(args: pulumi.runtime.MockResourceArgs): Record<string, unknown> {
  const inputs = args.inputs as Record<string, unknown>;
  const arn = (service: string, what: string) => `arn:aws:${service}:eu-west-1:${MOCK_ACCOUNT}:${what}`;
  switch (args.type) {
    case "aws:rds/instance:Instance": {
      const identifier = String(inputs.identifier);
      return {
        identifier,
        arn: arn("rds", `db:${identifier}`),
        address: `${identifier}.c0ffee.eu-west-1.rds.amazonaws.com`,
        endpoint: `${identifier}.c0ffee.eu-west-1.rds.amazonaws.com:${inputs.port}`,
        resourceId: "db-MOCKRESOURCEID0000000000",
        engineVersionActual: "17.6",
        masterUserSecrets: [
          {
            secretArn: arn("secretsmanager", `secret:rds!db-${identifier}-AbCdEf`),
            kmsKeyId: inputs.masterUserSecretKmsKeyId ?? "aws/secretsmanager",
            secretStatus: "active",
          },
        ],
      };
    }
    case "aws:rds/cluster:Cluster": {
      const identifier = String(inputs.clusterIdentifier);
      return {
        arn: arn("rds", `cluster:${identifier}`),
        endpoint: `${identifier}.cluster-c0ffee.eu-west-1.rds.amazonaws.com`,
        readerEndpoint: `${identifier}.cluster-ro-c0ffee.eu-west-1.rds.amazonaws.com`,
        clusterResourceId: "cluster-MOCKCLUSTERRESOURCEID00",
        engineVersionActual: "17.6",
        masterUserSecrets: [
          {
            secretArn: arn("secretsmanager", `secret:rds!cluster-${identifier}-AbCdEf`),
            kmsKeyId: inputs.masterUserSecretKmsKeyId ?? "aws/secretsmanager",
            secretStatus: "active",
          },
        ],
      };
    }
    case "aws:rds/clusterInstance:ClusterInstance": {
      const identifier = String(inputs.identifier);
      return {
        arn: arn("rds", `db:${identifier}`),
        endpoint: `${identifier}.c0ffee.eu-west-1.rds.amazonaws.com`,
        port: 5433,
        dbiResourceId: `db-MOCK-${identifier}`,
        storageEncrypted: true,
        // RDS makes the first instance of a cluster its writer; the program creates member 1 first.
        writer: identifier.endsWith("-1"),
      };
    }
    case "aws:kms/key:Key":
      return { arn: arn("kms", `key/${args.name}`), keyId: `${args.name}-key-id` };
    case "aws:rds/parameterGroup:ParameterGroup":
    case "aws:rds/clusterParameterGroup:ClusterParameterGroup":
    case "aws:rds/subnetGroup:SubnetGroup":
    case "aws:iam/role:Role":
      return { name: `${args.name}-1a2b3c4`, arn: `arn:aws:iam::${MOCK_ACCOUNT}:role/${args.name}` };
    case "aws:sns/topic:Topic":
      return { arn: arn("sns", args.name) };
    case "aws:ec2/securityGroup:SecurityGroup":
      return { id: "sg-0e0e0e0e0e0e0e0e0" };
    default:
      return {};
  }
}

/** The prod stack files' placeholder subnets, one per AZ as a real production network would have them. */
const PROD_SUBNET_ZONES: Record<string, string> = {
  "subnet-0a1b2c3d4e5f60718": "eu-west-1a",
  "subnet-0b2c3d4e5f6071829": "eu-west-1b",
  "subnet-0c3d4e5f607182930": "eu-west-1c",
};

/** The AZ the mocks put a subnet in: the prod placeholders' own, else spread by the id's last digit. */
export function subnetZone(subnetId: string): string {
  return PROD_SUBNET_ZONES[subnetId] ?? `eu-west-1${"abc"[Number.parseInt(subnetId.slice(-1), 16) % 3]}`;
}

function defaultCall(args: pulumi.runtime.MockCallArgs): Record<string, unknown> {
  switch (args.token) {
    case "aws:index/getPartition:getPartition":
      return { partition: "aws", dnsSuffix: "amazonaws.com", id: "aws" };
    case "aws:index/getCallerIdentity:getCallerIdentity":
      return { accountId: MOCK_ACCOUNT, arn: `arn:aws:iam::${MOCK_ACCOUNT}:user/ci`, userId: "AIDAMOCK", id: MOCK_ACCOUNT };
    case "aws:ec2/getVpc:getVpc":
      return { id: DEFAULT_VPC, cidrBlock: "172.31.0.0/16" };
    case "aws:ec2/getSubnets:getSubnets":
      return { ids: DEFAULT_SUBNETS, id: "eu-west-1" };
    case "aws:ec2/getSubnet:getSubnet":
      return { id: args.inputs.id, availabilityZone: subnetZone(String(args.inputs.id)) };
    case "aws:secretsmanager/getSecretVersion:getSecretVersion":
      return { secretString: JSON.stringify({ username: "dbadmin", password: "mock-master-password-0123" }) };
    default:
      return {};
  }
}

const typeAndName = (urn: string) => {
  const parts = urn.split("::");
  return `${parts[2]!.split("$").pop()}::${parts[3]}`;
};

/** Resolves an Output to its value (undefined when unknown, as at preview); rejects when it failed. */
export async function resolveOutput<T>(output: pulumi.Output<T>): Promise<T | undefined> {
  // The Output's own promises (internal, but the only way to see an unknown without hanging).
  const internal = output as unknown as { isKnown: Promise<boolean>; promise(): Promise<T> };
  const [known, value] = await Promise.all([internal.isKnown, internal.promise()]);
  return known ? value : undefined;
}

/**
 * Sets the stack configuration, installs mocks that record every resource (with its
 * dependencies, read off the registration request), imports infra/index.ts and resolves
 * its exports. Throws what the program throws (a RunError for bad configuration).
 */
export async function runProgram(options: RunOptions): Promise<ProgramRun> {
  const resources: Registered[] = [];
  const calls: pulumi.runtime.MockCallArgs[] = [];
  const dependencies = new Map<string, string[]>();
  const protectedResources = new Set<string>();
  const parents = new Map<string, string>();
  const urns = new Map<string, string>();

  // A resource that fails to register (a command that exits 1) rejects promises that only the
  // Pulumi language host would handle; here they are collected while the program runs, and the
  // first registration error becomes runProgram's rejection.
  let registrationFailed: (error: Error) => void = () => {};
  const failure = new Promise<never>((_, reject) => (registrationFailed = reject));
  failure.catch(() => {});
  const unhandled: unknown[] = [];
  const collect = (reason: unknown) => void unhandled.push(reason);
  const listeners = process.listeners("unhandledRejection");
  process.removeAllListeners("unhandledRejection");
  process.on("unhandledRejection", collect);
  const restore = async () => {
    await new Promise((r) => setTimeout(r, 100));
    process.removeListener("unhandledRejection", collect);
    for (const l of listeners) process.on("unhandledRejection", l);
  };

  pulumi.runtime.setAllConfig(options.config, options.secretKeys ?? []);
  await pulumi.runtime.setMocks(
    {
      newResource: async (args) => {
        const registered: Registered = {
          type: args.type,
          name: args.name,
          inputs: args.inputs as Record<string, unknown>,
          state: {},
          dependencies: dependencies.get(`${args.type}::${args.name}`) ?? [],
          protect: protectedResources.has(`${args.type}::${args.name}`),
          custom: args.custom ?? true,
          provider: args.provider,
          urn: "",
          parent: parents.get(`${args.type}::${args.name}`) ?? "",
        };
        resources.push(registered);
        let extra: Record<string, unknown>;
        try {
          extra = (await options.onResource?.(args, registered)) ?? {};
        } catch (error) {
          registrationFailed(error as Error);
          throw error;
        }
        registered.state = { ...(args.inputs as Record<string, unknown>), ...awsState(args), ...extra };
        const id = typeof registered.state.id === "string" ? registered.state.id : `${args.name}-id`;
        return { id, state: registered.state };
      },
      call: (args) => {
        calls.push(args);
        return options.onCall?.(args) ?? defaultCall(args);
      },
    },
    PROJECT,
    options.stack,
    options.preview ?? false,
    // What a file backend calls every stack's organization (the program names its own stack with it).
    "organization",
  );

  // The mocks see no dependencies; the registration request has them.
  type Request = { getType(): string; getName(): string; getParent(): string; getDependenciesList(): string[]; getProtect(): boolean | undefined };
  type Callback = (error: unknown, response: { getUrn(): string } | undefined) => void;
  const monitor = pulumi.runtime.getMonitor() as unknown as { registerResource(req: Request, cb: Callback): unknown };
  const register = monitor.registerResource.bind(monitor);
  monitor.registerResource = (req, cb) => {
    const key = `${req.getType()}::${req.getName()}`;
    dependencies.set(key, req.getDependenciesList().map(typeAndName));
    parents.set(key, req.getParent());
    if (req.getProtect()) protectedResources.add(key);
    return register(req, (error, response) => {
      if (response) urns.set(key, response.getUrn());
      cb(error, response);
    });
  };

  const exports: Record<string, unknown> = {};
  try {
    await Promise.race([
      failure,
      (async () => {
        const program = (await import("../../infra/index.js")) as Record<string, unknown>;
        for (const [key, value] of Object.entries(program)) {
          exports[key] = pulumi.Output.isInstance(value) ? await resolveOutput(value) : value;
        }
        // Let registrations that no export waits for (the gate, event subscriptions) finish too.
        const runtime = pulumi.runtime as unknown as { waitForRPCs?: () => Promise<void> };
        await runtime.waitForRPCs?.();
      })(),
    ]);
  } finally {
    await restore();
  }
  // With no registration error, any unhandled rejection is a real problem.
  if (unhandled.length > 0) throw unhandled[0];
  for (const r of resources) r.urn = urns.get(`${r.type}::${r.name}`) ?? "";

  return {
    exports,
    resources,
    calls,
    ofType: (type) => resources.filter((r) => r.type === type),
    named: (type, name) => {
      const found = resources.find((r) => r.type === type && r.name === name);
      if (!found) throw new Error(`no ${type} named ${name}; registered: ${resources.map((r) => `${r.type}::${r.name}`).join(", ")}`);
      return found;
    },
  };
}

/** Whether each export of the program is a secret Output (none may be). */
export async function secretExports(): Promise<string[]> {
  const program = (await import("../../infra/index.js")) as Record<string, unknown>;
  const secret: string[] = [];
  for (const [key, value] of Object.entries(program)) {
    if (pulumi.Output.isInstance(value) && (await pulumi.isSecret(value))) secret.push(key);
  }
  return secret;
}

/** Every string inside a value, for "does this secret appear anywhere" checks. */
export function allStrings(value: unknown): string[] {
  if (typeof value === "string") return [value];
  if (Array.isArray(value)) return value.flatMap(allStrings);
  if (value && typeof value === "object") return Object.values(value).flatMap(allStrings);
  return [];
}
