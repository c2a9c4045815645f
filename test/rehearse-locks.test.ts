import { beforeAll, describe, expect, test } from "vitest";
import { compareLocks, type HeldLock, type PredictedLock } from "../migrator/rehearse-locks.js";
import { changesText, rehearsalLine } from "../migrator/rehearse-format.js";
import type { Rehearsal } from "../migrator/rehearse.js";
import { isLarge } from "../migrator/rehearse-size.js";
import { tableWork } from "../migrator/rehearse-work.js";
import { loadParser } from "../migrator/statements.js";

// The pure parts of the rehearsal: held locks against predicted ones, the whole-table work rules,
// and how a rehearsal is said. The real observations are in test/migrator-rehearse.test.ts.

const predicted = (table: string, mode: PredictedLock["mode"], schema?: string): PredictedLock => ({
  table: schema ? { schema, name: table } : { name: table },
  mode,
  why: "test",
  line: 1,
});
const held = (table: string, mode: HeldLock["mode"], schema = "public"): HeldLock => ({ schema, table, mode });

describe("compareLocks", () => {
  test("a held lock a predicted one covers is no finding; an unqualified prediction matches the table in its schema", () => {
    const c = compareLocks(
      [predicted("Member", "ACCESS EXCLUSIVE"), predicted("Team", "SHARE ROW EXCLUSIVE", "app")],
      [held("Member", "ACCESS EXCLUSIVE"), held("Member", "ACCESS SHARE"), held("Team", "ROW SHARE", "app")],
    );
    expect(c.findings).toEqual([]);
    expect(c.held).toEqual([
      { table: '"Member"', mode: "ACCESS EXCLUSIVE" },
      { table: '"Member"', mode: "ACCESS SHARE" },
      { table: '"app"."Team"', mode: "ROW SHARE" },
    ]);
  });

  test("a table nothing was predicted on, and a stronger mode than predicted, are findings; a weaker mode beside a finding is not said again", () => {
    const c = compareLocks(
      [predicted("PointTransaction", "ROW EXCLUSIVE"), predicted("Resource", "SHARE")],
      [held("PointTransaction", "ROW EXCLUSIVE"), held("Member", "ROW EXCLUSIVE"), held("Member", "ROW SHARE"), held("Resource", "ACCESS EXCLUSIVE")],
    );
    expect(c.findings).toEqual([
      { table: '"Member"', held: "ROW EXCLUSIVE", kind: "unpredicted", predicted: [], line: `held ROW EXCLUSIVE on "Member", which the review does not predict` },
      {
        table: '"Resource"',
        held: "ACCESS EXCLUSIVE",
        kind: "stronger",
        predicted: ["SHARE"],
        line: `held ACCESS EXCLUSIVE on "Resource", stronger than the review predicts (SHARE)`,
      },
    ]);
  });

  test("a prediction in another schema does not cover a table of the same name; a predicted lock not held is listed, not a finding", () => {
    const c = compareLocks([predicted("Member", "ACCESS EXCLUSIVE", "other"), predicted("Gone", "ACCESS EXCLUSIVE")], [held("Member", "SHARE")]);
    expect(c.findings.map((f) => f.kind)).toEqual(["unpredicted"]);
    expect(c.notHeld).toEqual([
      { table: '"other"."Member"', mode: "ACCESS EXCLUSIVE", statementLine: 1 },
      { table: '"Gone"', mode: "ACCESS EXCLUSIVE", statementLine: 1 },
    ]);
  });
});

