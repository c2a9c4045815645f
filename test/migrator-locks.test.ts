/**
 * What apply does when the database is busy or was left half-done: lock timeouts with retries
 * against a lock really held by another session, and the repair of an index that a failed
 * CREATE INDEX CONCURRENTLY left INVALID.
 */
import { afterAll, describe, expect, test } from "vitest";
import { migrate, migrateJson, printed } from "./support/cli.js";
import { freshDatabase } from "./support/database.js";
import { holdLock } from "./support/locks.js";
import { ledgerRows, query } from "./support/migrator-db.js";
import { checksumOfText, removeSets, writeMigration, writeSet } from "./support/sets.js";

afterAll(removeSets);

const NO_TX = "-- migrate:no-transaction\n";
const RETRY_FLAGS = ["--lock-timeout", "200ms", "--lock-retries", "3", "--retry-delay", "100ms"];

async function tableWithSet(prefix: string) {
  const url = await freshDatabase(prefix);
  const dir = await writeSet([
    { version: "1", name: "accounts", sql: "CREATE TABLE accounts (id int PRIMARY KEY, email text);\nINSERT INTO accounts VALUES (1, 'a@x'), (2, 'b@x');\n" },
  ]);
  expect((await migrate(["apply", "--database-url", url, "--dir", dir, "--quiet"])).code).toBe(0);
  return { url, dir };
}

