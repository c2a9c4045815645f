import { findPgBouncer, INSTALL_HINT } from "../support/pgbouncer.js";

/**
 * Global setup of `npm run test:pooler`: without PgBouncer every test would fail on the same
 * missing binary, so the run stops first with the one thing to do about it.
 */
export function setup(): void {
  if (!findPgBouncer()) throw new Error(`no pgbouncer on PATH or in /usr/sbin: ${INSTALL_HINT}`);
}
