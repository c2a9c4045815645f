import * as command from "@pulumi/command";
import * as pulumi from "@pulumi/pulumi";
import { createHash } from "node:crypto";
import { existsSync } from "node:fs";
import { readdir, readFile } from "node:fs/promises";
import path from "node:path";
import type { StackSettings } from "../stacks/index.js";
import { shellCommand } from "./shell-command.js";
import type { DriftFacts, StackReport } from "../bin/stack-report.js";
import type { MigrationSet } from "../migrator/files.js";
import { setDigest } from "../migrator/manifest.js";
import { PRIVILEGES_ENV } from "../migrator/privileges/intent.js";
import { privilegeIntent } from "./privilege-intent.js";
import type { TransactionMode } from "./migrations.js";

/** How the verification command starts: the stack's report (status + verify + server facts), bundled like the migrator. */
export const REPORT = ["node", "dist/stack-report.js"] as const;

/** The `migrations` output: the ledger as the database holds it after the last migration. */
export interface LedgerOutput {
  /** user@host:port/database the report connected to (no password). */
  database: string;
  applied: {
    version: string;
    name: string;
    checksum: string;
    transaction: TransactionMode;
    appliedAt: string;
    durationMs: number | null;
    status: string;
    appliedBy: string;
  }[];
  pending: { version: string; name: string; transaction: TransactionMode }[];
  /** Disagreements between the ledger and the files (edited or removed files). */
  problems: { file: string; line?: number; message: string }[];
}

/** The `verification` output: every check of the verify folder with its evidence. */
export interface VerificationOutput {
  ok: boolean;
  passed: number;
  failed: number;
  checks: { name: string; ok: boolean; detail: string; file: string }[];
  /** What the server itself says, seen through the connection the report used. */
  server: { version: string; connectionEncrypted: boolean; tlsVersion: string | null; forceSsl: string | null };
}

/**
 * The `drift` output: the schema against the snapshot the migrator recorded at the applied head.
 * `status` is `none`, `drifted` (each difference, one line each as `migrate drift` prints them) or
 * `unchecked` (`reason`: nothing applied, or applied before snapshots existed).
 */
export type DriftOutput = DriftFacts;

export interface ParsedReport {
  ledger: LedgerOutput;
  verification: VerificationOutput;
  drift: DriftOutput;
}

function fail(what: string): never {
  throw new Error(`the verification command's report is not what bin/stack-report.ts writes: ${what}`);
}

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

const mode = (transactional: boolean): TransactionMode => (transactional ? "transaction" : "no-transaction");

/**
 * Turns the report's stdout (a StackReport, typed by the command that writes it) into the two outputs.
 * Only its outline is checked, since stdout crosses a process: a wrong outline is an error, never an empty output.
 */
export function parseReport(stdout: string): ParsedReport {
  let doc: StackReport;
  try {
    doc = JSON.parse(stdout) as StackReport;
  } catch {
    fail("stdout is not JSON");
  }
  if (!isRecord(doc) || !isRecord(doc.status) || !isRecord(doc.verify) || !isRecord(doc.server)) fail("status, verify or server is missing");
  const { status, verify, server } = doc;
  for (const [what, value] of [
    ["status.applied", status.applied],
    ["status.pending", status.pending],
    ["verify.checks", verify.checks],
  ] as const) {
    if (!Array.isArray(value) || !value.every(isRecord)) fail(`${what} is not a list of objects`);
  }
  const drift = doc.drift;
  if (!isRecord(drift) || !["none", "drifted", "unchecked"].includes(drift.status as string) || !Array.isArray(drift.differences) || !drift.differences.every(isRecord)) {
    fail("drift is missing or has no status and list of differences");
  }
  const checks = verify.checks.map((c) => ({ name: c.name, ok: c.ok === true, detail: c.detail, file: c.file }));
  const failed = checks.filter((c) => !c.ok).length;
  return {
    ledger: {
      database: status.database,
      applied: status.applied.map((r) => ({
        version: r.version,
        name: r.name,
        checksum: r.checksum,
        transaction: mode(r.transactional),
        appliedAt: r.appliedAt,
        durationMs: r.durationMs,
        status: r.status,
        appliedBy: r.appliedBy,
      })),
      pending: status.pending.map((r) => ({ version: r.version, name: r.name, transaction: mode(r.transactional) })),
      problems: (status.problems ?? []).map((p) => ({ file: p.file, ...(p.line === undefined ? {} : { line: p.line }), message: p.message })),
    },
    verification: {
      ok: failed === 0 && checks.length > 0,
      passed: checks.length - failed,
      failed,
      checks,
      server: { version: server.version, connectionEncrypted: server.connectionEncrypted === true, tlsVersion: server.tlsVersion, forceSsl: server.forceSsl },
    },
    drift: {
      status: drift.status,
      head: drift.head ?? null,
      snapshot: isRecord(drift.snapshot) ? { head: drift.snapshot.head, takenAt: drift.snapshot.takenAt, sha256: drift.snapshot.sha256 } : null,
      liveSha256: drift.liveSha256 ?? null,
      differences: drift.differences.map((d) => ({ kind: d.kind, name: d.name, change: d.change, ...(d.field === undefined ? {} : { field: d.field }), line: d.line })),
      ...(drift.reason === undefined ? {} : { reason: drift.reason }),
    },
  };
}

