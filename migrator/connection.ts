import { readFileSync } from "node:fs";
import type pg from "pg";
import { UsageError } from "./errors.js";
import { loadPg } from "./pg-driver.js";

/** Where to connect, with everything secret kept out of `display`. */
export interface ConnectionTarget {
  config: pg.ClientConfig;
  /** user@host:port/database, never a password: what messages may show. */
  display: string;
  /** Literal secrets to scrub from any text before it is printed. */
  secrets: string[];
}

const SSL_MODES = ["disable", "allow", "prefer", "require", "verify-ca", "verify-full"] as const;
type SslMode = (typeof SSL_MODES)[number];

interface Parts {
  host: string;
  port: number;
  user: string | undefined;
  password: string | undefined;
  database: string | undefined;
  sslMode: string | undefined;
  sslRootCert: string | undefined;
  /** libpq's connect_timeout, in seconds (URL parameter or PGCONNECT_TIMEOUT). */
  connectTimeout: string | undefined;
}

function fromUrl(url: string, env: NodeJS.ProcessEnv): Parts {
  let parsed: URL;
  try {
    if (!/^postgres(ql)?:\/\//i.test(url)) throw new Error("scheme");
    parsed = new URL(url);
  } catch {
    throw new UsageError("the database URL is not a postgres:// or postgresql:// URL (it is not shown here because it may hold a password)");
  }
  const q = parsed.searchParams;
  const decode = (s: string) => (s ? decodeURIComponent(s) : undefined);
  return {
    host: q.get("host") ?? (decodeURIComponent(parsed.hostname.replace(/^\[|\]$/g, "")) || "localhost"),
    port: parsed.port ? Number(parsed.port) : q.get("port") ? Number(q.get("port")) : 5432,
    user: decode(parsed.username) ?? q.get("user") ?? env.PGUSER,
    password: decode(parsed.password) ?? q.get("password") ?? env.PGPASSWORD,
    database: decode(parsed.pathname.replace(/^\//, "")) ?? q.get("dbname") ?? undefined,
    sslMode: q.get("sslmode") ?? env.PGSSLMODE,
    sslRootCert: q.get("sslrootcert") ?? env.PGSSLROOTCERT,
    connectTimeout: q.get("connect_timeout") ?? env.PGCONNECT_TIMEOUT,
  };
}

function fromEnv(env: NodeJS.ProcessEnv): Parts {
  return {
    host: env.PGHOST ?? "localhost",
    port: env.PGPORT ? Number(env.PGPORT) : 5432,
    user: env.PGUSER,
    password: env.PGPASSWORD,
    database: env.PGDATABASE ?? env.PGUSER,
    sslMode: env.PGSSLMODE,
    sslRootCert: env.PGSSLROOTCERT,
    connectTimeout: env.PGCONNECT_TIMEOUT,
  };
}

/** Loopback and Unix sockets never leave the machine; anything else must be encrypted (the stacks' checks use the same test). */
export function isLocalHost(host: string): boolean {
  return host.startsWith("/") || host === "localhost" || /^127\./.test(host) || host === "::1" || host === "[::1]";
}

/**
 * TLS as libpq's sslmode means it. `prefer`/`allow` cannot fall back in node-postgres, so they
 * mean no TLS, and a remote host without TLS is refused unless the caller allows it.
 */
function tlsFor(parts: Parts, allowInsecure: boolean): pg.ClientConfig["ssl"] {
  const mode = (parts.sslMode ?? (isLocalHost(parts.host) ? "disable" : "verify-full")) as SslMode;
  if (!SSL_MODES.includes(mode)) {
    throw new UsageError(`sslmode "${parts.sslMode}" is not one of ${SSL_MODES.join(", ")}`);
  }
  if (mode === "disable" || mode === "allow" || mode === "prefer") {
    if (!isLocalHost(parts.host) && !allowInsecure) {
      throw new UsageError(
        `refusing to send credentials to ${parts.host} without TLS (sslmode=${mode}); use sslmode=verify-full with sslrootcert=<CA bundle> ` +
          `(RDS: the AWS RDS CA bundle), or sslmode=require, or pass --allow-insecure-connection if the network is trusted`,
      );
    }
    return false;
  }
  let ca: string | undefined;
  if (parts.sslRootCert && parts.sslRootCert !== "system") {
    try {
      ca = readFileSync(parts.sslRootCert, "utf8");
    } catch {
      throw new UsageError(`sslrootcert ${parts.sslRootCert} cannot be read; name a PEM file with the CA bundle`);
    }
  }
  if (mode === "require") return { rejectUnauthorized: false };
  if (mode === "verify-ca") return { rejectUnauthorized: true, ...(ca ? { ca } : {}), checkServerIdentity: () => undefined };
  return { rejectUnauthorized: true, ...(ca ? { ca } : {}) };
}

const DEFAULT_CONNECT_TIMEOUT_S = 15;

/** libpq's connect_timeout: whole seconds; 0 or absent means our default (never "forever"). */
function connectTimeoutOf(text: string | undefined): number {
  if (text === undefined || text === "") return DEFAULT_CONNECT_TIMEOUT_S * 1000;
  if (!/^\d+$/.test(text)) throw new UsageError(`connect_timeout "${text}" is not a whole number of seconds`);
  const seconds = Number(text);
  return (seconds === 0 ? DEFAULT_CONNECT_TIMEOUT_S : seconds) * 1000;
}

/**
 * The database named by --database-url, DATABASE_URL, or the libpq PG* variables, in that
 * order; undefined when none names one (the caller then uses the embedded server).
 */
export function resolveConnection(databaseUrl: string | undefined, env: NodeJS.ProcessEnv, allowInsecure = false): ConnectionTarget | undefined {
  const url = databaseUrl ?? env.DATABASE_URL;
  let parts: Parts;
  if (url) parts = fromUrl(url, env);
  else if (env.PGHOST || env.PGDATABASE || env.PGUSER || env.PGPORT) parts = fromEnv(env);
  else return undefined;
  if (!Number.isInteger(parts.port) || parts.port <= 0 || parts.port > 65535) {
    throw new UsageError("the database port is not a port number");
  }
  const connectTimeoutMs = connectTimeoutOf(parts.connectTimeout);
  const config: pg.ClientConfig = {
    host: parts.host,
    port: parts.port,
    user: parts.user,
    password: parts.password,
    database: parts.database,
    ssl: tlsFor(parts, allowInsecure),
    application_name: "migrator",
    // A server that accepts the connection and never answers must not hang the migrator forever.
    connectionTimeoutMillis: connectTimeoutMs,
    keepAlive: true,
    keepAliveInitialDelayMillis: 10_000,
  };
  return {
    config,
    display: `${parts.user ?? "(default user)"}@${parts.host}:${parts.port}/${parts.database ?? ""}`,
    secrets: parts.password ? [parts.password] : [],
  };
}

/** Connects, runs `fn`, and always closes the connection. */
export async function withClient<T>(target: ConnectionTarget, fn: (client: pg.Client) => Promise<T>): Promise<T> {
  return useClient(target, await openClient(target), fn);
}

/**
 * Like withClient, but the connection opens while `prepare` runs: reading and parsing the set is
 * this process's work, connecting is mostly waiting for the server, so the two overlap. When
 * `prepare` fails, its error is the one reported (bad input is named before an unreachable
 * server) and the connection, if it opened, is closed unused.
 */
export async function withClientWhile<S, T>(target: ConnectionTarget, prepare: () => Promise<S>, fn: (client: pg.Client, prepared: S) => Promise<T>): Promise<T> {
  const opening = openClient(target);
  // Handled now, so a refusal that arrives while `prepare` runs is not an unhandled rejection; awaited below.
  opening.catch(() => {});
  let prepared: S;
  try {
    prepared = await prepare();
  } catch (error) {
    void opening.then(
      (client) => client.end().catch(() => {}),
      () => {},
    );
    throw error;
  }
  return useClient(target, await opening, (client) => fn(client, prepared));
}

async function openClient(target: ConnectionTarget): Promise<pg.Client> {
  const { Client } = await loadPg();
  const client = new Client(target.config);
  // A connection the server drops (restart, pg_terminate_backend) emits 'error'; the failing query reports it.
  client.on("error", () => {});
  try {
    await client.connect();
  } catch (cause) {
    const message = (cause as Error).message;
    const limit = target.config.connectionTimeoutMillis;
    const advice =
      /timeout/i.test(message) && limit
        ? ` (the server did not answer within ${limit / 1000}s; check that it is up and reachable, or raise connect_timeout in the URL or PGCONNECT_TIMEOUT)`
        : "";
    // node-postgres says "client password must be a string" when the server asks for a password and none was given.
    if (/client password must be a string/.test(message) && target.config.password === undefined) {
      throw new Error(
        `connecting to ${target.display} failed: the server asks for a password and none was given; set PGPASSWORD, put it in the URL, or add a line for this host to ~/.pgpass`,
        { cause },
      );
    }
    throw new Error(`connecting to ${target.display} failed: ${message}${advice}`, { cause });
  }
  return client;
}

/** A session's server backend pid as the server reported it, once the pooler guard has seen it stay put. */
const backendPids = new WeakMap<pg.ClientBase, number>();

/**
 * Notes the pid of the backend a pinned session runs on. The startup key data holds it on a direct
 * connection only; the connection watchdog needs the real one to ask the server about the session.
 */
export function noteBackendPid(client: pg.ClientBase, pid: number): void {
  backendPids.set(client, pid);
}

/** How to open a second connection to the target a client was opened for (see peerOf). */
const peers = new WeakMap<pg.ClientBase, () => pg.Client>();

/**
 * A new, unconnected client to the same target as `client`, or undefined for a client not opened
 * here. The pooler guard (session-pinning.ts) asks one for its backend; the engine's functions
 * take only a client, so the target travels with it instead of through every signature.
 */
export function peerOf(client: pg.ClientBase): pg.Client | undefined {
  return peers.get(client)?.();
}

async function useClient<T>(target: ConnectionTarget, client: pg.Client, fn: (client: pg.Client) => Promise<T>): Promise<T> {
  const { Client } = await loadPg();
  // A probe must not wait forever for a pooled server connection: the connect timeout bounds its one query too.
  peers.set(
    client,
    () => new Client({ ...target.config, application_name: "migrator-probe", query_timeout: target.config.connectionTimeoutMillis || DEFAULT_CONNECT_TIMEOUT_S * 1000 }),
  );
  const stopWatching = watchServer(client, target, () => new Client({ ...target.config, application_name: "migrator-watchdog" }));
  try {
    return await fn(client);
  } finally {
    stopWatching();
    await client.end().catch(() => {});
  }
}

/** What node-postgres keeps of the statement in flight and of the socket (not in its typings). */
interface ClientInternals {
  activeQuery?: object | null;
  processID?: number | null;
  connection?: { stream?: { destroy(error?: Error): void } };
}

/**
 * A statement that runs for minutes looks the same from here as a server that froze or a network
 * that silently dropped the connection: TCP keepalive cannot tell while the peer's kernel still
 * answers, and the OS gives up only after many minutes. So while one statement has been running
 * for a whole interval, a second connection asks the server whether our session is still there.
 * If the server cannot be reached twice in a row (no answer within connect_timeout), or answers
 * that the session is gone, the waiting statement is failed with that reason instead of hanging.
 * A server that answers with any error (too many connections, ...) is alive: that is not a failure.
 */
function watchServer(client: pg.Client, target: ConnectionTarget, newWatcher: () => pg.Client): () => void {
  const internals = client as unknown as ClientInternals;
  const intervalMs = target.config.connectionTimeoutMillis || DEFAULT_CONNECT_TIMEOUT_S * 1000;
  let seen: object | null | undefined;
  let unanswered = 0;
  let probing = false;
  const abort = (reason: string) => internals.connection?.stream?.destroy(new Error(reason));
  const probe = async () => {
    // The pid the pooler guard saw the server report, else the one in the startup key data. Behind
    // a proxy (PgBouncer makes up its own keys) the latter is no pid: then only a watcher whose
    // own key names its own backend shows that keys are real on this path and the pid may be judged.
    const known = backendPids.get(client);
    const pid = known ?? internals.processID;
    const watcher = newWatcher();
    watcher.on("error", () => {});
    try {
      await watcher.connect();
      const { rows } = await watcher.query<{ me: number; present: boolean }>(
        `SELECT pg_backend_pid() AS me, EXISTS (SELECT 1 FROM pg_stat_activity WHERE pid = $1) AS present`,
        [pid],
      );
      unanswered = 0;
      const judged = known !== undefined || (watcher as unknown as ClientInternals).processID === rows[0]?.me;
      if (judged && !rows[0]?.present && internals.activeQuery) {
        abort(`the server no longer has this session (backend pid ${pid}) while the migrator waits for its statement; the connection was lost`);
      }
    } catch (error) {
      if ((error as { code?: string }).code) {
        unanswered = 0;
      } else if (++unanswered >= 2 && internals.activeQuery) {
        abort(
          `the server stopped answering: no reply to the running statement, and no answer to a new connection within ${intervalMs / 1000}s, twice; the connection was given up`,
        );
      }
    } finally {
      await watcher.end().catch(() => {});
    }
  };
  const timer = setInterval(() => {
    const current = internals.activeQuery;
    if (current && current === seen && !probing) {
      probing = true;
      void probe().finally(() => (probing = false));
    } else if (current !== seen) {
      unanswered = 0;
    }
    seen = current;
  }, intervalMs);
  timer.unref();
  return () => clearInterval(timer);
}