describe("lock timeout with retries", () => {
  test("a transactional file blocked by another session's lock retries and succeeds once the lock is released", async () => {
    const { url, dir } = await tableWithSet("locks");
    await writeMigration(dir, { version: "2", name: "add_note", sql: "ALTER TABLE accounts ADD COLUMN note text;\n" });
    const holder = await holdLock(url, "LOCK TABLE accounts IN ACCESS SHARE MODE");
    try {
      // Released on the first retry the migrator reports, not after a guessed delay.
      const run = await migrate(["apply", "--database-url", url, "--dir", dir, ...RETRY_FLAGS], {}, (text) => {
        if (/lock wait/.test(text)) void holder.release();
      });
      expect(run.code, printed(run)).toBe(0);
      expect(run.stdout).toMatch(
        new RegExp(
          `lock wait\\s+2_add_note: lock_timeout reached \\(attempt 1\\); retrying in \\d+ ms; blocked by pid ${holder.pid} \\("holder-app"\\) holds AccessShareLock on accounts`,
        ),
      );
      expect(run.stdout).toMatch(/applied\s+2_add_note/);
    } finally {
      await holder.release();
    }
    expect((await query(url, "SELECT count(*)::int AS n FROM information_schema.columns WHERE table_name = 'accounts' AND column_name = 'note'"))[0].n).toBe(1);
    expect((await ledgerRows(url)).map((r) => r.version)).toEqual(["1", "2"]);
  });

  test("the --json report counts the attempts", async () => {
    const { url, dir } = await tableWithSet("locks");
    await writeMigration(dir, { version: "2", name: "add_note", sql: "ALTER TABLE accounts ADD COLUMN note text;\n" });
    const holder = await holdLock(url, "LOCK TABLE accounts IN ROW EXCLUSIVE MODE");
    try {
      const run = await migrateJson(["apply", "--database-url", url, "--dir", dir, ...RETRY_FLAGS], {});
      // Not released during the run: the JSON still reports the failure and its attempts.
      expect(run.code).toBe(1);
      expect(run.json.error.message).toMatch(/4 attempts/);
      expect(run.stderr.match(/lock wait\s+2_add_note/g)).toHaveLength(3);
    } finally {
      await holder.release();
    }
    const run = await migrateJson(["apply", "--database-url", url, "--dir", dir, ...RETRY_FLAGS]);
    expect(run.code).toBe(0);
    expect(run.json.results).toEqual([expect.objectContaining({ version: "2", action: "applied", attempts: 1, transactional: true })]);
  });

  test("a lock never released: exit 1 after the retries, naming the file, the blocking session, its lock and the relation", async () => {
    const { url, dir } = await tableWithSet("locks");
    await writeMigration(dir, { version: "2", name: "add_note", sql: "-- blocked\nALTER TABLE accounts ADD COLUMN note text;\n" });
    const holder = await holdLock(url, "LOCK TABLE accounts IN ACCESS EXCLUSIVE MODE");
    let run;
    try {
      run = await migrate(["apply", "--database-url", url, "--dir", dir, ...RETRY_FLAGS]);
    } finally {
      await holder.release();
    }
    expect(run.code).toBe(1);
    expect(run.stderr).toMatch(/error: 2_add_note\/migration\.sql:2: canceling statement due to lock timeout \(SQLSTATE 55P03\)/);
    expect(run.stderr).toMatch(
      new RegExp(`could not get its lock within lock_timeout, 4 attempts; blocked by pid ${holder.pid} \\("holder-app"\\) holds AccessExclusiveLock on accounts`),
    );
    expect(run.stderr).toMatch(/raise --lock-timeout \/ --lock-retries/);
    expect((await ledgerRows(url)).map((r) => r.version)).toEqual(["1"]);
    expect((await query(url, "SELECT count(*)::int AS n FROM information_schema.columns WHERE table_name = 'accounts' AND column_name = 'note'"))[0].n).toBe(0);
  });

  test("the blocker named is the session holding the table the statement names, not any open transaction", async () => {
    const { url, dir } = await tableWithSet("locks");
    await query(url, "CREATE TABLE unrelated (id int)");
    await writeMigration(dir, { version: "2", name: "truncate", sql: "TRUNCATE accounts;\n" });
    const bystander = await holdLock(url, "SELECT count(*) FROM unrelated");
    const holder = await holdLock(url, "SELECT count(*) FROM accounts");
    let run;
    try {
      run = await migrate(["apply", "--database-url", url, "--dir", dir, "--lock-timeout", "100ms", "--lock-retries", "0"]);
    } finally {
      await holder.release();
      await bystander.release();
    }
    expect(run.code).toBe(1);
    expect(run.stderr).toContain(`blocked by pid ${holder.pid} ("holder-app") holds AccessShareLock on accounts`);
    expect(run.stderr).not.toContain(`pid ${bystander.pid}`);
    expect(await query(url, "SELECT count(*)::int AS n FROM accounts")).toEqual([{ n: 2 }]);
  });

  test("a no-transaction CREATE INDEX CONCURRENTLY blocked by a lock retries too and records nothing until it succeeds", async () => {
    const { url, dir } = await tableWithSet("locks");
    await writeMigration(dir, { version: "2", name: "idx", sql: `${NO_TX}CREATE INDEX CONCURRENTLY accounts_email ON accounts (email);\n` });
    const holder = await holdLock(url, "LOCK TABLE accounts IN SHARE ROW EXCLUSIVE MODE");
    try {
      const blocked = await migrate(["apply", "--database-url", url, "--dir", dir, "--lock-timeout", "200ms", "--lock-retries", "1", "--retry-delay", "50ms"]);
      expect(blocked.code).toBe(1);
      expect(blocked.stderr).toMatch(
        /2_idx\/migration\.sql:2: canceling statement due to lock timeout.*\n[\s\S]*this file ran outside a transaction; it is not recorded as applied/,
      );
      expect((await ledgerRows(url)).map((r) => r.version)).toEqual(["1"]);
      expect(await query(url, "SELECT count(*)::int AS n FROM pg_class WHERE relname = 'accounts_email'")).toEqual([{ n: 0 }]);

      const run = await migrate(["apply", "--database-url", url, "--dir", dir, ...RETRY_FLAGS], {}, (text) => {
        if (/lock wait/.test(text)) void holder.release();
      });
      expect(run.code, printed(run)).toBe(0);
      expect(run.stdout).toMatch(/lock wait\s+2_idx: lock_timeout reached \(attempt 1\)/);
    } finally {
      await holder.release();
    }
    expect(await query(url, "SELECT indisvalid FROM pg_index WHERE indexrelid = 'accounts_email'::regclass")).toEqual([{ indisvalid: true }]);
    expect((await ledgerRows(url)).map((r) => `${r.version}:${r.status}`)).toEqual(["1:applied", "2:applied"]);
  });
});

