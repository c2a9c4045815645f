/**
 * lint: squawk over the set, each file in the transaction mode it really runs in, findings
 * located by file, line and column, exit 1 on error-level findings, excluded rules never shown.
 */
import { execFile } from "node:child_process";
import { createRequire } from "node:module";
import path from "node:path";
import { promisify } from "node:util";
import { afterAll, describe, expect, test } from "vitest";
import { characterColumn, EXCLUDED_RULES } from "../migrator/lint.js";
import { migrate, migrateJson } from "./support/cli.js";
import { removeSets, writeSet, type SetFile } from "./support/sets.js";

afterAll(removeSets);

const UNSAFE: SetFile[] = [
  { version: "1", name: "accounts", sql: "CREATE TABLE accounts (id bigint PRIMARY KEY, balance bigint NOT NULL);\n" },
  { version: "2", name: "retype", sql: "-- widen\nALTER TABLE accounts\n  ALTER COLUMN balance TYPE numeric;\n" },
  { version: "3", name: "index", sql: "-- migrate:no-transaction\nCREATE INDEX CONCURRENTLY accounts_balance ON accounts (balance);\n" },
  { version: "4", name: "add_column", sql: "ALTER TABLE accounts ADD COLUMN note text;\n" },
];

interface Finding {
  file: string;
  line: number;
  column: number;
  rule: string;
  level: string;
  message: string;
}

describe("lint", () => {
  test("unsafe statements are error findings with file, line, column and rule; exit 1", async () => {
    const dir = await writeSet(UNSAFE);
    const run = await migrateJson<{ findings: Finding[]; errors: number; warnings: number }>(["lint", "--dir", dir]);
    expect(run.code).toBe(1);
    expect(run.json.findings).toContainEqual({
      file: "2_retype/migration.sql",
      line: 3,
      column: 24,
      rule: "changing-column-type",
      level: "error",
      message: expect.stringMatching(/ACCESS EXCLUSIVE/),
    });
    // The no-transaction file is linted as running outside a transaction: a rerun after a failure
    // would hit the index a failed build left, so squawk asks for IF NOT EXISTS.
    expect(run.json.findings).toContainEqual(expect.objectContaining({ file: "3_index/migration.sql", line: 2, column: 1, rule: "prefer-robust-stmts", level: "error" }));
    // A transactional file is linted as running in one: ADD COLUMN rolls back whole, so it is not "not robust".
    expect(run.json.findings.filter((f) => f.file === "4_add_column/migration.sql")).toEqual([]);
    expect(run.json.errors).toBe(run.json.findings.filter((f) => f.level === "error").length);
    expect(run.json.errors).toBeGreaterThanOrEqual(2);

    const text = await migrate(["lint", "--dir", dir]);
    expect(text.code).toBe(1);
    expect(text.stdout).toMatch(/^2_retype\/migration\.sql:3:24: error \[changing-column-type\] /m);
    expect(text.stdout).toMatch(/^lint: \d+ errors, \d+ warnings?$/m);
  });

  test("style findings are warnings: exit 0", async () => {
    const dir = await writeSet([{ version: "1", name: "styled", sql: "CREATE TABLE t (id int PRIMARY KEY, at timestamp, code varchar(8));\n" }]);
    const run = await migrateJson<{ findings: Finding[]; errors: number; warnings: number }>(["lint", "--dir", dir]);
    expect(run.code).toBe(0);
    expect(run.json.errors).toBe(0);
    expect(new Set(run.json.findings.map((f) => f.rule))).toEqual(new Set(["prefer-bigint-over-int", "prefer-timestamp-tz", "prefer-text-field"]));
    expect(run.json.findings.every((f) => f.level === "warning")).toBe(true);
    expect((await migrate(["lint", "--dir", dir])).stdout).toMatch(/lint: 0 errors, 3 warnings/);
  });

  test("the excluded rules never show, although squawk itself reports them on this set", async () => {
    const dir = await writeSet(UNSAFE);
    const run = await migrateJson<{ findings: Finding[] }>(["lint", "--dir", dir]);
    const excluded = Object.keys(EXCLUDED_RULES);
    expect(run.json.findings.filter((f) => excluded.includes(f.rule))).toEqual([]);

    const require = createRequire(import.meta.url);
    const squawk = path.join(path.dirname(require.resolve("@squawk-cli/linux-x64/package.json")), "bin", "squawk");
    const raw = await promisify(execFile)(squawk, ["--reporter=json", "--pg-version=17.0", "--assume-in-transaction", "2_retype/migration.sql"], { cwd: dir }).catch(
      (e: { stdout: string }) => e,
    );
    const rules = (JSON.parse(raw.stdout) as { rule_name: string }[]).map((f) => f.rule_name);
    expect(rules.filter((r) => excluded.includes(r)).length).toBeGreaterThan(0);
  });

  test("columns count characters: a BOM or accented names before the finding do not shift it", async () => {
    const bom = Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), Buffer.from('ALTER TABLE "cômptes" ALTER COLUMN n TYPE bigint;\r\n')]);
    const dir = await writeSet([
      { version: "1", name: "t", sql: 'CREATE TABLE "cômptes" (id bigint PRIMARY KEY, n bigint);\n' },
      { version: "2", name: "bom", sql: bom },
    ]);
    const run = await migrateJson<{ findings: Finding[] }>(["lint", "--dir", dir]);
    expect(run.json.findings).toContainEqual(expect.objectContaining({ file: "2_bom/migration.sql", line: 1, column: 38, rule: "changing-column-type" }));
    expect(characterColumn(Buffer.from("SELECT 1;\nSELECT 'é', x;\n"), 1, 13)).toBe(13);
    expect(characterColumn(Buffer.from("\uFEFFSELECT x;\n"), 0, 10)).toBe(8);
  });

  test("lint needs no database: a DATABASE_URL it could not use does not stop it", async () => {
    const dir = await writeSet([{ version: "1", name: "ok", sql: "CREATE TABLE t (id bigint PRIMARY KEY);\n" }]);
    const run = await migrate(["lint", "--dir", dir], { DATABASE_URL: "postgres://u:secret-pw@db.example.com/app?sslmode=disable" });
    expect(run.code).toBe(0);
    expect(run.stdout).toMatch(/lint: 0 errors, 0 warnings/);
  });

  test("a bad set is exit 2 before squawk runs", async () => {
    const dir = await writeSet([{ version: "1", name: "typo", sql: "-- migrate:no-transacton\nCREATE INDEX CONCURRENTLY i ON t (x);\n" }]);
    const run = await migrate(["lint", "--dir", dir]);
    expect(run.code).toBe(2);
    expect(run.stderr).toMatch(/1_typo\/migration\.sql:1: unknown directive .*did you mean "-- migrate:no-transaction"\?/);
  });
});
