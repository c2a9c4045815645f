/**
 * `npm run review -- --rehearse`: the "schema changes" column and the rehearsal line, from the
 * stack's state (on the stack's engineVersion major) and from a reachable database (whose locks
 * the rehearsal observes), a failing pending file making the review exit 1 after the comment,
 * and the 64,000-character bound with a rehearsal that has much to say.
 */
import { cp, mkdtemp, rm, writeFile } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { readMigrationSet } from "../migrator/files.js";
import { manifestEnvironment } from "../migrator/manifest.js";
import type { Rehearsal, RehearsedFile } from "../migrator/rehearse.js";
import { runReview } from "../review/cli.js";
import { COMMENT_LIMIT, renderReview } from "../review/markdown.js";
import { summarisePreview } from "../review/preview.js";
import { buildReview } from "../review/review.js";
import { migrate, printed, ROOT } from "./support/cli.js";
import { previewJson } from "./support/preview-json.js";
import { freshDatabase } from "./support/database.js";
import { ledgerRows } from "./support/migrator-db.js";
import { writeMigration, writeSet } from "./support/sets.js";

const SEED = path.join(ROOT, "sql/migrations");

let scratch: string;
beforeAll(async () => {
  scratch = await mkdtemp(path.join(os.tmpdir(), "review-rehearse-"));
});
afterAll(() => rm(scratch, { recursive: true, force: true }));

/** The postgresql provider's expected version as the preview carries it: the stack's engineVersion. */
const providerStep = (expectedVersion: string) => ({
  op: "same",
  urn: "urn:pulumi:dev::pg-migrations::pulumi:providers:postgresql::pg",
  type: "pulumi:providers:postgresql",
  newState: { inputs: { expectedVersion } },
});

async function review(argv: string[], env: NodeJS.ProcessEnv = {}) {
  let stdout = "";
  let stderr = "";
  const code = await runReview(argv, { stdout: (t) => (stdout += t), stderr: (t) => (stderr += t), env });
  return { code, stdout, stderr };
}

async function setWith(name: string, files: { version: string; name: string; sql: string }[]): Promise<string> {
  const dir = path.join(scratch, name);
  await cp(SEED, dir, { recursive: true });
  for (const f of files) await writeMigration(dir, f);
  return dir;
}

/** The preview of a stack whose state holds the seed set, with `dir`'s extra files pending. */
async function previewOf(dir: string, expectedVersion?: string): Promise<string> {
  const file = path.join(scratch, `${path.basename(dir)}.json`);
  await writeFile(
    file,
    previewJson(
      manifestEnvironment(await readMigrationSet(SEED)),
      manifestEnvironment(await readMigrationSet(dir)),
      expectedVersion ? [providerStep(expectedVersion)] : [],
    ),
  );
  return file;
}

const rowOf = (stdout: string, version: string) => stdout.split("\n").find((l) => l.startsWith(`| ${version} |`));

describe("npm run review -- --rehearse", () => {
  test("from the stack's state, on its engineVersion major: the schema changes column and the rehearsal line", async () => {
    const dir = await setWith("state", [
      { version: "20270101000000", name: "member_bio_index", sql: 'CREATE INDEX "Member_bio_idx" ON "Member" ("bio");\n' },
      { version: "20270101000001", name: "tags", sql: 'CREATE TABLE "Tag" (id text PRIMARY KEY);\nALTER TABLE "Member" ADD COLUMN "tag" text REFERENCES "Tag"(id);\n' },
    ]);
    const r = await review(["--stack", "dev", "--preview-json", await previewOf(dir, "16"), "--dir", dir, "--rehearse"]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/\nRehearsed on PostgreSQL 16\.\d+: 2 pending files apply; \+1 table, \+1 column, \+1 index, \+1 constraint; locks as predicted\.\n/);
    expect(r.stdout).toContain(
      "| version | name | mode | statements | schema changes (rehearsed) | table locks, per statement | lint |\n|---|---|---|---|---|---|---|\n",
    );
    expect(rowOf(r.stdout, "20270101000000")).toMatch(/^\| 20270101000000 \| member_bio_index \| transaction \| 1 \| \+1 index \| L1 CREATE INDEX: SHARE `"Member"` \|/);
    expect(rowOf(r.stdout, "20270101000001")).toMatch(/^\| 20270101000001 \| tags \| transaction \| 2 \| \+1 table, \+1 column, \+1 constraint \| /);

    // Without --rehearse the table is as before: no column, no line.
    const plain = await review(["--stack", "dev", "--preview-json", await previewOf(dir, "16"), "--dir", dir]);
    expect(plain.stdout).not.toMatch(/Rehearsed on|schema changes \(rehearsed\)/);
    expect(rowOf(plain.stdout, "20270101000000")).toMatch(/^\| 20270101000000 \| member_bio_index \| transaction \| 1 \| L1 CREATE INDEX/);
  }, 120_000);

  test("a pending file that fails its rehearsal: the comment says file:line, then the review exits 1", async () => {
    const dir = await setWith("broken", [{ version: "20270101000000", name: "broken", sql: 'ALTER TABLE "Member"\n  ADD COLUMN "x" int;\nSELECT 1/0;\n' }]);
    const r = await review(["--stack", "dev", "--preview-json", await previewOf(dir), "--dir", dir, "--rehearse"]);
    expect(r.code).toBe(1);
    expect(r.stdout).toContain("> [!CAUTION]\n> Rehearsed on PostgreSQL 17.");
    expect(r.stdout).toMatch(
      /: \*\*20270101000000_broken\/migration\.sql:3 fails\*\*: division by zero \(SQLSTATE 22012\); 0 pending files before it applied, 0 not rehearsed after it\.\n/,
    );
    expect(r.stdout).toContain("> `up` would stop at this file; fix it before merging");
    expect(rowOf(r.stdout, "20270101000000")).toMatch(/\| 2 \| \*\*fails\*\* at L3 \|/);
    expect(r.stderr).toMatch(/^error: Rehearsed on PostgreSQL 17\.\d+: 20270101000000_broken\/migration\.sql:3 fails/);
  }, 120_000);

  test("with the database reachable: its ledger and major, the locks held beyond the prediction listed, the database only read", async () => {
    const url = await freshDatabase("review_rehearse");
    expect((await migrate(["apply", "--quiet", "--database-url", url, "--dir", SEED])).code).toBe(0);
    const dir = await setWith("target", [
      {
        version: "20270101000000",
        name: "member",
        sql: `INSERT INTO "Member" (id, email, username, "displayName", "updatedAt") VALUES ('m1', 'a@x', 'a', 'A', now());\n`,
      },
      // The foreign key's check and trg_update_member_points lock "Member", which the prediction for an INSERT does not name.
      { version: "20270101000001", name: "points", sql: `INSERT INTO "PointTransaction" (id, "memberId", action, points) VALUES ('p1', 'm1', 'signup', 10);\n` },
    ]);
    const before = await ledgerRows(url);
    const r = await review(["--stack", "local", "--preview-json", await previewOf(dir), "--dir", dir, "--rehearse"], { DATABASE_URL: url });
    expect(r.code, printed(r)).toBe(0);
    expect(r.stdout).toMatch(/\nRehearsed on PostgreSQL 17\.\d+: 2 pending files apply; no schema change; 1 lock finding\.\n/);
    expect(r.stdout).toContain(
      "Locks the rehearsal saw beyond the table below (read from `pg_locks` just before each file's COMMIT):\n" +
        '- `20270101000001_points`: held ROW EXCLUSIVE on "Member", which the review does not predict\n',
    );
    expect(rowOf(r.stdout, "20270101000001")).toContain('| 1 | no schema change | L1 INSERT: ROW EXCLUSIVE `"PointTransaction"` |');
    expect(await ledgerRows(url)).toEqual(before);
  }, 120_000);
});

