import type pg from "pg";
import type { AfterRun } from "../apply.js";
import type { Reporter } from "../reporter.js";
import { quoteIdent, readLedger, type LedgerLocation, type LedgerRow } from "../ledger.js";
import { carryDrift } from "./carry.js";
import { claimsOf } from "./claims.js";
import { diffCatalogs, driftLine, type CatalogDifference } from "./diff.js";
import { snapshotTableOf, takeCatalog } from "./index.js";
import { canonicalJson, fingerprintOf, NORMALISER_VERSION, privilegesFingerprintOf, type NormalisedCatalog } from "./normalise.js";

/** The catalog as it was when a run ended, recorded beside the ledger. */
export interface Snapshot {
  /** The last applied migration's folder when it was taken: the applied head. */
  head: string;
  takenAt: Date;
  normaliser: number;
  sha256: string;
  privilegesSha256: string | null;
  catalog: NormalisedCatalog;
}

const tableOf = (ledger: LedgerLocation) => `${quoteIdent(ledger.schema)}.${quoteIdent(snapshotTableOf(ledger))}`;

/**
 * The applied head: the last file the ledger holds as applied or baselined, by its folder name.
 * A `started` row is an interrupted file, not part of the schema yet.
 */
export function appliedHead(rows: readonly LedgerRow[]): string | undefined {
  const done = rows.filter((r) => r.status !== "started");
  const last = done.at(-1);
  return last?.folder;
}

/**
 * Creates the snapshot table the way ensureLedger creates the ledger: only when missing (so a
 * role with rights on an existing table is not refused CREATE), private to its owner, and with
 * any database-wide default grants the migrating role has revoked again: the application must not
 * read or rewrite the history. Reading granted for the ledger's own schema (the auditor) is kept.
 */
async function ensureSnapshotTable(client: pg.ClientBase, ledger: LedgerLocation): Promise<void> {
  const table = tableOf(ledger);
  const exists = await client.query<{ found: boolean }>(`SELECT to_regclass($1) IS NOT NULL AS found`, [table]);
  if (exists.rows[0]?.found) return;
  await client.query(`
    CREATE TABLE IF NOT EXISTS ${table} (
      head              text        PRIMARY KEY,
      taken_at          timestamptz NOT NULL DEFAULT now(),
      normaliser        integer     NOT NULL,
      sha256            text        NOT NULL,
      privileges_sha256 text,
      snapshot          jsonb       NOT NULL
    );
    REVOKE ALL ON ${table} FROM PUBLIC;
    COMMENT ON TABLE ${table} IS 'The schema''s catalog after each migrator run, by applied head; written by the migrator only';
  `);
  const { rows } = await client.query<{ grantee: string; reader: boolean }>(
    `SELECT CASE a.grantee WHEN 0 THEN 'PUBLIC' ELSE quote_ident(r.rolname) END AS grantee,
            bool_or(a.privilege_type = 'SELECT' AND EXISTS (
              SELECT 1 FROM pg_default_acl d CROSS JOIN LATERAL aclexplode(d.defaclacl) s
               WHERE d.defaclrole = c.relowner AND d.defaclnamespace = c.relnamespace AND d.defaclobjtype = 'r'
                 AND s.grantee = a.grantee AND s.privilege_type = 'SELECT')) AS reader
       FROM pg_class c CROSS JOIN LATERAL aclexplode(c.relacl) a LEFT JOIN pg_roles r ON r.oid = a.grantee
      WHERE c.oid = to_regclass($1) AND a.grantee <> c.relowner
      GROUP BY 1`,
    [table],
  );
  for (const { grantee, reader } of rows) {
    await client.query(`REVOKE ALL ON ${table} FROM ${grantee}`);
    if (reader) await client.query(`GRANT SELECT ON ${table} TO ${grantee}`);
  }
}

/**
 * The drift an apply found before its pending files ran (DriftBase) and what the files claim as
 * their own: the new snapshot keeps the drift as drift (carry.ts) instead of taking it in.
 */
export interface DriftBase {
  /** The snapshot at the applied head before the run. */
  old: NormalisedCatalog;
  /** The live catalog just before the pending files, which differs from `old`. */
  before: NormalisedCatalog;
  /** The statements the run executes (not those it only baselines), read for claims.ts. */
  statements: readonly { sql: string }[];
}