/** sha256 over the names and contents of a folder's .sql files: changes when any check changes. */
export async function digestSqlFolder(absoluteDir: string): Promise<string> {
  const hash = createHash("sha256");
  if (!existsSync(absoluteDir)) return hash.update("missing").digest("hex");
  for (const name of (await readdir(absoluteDir)).filter((n) => n.endsWith(".sql")).sort()) {
    hash
      .update(`${name}\0`)
      .update(await readFile(path.join(absoluteDir, name)))
      .update("\0");
  }
  return hash.digest("hex");
}

/** The verification command line; no secret in it. */
export function reportCommandLine(settings: StackSettings): string {
  const m = settings.migrations;
  return shellCommand([
    ...REPORT,
    "--dir",
    m.dir,
    "--verify-dir",
    m.verifyDir,
    "--ledger-schema",
    m.ledgerSchema,
    ...(m.allowRemovedMigrations ? ["--ignore-unknown"] : []),
  ]);
}

export interface VerificationArgs {
  settings: StackSettings;
  set: MigrationSet;
  /** sha256 of the verify folder (digestSqlFolder). */
  verifyDigest: string;
  /** DATABASE_URL of the migrator role: a Pulumi secret. */
  connectionUrl: pulumi.Output<string>;
  databaseIdentity: pulumi.Input<string>;
  /** The last migration and the grants made after it. */
  dependsOn: pulumi.Resource[];
}

/**
 * After the last migration: one command runs the report (the migrator's status and
 * `verify --json`, and the server's own TLS and version), whose stdout becomes the
 * `migrations`, `verification` and `drift` outputs. It runs again whenever the set, the checks, the
 * database or `verificationRun` change. With `verificationFailures: fail` (prod), a gate
 * command after it fails `pulumi up` when a check failed, naming the checks; the report
 * itself is already in the state by then.
 */
export class Verification extends pulumi.ComponentResource {
  readonly command: command.local.Command;
  readonly ledger: pulumi.Output<LedgerOutput>;
  readonly verification: pulumi.Output<VerificationOutput>;
  readonly drift: pulumi.Output<DriftOutput>;

  constructor(name: string, args: VerificationArgs, opts?: pulumi.ComponentResourceOptions) {
    super("pgmigrations:infra:Verification", name, {}, opts);
    const { settings } = args;

    this.command = new command.local.Command(
      `${name}-report`,
      {
        create: reportCommandLine(settings),
        environment: {
          DATABASE_URL: args.connectionUrl,
          MIGRATION_SET_SHA256: setDigest(args.set),
          VERIFY_SET_SHA256: args.verifyDigest,
          VERIFICATION_RUN: settings.migrations.verificationRun ?? "",
          // What 15_table_privileges.sql compares the database's privileges with.
          [PRIVILEGES_ENV]: JSON.stringify(privilegeIntent(settings)),
        },
        triggers: [args.databaseIdentity],
        logging: "none",
        addPreviousOutputInEnv: false,
      },
      { parent: this, dependsOn: args.dependsOn },
    );

    const report = this.command.stdout.apply(parseReport);
    this.ledger = report.apply((r) => r.ledger);
    this.verification = report.apply((r) => r.verification);
    this.drift = report.apply((r) => r.drift);
    // Each failed check is named where the engineer looks: the diagnostics of `pulumi up`.
    this.verification.apply((v) => {
      for (const c of v.checks.filter((check) => !check.ok)) {
        void pulumi.log.warn(`verification check ${c.name} failed (${c.file}): ${c.detail}`, this);
      }
    });

    // Drift is news in every environment; with failOnDrift the next apply refuses it (infra/migrations.ts).
    this.drift.apply((d) => {
      if (d.status !== "drifted") return;
      void pulumi.log.warn(
        `the schema drifted from the snapshot at ${d.head} (sha256 ${d.snapshot?.sha256}): ${d.differences.map((x) => x.line).join("; ")}. ` +
          `Undo it in the database, or write a migration that makes it the files' own.`,
        this,
      );
    });

    if (settings.migrations.verificationFailures === "fail") {
      new command.local.Command(
        `${name}-gate`,
        {
          create: `test "$VERIFICATION_FAILED" = 0 || { printf 'verification failed: %s\\n' "$VERIFICATION_FAILED_CHECKS" >&2; exit 1; }`,
          environment: {
            VERIFICATION_FAILED: this.verification.apply((v) => String(v.ok ? 0 : Math.max(v.failed, 1))),
            VERIFICATION_FAILED_CHECKS: this.verification.apply((v) =>
              v.checks.length === 0
                ? "no checks ran"
                : v.checks
                    .filter((c) => !c.ok)
                    .map((c) => `${c.name} (${c.detail})`)
                    .join("; "),
            ),
          },
          logging: "none",
          addPreviousOutputInEnv: false,
        },
        { parent: this, dependsOn: [this.command] },
      );
    }

    this.registerOutputs({ ledger: this.ledger, verification: this.verification, drift: this.drift });
  }
}