describe("the comment's bound with a rehearsal", () => {
  test("3,000 rehearsed files, each with many lock findings and large-table work, and a long drift: under 64,000 characters, whole rows, lists bounded", async () => {
    const files = Array.from({ length: 3000 }, (_, i) => ({ version: String(20300101000000 + i), name: `t${i}`, sql: `CREATE TABLE t${i} (id bigint PRIMARY KEY);\n` }));
    const set = await readMigrationSet(await writeSet(files));
    const long = "x".repeat(2_000);
    const rehearsed: RehearsedFile[] = set.files.map((f) => ({
      folder: f.folder,
      file: f.relativePath,
      mode: f.mode,
      outcome: "applied",
      durationMs: 1,
      changes: { summary: { added: { table: 1, index: 40 }, altered: { column: 3 }, removed: {} }, lines: [] },
      locks: {
        held: [],
        notHeld: [],
        findings: Array.from({ length: 20 }, (_, j) => ({
          table: `"T${j}"`,
          held: "ACCESS EXCLUSIVE" as const,
          kind: "unpredicted" as const,
          predicted: [],
          line: `held ACCESS EXCLUSIVE on "T${j}" ${long}`,
        })),
      },
      work: [{ line: 1, table: `"t${f.version}"`, work: "rewrites", why: long, size: { rows: 10_000_000, pages: 100_000, bytes: 819_200_000 }, large: true }],
    }));
    const rehearsal: Rehearsal = {
      database: "u@h:5432/d",
      serverVersion: "17.6",
      major: 17,
      majorFrom: "database",
      applied: { files: 0, from: "ledger", head: null },
      drift: {
        matches: false,
        liveSha256: "a",
        replaySha256: "b",
        differences: Array.from({ length: 500 }, (_, i) => ({ kind: "column", name: `"c${i}"`, change: "added", line: `column ${i} ${long}` })),
      },
      pending: rehearsed,
      summary: { applied: 3000, failed: 0, changes: { added: { table: 3000 }, altered: {}, removed: {} }, lockFindings: 60_000, largeTableWork: 3000 },
      largeTableRows: 100_000,
      notes: [],
    };
    const review = buildReview({
      stack: "prod",
      set,
      ledger: [],
      appliedFrom: "database",
      lint: [],
      preview: summarisePreview(previewJson(undefined, {})),
      lintMajor: 17,
      rehearsal,
    });
    const text = renderReview(review);
    expect(text.length).toBeLessThanOrEqual(COMMENT_LIMIT);
    expect(text).toContain(
      "Rehearsed on PostgreSQL 17.6: 3000 pending files apply; +3000 tables; 60000 lock findings; 3000 statements rewriting or scanning a large table.",
    );
    expect(text).toContain("- …and 59990 more (`npm run migrate -- rehearse` lists them all)");
    expect(text).toContain("- …and 490 more (`npm run migrate -- drift --replay` lists them all)");
    const rows = text.split("\n").filter((l) => /^\| \d+ \|/.test(l));
    expect(rows.length).toBeGreaterThan(10);
    expect(rows.every((l) => l.endsWith(" |") && l.split(" | ").length === 7)).toBe(true);
    expect(rows[0]).toContain("| +1 table, +40 indexes, ~3 columns |");
    expect(text).toMatch(/…and \*\*\d+ more pending files\*\*/);
    expect(text.trimEnd().endsWith("</details>")).toBe(true);
  });
});
