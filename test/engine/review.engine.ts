/**
 * The migration review from a real `pulumi preview --json` of the local stack (the engine and
 * providers built by scripts/build-pulumi.sh, a file backend, embedded PostgreSQL 17 servers):
 * the seed set before anything is applied, then an applied file edited beside a new one, then a
 * replaced database, whose roles the review flags; step 2 also with --rehearse, as the
 * pull-request workflow runs it. The steps build on each other.
 */
import { execFile } from "node:child_process";
import { appendFile, mkdir, writeFile } from "node:fs/promises";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { readMigrationSet } from "../../migrator/files.js";
import { runReview } from "../../review/cli.js";
import { COMMENT_LIMIT, reviewMarker } from "../../review/markdown.js";
import { localStack, type LocalStack } from "./local-stack-fixture.js";
import { REPO, type EngineProject } from "./support.js";

const NEW_VERSION = "20990101000000";
/** Where the reviews are left for docs/ci.md (git-ignored). */
const EXAMPLES = path.join(REPO, ".tools", "pulumi", "examples");

let stack: LocalStack;
let project: EngineProject;

/** `pulumi preview --json` of the local stack, saved, then `npm run review -- --stack local --preview-json` over it. */
async function reviewOfPreview(name: string, extra: string[] = []): Promise<string> {
  const json = await project.pulumiOk(["preview", "--json", "--stack", "local"]);
  const file = path.join(stack.scratch, `${name}.json`);
  await writeFile(file, json);
  let stdout = "";
  let stderr = "";
  const code = await runReview(["--stack", "local", "--preview-json", file, "--dir", path.join(project.dir, "sql/migrations"), ...extra], {
    stdout: (t) => (stdout += t),
    stderr: (t) => (stderr += t),
    env: {},
  });
  expect(code, stderr).toBe(0);
  await writeFile(path.join(EXAMPLES, `review-${name}.md`), stdout);
  expect(stdout.length).toBeLessThanOrEqual(COMMENT_LIMIT);
  for (const s of stack.secrets()) {
    expect(stdout).not.toContain(s);
    expect(json).not.toContain(s);
  }
  return stdout;
}

const pendingRows = (md: string) =>
  md
    .split("\n")
    .filter((l) => /^\| \d+ \|/.test(l))
    .map((l) => l.split(" | ")[0]!.slice(2));

beforeAll(async () => {
  stack = await localStack({ database: "review_app", migratorPassword: "review-migrator-password-41c9e2" });
  project = stack.project;
  await mkdir(EXAMPLES, { recursive: true });
}, 300_000);

afterAll(() => stack?.remove());

