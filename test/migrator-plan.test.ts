/**
 * Reading the set and planning: what is checked before anything runs (exit 2, every problem at
 * once, each with file and line), the planner's decisions given a ledger (pure, no database),
 * and the `plan` verb against a real database.
 */
import fc from "fast-check";
import { afterAll, describe, expect, test } from "vitest";
import { LedgerConflictError, MigrationSetError, UsageError, type Problem } from "../migrator/errors.js";
import { readMigrationSet, type MigrationSet } from "../migrator/files.js";
import type { LedgerRow } from "../migrator/ledger.js";
import { plan } from "../migrator/plan.js";
import { loadParser, parseStatements } from "../migrator/statements.js";
import { migrate, migrateJson, printed } from "./support/cli.js";
import { freshDatabase, withTestClient } from "./support/database.js";
import { ledgerRows, relationExists } from "./support/migrator-db.js";
import { checksumOfText, removeSets, writeSet, type SetFile } from "./support/sets.js";

afterAll(removeSets);

const NO_TX = "-- migrate:no-transaction\n";

/** The problems readMigrationSet reports for a set, or fails the test when it reports none. */
async function problemsOf(files: SetFile[], options: { lockFile?: string | null } = {}): Promise<Problem[]> {
  const dir = await writeSet(files, options);
  const error = await readMigrationSet(dir).then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(MigrationSetError);
  return (error as MigrationSetError).problems;
}

