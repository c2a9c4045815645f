/**
 * Files as Prisma writes them apply unchanged, with the same schema and data as Prisma's own way
 * of running them. How Prisma runs a file (prisma/prisma-engines,
 * schema-engine/connectors/sql-schema-connector/src/flavour/postgres/connection.rs, `raw_cmd`):
 * the whole `migration.sql` is one simple-protocol query. PostgreSQL runs a multi-statement simple
 * query as one implicit transaction and a one-statement one outside any transaction block. The
 * reference below does exactly that, with node-postgres (a query without parameters is a simple
 * query), file by file in folder order on a second database.
 */
import { readFile } from "node:fs/promises";
import path from "node:path";
import { afterAll, describe, expect, test } from "vitest";
import { takeCatalog } from "../migrator/catalog/index.js";
import { canonicalJson } from "../migrator/catalog/normalise.js";
import { DEFAULT_LEDGER } from "../migrator/ledger.js";
import { migrate, migrateJson, printed } from "./support/cli.js";
import { freshDatabase, withTestClient } from "./support/database.js";
import { ledgerRows, query } from "./support/migrator-db.js";
import { removeSets, writeSet, type SetFile } from "./support/sets.js";

afterAll(removeSets);

/** `prisma migrate diff` output for removing an enum value (prisma-engines' sql_renderer/postgres_renderer.rs, render_alter_enum). */
const ALTER_ENUM = `/*
  Warnings:

  - The values [green,blue] on the enum \`Color\` will be removed. If these variants are still used in the database, this will fail.

*/
-- AlterEnum
BEGIN;
CREATE TYPE "Color_new" AS ENUM ('red');
ALTER TABLE "Item" ALTER COLUMN "color" TYPE "Color_new" USING ("color"::text::"Color_new");
ALTER TYPE "Color" RENAME TO "Color_old";
ALTER TYPE "Color_new" RENAME TO "Color";
DROP TYPE "Color_old";
COMMIT;
`;

/**
 * Two enum rewrites and a column in one migration, as Prisma renders them: one BEGIN … COMMIT
 * block per enum beside the other statements (render_alter_enum, as above). Copied in form from
 * a real history (trigger.dev, internal-packages/database/prisma/migrations/20221227191746_renamed_processed_to_dispatch_for_events).
 */
const TWO_ALTER_ENUMS = `/*
  Warnings:

  - The values [square] on the enum \`Shape\` will be removed. If these variants are still used in the database, this will fail.
  - The values [gloss] on the enum \`Finish\` will be removed. If these variants are still used in the database, this will fail.

*/
-- AlterEnum
BEGIN;
CREATE TYPE "Shape_new" AS ENUM ('round');
ALTER TABLE "Item" ALTER COLUMN "shape" DROP DEFAULT;
ALTER TABLE "Item" ALTER COLUMN "shape" TYPE "Shape_new" USING ("shape"::text::"Shape_new");
ALTER TYPE "Shape" RENAME TO "Shape_old";
ALTER TYPE "Shape_new" RENAME TO "Shape";
DROP TYPE "Shape_old";
ALTER TABLE "Item" ALTER COLUMN "shape" SET DEFAULT 'round';
COMMIT;

-- AlterEnum
BEGIN;
CREATE TYPE "Finish_new" AS ENUM ('matte');
ALTER TABLE "Item" ALTER COLUMN "finish" TYPE "Finish_new" USING ("finish"::text::"Finish_new");
ALTER TYPE "Finish" RENAME TO "Finish_old";
ALTER TYPE "Finish_new" RENAME TO "Finish";
DROP TYPE "Finish_old";
COMMIT;

-- AlterTable
ALTER TABLE "Item" ADD COLUMN "weight" INTEGER;
UPDATE "Item" SET weight = id * 3, finish = 'matte';
`;

