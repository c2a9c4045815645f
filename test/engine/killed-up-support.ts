/**
 * What a CI runner does to a cancelled deploy job, for the engine tests: `pulumi up` started in a
 * process group of its own (the CLI, the language host, the program, the providers and the
 * commands they run all stay in it), and the whole group killed with SIGKILL. Plus a gate the
 * test holds open in the database, so the kill lands at a chosen point without any fixed sleep.
 */
import { spawn } from "node:child_process";
import { randomUUID } from "node:crypto";
import { readdir, readFile } from "node:fs/promises";
import path from "node:path";
import pg from "pg";
import type { CliResult, EngineProject } from "./support.js";
import { REPO } from "./support.js";

/** The variable every process of one run inherits, as a CI runner's tracking id (GitHub's RUNNER_TRACKING_ID) is. */
export const RUN_MARKER = "ENGINE_TEST_RUN_ID";

export interface RunningUp {
  /** The CLI's pid, which is also its process group id. */
  pid: number;
  /** The value of RUN_MARKER in this run's environment. */
  marker: string;
  /** What it printed so far. */
  printed(): string;
  /** Resolves when the CLI has exited (by itself or killed). */
  exited: Promise<CliResult & { signal: NodeJS.Signals | null }>;
  /** SIGKILL to the whole process group, as a runner cancelling the job does; resolves once the CLI is gone. */
  killGroup(): Promise<void>;
}

/**
 * `pulumi up --yes --skip-preview` in a new process group (detached), its output collected.
 * `tmpDir` becomes its TMPDIR: a killed language host leaves its pipes folder there.
 */
export function spawnUp(project: EngineProject, tmpDir: string, stackName = "local"): RunningUp {
  const marker = randomUUID();
  const child = spawn(path.join(REPO, ".tools/pulumi/bin/pulumi"), ["--non-interactive", "up", "--yes", "--skip-preview", "--stack", stackName], {
    cwd: project.dir,
    env: { ...project.env, TMPDIR: tmpDir, [RUN_MARKER]: marker },
    detached: true,
    stdio: ["ignore", "pipe", "pipe"],
  });
  let stdout = "";
  let stderr = "";
  child.stdout.on("data", (b: Buffer) => (stdout += b.toString()));
  child.stderr.on("data", (b: Buffer) => (stderr += b.toString()));
  const exited = new Promise<CliResult & { signal: NodeJS.Signals | null }>((resolve) =>
    child.on("close", (code, signal) => resolve({ code: code ?? -1, signal, stdout, stderr })),
  );
  if (child.pid === undefined) throw new Error("pulumi up did not start");
  const pid = child.pid;
  return {
    pid,
    marker,
    printed: () => `${stdout}\n${stderr}`,
    exited,
    async killGroup() {
      process.kill(-pid, "SIGKILL");
      await exited;
    },
  };
}

export interface RunProcess {
  pid: number;
  pgid: number;
  command: string;
}

/** The live processes of one run: those whose environment holds its marker (read from /proc). */
export async function runProcesses(marker: string): Promise<RunProcess[]> {
  const found: RunProcess[] = [];
  for (const entry of await readdir("/proc")) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const environ = await readFile(`/proc/${entry}/environ`, "utf8");
      if (!environ.split("\0").includes(`${RUN_MARKER}=${marker}`)) continue;
      const stat = await readFile(`/proc/${entry}/stat`, "utf8");
      // pid (comm) state ppid pgrp …: comm may hold spaces, so split after its closing parenthesis.
      const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
      if (fields[0] === "Z") continue;
      const command = (await readFile(`/proc/${entry}/cmdline`, "utf8")).split("\0").join(" ").trim();
      found.push({ pid: Number(entry), pgid: Number(fields[2]), command });
    } catch {
      // The process ended while we read it.
    }
  }
  return found;
}

/**
 * What a runner's clean-up after a cancelled job does (GitHub's "Cleaning up orphan processes"):
 * SIGKILL to every process group that still holds one of the run's processes. Pulumi starts each
 * plugin in a process group of its own, so the kill of the CLI's group does not reach them.
 */
export async function killRunProcesses(marker: string): Promise<RunProcess[]> {
  const left = await runProcesses(marker);
  for (const pgid of new Set(left.map((p) => p.pgid))) {
    try {
      process.kill(-pgid, "SIGKILL");
    } catch {
      // The group ended between the listing and the kill.
    }
  }
  await waitFor("the run's processes to end", async () => ((await runProcesses(marker)).length === 0 ? true : undefined), { timeoutMs: 30_000 });
  return left;
}

/** Polls `probe` until it returns a value (not undefined), or fails naming `what` and the last thing `context` says. */
export async function waitFor<T>(what: string, probe: () => Promise<T | undefined>, options: { timeoutMs?: number; context?: () => string } = {}): Promise<T> {
  const deadline = Date.now() + (options.timeoutMs ?? 240_000);
  for (;;) {
    const value = await probe();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}${options.context ? `\n${options.context()}` : ""}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

/**
 * The database setting a test's slow migration reads: while it is on, a session started then
 * sleeps in that migration until the server sees its client gone (the migrator checks for a dead
 * client every second); once it is reset, the same SQL runs at once. Set per database, so every
 * new session of the stack sees it.
 */
export const MIGRATION_GATE = "engine_test.hold_migration";

/** The statement a slow migration holds the run with (returns at once while the gate is off). */
export const SLEEP_WHILE_GATED = `pg_sleep(CASE WHEN current_setting('${MIGRATION_GATE}', true) = 'on' THEN 3600 ELSE 0 END)`;

export async function setMigrationGate(adminUrl: string, database: string, on: boolean): Promise<void> {
  const client = new pg.Client({ connectionString: adminUrl });
  await client.connect();
  try {
    await client.query(on ? `ALTER DATABASE ${database} SET ${MIGRATION_GATE} = 'on'` : `ALTER DATABASE ${database} RESET ${MIGRATION_GATE}`);
  } finally {
    await client.end();
  }
}

/** The sessions of `database` running a query that contains `fragment`, with their application name. */
export async function sessionsRunning(adminUrl: string, database: string, fragment: string): Promise<{ pid: number; application_name: string; query: string }[]> {
  const client = new pg.Client({ connectionString: adminUrl });
  await client.connect();
  try {
    return (
      await client.query<{ pid: number; application_name: string; query: string }>(
        "SELECT pid, application_name, query FROM pg_stat_activity WHERE datname = $1 AND state = 'active' AND pid <> pg_backend_pid() AND position($2 in query) > 0",
        [database, fragment],
      )
    ).rows;
  } finally {
    await client.end();
  }
}

/**
 * The key of the advisory lock a test's slow verification check waits for (shared, in its
 * read-only transaction). The check session sets no dead-client check, so a sleep there would
 * outlive a killed report; a lock wait ends as soon as the test lets go.
 */
export const VERIFY_GATE_KEY = 727274;

/** Holds VERIFY_GATE_KEY on a connection of its own until the returned function lets go. */
export async function holdVerifyGate(url: string): Promise<() => Promise<void>> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  await client.query("SELECT pg_advisory_lock($1)", [VERIFY_GATE_KEY]);
  return () => client.end();
}
