import { createHash } from "node:crypto";
import type { RawCatalog } from "./read.js";

/**
 * The normaliser's version. Raise it whenever what an object holds or how it is keyed changes: a
 * snapshot taken by another version is then compared by replaying instead of field by field.
 */
export const NORMALISER_VERSION = 1;

export type ObjectKind = "schema" | "extension" | "table" | "view" | "column" | "constraint" | "index" | "trigger" | "policy" | "sequence" | "enum" | "type" | "function";

type Json = string | number | boolean | null | Json[] | { [key: string]: Json };

/** One schema object: its kind, the name a message shows, and what defines it (no OID, no statistics). */
export interface CatalogObject {
  kind: ObjectKind;
  name: string;
  /** The table or view a column, constraint, index, trigger or policy belongs to (its name). */
  parent?: string;
  fields: Record<string, Json>;
}

/** Who owns an object and the grants on it: a separate part, compared only when asked. */
export interface ObjectPrivileges {
  owner: string | null;
  acl: string[];
}

export interface NormalisedCatalog {
  normaliser: number;
  /** The server's major when read; not hashed (the same schema reads the same on any major the normaliser renders alike). */
  serverMajor: number;
  /** Keyed `<kind> <name>`, sorted. */
  objects: Record<string, CatalogObject>;
  privileges?: Record<string, ObjectPrivileges>;
}

export interface NormaliseOptions {
  /** COMMENT ON text as a field of each object (default true). */
  comments?: boolean;
  /** Owners and ACLs as the separate `privileges` part (default true). */
  privileges?: boolean;
}

/** A quoted identifier, as messages show it. */
const q = (name: string) => `"${name.replace(/"/g, '""')}"`;

/** A schema-qualified name; the public schema is left out, as the migrations write it. */
export function qualified(schema: string, name: string): string {
  return schema === "public" ? q(name) : `${q(schema)}.${q(name)}`;
}

const RELATION_KIND: Record<string, string> = { r: "table", p: "partitioned table", f: "foreign table", v: "view", m: "materialized view" };
const FUNCTION_KIND: Record<string, string> = { f: "function", p: "procedure", a: "aggregate", w: "window function" };
const TYPE_KIND: Record<string, string> = { d: "domain", c: "composite", r: "range", m: "multirange" };
const IDENTITY: Record<string, string | null> = { "": null, a: "always", d: "by default" };
const GENERATED: Record<string, string | null> = { "": null, s: "stored", v: "virtual" };
const CONSTRAINT_KIND: Record<string, string> = { p: "primary key", u: "unique", f: "foreign key", c: "check", x: "exclusion", t: "trigger", n: "not null" };
const POLICY_COMMAND: Record<string, string> = { "*": "ALL", r: "SELECT", a: "INSERT", w: "UPDATE", d: "DELETE" };

