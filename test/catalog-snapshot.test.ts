import { describe, expect, test } from "vitest";
import { canonicalJson, fingerprintOf, type NormalisedCatalog } from "../migrator/catalog/normalise.js";
import { takeCatalog } from "../migrator/catalog/index.js";
import { DEFAULT_LEDGER } from "../migrator/ledger.js";
import { migrate, printed } from "./support/cli.js";
import { freshDatabase, withTestClient } from "./support/database.js";
import { query } from "./support/migrator-db.js";
import { MIGRATIONS } from "./support/seed-set.js";
import { writeSet } from "./support/sets.js";

// Snapshots (migrator/catalog/snapshot.ts): after each successful apply that did something, the
// catalog is recorded beside the ledger at the applied head, on a real PostgreSQL 17.

const SNAPSHOTS = "migrator.applied_migrations_snapshots";
const HEAD = "20260123015834_add_points_trigger";

interface SnapshotRow {
  head: string;
  taken_at: Date;
  normaliser: number;
  sha256: string;
  privileges_sha256: string | null;
  snapshot: NormalisedCatalog;
}

const snapshotsOf = (url: string) =>
  query<SnapshotRow>(url, `SELECT head, taken_at, normaliser, sha256, privileges_sha256, snapshot FROM ${SNAPSHOTS} ORDER BY taken_at`);

describe("schema snapshots", () => {
  test("apply records the catalog at the applied head: its sha256 is the live catalog's; a rerun with nothing pending records nothing", async () => {
    const url = await freshDatabase("snap");
    const run = await migrate(["apply", "--database-url", url, "--dir", MIGRATIONS, "--quiet"]);
    expect(run.code, printed(run)).toBe(0);
    const [row, ...more] = await snapshotsOf(url);
    expect(more).toEqual([]);
    expect(row).toMatchObject({ head: HEAD, normaliser: 1 });
    const live = await withTestClient(url, (c) => takeCatalog(c, DEFAULT_LEDGER));
    expect(row!.sha256).toBe(fingerprintOf(live));
    expect(canonicalJson(row!.snapshot)).toBe(canonicalJson(live));
    expect(row!.privileges_sha256).toMatch(/^[0-9a-f]{64}$/);
    // The migrator's own tables are not in it.
    expect(Object.keys(row!.snapshot.objects).filter((k) => k.includes("applied_migrations"))).toEqual([]);

    const again = await migrate(["apply", "--database-url", url, "--dir", MIGRATIONS, "--quiet"]);
    expect(again.code, printed(again)).toBe(0);
    expect(await snapshotsOf(url)).toEqual([row]);
  });

  test("one snapshot per head: --only one file, then the rest", async () => {
    const url = await freshDatabase("snap");
    const dir = await writeSet([
      { version: "1", name: "accounts", sql: "CREATE TABLE accounts (id int PRIMARY KEY);\n" },
      { version: "2", name: "note", sql: "ALTER TABLE accounts ADD COLUMN note text;\n" },
      { version: "3", name: "note_index", sql: "-- migrate:no-transaction\nCREATE INDEX CONCURRENTLY accounts_note_idx ON accounts (note);\n" },
    ]);
    expect((await migrate(["apply", "--database-url", url, "--dir", dir, "--only", "1", "--quiet"])).code).toBe(0);
    expect((await migrate(["apply", "--database-url", url, "--dir", dir, "--quiet"])).code).toBe(0);
    const rows = await snapshotsOf(url);
    expect(rows.map((r) => r.head)).toEqual(["1_accounts", "3_note_index"]);
    expect(Object.keys(rows[0]!.snapshot.objects)).not.toContain('column "accounts"."note"');
    expect(Object.keys(rows[1]!.snapshot.objects)).toContain('column "accounts"."note"');
    expect(rows[1]!.snapshot.objects['index "accounts_note_idx"']?.fields).toMatchObject({ valid: true });
  });

  test("a failed run records no snapshot at the head it reached", async () => {
    const url = await freshDatabase("snap");
    const dir = await writeSet([
      { version: "1", name: "accounts", sql: "CREATE TABLE accounts (id int PRIMARY KEY);\n" },
      { version: "2", name: "broken", sql: "INSERT INTO missing VALUES (1);\n" },
    ]);
    const run = await migrate(["apply", "--database-url", url, "--dir", dir, "--quiet"]);
    expect(run.code, printed(run)).toBe(1);
    expect(await query(url, `SELECT to_regclass('${SNAPSHOTS}') AS t`)).toEqual([{ t: null }]);
  });

  test("the snapshot table is private like the ledger: no PUBLIC grant, and a database-wide default grant to the application is revoked", async () => {
    const url = await freshDatabase("snap");
    const app = `snap_app_${process.pid}`;
    await query(url, `DO $$ BEGIN CREATE ROLE ${app} NOLOGIN; EXCEPTION WHEN duplicate_object THEN NULL; END $$`);
    await query(url, `ALTER DEFAULT PRIVILEGES GRANT SELECT, INSERT ON TABLES TO ${app}`);
    const dir = await writeSet([{ version: "1", name: "accounts", sql: "CREATE TABLE accounts (id int PRIMARY KEY);\n" }]);
    expect((await migrate(["apply", "--database-url", url, "--dir", dir, "--quiet"])).code).toBe(0);
    const grants = await query(
      url,
      `SELECT a.grantee::regrole::text AS grantee, a.privilege_type FROM pg_class c, aclexplode(c.relacl) a WHERE c.oid = '${SNAPSHOTS}'::regclass AND a.grantee <> c.relowner`,
    );
    expect(grants).toEqual([]);
    // The application's own table keeps what the default gave it.
    expect(await query(url, `SELECT has_table_privilege('${app}', 'accounts', 'INSERT') AS ok`)).toEqual([{ ok: true }]);
  });

  test("a snapshot that cannot be written is a warning: the files stay applied and recorded, and the run exits 0", async () => {
    const url = await freshDatabase("snap");
    // A table of that name in another shape: the insert fails.
    await query(url, `CREATE SCHEMA migrator; CREATE TABLE ${SNAPSHOTS} (x int)`);
    const dir = await writeSet([{ version: "1", name: "accounts", sql: "CREATE TABLE accounts (id int PRIMARY KEY);\n" }]);
    const run = await migrate(["apply", "--database-url", url, "--dir", dir]);
    expect(run.code, printed(run)).toBe(0);
    expect(run.stdout).toMatch(
      /warning: the schema snapshot was not recorded \(.*column "head".*\); the files above are applied; `migrate drift --replay` compares without it/,
    );
    expect(await query(url, "SELECT version, status FROM migrator.applied_migrations")).toEqual([{ version: "1", status: "applied" }]);
  });
});
