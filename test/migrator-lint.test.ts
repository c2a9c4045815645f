/**
 * lint: squawk over what a change adds (the files a database's ledger lacks, or those after
 * --since; --all every file), each file in the transaction mode it really runs in and for the
 * target's major, findings located by file, line and column, exit 1 on error-level findings,
 * excluded rules never shown, a set with problems still linted file by file.
 */
import { execFile } from "node:child_process";
import { createRequire } from "node:module";
import path from "node:path";
import { promisify } from "node:util";
import { afterAll, describe, expect, test } from "vitest";
import { ADVISORY_RULES, characterColumn, EXCLUDED_RULES, squawkArgs } from "../migrator/lint.js";
import { migrate, migrateJson, printed } from "./support/cli.js";
import { freshDatabase } from "./support/database.js";
import { ledgerRows } from "./support/migrator-db.js";
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

  test("--all and --since need no database: a DATABASE_URL they could not use does not stop them; without them lint uses it", async () => {
    const dir = await writeSet([{ version: "1", name: "ok", sql: "CREATE TABLE t (id bigint PRIMARY KEY);\n" }]);
    const env = { DATABASE_URL: "postgres://u:secret-pw@db.example.com/app?sslmode=disable" };
    for (const scope of [["--all"], ["--since", "0_before"]]) {
      const run = await migrate(["lint", "--dir", dir, ...scope], env);
      expect(run.code, printed(run)).toBe(0);
      expect(run.stdout).toMatch(/lint: 0 errors, 0 warnings/);
    }
    // Without them the URL names the database whose ledger says what is pending: refused as every verb refuses it.
    const refused = await migrate(["lint", "--dir", dir], env);
    expect(refused.code).toBe(2);
    expect(refused.stderr).toMatch(/without TLS/);
    expect(printed(refused)).not.toContain("secret-pw");
  });

  test("a set with problems: every readable file is still linted, the problems are listed, exit 2, and lint never says nothing was applied", async () => {
    const dir = await writeSet([
      { version: "1", name: "accounts", sql: "CREATE TABLE accounts (id bigint PRIMARY KEY, balance bigint);\n" },
      { version: "2", name: "typo", sql: "-- migrate:no-transacton\nCREATE INDEX CONCURRENTLY i ON accounts (balance);\n" },
      { version: "3", name: "retype", sql: "ALTER TABLE accounts ALTER COLUMN balance TYPE numeric;\n" },
    ]);
    const run = await migrate(["lint", "--dir", dir]);
    expect(run.code).toBe(2);
    expect(run.stderr).toMatch(/^error: the migration set has 1 problem; apply would refuse before running anything:\n/);
    expect(run.stderr).toMatch(/2_typo\/migration\.sql:1: unknown directive .*did you mean "-- migrate:no-transaction"\?/);
    expect(printed(run)).not.toMatch(/nothing was applied/);
    expect(run.stdout).toMatch(/^3_retype\/migration\.sql:1:\d+: error \[changing-column-type\]/m);
    const json = await migrateJson<{ findings: Finding[]; linted: string[]; problems: { file: string }[] }>(["lint", "--dir", dir]);
    expect(json.code).toBe(2);
    expect(json.json.linted).toEqual(["1_accounts/migration.sql", "3_retype/migration.sql"]);
    expect(json.json.problems.map((p) => p.file)).toEqual(["2_typo/migration.sql"]);
    expect(json.json.findings.map((f) => `${f.file} ${f.rule}`)).toContain("3_retype/migration.sql changing-column-type");
  });

  test("require-enum-value-ordering is a warning (Prisma always writes ADD VALUE without BEFORE/AFTER): exit 0", async () => {
    // What `prisma migrate dev` writes when a value is added to an enum of the schema.
    const dir = await writeSet([
      { version: "1", name: "role", sql: "CREATE TYPE \"Role\" AS ENUM ('USER', 'ADMIN');\n" },
      { version: "2", name: "add_role", sql: "-- AlterEnum\nALTER TYPE \"Role\" ADD VALUE 'OWNER';\n" },
    ]);
    const run = await migrateJson<{ findings: Finding[]; errors: number }>(["lint", "--dir", dir]);
    expect(run.code, printed(run)).toBe(0);
    expect(run.json.findings).toEqual([expect.objectContaining({ file: "2_add_role/migration.sql", line: 2, rule: "require-enum-value-ordering", level: "warning" })]);
    expect(ADVISORY_RULES["require-enum-value-ordering"]).toMatch(/Prisma/);
  });
});