describe("reading the set: problems found before anything runs", () => {
  test("CREATE INDEX CONCURRENTLY in a transactional file names the file and line and says to use no-transaction", async () => {
    const problems = await problemsOf([
      { version: "1", name: "init", sql: "CREATE TABLE t (id int);\n" },
      { version: "2", name: "idx", sql: "-- an index\nCREATE TABLE u (id int);\n\nCREATE INDEX CONCURRENTLY t_id ON t (id);\n" },
    ]);
    expect(problems).toEqual([
      expect.objectContaining({
        file: "2_idx/migration.sql",
        line: 4,
        column: 1,
        message: expect.stringMatching(/CREATE INDEX CONCURRENTLY cannot run inside a transaction block.*-- migrate:no-transaction/),
      }),
    ]);
  });

  test.each([
    ["DROP INDEX CONCURRENTLY t_id", "DROP INDEX CONCURRENTLY"],
    ["REINDEX INDEX CONCURRENTLY t_id", "REINDEX CONCURRENTLY"],
    ["VACUUM t", "VACUUM"],
    ["CREATE DATABASE other", "CREATE DATABASE"],
    ["ALTER SYSTEM SET work_mem = '8MB'", "ALTER SYSTEM"],
    ["ALTER TABLE p DETACH PARTITION p1 CONCURRENTLY", "DETACH PARTITION CONCURRENTLY"],
    ["CLUSTER", "CLUSTER without a table"],
    ["DISCARD ALL", "DISCARD ALL"],
    ["ALTER DATABASE d SET TABLESPACE fast", "ALTER DATABASE SET TABLESPACE"],
    ["ALTER SUBSCRIPTION s REFRESH PUBLICATION", "REFRESH PUBLICATION"],
  ])("%s in a transactional file is a plan error", async (sql, named) => {
    const problems = await problemsOf([{ version: "1", name: "x", sql: `SELECT 1;\n${sql};\n` }]);
    expect(problems).toHaveLength(1);
    expect(problems[0]).toMatchObject({ file: "1_x/migration.sql", line: 2 });
    expect(problems[0]!.message).toContain(named);
  });

  test("a syntax error names file, line and column with the parser's own message", async () => {
    const problems = await problemsOf([{ version: "1", name: "typo", sql: "CREATE TABLE a (id int);\n\nCREATE TABLEX b (id int);\n" }]);
    expect(problems).toEqual([{ file: "1_typo/migration.sql", line: 3, column: 8, message: 'syntax error: syntax error at or near "TABLEX"' }]);
  });

  test("a syntax error after multi-byte characters still gets the right column", async () => {
    // The parser counts characters in its error position (but bytes in statement locations).
    const problems = await problemsOf([{ version: "1", name: "utf8", sql: "COMMENT ON SCHEMA public IS 'ünïcødé';\nSELECT 'é' FROM;\n" }]);
    expect(problems[0]).toMatchObject({ line: 2, column: 16 });
    const emoji = await problemsOf([{ version: "1", name: "emoji", sql: "COMMENT ON SCHEMA public IS '😀';\nSELECT '😀' FROM;\n" }]);
    expect(emoji[0]).toMatchObject({ line: 2, column: 17 });
  });

  test("a no-transaction file with two statements names the second one", async () => {
    const problems = await problemsOf([{ version: "1", name: "two", sql: `${NO_TX}CREATE INDEX CONCURRENTLY a_i ON a (i);\nCREATE INDEX CONCURRENTLY a_j ON a (j);\n` }]);
    expect(problems).toEqual([
      expect.objectContaining({ file: "1_two/migration.sql", line: 3, message: expect.stringMatching(/holds exactly one statement.*statement 2/) }),
    ]);
  });

  test("a no-transaction file may set session settings before its statement, not after", async () => {
    const good = await writeSet([
      { version: "1", name: "set", sql: `${NO_TX}SET maintenance_work_mem = '64MB';\nSET search_path = public;\nCREATE INDEX CONCURRENTLY a_i ON a (i);\n` },
    ]);
    const set = await readMigrationSet(good);
    expect(set.files[0]).toMatchObject({ transactional: false });
    expect(set.files[0]!.statements.map((s) => s.sessionSetting)).toEqual([true, true, false]);

    const problems = await problemsOf([{ version: "1", name: "late", sql: `${NO_TX}CREATE INDEX CONCURRENTLY a_i ON a (i);\nSET work_mem = '8MB';\n` }]);
    expect(problems.map((p) => p.line)).toContain(3);
  });

  test("a misspelt directive is an error with a suggestion, not a silent transactional file", async () => {
    const problems = await problemsOf([{ version: "1", name: "typo", sql: "-- migrate:notransaction\nCREATE TABLE a (id int);\n" }]);
    expect(problems).toEqual([{ file: "1_typo/migration.sql", line: 1, message: expect.stringContaining('did you mean "-- migrate:no-transaction"?') }]);
  });

  test("a directive may carry a trailing comment; another capitalisation is checked, not ignored", async () => {
    const set = await readMigrationSet(
      await writeSet([
        {
          version: "1",
          name: "commented",
          sql: "-- migrate:no-transaction -- CONCURRENTLY needs autocommit\n-- migrate:lock-timeout 2s -- the table is hot\nCREATE INDEX CONCURRENTLY a_i ON a (i);\n",
        },
      ]),
    );
    expect(set.files[0]).toMatchObject({ transactional: false, lockTimeoutMs: 2000 });

    const problems = await problemsOf([{ version: "1", name: "caps", sql: "-- Migrate:Lock-Timeout 2s\nSELECT 1;\n" }]);
    expect(problems).toEqual([{ file: "1_caps/migration.sql", line: 1, message: expect.stringContaining('did you mean "-- migrate:lock-timeout"?') }]);
  });

  test("directive values are checked, and directives below the first statement are refused", async () => {
    const problems = await problemsOf([
      { version: "1", name: "bad_value", sql: "-- migrate:lock-timeout soon\nSELECT 1;\n" },
      { version: "2", name: "no_value", sql: "-- migrate:statement-timeout\nSELECT 1;\n" },
      { version: "3", name: "late", sql: "SELECT 1;\n-- migrate:no-transaction\n" },
    ]);
    expect(problems.map((p) => `${p.file}:${p.line}`)).toEqual(["1_bad_value/migration.sql:1", "2_no_value/migration.sql:1", "3_late/migration.sql:2"]);
    expect(problems[0]!.message).toMatch(/not a duration/);
    expect(problems[1]!.message).toMatch(/needs a duration/);
    expect(problems[2]!.message).toMatch(/only from the comment lines at the top/);
  });

  test("psql meta-commands and invalid UTF-8 are refused; a file wrapped in BEGIN … COMMIT and a comment-only file are not", async () => {
    const problems = await problemsOf([
      { version: "1", name: "begin", sql: "BEGIN;\nCREATE TABLE a (id int);\nCOMMIT;\n" },
      { version: "2", name: "meta", sql: "CREATE TABLE b (id int);\n\\connect other\n" },
      { version: "3", name: "empty", sql: "-- nothing here yet\n" },
      { version: "4", name: "latin1", sql: Buffer.from([...Buffer.from("SELECT 'caf"), 0xe9, ...Buffer.from("';\n")]) },
    ]);
    expect(problems.map((p) => `${p.file}:${p.line ?? "-"}`)).toEqual(["2_meta/migration.sql:2", "4_latin1/migration.sql:1"]);
    expect(problems[0]!.message).toMatch(/\\connect is a psql meta-command/);
    expect(problems[1]!.message).toMatch(/not valid UTF-8/);
  });

  test("layout: stray files, a folder without migration.sql, a folder with no version, another provider; versions of any width and shared versions are not problems", async () => {
    const dir = await writeSet(
      [
        { version: "9", name: "nine", sql: "SELECT 9;\n" },
        { version: "10", name: "ten", sql: "SELECT 10;\n" },
        { version: "11", name: "a", sql: "SELECT 11;\n" },
        { version: "011", name: "b", sql: "SELECT 11;\n" },
      ],
      { lockFile: 'provider = "mysql"\n' },
    );
    const { mkdir, writeFile } = await import("node:fs/promises");
    await writeFile(`${dir}/notes.txt`, "stray\n");
    await mkdir(`${dir}/12_missing`);
    await mkdir(`${dir}/init`);
    await mkdir(`${dir}/13_add\ncolumn`);
    const error = (await readMigrationSet(dir).catch((e: unknown) => e)) as MigrationSetError;
    expect(error).toBeInstanceOf(MigrationSetError);
    const byFile = Object.fromEntries(error.problems.map((p) => [p.file, p.message]));
    expect(byFile["migration_lock.toml"]).toMatch(/provider = "mysql"/);
    expect(byFile["notes.txt"]).toMatch(/not a migration folder/);
    expect(byFile["12_missing"]).toMatch(/has no migration\.sql/);
    expect(byFile["init"]).toMatch(/must start with its version/);
    expect(byFile["13_add\ncolumn"]).toMatch(/holds a control character \(13_add\\ncolumn\)/);
    expect(Object.keys(byFile).sort()).toEqual(["12_missing", "13_add\ncolumn", "init", "migration_lock.toml", "notes.txt"]);
  });

  test("every problem of the set is reported in one run, exit 2, and nothing touches the database", async () => {
    const url = await freshDatabase("plan");
    const dir = await writeSet([
      { version: "1", name: "ok", sql: "CREATE TABLE ok (id int);\n" },
      { version: "2", name: "conc", sql: "ANALYZE ok;\nCREATE INDEX CONCURRENTLY ok_id ON ok (id);\n" },
      { version: "3", name: "syntax", sql: "SELEC 1;\n" },
      { version: "4", name: "two", sql: `${NO_TX}CREATE INDEX CONCURRENTLY a ON ok (id);\nCREATE INDEX CONCURRENTLY b ON ok (id);\n` },
    ]);
    for (const verb of ["plan", "apply", "status"]) {
      const run = await migrate([verb, "--database-url", url, "--dir", dir]);
      expect(run.code, verb).toBe(2);
      // Only apply applies: plan and status say what apply would do.
      expect(run.stderr).toMatch(
        verb === "apply" ? /the migration set has 3 problems; nothing was applied/ : /the migration set has 3 problems; apply would refuse before running anything/,
      );
      expect(run.stderr).toContain("2_conc/migration.sql:2:1: CREATE INDEX CONCURRENTLY cannot run inside a transaction block");
      expect(run.stderr).toContain('3_syntax/migration.sql:1:1: syntax error: syntax error at or near "SELEC"');
      expect(run.stderr).toContain("4_two/migration.sql:3:1: a -- migrate:no-transaction file holds exactly one statement");
    }
    const json = await migrateJson(["apply", "--database-url", url, "--dir", dir]);
    expect(json.code).toBe(2);
    expect(json.json.error.kind).toBe("MigrationSetError");
    expect(json.json.error.problems).toHaveLength(3);
    expect(json.json.error.problems[1]).toEqual({ file: "3_syntax/migration.sql", line: 1, column: 1, message: 'syntax error: syntax error at or near "SELEC"' });
    expect(await relationExists(url, "ok")).toBe(false);
    expect(await relationExists(url, "migrator.applied_migrations")).toBe(false);
  });
});

