/**
 * `migrate new NAME`: the next folder in Prisma's layout, a version that orders last even when the clock
 * is behind, never over an existing folder, and a template that applies on a real PostgreSQL in the
 * transaction mode it says once its SQL is written.
 */
import { mkdir, mkdtemp, readdir, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterAll, describe, expect, test } from "vitest";
import { migrationTemplate, nextVersion, timestampOf } from "../migrator/new-migration.js";
import { migrate, migrateJson, printed } from "./support/cli.js";
import { freshDatabase } from "./support/database.js";
import { ledgerRows, query } from "./support/migrator-db.js";

const folders: string[] = [];
afterAll(() => Promise.all(folders.map((f) => rm(f, { recursive: true, force: true }))));

async function emptySet(): Promise<string> {
  const dir = await mkdtemp(path.join(tmpdir(), "migrator-new-"));
  folders.push(dir);
  return dir;
}

describe("the next version", () => {
  const now = new Date(Date.UTC(2026, 11, 3, 9, 5, 7));

  test("is the UTC time as yyyymmddHHMMSS, Prisma's form", () => {
    expect(timestampOf(now)).toBe("20261203090507");
    expect(nextVersion([], now)).toBe("20261203090507");
    expect(nextVersion(["20240101000000", "20261203090506"], now)).toBe("20261203090507");
  });

  test("is one second after the last timestamp when the clock is behind it, across a minute and a year", () => {
    expect(nextVersion(["20261203090507"], now)).toBe("20261203090508");
    expect(nextVersion(["20301231235959"], now)).toBe("20310101000000");
  });

  test("continues a set numbered by hand, at its width", () => {
    expect(nextVersion(["1", "2", "3"], now)).toBe("4");
    expect(nextVersion(["0009"], now)).toBe("0010");
  });
});

describe("npm run migrate -- new", () => {
  test("writes <dir>/<version>_<name>/migration.sql, prints the path as given, and a second one orders after it", async () => {
    const dir = await emptySet();
    const first = await migrate(["new", "add_member_email", "--dir", dir]);
    expect(first.code, printed(first)).toBe(0);
    const [folder] = await readdir(dir);
    expect(folder).toMatch(/^\d{14}_add_member_email$/);
    expect(first.stdout).toContain(`Created ${path.join(dir, folder!, "migration.sql")}`);
    expect(await readFile(path.join(dir, folder!, "migration.sql"), "utf8")).toBe(migrationTemplate("add_member_email", false));

    // Within the same second the clock gives the same time: the version still moves on.
    const second = await migrateJson<{ folder: string }>(["new", "add_member_email_index", "--no-transaction", "--dir", dir, "--json"]);
    expect(second.code, printed(second)).toBe(0);
    expect(second.json.folder > folder!).toBe(true);
    expect((await readdir(dir)).sort()).toEqual([folder, second.json.folder]);
  });

  test("bad input changes nothing: a name outside the folder rule, no name, two names, a missing folder", async () => {
    const dir = await emptySet();
    for (const argv of [["new", "bad name"], ["new", "-leading-dash"], ["new"], ["new", "a", "b"]]) {
      const run = await migrate([...argv, "--dir", dir]);
      expect(run.code, printed(run)).toBe(2);
      expect(run.stderr).toMatch(/^error: /);
    }
    expect(await readdir(dir)).toEqual([]);
    const missing = await migrate(["new", "x", "--dir", path.join(dir, "nope")]);
    expect(missing.code).toBe(2);
    expect(missing.stderr).toContain("is not a folder");
    const misplaced = await migrate(["plan", "--no-transaction", "--dir", dir]);
    expect(misplaced.code).toBe(2);
    expect(misplaced.stderr).toContain("--no-transaction goes with new NAME");
  });

  test("never writes over an existing folder", async () => {
    const dir = await emptySet();
    // A folder from the future: the clock is behind it, so the next version is one second later, not the same.
    await mkdir(path.join(dir, "20991231235958_taken"));
    await writeFile(path.join(dir, "20991231235958_taken", "migration.sql"), "SELECT 1;\n");
    const run = await migrate(["new", "taken", "--dir", dir]);
    expect(run.code, printed(run)).toBe(0);
    expect((await readdir(dir)).sort()).toEqual(["20991231235958_taken", "20991231235959_taken"]);
    expect(await readFile(path.join(dir, "20991231235958_taken", "migration.sql"), "utf8")).toBe("SELECT 1;\n");
  });

  test("a template not yet written is refused by plan and apply (other comment-only files are recorded, as Prisma does), so it cannot be applied and then edited", async () => {
    const url = await freshDatabase("new");
    const dir = await emptySet();
    await migrate(["new", "forgotten", "--dir", dir]);
    await migrate(["new", "forgotten_index", "--no-transaction", "--dir", dir]);
    for (const verb of ["plan", "apply"]) {
      const run = await migrate([verb, "--database-url", url, "--dir", dir]);
      expect(run.code, printed(run)).toBe(2);
      expect(run.stderr).toMatch(/the migration set has 2 problems/);
      expect(run.stderr).toMatch(/\d{14}_forgotten\/migration\.sql: is still the template `migrate new` wrote; write its SQL, or delete the folder/);
    }
    expect(await ledgerRows(url)).toEqual([]);
  });

  test("the templates, once written, apply on PostgreSQL in the mode they say", async () => {
    const url = await freshDatabase("new");
    const dir = await emptySet();
    await migrate(["new", "items", "--dir", dir]);
    const [table] = await readdir(dir);
    const tableFile = path.join(dir, table!, "migration.sql");
    await writeFile(tableFile, (await readFile(tableFile, "utf8")) + "CREATE TABLE items (id int, name text);\n");
    await migrate(["new", "items_name", "--no-transaction", "--dir", dir]);
    const index = (await readdir(dir)).sort()[1]!;
    const indexFile = path.join(dir, index, "migration.sql");
    // Uncomment the template's statement, as a user would, with the names made real.
    await writeFile(
      indexFile,
      (await readFile(indexFile, "utf8"))
        .replace(/^-- (CREATE INDEX CONCURRENTLY .*)$/m, "$1")
        .replace('"Table_column_idx" ON "Table" ("column")', "items_name ON items (name)"),
    );
    const run = await migrate(["apply", "--database-url", url, "--dir", dir]);
    expect(run.code, printed(run)).toBe(0);
    const rows = await ledgerRows(url);
    expect(rows.map((r) => [`${r.version}_${r.name}`, r.transactional])).toEqual([
      [table, true],
      [index, false],
    ]);
    const valid = await query(url, "SELECT indisvalid FROM pg_index WHERE indexrelid = 'items_name'::regclass");
    expect(valid).toEqual([{ indisvalid: true }]);
  });
});
