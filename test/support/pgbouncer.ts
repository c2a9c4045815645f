import { spawn, type ChildProcess } from "node:child_process";
import { accessSync, constants } from "node:fs";
import { chown, mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { connect } from "node:net";
import os from "node:os";
import path from "node:path";
import { freePort } from "../../migrator/embedded/server.js";
import { serverUser } from "../../migrator/embedded/system-user.js";

/** What to tell a developer whose machine has no PgBouncer: the pooler tests need Debian's package. */
export const INSTALL_HINT = "the pooler tests need PgBouncer: install it with `sudo apt-get install -y pgbouncer` (Debian/Ubuntu), then run `npm run test:pooler` again";

/** Debian installs pgbouncer in /usr/sbin, which an ordinary user's PATH often leaves out. */
export function findPgBouncer(): string | undefined {
  const dirs = [...(process.env.PATH ?? "").split(path.delimiter), "/usr/sbin", "/usr/local/sbin"].filter(Boolean);
  for (const dir of dirs) {
    const candidate = path.join(dir, "pgbouncer");
    try {
      accessSync(candidate, constants.X_OK);
      return candidate;
    } catch {
      // not here; the next folder
    }
  }
  return undefined;
}

export type PoolMode = "session" | "transaction" | "statement";

export interface PgBouncer {
  readonly port: number;
  readonly mode: PoolMode;
  /** URL of `database` through the pooler (the server's password rides in the pooler's own config, so none here). */
  url(database: string): string;
  /** Everything PgBouncer logged, for a failing test's message. */
  log(): Promise<string>;
  stop(): Promise<void>;
}

export interface PgBouncerOptions {
  /** The server behind the pooler: its superuser URL (host, port, user, password). */
  serverUrl: string;
  mode: PoolMode;
  /** Server connections per database and user; 1 makes an idle transaction pool hand back the one backend it has. */
  poolSize?: number;
}

/** Resolves once something accepts TCP connections on the port, so the first test never races the pooler's start. */
async function waitForPort(port: number, child: ChildProcess, logFile: string, timeoutMs = 10_000): Promise<void> {
  const started = Date.now();
  for (;;) {
    if (child.exitCode !== null) throw new Error(`pgbouncer exited with ${child.exitCode} before listening:\n${await readFile(logFile, "utf8").catch(() => "")}`);
    const open = await new Promise<boolean>((resolve) => {
      const socket = connect(port, "127.0.0.1");
      socket.once("connect", () => {
        socket.destroy();
        resolve(true);
      });
      socket.once("error", () => resolve(false));
    });
    if (open) return;
    if (Date.now() - started > timeoutMs) throw new Error(`pgbouncer did not listen on port ${port} within ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/**
 * Starts a real PgBouncer as a child process, with an ini file of its own on a free loopback
 * port, in front of `serverUrl`'s server. Every database name is passed through (`*`), and
 * clients are not authenticated (`auth_type = any`, loopback only): the pooler logs in to the
 * server with the server's own user and password, as a deployed one would with its userlist.
 * PgBouncer refuses to run as root, so root runs it as the `postgres` system user, as it does the
 * embedded server (migrator/embedded/system-user.ts).
 */
export async function startPgBouncer(options: PgBouncerOptions): Promise<PgBouncer> {
  const binary = findPgBouncer();
  if (!binary) throw new Error(INSTALL_HINT);
  const server = new URL(options.serverUrl);
  const port = await freePort();
  const dir = await mkdtemp(path.join(os.tmpdir(), "migrator-pgbouncer-"));
  const logFile = path.join(dir, "pgbouncer.log");
  const iniFile = path.join(dir, "pgbouncer.ini");
  const password = decodeURIComponent(server.password);
  // libpq-style connection string values: quoted, with ' and \ escaped.
  const quote = (v: string) => `'${v.replace(/\\/g, "\\\\").replace(/'/g, "\\'")}'`;
  const ini = [
    "[databases]",
    `* = host=${server.hostname} port=${server.port} user=${quote(decodeURIComponent(server.username))} password=${quote(password)}`,
    "",
    "[pgbouncer]",
    "listen_addr = 127.0.0.1",
    `listen_port = ${port}`,
    // No Unix socket: the tests reach it over TCP only, and a socket folder is one more path to clean up.
    "unix_socket_dir =",
    "auth_type = any",
    `pool_mode = ${options.mode}`,
    `default_pool_size = ${options.poolSize ?? 20}`,
    "max_client_conn = 200",
    `logfile = ${logFile}`,
    // The log is read by a failing test; keep the connection chatter out of it.
    "log_connections = 0",
    "log_disconnections = 0",
    "",
  ].join("\n");
  await writeFile(iniFile, ini, { mode: 0o600 });
  const user = serverUser();
  if (user) {
    await chown(dir, user.uid, user.gid);
    await chown(iniFile, user.uid, user.gid);
  }
  const child = spawn(binary, [iniFile], { stdio: "ignore", ...(user ? { uid: user.uid, gid: user.gid } : {}) });
  child.on("error", () => {});
  try {
    await waitForPort(port, child, logFile);
  } catch (error) {
    child.kill("SIGKILL");
    await rm(dir, { recursive: true, force: true });
    throw error;
  }
  return {
    port,
    mode: options.mode,
    url: (database) => `postgresql://${encodeURIComponent(decodeURIComponent(server.username))}@127.0.0.1:${port}/${encodeURIComponent(database)}`,
    log: () => readFile(logFile, "utf8").catch(() => ""),
    stop: async () => {
      if (child.exitCode === null) {
        const exited = new Promise((r) => child.once("exit", r));
        // SIGTERM is an immediate shutdown in Debian 12's PgBouncer 1.18; newer ones wait for clients first, so SIGKILL after a while.
        child.kill("SIGTERM");
        const late = setTimeout(() => child.kill("SIGKILL"), 5_000);
        await exited;
        clearTimeout(late);
      }
      await rm(dir, { recursive: true, force: true });
    },
  };
}
