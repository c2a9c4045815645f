/**
 * Fault injection for the reliability tests: the migrator as a real process that can be killed,
 * waits on the database's own view of what a session is doing, and a TCP server that never answers.
 */
import { spawn, type ChildProcess } from "node:child_process";
import { readdirSync, readFileSync } from "node:fs";
import { createServer, type Server, type Socket } from "node:net";
import path from "node:path";
import { CLI, ROOT, type CliRun } from "./cli.js";
import { query } from "./migrator-db.js";

export interface MigratorProcess {
  child: ChildProcess;
  /** Everything printed so far, stdout then stderr. */
  output(): string;
  /** Resolves when the process ends: its exit code (or 128 + signal number) and output. */
  done: Promise<CliRun & { signal: NodeJS.Signals | null; elapsedMs: number }>;
}

/** Starts `node dist/migrate.js ...argv` with only PATH, HOME and `env`. */
export function startMigrator(argv: string[], env: NodeJS.ProcessEnv = {}): MigratorProcess {
  const started = Date.now();
  const child = spawn(process.execPath, [CLI, ...argv], {
    cwd: ROOT,
    env: { PATH: process.env.PATH ?? "", HOME: process.env.HOME ?? "", ...env },
    stdio: ["ignore", "pipe", "pipe"],
  });
  let stdout = "";
  let stderr = "";
  child.stdout!.on("data", (d) => (stdout += d));
  child.stderr!.on("data", (d) => (stderr += d));
  const done = new Promise<CliRun & { signal: NodeJS.Signals | null; elapsedMs: number }>((resolve) => {
    child.on("close", (code, signal) => resolve({ code: code ?? 128, signal, stdout, stderr, elapsedMs: Date.now() - started }));
  });
  return { child, output: () => `${stdout}\n${stderr}`, done };
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Polls `probe` until it returns a value other than undefined; fails naming `what` after `timeoutMs`. */
export async function waitFor<T>(what: string, probe: () => Promise<T | undefined>, timeoutMs = 30_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs}ms waiting for ${what}`);
    await sleep(50);
  }
}

export interface Backend {
  pid: number;
  state: string;
  query: string;
  waitEventType: string | null;
}

/** The migrator's server session (application_name "migrator") whose current query matches `pattern`. */
export async function migratorBackend(url: string, pattern: string): Promise<Backend | undefined> {
  const rows = await query<Backend>(
    url,
    `SELECT pid, state, query, wait_event_type AS "waitEventType" FROM pg_stat_activity
      WHERE application_name = 'migrator' AND datname = current_database() AND query LIKE $1 AND state <> 'idle'`,
    [`%${pattern}%`],
  );
  return rows[0];
}

/** Waits until the migrator's session is running a statement containing `pattern`. */
export function waitForMigratorQuery(url: string, pattern: string, timeoutMs = 30_000): Promise<Backend> {
  return waitFor(`the migrator to run "${pattern}"`, () => migratorBackend(url, pattern), timeoutMs);
}

/** Waits until no session of the migrator is left on the database (its backend noticed the client died). */
export function waitForNoMigratorSession(url: string, timeoutMs = 30_000): Promise<true> {
  return waitFor(
    "the killed migrator's server session to end",
    async () =>
      (await query(url, `SELECT 1 FROM pg_stat_activity WHERE application_name = 'migrator' AND datname = current_database()`)).length === 0 ? true : undefined,
    timeoutMs,
  );
}

/** A TCP server that accepts connections and never says a word: a server that stopped answering. */
export async function silentServer(): Promise<{ port: number; connections: () => number; close: () => Promise<void> }> {
  const sockets: Socket[] = [];
  const server: Server = createServer((socket) => {
    sockets.push(socket);
    socket.on("error", () => {});
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const address = server.address();
  const port = typeof address === "object" && address ? address.port : 0;
  return {
    port,
    connections: () => sockets.length,
    close: () =>
      new Promise<void>((resolve) => {
        for (const s of sockets) s.destroy();
        server.close(() => resolve());
      }),
  };
}

/** The postmaster of a server (first line of postmaster.pid) and every process it started. */
export function serverProcesses(dataDir: string): number[] {
  const postmaster = Number(readFileSync(path.join(dataDir, "postmaster.pid"), "utf8").split("\n")[0]);
  const children = readdirSync("/proc")
    .filter((name) => /^\d+$/.test(name))
    .filter((name) => {
      try {
        // Field 4 of /proc/<pid>/stat is the parent; the command name (field 2) may hold spaces, so read after its ')'.
        const stat = readFileSync(`/proc/${name}/stat`, "utf8");
        return Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[1]) === postmaster;
      } catch {
        return false;
      }
    })
    .map(Number);
  return [postmaster, ...children];
}

/** Freezes (SIGSTOP) or thaws (SIGCONT) a whole server: what a hung host looks like from the network. */
export function signalServer(dataDir: string, signal: "SIGSTOP" | "SIGCONT"): void {
  for (const pid of serverProcesses(dataDir)) {
    try {
      process.kill(pid, signal);
    } catch {
      // A process that ended meanwhile needs no signal.
    }
  }
}
