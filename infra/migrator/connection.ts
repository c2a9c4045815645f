import pg from "pg";
import { parse as parseConnectionString } from "pg-connection-string";
import { UsageError } from "./errors.js";

/** Where to connect, with everything secret kept out of `display`. */
export interface ConnectionTarget {
  config: pg.ClientConfig;
  /** user@host:port/database, never a password: what messages may show. */
  display: string;
  /** Literal secrets to scrub from any text before it is printed. */
  secrets: string[];
}

/**
 * The database named by --database-url, DATABASE_URL, or the libpq PG* variables, in that
 * order; undefined when none names one (the caller then uses the embedded server).
 */
export function resolveConnection(databaseUrl: string | undefined, env: NodeJS.ProcessEnv): ConnectionTarget | undefined {
  const url = databaseUrl ?? env.DATABASE_URL;
  let config: pg.ClientConfig;
  if (url) {
    let parsed: ReturnType<typeof parseConnectionString>;
    try {
      if (!/^postgres(ql)?:\/\//i.test(url)) throw new Error("scheme");
      parsed = parseConnectionString(url);
    } catch {
      throw new UsageError("the database URL is not a postgres:// or postgresql:// URL (it is not shown here because it may hold a password)");
    }
    config = {
      host: parsed.host ?? undefined,
      port: parsed.port ? Number(parsed.port) : undefined,
      user: parsed.user ?? env.PGUSER,
      password: parsed.password ?? env.PGPASSWORD,
      database: parsed.database ?? undefined,
      ssl: parsed.ssl as pg.ClientConfig["ssl"],
    };
  } else if (env.PGHOST || env.PGDATABASE || env.PGUSER || env.PGPORT) {
    config = {
      host: env.PGHOST ?? "localhost",
      port: env.PGPORT ? Number(env.PGPORT) : 5432,
      user: env.PGUSER,
      password: env.PGPASSWORD,
      database: env.PGDATABASE ?? env.PGUSER,
    };
    const mode = env.PGSSLMODE;
    if (mode && mode !== "disable" && mode !== "allow" && mode !== "prefer") {
      config.ssl = mode === "require" ? { rejectUnauthorized: false } : { rejectUnauthorized: true };
    }
  } else {
    return undefined;
  }
  if (config.port !== undefined && !Number.isInteger(config.port)) {
    throw new UsageError("the database port is not a number");
  }
  config.application_name = "migrator";
  // A server that stops answering must not hang the migrator forever.
  config.connectionTimeoutMillis = 15_000;
  config.keepAlive = true;
  const password = typeof config.password === "string" ? config.password : undefined;
  return {
    config,
    display: `${config.user ?? "(default user)"}@${config.host ?? "localhost"}:${config.port ?? 5432}/${config.database ?? ""}`,
    secrets: password ? [password] : [],
  };
}

/** Connects, runs `fn`, and always closes the connection. */
export async function withClient<T>(target: ConnectionTarget, fn: (client: pg.Client) => Promise<T>): Promise<T> {
  const client = new pg.Client(target.config);
  // A connection the server drops (restart, pg_terminate_backend) emits 'error'; the failing query reports it.
  client.on("error", () => {});
  try {
    await client.connect();
  } catch (cause) {
    throw new Error(`connecting to ${target.display} failed: ${(cause as Error).message}`, { cause });
  }
  try {
    return await fn(client);
  } finally {
    await client.end().catch(() => {});
  }
}