const CRLF_FUNCTION = [
  "-- CreateFunction",
  'CREATE FUNCTION "describe"(n int) RETURNS text LANGUAGE plpgsql AS $$',
  "BEGIN",
  "  RETURN 'item ' || n;",
  "END",
  "$$;",
  "",
  "-- A multi-line literal: its line break is data, CR and all.",
  "INSERT INTO \"Item\" (color, note) VALUES ('red', 'first line",
  "second line');",
  "",
].join("\r\n");

/** Every form of items 2–6 of issue 21, in the order Prisma would apply them. */
const PRISMA_SET: SetFile[] = [
  {
    version: "20240101000000",
    name: "init",
    sql: `-- CreateEnum\nCREATE TYPE "Color" AS ENUM ('red', 'green', 'blue');\n\n-- CreateTable\nCREATE TABLE "Item" (\n    "id" SERIAL NOT NULL,\n    "color" "Color" NOT NULL,\n    "note" TEXT,\n\n    CONSTRAINT "Item_pkey" PRIMARY KEY ("id")\n);\n\nINSERT INTO "Item" (color, note) VALUES ('red', 'a'), ('red', 'b');\n`,
  },
  { version: "20240102000000", name: "drop_colors", sql: ALTER_ENUM },
  { version: "20240103000000", name: "start_end", sql: 'START TRANSACTION;\nALTER TABLE "Item" ADD COLUMN "size" INTEGER;\nUPDATE "Item" SET size = id * 10;\nEND;\n' },
  { version: "20240104000000", name: "create_only", sql: "-- This is an empty migration." },
  { version: "20240105000000", name: "blank", sql: "" },
  { version: "20240106000000", name: "note_index", sql: '-- CreateIndex\nCREATE INDEX CONCURRENTLY "Item_note_idx" ON "Item"("note");\n' },
  {
    version: "20240107000000",
    name: "drop_size",
    sql: '/*\n  Warnings:\n\n  - You are about to drop the column `size` on the `Item` table. All the data in the column will be lost.\n\n*/\n-- migrate:no-transaction\n-- AlterTable\nALTER TABLE "Item" DROP COLUMN "size";\n',
  },
  { version: "20240108000000", name: "crlf", sql: CRLF_FUNCTION },
  {
    version: "20240109000000",
    name: "shapes",
    sql: `CREATE TYPE "Shape" AS ENUM ('round', 'square');\nCREATE TYPE "Finish" AS ENUM ('matte', 'gloss');\nALTER TABLE "Item" ADD COLUMN "shape" "Shape" NOT NULL DEFAULT 'round', ADD COLUMN "finish" "Finish";\n`,
  },
  { version: "20240110000000", name: "two_enums_and_more", sql: TWO_ALTER_ENUMS },
  {
    // A block that sets its isolation level first, as langfuse's 20260821121500_backfill_evaluator_v2 does.
    version: "20240111000000",
    name: "repeatable_read",
    sql: `-- Prisma does not automatically wrap PostgreSQL migrations in a transaction.\nBEGIN;\nSET TRANSACTION ISOLATION LEVEL REPEATABLE READ;\nUPDATE "Item" SET note = current_setting('transaction_isolation') WHERE id = 1;\nCOMMIT;\n`,
  },
];

/** Prisma's way: each file as one simple query, in folder order. */
async function applyAsPrisma(url: string, dir: string, files: readonly SetFile[]): Promise<void> {
  await withTestClient(url, async (c) => {
    for (const f of files) {
      const text = await readFile(path.join(dir, `${f.version}_${f.name}`, "migration.sql"), "utf8");
      if (text.trim() !== "") await c.query(text);
    }
  });
}

const items = (url: string) => query(url, `SELECT id, color::text, note, "describe"(id) AS described, shape::text, finish::text, weight FROM "Item" ORDER BY id`);

