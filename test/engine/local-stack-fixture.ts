/**
 * The local stack as every engine test starts it: a project copy under the real CLI (support.ts),
 * a stack `local` pointed at an embedded PostgreSQL 17 that holds the stack's database, and the
 * passwords handed out, which no output may show.
 */
import { chmod, mkdtemp, rm } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import pg from "pg";
import { startEmbedded, type EmbeddedServer } from "../../migrator/embedded/server.js";
import { engineProject, missingTools, type EngineProject } from "./support.js";

export interface LocalStackOptions {
  /** The database the stack manages (created on every server this fixture starts). */
  database: string;
  migratorPassword: string;
  /** Every server logs every statement (log_statement = all), and serverLog() returns what they logged. */
  logStatements?: boolean;
}

export interface LocalStack {
  project: EngineProject;
  /** A scratch folder removed with the stack; the servers' data lives under it. */
  scratch: string;
  /** The server the stack points at first. */
  first: EmbeddedServer;
  /** Every server started, in order. */
  servers: EmbeddedServer[];
  /** Starts another server with the stack's database on it (a replaced database, say). */
  startServer(name: string): Promise<EmbeddedServer>;
  /** `pulumi config set` of a `pg-migrations:` key on the local stack. */
  configSet(key: string, value: string, secret?: boolean): Promise<string>;
  /** Points the stack at a server: its port and superuser password. */
  pointAt(server: EmbeddedServer): Promise<void>;
  /** Every password handed out so far. */
  secrets(): string[];
  /** What the servers logged so far (with logStatements, every statement they ran); empty without it. */
  serverLog(): string;
  /** Runs one statement as the superuser on the stack's database (on `first` unless told), on a connection of its own. */
  query<T extends pg.QueryResultRow>(sql: string, params?: unknown[], on?: EmbeddedServer): Promise<T[]>;
  remove(): Promise<void>;
}

const passwordOf = (server: EmbeddedServer) => decodeURIComponent(new URL(server.url()).password);

export async function localStack(options: LocalStackOptions): Promise<LocalStack> {
  const missing = missingTools();
  if (missing.length > 0) throw new Error(`the Pulumi tools are not all built, so the engine cannot run the local stack:\n  ${missing.join("\n  ")}`);
  const scratch = await mkdtemp(path.join(os.tmpdir(), "pulumi-local-stack-"));
  // As root the servers run as the postgres user, which must be able to reach their folders.
  await chmod(scratch, 0o755);
  const servers: EmbeddedServer[] = [];
  let project: EngineProject | undefined;
  let log = "";

  const startServer = async (name: string) => {
    const server = await startEmbedded({
      rootDir: path.join(scratch, name),
      persistent: false,
      ...(options.logStatements ? { settings: { log_statement: "all" }, onLog: (text: string) => void (log += text) } : {}),
    });
    servers.push(server);
    const admin = new pg.Client({ connectionString: server.url("postgres") });
    await admin.connect();
    try {
      await admin.query(`CREATE DATABASE ${options.database}`);
    } finally {
      await admin.end();
    }
    return server;
  };
  // `--` ends the flags: a generated password may start with "-".
  const configSet = (key: string, value: string, secret = false) =>
    project!.pulumiOk(["config", "set", ...(secret ? ["--secret"] : []), "--stack", "local", `pg-migrations:${key}`, "--", value]);
  const pointAt = async (server: EmbeddedServer) => {
    await configSet("localPort", String(server.port));
    await configSet("localPassword", passwordOf(server), true);
  };
  const remove = async () => {
    await project?.remove();
    for (const server of servers) await server.stop().catch(() => {});
    await rm(scratch, { recursive: true, force: true });
  };

  const query = async <T extends pg.QueryResultRow>(sql: string, params: unknown[] = [], on?: EmbeddedServer): Promise<T[]> => {
    const client = new pg.Client({ connectionString: (on ?? servers[0]!).url(options.database) });
    await client.connect();
    try {
      return (await client.query<T>(sql, params)).rows;
    } finally {
      await client.end();
    }
  };

  try {
    const first = await startServer("first");
    project = await engineProject();
    await project.pulumiOk(["stack", "init", "local", "--secrets-provider", "passphrase"]);
    await configSet("localDatabase", options.database);
    await configSet("migratorPassword", options.migratorPassword, true);
    await pointAt(first);
    return {
      project,
      scratch,
      first,
      servers,
      startServer,
      configSet,
      pointAt,
      secrets: () => [options.migratorPassword, ...servers.map(passwordOf)],
      serverLog: () => log,
      query,
      remove,
    };
  } catch (error) {
    await remove();
    throw error;
  }
}
