/**
 * The migration review (npm run review): the preview read as data, what is pending, edited and
 * removed from the preview's manifest and from a real database's ledger, the comment's size limit
 * on a large set, and no password in what it prints.
 */
import { execFile } from "node:child_process";
import { cp, mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { checksumOf, readMigrationSet } from "../migrator/files.js";
import { manifestEnvironment } from "../migrator/manifest.js";
import { summarisePreview } from "../review/preview.js";
import { COMMENT_LIMIT, reviewMarker } from "../review/markdown.js";
import { runReview } from "../review/cli.js";
import { APPLY_URN, previewJson } from "./support/preview-json.js";
import { migrate, ROOT } from "./support/cli.js";
import { freshDatabase } from "./support/database.js";
import { writeMigration, writeSet } from "./support/sets.js";

const run = promisify(execFile);
const SEED = path.join(ROOT, "sql/migrations");
const APPLY = APPLY_URN;

let scratch: string;
beforeAll(async () => {
  scratch = await mkdtemp(path.join(os.tmpdir(), "review-"));
});
afterAll(() => rm(scratch, { recursive: true, force: true }));

async function review(argv: string[], env: NodeJS.ProcessEnv = {}) {
  let stdout = "";
  let stderr = "";
  const code = await runReview(argv, { stdout: (t) => (stdout += t), stderr: (t) => (stderr += t), env });
  return { code, stdout, stderr };
}

async function writePreview(name: string, json: string): Promise<string> {
  const file = path.join(scratch, name);
  await writeFile(file, json);
  return file;
}

describe("the preview, read as data", () => {
  test("database resources replaced or deleted are dangerous; a replacement's steps count once; unchanged ones not at all", () => {
    const summary = summarisePreview(
      previewJson({}, {}, [
        { op: "create-replacement", urn: "urn:pulumi:prod::p::aws:rds/instance:Instance::db", type: "aws:rds/instance:Instance" },
        { op: "replace", urn: "urn:pulumi:prod::p::aws:rds/instance:Instance::db", type: "aws:rds/instance:Instance" },
        { op: "delete-replaced", urn: "urn:pulumi:prod::p::aws:rds/instance:Instance::db", type: "aws:rds/instance:Instance" },
        { op: "delete", urn: "urn:pulumi:prod::p::postgresql:index/role:Role::access-app", type: "postgresql:index/role:Role" },
        { op: "replace", urn: "urn:pulumi:prod::p::postgresql:index/schema:Schema::app", type: "postgresql:index/schema:Schema" },
        { op: "update", urn: "urn:pulumi:prod::p::aws:rds/parameterGroup:ParameterGroup::params", type: "aws:rds/parameterGroup:ParameterGroup" },
        { op: "delete", urn: "urn:pulumi:prod::p::aws:cloudwatch/logGroup:LogGroup::logs", type: "aws:cloudwatch/logGroup:LogGroup" },
        { op: "same", urn: "urn:pulumi:prod::p::postgresql:index/role:Role::access-auditor", type: "postgresql:index/role:Role" },
      ]),
    );
    expect(summary.dangerous.map((d) => `${d.op} ${d.name}`)).toEqual(["replace db", "delete access-app", "replace app"]);
    expect(summary.changes.map((c) => `${c.op} ${c.name}`)).toEqual([
      "update migration-apply",
      "replace db",
      "delete access-app",
      "replace app",
      "update params",
      "delete logs",
    ]);
  });

  test("the apply command's manifest before and after; a replaced command means nothing is applied on the new database", () => {
    const s = summarisePreview(previewJson({ MIGRATION_1: "a" }, { MIGRATION_1: "a", MIGRATION_2: "b" }));
    expect(s.manifest).toEqual({ before: { MIGRATION_1: "a" }, after: { MIGRATION_1: "a", MIGRATION_2: "b" } });
    const replaced = summarisePreview(
      JSON.stringify({
        steps: [
          {
            op: "replace",
            urn: APPLY,
            type: "command:local:Command",
            oldState: { inputs: { environment: { MIGRATION_1: "a" } } },
            newState: { inputs: { environment: { MIGRATION_1: "a" } } },
          },
        ],
      }),
    );
    expect(replaced.manifest).toEqual({ before: {}, after: { MIGRATION_1: "a" } });
    expect(() => summarisePreview("Previewing update (dev)")).toThrow(/not JSON/);
  });
});

describe("npm run review", () => {
  test("from the preview's manifest: one new file pending, one edited and one removed refused, each named", async () => {
    const dir = path.join(scratch, "manifest-set");
    await cp(SEED, dir, { recursive: true });
    const set = await readMigrationSet(dir);
    const applied = manifestEnvironment(set);
    // The state says: a file that is gone was applied, and validate_v2_fks was applied with other text.
    const before = {
      ...applied,
      MIGRATION_20260101000000: `gone transaction sha256:${"a".repeat(64)}`,
      MIGRATION_20260123015817: applied.MIGRATION_20260123015817!.replace(/sha256:\w+/, `sha256:${checksumOf("old text")}`),
    };
    await writeMigration(dir, { version: "20270101000000", name: "member_bio_index", sql: 'CREATE INDEX "Member_bio_idx" ON "Member" ("bio");\n' });
    const after = manifestEnvironment(await readMigrationSet(dir));
    const file = await writePreview("manifest.json", previewJson(before, after));

    const r = await review(["--stack", "dev", "--preview-json", file, "--dir", dir]);
    expect(r.stderr).toBe("");
    expect(r.code).toBe(0);
    expect(r.stdout.startsWith(reviewMarker("dev") + "\n")).toBe(true);
    expect(r.stdout).toContain("**1 file pending, 1 stack resource changing**, **2 files that `up` refuses**");
    expect(r.stdout).toMatch(
      /\| 20270101000000 \| member_bio_index \| transaction \| 1 \| L1 CREATE INDEX: SHARE `"Member"` \| \*\*error\*\* `20270101000000_member_bio_index\/migration\.sql:1` require-concurrent-index-creation/,
    );
    expect(r.stdout).toMatch(/`20260101000000_gone` \*\*removed\*\*: .*allowRemovedMigrations/);
    expect(r.stdout).toMatch(/`20260123015817_validate_v2_fks` \*\*edited\*\*: .*`up` refuses/);
    expect(r.stdout).not.toContain("| 0 | init |");
  });

  test("a new file that orders before an applied one: pending, and named as refused", async () => {
    const dir = await writeSet([
      { version: "1", name: "a", sql: "CREATE TABLE a (id int);\n" },
      { version: "3", name: "c", sql: "CREATE TABLE c (id int);\n" },
    ]);
    const before = manifestEnvironment(await readMigrationSet(dir));
    await writeMigration(dir, { version: "2", name: "b", sql: "CREATE TABLE b (id int);\n" });
    const file = await writePreview("out-of-order.json", previewJson(before, manifestEnvironment(await readMigrationSet(dir))));
    const r = await review(["--stack", "dev", "--preview-json", file, "--dir", dir]);
    expect(r.code, r.stderr).toBe(0);
    expect(
      r.stdout
        .split("\n")
        .filter((l) => /^\| \d+ \|/.test(l))
        .map((l) => l.split(" | ")[0]),
    ).toEqual(["| 2"]);
    expect(r.stdout).toMatch(/- `2_b` \*\*out-of-order\*\*: new but sorts before 3_c, which is applied \(files apply in folder-name order\): `up` refuses/);
  });

  test("from a real database's ledger, without printing its password; a wrong --stack or no preview is a usage error", async () => {
    const url = await freshDatabase("review");
    const dir = path.join(scratch, "ledger-set");
    await cp(SEED, dir, { recursive: true });
    const applied = await migrate(["apply", "--quiet", "--database-url", url, "--dir", dir]);
    expect(applied.code, applied.stderr).toBe(0);
    await writeMigration(dir, { version: "20270101000000", name: "note", sql: "CREATE TABLE note (id bigint PRIMARY KEY);\n" });
    await writeFile(
      path.join(dir, "20260123015834_add_points_trigger", "migration.sql"),
      "-- edited\n" + (await readFile(path.join(SEED, "20260123015834_add_points_trigger", "migration.sql"), "utf8")),
    );
    // The preview says nothing is applied (a create): the ledger is what counts when the database is given.
    const password = decodeURIComponent(new URL(url).password);
    const file = await writePreview("ledger.json", previewJson(undefined, {}, [], [{ severity: "error", message: `connection to ${url} refused` }]));

    const r = await review(["--stack", "local", "--preview-json", file, "--dir", dir], { DATABASE_URL: url });
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toContain("Applied files read from the database's ledger.");
    expect(r.stdout).toContain("**1 file pending");
    expect(r.stdout).toMatch(/\| 20270101000000 \| note \| transaction \| 1 \| L1 CREATE TABLE: ACCESS EXCLUSIVE `note` \(new\)/);
    expect(r.stdout).toMatch(/`20260123015834_add_points_trigger` \*\*edited\*\*/);
    expect(password.length).toBeGreaterThan(4);
    expect(r.stdout).not.toContain(password);
    expect(r.stdout).not.toContain(new URL(url).host);
    expect(r.stdout).toContain("connection to <connection string> refused");

    expect((await review(["--preview-json", file])).code).toBe(2);
    expect((await review(["--stack", "dev; rm -rf /", "--preview-json", file])).code).toBe(2);
    const noApply = await writePreview("no-apply.json", JSON.stringify({ steps: [] }));
    const missing = await review(["--stack", "dev", "--preview-json", noApply]);
    expect(missing.code).toBe(1);
    expect(missing.stderr).toMatch(/no migration-apply command/);
  });

  test("lint: only the pending files, for the target's major (the server's, else the stack's as its preview tells the postgresql provider)", async () => {
    const url = await freshDatabase("review");
    // An applied file with a finding (a plain CREATE INDEX), as a set adopted with its history has.
    const dir = await writeSet([
      { version: "1", name: "accounts", sql: "CREATE TABLE accounts (id bigint PRIMARY KEY, note text);\n" },
      { version: "2", name: "old_index", sql: "CREATE INDEX accounts_note ON accounts (note);\n" },
    ]);
    expect((await migrate(["apply", "--quiet", "--database-url", url, "--dir", dir])).code).toBe(0);
    const before = manifestEnvironment(await readMigrationSet(dir));
    await writeMigration(dir, { version: "3", name: "retype", sql: "ALTER TABLE accounts ALTER COLUMN note TYPE varchar(20);\n" });
    const after = manifestEnvironment(await readMigrationSet(dir));
    const provider = {
      op: "same",
      urn: "urn:pulumi:dev::pg-migrations::pulumi:providers:postgresql::access-postgresql",
      type: "pulumi:providers:postgresql",
      newState: { type: "pulumi:providers:postgresql", inputs: { expectedVersion: "15" } },
    };
    const file = await writePreview("lint-pending.json", previewJson(before, after, [provider]));
    expect(summarisePreview(await readFile(file, "utf8")).pgMajor).toBe(15);

    for (const [how, env, major] of [
      ["preview", {}, 15],
      ["database", { DATABASE_URL: url }, 17],
    ] as const) {
      const r = await review(["--stack", "dev", "--preview-json", file, "--dir", dir], env);
      expect(r.code, r.stderr).toBe(0);
      expect(r.stdout, how).toContain("**1 file pending, ");
      expect(r.stdout, how).toContain(", 1 lint error.");
      expect(r.stdout, how).toContain(`Lint (squawk) judged the pending files for PostgreSQL ${major}.`);
      expect(r.stdout, how).toMatch(/\| 3 \| retype \|.*\*\*error\*\* `3_retype\/migration\.sql:1` changing-column-type/);
      expect(r.stdout, how).not.toContain("2_old_index/migration.sql:1");
    }
  });

  test("a stack whose ledger lives in another schema: the review reads that ledger, named by the apply command or by --ledger-schema", async () => {
    const url = await freshDatabase("review");
    const dir = await writeSet([
      { version: "1", name: "one", sql: "CREATE TABLE one (id int);\n" },
      { version: "2", name: "two", sql: "CREATE TABLE two (id int);\n" },
    ]);
    const applied = await migrate(["apply", "--quiet", "--database-url", url, "--dir", dir, "--ledger-schema", "ops"]);
    expect(applied.code, applied.stderr).toBe(0);
    await writeMigration(dir, { version: "3", name: "three", sql: "CREATE TABLE three (id int);\n" });
    // The command line as infra/migrations.ts writes it for a stack with ledgerSchema: ops.
    const create = "node dist/migrate.js apply --dir sql/migrations --expect-manifest --ledger-schema ops --lock-timeout 5s";
    const json = JSON.parse(previewJson(undefined, {})) as { steps: { newState: { inputs: Record<string, unknown> } }[] };
    json.steps[0]!.newState.inputs.create = create;
    expect(summarisePreview(JSON.stringify(json)).ledgerSchema).toBe("ops");
    const named = await writePreview("ledger-schema.json", JSON.stringify(json));

    const fromPreview = await review(["--stack", "local", "--preview-json", named, "--dir", dir], { DATABASE_URL: url });
    expect(fromPreview.code, fromPreview.stderr).toBe(0);
    expect(fromPreview.stdout).toContain("**1 file pending");
    expect(fromPreview.stdout).toMatch(/\| 3 \| three \|/);

    // Where the preview names none (an older program), the option says where it is; the default finds nothing.
    const unnamed = await writePreview("no-ledger-schema.json", previewJson(undefined, {}));
    const explicit = await review(["--stack", "local", "--preview-json", unnamed, "--dir", dir, "--ledger-schema", "ops"], { DATABASE_URL: url });
    expect(explicit.stdout).toContain("**1 file pending");
    const fallback = await review(["--stack", "local", "--preview-json", unnamed, "--dir", dir], { DATABASE_URL: url });
    expect(fallback.stdout).toContain("**3 files pending");
    const bad = await review(["--stack", "local", "--preview-json", unnamed, "--dir", dir, "--ledger-schema", "Ops;drop"], { DATABASE_URL: url });
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/--ledger-schema "Ops;drop" is not a plain identifier/);
  });

  test("a set of 3,000 files stays under 64,000 characters: whole rows only, the rest counted after the table", async () => {
    const files = Array.from({ length: 3000 }, (_, i) => ({
      version: String(20300101000000 + i),
      name: `t${i}`,
      sql: `CREATE TABLE t${i} (id bigint PRIMARY KEY, m text REFERENCES "Member"("id"));\nALTER TABLE "Member" ADD COLUMN c${i} text;\nUPDATE "Member" SET c${i} = 'x' WHERE id IN (SELECT m FROM t${i});\n`,
    }));
    const dir = await writeSet(files);
    const file = await writePreview("big.json", previewJson(undefined, {}));
    const r = await review(["--stack", "prod", "--preview-json", file, "--dir", dir]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout.length).toBeLessThanOrEqual(COMMENT_LIMIT);
    const rows = r.stdout.split("\n").filter((l) => /^\| \d+ \|/.test(l));
    expect(rows.length).toBeGreaterThan(10);
    expect(rows.every((l) => l.endsWith(" |") && l.split(" | ").length === 6)).toBe(true);
    const more = /…and \*\*(\d+) more pending files\*\* \((\d+) to (\d+), (\d+) statements\)/.exec(r.stdout);
    expect(more).not.toBeNull();
    expect(rows.length + Number(more![1])).toBe(3000);
    expect(more![3]).toBe(files.at(-1)!.version);
    expect(r.stdout.trimEnd().endsWith("</details>")).toBe(true);
    expect(r.stdout).toContain("**3000 files pending");

    const full = await review(["--stack", "prod", "--preview-json", file, "--dir", dir, "--full"]);
    expect(full.stdout.split("\n").filter((l) => /^\| \d+ \|/.test(l))).toHaveLength(3000);
  });

  test("a file too long to list statement by statement shows its strongest lock per table, in one whole row", async () => {
    const statements = Array.from({ length: 300 }, (_, i) => `CREATE INDEX "i${i}" ON "Member" ("c${i}");\nALTER TABLE "Team" ALTER COLUMN "c${i}" SET STATISTICS 100;`);
    const dir = await writeSet([{ version: "1", name: "many", sql: [`ALTER TABLE "Member" ADD COLUMN "x" int;`, ...statements].join("\n") + "\n" }]);
    const file = await writePreview("long.json", previewJson(undefined, {}));
    const r = await review(["--stack", "dev", "--preview-json", file, "--dir", dir]);
    expect(r.code, r.stderr).toBe(0);
    const row = r.stdout.split("\n").find((l) => l.startsWith("| 1 | many |"))!;
    expect(row).toContain('| 601 | strongest per table over the file: ACCESS EXCLUSIVE `"Member"`, SHARE UPDATE EXCLUSIVE `"Team"` |');
  });

  test("the bundled command: npm run review's entry point prints the review and exits 0", async () => {
    const set = await readMigrationSet(SEED);
    const file = await writePreview("bundle.json", previewJson(manifestEnvironment(set), manifestEnvironment(set)));
    const { stdout } = await run(process.execPath, [path.join(ROOT, "dist", "review.js"), "--stack", "dev", "--preview-json", file], {
      cwd: ROOT,
      env: { PATH: process.env.PATH ?? "" },
    });
    expect(stdout).toContain("**0 files pending, 1 stack resource changing**");
    expect(stdout).toContain("No migration file is pending.");
  });
});
