/**
 * A bad migration set is refused before anything runs: exit 2, one clear message naming the
 * file (and the line), and nothing applied, not even the good files before it. Big files work.
 */
import { mkdir, writeFile } from "node:fs/promises";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { migrate, migrateProcess, printed } from "./support/cli.js";
import { freshDatabase } from "./support/database.js";
import { ledgerRows, query, relationExists } from "./support/migrator-db.js";
import { removeSets, writeSet, type SetFile } from "./support/sets.js";

afterAll(removeSets);

const GOOD: SetFile = { version: "1", name: "good", sql: "CREATE TABLE good (id int);\n" };

let url: string;
beforeAll(async () => {
  url = await freshDatabase("bad");
});

interface BadCase {
  name: string;
  files?: SetFile[];
  lockFile?: string | null;
  /** Extra entries written into the set's folder after the files. */
  extra?: (dir: string) => Promise<void>;
  /** What the problem line must say, file and line first. */
  message: RegExp;
  /** How many problems the set has (1 unless said). */
  problems?: number;
}

const CASES: BadCase[] = [
  {
    name: "invalid UTF-8 (on line 2)",
    files: [
      GOOD,
      {
        version: "2",
        name: "latin1",
        sql: Buffer.concat([Buffer.from("CREATE TABLE a (id int);\nCOMMENT ON TABLE a IS 'caf"), Buffer.from([0xe9]), Buffer.from("';\n")]),
      },
    ],
    message: /^ {2}2_latin1\/migration\.sql:2: is not valid UTF-8; save it as UTF-8/m,
  },
  {
    name: "a NUL byte (the parser would stop there and drop the SQL after it)",
    files: [GOOD, { version: "2", name: "nul", sql: "CREATE TABLE a (id int);\n\u0000\nCREATE TABLE b (id int);\n" }],
    message: /^ {2}2_nul\/migration\.sql:2: holds a NUL byte/m,
  },
  {
    name: "a folder without migration.sql",
    files: [GOOD],
    extra: (dir) => mkdir(path.join(dir, "2_forgotten")),
    message: /^ {2}2_forgotten: has no migration\.sql; add it or remove the folder/m,
  },
  {
    name: "a stray file in the migrations folder",
    files: [GOOD],
    extra: (dir) => writeFile(path.join(dir, "2_notes.sql"), "CREATE TABLE stray (id int);\n"),
    message: /^ {2}2_notes\.sql: is not a migration folder; .*move it out/m,
  },
  {
    name: "a folder whose name does not start with its version",
    files: [GOOD, { version: "", name: "init", sql: "CREATE TABLE one (id int);\n" }],
    message: /^ {2}_init: folder name must start with its version, digits and "_"/m,
  },
  {
    name: "a folder name with a tab in it",
    files: [GOOD, { version: "2", name: "add\tcolumn", sql: "CREATE TABLE two (id int);\n" }],
    message: /^ {2}2_add\tcolumn: folder name holds a control character \(2_add\\tcolumn\); rename it without tabs or line breaks/m,
  },
  {
    name: "a migration_lock.toml for another provider",
    files: [GOOD],
    lockFile: 'provider = "mysql"\n',
    message: /^ {2}migration_lock\.toml: says provider = "mysql", but this migrator applies PostgreSQL migrations only/m,
  },
  {
    name: "BEGIN inside a transactional file",
    files: [GOOD, { version: "2", name: "begin", sql: "BEGIN;\nCREATE TABLE b (id int);\n" }],
    message: /^ {2}2_begin\/migration\.sql:1:1: BEGIN: the migrator controls transactions itself/m,
  },
  {
    name: "COMMIT inside a transactional file",
    files: [GOOD, { version: "2", name: "commit", sql: "CREATE TABLE c (id int);\nCOMMIT;\nCREATE TABLE d (id int);\n" }],
    message: /^ {2}2_commit\/migration\.sql:2:1: COMMIT: the migrator controls transactions itself/m,
  },
  {
    name: "ROLLBACK inside a transactional file",
    files: [GOOD, { version: "2", name: "rollback", sql: "CREATE TABLE r (id int);\n\n  ROLLBACK;\n" }],
    message: /^ {2}2_rollback\/migration\.sql:3:3: ROLLBACK: the migrator controls transactions itself/m,
  },
  {
    name: "END written in the middle of a file (named as written)",
    files: [GOOD, { version: "2", name: "end", sql: "CREATE TABLE e (id int);\nEND;\nCREATE TABLE f (id int);\n" }],
    message: /^ {2}2_end\/migration\.sql:2:1: END: the migrator controls transactions itself/m,
  },
  {
    name: "a BEGIN inside an open block",
    files: [GOOD, { version: "2", name: "nested", sql: "BEGIN;\nCREATE TABLE a (id int);\nBEGIN;\nCREATE TABLE b (id int);\nCOMMIT;\n" }],
    message: /^ {2}2_nested\/migration\.sql:3:1: BEGIN: the migrator controls transactions itself/m,
    problems: 3,
  },
  {
    name: "a BEGIN never committed",
    files: [GOOD, { version: "2", name: "open", sql: "CREATE TABLE a (id int);\nBEGIN;\nCREATE TABLE b (id int);\n" }],
    message: /^ {2}2_open\/migration\.sql:2:1: BEGIN: the migrator controls transactions itself/m,
  },
  {
    name: "a SAVEPOINT inside a wrapped file",
    files: [GOOD, { version: "2", name: "savepoint", sql: "BEGIN;\nSAVEPOINT s;\nCREATE TABLE a (id int);\nROLLBACK TO SAVEPOINT s;\nCOMMIT;\n" }],
    message: /^ {2}2_savepoint\/migration\.sql:2:1: SAVEPOINT: the migrator controls transactions itself/m,
    problems: 4,
  },
  {
    name: "a wrapper that sets an isolation level",
    files: [GOOD, { version: "2", name: "isolation", sql: "BEGIN ISOLATION LEVEL SERIALIZABLE;\nCREATE TABLE a (id int);\nCOMMIT;\n" }],
    message: /^ {2}2_isolation\/migration\.sql:1:1: "BEGIN ISOLATION LEVEL SERIALIZABLE": the migrator runs a file's BEGIN … COMMIT blocks in its own one transaction/m,
  },
  {
    name: "a wrapper in a -- migrate:no-transaction file",
    files: [GOOD, { version: "2", name: "wrapped_directive", sql: "-- migrate:no-transaction\nBEGIN;\nCREATE TABLE a (id int);\nCOMMIT;\n" }],
    message: /^ {2}2_wrapped_directive\/migration\.sql:2:1: BEGIN: this file says -- migrate:no-transaction but wraps its SQL in a transaction/m,
  },
  {
    name: "CREATE INDEX CONCURRENTLY inside a wrapper",
    files: [GOOD, { version: "2", name: "wrapped_cic", sql: "BEGIN;\nCREATE INDEX CONCURRENTLY good_id ON good (id);\nCOMMIT;\n" }],
    message:
      /^ {2}2_wrapped_cic\/migration\.sql:2:1: CREATE INDEX CONCURRENTLY cannot run inside a transaction block, and this file wraps it in BEGIN … COMMIT; remove the wrapper$/m,
  },
  {
    name: "CREATE INDEX CONCURRENTLY beside another statement",
    files: [GOOD, { version: "2", name: "cic_and_more", sql: "CREATE TABLE a (id int);\nCREATE INDEX CONCURRENTLY a_id ON a (id);\n" }],
    message:
      /^ {2}2_cic_and_more\/migration\.sql:2:1: CREATE INDEX CONCURRENTLY cannot run inside a transaction block, and this file of 2 statements runs in one; move it to a migration of its own/m,
  },
  {
    name: "the psql meta-command \\connect",
    files: [GOOD, { version: "2", name: "connect", sql: "CREATE TABLE x (id int);\n\\connect other\nCREATE TABLE y (id int);\n" }],
    message: /^ {2}2_connect\/migration\.sql:2: \\connect is a psql meta-command, not SQL/m,
  },
  {
    name: "the psql meta-command \\i",
    files: [GOOD, { version: "2", name: "include", sql: "\\i other.sql\n" }],
    message: /^ {2}2_include\/migration\.sql:1: \\i is a psql meta-command, not SQL/m,
  },
  {
    name: "a misspelt directive (-- migrate:notransaction)",
    files: [GOOD, { version: "2", name: "typo", sql: "-- migrate:notransaction\nCREATE INDEX CONCURRENTLY good_id ON good (id);\n" }],
    message: /^ {2}2_typo\/migration\.sql:1: unknown directive "-- migrate:notransaction"; did you mean "-- migrate:no-transaction"\?/m,
    // Refused, not ignored (its one statement would run outside a transaction either way).
  },
];

