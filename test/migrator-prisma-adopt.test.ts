/**
 * A database Prisma migrated is adopted, and mirror mode writes the rows Prisma would have. What
 * Prisma does is pinned from prisma/prisma-engines (its CLI cannot run here):
 * - the table and what each column means: schema-engine/ARCHITECTURE.md ("The _prisma_migrations
 *   table") and schema-engine/connectors/schema-connector/src/migration_persistence.rs (`MigrationRecord`);
 *   the DDL: schema-engine/connectors/sql-schema-connector/src/flavour/postgres.rs (`create_migrations_table`);
 * - applied = finished_at set and rolled_back_at null; a row with neither is a failed migration that
 *   `deploy` refuses until `prisma migrate resolve`: schema-engine/core/src/commands/apply_migrations.rs
 *   (`detect_failed_migrations`, `unapplied_migrations`) and diagnose_migration_history.rs;
 *   `resolve --applied` marks the failed row rolled back and adds one with finished_at = started_at (ARCHITECTURE.md);
 * - the checksum: schema-engine/connectors/schema-connector/src/checksum.rs (`script_matches_checksum`):
 *   sha256 hex of the text, also of the text with CRLF→LF or LF→CRLF, and the unpadded hex of
 *   prisma-engines#1887 for a checksum that is not 64 characters long.
 */
import { createHash } from "node:crypto";
import { readFile, writeFile } from "node:fs/promises";
import path from "node:path";
import pg from "pg";
import { afterAll, describe, expect, test } from "vitest";
import { matchesPrismaChecksum, planAdoption, prismaChecksum, type PrismaRow } from "../migrator/prisma-history.js";
import { readMigrationSet, type MigrationFile, type MigrationSet } from "../migrator/files.js";
import { manifestEnvironment } from "../migrator/manifest.js";
import { runReview } from "../review/cli.js";
import { migrate, migrateJson, printed, ROOT } from "./support/cli.js";
import { freshDatabase, withTestClient } from "./support/database.js";
import { query, relationExists } from "./support/migrator-db.js";
import { insertPrismaRow, migrateAsPrisma, PRISMA_DDL, prismaSha, prismaView, unpaddedSha } from "./support/prisma.js";
import { removeSets, writeSet, writeVerifySet, type SetFile } from "./support/sets.js";

afterAll(removeSets);

/** Each file leaves a mark in `runs`, so a file run twice shows as a second mark (or a failure). */
const SET: SetFile[] = [
  {
    version: "20240101000000",
    name: "init",
    sql: "CREATE TABLE runs (folder text PRIMARY KEY);\nCREATE TABLE \"Item\" (id serial PRIMARY KEY, note text);\nINSERT INTO runs VALUES ('init');\n",
  },
  { version: "20240102000000", name: "note", sql: "ALTER TABLE \"Item\" ADD COLUMN size integer;\nINSERT INTO runs VALUES ('note');\n" },
  { version: "20240103000000", name: "index", sql: 'CREATE INDEX CONCURRENTLY "Item_note_idx" ON "Item"(note);\n' },
  { version: "20240104000000", name: "later", sql: "INSERT INTO runs VALUES ('later');\n" },
];
const folders = SET.map((f) => `${f.version}_${f.name}`);

const ledgerOf = (url: string) =>
  query<{ folder: string; status: string; applied_at: Date; duration_ms: number | null }>(
    url,
    `SELECT folder, status, applied_at, duration_ms FROM migrator.applied_migrations ORDER BY folder COLLATE "C"`,
  );
const runsOf = async (url: string) => (await query<{ folder: string }>(url, `SELECT folder FROM runs ORDER BY folder`)).map((r) => r.folder);
const args = (url: string, dir: string, ...more: string[]) => ["--database-url", url, "--dir", dir, ...more];

/** A database where Prisma ran the first `n` files of SET. */
async function migratedByPrisma(n: number, set: SetFile[] = SET) {
  const dir = await writeSet(set);
  const url = await freshDatabase("adopt");
  await migrateAsPrisma(url, dir, folders.slice(0, n));
  return { dir, url };
}

