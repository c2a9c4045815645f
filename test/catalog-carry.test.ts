import { beforeAll, describe, expect, test } from "vitest";
import { carryDrift } from "../migrator/catalog/carry.js";
import { claimsOf } from "../migrator/catalog/claims.js";
import { diffCatalogs, driftLine } from "../migrator/catalog/diff.js";
import type { CatalogObject, NormalisedCatalog } from "../migrator/catalog/normalise.js";
import { loadParser } from "../migrator/statements.js";

// carryDrift on in-memory catalogs: the snapshot an apply records keeps a hand-made change as
// drift unless the pending files settled it, so `migrate drift` still names it after the run.

const column = (table: string, name: string, position: number, type = "text", extra: Record<string, unknown> = {}): [string, CatalogObject] => [
  `column "${table}"."${name}"`,
  {
    kind: "column",
    name: `"${table}"."${name}"`,
    parent: `"${table}"`,
    fields: { position, type, notNull: false, default: null, identity: null, generated: null, collation: null, ...extra } as CatalogObject["fields"],
  },
];
const table = (name: string): [string, CatalogObject] => [`table "${name}"`, { kind: "table", name: `"${name}"`, fields: { kind: "table" } }];
const index = (name: string, on: string, valid = true): [string, CatalogObject] => [
  `index "${name}"`,
  { kind: "index", name: `"${name}"`, parent: `"${on}"`, fields: { definition: `CREATE INDEX "${name}" ON "${on}"`, valid } },
];

function catalog(...objects: [string, CatalogObject][]): NormalisedCatalog {
  return { normaliser: 1, serverMajor: 17, objects: Object.fromEntries(objects.sort(([a], [b]) => (a < b ? -1 : 1))), privileges: {} };
}

/** What `migrate drift` says right after the run: the live catalog (`after`) against the new snapshot. */
const driftAfter = (snapshot: NormalisedCatalog, after: NormalisedCatalog) => diffCatalogs(snapshot, after).map(driftLine);

const MEMBER = [table("Member"), column("Member", "id", 1), column("Member", "email", 2)] as const;

beforeAll(loadParser);

