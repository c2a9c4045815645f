import * as command from "@pulumi/command";
import * as pulumi from "@pulumi/pulumi";
import type { StackSettings } from "../stacks/index.js";
import { shellCommand } from "./connection.js";
import { MigrationSetError } from "./migrator/errors.js";
import { readMigrationSet, type MigrationFile, type MigrationSet } from "./migrator/files.js";

/** How every command starts the migrator: the project's pinned tsx, from the project root. */
export const MIGRATOR = ["node_modules/.bin/tsx", "infra/migrator/cli.ts"] as const;

export type TransactionMode = "transaction" | "no-transaction";

/** One file of the set as the stack plans it; known at preview, so it is also an output. */
export interface PlannedMigration {
  version: string;
  name: string;
  /** The file as configured, e.g. "sql/migrations/0_init/migration.sql". */
  file: string;
  checksum: string;
  transaction: TransactionMode;
}

export function transactionMode(file: MigrationFile): TransactionMode {
  return file.transactional ? "transaction" : "no-transaction";
}

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
 * The command line that applies one file: the migrator plans the whole set against the
 * ledger (so an edited applied file or a pending earlier one stops it) and applies exactly
 * this version, refusing if the file on disk is not the one the preview showed.
 * It holds no secret: the connection comes from the environment.
 */
export function applyCommandLine(settings: StackSettings, file: MigrationFile): string {
  return shellCommand([
    ...MIGRATOR,
    "apply",
    "--dir",
    settings.migrations.dir,
    "--only",
    file.version,
    "--expect-checksum",
    file.checksum,
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

export interface MigrationsArgs {
  settings: StackSettings;
  set: MigrationSet;
  /** DATABASE_URL of the migrator role: a Pulumi secret. */
  connectionUrl: pulumi.Output<string>;
  /** Changes when the database is replaced; every file then runs again on the new one. */
  databaseIdentity: pulumi.Input<string>;
  /** The database and the roles and privileges the first file needs. */
  dependsOn: pulumi.Resource[];
}

/**
 * One command.local.Command per migration file, chained in the set's order.
 *
 * - create runs the migrator on that file only; there is no update (an input change re-runs
 *   create, and the migrator makes that a no-op or a refusal) and no delete (removing a file
 *   from the set runs nothing against the database).
 * - The checksum is in the command line and, with the file and its transaction mode, in the
 *   environment: `pulumi preview --diff` shows per file what will run and how, and an applied
 *   file that was edited shows as an update, which `up` turns into the migrator's refusal.
 * - The database identity is a trigger: a replaced database replaces every command, so the
 *   whole set runs on the new database.
 * - The connection is a secret environment variable, never in the command line; logging is
 *   off and the previous output is not fed back (it could hit E2BIG).
 */
export class Migrations extends pulumi.ComponentResource {
  readonly commands: command.local.Command[];
  readonly last: command.local.Command | undefined;
  readonly planned: PlannedMigration[];

  constructor(name: string, args: MigrationsArgs, opts?: pulumi.ComponentResourceOptions) {
    super("pgmigrations:infra:Migrations", name, {}, opts);
    const { settings, set } = args;
    const dir = settings.migrations.dir.replace(/\/+$/, "");

    this.planned = set.files.map((f) => ({
      version: f.version,
      name: f.name,
      file: `${dir}/${f.relativePath}`,
      checksum: f.checksum,
      transaction: transactionMode(f),
    }));

    const commands: command.local.Command[] = [];
    for (const [index, file] of set.files.entries()) {
      const previous = commands[index - 1];
      const planned = this.planned[index]!;
      commands.push(
        new command.local.Command(
          `${name}-${file.version}`,
          {
            create: applyCommandLine(settings, file),
            environment: {
              DATABASE_URL: args.connectionUrl,
              MIGRATION_FILE: planned.file,
              MIGRATION_CHECKSUM: planned.checksum,
              MIGRATION_TRANSACTION: planned.transaction,
            },
            triggers: [args.databaseIdentity],
            logging: "none",
            addPreviousOutputInEnv: false,
          },
          { parent: this, dependsOn: previous ? [previous, ...args.dependsOn] : args.dependsOn },
        ),
      );
    }
    this.commands = commands;
    this.last = commands.at(-1);
    this.registerOutputs({ planned: this.planned });
  }
}