/** What recordSnapshot carried: the differences from the live catalog the new snapshot keeps. */
export interface Carried {
  differences: number;
}

/**
 * Reads the catalog and records it at the applied head, in one transaction that commits under the
 * session's own synchronous_commit: the caller makes this the run's durable commit, so the files
 * and their snapshot reach the disk together (apply.ts, ASYNC_COMMIT). Runs under the migration
 * lock, so no other migrator changes the schema between the last file and this read. With a
 * drift base, drift the files did not settle is carried into it (carry.ts), never taken in.
 */
export async function recordSnapshot(
  client: pg.ClientBase,
  ledger: LedgerLocation,
  base?: DriftBase,
  lockTimeoutMs = 0,
): Promise<(Snapshot & { carried?: Carried }) | undefined> {
  const head = appliedHead(await readLedger(client, ledger));
  if (!head) return undefined;
  // Back to the migrator's own role and settings: the files may have changed them on this session.
  await client.query("RESET SESSION AUTHORIZATION; RESET ROLE; RESET ALL");
  const after = await withLockTimeout(client, lockTimeoutMs, () => takeCatalog(client, ledger));
  const catalog = base ? carryDrift(base.old, base.before, after, claimsOf(base.statements)) : after;
  const remaining = base ? diffCatalogs(catalog, after).length : 0;
  const snapshot: Snapshot = {
    head,
    takenAt: new Date(),
    normaliser: catalog.normaliser,
    sha256: fingerprintOf(catalog),
    privilegesSha256: privilegesFingerprintOf(catalog),
    catalog,
  };
  await client.query("BEGIN");
  try {
    await ensureSnapshotTable(client, ledger);
    await client.query(
      `INSERT INTO ${tableOf(ledger)} (head, normaliser, sha256, privileges_sha256, snapshot) VALUES ($1, $2, $3, $4, $5::jsonb)
       ON CONFLICT (head) DO UPDATE SET taken_at = now(), normaliser = EXCLUDED.normaliser, sha256 = EXCLUDED.sha256,
         privileges_sha256 = EXCLUDED.privileges_sha256, snapshot = EXCLUDED.snapshot`,
      [head, snapshot.normaliser, snapshot.sha256, snapshot.privilegesSha256, canonicalJson(catalog)],
    );
    await client.query("COMMIT");
  } catch (error) {
    await client.query("ROLLBACK").catch(() => {});
    throw error;
  }
  return remaining > 0 ? { ...snapshot, carried: { differences: remaining } } : snapshot;
}

/** A lock_timeout (SQLSTATE 55P03), whether thrown as it is or wrapped with its cause (readCatalog). */
export function isLockTimeout(error: unknown): boolean {
  for (let e = error as { code?: string; cause?: unknown } | undefined; e; e = e.cause as typeof e) if (e.code === "55P03") return true;
  return false;
}

/**
 * Runs `fn` with the session's lock_timeout at `ms` (0: wait as long as it takes), then back to the
 * session's default. The catalog read takes ACCESS SHARE on the tables whose defaults, checks and
 * views it prints (pg_get_expr, pg_get_viewdef), so another session's ACCESS EXCLUSIVE lock would
 * otherwise hold it, and the migration lock with it, for as long as that session likes.
 */
export async function withLockTimeout<T>(client: pg.ClientBase, ms: number, fn: () => Promise<T>): Promise<T> {
  await client.query(`SET lock_timeout = ${Math.max(0, Math.round(ms))}`);
  try {
    return await fn();
  } finally {
    await client.query("RESET lock_timeout").catch(() => {});
  }
}

/** The snapshot recorded at `head`, if any (none before the first run that recorded one). */
export async function readSnapshot(client: pg.ClientBase, ledger: LedgerLocation, head: string): Promise<Snapshot | undefined> {
  const exists = await client.query<{ found: boolean }>(`SELECT to_regclass($1) IS NOT NULL AS found`, [tableOf(ledger)]);
  if (!exists.rows[0]?.found) return undefined;
  const { rows } = await client.query(
    `SELECT head, taken_at, normaliser, sha256, privileges_sha256, snapshot::text AS snapshot FROM ${tableOf(ledger)} WHERE head = $1`,
    [head],
  );
  const row = rows[0];
  if (!row) return undefined;
  return {
    head: row.head,
    takenAt: row.taken_at,
    normaliser: row.normaliser,
    sha256: row.sha256,
    privilegesSha256: row.privileges_sha256,
    catalog: JSON.parse(row.snapshot) as NormalisedCatalog,
  };
}

