/**
 * apply on a real PostgreSQL: order, both transaction modes, what the ledger records, a failing
 * file rolled back and the rerun, and every way the database can disagree with the files.
 * Assertions read the database itself (ledger rows, tables, settings captured by the files).
 */
import { rm } from "node:fs/promises";
import path from "node:path";
import { afterAll, describe, expect, test } from "vitest";
import { migrate, migrateJson, printed } from "./support/cli.js";
import { freshDatabase } from "./support/database.js";
import { ledgerRows, query, relationExists } from "./support/migrator-db.js";
import { checksumOfText, folderOf, removeSets, writeMigration, writeSet, type SetFile } from "./support/sets.js";

afterAll(removeSets);

const NO_TX = "-- migrate:no-transaction\n";

async function apply(url: string, dir: string, ...extra: string[]) {
  return migrate(["apply", "--database-url", url, "--dir", dir, ...extra]);
}

describe("applying a set", () => {
  test("files run in version order, each in its transaction mode, and the ledger records each one", async () => {
    const url = await freshDatabase("apply");
    const files: SetFile[] = [
      { version: "3", name: "index", sql: `${NO_TX}CREATE INDEX CONCURRENTLY items_name ON items (name);\n` },
      {
        version: "1",
        name: "items",
        sql: "CREATE TABLE log (seq serial, version text);\nCREATE TABLE items (id int PRIMARY KEY, name text);\nINSERT INTO log (version) VALUES ('1');\n",
      },
      { version: "2", name: "seed", sql: "INSERT INTO items VALUES (1, 'a'), (2, 'b');\nINSERT INTO log (version) VALUES ('2');\n" },
      { version: "4", name: "tail", sql: "INSERT INTO log (version) VALUES ('4');\n" },
    ];
    const dir = await writeSet(files);
    const run = await apply(url, dir);
    expect(run.code, printed(run)).toBe(0);
    expect(run.stdout).toMatch(/applied\s+1_items\s+transaction\s+\d+ ms/);
    expect(run.stdout).toMatch(/applied\s+3_index\s+no-transaction\s+\d+ ms/);
    expect(run.stdout).toMatch(/Applied 4 migrations in \d+ ms; 0 were already applied\./);

    expect((await query(url, "SELECT version FROM log ORDER BY seq")).map((r) => r.version)).toEqual(["1", "2", "4"]);
    expect(await query(url, "SELECT indisvalid FROM pg_index WHERE indexrelid = 'items_name'::regclass")).toEqual([{ indisvalid: true }]);

    const rows = await ledgerRows(url);
    expect(rows.map((r) => [r.version, r.name, r.transactional, r.status, r.applied_by])).toEqual([
      ["1", "items", true, "applied", "postgres"],
      ["2", "seed", true, "applied", "postgres"],
      ["3", "index", false, "applied", "postgres"],
      ["4", "tail", true, "applied", "postgres"],
    ]);
    for (const r of rows) {
      expect(r.checksum).toBe(checksumOfText(files.find((f) => f.version === r.version)!.sql as string));
      expect(Number.isInteger(r.duration_ms) && r.duration_ms! >= 0).toBe(true);
      expect(r.applied_at).toBeInstanceOf(Date);
    }
    // The ledger is the migrator's: no rights for PUBLIC.
    expect(await query(url, "SELECT has_table_privilege('public', 'migrator.applied_migrations', 'SELECT') AS p")).toEqual([{ p: false }]);

    const again = await apply(url, dir);
    expect(again.code).toBe(0);
    expect(again.stdout).toMatch(/Nothing pending: all 4 migrations are applied/);
    expect((await query(url, "SELECT count(*)::int AS n FROM log"))[0].n).toBe(3);
  });

  test("a transactional file runs in one transaction with its ledger row; a no-transaction file runs its SETs and statement in autocommit", async () => {
    const url = await freshDatabase("apply");
    const dir = await writeSet([
      {
        version: "1",
        name: "tx",
        sql: "CREATE TABLE seen (file text, xid bigint, work_mem text);\nINSERT INTO seen SELECT 'tx', txid_current(), current_setting('work_mem');\nINSERT INTO seen SELECT 'tx-later', txid_current(), current_setting('work_mem');\n",
      },
      { version: "2", name: "notx", sql: `${NO_TX}SET work_mem = '7MB';\nINSERT INTO seen SELECT 'notx', txid_current(), current_setting('work_mem');\n` },
      { version: "3", name: "after", sql: "INSERT INTO seen SELECT 'after', txid_current(), current_setting('work_mem');\n" },
    ]);
    const run = await apply(url, dir);
    expect(run.code, printed(run)).toBe(0);
    const seen = Object.fromEntries((await query(url, "SELECT file, xid::text, work_mem FROM seen")).map((r) => [r.file, r]));
    const ledgerXids = Object.fromEntries((await query(url, "SELECT version, xmin::text AS xid FROM migrator.applied_migrations")).map((r) => [r.version, r.xid]));
    // One transaction for the whole file, and the ledger row was written by that same transaction.
    expect(seen["tx-later"].xid).toBe(seen["tx"].xid);
    expect(ledgerXids["1"]).toBe(seen["tx"].xid);
    expect(ledgerXids["3"]).toBe(seen["after"].xid);
    // The no-transaction file's statement committed on its own, apart from its ledger row.
    expect(ledgerXids["2"]).not.toBe(seen["notx"].xid);
    expect(seen["notx"].work_mem).toBe("7MB");
    // A session SET of one file must not leak into the next.
    expect(seen["after"].work_mem).toBe(seen["tx"].work_mem);
    expect(seen["after"].work_mem).not.toBe("7MB");
  });

  test("a file may SET ROLE to an owner role: its objects belong to that role, its ledger row and the next file do not", async () => {
    const url = await freshDatabase("apply");
    const owner = `owner_${new URL(url).pathname.slice(-12)}`;
    await query(url, `CREATE ROLE ${owner} NOLOGIN; GRANT CREATE ON SCHEMA public TO ${owner};`);
    const dir = await writeSet([
      { version: "1", name: "owned", sql: `SET ROLE ${owner};\nCREATE TABLE owned (id int);\n` },
      { version: "2", name: "next", sql: "CREATE TABLE who_next AS SELECT current_user::text AS u;\n" },
      { version: "3", name: "owned_index", sql: `${NO_TX}SET ROLE ${owner};\nCREATE INDEX CONCURRENTLY owned_id ON owned (id);\n` },
      { version: "4", name: "after_index", sql: "CREATE TABLE who_after AS SELECT current_user::text AS u;\n" },
    ]);
    const run = await apply(url, dir);
    expect(run.code, printed(run)).toBe(0);
    expect(
      await query(
        url,
        "SELECT relname, pg_get_userbyid(relowner) AS owner FROM pg_class WHERE relname IN ('owned', 'owned_id', 'who_next', 'who_after') ORDER BY relname",
      ),
    ).toEqual([
      { relname: "owned", owner },
      { relname: "owned_id", owner },
      { relname: "who_after", owner: "postgres" },
      { relname: "who_next", owner: "postgres" },
    ]);
    expect((await ledgerRows(url)).map((r) => `${r.version}:${r.applied_by}`)).toEqual(["1:postgres", "2:postgres", "3:postgres", "4:postgres"]);
  });

  test("lock_timeout and statement_timeout: flags set the default, a file's directives win", async () => {
    const url = await freshDatabase("apply");
    const dir = await writeSet([
      {
        version: "1",
        name: "defaults",
        sql: "CREATE TABLE timeouts (file text, lock_timeout text, statement_timeout text);\nINSERT INTO timeouts SELECT 'defaults', current_setting('lock_timeout'), current_setting('statement_timeout');\n",
      },
      {
        version: "2",
        name: "own",
        sql: "-- migrate:lock-timeout 2s\n-- migrate:statement-timeout 30min\nINSERT INTO timeouts SELECT 'own', current_setting('lock_timeout'), current_setting('statement_timeout');\n",
      },
      {
        version: "3",
        name: "own_notx",
        sql: `-- why: a long build\n${NO_TX}-- migrate:lock-timeout 750ms\nINSERT INTO timeouts SELECT 'own_notx', current_setting('lock_timeout'), current_setting('statement_timeout');\n`,
      },
    ]);
    const run = await apply(url, dir, "--lock-timeout", "3s", "--statement-timeout", "1min");
    expect(run.code, printed(run)).toBe(0);
    expect(await query(url, "SELECT * FROM timeouts ORDER BY file")).toEqual([
      { file: "defaults", lock_timeout: "3s", statement_timeout: "1min" },
      { file: "own", lock_timeout: "2s", statement_timeout: "30min" },
      { file: "own_notx", lock_timeout: "750ms", statement_timeout: "1min" },
    ]);
  });

  test("a file's statement_timeout stops a statement that runs too long; the file is rolled back, neither retried nor replayed", async () => {
    const url = await freshDatabase("apply");
    // nextval is not transactional: the sequence counts how many times the file really ran.
    await query(url, "CREATE SEQUENCE runs");
    const dir = await writeSet([
      { version: "1", name: "slow", sql: "-- migrate:statement-timeout 100ms\nCREATE TABLE slow (id int);\nSELECT nextval('runs');\nSELECT pg_sleep(30);\n" },
      { version: "2", name: "slow_alone", sql: "-- migrate:statement-timeout 100ms\n-- migrate:lock-timeout 1s\nSELECT nextval('runs'), pg_sleep(30);\n" },
    ]);
    const run = await migrateJson(["apply", "--database-url", url, "--dir", dir]);
    expect(run.code).toBe(1);
    expect(run.json.error).toMatchObject({ file: "1_slow/migration.sql", sqlState: "57014" });
    expect(run.stderr).toMatch(/canceling statement due to statement timeout/);
    expect(run.stderr).toMatch(/one of its 3 statements ran past statement_timeout.*not run again/s);
    expect(run.stderr).not.toMatch(/lock wait/);
    expect(await query(url, "SELECT last_value::int AS n FROM runs")).toEqual([{ n: 1 }]);
    expect(await relationExists(url, "slow")).toBe(false);
    expect(await ledgerRows(url)).toEqual([]);

    // A file of one statement names it, still without running it twice.
    await rm(path.join(dir, folderOf({ version: "1", name: "slow" })), { recursive: true });
    const alone = await migrateJson(["apply", "--database-url", url, "--dir", dir]);
    expect(alone.code).toBe(1);
    expect(alone.json.error).toMatchObject({ file: "2_slow_alone/migration.sql", line: 3, sqlState: "57014" });
    expect(await query(url, "SELECT last_value::int AS n FROM runs")).toEqual([{ n: 2 }]);
  });

  test("without flags each file gets lock_timeout 5s and no statement_timeout", async () => {
    const url = await freshDatabase("apply");
    const dir = await writeSet([
      { version: "1", name: "defaults", sql: "CREATE TABLE t AS SELECT current_setting('lock_timeout') AS l, current_setting('statement_timeout') AS s;\n" },
    ]);
    expect((await apply(url, dir)).code).toBe(0);
    expect(await query(url, "SELECT * FROM t")).toEqual([{ l: "5s", s: "0" }]);
  });
});