/** Pure: the raw catalog as sorted objects. The same schema gives the same value, whatever the OIDs or the order rows came in. */
export function normaliseCatalog(raw: RawCatalog, options: NormaliseOptions = {}): NormalisedCatalog {
  const comments = options.comments ?? true;
  const objects: Record<string, CatalogObject> = {};
  const privileges: Record<string, ObjectPrivileges> = {};
  const add = (kind: ObjectKind, name: string, fields: Record<string, Json>, comment: string | null | undefined, owner?: string, acl?: string[], parent?: string) => {
    const key = `${kind} ${name}`;
    objects[key] = { kind, name, ...(parent ? { parent } : {}), fields: comments && comment != null ? { ...fields, comment } : fields };
    if (owner !== undefined || (acl && acl.length > 0)) privileges[key] = { owner: owner ?? null, acl: [...(acl ?? [])].sort() };
  };
  for (const s of raw.schemas) add("schema", q(s.name), {}, s.comment, s.owner, s.acl);
  for (const e of raw.extensions) add("extension", q(e.name), { version: e.version, schema: e.schema }, null);
  for (const r of raw.relations) {
    const view = r.kind === "v" || r.kind === "m";
    add(
      view ? "view" : "table",
      qualified(r.schema, r.name),
      view
        ? { kind: RELATION_KIND[r.kind] ?? r.kind, definition: r.viewDefinition }
        : {
            kind: RELATION_KIND[r.kind] ?? r.kind,
            unlogged: r.persistence === "u",
            partitionOf: r.partitionOf,
            partitionBound: r.partitionBound,
            partitionKey: r.partitionKey,
            rowSecurity: r.rowSecurity,
            forceRowSecurity: r.forceRowSecurity,
          },
      r.comment,
      r.owner,
      r.acl,
    );
  }
  // Columns by their order among the live ones, so a dropped column's gap in attnum does not count.
  const byTable = new Map<string, RawCatalog["columns"]>();
  for (const c of raw.columns) {
    const table = qualified(c.schema, c.table);
    byTable.set(table, [...(byTable.get(table) ?? []), c]);
  }
  for (const [table, columns] of byTable) {
    columns
      .sort((a, b) => a.position - b.position)
      .forEach((c, index) =>
        add(
          "column",
          `${table}.${q(c.name)}`,
          {
            position: index + 1,
            type: c.type,
            notNull: c.notNull,
            default: c.default,
            identity: IDENTITY[c.identity] ?? c.identity,
            generated: GENERATED[c.generated] ?? c.generated,
            collation: c.collation,
          },
          c.comment,
          undefined,
          c.acl,
          table,
        ),
      );
  }
  for (const k of raw.constraints) {
    add(
      "constraint",
      `${q(k.name)} on ${qualified(k.schema, k.table)}`,
      { type: CONSTRAINT_KIND[k.type] ?? k.type, definition: k.definition, validated: k.validated, deferrable: k.deferrable, deferred: k.deferred },
      k.comment,
      undefined,
      undefined,
      qualified(k.schema, k.table),
    );
  }
  for (const i of raw.indexes) {
    add(
      "index",
      qualified(i.schema, i.name),
      { definition: i.definition, valid: i.valid, unique: i.unique, primary: i.primary, method: i.method },
      i.comment,
      undefined,
      undefined,
      qualified(i.schema, i.table),
    );
  }
  for (const t of raw.triggers)
    add(
      "trigger",
      `${q(t.name)} on ${qualified(t.schema, t.table)}`,
      { definition: t.definition, enabled: t.enabled },
      t.comment,
      undefined,
      undefined,
      qualified(t.schema, t.table),
    );
  for (const p of raw.policies) {
    add(
      "policy",
      `${q(p.name)} on ${qualified(p.schema, p.table)}`,
      { command: POLICY_COMMAND[p.command] ?? p.command, permissive: p.permissive, roles: [...p.roles].sort(), using: p.using, check: p.check },
      null,
      undefined,
      undefined,
      qualified(p.schema, p.table),
    );
  }
  for (const s of raw.sequences) {
    add(
      "sequence",
      qualified(s.schema, s.name),
      { type: s.type, start: s.start, increment: s.increment, min: s.min, max: s.max, cache: s.cache, cycle: s.cycle, ownedBy: s.ownedBy },
      s.comment,
      s.owner,
      s.acl,
    );
  }
  for (const t of raw.types) {
    if (t.kind === "e") add("enum", qualified(t.schema, t.name), { values: t.enumValues ?? [] }, t.comment, t.owner, t.acl);
    else
      add(
        "type",
        qualified(t.schema, t.name),
        { kind: TYPE_KIND[t.kind] ?? t.kind, baseType: t.baseType, notNull: t.notNull, default: t.default, constraints: t.constraints, attributes: t.attributes },
        t.comment,
        t.owner,
        t.acl,
      );
  }
  for (const f of raw.functions) {
    add(
      "function",
      `${qualified(f.schema, f.name)}(${f.arguments})`,
      { kind: FUNCTION_KIND[f.kind] ?? f.kind, result: f.result, definition: f.definition },
      f.comment,
      f.owner,
      f.acl,
    );
  }
  const sorted = Object.fromEntries(Object.entries(objects).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
  return {
    normaliser: NORMALISER_VERSION,
    serverMajor: Math.floor(raw.serverVersionNum / 10_000),
    objects: sorted,
    ...(options.privileges === false ? {} : { privileges: Object.fromEntries(Object.entries(privileges).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))) }),
  };
}

/** JSON with every object's keys sorted, so equal values always serialise to the same text. */
export function canonicalJson(value: unknown): string {
  if (value === null || typeof value !== "object") return JSON.stringify(value);
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(",")}]`;
  const entries = Object.entries(value as Record<string, unknown>)
    .filter(([, v]) => v !== undefined)
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${canonicalJson(v)}`).join(",")}}`;
}

const sha256 = (text: string) => createHash("sha256").update(text, "utf8").digest("hex");

/** The schema's fingerprint: sha256 of the canonical JSON of the normaliser's version and the objects. */
export function fingerprintOf(catalog: NormalisedCatalog): string {
  return sha256(canonicalJson({ normaliser: catalog.normaliser, objects: catalog.objects }));
}

/** The privileges part's own fingerprint (owners and ACLs), or null when it was not read. */
export function privilegesFingerprintOf(catalog: NormalisedCatalog): string | null {
  return catalog.privileges ? sha256(canonicalJson(catalog.privileges)) : null;
}