describe("Prisma's checksum rules (checksum.rs), pure", () => {
  test("sha256 in lowercase hex, zero-padded: checksum.rs's own vector for 'hello'", () => {
    expect(prismaChecksum("hello")).toBe("2cf24dba5fb0a30e26e83b2ac5b9e29e1b161e5c1fa7425e73043362938b9824");
  });

  test("line endings either way match (checksum.rs, script_matches_checksum_is_line_ending_agnostic)", () => {
    for (const pair of [
      ["ab\ncd\nef\ngh\rab", "ab\r\ncd\r\nef\r\ngh\rab"],
      ["ab\ncd\nef\ngh\rab\n", "ab\r\ncd\r\nef\r\ngh\rab\r\n"],
    ]) {
      for (const a of pair) for (const b of pair) expect(matchesPrismaChecksum(a, prismaSha(b))).toBe(true);
    }
  });

  test("a different text does not match (checksum.rs, script_matches_checksum_negative)", () => {
    expect(matchesPrismaChecksum("abc", prismaSha("abcd"))).toBe(false);
    expect(matchesPrismaChecksum("abc\n", prismaSha("abc"))).toBe(false);
  });

  test("an unpadded checksum (prisma-engines#1887) matches its text, and only in that form", () => {
    const text = textWithUnpaddedDigest();
    const old = unpaddedSha(text);
    expect(old.length).toBeLessThan(64);
    expect(matchesPrismaChecksum(text, old)).toBe(true);
    expect(matchesPrismaChecksum(`${text} `, old)).toBe(false);
  });
});

/** A text whose sha256 has a byte below 0x10, so its unpadded hex is shorter than 64 characters. */
function textWithUnpaddedDigest(base = "INSERT INTO runs VALUES ('note');\n"): string {
  for (let i = 0; ; i++) {
    const text = `${base}-- ${i}\n`;
    if (unpaddedSha(text).length < 64) return text;
  }
}

describe("planAdoption, pure", () => {
  const file = (folder: string): MigrationFile =>
    ({
      folder,
      version: folder.split("_")[0]!,
      name: folder.split("_").slice(1).join("_"),
      relativePath: `${folder}/migration.sql`,
      checksum: "x",
      transactional: true,
    }) as MigrationFile;
  const set: MigrationSet = { dir: "/set", files: ["1_a", "2_b", "3_c"].map(file) };
  const text = (f: MigrationFile) => `-- ${f.folder}\n`;
  const row = (name: string, over: Partial<PrismaRow> = {}): PrismaRow => ({
    id: `id-${name}-${over.startedAt?.getTime() ?? 0}`,
    checksum: prismaSha(`-- ${name}\n`),
    migrationName: name,
    startedAt: new Date("2024-01-01T00:00:00Z"),
    finishedAt: new Date("2024-01-01T00:00:02Z"),
    rolledBackAt: null,
    logs: null,
    ...over,
  });

  test("a prefix of the set is adopted in folder order; the rest stays pending", () => {
    const planned = planAdoption(set, [], [row("2_b"), row("1_a")], text);
    expect(planned.problems).toEqual([]);
    expect(planned.adoptions.map((a) => a.file.folder)).toEqual(["1_a", "2_b"]);
  });

  test("a gap (a file Prisma never finished before one it did) is refused, naming both and the way out", () => {
    const planned = planAdoption(set, [], [row("1_a"), row("3_c")], text);
    expect(planned.problems).toHaveLength(1);
    expect(planned.problems[0]!.file).toBe("2_b/migration.sql");
    expect(planned.problems[0]!.message).toContain("3_c, which sorts after it");
    expect(planned.problems[0]!.message).toContain('npx prisma migrate resolve --applied "2_b"');
    expect(planAdoption(set, [], [row("1_a"), row("3_c")], text, { allowOutOfOrder: true }).problems).toEqual([]);
  });

  test("an edited file before an adopted one is one problem (edited), not a gap as well", () => {
    const planned = planAdoption(set, [], [row("1_a"), row("2_b", { checksum: prismaSha("other") }), row("3_c")], text);
    expect(planned.problems.map((p) => [p.file, p.message.slice(0, 34)])).toEqual([["2_b/migration.sql", "was edited after Prisma applied it"]]);
  });

  test("rows of folders the ledger already records are not looked at", () => {
    const ledgerRow = { folder: "1_a", status: "applied" } as never;
    const planned = planAdoption(set, [ledgerRow], [row("1_a", { checksum: "wrong" }), row("2_b")], text);
    expect(planned.problems).toEqual([]);
    expect(planned.adoptions.map((a) => a.file.folder)).toEqual(["2_b"]);
  });
});