describe("what cannot run in a transaction block, checked against PostgreSQL itself", () => {
  // Each statement reaches PostgreSQL's own check (its objects exist), so the server's answer is about the block.
  const SETUP = `CREATE TABLE t (id int PRIMARY KEY, x int); CREATE INDEX t_x ON t (x);
    CREATE TABLE p (id int) PARTITION BY RANGE (id); CREATE TABLE p1 PARTITION OF p FOR VALUES FROM (0) TO (10);`;
  const REFUSED = [
    "CREATE INDEX CONCURRENTLY t_x2 ON t (x)",
    "DROP INDEX CONCURRENTLY t_x",
    "REINDEX INDEX CONCURRENTLY t_x",
    "REINDEX (CONCURRENTLY) TABLE t",
    "VACUUM t",
    "CREATE DATABASE never_made",
    "DROP DATABASE IF EXISTS never_made",
    "ALTER SYSTEM SET work_mem = '8MB'",
    "ALTER TABLE p DETACH PARTITION p1 CONCURRENTLY",
    "CLUSTER",
    "DISCARD ALL",
    "CREATE TABLESPACE never_made LOCATION '/nonexistent'",
    "DROP TABLESPACE IF EXISTS never_made",
    "REINDEX SYSTEM",
  ];
  const ALLOWED = ["CREATE INDEX t_x3 ON t (x)", "REINDEX INDEX t_x", "ANALYZE t", "CLUSTER t USING t_pkey", "DISCARD PLANS", "ALTER TABLE p DETACH PARTITION p1"];

  test("the parser-based classification agrees with the server for every statement", async () => {
    const url = await freshDatabase("plan");
    const db = new URL(url).pathname.slice(1);
    await loadParser();
    const classify = (sql: string) => {
      const parsed = parseStatements(sql);
      if (!("statements" in parsed)) throw new Error(`${sql}: ${parsed.error.message}`);
      return parsed.statements[0]!.nonTransactional;
    };
    const serverSays = await withTestClient(url, async (c) => {
      await c.query(SETUP);
      const answers: Record<string, string> = {};
      for (const sql of [...REFUSED, `ALTER DATABASE ${db} SET TABLESPACE pg_default`, ...ALLOWED]) {
        await c.query("BEGIN");
        answers[sql] = await c.query(sql).then(
          () => "ok",
          (e: { code?: string }) => e.code ?? "?",
        );
        await c.query("ROLLBACK");
      }
      return answers;
    });
    for (const sql of [...REFUSED, `ALTER DATABASE ${db} SET TABLESPACE pg_default`]) {
      expect(serverSays[sql], sql).toBe("25001");
      expect(classify(sql), sql).toBeDefined();
    }
    for (const sql of ALLOWED) {
      expect(serverSays[sql], sql).toBe("ok");
      expect(classify(sql), sql).toBeUndefined();
    }
  });
});

