/**
 * A prod-shaped `pulumi stack output --json` for the audit tests: the prod program run under
 * Pulumi's mocks (as test/stack-prod.test.ts does), its exports taken as the outputs. The canned
 * verification report is made hostile on purpose: a ledger row whose name is a `<script>` tag
 * and a failed check whose evidence holds HTML, both as the database could hand them back.
 */
import { cannedReport, reportingCommands } from "./pulumi-report.js";
import { readStackFile, reveal, runProgram } from "./pulumi.js";

export const HOSTILE_NAME = "<script>document.title='pwned'</script>";
export const HOSTILE_DETAIL = `2 rows break the rule: <img src=x onerror="document.title='pwned'"> & more`;
export const FAILED_CHECK = "points_match_ledger";

export async function prodOutputs(): Promise<Record<string, unknown>> {
  const report = JSON.parse(await cannedReport("sql/migrations", ["baseline_recorded", "tables_ok", FAILED_CHECK])) as {
    status: { applied: Record<string, unknown>[] };
    verify: { checks: { name: string; ok: boolean; detail: string }[]; passed: number; failed: number };
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
  const run = await runProgram({
    stack: "prod",
    config: { ...readStackFile("prod").config, "pg-migrations:migratorPassword": "prod-migrator-password-0123456789" },
    secretKeys: ["pg-migrations:migratorPassword"],
    onResource: reportingCommands(JSON.stringify(report)),
  });
  // What `pulumi stack output --json` prints: plain JSON, no secret wrappers (there are none to unwrap).
  return JSON.parse(JSON.stringify(reveal(run.exports))) as Record<string, unknown>;
}
