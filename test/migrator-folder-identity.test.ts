/**
 * Issue 21 item 1: files apply in Prisma's order (folder names, bytewise) and an applied file is
 * identified by its folder name, as Prisma's `_prisma_migrations.migration_name` identifies it.
 * Prisma lists the migrations directory and sorts it by name (prisma-engines
 * `migration-engine/connectors/migration-connector/src/migrations_directory.rs`, `list_migrations`:
 * "lexicographically sorted by name", `entries.sort_by(|a, b| a.migration_name().cmp(b.migration_name()))`,
 * a byte comparison of Rust strings; newer engines receive that list from the CLI, see
 * `schema-engine/connectors/schema-connector/src/migrations_directory.rs`), so an empty name, two
 * folders with one timestamp and versions of
 * other widths all apply, in that order. A ledger keyed by version (every migrator before this one)
 * is upgraded in place by the first `apply`, and nothing runs again. Against a real PostgreSQL.
 */
import { createHash } from "node:crypto";
import { rename } from "node:fs/promises";
import path from "node:path";
import { afterAll, describe, expect, test } from "vitest";
import { readMigrationSet } from "../migrator/files.js";
import { manifestEnvironment, parseManifestEntry, setDigest } from "../migrator/manifest.js";
import { migrate, migrateJson, printed } from "./support/cli.js";
import { freshDatabase } from "./support/database.js";
import { query } from "./support/migrator-db.js";
import { checksumOfText, removeSets, writeSet, type SetFile } from "./support/sets.js";

afterAll(removeSets);

/** Each file records that it ran, in a table the first creates, so a second run would show. */
const ran = (folder: string) => `INSERT INTO runs (folder) VALUES ('${folder}');\n`;

/** Folder names found in real Prisma histories, written in an order that is not theirs. */
const PRISMA_NAMES: SetFile[] = [
  { version: "20240105000000", name: "y", sql: ran("20240105000000_y") },
  { version: "20240103000000", name: "b", sql: ran("20240103000000_b") },
  { version: "202401040000001", name: "x", sql: ran("202401040000001_x") },
  { version: "20240102000000", name: "", sql: ran("20240102000000_") },
  { version: "20240103000000", name: "a", sql: ran("20240103000000_a") },
  // A folder duplicated in a file manager, as in langfuse's history (packages/shared/prisma/migrations/20240126184148_new_models copy).
  { version: "20240103000000", name: "a copy", sql: ran("20240103000000_a copy") },
  { version: "20240101000000", name: "init", sql: `CREATE TABLE runs (n serial PRIMARY KEY, folder text NOT NULL);\n${ran("20240101000000_init")}` },
];
const IN_PRISMA_ORDER = [
  "20240101000000_init",
  "20240102000000_",
  "20240103000000_a",
  "20240103000000_a copy",
  "20240103000000_b",
  "202401040000001_x",
  "20240105000000_y",
];

const runs = async (url: string) => (await query<{ folder: string }>(url, "SELECT folder FROM runs ORDER BY n")).map((r) => r.folder);