describe("adopting a database Prisma migrated", () => {
  test("plan and status say what adoption will do, change nothing; apply adopts with Prisma's times, runs the rest, and a rerun is a no-op", async () => {
    const { dir, url } = await migratedByPrisma(3);
    const prisma = await query<{ migration_name: string; finished_at: Date; ms: number }>(
      url,
      `SELECT migration_name, finished_at, extract(epoch FROM finished_at - started_at)::float8 * 1000 AS ms FROM _prisma_migrations ORDER BY migration_name`,
    );

    const planned = await migrate(["plan", ...args(url, dir)]);
    expect(planned.code, printed(planned)).toBe(0);
    expect(planned.stdout).toContain(`adopts 3 files from Prisma's history (_prisma_migrations), ${folders[0]} … ${folders[2]}, runs none of them`);
    expect(planned.stdout).toContain(folders[3]);
    const planJson = await migrateJson(["plan", ...args(url, dir)]);
    expect(planJson.json.adopts.map((a: { folder: string }) => a.folder)).toEqual(folders.slice(0, 3));
    expect(planJson.json.steps.map((s: { folder: string }) => s.folder)).toEqual([folders[3]]);

    const status = await migrateJson(["status", ...args(url, dir)]);
    expect(status.code, printed(status)).toBe(0);
    expect(status.json.adopts.map((a: { folder: string }) => a.folder)).toEqual(folders.slice(0, 3));
    expect(status.json.adopts[0].finishedAt).toBe(prisma[0]!.finished_at.toISOString());
    expect(status.json.pending.map((p: { folder: string }) => p.folder)).toEqual([folders[3]]);
    expect((await migrate(["status", ...args(url, dir)])).stdout).toContain("3 to adopt, 1 pending");
    // Neither wrote anything: no ledger yet.
    expect(await relationExists(url, "migrator.applied_migrations")).toBe(false);

    const applied = await migrate(["apply", ...args(url, dir)]);
    expect(applied.code, printed(applied)).toBe(0);
    expect(applied.stdout).toContain("adopted     3 files from Prisma's history (_prisma_migrations)");
    expect(applied.stdout).toContain(
      `Adopted 3 files from Prisma's history (_prisma_migrations), ${folders[0]} … ${folders[2]}, running none of them. Applied 1 migration`,
    );
    const ledger = await ledgerOf(url);
    expect(ledger.map((r) => [r.folder, r.status])).toEqual([...folders.slice(0, 3).map((f) => [f, "adopted"]), [folders[3], "applied"]]);
    for (const [i, p] of prisma.entries()) {
      // applied_at is Prisma's finished_at; the duration from its started_at (in whole milliseconds).
      expect(ledger[i]!.applied_at.toISOString()).toBe(p.finished_at.toISOString());
      expect(Math.abs(ledger[i]!.duration_ms! - p.ms)).toBeLessThanOrEqual(0.5);
    }
    // Each file ran once: Prisma's marks and the one new file's, none twice (a rerun of init would have failed on CREATE TABLE).
    expect(await runsOf(url)).toEqual(["init", "later", "note"]);

    const again = await migrateJson(["apply", ...args(url, dir)]);
    expect(again.code, printed(again)).toBe(0);
    expect(again.json.adopted).toEqual([]);
    expect(again.json.results).toEqual([]);
    expect(await runsOf(url)).toEqual(["init", "later", "note"]);
    // Prisma's table is read, never written, by default.
    expect((await query(url, `SELECT count(*)::int AS n FROM _prisma_migrations`))[0].n).toBe(3);
  });

  test("lint against it, before adoption, lints only what Prisma never finished: apply adopts the rest", async () => {
    const { dir, url } = await migratedByPrisma(3);
    const linted = await migrateJson(["lint", ...args(url, dir)]);
    expect(linted.json.scope).toBe("pending");
    expect(linted.json.linted).toEqual([`${folders[3]}/migration.sql`]);
  });

  test("a rolled-back attempt followed by a finished one (prisma migrate resolve --applied) is adopted with the finished row's times", async () => {
    const dir = await writeSet(SET.slice(0, 2));
    const url = await freshDatabase("adopt");
    await migrateAsPrisma(url, dir, folders.slice(0, 1));
    const text = SET[1]!.sql as string;
    await withTestClient(url, async (c) => {
      await c.query(text);
      await insertPrismaRow(c, {
        name: folders[1]!,
        checksum: prismaSha(text),
        startedAt: "2024-02-01T10:00:00Z",
        rolledBackAt: "2024-02-01T11:00:00Z",
        logs: "Database error: column exists",
      });
      await insertPrismaRow(c, { name: folders[1]!, checksum: prismaSha(text), startedAt: "2024-02-01T11:00:00Z", finishedAt: "2024-02-01T11:00:00Z" });
    });
    const applied = await migrate(["apply", ...args(url, dir)]);
    expect(applied.code, printed(applied)).toBe(0);
    const ledger = await ledgerOf(url);
    expect(ledger.map((r) => r.status)).toEqual(["adopted", "adopted"]);
    expect(ledger[1]!.applied_at.toISOString()).toBe("2024-02-01T11:00:00.000Z");
    expect(ledger[1]!.duration_ms).toBe(0);
  });

  test("a failed row is refused, naming it and both prisma migrate resolve commands; nothing changes", async () => {
    const dir = await writeSet(SET.slice(0, 2));
    const url = await freshDatabase("adopt");
    await migrateAsPrisma(url, dir, folders.slice(0, 1));
    await withTestClient(url, (c) => insertPrismaRow(c, { name: folders[1]!, checksum: prismaSha(SET[1]!.sql as string), logs: 'ERROR: column "size" already exists' }));
    for (const verb of ["plan", "apply"]) {
      const run = await migrate([verb, ...args(url, dir)]);
      expect(run.code, printed(run)).toBe(1);
      expect(run.stderr).toContain(`${folders[1]}/migration.sql: failed when Prisma ran it`);
      expect(run.stderr).toContain('Prisma logged: ERROR: column "size" already exists');
      expect(run.stderr).toContain(`npx prisma migrate resolve --applied "${folders[1]}"`);
      expect(run.stderr).toContain(`npx prisma migrate resolve --rolled-back "${folders[1]}"`);
    }
    const status = await migrateJson(["status", ...args(url, dir)]);
    expect(status.code).toBe(1);
    expect(status.json.problems[0].file).toBe(`${folders[1]}/migration.sql`);
    expect(await relationExists(url, "migrator.applied_migrations")).toBe(false);
    expect(await runsOf(url)).toEqual(["init"]);
  });

  test("a checksum over CRLF text, over LF text of a CRLF file, and an unpadded one are adopted", async () => {
    const crlfOnDisk = "INSERT INTO runs VALUES ('note');\r\nALTER TABLE \"Item\" ADD COLUMN size integer;\r\n";
    const unpaddedText = textWithUnpaddedDigest("INSERT INTO runs VALUES ('later');\n");
    const set: SetFile[] = [SET[0]!, { ...SET[1]!, sql: crlfOnDisk }, { ...SET[3]!, sql: unpaddedText }];
    const dir = await writeSet(set);
    const url = await freshDatabase("adopt");
    const names = set.map((f) => `${f.version}_${f.name}`);
    await migrateAsPrisma(url, dir, names);
    await withTestClient(url, async (c) => {
      // Applied from a checkout with the other line endings (checksum.rs: "git messes with line endings").
      await c.query(`UPDATE _prisma_migrations SET checksum = $1 WHERE migration_name = $2`, [prismaSha((SET[0]!.sql as string).replaceAll("\n", "\r\n")), names[0]]);
      await c.query(`UPDATE _prisma_migrations SET checksum = $1 WHERE migration_name = $2`, [prismaSha(crlfOnDisk.replaceAll("\r\n", "\n")), names[1]]);
      // Written by a schema engine before prisma-engines#1887 was fixed.
      await c.query(`UPDATE _prisma_migrations SET checksum = $1 WHERE migration_name = $2`, [unpaddedSha(unpaddedText), names[2]]);
    });
    const applied = await migrate(["apply", ...args(url, dir)]);
    expect(applied.code, printed(applied)).toBe(0);
    expect((await ledgerOf(url)).map((r) => r.status)).toEqual(["adopted", "adopted", "adopted"]);
    expect(await runsOf(url)).toEqual(["init", "later", "note"]);
  });

  test("a checksum mismatch is refused, naming the file and both checksums; nothing changes", async () => {
    const { dir, url } = await migratedByPrisma(2);
    const recorded = prismaSha(SET[1]!.sql as string);
    const edited = `${SET[1]!.sql}-- edited after it ran\n`;
    await writeFile(path.join(dir, folders[1]!, "migration.sql"), edited);
    const run = await migrate(["apply", ...args(url, dir)]);
    expect(run.code, printed(run)).toBe(1);
    expect(run.stderr).toContain(`${folders[1]}/migration.sql: was edited after Prisma applied it`);
    expect(run.stderr).toContain(`checksum ${recorded} in _prisma_migrations, ${prismaSha(edited)} on disk`);
    expect(run.stderr).toContain("nothing was applied");
    expect(await relationExists(url, "migrator.applied_migrations")).toBe(false);
    expect(await runsOf(url)).toEqual(["init", "note"]);
  });

  test("a finished row with no folder in the set is refused (tolerated with --ignore-unknown), and so is a gap", async () => {
    const { dir, url } = await migratedByPrisma(2);
    await withTestClient(url, (c) => insertPrismaRow(c, { name: "20231231000000_gone", checksum: prismaSha("x"), finishedAt: "2023-12-31T00:00:00Z" }));
    const run = await migrate(["apply", ...args(url, dir)]);
    expect(run.code, printed(run)).toBe(1);
    expect(run.stderr).toContain(
      "20231231000000_gone: is applied in Prisma's history (_prisma_migrations, finished 2023-12-31T00:00:00.000Z) but no such migration is in the set",
    );
    expect(await relationExists(url, "migrator.applied_migrations")).toBe(false);
    const tolerated = await migrate(["apply", ...args(url, dir, "--ignore-unknown")]);
    expect(tolerated.code, printed(tolerated)).toBe(0);
    expect((await ledgerOf(url)).map((r) => [r.folder, r.status])).toEqual([
      [folders[0], "adopted"],
      [folders[1], "adopted"],
      [folders[2], "applied"],
      [folders[3], "applied"],
    ]);

    const gap = await migratedByPrisma(0);
    await migrateAsPrisma(gap.url, gap.dir, [folders[0]!, folders[3]!]);
    const refused = await migrate(["apply", ...args(gap.url, gap.dir)]);
    expect(refused.code, printed(refused)).toBe(1);
    expect(refused.stderr).toContain(`${folders[1]}/migration.sql: is not applied in Prisma's history (_prisma_migrations), but ${folders[3]}, which sorts after it, is`);
    expect(refused.stderr).toContain(`${folders[2]}/migration.sql: is not applied`);
    expect(await relationExists(gap.url, "migrator.applied_migrations")).toBe(false);
  });

  test("a ledger made before `adopted` existed (its CHECK lists three statuses) is altered in place and adopts", async () => {
    const { dir, url } = await migratedByPrisma(2);
    await withTestClient(url, (c) =>
      c.query(`CREATE SCHEMA migrator;
        CREATE TABLE migrator.applied_migrations (
          folder text PRIMARY KEY, version text NOT NULL, name text NOT NULL, checksum text NOT NULL, transactional boolean NOT NULL,
          status text NOT NULL CHECK (status IN ('applied', 'baselined', 'started')),
          applied_at timestamptz NOT NULL DEFAULT now(), duration_ms integer, applied_by text NOT NULL DEFAULT current_user, client_addr inet DEFAULT inet_client_addr());`),
    );
    const run = await migrate(["apply", ...args(url, dir)]);
    expect(run.code, printed(run)).toBe(0);
    expect((await ledgerOf(url)).map((r) => r.status)).toEqual(["adopted", "adopted", "applied", "applied"]);
    const constraints = await query<{ def: string }>(
      url,
      `SELECT pg_get_constraintdef(oid) AS def FROM pg_constraint WHERE conrelid = 'migrator.applied_migrations'::regclass AND contype = 'c'`,
    );
    expect(constraints).toHaveLength(1);
    expect(constraints[0]!.def).toContain("'adopted'");
    // The verification counts adopted files as done.
    const checks = await writeVerifySet(
      Object.fromEntries(
        await Promise.all(["02_migrations_applied", "03_no_unknown_migrations"].map(async (n) => [n, await readFile(path.join(ROOT, "sql/verify", `${n}.sql`), "utf8")])),
      ),
    );
    const verified = await migrateJson(["verify", ...args(url, dir), "--verify-dir", checks]);
    expect(verified.code, printed(verified)).toBe(0);
    expect(verified.json.checks.find((c: { name: string }) => c.name === "migrations_applied").detail).toBe(
      "4 of 4 files on disk in the ledger with a matching checksum (2 applied, 0 baselined, 2 adopted)",
    );
  });
});