describe("carryDrift", () => {
  test("no drift: the new snapshot is the catalog after the files", () => {
    const old = catalog(...MEMBER);
    const after = catalog(...MEMBER, column("Member", "note", 3), table("Audit"));
    expect(carryDrift(old, old, after)).toEqual(after);
  });

  test("a column added by hand and a file that adds another table: the column stays drift", () => {
    const old = catalog(...MEMBER);
    const before = catalog(...MEMBER, column("Member", "nickname", 3));
    const after = catalog(...MEMBER, column("Member", "nickname", 3), table("Audit"), column("Audit", "id", 1));
    const snapshot = carryDrift(old, before, after);
    expect(snapshot.objects['column "Member"."nickname"']).toBeUndefined();
    expect(snapshot.objects['table "Audit"']).toEqual(after.objects['table "Audit"']);
    expect(driftAfter(snapshot, after)).toEqual([`column "Member"."nickname" text exists in the database, not in the migrations`]);
  });

  test("a file that adds a column to the drifted table: positions numbered as the migrations give them, so restoring the object leaves no drift", () => {
    const old = catalog(...MEMBER);
    const before = catalog(...MEMBER, column("Member", "nickname", 3));
    const after = catalog(...MEMBER, column("Member", "nickname", 3), column("Member", "note", 4));
    const snapshot = carryDrift(old, before, after);
    expect(snapshot.objects['column "Member"."note"']!.fields.position).toBe(3);
    expect(driftAfter(snapshot, after)).toEqual([
      `column "Member"."nickname" text exists in the database, not in the migrations`,
      `column "Member"."note" position differs: the migrations give 3, the database has 4`,
    ]);
    // The hand-made column dropped again: the live catalog is what the migrations give.
    expect(driftAfter(snapshot, catalog(...MEMBER, column("Member", "note", 3)))).toEqual([]);
  });

  test("an object dropped by hand is put back in the snapshot, after the column it followed", () => {
    const old = catalog(...MEMBER, column("Member", "bio", 3), index("Member_email_idx", "Member"));
    const before = catalog(...MEMBER);
    const after = catalog(...MEMBER, column("Member", "note", 3));
    const snapshot = carryDrift(old, before, after);
    expect(snapshot.objects['column "Member"."bio"']!.fields.position).toBe(3);
    expect(snapshot.objects['column "Member"."note"']!.fields.position).toBe(4);
    expect(snapshot.objects['index "Member_email_idx"']).toEqual(old.objects['index "Member_email_idx"']);
    expect(driftAfter(snapshot, after)).toContain(`index "Member_email_idx" is in the migrations, missing from the database`);
    expect(driftAfter(snapshot, after)).toContain(`column "Member"."bio" text is in the migrations, missing from the database`);
  });

  test("a field changed by hand stays drift when a file changes another field of the same object", () => {
    const old = catalog(...MEMBER);
    const before = catalog(table("Member"), column("Member", "id", 1), column("Member", "email", 2, "character varying(80)"));
    const after = catalog(table("Member"), column("Member", "id", 1), column("Member", "email", 2, "character varying(80)", { notNull: true }));
    const snapshot = carryDrift(old, before, after);
    expect(snapshot.objects['column "Member"."email"']!.fields).toMatchObject({ type: "text", notNull: true });
    expect(driftAfter(snapshot, after)).toEqual([`column "Member"."email" type differs: the migrations give text, the database has character varying(80)`]);
  });

  test("files that settle the drift leave none: recreating a dropped index, dropping a hand-made column, rebuilding an INVALID index", () => {
    const old = catalog(...MEMBER, index("Member_email_idx", "Member"));
    // Dropped by hand, made again by a file.
    const dropped = catalog(...MEMBER);
    expect(driftAfter(carryDrift(old, dropped, old), old)).toEqual([]);
    // Added by hand, dropped by a file.
    const added = catalog(...MEMBER, index("Member_email_idx", "Member"), column("Member", "nickname", 3));
    expect(driftAfter(carryDrift(old, added, old), old)).toEqual([]);
    // Left INVALID, rebuilt by a file.
    const invalid = catalog(...MEMBER, index("Member_email_idx", "Member", false));
    expect(driftAfter(carryDrift(old, invalid, old), old)).toEqual([]);
  });

  test("a file that claims the hand-made change without changing the catalog (ADD COLUMN IF NOT EXISTS) settles it", () => {
    const old = catalog(...MEMBER);
    const before = catalog(...MEMBER, column("Member", "nickname", 3));
    const claims = claimsOf([{ sql: `ALTER TABLE "Member" ADD COLUMN IF NOT EXISTS nickname text` }]);
    expect(claims).toEqual([{ key: 'column "Member"."nickname"' }]);
    expect(driftAfter(carryDrift(old, before, before, claims), before)).toEqual([]);
    // A claim on another column settles nothing.
    const other = claimsOf([{ sql: `ALTER TABLE "Member" ADD COLUMN IF NOT EXISTS nick text` }]);
    expect(driftAfter(carryDrift(old, before, before, other), before)).toHaveLength(1);
  });

  test("grants made by hand stay drift; grants a file changes are the file's", () => {
    const old = { ...catalog(...MEMBER), privileges: { 'table "Member"': { owner: "app", acl: [] } } };
    const before = { ...catalog(...MEMBER), privileges: { 'table "Member"': { owner: "app", acl: ["reporting=SELECT"] } } };
    const untouched = carryDrift(old, before, before);
    expect(untouched.privileges).toEqual(old.privileges);
    const granted = { ...catalog(...MEMBER), privileges: { 'table "Member"': { owner: "app", acl: ["reporting=SELECT", "web=INSERT"] } } };
    expect(carryDrift(old, before, granted).privileges).toEqual(granted.privileges);
  });
});

describe("claimsOf", () => {
  test("the idempotent forms name what they make the files' own; other statements claim nothing", () => {
    expect(
      claimsOf([
        { sql: `ALTER TABLE s.t ALTER COLUMN x TYPE int, DROP COLUMN IF EXISTS y` },
        { sql: `CREATE INDEX IF NOT EXISTS i ON s.t (x)` },
        { sql: `CREATE TABLE IF NOT EXISTS "Audit" (id int)` },
        { sql: `DROP INDEX IF EXISTS s.j, k` },
        { sql: `CREATE OR REPLACE FUNCTION f() RETURNS int LANGUAGE sql AS 'select 1'` },
        { sql: `ALTER TYPE "Color" ADD VALUE IF NOT EXISTS 'x'` },
        { sql: `CREATE INDEX j ON t (x)` },
        { sql: `INSERT INTO t VALUES (1)` },
      ]),
    ).toEqual([
      { key: 'column "s"."t"."x"' },
      { key: 'column "s"."t"."y"' },
      { key: 'index "s"."i"' },
      { relation: '"Audit"' },
      { key: 'index "s"."j"' },
      { key: 'index "k"' },
      { prefix: 'function "f"(' },
      { key: 'enum "Color"' },
    ]);
  });
});