describe("Prisma's folder names and order", () => {
  test("an empty name, a name with a space, folders sharing a timestamp and a version of another width apply once each, in folder-name order; a rerun is a no-op", async () => {
    const url = await freshDatabase("ident");
    const dir = await writeSet(PRISMA_NAMES);
    const plan = await migrateJson(["plan", "--database-url", url, "--dir", dir]);
    expect(plan.code, JSON.stringify(plan.json)).toBe(0);
    expect(plan.json.steps.map((s: { folder: string }) => s.folder)).toEqual(IN_PRISMA_ORDER);

    const first = await migrate(["apply", "--database-url", url, "--dir", dir]);
    expect(first.code, printed(first)).toBe(0);
    expect(await runs(url)).toEqual(IN_PRISMA_ORDER);
    const ledger = await query(url, `SELECT folder, version, name FROM migrator.applied_migrations ORDER BY folder COLLATE "C"`);
    expect(ledger).toEqual(IN_PRISMA_ORDER.map((folder) => ({ folder, version: folder.split("_")[0], name: folder.slice(folder.indexOf("_") + 1) })));

    const again = await migrate(["apply", "--database-url", url, "--dir", dir]);
    expect(again.code, printed(again)).toBe(0);
    expect(again.stdout).toMatch(/Nothing pending: all 7 migrations are applied/);
    expect(await runs(url)).toEqual(IN_PRISMA_ORDER);

    const verify = await migrateJson(["verify", "--database-url", url, "--dir", dir, "--verify-dir", "sql/verify"]);
    const applied = verify.json.checks.find((c: { name: string }) => c.name === "migrations_applied");
    expect(applied, JSON.stringify(verify.json)).toMatchObject({ ok: true, detail: expect.stringMatching(/^7 of 7 files on disk in the ledger/) });
  });

  test("a shared version names no file for --baseline or --only: refused naming both folders; the folder name works", async () => {
    const url = await freshDatabase("ident");
    const dir = await writeSet(PRISMA_NAMES);
    const ambiguous = await migrate(["apply", "--database-url", url, "--dir", dir, "--baseline", "20240103000000"]);
    expect(ambiguous.code).toBe(2);
    expect(ambiguous.stderr).toMatch(
      /--baseline 20240103000000: 3 folders have that version \(20240103000000_a, 20240103000000_a copy, 20240103000000_b\); name one by its folder/,
    );
    expect(await query(url, "SELECT to_regclass('migrator.applied_migrations') AS t")).toEqual([{ t: null }]);

    // A database that already holds what the files up to 20240103000000_a made.
    await query(url, "CREATE TABLE runs (n serial PRIMARY KEY, folder text NOT NULL)");
    const baselined = await migrate(["apply", "--database-url", url, "--dir", dir, "--baseline", "20240103000000_a", "--quiet"]);
    expect(baselined.code, printed(baselined)).toBe(0);
    const statuses = await query(url, `SELECT folder, status FROM migrator.applied_migrations ORDER BY folder COLLATE "C"`);
    expect(statuses).toEqual(IN_PRISMA_ORDER.map((folder, i) => ({ folder, status: i < 3 ? "baselined" : "applied" })));
    expect(await runs(url)).toEqual(IN_PRISMA_ORDER.slice(3));
  });

  test("a new folder that sorts before an applied one is refused, naming the applied folder; renaming it to sort last applies it", async () => {
    const url = await freshDatabase("ident");
    const dir = await writeSet(PRISMA_NAMES);
    expect((await migrate(["apply", "--database-url", url, "--dir", dir, "--quiet"])).code).toBe(0);
    const late = await writeSet([...PRISMA_NAMES, { version: "20240103000000", name: "between", sql: ran("between") }]);
    const refused = await migrate(["apply", "--database-url", url, "--dir", late]);
    expect(refused.code).toBe(1);
    expect(refused.stderr).toMatch(/20240103000000_between\/migration\.sql: is new but sorts before 20240105000000_y, which is already applied/);
    await rename(path.join(late, "20240103000000_between"), path.join(late, "20240106000000_between"));
    const renamed = await migrate(["apply", "--database-url", url, "--dir", late, "--quiet"]);
    expect(renamed.code, printed(renamed)).toBe(0);
    expect((await runs(url)).at(-1)).toBe("between");
  });
});