describe("a misspelt directive through the CLI", () => {
  test("apply is exit 2 naming file, line and the directive it probably meant; nothing runs", async () => {
    const url = await freshDatabase("plan");
    const dir = await writeSet([
      { version: "1", name: "t", sql: "CREATE TABLE t (id int);\n" },
      { version: "2", name: "idx", sql: "-- migrate:no_transaction\nCREATE INDEX CONCURRENTLY t_id ON t (id);\n" },
    ]);
    const run = await migrate(["apply", "--database-url", url, "--dir", dir]);
    expect(run.code).toBe(2);
    expect(run.stderr).toContain('2_idx/migration.sql:1: unknown directive "-- migrate:no_transaction"; did you mean "-- migrate:no-transaction"?');
    // Its one statement runs outside a transaction with or without the directive: only the spelling is wrong.
    expect(run.stderr).toMatch(/the migration set has 1 problem; /);
    expect(await relationExists(url, "t")).toBe(false);
  });
});

describe("checksums", () => {
  const LF = "-- users\nCREATE TABLE users (\n  id bigint PRIMARY KEY,\n  name text\n);\n";
  const CRLF = LF.replace(/\n/g, "\r\n");
  const BOM_CRLF = Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), Buffer.from(CRLF)]);

  test("CRLF line endings and a UTF-8 BOM give the same checksum as the plain file", async () => {
    const sums = [];
    for (const sql of [LF, CRLF, BOM_CRLF, Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), Buffer.from(LF)])]) {
      const set = await readMigrationSet(await writeSet([{ version: "1", name: "users", sql }]));
      sums.push(set.files[0]!.checksum);
      expect(set.files[0]!.statements[0]!.line).toBe(2);
    }
    expect(new Set(sums).size).toBe(1);
    expect(sums[0]).toBe(checksumOfText(LF));
    // A real change is a different checksum.
    const edited = await readMigrationSet(await writeSet([{ version: "1", name: "users", sql: LF.replace("name text", "name varchar") }]));
    expect(edited.files[0]!.checksum).not.toBe(sums[0]);
  });

  test("a directive on the first line of a BOM + CRLF file is still read", async () => {
    const text = "-- migrate:no-transaction\r\n-- migrate:lock-timeout 2s\r\nCREATE INDEX CONCURRENTLY t_id ON t (id);\r\n";
    const set = await readMigrationSet(await writeSet([{ version: "1", name: "idx", sql: Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), Buffer.from(text)]) }]));
    expect(set.files[0]).toMatchObject({ transactional: false, lockTimeoutMs: 2000, checksum: checksumOfText(text.replace(/\r\n/g, "\n")) });
    expect(set.files[0]!.statements.map((s) => [s.line, s.sql])).toEqual([[3, "CREATE INDEX CONCURRENTLY t_id ON t (id)"]]);
  });

  test("a file applied with LF and checked out again with CRLF and a BOM is not an edit", async () => {
    const url = await freshDatabase("plan");
    const dir = await writeSet([{ version: "1", name: "users", sql: LF }]);
    expect((await migrate(["apply", "--database-url", url, "--dir", dir, "--quiet"])).code).toBe(0);
    const crlf = await writeSet([{ version: "1", name: "users", sql: BOM_CRLF }]);
    const status = await migrateJson(["status", "--database-url", url, "--dir", crlf]);
    expect(status.code).toBe(0);
    expect(status.json.problems).toEqual([]);
    const again = await migrate(["apply", "--database-url", url, "--dir", crlf]);
    expect(again.code).toBe(0);
    expect(again.stdout).toMatch(/Nothing pending: all 1 migrations are applied/);
    expect((await ledgerRows(url))[0]!.checksum).toBe(checksumOfText(LF));
  });
});

