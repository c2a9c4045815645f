import { mkdir, rm } from "node:fs/promises";
import path from "node:path";
import { fileURLToPath } from "node:url";
import pg from "pg";
import { startEmbedded, type EmbeddedServer } from "../migrator/embedded/server.js";

export const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");
/** Git-ignored scratch space: generated sets, the bench server's data, raw logs. */
export const TMP = path.join(ROOT, "bench", "results", "tmp");

/** A dedicated embedded PostgreSQL 17 for one bench run, deleted when stopped. */
export interface BenchServer {
  url(database: string): string;
  /** Runs fn on a fresh connection to `database` (default postgres) and closes it. */
  query<T>(fn: (client: pg.Client) => Promise<T>, database?: string): Promise<T>;
  createDatabase(name: string, template?: string): Promise<void>;
  stop(): Promise<void>;
}

export async function startBenchServer(): Promise<BenchServer> {
  const rootDir = path.join(TMP, `server-${process.pid}`);
  await rm(rootDir, { recursive: true, force: true });
  await mkdir(rootDir, { recursive: true });
  const server: EmbeddedServer = await startEmbedded({ rootDir, persistent: false });
  const query = async <T>(fn: (client: pg.Client) => Promise<T>, database = "postgres"): Promise<T> => {
    const client = new pg.Client({ connectionString: server.url(database), application_name: "bench" });
    await client.connect();
    try {
      return await fn(client);
    } finally {
      await client.end();
    }
  };
  return {
    url: (database) => server.url(database),
    query,
    createDatabase: (name, template) =>
      query(async (c) => {
        await c.query(`DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`);
        await c.query(`CREATE DATABASE "${name}"${template ? ` TEMPLATE "${template}"` : ""}`);
      }),
    stop: async () => {
      await server.stop();
      await rm(rootDir, { recursive: true, force: true });
    },
  };
}