describe("an index left INVALID by a failed concurrent build", () => {
  const UNIQUE = `${NO_TX}CREATE UNIQUE INDEX CONCURRENTLY IF NOT EXISTS users_email_key ON users (email);\n`;

  async function failedBuild() {
    const url = await freshDatabase("repair");
    const dir = await writeSet([
      { version: "1", name: "users", sql: "CREATE TABLE users (id int PRIMARY KEY, email text);\nINSERT INTO users VALUES (1, 'a@x'), (2, 'a@x'), (3, 'b@x');\n" },
      { version: "2", name: "unique_email", sql: UNIQUE },
    ]);
    const failed = await migrate(["apply", "--database-url", url, "--dir", dir]);
    expect(failed.code).toBe(1);
    expect(failed.stderr).toMatch(/2_unique_email\/migration\.sql:2: could not create unique index "users_email_key" \(SQLSTATE 23505\)/);
    // The failed build is real: PostgreSQL leaves the index behind, INVALID.
    expect(await query(url, "SELECT indisvalid FROM pg_index WHERE indexrelid = 'users_email_key'::regclass")).toEqual([{ indisvalid: false }]);
    expect((await ledgerRows(url)).map((r) => r.version)).toEqual(["1"]);
    return { url, dir };
  }

  test("the rerun drops it concurrently, builds it again, and says so (IF NOT EXISTS cannot keep it)", async () => {
    const { url, dir } = await failedBuild();
    const before = (await query(url, "SELECT 'users_email_key'::regclass::oid::int AS oid"))[0].oid;
    await query(url, "DELETE FROM users WHERE id = 2");

    const run = await migrate(["apply", "--database-url", url, "--dir", dir]);
    expect(run.code, printed(run)).toBe(0);
    expect(run.stdout).toMatch(/repaired\s+2_unique_email: dropped INVALID index users_email_key left by an interrupted build; building it again/);
    expect(run.stdout).toMatch(/applied\s+2_unique_email\s+no-transaction/);
    const index = await query(
      url,
      "SELECT i.indisvalid, i.indisunique, c.oid::int AS oid FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid WHERE c.relname = 'users_email_key'",
    );
    expect(index).toHaveLength(1);
    expect(index[0]).toMatchObject({ indisvalid: true, indisunique: true });
    expect(index[0].oid).not.toBe(before);
    expect((await ledgerRows(url)).map((r) => `${r.version}:${r.status}:${r.transactional}`)).toEqual(["1:applied:true", "2:applied:false"]);
  });

  test("while the duplicates remain, every rerun fails the same way and never records the file", async () => {
    const { url, dir } = await failedBuild();
    const run = await migrate(["apply", "--database-url", url, "--dir", dir]);
    expect(run.code).toBe(1);
    expect(run.stdout).toMatch(/repaired\s+2_unique_email/);
    expect(run.stderr).toMatch(/could not create unique index "users_email_key"/);
    expect(await query(url, "SELECT indisvalid FROM pg_index WHERE indexrelid = 'users_email_key'::regclass")).toEqual([{ indisvalid: false }]);
    expect((await ledgerRows(url)).map((r) => r.version)).toEqual(["1"]);
  });

  test("a concurrent build cancelled by lock_timeout while waiting for an old snapshot is repaired by the retry in the same run", async () => {
    const url = await freshDatabase("repair");
    const dir = await writeSet([{ version: "1", name: "tables", sql: "CREATE TABLE a (id int);\nCREATE TABLE other (id int);\n" }]);
    expect((await migrate(["apply", "--database-url", url, "--dir", dir, "--quiet"])).code).toBe(0);
    await writeMigration(dir, { version: "2", name: "a_id", sql: `${NO_TX}CREATE INDEX CONCURRENTLY IF NOT EXISTS a_id ON a (id);\n` });
    // A transaction holding a snapshot, on another table: CREATE INDEX CONCURRENTLY creates its
    // index, then must wait for this snapshot, and lock_timeout cancels it there, leaving the index INVALID.
    const holder = await holdLock(url, "SET TRANSACTION ISOLATION LEVEL REPEATABLE READ; SELECT count(*) FROM other");
    let retries = 0;
    try {
      const run = await migrate(["apply", "--database-url", url, "--dir", dir, ...RETRY_FLAGS], {}, (text) => {
        if (/lock wait/.test(text) && ++retries === 2) void holder.release();
      });
      expect(run.code, printed(run)).toBe(0);
      expect(run.stdout).toMatch(
        new RegExp(
          `lock wait\\s+2_a_id: lock_timeout reached \\(attempt 1\\); retrying in \\d+ ms; blocked by pid ${holder.pid} \\("holder-app"\\) holds an old snapshot, idle in transaction`,
        ),
      );
      expect(run.stdout).toMatch(/lock wait\s+2_a_id: lock_timeout reached \(attempt 1\)[\s\S]*repaired\s+2_a_id: dropped INVALID index a_id[\s\S]*applied\s+2_a_id/);
    } finally {
      await holder.release();
    }
    expect(await query(url, "SELECT indexrelid::regclass::text AS name, indisvalid FROM pg_index WHERE indrelid = 'a'::regclass")).toEqual([
      { name: "a_id", indisvalid: true },
    ]);
    expect((await ledgerRows(url)).map((r) => `${r.version}:${r.status}`)).toEqual(["1:applied", "2:applied"]);
  });

  test("an interrupted run whose build had finished is recorded, not built twice", async () => {
    const url = await freshDatabase("repair");
    const dir = await writeSet([
      { version: "1", name: "users", sql: "CREATE TABLE users (id int PRIMARY KEY, email text);\n" },
      { version: "2", name: "unique_email", sql: UNIQUE },
    ]);
    expect((await migrate(["apply", "--database-url", url, "--dir", dir, "--only", "1"])).code).toBe(0);
    // What a migrator killed right after its CREATE INDEX returned leaves: the index, and a 'started' row.
    await query(url, "CREATE UNIQUE INDEX users_email_key ON users (email)");
    await query(
      url,
      `INSERT INTO migrator.applied_migrations (folder, version, name, checksum, transactional, status) VALUES ('2_unique_email', '2', 'unique_email', $1, false, 'started')`,
      [checksumOfText(UNIQUE)],
    );
    const oid = (await query(url, "SELECT 'users_email_key'::regclass::oid::int AS oid"))[0].oid;
    const status = await migrateJson(["status", "--database-url", url, "--dir", dir]);
    expect(status.json.pending).toEqual([{ folder: "2_unique_email", version: "2", name: "unique_email", transactional: false, resumes: true }]);

    const run = await migrateJson(["apply", "--database-url", url, "--dir", dir]);
    expect(run.code, printed(run)).toBe(0);
    expect(run.json.results).toEqual([expect.objectContaining({ version: "2", action: "completed-earlier" })]);
    expect(run.stderr).toMatch(/index users_email_key was completed by an interrupted earlier run; recorded/);
    expect((await query(url, "SELECT 'users_email_key'::regclass::oid::int AS oid"))[0].oid).toBe(oid);
    const rows = await ledgerRows(url);
    expect(rows.map((r) => `${r.version}:${r.status}`)).toEqual(["1:applied", "2:applied"]);
    expect(rows[1]!.checksum).toBe(checksumOfText(UNIQUE));
  });

  test("a file edited after an interrupted run is not resumed: the leftover index is not taken for the new definition", async () => {
    const url = await freshDatabase("repair");
    const edited = `${NO_TX}CREATE UNIQUE INDEX CONCURRENTLY users_email_key ON users (lower(email));\n`;
    const dir = await writeSet([
      { version: "1", name: "users", sql: "CREATE TABLE users (id int PRIMARY KEY, email text);\n" },
      { version: "2", name: "unique_email", sql: edited },
    ]);
    expect((await migrate(["apply", "--database-url", url, "--dir", dir, "--only", "1"])).code).toBe(0);
    // The interrupted run built the old definition (on email) and recorded the old file as started.
    await query(url, "CREATE UNIQUE INDEX users_email_key ON users (email)");
    await query(
      url,
      `INSERT INTO migrator.applied_migrations (folder, version, name, checksum, transactional, status) VALUES ('2_unique_email', '2', 'unique_email', $1, false, 'started')`,
      [checksumOfText(UNIQUE)],
    );
    expect((await migrateJson(["status", "--database-url", url, "--dir", dir])).json.pending).toEqual([
      { folder: "2_unique_email", version: "2", name: "unique_email", transactional: false, resumes: false },
    ]);

    const run = await migrate(["apply", "--database-url", url, "--dir", dir]);
    expect(run.code).toBe(1);
    expect(run.stderr).toMatch(/2_unique_email\/migration\.sql:2: relation "users_email_key" already exists/);
    expect((await ledgerRows(url)).map((r) => r.version)).toEqual(["1"]);
  });
});
