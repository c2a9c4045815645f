/**
 * A prod-shaped `pulumi stack output --json` for the audit tests: the prod program run under
 * Pulumi's mocks (as test/stack-prod.test.ts does), its exports taken as the outputs. The canned
 * verification report is made hostile on purpose: a ledger row whose name is a `<script>` tag
 * and a failed check whose evidence holds HTML, both as the database could hand them back, and a
 * drifted schema whose column name holds HTML too.
 */
import { cannedReport, reportingCommands } from "./pulumi-report.js";
import { readStackFile, reveal, runProgram } from "./pulumi.js";

export const HOSTILE_NAME = "<script>document.title='pwned'</script>";
export const HOSTILE_DETAIL = `2 rows break the rule: <img src=x onerror="document.title='pwned'"> & more`;
export const FAILED_CHECK = "points_match_ledger";
/** The drift the canned report carries: a column added by hand, its name as hostile as the ledger's. */
export const DRIFT_LINE = `column "Member"."<i>nick</i>" text exists in the database, not in the migrations`;
export const SNAPSHOT_SHA256 = "3f1c9a4e0d7b52c86e1f0a9b3d4c5e6f708192a3b4c5d6e7f8091a2b3c4d5e6f7";

export async function prodOutputs(): Promise<Record<string, unknown>> {
  const report = JSON.parse(await cannedReport("sql/migrations", ["baseline_recorded", "tables_ok", FAILED_CHECK])) as {
    status: { applied: Record<string, unknown>[] };
    verify: { checks: { name: string; ok: boolean; detail: string }[]; passed: number; failed: number };
    drift: Record<string, unknown>;
  };
  report.status.applied.push({
    version: "20990101000000",
    name: HOSTILE_NAME,
    checksum: "f".repeat(64),
    transactional: true,
    appliedAt: "2026-11-30T12:00:00.000Z",
    durationMs: 42,
    status: "applied",
    appliedBy: "migrator",
  });
  const failed = report.verify.checks.find((c) => c.name === FAILED_CHECK)!;
  failed.ok = false;
  failed.detail = HOSTILE_DETAIL;
  report.verify.passed -= 1;
  report.verify.failed = 1;
  report.drift = {
    status: "drifted",
    head: "20260123015834_add_points_trigger",
    snapshot: { head: "20260123015834_add_points_trigger", takenAt: "2026-11-30T11:00:00.000Z", sha256: SNAPSHOT_SHA256 },
    liveSha256: "9".repeat(64),
    differences: [{ kind: "column", name: '"Member"."<i>nick</i>"', change: "added", line: DRIFT_LINE }],
  };
  const run = await runProgram({
    stack: "prod",
    config: { ...readStackFile("prod").config, "pg-migrations:migratorPassword": "prod-migrator-password-0123456789" },
    secretKeys: ["pg-migrations:migratorPassword"],
    onResource: reportingCommands(JSON.stringify(report)),
  });
  // What `pulumi stack output --json` prints: plain JSON, no secret wrappers (there are none to unwrap).
  return JSON.parse(JSON.stringify(reveal(run.exports))) as Record<string, unknown>;
}