describe("statement locations (property)", () => {
  const SNIPPETS = [
    "SELECT 1",
    "CREATE TABLE t (id int)",
    "INSERT INTO t VALUES ('é😀ß', 'x''y')",
    "SELECT 'a;b' AS \"semi;colon\"",
    "DO $$ BEGIN PERFORM 1; END $$",
    "COMMENT ON TABLE t IS 'ünïcødé\nacross lines'",
    "SELECT\n  1 +\n  2",
  ];
  const GAPS = ["\n", "\n\n", " ", "\n-- a comment; with ; semicolons\n", "\n/* block\n comment ü */\n", "\t\n"];

  test("each statement's line, column and text match where it was written, with any mix of unicode, comments, CRLF and BOM", async () => {
    await loadParser();
    fc.assert(
      fc.property(fc.array(fc.tuple(fc.constantFrom(...SNIPPETS), fc.constantFrom(...GAPS)), { minLength: 1, maxLength: 6 }), fc.constantFrom(...GAPS), (parts, lead) => {
        let text = lead;
        const expected: { line: number; column: number; sql: string }[] = [];
        for (const [sql, gap] of parts) {
          const before = text.split("\n");
          expected.push({ line: before.length, column: before.at(-1)!.length + 1, sql });
          text += `${sql};${gap}`;
        }
        const parsed = parseStatements(text);
        expect("statements" in parsed).toBe(true);
        if (!("statements" in parsed)) return;
        expect(parsed.statements.map((st) => ({ line: st.line, column: st.column, sql: st.sql }))).toEqual(expected);
        // The same file saved on Windows, with a BOM: same checksum, same statements.
        const windows = "\uFEFF" + text.replace(/\n/g, "\r\n");
        expect(checksumOfText(windows)).toBe(checksumOfText(text));
      }),
      { numRuns: 200 },
    );
  });
});

