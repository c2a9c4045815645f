/**
 * Drift in the dev stack end to end, without AWS (support/pulumi-e2e.ts: the "RDS instance" is an
 * embedded PostgreSQL 17 that accepts TLS only, and the commands really run): the `drift` output
 * after an up, a column added by hand showing in it, and `failOnDrift` stopping the next up before
 * its pending file until the column is gone.
 */
import { describe, expect, test } from "vitest";
import { devStackE2E } from "./support/dev-stack-e2e.js";

const HEAD = "20260101000200_idx_point_transaction_member";
const NEW = "20260101000300_member_bio";
const PLANTED = `column "Member"."nickname" text exists in the database, not in the migrations`;

const e2e = devStackE2E({ resourceId: "db-E2EDRIFTINSTANCE" });
const { sql, up, ran } = e2e;

const ledgerCount = async () => (await sql<{ n: number }>(`SELECT count(*)::int AS n FROM migrator.applied_migrations`))[0]!.n;
const memberColumns = async () =>
  (await sql<{ column_name: string }>(`SELECT column_name FROM information_schema.columns WHERE table_name = 'Member' ORDER BY 1`)).map((r) => r.column_name);

interface Drift {
  status: string;
  head: string | null;
  snapshot: { head: string; sha256: string; takenAt: string } | null;
  liveSha256: string | null;
  differences: { kind: string; name: string; change: string; line: string }[];
}

describe("drift in the dev stack", () => {
  test("after the first up the drift output is none, with the snapshot the database holds at the head", async () => {
    const run = await up();
    expect(ran()).toEqual(["migration-apply", "verification-report"]);
    const drift = run.exports.drift as Drift;
    const [recorded] = await sql<{ head: string; sha256: string }>(`SELECT head, sha256 FROM migrator.applied_migrations_snapshots`);
    expect(recorded).toMatchObject({ head: HEAD });
    expect(drift).toMatchObject({ status: "none", head: HEAD, differences: [], snapshot: { head: HEAD, sha256: recorded!.sha256 } });
    expect(drift.liveSha256).toBe(recorded!.sha256);
  }, 180_000);

  test("a column added by hand shows in the drift output of the next verification", async () => {
    await sql(`ALTER TABLE "Member" ADD COLUMN nickname text`);
    const run = await up({ "pg-migrations:verificationRun": "after-the-column" });
    expect(ran()).toEqual(["verification-report"]);
    const drift = run.exports.drift as Drift;
    expect(drift).toMatchObject({ status: "drifted", head: HEAD, differences: [{ kind: "column", name: '"Member"."nickname"', change: "added", line: PLANTED }] });
    expect(drift.liveSha256).not.toBe(drift.snapshot!.sha256);
  }, 180_000);

  test("failOnDrift: up stops before the pending file, naming the column and what to do; nothing is applied", async () => {
    await e2e.set.write(`migrations/${NEW}/migration.sql`, `ALTER TABLE "Member" ADD COLUMN "bio" TEXT;\n`);
    await expect(up({ "pg-migrations:failOnDrift": "true", "pg-migrations:verificationRun": "after-the-column" })).rejects.toThrow(
      new RegExp(`schema drifted from the snapshot recorded at ${HEAD}[\\s\\S]*${PLANTED.replace(/[".]/g, "\\$&")}[\\s\\S]*undo it in the database`),
    );
    expect(ran()).toEqual(["migration-apply"]);
    expect(e2e.emulator.executed[0]!.exitCode).toBe(1);
    expect(e2e.emulator.executed[0]!.stderr).toMatch(/--fail-on-drift/);
    expect(await ledgerCount()).toBe(3);
    expect(await memberColumns()).not.toContain("bio");
  }, 180_000);

  test("with the column gone the same up goes on: the file applied, the drift output none at the new head", async () => {
    await sql(`ALTER TABLE "Member" DROP COLUMN nickname`);
    const run = await up({ "pg-migrations:failOnDrift": "true", "pg-migrations:verificationRun": "after-the-column" });
    expect(ran()).toEqual(["migration-apply", "verification-report"]);
    expect(e2e.emulator.executed[0]!.stdout).toMatch(new RegExp(`drift {7}none: the schema is the snapshot's at ${HEAD}`));
    expect(await ledgerCount()).toBe(4);
    expect(await memberColumns()).toContain("bio");
    expect(run.exports.drift).toMatchObject({ status: "none", head: NEW, differences: [], snapshot: { head: NEW } });
  }, 180_000);
});
