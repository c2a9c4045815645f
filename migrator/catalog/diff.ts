import type { CatalogObject, NormalisedCatalog, ObjectKind } from "./normalise.js";

/**
 * One difference between two catalogs, from `before` (what the migrations produce, or the
 * catalog before a file) to `after` (the live database, or the catalog after the file).
 */
export interface CatalogDifference {
  kind: ObjectKind;
  name: string;
  change: "added" | "removed" | "altered";
  /** For "altered": the field that differs ("privileges" and "owner" for the privileges part). */
  field?: string;
  before?: unknown;
  after?: unknown;
}

const RELATION_KINDS: ReadonlySet<ObjectKind> = new Set(["table", "view"]);

function sameValue(a: unknown, b: unknown): boolean {
  return JSON.stringify(a ?? null) === JSON.stringify(b ?? null);
}

/**
 * Pure: every difference from `before` to `after`. An object whose table or view is itself added
 * or removed is not listed again (a dropped table is one difference, not one per column).
 * Privileges are compared when both catalogs carry them.
 */
export function diffCatalogs(before: NormalisedCatalog, after: NormalisedCatalog): CatalogDifference[] {
  const differences: CatalogDifference[] = [];
  const keys = [...new Set([...Object.keys(before.objects), ...Object.keys(after.objects)])].sort();
  const wholeRelations = new Set<string>();
  for (const key of keys) {
    const [a, b] = [before.objects[key], after.objects[key]];
    if ((!a || !b) && RELATION_KINDS.has((a ?? b)!.kind)) wholeRelations.add((a ?? b)!.name);
  }
  for (const key of keys) {
    const a = before.objects[key];
    const b = after.objects[key];
    const object = (a ?? b) as CatalogObject;
    if (object.parent && wholeRelations.has(object.parent) && (!a || !b)) continue;
    if (!a) differences.push({ kind: object.kind, name: object.name, change: "added", after: b!.fields });
    else if (!b) differences.push({ kind: object.kind, name: object.name, change: "removed", before: a.fields });
    else {
      for (const field of [...new Set([...Object.keys(a.fields), ...Object.keys(b.fields)])].sort()) {
        if (!sameValue(a.fields[field], b.fields[field]))
          differences.push({ kind: object.kind, name: object.name, change: "altered", field, before: a.fields[field], after: b.fields[field] });
      }
    }
  }
  if (before.privileges && after.privileges) {
    for (const key of [...new Set([...Object.keys(before.privileges), ...Object.keys(after.privileges)])].sort()) {
      const object = before.objects[key] ?? after.objects[key];
      // Grants on an object that is itself added or removed come and go with it.
      if (!object || !before.objects[key] || !after.objects[key]) continue;
      const a = before.privileges[key] ?? { owner: null, acl: [] };
      const b = after.privileges[key] ?? { owner: null, acl: [] };
      if (a.owner !== null && b.owner !== null && a.owner !== b.owner)
        differences.push({ kind: object.kind, name: object.name, change: "altered", field: "owner", before: a.owner, after: b.owner });
      if (!sameValue(a.acl, b.acl)) differences.push({ kind: object.kind, name: object.name, change: "altered", field: "privileges", before: a.acl, after: b.acl });
    }
  }
  return differences;
}

const show = (value: unknown) => (value === null || value === undefined ? "none" : typeof value === "string" ? value : JSON.stringify(value));

function columnType(fields: unknown): string {
  const f = fields as { type?: string } | undefined;
  return f?.type ? ` ${f.type}` : "";
}

/** The grants one side has and the other lacks, as "a=SELECT, b=INSERT". */
function aclDelta(from: unknown, to: unknown): { gained: string[]; lost: string[] } {
  const a = new Set((from as string[] | undefined) ?? []);
  const b = new Set((to as string[] | undefined) ?? []);
  return { gained: [...b].filter((x) => !a.has(x)), lost: [...a].filter((x) => !b.has(x)) };
}

/**
 * A drift line: `before` is what the migrations produce, `after` the database. Each says what is
 * where, so the engineer knows which side to change.
 */
export function driftLine(d: CatalogDifference): string {
  const what = `${d.kind} ${d.name}`;
  if (d.change === "added") return `${what}${d.kind === "column" ? columnType(d.after) : ""} exists in the database, not in the migrations`;
  if (d.change === "removed") return `${what}${d.kind === "column" ? columnType(d.before) : ""} is in the migrations, missing from the database`;
  if (d.kind === "index" && d.field === "valid" && d.after === false) return `${what} is INVALID in the database (rebuild it: REINDEX INDEX CONCURRENTLY ${d.name})`;
  if (d.kind === "constraint" && d.field === "validated" && d.after === false) return `${what} is NOT VALID in the database`;
  if (d.kind === "function" && d.field === "definition") return `${what} body differs from the migrations'`;
  if (d.kind === "view" && d.field === "definition") return `${what} definition differs from the migrations'`;
  if (d.field === "privileges") {
    const { gained, lost } = aclDelta(d.before, d.after);
    const parts = [...(gained.length ? [`the database also grants ${gained.join(", ")}`] : []), ...(lost.length ? [`the database lacks ${lost.join(", ")}`] : [])];
    return `grants on ${what} differ: ${parts.join("; ")}`;
  }
  if (d.field === "owner") return `${what} is owned by ${show(d.after)} in the database, by ${show(d.before)} after the migrations`;
  // "values differ", "notNull differs": the fields that hold lists are named in the plural.
  return `${what} ${d.field} ${d.field?.endsWith("s") ? "differ" : "differs"}: the migrations give ${show(d.before)}, the database has ${show(d.after)}`;
}

/** A schema change a file made: `before` is the catalog before it, `after` the catalog after it. */
export function changeLine(d: CatalogDifference): string {
  const what = `${d.kind} ${d.name}`;
  if (d.change === "added") return `added ${what}${d.kind === "column" ? columnType(d.after) : ""}`;
  if (d.change === "removed") return `dropped ${what}`;
  if (d.field === "privileges") {
    const { gained, lost } = aclDelta(d.before, d.after);
    return `grants on ${what}: ${[...gained.map((g) => `+${g}`), ...lost.map((l) => `-${l}`)].join(", ")}`;
  }
  if (d.field === "definition") return `altered ${what} (definition)`;
  return `altered ${what}: ${d.field} ${show(d.before)} -> ${show(d.after)}`;
}

/** Counts by kind and change, e.g. { added: { table: 1, index: 2 }, … }: what a review's summary line says. */
export function summariseChanges(differences: readonly CatalogDifference[]): Record<CatalogDifference["change"], Partial<Record<ObjectKind, number>>> {
  const summary: Record<CatalogDifference["change"], Partial<Record<ObjectKind, number>>> = { added: {}, removed: {}, altered: {} };
  const seen = new Set<string>();
  for (const d of differences) {
    // An object altered in several fields is one altered object.
    const key = `${d.change} ${d.kind} ${d.name}`;
    if (seen.has(key)) continue;
    seen.add(key);
    summary[d.change][d.kind] = (summary[d.change][d.kind] ?? 0) + 1;
  }
  return summary;
}