describe("the planner (pure: files and ledger rows in, steps or problems out)", () => {
  const FILES: SetFile[] = [
    { version: "100", name: "one", sql: "CREATE TABLE one (id int);\n" },
    { version: "200", name: "two", sql: `${NO_TX}CREATE INDEX CONCURRENTLY one_id ON one (id);\n` },
    { version: "300", name: "three", sql: "CREATE TABLE three (id int);\nCREATE TABLE four (id int);\n" },
  ];
  let set: MigrationSet;

  const row = (version: string, overrides: Partial<LedgerRow> = {}): LedgerRow => {
    const file = set.files.find((f) => f.version === version);
    const name = overrides.name ?? file?.name ?? "gone";
    return {
      folder: `${version}_${name}`,
      version,
      name,
      checksum: file?.checksum ?? "0".repeat(64),
      transactional: file?.transactional ?? true,
      status: "applied",
      appliedAt: new Date("2026-01-01T00:00:00Z"),
      durationMs: 5,
      appliedBy: "postgres",
      clientAddr: null,
      ...overrides,
    };
  };
  const conflicts = (fn: () => unknown): Problem[] => {
    try {
      fn();
    } catch (error) {
      expect(error).toBeInstanceOf(LedgerConflictError);
      return (error as LedgerConflictError).problems;
    }
    throw new Error("expected the planner to refuse");
  };

  test("an empty ledger plans every file in order, each in its transaction mode", async () => {
    set = await readMigrationSet(await writeSet(FILES));
    const planned = plan(set, []);
    expect(planned.steps.map((s) => [s.action, s.file.version, s.file.transactional])).toEqual([
      ["apply", "100", true],
      ["apply", "200", false],
      ["apply", "300", true],
    ]);
    expect(plan(set, [row("100"), row("200")]).steps.map((s) => s.file.version)).toEqual(["300"]);
    expect(plan(set, [row("100"), row("200"), row("300")]).steps).toEqual([]);
  });

  test("an applied file whose checksum changed stops the plan, naming the file and the remedy", () => {
    const problems = conflicts(() => plan(set, [row("100", { checksum: "f".repeat(64) })]));
    expect(problems).toEqual([
      { file: "100_one/migration.sql", message: expect.stringMatching(/was edited after it was applied .*ffffffffffff… in the ledger.*write a new migration/) },
    ]);
  });

  test("an applied version with no file is refused unless ignoreUnknown", () => {
    const ledger = [row("100"), row("150", { name: "removed" })];
    expect(conflicts(() => plan(set, ledger))).toEqual([{ file: "150_removed", message: expect.stringMatching(/no such migration is in the set.*--ignore-unknown/) }]);
    const planned = plan(set, ledger, { ignoreUnknown: true });
    expect(planned.unknown.map((r) => r.version)).toEqual(["150"]);
    expect(planned.steps.map((s) => s.file.version)).toEqual(["200", "300"]);
  });

  test("a new file ordered before an applied one is refused unless allowOutOfOrder", () => {
    const problems = conflicts(() => plan(set, [row("100"), row("300")]));
    expect(problems).toEqual([
      { file: "200_two/migration.sql", message: expect.stringMatching(/sorts before 300_three, which is already applied.*--allow-out-of-order/) },
    ]);
    expect(plan(set, [row("100"), row("300")], { allowOutOfOrder: true }).steps.map((s) => s.file.version)).toEqual(["200"]);
  });

  test("every disagreement is reported together", () => {
    const problems = conflicts(() => plan(set, [row("100", { checksum: "e".repeat(64) }), row("300"), row("999")]));
    expect(problems.map((p) => p.file)).toEqual(["100_one/migration.sql", "999_gone", "200_two/migration.sql"]);
  });

  test("baseline records files up to the version, applies the rest", () => {
    const planned = plan(set, [], { baseline: "200" });
    expect(planned.steps.map((s) => `${s.action} ${s.file.version}`)).toEqual(["baseline 100", "baseline 200", "apply 300"]);
    expect(plan(set, [], { baseline: "200_two" }).steps.map((s) => s.action)).toEqual(["baseline", "baseline", "apply"]);
    expect(() => plan(set, [], { baseline: "250" })).toThrow(UsageError);
  });

  test("only picks one file, refuses when earlier ones are pending, and checks the expected checksum", () => {
    const two = set.files[1]!;
    expect(plan(set, [row("100")], { only: "200", expectChecksum: two.checksum }).steps.map((s) => s.file.version)).toEqual(["200"]);
    expect(plan(set, [row("100"), row("200")], { only: "200" }).steps).toEqual([]);
    expect(conflicts(() => plan(set, [], { only: "200" }))[0]!.message).toMatch(/cannot run alone: 1 earlier migration is still pending \(100_one\)/);
    expect(() => plan(set, [row("100")], { only: "200", expectChecksum: "a".repeat(64) })).toThrow(/has checksum .* but aaaaaaaaaaaa… was expected/);
    expect(() => plan(set, [], { only: "400" })).toThrow(/--only 400: no migration has that version/);
  });

  test("a file left 'started' by an interrupted run is planned again as a resume, unless it was edited since", () => {
    const planned = plan(set, [row("100"), row("200", { status: "started" })]);
    expect(planned.steps[0]).toMatchObject({ action: "apply", resumed: true, file: { version: "200" } });
    expect(planned.steps[1]).toMatchObject({ action: "apply", resumed: false, file: { version: "300" } });
    const edited = plan(set, [row("100"), row("200", { status: "started", checksum: "c".repeat(64) })]);
    expect(edited.steps[0]).toMatchObject({ action: "apply", resumed: false, file: { version: "200" } });
  });
});

