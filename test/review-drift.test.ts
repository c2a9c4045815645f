/**
 * Drift in the migration review (npm run review): with a database to read, the review says whether
 * its schema drifted from the snapshot at the applied head, each difference named, and what `up`
 * will do about it (the apply command's `--fail-on-drift`); without one it says nothing of drift.
 */
import { cp, mkdtemp, rm, writeFile } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { runReview } from "../review/cli.js";
import { summarisePreview } from "../review/preview.js";
import { migrate, printed, ROOT } from "./support/cli.js";
import { freshDatabase } from "./support/database.js";
import { query } from "./support/migrator-db.js";
import { writeMigration } from "./support/sets.js";

const SEED = path.join(ROOT, "sql/migrations");
const APPLY = "urn:pulumi:prod::pg-migrations::command:local:Command::migration-apply";
const HEAD = "20260123015834_add_points_trigger";
const PLANTED = 'column "Member"."nickname" text exists in the database, not in the migrations';

let scratch: string;
beforeAll(async () => {
  scratch = await mkdtemp(path.join(os.tmpdir(), "review-drift-"));
});
afterAll(() => rm(scratch, { recursive: true, force: true }));

/** A `pulumi preview --json` of the apply command's update, with the command line infra/migrations.ts writes. */
async function preview(name: string, failOnDrift: boolean): Promise<string> {
  const create = `node dist/migrate.js apply --dir sql/migrations --expect-manifest${failOnDrift ? " --fail-on-drift" : ""} --ledger-schema migrator --lock-timeout 5s`;
  const inputs = { create, environment: { DATABASE_URL: "[secret]" } };
  const file = path.join(scratch, name);
  await writeFile(
    file,
    JSON.stringify({
      steps: [
        {
          op: "update",
          urn: APPLY,
          type: "command:local:Command",
          oldState: { type: "command:local:Command", inputs },
          newState: { type: "command:local:Command", inputs },
        },
      ],
    }),
  );
  return file;
}

async function review(argv: string[], env: NodeJS.ProcessEnv = {}) {
  let stdout = "";
  let stderr = "";
  const code = await runReview(argv, { stdout: (t) => (stdout += t), stderr: (t) => (stderr += t), env });
  return { code, stdout, stderr };
}

/** The seed set applied to a fresh database, and a copy of it with one new file pending. */
async function seeded(): Promise<{ url: string; dir: string }> {
  const url = await freshDatabase("reviewdrift");
  const dir = await mkdtemp(path.join(scratch, "set-"));
  await cp(SEED, dir, { recursive: true });
  const applied = await migrate(["apply", "--quiet", "--database-url", url, "--dir", dir]);
  expect(applied.code, printed(applied)).toBe(0);
  await writeMigration(dir, { version: "20270101000000", name: "note", sql: "CREATE TABLE note (id bigint PRIMARY KEY);\n" });
  return { url, dir };
}

describe("drift in the review", () => {
  test("the preview says whether the apply command passes --fail-on-drift", async () => {
    const { readFile } = await import("node:fs/promises");
    expect(summarisePreview(await readFile(await preview("on.json", true), "utf8")).failOnDrift).toBe(true);
    expect(summarisePreview(await readFile(await preview("off.json", false), "utf8")).failOnDrift).toBe(false);
  });

  test("a column added by hand: a warning naming it, the snapshot's head, and that up stops before the pending file (failOnDrift)", async () => {
    const { url, dir } = await seeded();
    await query(url, `ALTER TABLE "Member" ADD COLUMN nickname text`);
    const r = await review(["--stack", "prod", "--preview-json", await preview("drift-on.json", true), "--dir", dir], { DATABASE_URL: url });
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toContain("> [!WARNING]");
    expect(r.stdout).toMatch(
      new RegExp(`> \\*\\*Drift:\\*\\* the database's schema differs from the snapshot recorded at \`${HEAD}\` \\(sha256 \`[0-9a-f]{12}\`\\) in 1 place:`),
    );
    expect(r.stdout).toContain(`> - ${PLANTED}`);
    expect(r.stdout).toMatch(/This stack sets `failOnDrift`: `up` stops before the first pending file until this is resolved\. Undo it in the database/);
    expect(r.stdout).toContain("**1 file pending");

    const off = await review(["--stack", "dev", "--preview-json", await preview("drift-off.json", false), "--dir", dir], { DATABASE_URL: url });
    expect(off.stdout).toContain(`> - ${PLANTED}`);
    expect(off.stdout).toMatch(/This stack does not set `failOnDrift`: `up` applies the pending files, and the snapshot after them takes this change in/);
  });

  test("a clean database: one line, drift none; no snapshot: not checked, saying why; no database: nothing about drift", async () => {
    const { url, dir } = await seeded();
    const file = await preview("clean.json", true);
    const clean = await review(["--stack", "prod", "--preview-json", file, "--dir", dir], { DATABASE_URL: url });
    expect(clean.code, clean.stderr).toBe(0);
    expect(clean.stdout).toMatch(new RegExp(`^Drift: none; the schema is the snapshot's at \`${HEAD}\` \\(sha256 \`[0-9a-f]{12}\`\\)\\.$`, "m"));
    expect(clean.stdout).not.toContain("[!WARNING]");

    await query(url, "DROP TABLE migrator.applied_migrations_snapshots");
    const unchecked = await review(["--stack", "prod", "--preview-json", file, "--dir", dir], { DATABASE_URL: url });
    expect(unchecked.stdout).toMatch(new RegExp(`^Drift: not checked \\(no schema snapshot is recorded at the applied head ${HEAD}`, "m"));

    const noDatabase = await review(["--stack", "prod", "--preview-json", file, "--dir", dir]);
    expect(noDatabase.code, noDatabase.stderr).toBe(0);
    expect(noDatabase.stdout).not.toMatch(/drift/i);
  });
});
