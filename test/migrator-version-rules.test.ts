/**
 * Which PostgreSQL a statement needs (version-rules.ts) and what plan/apply make of it for a given
 * server (server-version.ts): pure, on PostgreSQL 17's parser, no database. The compat-*.test.ts
 * files show the same on real PostgreSQL 13 to 17.
 */
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { readMigrationSet } from "../migrator/files.js";
import { plan } from "../migrator/plan.js";
import { assertServerCanRun, ServerTooOldError, tooNewForServer } from "../migrator/server-version.js";
import { loadParser, parseStatements } from "../migrator/statements.js";
import { displayVersion, majorOf } from "../migrator/version-rules.js";
import { removeSets, writeSet } from "./support/sets.js";

beforeAll(loadParser);
afterAll(removeSets);

function requirementOf(sql: string) {
  const parsed = parseStatements(sql);
  if (!("statements" in parsed)) throw new Error(`does not parse: ${sql}: ${parsed.error.message}`);
  return parsed.statements[0]!.requires;
}

describe("the minimum PostgreSQL of a statement", () => {
  test.each([
    ["REINDEX INDEX CONCURRENTLY i", 12, "REINDEX CONCURRENTLY"],
    ["ALTER TABLE p DETACH PARTITION c CONCURRENTLY", 14, "DETACH PARTITION CONCURRENTLY"],
    ["ALTER TABLE p DETACH PARTITION c FINALIZE", 14, "FINALIZE"],
    ["CREATE OR REPLACE TRIGGER tr AFTER INSERT ON t EXECUTE FUNCTION f()", 14, "CREATE OR REPLACE TRIGGER"],
    ["CREATE TABLE t (c text COMPRESSION lz4)", 14, "COMPRESSION"],
    ["ALTER TABLE t ALTER COLUMN c SET COMPRESSION lz4", 14, "COMPRESSION"],
    ["GRANT pg_read_all_data TO auditor", 14, "pg_read_all_data"],
    ["MERGE INTO t USING s ON t.id = s.id WHEN MATCHED THEN UPDATE SET x = 1", 15, "MERGE"],
    ["CREATE UNIQUE INDEX i ON t (a) NULLS NOT DISTINCT", 15, "NULLS NOT DISTINCT"],
    ["CREATE TABLE t (a int, UNIQUE NULLS NOT DISTINCT (a))", 15, "NULLS NOT DISTINCT"],
    ["ALTER TABLE t ADD CONSTRAINT u UNIQUE NULLS NOT DISTINCT (a)", 15, "NULLS NOT DISTINCT"],
    ["CREATE TABLE t (b int REFERENCES x ON DELETE SET NULL (b))", 15, "ON DELETE SET NULL"],
    ["CREATE VIEW v WITH (security_invoker = true) AS SELECT 1", 15, "security_invoker"],
    ["ALTER VIEW v SET (security_invoker = true)", 15, "security_invoker"],
    ["GRANT SET ON PARAMETER work_mem TO app", 15, "ON PARAMETER"],
    ["ALTER TABLE t SET ACCESS METHOD heap", 15, "SET ACCESS METHOD"],
    ["GRANT owner TO app WITH INHERIT FALSE", 16, "WITH INHERIT/SET"],
    ["CREATE VIEW v AS SELECT JSON_OBJECT('a': 1) AS j", 16, "JSON_OBJECT"],
    ["ALTER TABLE t ADD CONSTRAINT j CHECK (doc IS JSON)", 16, "IS JSON"],
    ["MERGE INTO t USING s ON t.id = s.id WHEN NOT MATCHED BY SOURCE THEN DELETE", 17, "WHEN NOT MATCHED BY SOURCE"],
    ["MERGE INTO t USING s ON t.id = s.id WHEN MATCHED THEN DELETE RETURNING t.id", 17, "RETURNING"],
    ["GRANT MAINTAIN ON TABLE t TO app", 17, "MAINTAIN privilege"],
    ["GRANT pg_maintain TO app", 17, "pg_maintain"],
    ["CREATE VIEW v AS SELECT * FROM JSON_TABLE('[]'::jsonb, '$[*]' COLUMNS (a int PATH '$.a'))", 17, "JSON_TABLE"],
    ["UPDATE t SET a = JSON_VALUE(doc, '$.a' RETURNING int)", 17, "JSON_VALUE"],
    ["ALTER TABLE t ALTER COLUMN a SET EXPRESSION AS (b + 1)", 17, "SET EXPRESSION"],
    // The newest requirement wins when a statement holds several.
    ["MERGE INTO t USING (SELECT JSON_VALUE(d, '$.a') AS id FROM s) s ON t.id = s.id WHEN MATCHED THEN DELETE", 17, "JSON_VALUE"],
  ])("%s needs PostgreSQL %i", (sql, major, feature) => {
    const needs = requirementOf(sql);
    expect(needs?.major).toBe(major);
    expect(needs?.feature).toContain(feature);
  });

  test.each([
    "CREATE TABLE t (id int PRIMARY KEY, doc jsonb)",
    "CREATE INDEX CONCURRENTLY i ON t (a)",
    "CREATE UNIQUE INDEX i ON t (a)",
    "ALTER TABLE p DETACH PARTITION c",
    "CREATE TRIGGER tr AFTER INSERT ON t EXECUTE FUNCTION f()",
    "GRANT SELECT, INSERT ON t TO app",
    "GRANT pg_read_all_stats TO auditor",
    "INSERT INTO t SELECT * FROM s ON CONFLICT (id) DO UPDATE SET doc = excluded.doc",
    "SELECT jsonb_path_query(doc, '$.a') FROM t",
  ])("%s runs on every supported server (13 and later)", (sql) => {
    const needs = requirementOf(sql);
    expect(needs === undefined || needs.major <= 13).toBe(true);
  });

  test("server_version_num is read as its major and a display version", () => {
    expect(majorOf(130023)).toBe(13);
    expect(majorOf(170010)).toBe(17);
    expect(displayVersion(150018)).toBe("15.18");
  });
});

