import { claimed, type Claim } from "./claims.js";
import type { CatalogObject, NormalisedCatalog, ObjectPrivileges } from "./normalise.js";

/**
 * The snapshot an apply records is what the migrations produce, not whatever the database holds
 * after them: a change made by hand before the run (drift) must not become part of it, or `drift`
 * reports nothing from then on and the change was never reviewed. So the new snapshot is the
 * catalog after the pending files (`after`) with each drifted object put back the way the old
 * snapshot had it, unless the pending files settled it.
 *
 * `old` is the snapshot at the applied head, `before` the live catalog just before the pending
 * files ran, `after` the live catalog after them. Per object key:
 * - no drift (`before` equals `old`): `after`, whatever the files did;
 * - drifted, and the files claim it (claims.ts: `ADD COLUMN IF NOT EXISTS`, `DROP … IF EXISTS`,
 *   `CREATE OR REPLACE`, …: written to make the change their own): `after`;
 * - drifted, and the files changed or removed it (`after` differs from `before`): `after`;
 * - drifted, untouched by the files: the old snapshot's (missing when the drift added it).
 * Fields are taken one by one, so a file that changes one field of a drifted object (its default)
 * leaves the drift of another (its type) carried. A column's position is not compared: it counts
 * the live columns before it, so it moves when another column comes or goes; it is numbered
 * again from the resulting columns, in the order the database has them.
 */
export function carryDrift(old: NormalisedCatalog, before: NormalisedCatalog, after: NormalisedCatalog, claims: readonly Claim[] = []): NormalisedCatalog {
  const objects: Record<string, CatalogObject> = {};
  const keys = [...new Set([...Object.keys(old.objects), ...Object.keys(before.objects), ...Object.keys(after.objects)])];
  const carried = new Set<string>();
  for (const key of keys) {
    const [o, b, a] = [old.objects[key], before.objects[key], after.objects[key]];
    const value = carryObject(key, o, b, a, claims);
    if (value !== a) carried.add(key);
    if (value) objects[key] = value;
  }
  const privileges =
    old.privileges && before.privileges && after.privileges ? carryPrivileges(old.privileges, before.privileges, after.privileges, objects) : after.privileges;
  return {
    ...after,
    objects: sortedByKey(renumberColumns(objects, carried, old, after)),
    ...(privileges ? { privileges: sortedByKey(privileges) } : {}),
  };
}

function carryObject(
  key: string,
  o: CatalogObject | undefined,
  b: CatalogObject | undefined,
  a: CatalogObject | undefined,
  claims: readonly Claim[],
): CatalogObject | undefined {
  if (same(o, b)) return a;
  const object = (a ?? b ?? o)!;
  if (claimed(claims, key, object)) return a;
  // Drift added it: carried (left out) unless the files changed or dropped it.
  if (!o) return a && same(a, b) ? undefined : a;
  // Drift removed it: carried (put back) unless the files made it again.
  if (!b) return a ?? o;
  // Drift altered it; the files dropped it: settled.
  if (!a) return undefined;
  const fields: CatalogObject["fields"] = {};
  for (const field of new Set([...Object.keys(o.fields), ...Object.keys(a.fields)])) {
    const value = equal(b.fields[field], a.fields[field]) ? o.fields[field] : a.fields[field];
    if (value !== undefined) fields[field] = value;
  }
  return equal(fields, a.fields) ? a : { ...a, fields };
}

/** Owners and grants, by the same rule; only for objects the new snapshot holds. */
function carryPrivileges(
  old: Record<string, ObjectPrivileges>,
  before: Record<string, ObjectPrivileges>,
  after: Record<string, ObjectPrivileges>,
  objects: Record<string, CatalogObject>,
): Record<string, ObjectPrivileges> {
  const result: Record<string, ObjectPrivileges> = {};
  for (const key of new Set([...Object.keys(old), ...Object.keys(before), ...Object.keys(after)])) {
    if (!objects[key]) continue;
    const [o, b, a] = [old[key], before[key], after[key]];
    const value = equal(b, a) ? o : a;
    if (value) result[key] = value;
  }
  return result;
}

/**
 * Columns of a table the carry changed get positions 1..n again: those in `after` in its order,
 * one put back (dropped by hand) right after the column it followed in the old snapshot.
 */
function renumberColumns(
  objects: Record<string, CatalogObject>,
  carried: ReadonlySet<string>,
  old: NormalisedCatalog,
  after: NormalisedCatalog,
): Record<string, CatalogObject> {
  const tables = new Set<string>();
  for (const key of carried) {
    const object = objects[key] ?? after.objects[key] ?? old.objects[key];
    if (object?.kind === "column" && object.parent) tables.add(object.parent);
  }
  if (tables.size === 0) return objects;
  const position = (object: CatalogObject | undefined) => (object?.fields.position as number | undefined) ?? 0;
  const result = { ...objects };
  for (const table of tables) {
    const columns = Object.entries(objects).filter(([, o]) => o.kind === "column" && o.parent === table);
    const rank = (key: string): number => {
      if (after.objects[key]) return position(after.objects[key]);
      // Put back: after the nearest column before it in the old snapshot that the database still has.
      const oldColumns = Object.entries(old.objects).filter(([, o]) => o.kind === "column" && o.parent === table);
      const predecessors = oldColumns.filter(([k, o]) => position(o) < position(old.objects[key]) && after.objects[k]).sort(([, x], [, y]) => position(x) - position(y));
      const previous = predecessors.at(-1);
      return (previous ? position(after.objects[previous[0]]) : 0) + position(old.objects[key]) / 1e6;
    };
    columns
      .map(([key, o]) => ({ key, o, rank: rank(key) }))
      .sort((x, y) => x.rank - y.rank)
      .forEach(({ key, o }, index) => {
        if (o.fields.position !== index + 1) result[key] = { ...o, fields: { ...o.fields, position: index + 1 } };
      });
  }
  return result;
}

/** Equal objects, a column's position aside (see carryDrift). */
function same(x: CatalogObject | undefined, y: CatalogObject | undefined): boolean {
  if (!x || !y) return x === y;
  return x.kind === "column" ? equal({ ...x.fields, position: null }, { ...y.fields, position: null }) : equal(x.fields, y.fields);
}

function equal(x: unknown, y: unknown): boolean {
  return canonical(x) === canonical(y);
}

function canonical(value: unknown): string {
  if (value === null || value === undefined) return "null";
  if (typeof value !== "object") return JSON.stringify(value);
  if (Array.isArray(value)) return `[${value.map(canonical).join(",")}]`;
  return `{${Object.entries(value as Record<string, unknown>)
    .filter(([, v]) => v !== undefined)
    .sort(([p], [q]) => (p < q ? -1 : p > q ? 1 : 0))
    .map(([k, v]) => `${JSON.stringify(k)}:${canonical(v)}`)
    .join(",")}}`;
}

function sortedByKey<T>(record: Record<string, T>): Record<string, T> {
  return Object.fromEntries(Object.entries(record).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
}