describe("a failing file", () => {
  test("a failing transactional file is rolled back whole, the files before it stay applied, and the rerun continues from it", async () => {
    const url = await freshDatabase("apply");
    const files: SetFile[] = [
      { version: "1", name: "users", sql: "CREATE TABLE users (id int PRIMARY KEY, email text);\nINSERT INTO users VALUES (1, 'a@x'), (2, 'a@x');\n" },
      { version: "2", name: "unique_email", sql: "CREATE TABLE audit (id int);\n\nALTER TABLE users\n  ADD CONSTRAINT users_email_key UNIQUE (email);\n" },
      { version: "3", name: "later", sql: "CREATE TABLE later (id int);\n" },
    ];
    const dir = await writeSet(files);
    const run = await apply(url, dir);
    expect(run.code).toBe(1);
    expect(run.stderr).toMatch(/error: 2_unique_email\/migration\.sql:3: could not create unique index "users_email_key" \(SQLSTATE 23505\)/);
    expect(run.stderr).toMatch(/detail: Key \(email\)=\(a@x\) is duplicated\./);
    expect(run.stderr).toMatch(/the file was rolled back as a whole; nothing of it is applied/);
    expect(run.stderr).toMatch(/fix the migration \(it has not been applied, so editing it is fine\) and run again/);
    expect(run.stdout).toMatch(/Applied 1 migration before a failure\./);
    expect(run.stdout).not.toMatch(/applied\s+2_unique_email/);

    expect(await relationExists(url, "users")).toBe(true);
    expect(await relationExists(url, "audit")).toBe(false);
    expect(await relationExists(url, "later")).toBe(false);
    expect((await ledgerRows(url)).map((r) => r.version)).toEqual(["1"]);

    // The fix: the file was never applied, so editing it is allowed.
    await writeMigration(dir, {
      ...files[1]!,
      sql: "CREATE TABLE audit (id int);\nDELETE FROM users WHERE id = 2;\nALTER TABLE users ADD CONSTRAINT users_email_key UNIQUE (email);\n",
    });
    const rerun = await apply(url, dir);
    expect(rerun.code, printed(rerun)).toBe(0);
    // The folder as given (absolute here, wherever the command runs), then in version order: what was applied before (one line for all of them), then what this run applied.
    expect(rerun.stdout.startsWith(`Applying ${dir} to `)).toBe(true);
    expect(rerun.stdout).toMatch(/already\s+1 file, 1_users \(--verbose lists them\)\n\s+applied\s+2_unique_email[^\n]*\n\s+applied\s+3_later/);
    expect(rerun.stdout).toMatch(/Applied 2 migrations in .*; 1 was already applied\./);
    expect((await ledgerRows(url)).map((r) => `${r.version}:${r.status}`)).toEqual(["1:applied", "2:applied", "3:applied"]);
    expect(await relationExists(url, "audit")).toBe(true);
  });

  test("the error points at the line and column of the failing token inside a multi-line statement", async () => {
    const url = await freshDatabase("apply");
    const dir = await writeSet([{ version: "1", name: "bad_column", sql: "-- header\nCREATE TABLE t (id int);\nSELECT id,\n       nope\n  FROM t;\n" }]);
    const run = await migrateJson(["apply", "--database-url", url, "--dir", dir]);
    expect(run.code).toBe(1);
    expect(run.stderr).toContain('1_bad_column/migration.sql:4:8: column "nope" does not exist (SQLSTATE 42703)');
    expect(run.json.error).toMatchObject({ kind: "MigrationFailedError", message: expect.stringContaining("1_bad_column/migration.sql:4:8") });
    expect(run.json.results).toEqual([]);
    expect(await relationExists(url, "t")).toBe(false);
  });

  test("the column stays right after emoji and accents before the failing token", async () => {
    const url = await freshDatabase("apply");
    const dir = await writeSet([{ version: "1", name: "emoji", sql: "-- x\nSELECT '😀é😀', nope;\n" }]);
    const run = await migrate(["apply", "--database-url", url, "--dir", dir]);
    expect(run.code).toBe(1);
    expect(run.stderr).toContain('1_emoji/migration.sql:2:17: column "nope" does not exist');
  });

  test("a failing no-transaction file records nothing, and succeeds on the rerun once fixed", async () => {
    const url = await freshDatabase("apply");
    const files: SetFile[] = [
      { version: "1", name: "t", sql: "CREATE TABLE t (id int);\n" },
      { version: "2", name: "idx", sql: `${NO_TX}SET maintenance_work_mem = '16MB';\nCREATE INDEX CONCURRENTLY t_missing ON t (missing);\n` },
    ];
    const dir = await writeSet(files);
    const run = await apply(url, dir);
    expect(run.code).toBe(1);
    expect(run.stderr).toMatch(/2_idx\/migration\.sql:3: column "missing" does not exist \(SQLSTATE 42703\)/);
    expect(run.stderr).toMatch(/this file ran outside a transaction; it is not recorded as applied/);
    expect((await ledgerRows(url)).map((r) => r.version)).toEqual(["1"]);
    expect(await relationExists(url, "t_missing")).toBe(false);

    await writeMigration(dir, { ...files[1]!, sql: `${NO_TX}SET maintenance_work_mem = '16MB';\nCREATE INDEX CONCURRENTLY t_id ON t (id);\n` });
    expect((await apply(url, dir)).code).toBe(0);
    expect((await ledgerRows(url)).map((r) => `${r.version}:${r.status}:${r.transactional}`)).toEqual(["1:applied:true", "2:applied:false"]);
  });
});