/** The ledger exactly as every migrator before folder identity created it (ledger.ts at 87d681b). */
const FORMAT_1_DDL = `
  CREATE SCHEMA IF NOT EXISTS "migrator";
  CREATE TABLE IF NOT EXISTS "migrator"."applied_migrations" (
    version       text        PRIMARY KEY,
    name          text        NOT NULL,
    checksum      text        NOT NULL,
    transactional boolean     NOT NULL,
    status        text        NOT NULL CHECK (status IN ('applied', 'baselined', 'started')),
    applied_at    timestamptz NOT NULL DEFAULT now(),
    duration_ms   integer,
    applied_by    text        NOT NULL DEFAULT current_user,
    client_addr   inet                 DEFAULT inet_client_addr()
  );
  REVOKE ALL ON "migrator"."applied_migrations" FROM PUBLIC;`;

/** The row an older migrator wrote for a file (its recordSql, verbatim but for the values). */
const format1Insert = (version: string, name: string, checksum: string, status: string) =>
  `INSERT INTO "migrator"."applied_migrations" (version, name, checksum, transactional, status, duration_ms)
    VALUES ('${version}', '${name}', '${checksum}', true, '${status}', 3)
    ON CONFLICT (version) DO UPDATE SET
      name = EXCLUDED.name, checksum = EXCLUDED.checksum, transactional = EXCLUDED.transactional,
      status = EXCLUDED.status, duration_ms = EXCLUDED.duration_ms, applied_at = now(),
      applied_by = current_user, client_addr = inet_client_addr()`;

/** The query an older migrator read its ledger with (readLedger at 87d681b). */
const FORMAT_1_READ = `SELECT version, name, checksum, transactional, status, applied_at, duration_ms, applied_by, host(client_addr) AS client_addr
       FROM "migrator"."applied_migrations"`;

const LEGACY_SET: SetFile[] = [
  { version: "0", name: "init", sql: "CREATE TABLE runs (n serial PRIMARY KEY, folder text NOT NULL);\nINSERT INTO runs (folder) VALUES ('0_init');\n" },
  { version: "1", name: "renamed_since", sql: ran("1") },
  { version: "2", name: "baselined", sql: ran("2") },
  { version: "3", name: "new", sql: ran("3") },
];

/** A database as an older migrator left it: files 0 to 2 applied (1 under its old folder name, 2 baselined). */
async function legacyDatabase(): Promise<string> {
  const url = await freshDatabase("upgrade");
  const sum = (i: number) => checksumOfText(LEGACY_SET[i]!.sql as string);
  await query(url, FORMAT_1_DDL);
  await query(url, `${LEGACY_SET[0]!.sql}${ran("1")}`);
  await query(url, format1Insert("0", "init", sum(0), "applied"));
  await query(url, format1Insert("1", "first_name", sum(1), "applied"));
  await query(url, format1Insert("2", "baselined", sum(2), "baselined"));
  await query(url, `UPDATE migrator.applied_migrations SET applied_at = '2025-01-01T00:00:00Z', applied_by = 'old-deployer'`);
  return url;
}

const hasFolderColumn = async (url: string) =>
  (await query(url, `SELECT count(*)::int AS n FROM pg_attribute WHERE attrelid = 'migrator.applied_migrations'::regclass AND attname = 'folder'`))[0].n === 1;

