/**
 * A login role named like the ledger's schema (the README's `migrator@…` and the default ledger
 * schema `migrator`): PostgreSQL's default search_path `"$user", public` resolves to the ledger's
 * schema once it exists, so without care every unqualified table of the files lands there. The
 * files run with `"$user"` taken out of the path, and apply says so; other roles are untouched.
 */
import { randomBytes } from "node:crypto";
import { describe, expect, test } from "vitest";
import { pathEntries, pathWithoutLedger } from "../migrator/search-path.js";
import { migrate, printed } from "./support/cli.js";
import { freshDatabase } from "./support/database.js";
import { query } from "./support/migrator-db.js";
import { MIGRATIONS } from "./support/seed-set.js";

const LEDGER = (schema: string) => ({ schema, table: "applied_migrations" });

describe("the search_path the files run with", () => {
  test('pure: only a path whose "$user" is the ledger\'s schema changes, and only by dropping "$user"', () => {
    expect(pathEntries(`"$user", public, "a,b"`)).toEqual([`"$user"`, "public", `"a,b"`]);
    expect(pathWithoutLedger(`"$user", public`, "migrator", "migrator", LEDGER("migrator"))).toEqual({ was: `"$user", public`, now: "public", schema: "migrator" });
    expect(pathWithoutLedger(`$user, app, public`, "migrator", "migrator", LEDGER("migrator"))?.now).toBe("app, public");
    expect(pathWithoutLedger(`"$user"`, "migrator", "migrator", LEDGER("migrator"))?.now).toBe("public");
    // Another role, a path naming the schema itself, the ledger in public: nothing to change.
    expect(pathWithoutLedger(`"$user", public`, "public", "deployer", LEDGER("migrator"))).toBeUndefined();
    expect(pathWithoutLedger(`migrator, public`, "migrator", "migrator", LEDGER("migrator"))).toBeUndefined();
    expect(pathWithoutLedger(`"$user", public`, "public", "public", LEDGER("public"))).toBeUndefined();
  });

  async function roleNamedLike(schema: string | undefined) {
    const url = await freshDatabase("searchpath");
    const database = new URL(url).pathname.slice(1);
    const role = `mig_${randomBytes(4).toString("hex")}`;
    await query(url, `CREATE ROLE ${role} LOGIN PASSWORD 'pw'; GRANT CREATE ON DATABASE ${database} TO ${role}; GRANT CREATE ON SCHEMA public TO ${role}`);
    const u = new URL(url);
    u.username = role;
    u.password = "pw";
    return { url, as: u.toString(), args: ["--ledger-schema", schema ?? role] };
  }

  test("a role named like the ledger's schema: the seed set's tables land in public, not in the ledger's schema; apply says why", async () => {
    const { url, as, args } = await roleNamedLike(undefined);
    const run = await migrate(["apply", "--database-url", as, "--dir", MIGRATIONS, ...args]);
    expect(run.code, printed(run)).toBe(0);
    expect(printed(run)).toMatch(
      /note: this role's search_path \("\$user", public\) would put every unqualified object of the files in the ledger's schema "mig_\w+", which has the role's name; the files run with search_path public/,
    );
    const where = await query<{ ns: string; n: number }>(
      url,
      `SELECT relnamespace::regnamespace::text AS ns, count(*)::int AS n FROM pg_class WHERE relkind = 'r' AND relnamespace::regnamespace::text NOT IN ('pg_catalog', 'information_schema') GROUP BY 1 ORDER BY 1`,
    );
    expect(where.map((r) => r.ns)).toEqual(expect.arrayContaining(["public"]));
    // The ledger's schema holds the ledger and its snapshots, nothing of the files.
    expect(where.find((r) => r.ns !== "public")?.n).toBe(2);
    const again = await migrate(["apply", "--database-url", as, "--dir", MIGRATIONS, ...args]);
    expect(again.stdout).toMatch(/Nothing pending/);
    expect(printed(again)).not.toMatch(/search_path/);
  });

  test("a role with another name: no note, the session's path as it is", async () => {
    const { as } = await roleNamedLike("ledger_elsewhere");
    const run = await migrate(["apply", "--database-url", as, "--dir", MIGRATIONS, "--ledger-schema", "ledger_elsewhere"]);
    expect(run.code, printed(run)).toBe(0);
    expect(printed(run)).not.toMatch(/search_path/);
  });
});
