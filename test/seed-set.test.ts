import { cp, mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import type pg from "pg";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { runCli } from "../migrator/cli.js";
import { readMigrationSet } from "../migrator/files.js";
import { DEFAULT_LEDGER, qualifiedName } from "../migrator/ledger.js";
import { freshDatabase, withTestClient } from "./support/database.js";
import { CHECKS, MIGRATIONS, VERIFY } from "./support/seed-set.js";

// The v2.0 migration set (sql/migrations) and its checks (sql/verify), on a real PostgreSQL 17.

interface CliRun {
  code: number;
  stdout: string;
  stderr: string;
}

async function cli(argv: string[]): Promise<CliRun> {
  let stdout = "";
  let stderr = "";
  // An empty environment: the database is always named on the command line, never taken from PG*.
  const code = await runCli(argv, { stdout: (s) => (stdout += s), stderr: (s) => (stderr += s), env: {} });
  return { code, stdout, stderr };
}

async function apply(url: string, ...extra: string[]): Promise<CliRun> {
  return cli(["apply", "--database-url", url, "--dir", MIGRATIONS, "--quiet", ...extra]);
}

interface VerifyRun {
  code: number;
  checks: { name: string; ok: boolean; detail: string }[];
  passed: number;
  failed: number;
  /** Check name -> detail, for the assertions that read the evidence. */
  detail: Record<string, string>;
  failedNames: string[];
}

async function verify(url: string, dir = MIGRATIONS): Promise<VerifyRun> {
  const run = await cli(["verify", "--database-url", url, "--dir", dir, "--verify-dir", VERIFY, "--json", "--quiet"]);
  const report = JSON.parse(run.stdout) as Omit<VerifyRun, "code" | "detail" | "failedNames">;
  return {
    code: run.code,
    ...report,
    detail: Object.fromEntries(report.checks.map((c) => [c.name, c.detail])),
    failedNames: report.checks
      .filter((c) => !c.ok)
      .map((c) => c.name)
      .sort(),
  };
}

/** A new database with the whole set applied: for tests that break something. */
async function appliedDatabase(): Promise<string> {
  const url = await freshDatabase("seedset");
  const run = await apply(url);
  expect(run.code, run.stderr).toBe(0);
  return url;
}

/** Runs SQL on `url` in its own session (autocommit, so CONCURRENTLY works). */
async function sql(url: string, text: string): Promise<pg.QueryResult> {
  return withTestClient(url, (c) => c.query(text));
}

/** Breaks one truth with `breakSql` and expects exactly `failing` checks to fail, verify exiting 1. */
async function expectBroken(url: string, breakSql: string, failing: string[]): Promise<VerifyRun> {
  await sql(url, breakSql);
  const result = await verify(url);
  expect(result.failedNames).toEqual([...failing].sort());
  expect(result.code).toBe(1);
  expect(result.checks.map((c) => c.name)).toEqual(CHECKS);
  return result;
}

async function ledgerRows(url: string): Promise<unknown[]> {
  const { rows } = await sql(
    url,
    `SELECT version, name, checksum, transactional, status, applied_at, duration_ms FROM ${qualifiedName(DEFAULT_LEDGER)} ORDER BY version::numeric`,
  );
  return rows;
}

/** What a re-run would change: every object of the schema, with the file node that a rewrite or rebuild replaces. */
async function schemaFingerprint(url: string): Promise<unknown[]> {
  const { rows } = await sql(
    url,
    `SELECT c.relname, c.relkind, c.oid::int AS oid, c.relfilenode::int AS relfilenode,
            (SELECT array_agg(k.conname || ':' || k.convalidated::text ORDER BY k.conname) FROM pg_constraint k WHERE k.conrelid = c.oid) AS constraints,
            (SELECT array_agg(t.tgname || ':' || t.tgenabled::text ORDER BY t.tgname) FROM pg_trigger t WHERE t.tgrelid = c.oid AND NOT t.tgisinternal) AS triggers
       FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
      WHERE n.nspname = 'public'
      ORDER BY c.relname`,
  );
  return rows;
}

async function memberTotals(client: pg.Client, ids: string[]): Promise<Record<string, number>> {
  const { rows } = await client.query<{ id: string; totalPoints: string; ledger: string }>(
    `SELECT m.id, m."totalPoints", (SELECT coalesce(sum(p.points), 0) FROM "PointTransaction" p WHERE p."memberId" = m.id) AS ledger
       FROM "Member" m WHERE m.id = ANY($1) ORDER BY m.id`,
    [ids],
  );
  for (const row of rows) expect(row.totalPoints, `totalPoints of ${row.id} against its ledger`).toBe(row.ledger);
  return Object.fromEntries(rows.map((r) => [r.id, Number(r.totalPoints)]));
}

async function addMembers(client: pg.Client, ids: string[]): Promise<void> {
  await client.query(
    `INSERT INTO "Member" (id, email, username, "displayName", "updatedAt")
     SELECT id, id || '@example.test', id, initcap(id), now() FROM unnest($1::text[]) AS id`,
    [ids],
  );
}

const tmpDirs: string[] = [];
/** A copy of the migration set to edit, as a developer might on disk. */
async function copyOfSet(): Promise<string> {
  const dir = await mkdtemp(path.join(os.tmpdir(), "seed-set-"));
  tmpDirs.push(dir);
  await cp(MIGRATIONS, dir, { recursive: true });
  return dir;
}
afterAll(async () => {
  await Promise.all(tmpDirs.map((d) => rm(d, { recursive: true, force: true })));
});

test("the set's shape: 20 files, index files one CONCURRENTLY statement each outside a transaction", async () => {
  const set = await readMigrationSet(MIGRATIONS);
  expect(set.files).toHaveLength(20);
  expect(set.files[0]!.folder).toBe("0_init");
  expect(set.files[1]!.folder).toBe("20260123015816_add_v2_tables");
  expect(set.files[2]!.folder).toBe("20260123015817_validate_v2_fks");
  expect(set.files[19]!.folder).toBe("20260123015834_add_points_trigger");
  const indexFiles = set.files.slice(3, 19);
  expect(indexFiles.map((f) => f.version)).toEqual(Array.from({ length: 16 }, (_, i) => String(20260123015818 + i)));
  for (const f of indexFiles) {
    expect(f.name, f.folder).toMatch(/^idx_/);
    expect(f.transactional, f.folder).toBe(false);
    expect((await readFile(f.path, "utf8")).split("\n")[0], f.folder).toBe("-- migrate:no-transaction");
    expect(f.statements, f.folder).toHaveLength(1);
    expect(f.statements[0]!.index, f.folder).toMatchObject({ concurrent: true, ifNotExists: true });
  }
  for (const f of [...set.files.slice(0, 3), set.files[19]!]) expect(f.transactional, f.folder).toBe(true);
  const memberForeignKeys = set.files[1]!.statements.filter((s) => /FOREIGN KEY \("memberId"\) REFERENCES "Member"\("id"\)/.test(s.sql));
  expect(memberForeignKeys).toHaveLength(5);
  for (const s of memberForeignKeys) expect(s.sql).toMatch(/NOT VALID;?$/);
  expect(set.files[2]!.statements.filter((s) => /VALIDATE CONSTRAINT/.test(s.sql))).toHaveLength(5);
});

test("lint passes on the set", async () => {
  const run = await cli(["lint", "--dir", MIGRATIONS, "--json"]);
  expect(run.code, run.stdout).toBe(0);
  const report = JSON.parse(run.stdout) as { findings: unknown[]; errors: number; warnings: number };
  // Clean, not merely error-free: no advisory warning either.
  expect(report.findings).toEqual([]);
});

describe("on one database with the whole set applied", () => {
  let url: string;
  let firstApply: { results: { version: string; action: string }[] };

  beforeAll(async () => {
    url = await freshDatabase("seedset");
    const run = await apply(url, "--json");
    expect(run.code, run.stderr).toBe(0);
    firstApply = JSON.parse(run.stdout);
  });

  test("the set applies to an empty database, every check passes, and a second apply changes nothing", async () => {
    expect(firstApply.results).toHaveLength(20);
    expect(firstApply.results.every((r) => r.action === "applied")).toBe(true);

    const result = await verify(url);
    expect(result.checks.map((c) => c.name)).toEqual(CHECKS);
    expect(result.failedNames).toEqual([]);
    expect(result).toMatchObject({ code: 0, passed: CHECKS.length, failed: 0 });
    expect(result.detail.migrations_applied).toContain("20 of 20 files");
    expect(result.detail.v2_indexes).toBe("16 of 16 indexes present, 16 valid, 16 as written");
    expect(result.detail.member_foreign_keys).toContain('5 of 5 foreign keys to "Member" present, 5 validated');

    const ledgerBefore = await ledgerRows(url);
    const schemaBefore = await schemaFingerprint(url);
    const again = await apply(url, "--json");
    expect(again.code, again.stderr).toBe(0);
    const second = JSON.parse(again.stdout) as { results: unknown[]; alreadyApplied: unknown[] };
    expect(second.results).toEqual([]);
    expect(second.alreadyApplied).toHaveLength(20);
    expect(await ledgerRows(url)).toEqual(ledgerBefore);
    expect(await schemaFingerprint(url)).toEqual(schemaBefore);
  });

  test("the trigger keeps totalPoints equal to the ledger sum: single rows, many rows in one transaction, rollback", async () => {
    await withTestClient(url, async (c) => {
      const ids = ["trig_ann", "trig_bob", "trig_cyd"];
      await addMembers(c, ids);
      const insert = (member: string, points: number, action = "test") =>
        c.query(`INSERT INTO "PointTransaction" (id, "memberId", action, points) VALUES (gen_random_uuid()::text, $1, $2, $3)`, [member, action, points]);

      await insert("trig_ann", 10, "post");
      await insert("trig_ann", -3, "penalty");
      await insert("trig_bob", 5, "post");
      expect(await memberTotals(c, ids)).toEqual({ trig_ann: 7, trig_bob: 5, trig_cyd: 0 });

      // Many inserts in one transaction: one multi-row statement over all three members, then single rows.
      await c.query("BEGIN");
      await c.query(
        `INSERT INTO "PointTransaction" (id, "memberId", action, points, metadata)
         SELECT gen_random_uuid()::text, ($1::text[])[1 + g % 3], 'bulk', CASE WHEN g % 4 = 0 THEN -2 ELSE 3 END, jsonb_build_object('g', g)
           FROM generate_series(1, 3000) AS g`,
        [ids],
      );
      for (let i = 0; i < 50; i++) await insert(ids[i % 3]!, i % 2 === 0 ? 1 : -1);
      await c.query("COMMIT");
      // Row g goes to ids[g % 3] with -2 when g % 4 = 0, else +3; single row i goes to ids[i % 3].
      const bulk = (k: number) => {
        let sum = 0;
        for (let g = 1; g <= 3000; g++) if (g % 3 === k) sum += g % 4 === 0 ? -2 : 3;
        return sum;
      };
      const singles = (k: number) =>
        Array.from({ length: 50 }, (_, i) => i)
          .filter((i) => i % 3 === k)
          .reduce((s, i) => s + (i % 2 === 0 ? 1 : -1), 0);
      const expected = { trig_ann: 7 + bulk(0) + singles(0), trig_bob: 5 + bulk(1) + singles(1), trig_cyd: bulk(2) + singles(2) };
      expect(await memberTotals(c, ids)).toEqual(expected);

      await c.query("BEGIN");
      await insert("trig_ann", 1000);
      await c.query("ROLLBACK");
      expect(await memberTotals(c, ids)).toEqual(expected);
    });
  });

  test("the trigger is right under concurrency: multi-row inserts crediting the same members in opposite orders never deadlock", async () => {
    const ids = ["conc_a", "conc_b"];
    await withTestClient(url, (c) => addMembers(c, ids));
    const workers = Array.from({ length: 4 }, (_, w) =>
      withTestClient(url, async (c) => {
        for (let i = 0; i < 40; i++) {
          const [first, second] = (w + i) % 2 === 0 ? ["conc_a", "conc_b"] : ["conc_b", "conc_a"];
          await c.query(
            `INSERT INTO "PointTransaction" (id, "memberId", action, points)
             VALUES (gen_random_uuid()::text, $1, 'race', 2), (gen_random_uuid()::text, $2, 'race', -1)`,
            [first, second],
          );
        }
      }),
    );
    await Promise.all(workers);
    // 160 statements, each +2 for one member and -1 for the other, half of them each way round.
    await withTestClient(url, async (c) => expect(await memberTotals(c, ids)).toEqual({ conc_a: 80, conc_b: 80 }));
  });

  test("the ledger is append-only: UPDATE, DELETE and TRUNCATE are refused", async () => {
    await withTestClient(url, async (c) => {
      for (const statement of [`UPDATE "PointTransaction" SET points = 0`, `DELETE FROM "PointTransaction"`, `TRUNCATE "PointTransaction"`]) {
        await expect(c.query(statement), statement).rejects.toMatchObject({ code: "23001", message: expect.stringContaining("append-only") });
      }
    });
  });

  test("BenchmarkSubmission_data_idx serves JSONB containment (@>) queries", async () => {
    await withTestClient(url, async (c) => {
      await addMembers(c, ["bench_owner"]);
      await c.query(
        `INSERT INTO "BenchmarkSubmission" (id, "memberId", category, title, score, data, "updatedAt")
         SELECT 'bench_' || g, 'bench_owner', (ARRAY['CPU','GPU','MEMORY','STORAGE','NETWORK']::"BenchmarkCategory"[])[1 + g % 5],
                'run ' || g, g % 1000,
                jsonb_build_object('gpu', 'gpu-' || g % 500, 'cpu', 'cpu-' || g % 37, 'driver', g % 7, 'tags', jsonb_build_array('t' || g % 11)),
                now()
           FROM generate_series(1, 20000) AS g`,
      );
      // VACUUM as well as ANALYZE: rows inserted after the GIN index was built sit in its pending list
      // (fastupdate) until a vacuum merges them, and the planner rightly prices scanning that list
      // as dear enough to prefer a sequential scan. In production autovacuum does this merge.
      await c.query(`VACUUM ANALYZE "BenchmarkSubmission"`);
      for (const [filter, matches] of [
        [{ gpu: "gpu-42" }, 40],
        [{ cpu: "cpu-5", tags: ["t3"] }, 49],
      ] as const) {
        const query = `SELECT id FROM "BenchmarkSubmission" WHERE data @> $1::jsonb`;
        const plan = await c.query(`EXPLAIN (FORMAT JSON) ${query}`, [JSON.stringify(filter)]);
        expect(JSON.stringify(plan.rows[0]["QUERY PLAN"]), JSON.stringify(filter)).toContain('"Index Name":"BenchmarkSubmission_data_idx"');
        const rows = await c.query(query, [JSON.stringify(filter)]);
        expect(rows.rowCount).toBe(matches);
      }
    });
  });

  describe("the ledger checks compare the database with the files on disk", () => {
    test("an applied file edited on disk fails migrations_applied, naming the file", async () => {
      const dir = await copyOfSet();
      const file = path.join(dir, "20260123015820_idx_benchmark_submission_data", "migration.sql");
      await writeFile(file, (await readFile(file, "utf8")) + "-- an innocent-looking edit\n");
      const result = await verify(url, dir);
      expect(result.failedNames).toEqual(["migrations_applied"]);
      expect(result.code).toBe(1);
      expect(result.detail.migrations_applied).toMatch(/19 of 20 files.*20260123015820_idx_benchmark_submission_data: checksum on disk \w+ but \w+ was applied/);
    });

    test("a file on disk that is not applied fails migrations_applied", async () => {
      const dir = await copyOfSet();
      await cp(path.join(dir, "20260123015833_idx_point_transaction_action_created"), path.join(dir, "20260123015835_idx_later"), { recursive: true });
      const result = await verify(url, dir);
      expect(result.failedNames).toEqual(["migrations_applied"]);
      expect(result.detail.migrations_applied).toContain("20260123015835_idx_later: not in the ledger (pending)");
    });

    test("an applied version with no file fails no_unknown_migrations", async () => {
      const dir = await copyOfSet();
      await rm(path.join(dir, "20260123015834_add_points_trigger"), { recursive: true });
      const result = await verify(url, dir);
      expect(result.failedNames).toEqual(["no_unknown_migrations"]);
      expect(result.code).toBe(1);
      expect(result.detail.no_unknown_migrations).toMatch(/^1 ledger row\(s\) with no file on disk: 20260123015834_add_points_trigger \(applied at /);
    });
  });
});

describe("the points trigger's reconciliation", () => {
  test("ledger rows written before the trigger existed are counted, a stray total is reset, and the rest of Member is not scanned", async () => {
    const url = await freshDatabase("seedset");
    const copy = await mkdtemp(path.join(os.tmpdir(), "seed-reconcile-"));
    tmpDirs.push(copy);
    await cp(MIGRATIONS, copy, { recursive: true });
    const trigger = "20260123015834_add_points_trigger";
    await rm(path.join(copy, trigger), { recursive: true });
    expect((await apply(url, "--dir", copy)).code).toBe(0);

    await withTestClient(url, async (c) => {
      await addMembers(c, ["rec_ann", "rec_bob", "rec_cyd", "rec_dan"]);
      await c.query(
        `INSERT INTO "PointTransaction" (id, "memberId", action, points)
         VALUES ('r1', 'rec_ann', 'post', 10), ('r2', 'rec_ann', 'penalty', -4), ('r3', 'rec_bob', 'post', 7)`,
      );
      // Written by hand before the trigger: no ledger row backs it.
      await c.query(`UPDATE "Member" SET "totalPoints" = 99 WHERE id = 'rec_cyd'`);
    });

    await cp(path.join(MIGRATIONS, trigger), path.join(copy, trigger), { recursive: true });
    const run = await apply(url, "--dir", copy);
    expect(run.code, run.stderr).toBe(0);
    await withTestClient(url, async (c) => {
      expect(await memberTotals(c, ["rec_ann", "rec_bob", "rec_cyd", "rec_dan"])).toEqual({ rec_ann: 6, rec_bob: 7, rec_cyd: 0, rec_dan: 0 });
      // The reconciliation runs while every ledger insert waits on CREATE TRIGGER's lock: it must
      // reach members through the ledger and the totalPoints index, never by reading all of Member.
      const sql = await readFile(path.join(MIGRATIONS, trigger, "migration.sql"), "utf8");
      const updates = sql
        .split(/^-- Reconcile$/m)[1]!
        .split(/;\s*\n/)
        .filter((s) => /UPDATE/.test(s));
      expect(updates).toHaveLength(2);
      await c.query(`INSERT INTO "Member" (id, email, username, "displayName", "updatedAt")
                     SELECT 'fill_' || g, 'fill_' || g || '@example.test', 'fill_' || g, 'Fill', now() FROM generate_series(1, 3000) AS g`);
      await c.query(`ANALYZE "Member"; ANALYZE "PointTransaction"`);
      type Node = { "Relation Name"?: string; "Actual Rows": number; "Actual Loops": number; Plans?: Node[] };
      const memberRowsRead = (node: Node): number =>
        (node["Relation Name"] === "Member" ? node["Actual Rows"] * node["Actual Loops"] : 0) + (node.Plans ?? []).reduce((n, p) => n + memberRowsRead(p), 0);
      for (const update of updates) {
        await c.query("BEGIN");
        try {
          const rows = (await c.query(`EXPLAIN (ANALYZE, FORMAT JSON) ${update}`)).rows as { "QUERY PLAN": { Plan: Node }[] }[];
          expect(memberRowsRead(rows[0]!["QUERY PLAN"][0]!.Plan), update).toBeLessThan(50);
        } finally {
          await c.query("ROLLBACK");
        }
      }
    });
  });
});

describe("baseline path: a production database that already holds v1.0", () => {
  test("0_init is baselined, the other 19 are applied, existing members keep their rows and Member is not rewritten", async () => {
    const url = await freshDatabase("seedset");
    const init = await readFile(path.join(MIGRATIONS, "0_init", "migration.sql"), "utf8");
    const before = await withTestClient(url, async (c) => {
      await c.query(init);
      await addMembers(c, ["v1_ann", "v1_bob"]);
      return (await c.query(`SELECT pg_relation_filenode('"Member"')::int AS node`)).rows[0].node as number;
    });

    const run = await apply(url, "--baseline", "0", "--json");
    expect(run.code, run.stderr).toBe(0);
    const results = (JSON.parse(run.stdout) as { results: { version: string; action: string }[] }).results;
    expect(results.map((r) => `${r.version}:${r.action}`)).toEqual(["0:baselined", ...Array.from({ length: 19 }, (_, i) => `${20260123015816 + i}:applied`)]);

    await withTestClient(url, async (c) => {
      const after = (await c.query(`SELECT pg_relation_filenode('"Member"')::int AS node`)).rows[0].node;
      expect(after, "adding the v2.0 columns must not rewrite Member").toBe(before);
      const { rows } = await c.query(`SELECT id, "totalPoints", "currentStreak", "lastActiveAt" FROM "Member" ORDER BY id`);
      expect(rows).toEqual([
        { id: "v1_ann", totalPoints: "0", currentStreak: "0", lastActiveAt: null },
        { id: "v1_bob", totalPoints: "0", currentStreak: "0", lastActiveAt: null },
      ]);
    });

    const result = await verify(url);
    expect(result.failedNames).toEqual([]);
    expect(result.code).toBe(0);
    expect(result.detail.baseline_recorded).toMatch(/^0_init baselined at /);
    expect(result.detail.migrations_applied).toContain("20 of 20 files on disk in the ledger with a matching checksum (19 applied, 1 baselined)");
  });

  test("a v1.0 database migrated without recording the baseline fails baseline_recorded", async () => {
    const url = await freshDatabase("seedset");
    await sql(url, await readFile(path.join(MIGRATIONS, "0_init", "migration.sql"), "utf8"));
    const dir = await copyOfSet();
    await rm(path.join(dir, "0_init"), { recursive: true });
    const run = await cli(["apply", "--database-url", url, "--dir", dir, "--quiet"]);
    expect(run.code, run.stderr).toBe(0);

    const result = await verify(url);
    expect(result.failedNames).toEqual(["baseline_recorded", "migrations_applied"]);
    expect(result.code).toBe(1);
    expect(result.detail.baseline_recorded).toContain("0_init (version 0) is not in the ledger");
    expect(result.detail.migrations_applied).toContain("0_init: not in the ledger (pending)");
  });
});

describe("each check fails when its truth is broken", () => {
  test("a dropped index fails v2_indexes, naming it", async () => {
    const url = await appliedDatabase();
    const result = await expectBroken(url, `DROP INDEX "Member_totalPoints_idx"`, ["v2_indexes"]);
    expect(result.detail.v2_indexes).toBe("15 of 16 indexes present, 15 valid, 15 as written; missing: Member_totalPoints_idx");
  });

  test("an INVALID index left by a failed concurrent build fails no_invalid_indexes", async () => {
    const url = await appliedDatabase();
    await withTestClient(url, (c) => addMembers(c, ["dup_a", "dup_b"]));
    // Both members have totalPoints 0, so this unique build fails and leaves its index INVALID.
    await expect(sql(url, `CREATE UNIQUE INDEX CONCURRENTLY "Member_scratch_idx" ON "Member" ("totalPoints")`)).rejects.toThrow(/could not create unique index/);
    const result = await verify(url);
    expect(result.failedNames).toEqual(["no_invalid_indexes"]);
    expect(result.code).toBe(1);
    expect(result.detail.no_invalid_indexes).toMatch(/^1 of \d+ indexes in schema public are INVALID: Member_scratch_idx on Member/);
  });

  test("a GIN index with the default operator class fails gin_jsonb_path_ops (and v2_indexes)", async () => {
    const url = await appliedDatabase();
    const result = await expectBroken(
      url,
      `DROP INDEX "BenchmarkSubmission_data_idx"; CREATE INDEX "BenchmarkSubmission_data_idx" ON "BenchmarkSubmission" USING GIN ("data")`,
      ["gin_jsonb_path_ops", "v2_indexes"],
    );
    expect(result.detail.gin_jsonb_path_ops).toContain("USING gin (data jsonb_ops)");
    expect(result.detail.gin_jsonb_path_ops).toContain("expected operator class jsonb_path_ops");
  });

  test("a foreign key left NOT VALID fails member_foreign_keys and no_not_valid_constraints", async () => {
    const url = await appliedDatabase();
    const result = await expectBroken(
      url,
      `ALTER TABLE "ResourceDownload" DROP CONSTRAINT "ResourceDownload_memberId_fkey";
       ALTER TABLE "ResourceDownload" ADD CONSTRAINT "ResourceDownload_memberId_fkey"
         FOREIGN KEY ("memberId") REFERENCES "Member"("id") ON DELETE CASCADE ON UPDATE CASCADE NOT VALID`,
      ["member_foreign_keys", "no_not_valid_constraints"],
    );
    expect(result.detail.member_foreign_keys).toContain('5 of 5 foreign keys to "Member" present, 4 validated; NOT VALID: ResourceDownload_memberId_fkey');
    expect(result.detail.no_not_valid_constraints).toContain("ResourceDownload_memberId_fkey on ResourceDownload");
  });

  test("a disabled points trigger fails points_trigger, and the totals it then misses fail member_points_consistent", async () => {
    const url = await appliedDatabase();
    await withTestClient(url, (c) => addMembers(c, ["off_a"]));
    const result = await expectBroken(
      url,
      `ALTER TABLE "PointTransaction" DISABLE TRIGGER "trg_update_member_points";
       INSERT INTO "PointTransaction" (id, "memberId", action, points) VALUES ('missed', 'off_a', 'post', 5)`,
      ["points_trigger", "member_points_consistent"],
    );
    expect(result.detail.points_trigger).toContain("DISABLED");
    expect(result.detail.member_points_consistent).toContain("1 totals differ from the ledger sum: off_a has 0, ledger says 5");
  });

  test("a points trigger enabled for replica sessions only fails points_trigger: ordinary inserts skip it", async () => {
    const url = await appliedDatabase();
    const result = await expectBroken(url, `ALTER TABLE "PointTransaction" ENABLE REPLICA TRIGGER "trg_update_member_points"`, ["points_trigger"]);
    expect(result.detail.points_trigger).toContain("replica sessions only");
  });

  test("a dropped immutability trigger fails ledger_immutable", async () => {
    const url = await appliedDatabase();
    const result = await expectBroken(url, `DROP TRIGGER "trg_point_transaction_immutable" ON "PointTransaction"`, ["ledger_immutable"]);
    expect(result.detail.ledger_immutable).toContain("is missing");
  });

  test("a total changed behind the ledger's back fails member_points_consistent", async () => {
    const url = await appliedDatabase();
    await withTestClient(url, (c) => addMembers(c, ["drift_a", "drift_b"]));
    const result = await expectBroken(url, `UPDATE "Member" SET "totalPoints" = 99 WHERE id = 'drift_b'`, ["member_points_consistent"]);
    expect(result.detail.member_points_consistent).toBe(
      "2 members (0 with ledger entries, 0 entries): 1 totals differ from the ledger sum: drift_b has 99, ledger says 0",
    );
  });

  test("a missing table fails v2_tables (and the foreign key and indexes that went with it)", async () => {
    const url = await appliedDatabase();
    const result = await expectBroken(url, `DROP TABLE "DiscordActivity"`, ["v2_tables", "member_foreign_keys", "v2_indexes"]);
    expect(result.detail.v2_tables).toContain("4 of 5 tables present");
    expect(result.detail.v2_tables).toContain("missing: DiscordActivity");
    expect(result.detail.member_foreign_keys).toContain("missing: DiscordActivity_memberId_fkey");
  });

  test("a missing ledger table still gets its verdict from member_points_consistent, not an error", async () => {
    const url = await appliedDatabase();
    const result = await expectBroken(url, `DROP TABLE "PointTransaction"`, [
      "v2_tables",
      "member_foreign_keys",
      "v2_indexes",
      "points_trigger",
      "ledger_immutable",
      "member_points_consistent",
    ]);
    expect(result.detail.member_points_consistent).toContain('"PointTransaction" or "Member"."totalPoints" is missing');
  });

  test("a missing or changed Member column fails member_columns", async () => {
    const url = await appliedDatabase();
    const result = await expectBroken(url, `ALTER TABLE "Member" ALTER COLUMN "currentStreak" DROP DEFAULT; ALTER TABLE "Member" DROP COLUMN "lastActiveAt"`, [
      "member_columns",
      "v2_indexes", // Member_lastActiveAt_idx went with the column
    ]);
    expect(result.detail.member_columns).toBe(
      '1 of 3 columns as expected: "totalPoints" bigint NOT NULL DEFAULT 0; "currentStreak" bigint NOT NULL (expected bigint NOT NULL DEFAULT 0); "lastActiveAt" missing',
    );
  });

  test("an enum label that is gone fails v2_enums; a label added later does not", async () => {
    const url = await appliedDatabase();
    await sql(url, `ALTER TYPE "ResourceType" ADD VALUE 'PODCAST'`);
    expect((await verify(url)).failedNames).toEqual([]);
    // A label cannot be dropped, but it can be renamed away.
    const result = await expectBroken(url, `ALTER TYPE "DiscordActivityType" RENAME VALUE 'XP_SYNC' TO 'SYNC'`, ["v2_enums"]);
    expect(result.detail.v2_enums).toContain("DiscordActivityType(MESSAGE,VOICE,REACTION,LEVEL_UP,SYNC) missing XP_SYNC");
    expect(result.detail.v2_enums).toContain("(added later: PODCAST)");
  });
});