describe("a ledger keyed by version (older migrators) upgrades in place", () => {
  test("plan, status and verify read it as it is and change nothing", async () => {
    const url = await legacyDatabase();
    const dir = await writeSet(LEGACY_SET);
    const plan = await migrateJson(["plan", "--database-url", url, "--dir", dir]);
    expect(plan.code, JSON.stringify(plan.json)).toBe(0);
    // The row written under the folder's old name is the same file: the old ledger matched by version.
    expect(plan.json.steps.map((s: { folder: string }) => s.folder)).toEqual(["3_new"]);
    const status = await migrateJson(["status", "--database-url", url, "--dir", dir]);
    expect(status.json.applied.map((a: { folder: string; status: string }) => `${a.folder} ${a.status}`)).toEqual([
      "0_init applied",
      "1_renamed_since applied",
      "2_baselined baselined",
    ]);
    expect(status.json.problems).toEqual([]);
    const verify = await migrateJson(["verify", "--database-url", url, "--dir", dir, "--verify-dir", "sql/verify"]);
    const unknown = verify.json.checks.find((c: { name: string }) => c.name === "no_unknown_migrations");
    expect(unknown).toMatchObject({ ok: true });
    expect(await hasFolderColumn(url)).toBe(false);
  });

  test("the first apply converts it in one transaction, keeps every row with its times, runs only the pending file; the next apply is a no-op", async () => {
    const url = await legacyDatabase();
    const dir = await writeSet(LEGACY_SET);
    const before = await query(url, `SELECT version, checksum, status, applied_at, applied_by FROM migrator.applied_migrations ORDER BY version`);

    const first = await migrate(["apply", "--database-url", url, "--dir", dir]);
    expect(first.code, printed(first)).toBe(0);
    expect(first.stdout).toMatch(/Applied 1 migration .*3 were already applied/);
    expect(await runs(url)).toEqual(["0_init", "1", "3"]);

    expect(await hasFolderColumn(url)).toBe(true);
    const key = await query(url, `SELECT pg_get_constraintdef(oid) AS def FROM pg_constraint WHERE conrelid = 'migrator.applied_migrations'::regclass AND contype = 'p'`);
    expect(key).toEqual([{ def: "PRIMARY KEY (folder)" }]);
    const after = await query(url, `SELECT folder, version, name, checksum, status, applied_at, applied_by FROM migrator.applied_migrations ORDER BY folder COLLATE "C"`);
    expect(after.slice(0, 3)).toEqual(
      before.map((row, i) => ({ ...row, folder: ["0_init", "1_renamed_since", "2_baselined"][i], name: ["init", "renamed_since", "baselined"][i] })),
    );
    expect(after[3]).toMatchObject({ folder: "3_new", status: "applied" });

    const again = await migrate(["apply", "--database-url", url, "--dir", dir]);
    expect(again.code, printed(again)).toBe(0);
    expect(again.stdout).toMatch(/Nothing pending: all 4 migrations are applied/);
    expect(await runs(url)).toEqual(["0_init", "1", "3"]);
  });

  test("an older migrator meeting the upgraded ledger reads the same rows and cannot write one: PostgreSQL refuses its insert", async () => {
    const url = await legacyDatabase();
    const dir = await writeSet(LEGACY_SET);
    expect((await migrate(["apply", "--database-url", url, "--dir", dir, "--quiet"])).code).toBe(0);
    const read = await query(url, FORMAT_1_READ);
    expect(read.map((r) => `${r.version}_${r.name}`).sort()).toEqual(["0_init", "1_renamed_since", "2_baselined", "3_new"]);
    const write = await query(url, `BEGIN; ${ran("4")} ${format1Insert("4", "four", "f".repeat(64), "applied")}; COMMIT`).catch((e: Error & { code?: string }) => e);
    expect(write).toBeInstanceOf(Error);
    expect((write as Error & { code?: string }).code).toBe("42P10"); // no unique constraint matches ON CONFLICT (version)
    expect(await runs(url)).toEqual(["0_init", "1", "3"]);
    expect((await query(url, "SELECT count(*)::int AS n FROM migrator.applied_migrations"))[0].n).toBe(4);
  });

  test("a role that may write the ledger but does not own it cannot upgrade it: one message saying who can, and the ledger is unchanged", async () => {
    const url = await legacyDatabase();
    const role = `deployer_${Date.now()}`;
    await query(
      url,
      `CREATE ROLE ${role} LOGIN PASSWORD 'deployer-pw'; GRANT USAGE ON SCHEMA migrator TO ${role}; GRANT SELECT, INSERT, UPDATE, DELETE ON migrator.applied_migrations TO ${role};
      GRANT ALL ON runs TO ${role}; GRANT USAGE ON SEQUENCE runs_n_seq TO ${role}`,
    );
    const asDeployer = url.replace(/\/\/[^@/]+@/, `//${role}:deployer-pw@`);
    const run = await migrate(["apply", "--database-url", asDeployer, "--dir", await writeSet(LEGACY_SET)]);
    expect(run.code, printed(run)).toBe(1);
    expect(run.stderr).toMatch(
      /upgrading the ledger migrator\.applied_migrations to be keyed by folder name failed, and it is unchanged: must be owner of table applied_migrations; .*run apply once as the ledger's owner/,
    );
    expect(await hasFolderColumn(url)).toBe(false);
    expect(await runs(url)).toEqual(["0_init", "1"]);
  });

  test("an interrupted no-transaction file of the old ledger (status started) stays started and resumes", async () => {
    const url = await legacyDatabase();
    await query(url, format1Insert("3", "new", checksumOfText(LEGACY_SET[3]!.sql as string), "started"));
    const dir = await writeSet(LEGACY_SET);
    const plan = await migrateJson(["plan", "--database-url", url, "--dir", dir]);
    expect(plan.json.steps).toEqual([expect.objectContaining({ folder: "3_new", resumes: true })]);
    const run = await migrate(["apply", "--database-url", url, "--dir", dir, "--quiet"]);
    expect(run.code, printed(run)).toBe(0);
    expect(await query(url, `SELECT folder, status FROM migrator.applied_migrations WHERE version = '3'`)).toEqual([{ folder: "3_new", status: "applied" }]);
  });
});

