import { qualified } from "./catalog/normalise.js";
import { covers, LOCK_MODES, type LockMode, type TableLock } from "./table-locks.js";

/**
 * The table locks a rehearsed file really held against what table-locks.ts predicted for its
 * statements (pure). Observed just before COMMIT, so a lock is the file's whole-transaction view:
 * PostgreSQL keeps table locks to the end of the transaction, whichever statement took them.
 */

/** pg_locks' mode names as table-locks.ts spells them. */
export const PG_LOCK_MODES: Readonly<Record<string, LockMode>> = {
  AccessShareLock: "ACCESS SHARE",
  RowShareLock: "ROW SHARE",
  RowExclusiveLock: "ROW EXCLUSIVE",
  ShareUpdateExclusiveLock: "SHARE UPDATE EXCLUSIVE",
  ShareLock: "SHARE",
  ShareRowExclusiveLock: "SHARE ROW EXCLUSIVE",
  ExclusiveLock: "EXCLUSIVE",
  AccessExclusiveLock: "ACCESS EXCLUSIVE",
};

/** A relation lock the file's backend held on a table. */
export interface HeldLock {
  schema: string;
  table: string;
  mode: LockMode;
}

/** A predicted lock with the line of the statement that takes it. */
export type PredictedLock = TableLock & { line: number };

export interface LockFinding {
  /** The table as messages show it ("Member", app."Member"). */
  table: string;
  /** The mode PostgreSQL held. */
  held: LockMode;
  /** "unpredicted": nothing was predicted on this table; "stronger": only weaker modes were. */
  kind: "unpredicted" | "stronger";
  /** The modes predicted on the table, strongest first. */
  predicted: LockMode[];
  line: string;
}

export interface LockComparison {
  /** Every table lock held, strongest first per table. */
  held: { table: string; mode: LockMode }[];
  findings: LockFinding[];
  /** Predicted locks that were not held (a table dropped in the file, or a prediction stronger than needed): said, not a finding. */
  notHeld: { table: string; mode: LockMode; statementLine: number }[];
}

const strength = (m: LockMode) => LOCK_MODES.indexOf(m);

/** Does a prediction name this table? An unqualified name matches the table in whichever schema it resolved to. */
function sameTable(p: PredictedLock, h: HeldLock): boolean {
  return p.table !== undefined && p.table.name === h.table && (p.table.schema === undefined || p.table.schema === h.schema);
}

/**
 * Pure: a held lock is a finding when no predicted lock on its table covers it (blocks at least
 * what it blocks): a table nothing was predicted on, or a stronger mode. Several modes held on one
 * table are one finding for the strongest not covered (a ROW SHARE beside an unpredicted ROW
 * EXCLUSIVE is not said twice).
 */
export function compareLocks(predicted: readonly PredictedLock[], held: readonly HeldLock[]): LockComparison {
  const findings: LockFinding[] = [];
  const shown = (h: HeldLock) => qualified(h.schema, h.table);
  const byName = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0);
  const sorted = [...held].sort((a, b) => byName(shown(a), shown(b)) || strength(b.mode) - strength(a.mode));
  for (const h of sorted) {
    const onTable = predicted.filter((p) => sameTable(p, h));
    if (onTable.some((p) => covers(p.mode, h.mode))) continue;
    // A weaker mode beside a stronger one held on the same table adds nothing the stronger one's finding does not say.
    if (sorted.some((o) => o !== h && o.schema === h.schema && o.table === h.table && o.mode !== h.mode && covers(o.mode, h.mode))) continue;
    const modes = [...new Set(onTable.map((p) => p.mode))].sort((a, b) => strength(b) - strength(a));
    findings.push({
      table: shown(h),
      held: h.mode,
      kind: modes.length === 0 ? "unpredicted" : "stronger",
      predicted: modes,
      line:
        modes.length === 0
          ? `held ${h.mode} on ${shown(h)}, which the review does not predict`
          : `held ${h.mode} on ${shown(h)}, stronger than the review predicts (${modes.join(", ")})`,
    });
  }
  const notHeld = predicted
    .filter((p) => p.table !== undefined && !held.some((h) => sameTable(p, h) && covers(h.mode, p.mode)))
    .map((p) => ({ table: qualified(p.table!.schema ?? "public", p.table!.name), mode: p.mode, statementLine: p.line }));
  return { held: sorted.map((h) => ({ table: shown(h), mode: h.mode })), findings, notHeld };
}
