import type * as pulumi from "@pulumi/pulumi";
import { readMigrationSet } from "../../migrator/files.js";
import { isSecretValue, reveal, ROOT } from "./pulumi.js";
import path from "node:path";

/** A report as bin/stack-report.ts prints it, for a set that is fully applied and whose checks all pass. */
export async function cannedReport(migrationsDir: string, checks = ["fixture_tables", "fixture_ledger", "fixture_index_valid"]): Promise<string> {
  const set = await readMigrationSet(path.resolve(ROOT, migrationsDir));
  return JSON.stringify({
    status: {
      database: "migrator@db.example:5432/app",
      applied: set.files.map((f, i) => ({
        version: f.version,
        name: f.name,
        checksum: f.checksum,
        transactional: f.transactional,
        appliedAt: new Date(Date.UTC(2026, 0, 1, 0, i)).toISOString(),
        durationMs: 10 + i,
        status: "applied",
        appliedBy: "migrator",
      })),
      pending: [],
      problems: [],
    },
    verify: { checks: checks.map((name, i) => ({ name, ok: true, detail: `evidence ${i}`, file: `0${i + 1}_${name}.sql` })), passed: checks.length, failed: 0 },
    server: { version: "17.6", connectionEncrypted: true, tlsVersion: "TLSv1.3", forceSsl: "1" },
    drift: {
      status: "none",
      head: set.files.at(-1)?.folder ?? null,
      snapshot: { head: set.files.at(-1)?.folder ?? null, takenAt: "2026-01-01T01:00:00.000Z", sha256: "a".repeat(64) },
      liveSha256: "a".repeat(64),
      differences: [],
    },
  });
}

/** Mock handler: the verification command "prints" the canned report; the others print nothing. */
export function reportingCommands(report: string) {
  return async (args: pulumi.runtime.MockResourceArgs): Promise<Record<string, unknown> | undefined> => {
    if (args.type !== "command:local:Command") return undefined;
    const create = String(reveal((args.inputs as Record<string, unknown>).create));
    return { stdout: create.includes("dist/stack-report.js") ? report : "", stderr: "" };
  };
}

export { isSecretValue };