describe("plan against a database", () => {
  test("lists the pending files in folder-name order with transaction mode and statement count, and runs nothing", async () => {
    const url = await freshDatabase("plan");
    // Written out of order on purpose: the order comes from the folder names, not from the disk.
    const dir = await writeSet([
      { version: "20260103000000", name: "index", sql: `${NO_TX}SET maintenance_work_mem = '32MB';\nCREATE INDEX CONCURRENTLY users_name ON users (name);\n` },
      { version: "20260101000000", name: "users", sql: "CREATE TABLE users (id int);\nALTER TABLE users ADD COLUMN name text;\n" },
      { version: "20260102000000", name: "seed", sql: "INSERT INTO users VALUES (1, 'a');\n" },
    ]);
    const run = await migrateJson(["plan", "--database-url", url, "--dir", dir]);
    expect(run.code).toBe(0);
    expect(run.json.database).toMatch(/^postgres@127\.0\.0\.1:\d+\/plan_/);
    expect(run.json.steps).toEqual([
      {
        folder: "20260101000000_users",
        version: "20260101000000",
        name: "users",
        file: "20260101000000_users/migration.sql",
        action: "apply",
        transactional: true,
        mode: "transaction",
        statements: 2,
        resumes: false,
      },
      {
        folder: "20260102000000_seed",
        version: "20260102000000",
        name: "seed",
        file: "20260102000000_seed/migration.sql",
        action: "apply",
        transactional: true,
        mode: "transaction",
        statements: 1,
        resumes: false,
      },
      {
        folder: "20260103000000_index",
        version: "20260103000000",
        name: "index",
        file: "20260103000000_index/migration.sql",
        action: "apply",
        transactional: false,
        mode: "no-transaction",
        statements: 2,
        resumes: false,
      },
    ]);
    expect(await relationExists(url, "users")).toBe(false);
    expect(await relationExists(url, "migrator.applied_migrations")).toBe(false);

    const text = await migrate(["plan", "--database-url", url, "--dir", dir]);
    expect(text.code).toBe(0);
    expect(text.stdout.split("\n").filter((l) => /^\s+\d\. apply/.test(l))).toHaveLength(3);
    expect(text.stdout).toMatch(/1\. apply\s+20260101000000_users\s+transaction\s+2 statements/);
    expect(text.stdout).toMatch(/3\. apply\s+20260103000000_index\s+no-transaction\s+2 statements/);

    const baseline = await migrateJson(["plan", "--database-url", url, "--dir", dir, "--baseline", "20260101000000"]);
    expect(baseline.json.steps.map((s: { action: string }) => s.action)).toEqual(["baseline", "apply", "apply"]);

    expect((await migrate(["apply", "--database-url", url, "--dir", dir, "--quiet"])).code).toBe(0);
    const after = await migrateJson(["plan", "--database-url", url, "--dir", dir]);
    expect(after.json.steps).toEqual([]);
    expect((await migrate(["plan", "--database-url", url, "--dir", dir])).stdout).toMatch(/^Nothing pending on /);
  });

  test("plan exits 1 when the database disagrees with the files", async () => {
    const url = await freshDatabase("plan");
    const dir = await writeSet([{ version: "1", name: "a", sql: "CREATE TABLE a (id int);\n" }]);
    expect((await migrate(["apply", "--database-url", url, "--dir", dir, "--quiet"])).code).toBe(0);
    const edited = await writeSet([{ version: "1", name: "a", sql: "CREATE TABLE a (id bigint);\n" }]);
    const run = await migrate(["plan", "--database-url", url, "--dir", edited]);
    expect(run.code).toBe(1);
    expect(printed(run)).toMatch(/1_a\/migration\.sql: was edited after it was applied/);
  });
});