describe("files as Prisma writes them", () => {
  test("the whole set applies with the schema and the data that Prisma's way of running it gives; a rerun does nothing", async () => {
    const dir = await writeSet(PRISMA_SET);
    const ours = await freshDatabase("prisma_forms");
    const theirs = await freshDatabase("prisma_forms");

    const plan = await migrateJson(["plan", "--database-url", ours, "--dir", dir]);
    expect(plan.code, printed(plan)).toBe(0);
    expect(plan.json.steps.map((s: { name: string; mode: string; statements: number }) => `${s.name} ${s.mode} ${s.statements}`)).toEqual([
      "init transaction 3",
      "drop_colors transaction 5",
      "start_end transaction 2",
      "create_only transaction 0",
      "blank transaction 0",
      "note_index no-transaction (one statement) 1",
      "drop_size no-transaction 1",
      "crlf transaction 2",
      "shapes transaction 3",
      "two_enums_and_more transaction 14",
      "repeatable_read transaction 2",
    ]);
    const planText = await migrate(["plan", "--database-url", ours, "--dir", dir]);
    expect(planText.stdout).toMatch(/20240106000000_note_index\s+no-transaction \(one statement\) 1 statement/);
    expect(planText.stdout).toMatch(/20240104000000_create_only\s+empty\s+0 statements \(comments only: recorded as applied, nothing runs\)/);

    const run = await migrate(["apply", "--database-url", ours, "--dir", dir]);
    expect(run.code, printed(run)).toBe(0);
    expect(run.stdout).toMatch(/applied\s+20240102000000_drop_colors\s+transaction \(BEGIN … COMMIT dropped\)/);
    expect(run.stdout).toMatch(/applied\s+20240110000000_two_enums_and_more\s+transaction \(BEGIN … COMMIT dropped\)/);
    expect(run.stdout).toMatch(/applied\s+20240104000000_create_only\s+empty\s+warning: no SQL statements \(empty or comments only\): recorded as applied, nothing ran/);
    expect(run.stdout).toMatch(/applied\s+20240105000000_blank\s+empty\s+warning: no SQL statements/);
    await applyAsPrisma(theirs, dir, PRISMA_SET);

    const [mine, reference] = await Promise.all([ours, theirs].map((u) => withTestClient(u, (c) => takeCatalog(c, DEFAULT_LEDGER))));
    expect(canonicalJson(mine!.objects)).toBe(canonicalJson(reference!.objects));
    expect(await items(ours)).toEqual(await items(theirs));
    expect((await items(ours))[0]!.note).toBe("repeatable read");
    // The CR of the CRLF file is in the stored literal and in the function's body, as Prisma sends it.
    expect((await items(ours)).at(-1)!.note).toBe("first line\r\nsecond line");
    expect(await query(ours, `SELECT prosrc FROM pg_proc WHERE proname = 'describe'`)).toEqual([{ prosrc: "\r\nBEGIN\r\n  RETURN 'item ' || n;\r\nEND\r\n" }]);

    expect((await ledgerRows(ours)).map((r) => `${r.version} ${r.status} ${r.transactional}`)).toEqual([
      "20240101000000 applied true",
      "20240102000000 applied true",
      "20240103000000 applied true",
      "20240104000000 applied true",
      "20240105000000 applied true",
      "20240106000000 applied false",
      "20240107000000 applied false",
      "20240108000000 applied true",
      "20240109000000 applied true",
      "20240110000000 applied true",
      "20240111000000 applied true",
    ]);
    const again = await migrate(["apply", "--database-url", ours, "--dir", dir]);
    expect(again.code, printed(again)).toBe(0);
    expect(again.stdout).toMatch(/Nothing pending: all 11 migrations are applied/);
  }, 60_000);

  test("a wrapped file that fails is rolled back whole, ledger row and all, naming its line", async () => {
    const url = await freshDatabase("prisma_forms");
    const dir = await writeSet([{ version: "1", name: "wrapped", sql: "BEGIN;\nCREATE TABLE a (id int);\nINSERT INTO a VALUES ('x');\nCOMMIT;\n" }]);
    const run = await migrate(["apply", "--database-url", url, "--dir", dir]);
    expect(run.code, printed(run)).toBe(1);
    expect(run.stderr).toMatch(/1_wrapped\/migration\.sql:3:\d+: invalid input syntax for type integer/);
    expect(await query(url, "SELECT to_regclass('a') IS NULL AS gone")).toEqual([{ gone: true }]);
    expect((await ledgerRows(url)).map((r) => r.status)).toEqual([]);
  });

  test("a file whose statement after its BEGIN … COMMIT block fails changes nothing (Prisma would have committed the block)", async () => {
    const url = await freshDatabase("prisma_forms");
    const sql = "CREATE TABLE before_block (id int);\nBEGIN;\nCREATE TABLE in_block (id int);\nCOMMIT;\nINSERT INTO in_block VALUES ('x');\n";
    const dir = await writeSet([{ version: "1", name: "partial", sql }]);
    const run = await migrate(["apply", "--database-url", url, "--dir", dir]);
    expect(run.code, printed(run)).toBe(1);
    expect(run.stderr).toMatch(/1_partial\/migration\.sql:5:\d+: invalid input syntax for type integer/);
    expect(await query(url, "SELECT to_regclass('before_block') IS NULL AND to_regclass('in_block') IS NULL AS gone")).toEqual([{ gone: true }]);
    expect(await ledgerRows(url)).toEqual([]);
    // Prisma's way, one simple query: PostgreSQL commits at the COMMIT, so the first two tables stay.
    const theirs = await freshDatabase("prisma_forms");
    await expect(withTestClient(theirs, (c) => c.query(sql))).rejects.toThrow(/invalid input syntax/);
    expect(await query(theirs, "SELECT to_regclass('before_block') IS NOT NULL AND to_regclass('in_block') IS NOT NULL AS kept")).toEqual([{ kept: true }]);
  });

  test("a one-statement concurrent index without the directive gets the INVALID-index repair of a directive file", async () => {
    const url = await freshDatabase("prisma_forms");
    const dir = await writeSet([
      { version: "1", name: "users", sql: "CREATE TABLE users (id int PRIMARY KEY, email text);\nINSERT INTO users VALUES (1, 'same'), (2, 'same');\n" },
      { version: "2", name: "unique_email", sql: 'CREATE UNIQUE INDEX CONCURRENTLY "users_email_key" ON users (email);\n' },
    ]);
    const failed = await migrate(["apply", "--database-url", url, "--dir", dir]);
    expect(failed.code, printed(failed)).toBe(1);
    expect(await query(url, "SELECT indisvalid FROM pg_index WHERE indexrelid = to_regclass('users_email_key')")).toEqual([{ indisvalid: false }]);
    await query(url, "UPDATE users SET email = 'other' WHERE id = 2");
    const rerun = await migrate(["apply", "--database-url", url, "--dir", dir]);
    expect(rerun.code, printed(rerun)).toBe(0);
    expect(rerun.stdout).toMatch(/repaired\s+2_unique_email: dropped INVALID index users_email_key/);
    expect(await query(url, "SELECT indisvalid FROM pg_index WHERE indexrelid = to_regclass('users_email_key')")).toEqual([{ indisvalid: true }]);
  });

  test("a directive below a block comment is read; one commented out inside the block is not", async () => {
    const url = await freshDatabase("prisma_forms");
    const dir = await writeSet([
      { version: "1", name: "t", sql: "CREATE TABLE t (id int);\n" },
      { version: "2", name: "read", sql: "/* Warnings:\n  - none\n*/\n-- migrate:lock-timeout 3s\nALTER TABLE t ADD COLUMN a int;\n" },
      { version: "3", name: "commented", sql: "/*\n-- migrate:no-transaction\n*/\nALTER TABLE t ADD COLUMN b int;\nALTER TABLE t ADD COLUMN c int;\n" },
    ]);
    const plan = await migrateJson(["plan", "--database-url", url, "--dir", dir]);
    expect(plan.code, printed(plan)).toBe(0);
    expect(plan.json.steps.map((s: { mode: string }) => s.mode)).toEqual(["transaction", "transaction", "transaction"]);
    const { readMigrationSet } = await import("../migrator/files.js");
    const set = await readMigrationSet(dir);
    expect(set.files.map((f) => f.lockTimeoutMs)).toEqual([undefined, 3000, undefined]);
  });
});
