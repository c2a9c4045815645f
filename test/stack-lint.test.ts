import { stackSettingsOf } from "./support/stack-settings.js";
import { readFile } from "node:fs/promises";
import path from "node:path";
import { afterAll, beforeEach, describe, expect, test, vi } from "vitest";
import { formatFinding, lintSet, lintTarget, reportFindings } from "../infra/lint-gate.js";
import { majorOfServerVersion, previousRunOf } from "../infra/previous-run.js";
import { readMigrationSet } from "../migrator/files.js";
import type { LintFinding } from "../migrator/lint.js";
import { readStackFile, runProgram, type CallHandler } from "./support/pulumi.js";
import { removeSets, writeSet } from "./support/sets.js";

afterAll(removeSets);
// Each runProgram imports the program afresh (the module cache would hand back the last run's exports).
beforeEach(() => vi.resetModules());

const UNSAFE_DIR = "test/fixtures/stack-unsafe/migrations";
const settingsOf = stackSettingsOf;
const loadProd = () => settingsOf("prod");
const INIT = "20260101000000_init";
const INDEX = "20260101000100_index_member_name";

/** The stack's last outputs as the engine's readStackOutputs answers them: what its last up left in the ledger. */
function lastUp(folders: string[], serverVersion = "17.6"): CallHandler {
  return (args) =>
    args.token === "pulumi:pulumi:readStackOutputs"
      ? {
          name: args.inputs.name,
          outputs: {
            migrations: { applied: folders.map((f) => ({ version: f.split("_")[0], name: f.slice(f.indexOf("_") + 1), checksum: "0".repeat(64), status: "applied" })) },
            verification: { server: { version: serverVersion } },
          },
          secretOutputNames: [],
        }
      : undefined;
}

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
  return {
    lines,
    log: {
      info: (text: string) => lines.push({ level: "info", text }),
      warn: (text: string) => lines.push({ level: "warn", text }),
      error: (text: string) => lines.push({ level: "error", text }),
    },
  };
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

describe("the gate lints what this up would apply, for the stack's major", () => {
  test("the stack's last outputs say which folders are applied and which server version the verification saw", () => {
    const previous = previousRunOf({
      migrations: {
        applied: [
          { version: "1", name: "a" },
          { version: "2", name: "b" },
        ],
        pending: [],
      },
      verification: { server: { version: "16.4 (Debian 16.4-1.pgdg120+1)" } },
    });
    expect([...previous!.applied]).toEqual(["1_a", "2_b"]);
    expect(majorOfServerVersion(previous!.serverVersion)).toBe(16);
    // A new stack, or one whose first up failed: nothing known, so everything is pending.
    expect(previousRunOf({})).toBeUndefined();
    expect(previousRunOf(undefined)).toBeUndefined();
    expect(previousRunOf({ migrations: { applied: [{ version: 1 }] } })).toBeUndefined();
  });

  test("only the files the last up did not apply are linted; with no last up, all of them; the major is the stack's", async () => {
    const set = await readMigrationSet(UNSAFE_DIR);
    const prod = (engineVersion?: string) => settingsOf("prod", engineVersion ? { "pg-migrations:engineVersion": engineVersion } : {});
    const both = lintTarget(set, prod(), previousRunOf({ migrations: { applied: [{ version: "20260101000000", name: "init" }] } }));
    expect(both.selection.files.map((f) => f.folder)).toEqual([INDEX]);
    expect(both.pgMajor).toBe(17);
    expect(lintTarget(set, prod("15"), undefined)).toMatchObject({ pgMajor: 15, selection: { scope: "all" } });
    expect(lintTarget(set, prod("15"), undefined).selection.files).toHaveLength(2);

    const local = (serverVersion?: string) =>
      lintTarget(
        set,
        settingsOf("local"),
        serverVersion ? previousRunOf({ migrations: { applied: [] }, verification: { server: { version: serverVersion } } }) : undefined,
      ).pgMajor;
    expect(local("14.12")).toBe(14);
    expect(local()).toBe(17);
  });

  test("lintSet: an applied file's findings do not stop a fail-mode stack; a pending one's do; the log says what was linted", async () => {
    const set = await readMigrationSet(UNSAFE_DIR);
    const allApplied = recorder();
    const target = (applied: string[]) => ({
      pgMajor: 16,
      selection: { scope: "pending" as const, files: set.files.filter((f) => !applied.includes(f.folder)), what: "", why: "" },
    });
    await lintSet(set, UNSAFE_DIR, "fail", target([INIT, INDEX]), allApplied.log);
    expect(allApplied.lines).toEqual([]);
    const pending = recorder();
    await expect(
      lintSet(
        set,
        UNSAFE_DIR,
        "fail",
        lintTarget(set, loadProd(), previousRunOf({ migrations: { applied: [{ version: "20260101000000", name: "init" }] } })),
        pending.log,
      ),
    ).rejects.toThrow(/1 error-level lint finding/);
    expect(pending.lines[0]).toEqual({ level: "info", text: "lint: 1 pending file of 2 for PostgreSQL 17 (not in the ledger of this stack's last up)" });
    expect(pending.lines.filter((l) => l.level === "error").map((l) => l.text)).toEqual([
      expect.stringMatching(new RegExp(`^${UNSAFE_DIR}/${INDEX}/migration.sql:2:1: error require-concurrent-index-creation`)),
    ]);
  });

  test("a set adopted with old findings: a fully applied prod stack previews; the next file with a finding fails it", async () => {
    const config = {
      ...readStackFile("prod").config,
      "pg-migrations:migrationsDir": UNSAFE_DIR,
      "pg-migrations:verifyDir": "test/fixtures/stack-unsafe/verify",
      "pg-migrations:migratorPassword": "prod-migrator-password-0123456789",
    };
    const run = await runProgram({ stack: "prod", preview: true, config, secretKeys: ["pg-migrations:migratorPassword"], onCall: lastUp([INIT, INDEX]) });
    expect(run.ofType("command:local:Command").length).toBeGreaterThan(0);
    expect(run.calls.find((c) => c.token === "pulumi:pulumi:readStackOutputs")?.inputs).toEqual({ name: "organization/pg-migrations/prod" });

    const dir = await writeSet([
      { version: "20260101000000", name: "init", sql: await readFile(path.join(UNSAFE_DIR, INIT, "migration.sql"), "utf8") },
      { version: "20260101000100", name: "index_member_name", sql: await readFile(path.join(UNSAFE_DIR, INDEX, "migration.sql"), "utf8") },
      { version: "20260101000200", name: "index_point", sql: 'CREATE INDEX "PointTransaction_memberId_idx" ON "PointTransaction"("memberId");\n' },
    ]);
    vi.resetModules();
    await expect(
      runProgram({
        stack: "prod",
        preview: true,
        config: { ...config, "pg-migrations:migrationsDir": dir },
        secretKeys: ["pg-migrations:migratorPassword"],
        onCall: lastUp([INIT, INDEX]),
      }),
    ).rejects.toThrow(/1 error-level lint finding/);
  }, 120_000);
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
