import { mkdtemp, rm } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { beforeAll, describe, expect, inject, test } from "vitest";
import { diffCatalogs, driftLine, fingerprintOf, privilegesFingerprintOf, takeCatalog, type NormalisedCatalog } from "../migrator/catalog/index.js";
import { canonicalJson } from "../migrator/catalog/normalise.js";
import { startEmbedded } from "../migrator/embedded/server.js";
import { DEFAULT_LEDGER } from "../migrator/ledger.js";
import { migrate, printed } from "./support/cli.js";
import { freshDatabase, withTestClient } from "./support/database.js";
import { MIGRATIONS } from "./support/seed-set.js";

// The catalog fingerprint (migrator/catalog/) on a real PostgreSQL 17: stable for the same schema,
// changed (and named by the diff) by each kind of change.

const catalogOf = (url: string): Promise<NormalisedCatalog> => withTestClient(url, (c) => takeCatalog(c, DEFAULT_LEDGER));

async function seeded(): Promise<string> {
  const url = await freshDatabase("catalog");
  const run = await migrate(["apply", "--database-url", url, "--dir", MIGRATIONS, "--quiet"]);
  expect(run.code, printed(run)).toBe(0);
  return url;
}

/** What a statement run on a copy of a schema changes: the fingerprint and the drift lines. */
async function changeBy(setup: string, change: string): Promise<{ before: string; after: string; lines: string[]; privilegesChanged: boolean }> {
  const url = await freshDatabase("catalog");
  await withTestClient(url, (c) => c.query(setup));
  const before = await catalogOf(url);
  await withTestClient(url, (c) => c.query(change));
  const after = await catalogOf(url);
  return {
    before: fingerprintOf(before),
    after: fingerprintOf(after),
    lines: diffCatalogs(before, after).map(driftLine),
    privilegesChanged: privilegesFingerprintOf(before) !== privilegesFingerprintOf(after),
  };
}

const BASE = `
  CREATE TYPE mood AS ENUM ('sad', 'ok', 'happy');
  CREATE TABLE "Member" (id int PRIMARY KEY, name text NOT NULL DEFAULT 'x', score int, m mood);
  CREATE INDEX member_name_idx ON "Member" (name);
  CREATE SEQUENCE tickets START 10;
  CREATE VIEW member_names AS SELECT id, name FROM "Member";
  CREATE FUNCTION touch() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN RETURN NEW; END $$;
  CREATE TRIGGER member_touch BEFORE UPDATE ON "Member" FOR EACH ROW EXECUTE FUNCTION touch();
`;

/** Roles belong to the server, not to a database: created once for the file, whichever test runs first. */
async function ensureRole(role: string): Promise<void> {
  await withTestClient(inject("serverUrl"), (c) => c.query(`DO $$ BEGIN CREATE ROLE ${role} NOLOGIN; EXCEPTION WHEN duplicate_object THEN NULL; END $$`));
}