describe("lint gates what a change adds", () => {
  type Report = { findings: Finding[]; errors: number; linted: string[]; scope: string; pgMajor: number; database?: string; says: string };

  test("against a fully applied database: nothing pending, exit 0 though old files have findings; a new file with a finding fails alone; --all lints everything", async () => {
    const url = await freshDatabase("lint");
    const dir = await writeSet(UNSAFE);
    expect((await migrate(["apply", "--database-url", url, "--dir", dir, "--quiet"])).code).toBe(0);

    const applied = await migrateJson<Report>(["lint", "--database-url", url, "--dir", dir]);
    expect(applied.code, printed(applied)).toBe(0);
    expect(applied.json).toMatchObject({ scope: "pending", linted: [], findings: [], errors: 0, pgMajor: 17 });
    expect(applied.json.database).toMatch(/\/lint_/);
    expect((await migrate(["lint", "--database-url", url, "--dir", dir])).stdout).toMatch(
      /^Linting 0 pending files of 4 for PostgreSQL 17 \(not in the ledger of .*\)$/m,
    );
    // The same through DATABASE_URL, as every verb takes it.
    expect((await migrate(["lint", "--dir", dir], { DATABASE_URL: url })).code).toBe(0);

    const withNew = await writeSet([
      ...UNSAFE,
      { version: "5", name: "index_note", sql: "CREATE INDEX accounts_note ON accounts (note);\n" },
      { version: "6", name: "note_default", sql: "ALTER TABLE accounts ALTER COLUMN note SET DEFAULT '';\n" },
    ]);
    const pending = await migrateJson<Report>(["lint", "--database-url", url, "--dir", withNew]);
    expect(pending.code).toBe(1);
    expect(pending.json.linted).toEqual(["5_index_note/migration.sql", "6_note_default/migration.sql"]);
    expect(new Set(pending.json.findings.map((f) => f.file))).toEqual(new Set(["5_index_note/migration.sql"]));
    expect(pending.json.findings).toContainEqual(expect.objectContaining({ rule: "require-concurrent-index-creation", level: "error" }));

    const all = await migrateJson<Report>(["lint", "--database-url", url, "--dir", withNew, "--all"]);
    expect(all.code).toBe(1);
    expect(all.json.scope).toBe("all");
    expect(all.json.linted).toHaveLength(6);
    expect(new Set(all.json.findings.map((f) => f.file))).toEqual(new Set(["2_retype/migration.sql", "3_index/migration.sql", "5_index_note/migration.sql"]));
    // Linting wrote nothing: the ledger still lists the four applied files.
    expect((await ledgerRows(url)).map((r) => r.version)).toEqual(["1", "2", "3", "4"]);
  });

  test("--since FOLDER (or version): the files after it, no database; an unknown name that is no folder is bad usage", async () => {
    const dir = await writeSet(UNSAFE);
    const since = await migrateJson<Report>(["lint", "--dir", dir, "--since", "2_retype"]);
    expect(since.code).toBe(1);
    expect(since.json).toMatchObject({ scope: "since", linted: ["3_index/migration.sql", "4_add_column/migration.sql"] });
    expect(new Set(since.json.findings.map((f) => f.file))).toEqual(new Set(["3_index/migration.sql"]));
    expect((await migrateJson<Report>(["lint", "--dir", dir, "--since", "2"])).json.linted).toEqual(since.json.linted);
    // A base branch's last folder that this set no longer has still orders the others.
    const later = await migrateJson<Report>(["lint", "--dir", dir, "--since", "3_removed_here"]);
    expect(later.json.linted).toEqual(["4_add_column/migration.sql"]);
    expect(later.code).toBe(0);
    const none = await migrate(["lint", "--dir", dir, "--since", "4_add_column"]);
    expect(none.code).toBe(0);
    expect(none.stdout).toMatch(/^Linting 0 files of 4 after 4_add_column for PostgreSQL 17$/m);
    const bad = await migrate(["lint", "--dir", dir, "--since", "latest"]);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/--since latest: no migration has that version or folder name/);
    expect((await migrate(["lint", "--dir", dir, "--since", "2", "--all"])).code).toBe(2);
  });

  test("lint judges for the target's major: --pg-version with no database, the server's own against one", async () => {
    const dir = await writeSet(UNSAFE);
    const run = await migrateJson<Report>(["lint", "--dir", dir, "--all", "--pg-version", "15"]);
    expect(run.json.pgMajor).toBe(15);
    expect(run.json.says).toBe("every file (4) for PostgreSQL 15 (--all)");
    expect(squawkArgs([{ relativePath: "1_a/migration.sql" }], true, { pgMajor: 15 })).toContain("--pg-version=15.0");
    expect((await migrateJson<Report>(["lint", "--dir", dir, "--pg-version", "16.4"])).json.pgMajor).toBe(16);
    for (const bad of ["12", "18", "x"]) {
      const refused = await migrate(["lint", "--dir", dir, "--pg-version", bad]);
      expect(refused.code, bad).toBe(2);
      expect(refused.stderr).toMatch(/--pg-version .* \(13 to 17/);
    }
    const url = await freshDatabase("lintv");
    const withDb = await migrate(["lint", "--dir", dir, "--database-url", url, "--pg-version", "15"]);
    expect(withDb.code).toBe(2);
    expect(withDb.stderr).toMatch(/judges for its server's version/);
    expect((await migrate(["plan", "--dir", dir, "--pg-version", "15"])).stderr).toMatch(/--pg-version goes with lint/);
  });
});
