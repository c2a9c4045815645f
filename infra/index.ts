/**
 * The Pulumi program. The engine runs infra/program.mjs (package.json `main`; Pulumi.yaml names no
 * `main`, so the engine runs the program and the providers in the project root, where the
 * commands' relative paths point), which loads this file bundled as dist/program.js.
 * It only wires: settings, then the database (RDS for dev and prod, an existing server for
 * local), roles, one command that applies the migration set, and the verification whose report
 * becomes the outputs. Everything is built at import time from the stack configuration and the
 * files under sql/, so the program loads under mocks.
 */
import * as pulumi from "@pulumi/pulumi";
import { existsSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { loadStackSettings } from "../stacks/index.js";
import { DatabaseAccess } from "./access.js";
import { connectionUrl } from "./database-url.js";
import { securityHubControls } from "./controls.js";
import { lintSet, lintTarget } from "./lint-gate.js";
import { loadMigrationSet, Migrations } from "./migrations.js";
import { MIGRATIONS_NAME } from "./resource-names.js";
import { readPreviousRun } from "./previous-run.js";
import { localTarget, type DatabaseTarget } from "./target.js";
import { digestSqlFolder, Verification } from "./verification.js";

/** The project root: where Pulumi.yaml is, and the commands' working directory. */
const projectRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");
const fromRoot = (p: string) => path.resolve(projectRoot, p);

const settings = loadStackSettings();
const { migrations: m, connection } = settings;

const [set, previous] = await Promise.all([loadMigrationSet(fromRoot(m.dir), m.dir), readPreviousRun()]);
await lintSet(set, m.dir, m.lintErrors, lintTarget(set, settings, previous));
if (!existsSync(fromRoot(m.verifyDir))) {
  throw new pulumi.RunError(`verifyDir ${m.verifyDir} does not exist; set ${settings.project}:verifyDir to the folder of verification queries`);
}
if (connection.sslRootCert && !existsSync(fromRoot(connection.sslRootCert))) {
  void pulumi.log.warn(
    `sslRootCert ${connection.sslRootCert} does not exist; preview works, but up cannot verify the server. ` +
      "For RDS save https://truststore.pki.rds.amazonaws.com/global/global-bundle.pem there.",
  );
}

const tags: Record<string, string> = {
  ...settings.tags,
  project: settings.project,
  stack: settings.stack,
  environment: settings.environment,
  "managed-by": "pulumi",
};

let target: DatabaseTarget;
if (settings.environment === "local") {
  target = localTarget(settings);
} else {
  // The AWS components (and @pulumi/aws's resource modules behind them) load only for the stacks
  // that create AWS resources: a local stack's `up` does not pay the ~0.5 s they take to load.
  const [{ AuroraCluster, subnetZones }, { Database }, { DatabaseNetwork }] = await Promise.all([
    import("./cluster.js"),
    import("./database.js"),
    import("./network.js"),
  ]);
  // A cluster spreads its members over its subnets' AZs; one in too few AZs stops here, before anything is created.
  const zones = settings.rds.engine === "aurora-postgresql" ? await subnetZones(settings) : undefined;
  const network = new DatabaseNetwork(settings.namePrefix, { network: settings.network, port: settings.rds.port, tags });
  target = zones ? new AuroraCluster(settings.namePrefix, { settings, network, zones, tags }) : new Database(settings.namePrefix, { settings, network, tags });
}

const access = new DatabaseAccess("access", { settings, target });

const migratorUrl = connectionUrl({
  host: connection.hostOverride ?? target.host,
  port: connection.portOverride ?? target.port,
  database: target.database,
  user: access.migratorRole,
  password: settings.access.migratorPassword.reveal(),
  sslMode: connection.sslMode,
  sslRootCert: connection.sslRootCert,
});

const migrationRun = new Migrations(MIGRATIONS_NAME, {
  settings,
  set,
  connectionUrl: migratorUrl,
  databaseIdentity: target.identity,
  dependsOn: [...target.resources, ...access.ready],
});

const afterMigrations = access.afterMigrations(migrationRun.command);

const verificationRun = new Verification("verification", {
  settings,
  set,
  verifyDigest: await digestSqlFolder(fromRoot(m.verifyDir)),
  connectionUrl: migratorUrl,
  databaseIdentity: target.identity,
  dependsOn: [...target.resources, ...access.ready, migrationRun.command, ...afterMigrations],
});

/** The database's endpoint and security posture (no secret: the master password stays in Secrets Manager). */
export const database = pulumi.output(target.posture);
/** The ledger after the last migration: version, checksum, transaction mode, when, how long. */
export const migrations = verificationRun.ledger;
/** Every verification check with ok and evidence, the totals, and what the server says about TLS. */
export const verification = verificationRun.verification;
/** The schema against the snapshot the migrator recorded at the applied head: none, drifted (each difference) or unchecked. */
export const drift = verificationRun.drift;
/** The set as this program read it (known at preview): `<version>_<name>` → transaction mode and sha256. */
export const migrationSet = migrationRun.planned;
/** Each Security Hub RDS control that applies to the database, met or not, with the settings that show it (none for local). */
export const controls = pulumi.all([target.posture, target.controlEvidence]).apply(([posture, evidence]) => securityHubControls(posture, evidence, settings));
