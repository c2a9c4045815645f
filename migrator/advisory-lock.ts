import { createHash } from "node:crypto";
import type pg from "pg";
import { MigrationLockTimeoutError } from "./errors.js";
import { qualifiedName, type LedgerLocation } from "./ledger.js";
import type { Reporter } from "./reporter.js";
import { assertSessionPinned } from "./session-pinning.js";

/** A stable 64-bit advisory lock key per ledger, so two sets in one database do not block each other. */
export function lockKey(location: LedgerLocation): bigint {
  return createHash("sha256")
    .update(`migrator:${qualifiedName(location)}`)
    .digest()
    .readBigInt64BE(0);
}

/** Says who holds the lock, so a waiting user knows whom to ask. Advisory locks are per database; pg_locks lists every database's. */
export async function describeLockHolder(client: pg.ClientBase, key: bigint): Promise<string | undefined> {
  const unsigned = BigInt.asUintN(64, key);
  const result = await client.query(
    `SELECT a.pid, a.usename, a.application_name, host(a.client_addr) AS client_addr,
            extract(epoch FROM now() - a.backend_start)::int AS seconds
       FROM pg_locks l JOIN pg_stat_activity a ON a.pid = l.pid
      WHERE l.locktype = 'advisory' AND l.granted
        AND l.database = (SELECT oid FROM pg_database WHERE datname = current_database())
        AND l.classid = $1::bigint::oid AND l.objid = $2::bigint::oid AND l.objsubid = 1
        AND l.pid <> pg_backend_pid()`,
    [(unsigned >> 32n).toString(), (unsigned & 0xffffffffn).toString()],
  );
  const h = result.rows[0];
  if (!h) return undefined;
  return `pid ${h.pid}, user ${h.usename}${h.application_name ? `, application "${h.application_name}"` : ""}${h.client_addr ? ` from ${h.client_addr}` : ""}, connected ${h.seconds}s ago`;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/**
 * Holds the session-level migration lock around `fn`. Waits by polling pg_try_advisory_lock,
 * so a waiting migrator never sits in the server's lock queue; gives up after `waitMs`. The
 * lock dies with the session, so a killed migrator cannot leave it behind.
 */
export async function withAdvisoryLock<T>(client: pg.ClientBase, location: LedgerLocation, waitMs: number, reporter: Reporter, fn: () => Promise<T>): Promise<T> {
  // A session lock means nothing on a connection a pooler moves between backends: refused here, before the lock is asked for.
  await assertSessionPinned(client);
  const key = lockKey(location).toString();
  const started = Date.now();
  let announced = false;
  let lastTry = false;
  for (;;) {
    const { rows } = await client.query<{ locked: boolean }>(`SELECT pg_try_advisory_lock($1::bigint) AS locked`, [key]);
    if (rows[0]?.locked) break;
    // Said at the first refusal, so even a short --lock-wait on a slow machine says what it waited for.
    if (!announced) {
      reporter.event({ type: "lock-waiting", holder: await describeLockHolder(client, BigInt(key)) });
      announced = true;
    }
    const waited = Date.now() - started;
    if (waited >= waitMs) {
      const holder = await describeLockHolder(client, BigInt(key));
      // Nobody holds it any more: the holder finished between our try and this look. One more try
      // then, rather than giving up on a free lock with a message that names no one.
      if (holder === undefined && !lastTry) {
        lastTry = true;
        continue;
      }
      throw new MigrationLockTimeoutError(waited, holder);
    }
    await sleep(Math.min(250, Math.max(10, waitMs - waited)));
  }
  if (announced) reporter.event({ type: "lock-acquired", waitedMs: Date.now() - started });
  try {
    return await fn();
  } finally {
    await client.query(`SELECT pg_advisory_unlock($1::bigint)`, [key]).catch(() => {});
  }
}