describe("tableWork", () => {
  beforeAll(() => loadParser());

  test.each([
    [`ALTER TABLE "Member" ALTER COLUMN "bio" TYPE varchar(10)`, [["Member", "rewrites", /ALTER COLUMN bio TYPE rewrites the table unless/]]],
    [`ALTER TABLE app."Member" ALTER COLUMN "bio" SET NOT NULL`, [["app.Member", "scans", /SET NOT NULL reads every row/]]],
    [`ALTER TABLE "Member" VALIDATE CONSTRAINT "x_fkey"`, [["Member", "scans", /VALIDATE CONSTRAINT x_fkey reads every row/]]],
    [`ALTER TABLE "Member" ADD CONSTRAINT c CHECK (id <> '')`, [["Member", "scans", /ADD CHECK without NOT VALID/]]],
    [`ALTER TABLE "Member" ADD CONSTRAINT c CHECK (id <> '') NOT VALID`, []],
    [`ALTER TABLE "Member" ADD CONSTRAINT f FOREIGN KEY ("teamId") REFERENCES "Team"(id) NOT VALID`, []],
    [`ALTER TABLE "Member" ADD CONSTRAINT u UNIQUE (email)`, [["Member", "scans", /ADD UNIQUE builds an index/]]],
    [`ALTER TABLE "Member" ADD CONSTRAINT u UNIQUE USING INDEX "Member_email_key"`, []],
    [`ALTER TABLE "Member" ADD COLUMN "x" int DEFAULT 0`, []],
    [`CREATE INDEX i ON "Member" (email)`, [["Member", "scans", /CREATE INDEX reads the table \(writes wait\)/]]],
    [`CREATE INDEX CONCURRENTLY i ON "Member" (email)`, [["Member", "scans", /CONCURRENTLY reads the table twice \(writes go on\)/]]],
    [`UPDATE "Member" SET bio = ''`, [["Member", "scans", /UPDATE without WHERE/]]],
    [`UPDATE "Member" SET bio = '' WHERE id = 'x'`, []],
    [`VACUUM FULL "Member"`, [["Member", "rewrites", /VACUUM FULL/]]],
    [`CLUSTER "Member" USING "Member_pkey"`, [["Member", "rewrites", /CLUSTER/]]],
  ] as const)("%s", (sql, expected) => {
    const work = tableWork(sql).map((w) => [w.table.schema ? `${w.table.schema}.${w.table.name}` : w.table.name, w.work, w.why]);
    expect(work).toHaveLength(expected.length);
    expected.forEach(([table, kind, why], i) => {
      expect(work[i]![0]).toBe(table);
      expect(work[i]![1]).toBe(kind);
      expect(work[i]![2]).toMatch(why);
    });
  });

  test("large: at least the threshold of estimated rows; a table never analysed has no estimate", () => {
    expect(isLarge({ rows: 100, pages: 1, bytes: 8192 }, 100)).toBe(true);
    expect(isLarge({ rows: 99, pages: 1, bytes: 8192 }, 100)).toBe(false);
    expect(isLarge({ rows: null, pages: 10_000, bytes: 8192 * 10_000 }, 100)).toBe(false);
  });
});

describe("how a rehearsal is said", () => {
  test("changesText: added, altered, removed, relations first, plural by kind", () => {
    expect(changesText({ added: { index: 2, table: 1, policy: 2 }, altered: { column: 1 }, removed: { constraint: 1 } })).toBe(
      "+1 table, +2 indexes, +2 policies, ~1 column, -1 constraint",
    );
    expect(changesText({ added: {}, altered: {}, removed: {} })).toBe("no schema change");
  });

  const base: Rehearsal = {
    serverVersion: "16.9",
    major: 16,
    majorFrom: "database",
    applied: { files: 3, from: "ledger", head: "3_c" },
    pending: [],
    summary: { applied: 0, failed: 0, changes: { added: {}, altered: {}, removed: {} }, lockFindings: 0, largeTableWork: 0 },
    largeTableRows: 100_000,
    notes: [],
  };
  const applied = { folder: "4_d", file: "4_d/migration.sql", mode: "transaction" as const, outcome: "applied" as const, work: [] };

  test("rehearsalLine: files applied with their changes, lock findings and large-table work; a failure names file:line", () => {
    expect(rehearsalLine(base)).toBe("Rehearsed on PostgreSQL 16.9: no pending file to rehearse.");
    expect(
      rehearsalLine({ ...base, pending: [applied, applied], summary: { ...base.summary, applied: 2, changes: { added: { table: 1 }, altered: {}, removed: {} } } }),
    ).toBe("Rehearsed on PostgreSQL 16.9: 2 pending files apply; +1 table; locks as predicted.");
    expect(rehearsalLine({ ...base, pending: [applied], summary: { ...base.summary, applied: 1, lockFindings: 2, largeTableWork: 1 } })).toBe(
      "Rehearsed on PostgreSQL 16.9: 1 pending file applies; no schema change; 2 lock findings; 1 statement rewriting or scanning a large table.",
    );
    const failed = {
      ...applied,
      folder: "5_e",
      file: "5_e/migration.sql",
      outcome: "failed" as const,
      error: { message: '5_e/migration.sql:7:3: syntax error at or near "TABEL" (SQLSTATE 42601)\n  the file was rolled back', file: "5_e/migration.sql", line: 7 },
    };
    expect(rehearsalLine({ ...base, pending: [applied, failed, { ...applied, outcome: "not rehearsed" }], summary: { ...base.summary, applied: 1, failed: 1 } })).toBe(
      'Rehearsed on PostgreSQL 16.9: **5_e/migration.sql:7 fails**: syntax error at or near "TABEL" (SQLSTATE 42601); 1 pending file before it applied, 1 not rehearsed after it.',
    );
  });
});
