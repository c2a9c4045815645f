import { randomBytes } from "node:crypto";
import type pg from "pg";
import { noteBackendPid, peerOf } from "./connection.js";
import { PooledConnectionError } from "./errors.js";

/** What node-postgres keeps of the BackendKeyData the server (or a proxy) sent at startup (not in its typings). */
interface KeyData {
  processID?: number | null;
}

/** A placeholder setting of our own: no server or extension reads it, so setting it changes nothing but this session. */
const PROBE = "migrator.session_probe";

/**
 * Refuses a connection that is not pinned to one server backend for the whole session (a
 * transaction- or statement-pooling proxy such as PgBouncer in transaction mode): on one, the
 * session advisory lock, `SET lock_timeout` and `CREATE INDEX CONCURRENTLY` would not mean what
 * they say. Runs before the migration lock is taken and writes nothing to the database.
 *
 * Two round trips on this session, each its own transaction: the first notes the backend's pid and
 * sets a session setting to a random token, the second reads both again. A transaction pooler that
 * hands the next transaction to another backend shows a new pid and no token. An idle pool with a
 * single backend hands the same one back, though, so when the session is not visibly direct a
 * second connection, opened between the two, asks for its backend: a pooler that gives it ours
 * shares one backend between two client sessions. A direct session is recognised without that
 * connection: its startup BackendKeyData names the very pid the server reports, which a pooler
 * (PgBouncer makes up its own cancel keys) cannot know in advance.
 *
 * A `SET` is also what makes RDS Proxy pin a session to its backend, so a pinning proxy is pinned
 * by the first round trip and passes, as it then holds every guarantee.
 */
export async function assertSessionPinned(client: pg.ClientBase): Promise<void> {
  // Hex only, so it is safe inline: a plain SET statement (not set_config) is what RDS Proxy documents as pinning.
  const token = randomBytes(8).toString("hex");
  // Each is one simple-protocol message, so one round trip and one (implicit) transaction.
  const first = await client.query(`SET ${PROBE} = '${token}'; SELECT pg_backend_pid() AS pid`);
  const pid = rowsOf<{ pid: number }>(first, 1).pid;
  const direct = (client as unknown as KeyData).processID === pid;
  const shared = direct ? undefined : await peerBackend(client);
  // Read back, then cleared, so the setting does not outlive the check on this session.
  const second = await client.query(`SELECT pg_backend_pid() AS pid, current_setting('${PROBE}', true) AS probe; RESET ${PROBE}`);
  const again = rowsOf<{ pid: number; probe: string | null }>(second, 0);
  if (shared === pid) throw new PooledConnectionError(`a second connection was served by this session's own server process (pid ${pid}) while this one sat idle`);
  if (again.pid !== pid) throw new PooledConnectionError(`pg_backend_pid() was ${pid} in one transaction and ${again.pid} in the next`);
  if (again.probe !== token) throw new PooledConnectionError(`a session setting made in one transaction was gone in the next`);
  noteBackendPid(client, pid);
}

/** The one row of the `index`th statement of a multi-statement simple query (node-postgres returns one result per statement). */
function rowsOf<R>(results: unknown, index: number): R {
  const all = results as pg.QueryResult[];
  return all[index]!.rows[0] as R;
}

/**
 * The backend pid a second connection to the same target is served by, or undefined when none
 * can be opened (no factory, too many connections, ...): an inconclusive probe is no reason to
 * refuse, and the two round trips on the session still run.
 */
async function peerBackend(client: pg.ClientBase): Promise<number | undefined> {
  const peer = peerOf(client);
  if (!peer) return undefined;
  peer.on("error", () => {});
  try {
    await peer.connect();
    const { rows } = await peer.query<{ pid: number }>(`SELECT pg_backend_pid() AS pid`);
    return rows[0]?.pid;
  } catch {
    return undefined;
  } finally {
    await peer.end().catch(() => {});
  }
}