describe("when the database disagrees with the files", () => {
  const base: SetFile[] = [
    { version: "10", name: "a", sql: "CREATE TABLE a (id int);\n" },
    { version: "20", name: "b", sql: "CREATE TABLE b (id int);\n" },
  ];

  test("an edited applied file stops apply before anything runs, naming the file and the remedy", async () => {
    const url = await freshDatabase("apply");
    const dir = await writeSet(base);
    expect((await apply(url, dir)).code).toBe(0);
    await writeMigration(dir, { ...base[0]!, sql: "CREATE TABLE a (id bigint);\n" });
    await writeMigration(dir, { version: "30", name: "c", sql: "CREATE TABLE c (id int);\n" });
    const run = await apply(url, dir);
    expect(run.code).toBe(1);
    expect(run.stderr).toMatch(/the database disagrees with the migration files; nothing was applied/);
    expect(run.stderr).toMatch(/10_a\/migration\.sql: was edited after it was applied .*restore the file as it was and write a new migration/);
    expect(await relationExists(url, "c")).toBe(false);
    expect((await ledgerRows(url)).map((r) => r.version)).toEqual(["10", "20"]);

    const status = await migrateJson(["status", "--database-url", url, "--dir", dir]);
    expect(status.code).toBe(1);
    expect(status.json.problems).toEqual([{ file: "10_a/migration.sql", message: expect.stringMatching(/was edited/) }]);
  });

  test("an applied version with no file is refused; --ignore-unknown applies the rest", async () => {
    const url = await freshDatabase("apply");
    const dir = await writeSet(base);
    expect((await apply(url, dir)).code).toBe(0);
    await rm(path.join(dir, folderOf(base[1]!)), { recursive: true });
    await writeMigration(dir, { version: "30", name: "c", sql: "CREATE TABLE c (id int);\n" });
    const run = await apply(url, dir);
    expect(run.code).toBe(1);
    expect(run.stderr).toMatch(
      /20_b: is recorded in the database as applied but no such migration is in the set \(a renamed folder counts as removed\); .*--ignore-unknown/,
    );
    expect(await relationExists(url, "c")).toBe(false);

    const tolerated = await apply(url, dir, "--ignore-unknown");
    expect(tolerated.code, printed(tolerated)).toBe(0);
    expect(await relationExists(url, "c")).toBe(true);
    expect((await ledgerRows(url)).map((r) => r.version)).toEqual(["10", "20", "30"]);
  });

  test("a new file ordered before an applied one is refused; --allow-out-of-order runs it", async () => {
    const url = await freshDatabase("apply");
    const dir = await writeSet(base);
    expect((await apply(url, dir)).code).toBe(0);
    await writeMigration(dir, { version: "15", name: "between", sql: "CREATE TABLE between_ab (id int);\n" });
    const run = await apply(url, dir);
    expect(run.code).toBe(1);
    expect(run.stderr).toMatch(/15_between\/migration\.sql: is new but sorts before 20_b, which is already applied/);
    expect(await relationExists(url, "between_ab")).toBe(false);

    const allowed = await apply(url, dir, "--allow-out-of-order");
    expect(allowed.code, printed(allowed)).toBe(0);
    expect((await ledgerRows(url)).map((r) => r.version)).toEqual(["10", "15", "20"]);
  });
});

