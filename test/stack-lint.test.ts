import { describe, expect, test } from "vitest";
import { formatFinding, reportFindings } from "../infra/lint-gate.js";
import type { LintFinding } from "../migrator/lint.js";
import { readStackFile, runProgram } from "./support/pulumi.js";

const finding = (level: "error" | "warning", line = 2): LintFinding => ({
  file: "20260101000100_index_member_name/migration.sql",
  line,
  column: 1,
  rule: level === "error" ? "require-concurrent-index-creation" : "prefer-bigint-over-int",
  level,
  message: "During normal index creation, table updates are blocked",
  help: "Use `concurrently` to avoid blocking writes.",
});

function recorder() {
  const lines: { level: string; text: string }[] = [];
  return { lines, log: { warn: (text: string) => lines.push({ level: "warn", text }), error: (text: string) => lines.push({ level: "error", text }) } };
}

describe("lint findings become Pulumi diagnostics with file:line", () => {
  test("each finding names the file as configured, line and column, rule and help", () => {
    expect(formatFinding("sql/migrations/", finding("error"))).toBe(
      "sql/migrations/20260101000100_index_member_name/migration.sql:2:1: error require-concurrent-index-creation: " +
        "During normal index creation, table updates are blocked (Use `concurrently` to avoid blocking writes.)",
    );
  });

  test("warn mode: everything is a warning and nothing stops", () => {
    const { lines, log } = recorder();
    expect(reportFindings([finding("error"), finding("warning", 5)], "sql/migrations", "warn", log)).toBeUndefined();
    expect(lines.map((l) => l.level)).toEqual(["warn", "warn"]);
  });

  test("fail mode: error-level findings are errors and stop the program; warnings stay warnings", () => {
    const { lines, log } = recorder();
    const stop = reportFindings([finding("error"), finding("warning", 5)], "sql/migrations", "fail", log);
    expect(stop).toMatch(/1 error-level lint finding/);
    expect(lines.map((l) => l.level)).toEqual(["error", "warn"]);
    expect(reportFindings([finding("warning")], "sql/migrations", "fail", recorder().log)).toBeUndefined();
  });
});

describe("in prod an error-level finding fails the preview", () => {
  test("the program stops before creating anything, naming file and line", async () => {
    const { config } = readStackFile("prod");
    const registered: string[] = [];
    await expect(
      runProgram({
        stack: "prod",
        preview: true,
        config: {
          ...config,
          "pg-migrations:migrationsDir": "test/fixtures/stack-unsafe/migrations",
          "pg-migrations:verifyDir": "test/fixtures/stack-unsafe/verify",
          "pg-migrations:migratorPassword": "prod-migrator-password-0123456789",
        },
        secretKeys: ["pg-migrations:migratorPassword"],
        onResource: async (args) => {
          registered.push(args.type);
          return undefined;
        },
      }),
    ).rejects.toThrow(/1 error-level lint finding/);
    expect(registered).toEqual([]);
  }, 120_000);
});