describe("a bad set: exit 2, one message naming the file (and line), nothing applied", () => {
  test.each(CASES)("$name", async (c) => {
    const dir = await writeSet(c.files ?? [GOOD], c.lockFile === undefined ? {} : { lockFile: c.lockFile });
    await c.extra?.(dir);
    const run = await migrate(["apply", "--dir", dir, "--database-url", url]);
    expect(run.code, printed(run)).toBe(2);
    const n = c.problems ?? 1;
    expect(run.stderr).toMatch(new RegExp(`^error: the migration set has ${n} problems?; nothing was applied:\n`));
    expect(run.stderr).toMatch(c.message);
    // Refused before connecting: no ledger, not even the good file.
    expect(await relationExists(url, "good")).toBe(false);
    expect(await ledgerRows(url)).toEqual([]);
  });

  test("every problem of a set is listed at once, and a process exits 2 too", async () => {
    const dir = await writeSet([GOOD, { version: "2", name: "savepoint", sql: "SAVEPOINT s;\n" }, { version: "3", name: "begin", sql: "BEGIN;\n" }], {
      lockFile: 'provider = "sqlite"\n',
    });
    const run = await migrateProcess(["apply", "--dir", dir], { DATABASE_URL: url });
    expect(run.code, printed(run)).toBe(2);
    expect(run.stderr).toMatch(/the migration set has 3 problems; nothing was applied/);
    for (const where of ["2_savepoint/migration.sql:1:1:", "3_begin/migration.sql:1:1:", "migration_lock.toml:"]) expect(run.stderr).toContain(where);
    expect(await ledgerRows(url)).toEqual([]);
  });
});

