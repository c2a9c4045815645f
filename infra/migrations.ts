import * as command from "@pulumi/command";
import * as pulumi from "@pulumi/pulumi";
import type { StackSettings } from "../stacks/index.js";
import { shellCommand } from "./shell-command.js";
import { MigrationSetError } from "../migrator/errors.js";
import { readMigrationSet, type MigrationSet } from "../migrator/files.js";
import { manifestEnvironment, setDigest } from "../migrator/manifest.js";
import { PRIVILEGES_ENV } from "../migrator/privileges/intent.js";
import { privilegeIntent } from "./privilege-intent.js";

/**
 * How the commands start the migrator: the bundle scripts/bundle.mjs builds (plain JavaScript,
 * no TypeScript compiler at start-up), relative to the project root, which is the working
 * directory the engine gives the program and the command provider (Pulumi.yaml has no `main`).
 */
export const MIGRATOR = ["node", "dist/migrate.js"] as const;

export type TransactionMode = "transaction" | "no-transaction";

/** Flags every migrator run of this stack shares (ledger location, timeouts). */
export function migratorFlags(settings: StackSettings): string[] {
  const m = settings.migrations;
  return [
    "--ledger-schema",
    m.ledgerSchema,
    ...(m.lockTimeout !== undefined ? ["--lock-timeout", m.lockTimeout] : []),
    ...(m.statementTimeout !== undefined ? ["--statement-timeout", m.statementTimeout] : []),
    ...(m.allowRemovedMigrations ? ["--ignore-unknown"] : []),
  ];
}

/**
 * The one command line that applies the set: every pending file in order, in one process, on one
 * connection, under one migration lock, each file with its own transaction control. It holds no
 * secret and no per-file detail (the connection and the manifest are in the environment), so it
 * stays the same from one preview to the next.
 */
export function applyCommandLine(settings: StackSettings): string {
  return shellCommand([
    ...MIGRATOR,
    "apply",
    "--dir",
    settings.migrations.dir,
    "--expect-manifest",
    // failOnDrift (prod): before any pending file, a schema that differs from its snapshot stops the run.
    ...(settings.migrations.failOnDrift ? ["--fail-on-drift"] : []),
    // prismaHistory mirror: Prisma's _prisma_migrations gets a row for every file recorded, for teams still running Prisma.
    ...(settings.migrations.prismaHistory === "mirror" ? ["--prisma-history", "mirror"] : []),
    ...migratorFlags(settings),
  ]);
}

/** Reads and checks the set before anything is created; a bad set stops the program with every problem listed. */
export async function loadMigrationSet(absoluteDir: string, configuredDir: string): Promise<MigrationSet> {
  try {
    return await readMigrationSet(absoluteDir);
  } catch (error) {
    if (error instanceof MigrationSetError) {
      throw new pulumi.RunError(`${configuredDir}: ${error.message}`);
    }
    throw new pulumi.RunError(`reading the migration set ${configuredDir} failed: ${(error as Error).message}`);
  }
}

/** The `migrationSet` output: the set this program read, in brief (the files are in the apply command's environment). */
export interface PlannedSet {
  files: number;
  /** The folder of the last file, e.g. "20260123015834_add_points_trigger" (null for an empty set). */
  last: string | null;
  /** sha256 over every file's version and checksum: changes when a file is added, edited or removed. */
  sha256: string;
}

/**
 * Kept to three values on purpose: a preview prints a changed output whole, and a list of every
 * file would repeat the whole set for each new one. What changed per file is in the command's diff.
 */
export function plannedSet(set: MigrationSet): PlannedSet {
  return { files: set.files.length, last: set.files.at(-1)?.folder ?? null, sha256: setDigest(set) };
}

export interface MigrationsArgs {
  settings: StackSettings;
  set: MigrationSet;
  /** DATABASE_URL of the migrator role: a Pulumi secret. */
  connectionUrl: pulumi.Output<string>;
  /** Changes when the database is replaced; the whole set then runs again on the new one. */
  databaseIdentity: pulumi.Input<string>;
  /** The database and the roles and privileges the first file needs. */
  dependsOn: pulumi.Resource[];
}

/**
 * One command.local.Command applies the whole set (`<name>-apply`).
 *
 * - Its environment carries one `MIGRATION_<version>` entry per file (name, transaction mode,
 *   sha256) next to the secret `DATABASE_URL`: `pulumi preview --diff` shows each new file as an
 *   added key, an edited one as a changed key and a removed one as a deleted key, and the migrator
 *   (`--expect-manifest`) refuses a set on disk that is not exactly that one.
 * - Any change of the manifest re-runs `create` (there is no `update`): the migrator applies what
 *   the ledger lacks and refuses an edited applied file before anything runs. There is no
 *   `delete`: removing the resource runs nothing against the database.
 * - After the files, the migrator makes the tables' privileges what the stack intends
 *   (`MIGRATOR_PRIVILEGES`, privilege-intent.ts): every run, so a new table, a re-run and a new
 *   database all end with the same privileges.
 * - A failed file fails the command: the files before it stay applied (each committed with its
 *   ledger row); the state keeps the inputs of the last successful run, so the next `up` runs the
 *   command again and the migrator continues from the failed file.
 * - The database identity is a trigger: a replaced database replaces the command, so the whole
 *   set runs on the new database.
 * - Progress lines go to the `up` log (the migrator prints no secret; the engine also prints the
 *   stack's secret config values, the password among them, as [secret]); the previous output is
 *   not fed back into the environment.
 */
export class Migrations extends pulumi.ComponentResource {
  readonly command: command.local.Command;
  /** The `migrationSet` output. */
  readonly planned: PlannedSet;

  constructor(name: string, args: MigrationsArgs, opts?: pulumi.ComponentResourceOptions) {
    super("pgmigrations:infra:Migrations", name, {}, opts);
    const { settings, set } = args;
    this.planned = plannedSet(set);
    this.command = new command.local.Command(
      `${name}-apply`,
      {
        create: applyCommandLine(settings),
        // The privilege intent is in the environment too: the migrator enforces it after the files,
        // and a changed intent shows in the diff and runs the command again.
        environment: { DATABASE_URL: args.connectionUrl, [PRIVILEGES_ENV]: JSON.stringify(privilegeIntent(settings)), ...manifestEnvironment(set) },
        triggers: [args.databaseIdentity],
        logging: "stdoutAndStderr",
        addPreviousOutputInEnv: false,
      },
      { parent: this, dependsOn: args.dependsOn },
    );
    this.registerOutputs({ planned: this.planned });
  }
}