describe("baseline", () => {
  test("records the files up to the version as baselined without running them, then applies the rest", async () => {
    const url = await freshDatabase("apply");
    // A database that already has the schema of the first two files, made by hand long ago.
    await query(url, "CREATE TABLE a (id int); CREATE TABLE b (id int);");
    const dir = await writeSet([
      { version: "0", name: "init", sql: "CREATE TABLE a (id int);\n" },
      { version: "1", name: "b", sql: "CREATE TABLE b (id int);\n" },
      { version: "2", name: "c", sql: "CREATE TABLE c (id int);\n" },
    ]);
    const plain = await apply(url, dir);
    expect(plain.code).toBe(1);
    expect(plain.stderr).toMatch(/0_init\/migration\.sql:1: relation "a" already exists \(SQLSTATE 42P07\)/);

    const run = await apply(url, dir, "--baseline", "1");
    expect(run.code, printed(run)).toBe(0);
    expect(run.stdout).toMatch(/baselined\s+0_init\s+transaction\s+\(recorded, not run\)/);
    expect(run.stdout).toMatch(/Applied 1 migration, baselined 2 in/);
    const rows = await ledgerRows(url);
    expect(rows.map((r) => `${r.version}:${r.status}`)).toEqual(["0:baselined", "1:baselined", "2:applied"]);
    expect(rows[0]!.duration_ms).toBeNull();
    expect(await relationExists(url, "c")).toBe(true);

    // Nothing pending: one summary line that names the folder as given and the last file; --verbose lists every file.
    const again = await apply(url, dir);
    expect(again.code).toBe(0);
    expect(again.stdout.trim().split("\n")).toEqual([
      expect.stringMatching(new RegExp(`^Nothing pending: all 3 migrations are applied \\(${dir} on .+; the last is 2_c\\)\\.$`)),
    ]);
    const verbose = await apply(url, dir, "--verbose");
    expect(verbose.code).toBe(0);
    expect(verbose.stdout).toMatch(/baselined\s+0_init[^\n]*\n\s+baselined\s+1_b[^\n]*\n\s+already\s+2_c/);
    expect(again.stdout).toMatch(/Nothing pending: all 3 migrations are applied/);
  });

  test("an unknown baseline version is bad usage with the versions listed", async () => {
    const url = await freshDatabase("apply");
    const dir = await writeSet([{ version: "0", name: "init", sql: "SELECT 1;\n" }]);
    const run = await apply(url, dir, "--baseline", "7");
    expect(run.code).toBe(2);
    expect(run.stderr).toMatch(/--baseline 7: no migration has that version or folder name \(folders: 0_init\)/);
    expect(await ledgerRows(url)).toEqual([]);
  });
});