describe("Prisma's own lock (postgres.rs, acquire_lock: pg_advisory_lock(72707369))", () => {
  test("apply on a database with Prisma's history refuses while prisma migrate holds it, naming the holder; nothing changes", async () => {
    const { dir, url } = await migratedByPrisma(2);
    const prisma = new pg.Client({ connectionString: url, application_name: "prisma-migrate" });
    await prisma.connect();
    try {
      await prisma.query(`SELECT pg_advisory_lock(72707369)`);
      const run = await migrate(["apply", ...args(url, dir)]);
      expect(run.code, printed(run)).toBe(1);
      expect(run.stderr).toMatch(
        /Prisma's schema engine holds its migration lock on this database \(advisory lock 72707369: pid \d+, user \w+, application "prisma-migrate"/,
      );
      expect(await relationExists(url, "migrator.applied_migrations")).toBe(false);
    } finally {
      await prisma.end();
    }
    const run = await migrate(["apply", ...args(url, dir)]);
    expect(run.code, printed(run)).toBe(0);
    // And it is released after the run: Prisma can take it again at once.
    expect((await query<{ ok: boolean }>(url, `SELECT pg_try_advisory_lock(72707369) AS ok`))[0]!.ok).toBe(true);
  });
});

describe("the review (npm run review) on a database Prisma migrated", () => {
  const APPLY = "urn:pulumi:local::pg-migrations::command:local:Command::migration-apply";
  /** A first preview, as the engine prints it (test/review-command.test.ts has the shape): the apply command is created. */
  const firstPreview = async (dir: string) => {
    const environment = { ...manifestEnvironment(await readMigrationSet(dir)), DATABASE_URL: "[secret]" };
    const file = path.join(dir, "..", `${path.basename(dir)}-preview.json`);
    await writeFile(
      file,
      JSON.stringify({
        steps: [{ op: "create", urn: APPLY, type: "command:local:Command", newState: { type: "command:local:Command", inputs: { environment } } }],
        diagnostics: [],
        changeSummary: {},
      }),
    );
    return file;
  };
  const review = async (argv: string[]) => {
    let stdout = "";
    let stderr = "";
    const code = await runReview(argv, { stdout: (t) => (stdout += t), stderr: (t) => (stderr += t), env: {} });
    return { code, stdout, stderr };
  };

  test("with the database: adopts N files from Prisma's history, and only the rest is pending; with the preview alone it says it cannot know", async () => {
    const { dir, url } = await migratedByPrisma(3);
    const preview = await firstPreview(dir);
    const reached = await review(["--stack", "local", "--preview-json", preview, "--dir", dir, "--database-url", url]);
    expect(reached.code, reached.stderr).toBe(0);
    expect(reached.stdout).toContain(
      `**Adopts 3 files from Prisma's history** (\`_prisma_migrations\`, \`${folders[0]}\` … \`${folders[2]}\`): \`up\` records them as adopted and runs none of them.`,
    );
    expect(reached.stdout).toContain("**1 file pending");
    const alone = await review(["--stack", "local", "--preview-json", preview, "--dir", dir]);
    expect(alone.code, alone.stderr).toBe(0);
    expect(alone.stdout).toContain("Read from the preview alone, which cannot see the database: if it holds Prisma's `_prisma_migrations`, the first `up` adopts");
    expect(alone.stdout).toContain("**4 files pending");
    expect(await relationExists(url, "migrator.applied_migrations")).toBe(false);
  });
});