describe("a pending file that needs a newer server than the target", () => {
  test("each statement is named with file:line:column, what it uses and the version it needs; applied and baselined files are not", async () => {
    const dir = await writeSet([
      {
        version: "1",
        name: "old_merge",
        sql: "CREATE TABLE t (id int, x int);\nCREATE TABLE s (id int);\nMERGE INTO t USING s ON t.id = s.id WHEN MATCHED THEN DELETE;\n",
      },
      { version: "2", name: "tables", sql: "CREATE TABLE p (id int) PARTITION BY RANGE (id);\n-- a comment\n  CREATE UNIQUE INDEX u ON t (x) NULLS NOT DISTINCT;\n" },
      { version: "3", name: "detach", sql: "-- migrate:no-transaction\nALTER TABLE p DETACH PARTITION p1 CONCURRENTLY;\n" },
      { version: "4", name: "maintain", sql: "GRANT MAINTAIN ON t TO PUBLIC;\n" },
    ]);
    const set = await readMigrationSet(dir);
    const steps = plan(set, [], { baseline: "1" }).steps;

    expect(tooNewForServer(steps, 130023)).toEqual([
      { file: "2_tables/migration.sql", line: 3, column: 3, message: "NULLS NOT DISTINCT needs PostgreSQL 15 or later; this server is 13.23" },
      { file: "3_detach/migration.sql", line: 2, column: 1, message: "DETACH PARTITION CONCURRENTLY needs PostgreSQL 14 or later; this server is 13.23" },
      { file: "4_maintain/migration.sql", line: 1, column: 1, message: "the MAINTAIN privilege needs PostgreSQL 17 or later; this server is 13.23" },
    ]);
    expect(tooNewForServer(steps, 160014).map((p) => p.file)).toEqual(["4_maintain/migration.sql"]);
    expect(tooNewForServer(steps, 170010)).toEqual([]);

    // Without the baseline, the MERGE of file 1 would run, and is named too.
    expect(tooNewForServer(plan(set, []).steps, 140023)[0]).toMatchObject({
      file: "1_old_merge/migration.sql",
      line: 3,
      message: expect.stringMatching(/^MERGE needs PostgreSQL 15/),
    });

    const error = (() => {
      try {
        assertServerCanRun(steps, 150018);
      } catch (e) {
        return e;
      }
    })();
    expect(error).toBeInstanceOf(ServerTooOldError);
    expect((error as ServerTooOldError).exitCode).toBe(2);
    expect((error as Error).message).toMatch(/^the pending migrations need a newer PostgreSQL than this server's 15\.18; nothing was applied/);
    expect((error as Error).message).toContain("\n  4_maintain/migration.sql:1:1: the MAINTAIN privilege needs PostgreSQL 17 or later; this server is 15.18");
  });
});