describe("the migration review from the real engine's preview", () => {
  test("1. the seed set on an empty stack: every file pending, in order, with its locks; nothing refused or dangerous", async () => {
    const md = await reviewOfPreview("seed");
    const set = await readMigrationSet(path.join(project.dir, "sql/migrations"));
    expect(md.startsWith(reviewMarker("local") + "\n")).toBe(true);
    expect(md).toMatch(new RegExp(`\\*\\*${set.files.length} files pending, \\d+ stack resources changing\\*\\*\\.`));
    expect(pendingRows(md)).toEqual(set.files.map((f) => f.version));
    expect(md).not.toContain("Dangerous");
    expect(md).not.toContain("Files `up` refuses");
    expect(md).toMatch(/\| 20260123015816 \| add_v2_tables \| transaction \| 15 \| .*L101 ALTER TABLE ADD COLUMN: ACCESS EXCLUSIVE `"Member"`/);
    expect(md).toMatch(/\| 20260123015817 \| validate_v2_fks \| .*SHARE UPDATE EXCLUSIVE `"BenchmarkSubmission"`, ROW SHARE `"Member"` \(referenced\)/);
    expect(md).toMatch(/\| 20260123015831 \| idx_member_total_points \| no-transaction \| 1 \| L7 CREATE INDEX CONCURRENTLY: SHARE UPDATE EXCLUSIVE `"Member"` \|/);
    expect(md).toMatch(/\| 20260123015834 \| add_points_trigger \| .*L39 CREATE TRIGGER: SHARE ROW EXCLUSIVE `"PointTransaction"`/);
  });

  test("2. after up, an applied file edited and a new one: the new one pending, the edited one named with up's refusal", async () => {
    const run = await project.pulumi(["up", "--yes", "--skip-preview", "--stack", "local"], { timeoutMs: 600_000 });
    expect(run.code, `${run.stdout}\n${run.stderr}`).toBe(0);
    await appendFile(path.join(project.dir, "sql/migrations/20260123015817_validate_v2_fks/migration.sql"), "\n-- edited after it was applied\n");
    const dir = path.join(project.dir, "sql/migrations", `${NEW_VERSION}_member_bio_check`);
    await mkdir(dir, { recursive: true });
    await writeFile(path.join(dir, "migration.sql"), `ALTER TABLE "Member" ADD CONSTRAINT "Member_bio_length" CHECK (length("bio") < 2000) NOT VALID;\n`);

    const md = await reviewOfPreview("edited");
    expect(md).toContain("**1 file pending, 2 stack resources changing**, **1 file that `up` refuses**");
    expect(pendingRows(md)).toEqual([NEW_VERSION]);
    expect(md).toMatch(new RegExp(`\\| ${NEW_VERSION} \\| member_bio_check \\| transaction \\| 1 \\| L1 ALTER TABLE ADD CHECK NOT VALID: ACCESS EXCLUSIVE \`"Member"\``));
    expect(md).toMatch(/- `20260123015817_validate_v2_fks` \*\*edited\*\*: edited after it was applied .*`up` refuses before anything runs/);
    expect(md).not.toContain("Dangerous");

    // The command as users run it: the bundle in the checkout runs `pulumi preview --json` itself.
    const own = await new Promise<{ code: number; stdout: string; stderr: string }>((resolve) => {
      execFile(
        process.execPath,
        [path.join(project.dir, "dist", "review.js"), "--stack", "local"],
        { cwd: project.dir, env: project.env, maxBuffer: 64 * 1024 * 1024, timeout: 300_000 },
        (error, stdout, stderr) => resolve({ code: error ? Number(error.code ?? 1) : 0, stdout, stderr }),
      );
    });
    expect(own.code, own.stderr).toBe(0);
    expect(own.stdout).toBe(md);

    // --rehearse, as the pull-request workflow runs it: the state's files replayed on a scratch server
    // of the stack's major (no database named), then the new file, with what it changed.
    const rehearsed = await reviewOfPreview("edited-rehearsed", ["--rehearse"]);
    expect(rehearsed).toMatch(/\nRehearsed on PostgreSQL 1[3-7]\.\d+: 1 pending file applies; \+1 constraint; locks as predicted\.\n/);
    expect(rehearsed).toMatch(new RegExp(`\\| ${NEW_VERSION} \\| member_bio_check \\| transaction \\| 1 \\| \\+1 constraint \\| L1 ALTER TABLE ADD CHECK NOT VALID`));
  });

  test("3. a replaced database: the review flags the roles the preview replaces, at the top", async () => {
    await stack.pointAt(await stack.startServer("replacement"));
    const md = await reviewOfPreview("replaced");
    const [head] = md.split("### Pending files");
    expect(head).toMatch(/> \*\*Dangerous:\*\* \d+ database resources? would be replaced or deleted/);
    expect(head).toMatch(/> - \*\*replace\*\* `postgresql:index\/role:Role` `access-migrator`/);
    // On the new database nothing is applied: the whole set is pending again.
    expect(pendingRows(md)).toHaveLength((await readMigrationSet(path.join(project.dir, "sql/migrations"))).files.length);
  });
});
