/**
 * The cross-field checks: a value that is fine on its own but not with another key's value.
 * Each names the key to change and what is allowed. The readers in stacks/rules.ts call them
 * right after reading the keys involved, so the problems come out in the order the keys are read.
 */
import type { ConfigReader } from "./config-reader.js";
import type { AccessSettings, Engine, SslMode } from "./types.js";
import { isLocalHost } from "../migrator/connection.js";

/** Keys that only one engine takes: set with the other, they would silently do nothing. */
const ENGINE_KEYS: Record<string, Engine> = {
  allocatedStorageGb: "postgres",
  maxAllocatedStorageGb: "postgres",
  readReplicas: "postgres",
  clusterReaders: "aurora-postgresql",
  serverlessMinAcu: "aurora-postgresql",
  serverlessMaxAcu: "aurora-postgresql",
};

export function checkRootCert(r: ConfigReader, sslMode: SslMode, sslRootCert: string | undefined): void {
  if ((sslMode === "verify-ca" || sslMode === "verify-full") && sslRootCert === undefined) {
    r.problem(
      "sslRootCert",
      `required when sslMode is ${sslMode}: the path of the CA bundle that signs the server's certificate ` +
        "(for RDS, https://truststore.pki.rds.amazonaws.com/global/global-bundle.pem saved in the project)",
    );
  }
}

export function checkTunnelTls(r: ConfigReader, sslMode: SslMode, hostOverride: string | undefined): void {
  if (hostOverride !== undefined && sslMode === "verify-full") {
    r.problem(
      "sslMode",
      `verify-full checks the certificate against the host connected to, and the certificate names the database's endpoint, not migrationHost "${hostOverride}"; allowed with migrationHost: require, verify-ca`,
    );
  }
}

/** Each role is a role of its own, and none is the administrator the stack connects as. */
export function checkRolesDistinct(r: ConfigReader, access: AccessSettings, adminUser: string): void {
  const roles = [
    ["migratorRole", access.migratorRole],
    ["appRole", access.appRole],
    ["auditorRole", access.auditorRole],
  ] as const;
  for (const [i, [key, name]] of roles.entries()) {
    const clash = roles.slice(0, i).find(([, other]) => other === name);
    if (clash) r.problem(key, `"${name}" is also ${clash[0]}; allowed: a role name of its own`);
    else if (name === adminUser) r.problem(key, `"${name}" is the administrator the stack connects as; allowed: a role name of its own`);
  }
}

/** `vpcId`: the value read, undefined when unset or invalid (an invalid one is reported on its own). */
export function checkSubnetsHaveVpc(r: ConfigReader, subnetIds: string[] | undefined, vpcId: string | undefined): void {
  if (subnetIds !== undefined && vpcId === undefined && !r.isSet("vpcId")) {
    r.problem("vpcId", "required when subnetIds is set: the VPC those subnets belong to");
  }
}

export function checkSomeoneMayConnect(r: ConfigReader, allowedCidrs: string[], allowedSecurityGroupIds: string[]): void {
  if (allowedCidrs.length === 0 && allowedSecurityGroupIds.length === 0 && !r.isSet("allowedCidrs") && !r.isSet("allowedSecurityGroupIds")) {
    r.problem(
      "allowedCidrs",
      `required (or ${r.fullKey("allowedSecurityGroupIds")}): name who may reach the database on its port; with neither, nothing could connect, not even the migrations`,
    );
  }
}

export function checkEngineOnlyKeys(r: ConfigReader, engine: Engine): void {
  for (const [key, only] of Object.entries(ENGINE_KEYS)) {
    if (only !== engine && r.isSet(key)) {
      r.problem(key, `applies to engine ${only} only, and this stack's engine is ${engine}; remove it (or set engine to ${only})`);
    }
  }
}

/** Serverless v2 capacity: both keys or neither, the minimum not above the maximum. Undefined: unset or invalid. */
export function checkServerlessCapacity(r: ConfigReader, minAcu: number | undefined, maxAcu: number | undefined): void {
  const minSet = r.isSet("serverlessMinAcu");
  if (minSet !== r.isSet("serverlessMaxAcu")) {
    const missing = minSet ? "serverlessMaxAcu" : "serverlessMinAcu";
    r.problem(missing, `required with ${minSet ? "serverlessMinAcu" : "serverlessMaxAcu"}: Aurora Serverless v2 needs both a minimum and a maximum capacity`);
    return;
  }
  if (minAcu !== undefined && maxAcu !== undefined && minAcu > maxAcu) {
    r.problem("serverlessMaxAcu", `${maxAcu} is below serverlessMinAcu (${minAcu}); allowed: ${minAcu} to 256`);
  }
}

export function checkStorageAutoscaling(r: ConfigReader, allocatedStorageGb: number, maxAllocatedStorageGb: number): void {
  if (maxAllocatedStorageGb !== 0 && maxAllocatedStorageGb <= allocatedStorageGb) {
    r.problem(
      "maxAllocatedStorageGb",
      `${maxAllocatedStorageGb} is not above allocatedStorageGb (${allocatedStorageGb}); allowed: 0 (no autoscaling) or more than ${allocatedStorageGb}`,
    );
  }
}

export function checkAuroraMultiAz(r: ConfigReader, environment: "dev" | "prod", engine: Engine, multiAz: boolean, clusterReaders: number): void {
  // prod says the same through PROD_RULES (RDS.15); dev would otherwise get a single-AZ cluster it asked to be multi-AZ.
  if (environment === "dev" && engine === "aurora-postgresql" && multiAz && clusterReaders === 0) {
    r.problem("clusterReaders", "is 0, and multiAz is true: an Aurora cluster is in a second AZ only through a reader there; allowed: 1 to 15 (or multiAz false)");
  }
}

/** The migrator refuses to send a password in clear anywhere but to this machine. */
export function checkCleartextOnlyToLoopback(r: ConfigReader, sslMode: SslMode, localHost: string): void {
  if (sslMode === "disable" && localHost !== "" && !isLocalHost(localHost)) {
    r.problem("sslMode", `disable sends the passwords in clear to ${localHost}; allowed for a host other than localhost/127.x/::1: require, verify-ca, verify-full`);
  }
}