describe("catalog fingerprint", () => {
  test("the seed set built twice, in two databases, gives the same fingerprint; a second read and ANALYZE change nothing", async () => {
    const [a, b] = [await seeded(), await seeded()];
    const first = await catalogOf(a);
    expect(fingerprintOf(first)).toMatch(/^[0-9a-f]{64}$/);
    expect(canonicalJson(await catalogOf(b))).toBe(canonicalJson(first));
    await withTestClient(a, (c) => c.query(`INSERT INTO "Member" (id, email, username, "displayName", "updatedAt") VALUES ('m1', 'a@x', 'a', 'A', now()); ANALYZE`));
    // VACUUM refuses to run inside the implicit transaction of a multi-statement query.
    await withTestClient(a, (c) => c.query(`VACUUM "Member"`));
    const again = await catalogOf(a);
    expect(fingerprintOf(again)).toBe(fingerprintOf(first));
    expect(diffCatalogs(first, again)).toEqual([]);
    // The ledger is the migrator's, not the schema's.
    expect(Object.keys(first.objects).filter((k) => k.includes("applied_migrations"))).toEqual([]);
    expect(first.objects['table "Member"']).toBeDefined();
    expect(first.objects['trigger "trg_update_member_points" on "PointTransaction"']).toBeDefined();
  });

  test("the same catalog after a server restart", async () => {
    const rootDir = await mkdtemp(path.join(os.tmpdir(), "catalog-restart-"));
    try {
      let server = await startEmbedded({ rootDir, persistent: true });
      const port = server.port;
      const url = await freshDatabase("restart", server.url("postgres"));
      await withTestClient(url, (c) => c.query(BASE));
      const before = await catalogOf(url);
      await server.stop();
      server = await startEmbedded({ rootDir, persistent: true, port });
      try {
        const after = await catalogOf(url);
        expect(diffCatalogs(before, after)).toEqual([]);
        expect(fingerprintOf(after)).toBe(fingerprintOf(before));
      } finally {
        await server.stop();
      }
    } finally {
      await rm(rootDir, { recursive: true, force: true });
    }
  });

  const role = `catalog_reader_${process.pid}`;
  beforeAll(() => ensureRole(role));
  /** What changes, the statement that changes it, the line that names it, and what the base needs first. */
  const CHANGES: [string, string, RegExp, string?][] = [
    ["a column added", `ALTER TABLE "Member" ADD COLUMN nickname text`, /^column "Member"\."nickname" text exists in the database, not in the migrations$/],
    ["a column dropped", `ALTER TABLE "Member" DROP COLUMN score`, /^column "Member"\."score" integer is in the migrations, missing from the database$/],
    [
      "a column's type",
      `ALTER TABLE "Member" ALTER COLUMN score TYPE bigint`,
      /^column "Member"\."score" type differs: the migrations give integer, the database has bigint$/,
    ],
    ["a default", `ALTER TABLE "Member" ALTER COLUMN name SET DEFAULT 'y'`, /^column "Member"\."name" default differs/],
    ["nullability", `ALTER TABLE "Member" ALTER COLUMN score SET NOT NULL`, /^column "Member"\."score" notNull differs/],
    ["an identity", `ALTER TABLE "Member" ALTER COLUMN id ADD GENERATED ALWAYS AS IDENTITY`, /^column "Member"\."id" identity differs/],
    [
      "a generated column",
      `ALTER TABLE "Member" ADD COLUMN twice int GENERATED ALWAYS AS (score * 2) STORED`,
      /^column "Member"\."twice" integer exists in the database/,
    ],
    ["a constraint", `ALTER TABLE "Member" ADD CONSTRAINT score_positive CHECK (score > 0) NOT VALID`, /^constraint "score_positive" on "Member" exists in the database/],
    [
      "a constraint validated",
      `ALTER TABLE "Member" VALIDATE CONSTRAINT checked`,
      /^constraint "checked" on "Member" validated differs: the migrations give false, the database has true$/,
      `ALTER TABLE "Member" ADD CONSTRAINT checked CHECK (score > 0) NOT VALID`,
    ],
    [
      "a constraint made deferrable",
      // ALTER CONSTRAINT … DEFERRABLE takes foreign keys only before PostgreSQL 18: the key is made again.
      `ALTER TABLE "Member" DROP CONSTRAINT "Member_pkey", ADD CONSTRAINT "Member_pkey" PRIMARY KEY (id) DEFERRABLE`,
      /^constraint "Member_pkey" on "Member" deferrable differs: the migrations give false, the database has true$/,
    ],
    [
      "an index made INVALID",
      `UPDATE pg_index SET indisvalid = false WHERE indexrelid = 'member_name_idx'::regclass`,
      /^index "member_name_idx" is INVALID in the database/,
    ],
    [
      "an index's definition",
      `DROP INDEX member_name_idx; CREATE INDEX member_name_idx ON "Member" (name text_pattern_ops)`,
      /^index "member_name_idx" definition differs/,
    ],
    [
      "an index's method",
      `DROP INDEX member_name_idx; CREATE INDEX member_name_idx ON "Member" USING hash (name)`,
      /^index "member_name_idx" (definition|method) differs/,
    ],
    [
      "an index made unique",
      `DROP INDEX member_name_idx; CREATE UNIQUE INDEX member_name_idx ON "Member" (name)`,
      /^index "member_name_idx" (definition|unique) differs/,
    ],
    [
      "an enum value added",
      `ALTER TYPE mood ADD VALUE 'meh' BEFORE 'ok'`,
      /^enum "mood" values differ: the migrations give \["sad","ok","happy"\], the database has \["sad","meh","ok","happy"\]$/,
    ],
    ["a sequence", `ALTER SEQUENCE tickets INCREMENT BY 5`, /^sequence "tickets" increment differs/],
    ["a view", `CREATE OR REPLACE VIEW member_names AS SELECT id, upper(name) AS name FROM "Member"`, /^view "member_names" definition differs from the migrations'$/],
    [
      "a function's body",
      `CREATE OR REPLACE FUNCTION touch() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN NEW.score := 1; RETURN NEW; END $$`,
      /^function "touch"\(\) body differs from the migrations'$/,
    ],
    [
      "a trigger",
      `DROP TRIGGER member_touch ON "Member"; CREATE TRIGGER member_touch AFTER UPDATE ON "Member" FOR EACH ROW EXECUTE FUNCTION touch()`,
      /^trigger "member_touch" on "Member" definition differs/,
    ],
    ["a trigger disabled", `ALTER TABLE "Member" DISABLE TRIGGER member_touch`, /^trigger "member_touch" on "Member" enabled differs/],
    ["an extension", `CREATE EXTENSION pg_trgm`, /^extension "pg_trgm" exists in the database, not in the migrations$/],
    ["a comment", `COMMENT ON TABLE "Member" IS 'people'`, /^table "Member" comment differs: the migrations give none, the database has people$/],
    [
      "a table dropped (one line, not one per column)",
      `DROP VIEW member_names; DROP TABLE "Member"`,
      /^(table "Member" is in the migrations, missing from the database|view "member_names" is in the migrations, missing from the database)$/,
    ],
  ];

  test.each(CHANGES)("%s changes the fingerprint and is named", async (_what, change, line, setup) => {
    const result = await changeBy(`${BASE};${setup ?? ""}`, change);
    expect(result.after).not.toBe(result.before);
    expect(result.lines.length).toBeGreaterThan(0);
    expect(
      result.lines.some((l) => line.test(l)),
      result.lines.join("\n"),
    ).toBe(true);
  });

  test("a dropped table is one difference, not one per column", async () => {
    const result = await changeBy(BASE, `DROP VIEW member_names; DROP TABLE "Member" CASCADE`);
    expect(result.lines).toEqual([
      'table "Member" is in the migrations, missing from the database',
      'view "member_names" is in the migrations, missing from the database',
    ]);
  });

  test("a grant changes the privileges part, not the schema's fingerprint, and is named", async () => {
    const result = await changeBy(BASE, `GRANT SELECT ON "Member" TO ${role}`);
    expect(result.after).toBe(result.before);
    expect(result.privilegesChanged).toBe(true);
    expect(result.lines).toEqual([`grants on table "Member" differ: the database also grants ${role}=SELECT`]);
  });

  test("a read-only role reads the same catalog as the owner", async () => {
    const url = await seeded();
    const reader = `catalog_ro_${process.pid}`;
    await withTestClient(url, (c) =>
      c.query(`DROP ROLE IF EXISTS ${reader}; CREATE ROLE ${reader} LOGIN PASSWORD 'ro'; GRANT CONNECT ON DATABASE "${new URL(url).pathname.slice(1)}" TO ${reader}`),
    );
    const asReader = new URL(url);
    asReader.username = reader;
    asReader.password = "ro";
    const owner = await catalogOf(url);
    const readOnly = await catalogOf(asReader.toString());
    expect(canonicalJson(readOnly)).toBe(canonicalJson(owner));
    await withTestClient(url, (c) => c.query(`REVOKE CONNECT ON DATABASE "${new URL(url).pathname.slice(1)}" FROM ${reader}`));
  });
});