describe("big files work", () => {
  test("a 10 MB file (one INSERT of 10,000 rows of 1 kB) applies", async () => {
    const db = await freshDatabase("big");
    const payload = "x".repeat(1_000);
    const rows = Array.from({ length: 10_000 }, (_, i) => `(${i}, '${payload}')`).join(",\n");
    const sql = `CREATE TABLE big (id int PRIMARY KEY, payload text NOT NULL);\nINSERT INTO big (id, payload) VALUES\n${rows};\n`;
    expect(Buffer.byteLength(sql)).toBeGreaterThan(10_000_000);
    const dir = await writeSet([{ version: "1", name: "big", sql }]);
    const run = await migrate(["apply", "--dir", dir, "--database-url", db, "--quiet"]);
    expect(run.code, printed(run)).toBe(0);
    expect(await query(db, "SELECT count(*)::int AS n, sum(length(payload))::int AS bytes FROM big")).toEqual([{ n: 10_000, bytes: 10_000_000 }]);
  }, 120_000);

  test("a file of 10,000 statements applies in one transaction; an error in the last one names its line", async () => {
    const db = await freshDatabase("many");
    const statements = Array.from({ length: 10_000 }, (_, i) => `INSERT INTO many VALUES (${i});`);
    const sql = `CREATE TABLE many (id int PRIMARY KEY);\n${statements.join("\n")}\n`;
    const dir = await writeSet([{ version: "1", name: "many", sql }]);
    const run = await migrate(["apply", "--dir", dir, "--database-url", db, "--quiet"]);
    expect(run.code, printed(run)).toBe(0);
    expect(await query(db, "SELECT count(*)::int AS n FROM many")).toEqual([{ n: 10_000 }]);

    // The same again with a duplicate key on the last line: rolled back whole, located exactly.
    const db2 = await freshDatabase("many");
    const failing = await writeSet([{ version: "1", name: "many", sql: `${sql}INSERT INTO many VALUES (0);\n` }]);
    const failed = await migrate(["apply", "--dir", failing, "--database-url", db2, "--quiet"]);
    expect(failed.code, printed(failed)).toBe(1);
    expect(failed.stderr).toMatch(/1_many\/migration\.sql:10002: duplicate key value violates unique constraint/);
    expect(await relationExists(db2, "many")).toBe(false);
  }, 120_000);
});