describe("--only VERSION --expect-checksum SHA (what each Pulumi command runs)", () => {
  const files: SetFile[] = [
    { version: "1", name: "a", sql: "CREATE TABLE a (id int);\n" },
    { version: "2", name: "b", sql: "CREATE TABLE b (id int);\n" },
    { version: "3", name: "c", sql: `${NO_TX}CREATE INDEX CONCURRENTLY b_id ON b (id);\n` },
  ];
  const sha = (i: number) => checksumOfText(files[i]!.sql as string);

  test("applies exactly that one file, is a no-op once applied, and refuses a wrong checksum or a gap", async () => {
    const url = await freshDatabase("only");
    const dir = await writeSet(files);

    const gap = await apply(url, dir, "--only", "2", "--expect-checksum", sha(1));
    expect(gap.code).toBe(1);
    expect(gap.stderr).toMatch(/2_b\/migration\.sql: cannot run alone: 1 earlier migration is still pending \(1_a\); apply them first/);
    expect(await ledgerRows(url)).toEqual([]);

    const first = await migrateJson(["apply", "--database-url", url, "--dir", dir, "--only", "1", "--expect-checksum", sha(0)]);
    expect(first.code).toBe(0);
    expect(first.json.results.map((r: { version: string }) => r.version)).toEqual(["1"]);
    expect((await ledgerRows(url)).map((r) => r.version)).toEqual(["1"]);
    expect(await relationExists(url, "b")).toBe(false);
    const again = await apply(url, dir, "--only", "1");
    expect(again.code).toBe(0);
    expect(again.stdout).toMatch(/Nothing to apply in this run; 1 applied, 2 still pending\./);

    const wrong = await apply(url, dir, "--only", "2", "--expect-checksum", sha(0));
    expect(wrong.code).toBe(2);
    expect(wrong.stderr).toMatch(
      new RegExp(`--only 2: 2_b/migration\\.sql has checksum ${sha(1).slice(0, 12)}… but ${sha(0).slice(0, 12)}… was expected; the file changed since it was planned`),
    );
    expect(await relationExists(url, "b")).toBe(false);

    const second = await apply(url, dir, "--only", "2_b", "--expect-checksum", sha(1));
    expect(second.code).toBe(0);
    expect(second.stdout).toMatch(/Applied 1 migration in \d+ ms; 1 was already applied; 1 still pending\./);
    expect((await apply(url, dir, "--only", "3", "--expect-checksum", sha(2))).code).toBe(0);
    expect((await ledgerRows(url)).map((r) => `${r.version}:${r.transactional}`)).toEqual(["1:true", "2:true", "3:false"]);

    // Pulumi re-running a command whose file is applied: nothing to do, exit 0.
    const noop = await migrateJson(["apply", "--database-url", url, "--dir", dir, "--only", "1", "--expect-checksum", sha(0)]);
    expect(noop.code).toBe(0);
    expect(noop.json.results).toEqual([]);
  });

  test("--expect-checksum needs --only and a sha256; --only and --baseline do not mix", async () => {
    const dir = await writeSet(files);
    const url = await freshDatabase("only");
    for (const [argv, message] of [
      [["--expect-checksum", sha(0)], /--expect-checksum goes with --only VERSION/],
      [["--only", "1", "--expect-checksum", "abc"], /--expect-checksum takes a sha256 in hex/],
      [["--only", "1", "--baseline", "1"], /--baseline and --only cannot be combined/],
      [["--only", "9"], /--only 9: no migration has that version or folder name \(folders: 1_\w+, 2_\w+, 3_\w+\)/],
    ] as const) {
      const run = await apply(url, dir, ...argv);
      expect(run.code, argv.join(" ")).toBe(2);
      expect(run.stderr).toMatch(message);
    }
    expect(await ledgerRows(url)).toEqual([]);
  });
});