describe("--prisma-history mirror", () => {
  test("every file applied or baselined gets the row Prisma would have written; Prisma's rules count each as applied", async () => {
    const dir = await writeSet(SET);
    const url = await freshDatabase("mirror");
    // The database already holds init's schema, so init is baselined (recorded, not run) and the rest applied.
    await withTestClient(url, (c) => c.query(`CREATE TABLE runs (folder text PRIMARY KEY); CREATE TABLE "Item" (id serial PRIMARY KEY, note text)`));
    const run = await migrate(["apply", ...args(url, dir, "--prisma-history", "mirror", "--baseline", folders[0]!)]);
    expect(run.code, printed(run)).toBe(0);
    expect(await runsOf(url)).toEqual(["later", "note"]);

    // The table is Prisma's, column for column.
    const reference = await freshDatabase("prisma_ddl");
    await withTestClient(reference, (c) => c.query(PRISMA_DDL));
    const columns = (u: string) =>
      query(
        u,
        `SELECT column_name, data_type, character_maximum_length, is_nullable, column_default FROM information_schema.columns WHERE table_name = '_prisma_migrations' ORDER BY ordinal_position`,
      );
    expect(await columns(url)).toEqual(await columns(reference));

    const texts = await Promise.all(folders.map((f) => readFile(path.join(dir, f, "migration.sql"), "utf8")));
    await withTestClient(url, async (c) => {
      const view = await prismaView(c, folders);
      expect(view.failed).toEqual([]);
      for (const [i, f] of folders.entries()) {
        expect(view.applied[f], f).toBe(true);
        expect(view.checksums[f]).toEqual([createHash("sha256").update(texts[i]!).digest("hex")]);
      }
      const rows = await c.query(
        `SELECT migration_name, logs, applied_steps_count, started_at <= finished_at AS ordered, id ~ '^[0-9a-f-]{36}$' AS uuid FROM _prisma_migrations ORDER BY migration_name`,
      );
      expect(rows.rows).toEqual([
        { migration_name: folders[0], logs: "", applied_steps_count: 0, ordered: true, uuid: true },
        ...folders.slice(1).map((f) => ({ migration_name: f, logs: null, applied_steps_count: 1, ordered: true, uuid: true })),
      ]);
    });

    const again = await migrate(["apply", ...args(url, dir, "--prisma-history", "mirror")]);
    expect(again.code, printed(again)).toBe(0);
    expect((await query(url, `SELECT count(*)::int AS n FROM _prisma_migrations`))[0].n).toBe(4);
  });

  test("switched on for a database the migrator applied, the files already recorded get their rows first", async () => {
    const dir = await writeSet(SET);
    const url = await freshDatabase("mirror");
    expect((await migrate(["apply", ...args(url, dir)])).code).toBe(0);
    expect(await relationExists(url, "_prisma_migrations")).toBe(false);
    const run = await migrate(["apply", ...args(url, dir, "--prisma-history", "mirror")]);
    expect(run.code, printed(run)).toBe(0);
    await withTestClient(url, async (c) => {
      const view = await prismaView(c, folders);
      expect(Object.values(view.applied)).toEqual([true, true, true, true]);
      expect(view.failed).toEqual([]);
    });
  });

  test("a role that may not write Prisma's table is refused before anything runs", async () => {
    const dir = await writeSet(SET);
    const url = await freshDatabase("mirror");
    const role = `nopriv_${Math.random().toString(36).slice(2, 8)}`;
    await withTestClient(url, (c) =>
      c.query(`${PRISMA_DDL}
        CREATE ROLE ${role} LOGIN PASSWORD 'nopriv-password';
        GRANT CREATE ON DATABASE ${new URL(url).pathname.slice(1)} TO ${role};
        GRANT CREATE, USAGE ON SCHEMA public TO ${role};
        GRANT SELECT ON _prisma_migrations TO ${role};`),
    );
    const asRole = new URL(url);
    asRole.username = role;
    asRole.password = "nopriv-password";
    const run = await migrate(["apply", ...args(asRole.toString(), dir, "--prisma-history", "mirror")]);
    expect(run.code, printed(run)).toBe(1);
    expect(run.stderr).toContain(
      `--prisma-history mirror: the migrating role may not read and write Prisma's history "public"."_prisma_migrations"; grant it SELECT and INSERT there`,
    );
    expect(await relationExists(url, "migrator.applied_migrations")).toBe(false);
    expect(await relationExists(url, "runs")).toBe(false);
  });

  test("a bad mode is bad usage", async () => {
    const run = await migrate(["apply", "--prisma-history", "copy"]);
    expect(run.code).toBe(2);
    expect(run.stderr).toContain('--prisma-history "copy" is not one of ignore, mirror');
  });
});