describe("the manifest the stacks carry", () => {
  test("unique versions keep their MIGRATION_<version> keys and the set's digest; shared versions get MIGRATION_<version>_<name>; every entry reads back to its folder", async () => {
    const unique = await readMigrationSet(await writeSet(LEGACY_SET));
    expect(Object.keys(manifestEnvironment(unique))).toEqual(["MIGRATION_0", "MIGRATION_1", "MIGRATION_2", "MIGRATION_3"]);
    // The digest as every earlier program computed it: a stack made before previews no change.
    const earlier = createHash("sha256")
      .update(unique.files.map((f) => `${f.version} ${f.checksum}`).join("\n"))
      .digest("hex");
    expect(setDigest(unique)).toBe(earlier);

    const prisma = await readMigrationSet(await writeSet(PRISMA_NAMES));
    const env = manifestEnvironment(prisma);
    expect(Object.keys(env)).toEqual([
      "MIGRATION_20240101000000",
      "MIGRATION_20240102000000",
      "MIGRATION_20240103000000_a",
      "MIGRATION_20240103000000_a_copy",
      "MIGRATION_20240103000000_b",
      "MIGRATION_202401040000001",
      "MIGRATION_20240105000000",
    ]);
    expect(Object.entries(env).map(([k, v]) => parseManifestEntry(k, v)?.folder)).toEqual(IN_PRISMA_ORDER);
    // A key whose name part is not the value's names no file.
    expect(parseManifestEntry("MIGRATION_20240103000000_a", env.MIGRATION_20240103000000_b!)).toBeUndefined();
  });

  test("apply --expect-manifest takes the set with shared versions as reviewed and refuses one edited since", async () => {
    const url = await freshDatabase("ident");
    const dir = await writeSet(PRISMA_NAMES);
    const env = manifestEnvironment(await readMigrationSet(dir));
    const ok = await migrate(["apply", "--database-url", url, "--dir", dir, "--expect-manifest", "--quiet"], env);
    expect(ok.code, printed(ok)).toBe(0);
    const edited = await writeSet(PRISMA_NAMES.map((f) => (f.name === "b" ? { ...f, sql: `${f.sql}SELECT 1;\n` } : f)));
    const refused = await migrate(["plan", "--database-url", url, "--dir", edited, "--expect-manifest"], env);
    expect(refused.code).not.toBe(0);
    expect(refused.stderr).toMatch(/20240103000000_b\/migration\.sql: changed since it was reviewed/);
  });
});