describe("the ledger", () => {
  test("duration_ms is how long the file ran, in both transaction modes", async () => {
    const url = await freshDatabase("ledger");
    const dir = await writeSet([
      { version: "1", name: "tx", sql: "SELECT pg_sleep(0.2);\nSELECT 1;\n" },
      { version: "2", name: "notx", sql: `${NO_TX}SELECT pg_sleep(0.2);\n` },
      { version: "3", name: "quick", sql: "SELECT 1;\n" },
    ]);
    const run = await migrateJson(["apply", "--database-url", url, "--dir", dir]);
    expect(run.code, printed(run)).toBe(0);
    // Lower bounds only: a slow machine makes a file slower, never faster than its sleep.
    const rows = await ledgerRows(url);
    expect(rows[0]!.duration_ms).toBeGreaterThanOrEqual(200);
    expect(rows[1]!.duration_ms).toBeGreaterThanOrEqual(200);
    expect(rows[2]!.duration_ms).toBeGreaterThanOrEqual(0);
    expect(run.json.results.slice(0, 2).map((r: { durationMs: number }) => r.durationMs >= 200)).toEqual([true, true]);
  });

  test("a second role with rights on an existing ledger can apply; a role that cannot create it is told why", async () => {
    const url = await freshDatabase("ledger");
    const database = new URL(url).pathname.slice(1);
    const suffix = database.slice(-12);
    const [creator, second] = [`creator_${suffix}`, `second_${suffix}`];
    // The second role may not create schemas in this database, like an admin role meant for operations only.
    await query(
      url,
      `CREATE ROLE ${creator} LOGIN PASSWORD 'creator-pw'; CREATE ROLE ${second} LOGIN PASSWORD 'second-pw';
      GRANT CREATE ON DATABASE ${database} TO ${creator}; GRANT CREATE ON SCHEMA public TO ${creator}, ${second};`,
    );
    const as = (role: string, password: string) => Object.assign(new URL(url), { username: role, password }).toString();
    const dir = await writeSet([
      { version: "1", name: "a", sql: "CREATE TABLE a (id int);\n" },
      { version: "2", name: "b", sql: "CREATE TABLE b (id int);\n" },
    ]);

    const refused = await apply(as(second, "second-pw"), dir);
    expect(refused.code).toBe(1);
    expect(refused.stderr).toMatch(
      /creating the ledger migrator\.applied_migrations failed: permission denied for database .*; the migrating role needs CREATE on the database/,
    );

    expect((await apply(as(creator, "creator-pw"), dir, "--only", "1")).code).toBe(0);
    await query(url, `GRANT USAGE ON SCHEMA migrator TO ${second}; GRANT SELECT, INSERT, UPDATE, DELETE ON migrator.applied_migrations TO ${second};`);
    const run = await apply(as(second, "second-pw"), dir);
    expect(run.code, printed(run)).toBe(0);
    expect((await ledgerRows(url)).map((r) => `${r.version}:${r.applied_by}`)).toEqual([`1:${creator}`, `2:${second}`]);
  });

  test("applied_by is the role that applied the file; another ledger location keeps a separate history", async () => {
    const url = await freshDatabase("ledger");
    const database = new URL(url).pathname.slice(1);
    const role = `deployer_${database.slice(-12)}`;
    await query(url, `CREATE ROLE ${role} LOGIN PASSWORD 'deployer-pw-1'; GRANT CREATE ON DATABASE ${database} TO ${role}; GRANT CREATE ON SCHEMA public TO ${role};`);
    const asDeployer = new URL(url);
    asDeployer.username = role;
    asDeployer.password = "deployer-pw-1";
    const dir = await writeSet([
      { version: "1", name: "a", sql: "CREATE TABLE a (id int);\n" },
      { version: "2", name: "b", sql: `${NO_TX}CREATE INDEX CONCURRENTLY a_id ON a (id);\n` },
    ]);
    const run = await apply(asDeployer.toString(), dir, "--ledger-schema", "deploy_history", "--ledger-table", "files");
    expect(run.code, printed(run)).toBe(0);
    const rows = await ledgerRows(url, "deploy_history.files");
    expect(rows.map((r) => `${r.version}:${r.applied_by}:${r.status}`)).toEqual([`1:${role}:applied`, `2:${role}:applied`]);
    expect(await relationExists(url, "migrator.applied_migrations")).toBe(false);

    const bad = await apply(url, dir, "--ledger-table", "Files; DROP TABLE a");
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/--ledger-table "Files; DROP TABLE a" is not a plain identifier/);
  });
});
