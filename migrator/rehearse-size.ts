/**
 * How big a table is on the target, and when it counts as large (pure; no imports, so the CLI can
 * name the default in --help without loading the parser).
 */

/** How big a table is on the target, from its statistics (read-only: pg_class). */
export interface TableSize {
  /** The planner's estimate (reltuples); null when the table was never vacuumed or analysed. */
  rows: number | null;
  pages: number;
  bytes: number;
}

/** The default threshold of `--large-table-rows`: a whole-table pass over this many rows takes long enough to notice under a lock. */
export const DEFAULT_LARGE_TABLE_ROWS = 100_000;

/** Large: at least `threshold` estimated rows. A table never analysed has no estimate and is not called large; its pages are shown. */
export function isLarge(size: TableSize, threshold: number): boolean {
  return size.rows !== null && size.rows >= threshold;
}