/**
 * apply's afterRun: records the snapshot and says whether it committed. A snapshot that cannot be
 * written does not undo the files (they are applied and recorded); it is said, and `migrate drift`
 * then finds no snapshot at that head and says to compare with `--replay`.
 */
export function snapshotAfterRun(client: pg.ClientBase, ledger: LedgerLocation, reporter: Reporter, lockTimeoutMs: number, base?: () => DriftBase | undefined): AfterRun {
  return async () => {
    try {
      const snapshot = await recordSnapshot(client, ledger, base?.(), lockTimeoutMs);
      if (snapshot) reporter.event({ type: "snapshot-recorded", head: snapshot.head, sha256: snapshot.sha256 });
      if (snapshot?.carried) reporter.event({ type: "drift-carried", head: snapshot.head, differences: snapshot.carried.differences });
      return snapshot !== undefined;
    } catch (error) {
      reporter.event({ type: "snapshot-failed", message: (error as Error).message });
      return false;
    }
  };
}

/** One difference of the live schema from the snapshot, with the line `migrate drift` prints for it. */
export type DriftDifference = CatalogDifference & { line: string };

/**
 * The live schema against the snapshot at the applied head, without a replay: what `apply
 * --fail-on-drift` and the stacks' report can afford on every run. `checked: false` says why no
 * comparison was possible (nothing applied, no snapshot at the head, another normaliser), which
 * blocks nothing: only `migrate drift --replay` can answer then.
 */
export type SnapshotComparison =
  | { checked: true; head: string; snapshot: Omit<Snapshot, "catalog" | "privilegesSha256">; liveSha256: string; differences: DriftDifference[] }
  | { checked: false; head: string | null; reason: string };

/** Compares the live catalog with the snapshot at the applied head; the caller holds the migration lock (or accepts a run in flight). */
export async function compareWithSnapshot(client: pg.ClientBase, ledger: LedgerLocation, rows?: readonly LedgerRow[]): Promise<SnapshotComparison> {
  return (await compareWithSnapshotCatalogs(client, ledger, rows)).comparison;
}

/**
 * The same, with the two catalogs compared when there was a comparison: what apply keeps, so the
 * one catalog read before its pending files serves both --fail-on-drift and the drift it carries.
 */
export async function compareWithSnapshotCatalogs(
  client: pg.ClientBase,
  ledger: LedgerLocation,
  rows?: readonly LedgerRow[],
): Promise<{ comparison: SnapshotComparison; snapshot?: NormalisedCatalog; live?: NormalisedCatalog }> {
  const head = appliedHead(rows ?? (await readLedger(client, ledger)));
  if (!head) return { comparison: { checked: false, head: null, reason: "no migration is applied yet, so there is no snapshot to compare with" } };
  const snapshot = await readSnapshot(client, ledger, head);
  if (!snapshot) {
    return {
      comparison: {
        checked: false,
        head,
        reason: `no schema snapshot is recorded at the applied head ${head} (applied by a migrator without snapshots, or recording it failed); \`migrate drift --replay\` compares with what the applied files produce`,
      },
    };
  }
  if (snapshot.normaliser !== NORMALISER_VERSION) {
    return {
      comparison: {
        checked: false,
        head,
        reason: `the snapshot at ${head} was taken by normaliser ${snapshot.normaliser}, this migrator's is ${NORMALISER_VERSION}; \`migrate drift --replay\` compares without it`,
      },
    };
  }
  const live = await takeCatalog(client, ledger);
  const comparison: SnapshotComparison = {
    checked: true,
    head,
    snapshot: { head: snapshot.head, takenAt: snapshot.takenAt, normaliser: snapshot.normaliser, sha256: snapshot.sha256 },
    liveSha256: fingerprintOf(live),
    differences: diffCatalogs(snapshot.catalog, live).map((d) => ({ ...d, line: driftLine(d) })),
  };
  return { comparison, snapshot: snapshot.catalog, live };
}
