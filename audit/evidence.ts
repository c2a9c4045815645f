/**
 * The evidence: everything the page shows, as one JSON document (evidence.json), built from the
 * sanitised stack outputs and where they came from. Each section is read field by field from the
 * outputs (a missing or withheld output is said so, never guessed), so the page and the JSON
 * cannot disagree: the page is rendered from this object alone.
 */
import type { PulumiUpdate } from "./sources.js";
import type { Redaction } from "./outputs.js";

export const EVIDENCE_FORMAT = "pg-migrations-iac audit evidence, version 1";

export interface ControlRow {
  id: string;
  title: string;
  status: string;
  settings: { name: string; value: string }[];
  note: string;
}

export interface LedgerRow {
  version: string;
  name: string;
  checksum: string;
  transaction: string;
  appliedAt: string;
  appliedBy: string;
  durationMs: number | null;
  status: string;
}

export interface CheckRow {
  name: string;
  ok: boolean;
  detail: string;
  file: string;
}

export interface Evidence {
  format: string;
  generatedAt: string;
  stack: string;
  environment: string;
  source: {
    outputs: string;
    pulumiUpdate: PulumiUpdate | null;
    gitCommit: string;
  };
  database: {
    kind: string;
    identifier: string;
    endpoint: string;
    engine: string;
    engineVersion: string;
    /** The `database` output as the stack holds it (sanitised). */
    posture: Record<string, unknown> | null;
  };
  controls: {
    applies: boolean;
    scope: string;
    summary: { met: number; notMet: number; depends: number };
    rows: ControlRow[];
  } | null;
  migrations: {
    database: string;
    applied: LedgerRow[];
    pending: { version: string; name: string; transaction: string }[];
    problems: { file: string; line: number | null; message: string }[];
  } | null;
  verification: {
    ok: boolean;
    passed: number;
    failed: number;
    checks: CheckRow[];
    server: { version: string; connectionEncrypted: boolean | null; tlsVersion: string | null; forceSsl: string | null };
  } | null;
  migrationSet: { files: number | null; last: string; sha256: string } | null;
  /** The `drift` output: the schema against the snapshot the migrator recorded at the applied head. */
  drift: {
    status: string;
    head: string | null;
    snapshot: { head: string; takenAt: string; sha256: string } | null;
    liveSha256: string | null;
    differences: { kind: string; name: string; change: string; line: string }[];
    reason: string | null;
  } | null;
  redactions: Redaction[];
  /** What the report does not prove (the page's last section). */
  limits: string[];
}

const isRecord = (v: unknown): v is Record<string, unknown> => typeof v === "object" && v !== null && !Array.isArray(v);
const rec = (v: unknown): Record<string, unknown> => (isRecord(v) ? v : {});
const list = (v: unknown): Record<string, unknown>[] => (Array.isArray(v) ? v.filter(isRecord) : []);
const text = (v: unknown, otherwise = "unknown"): string => (typeof v === "string" ? v : typeof v === "number" || typeof v === "boolean" ? String(v) : otherwise);
const num = (v: unknown): number | null => (typeof v === "number" && Number.isFinite(v) ? v : null);

/** A setting's value as the page prints it: lists joined, null as "not set". */
function shown(v: unknown): string {
  if (v === null || v === undefined) return "not set";
  if (Array.isArray(v)) return v.length === 0 ? "none" : v.map((x) => text(x)).join(", ");
  return isRecord(v) ? JSON.stringify(v) : text(v);
}

function controls(v: unknown): Evidence["controls"] {
  if (!isRecord(v)) return null;
  const summary = rec(v.summary);
  return {
    applies: v.applies === true,
    scope: text(v.scope),
    summary: { met: num(summary.met) ?? 0, notMet: num(summary.notMet) ?? 0, depends: num(summary.depends) ?? 0 },
    rows: list(v.controls).map((c) => ({
      id: text(c.id),
      title: text(c.title),
      status: text(c.status),
      settings: Object.entries(rec(c.settings)).map(([name, value]) => ({ name, value: shown(value) })),
      note: text(c.note, ""),
    })),
  };
}

function migrations(v: unknown): Evidence["migrations"] {
  if (!isRecord(v)) return null;
  return {
    database: text(v.database),
    applied: list(v.applied).map((r) => ({
      version: text(r.version),
      name: text(r.name),
      checksum: text(r.checksum),
      transaction: text(r.transaction),
      appliedAt: text(r.appliedAt),
      appliedBy: text(r.appliedBy),
      durationMs: num(r.durationMs),
      status: text(r.status),
    })),
    pending: list(v.pending).map((r) => ({ version: text(r.version), name: text(r.name), transaction: text(r.transaction) })),
    problems: list(v.problems).map((p) => ({ file: text(p.file), line: num(p.line), message: text(p.message) })),
  };
}

function verification(v: unknown): Evidence["verification"] {
  if (!isRecord(v)) return null;
  const checks = list(v.checks).map((c) => ({ name: text(c.name), ok: c.ok === true, detail: text(c.detail, ""), file: text(c.file, "") }));
  const server = rec(v.server);
  const failed = checks.filter((c) => !c.ok).length;
  return {
    // Recounted from the checks themselves: a report that says ok with a failed check is not ok.
    ok: v.ok === true && failed === 0 && checks.length > 0,
    passed: checks.length - failed,
    failed,
    checks,
    server: {
      version: text(server.version),
      connectionEncrypted: typeof server.connectionEncrypted === "boolean" ? server.connectionEncrypted : null,
      tlsVersion: typeof server.tlsVersion === "string" ? server.tlsVersion : null,
      forceSsl: typeof server.forceSsl === "string" ? server.forceSsl : null,
    },
  };
}

function drift(v: unknown): Evidence["drift"] {
  if (!isRecord(v)) return null;
  const snapshot = isRecord(v.snapshot) ? { head: text(v.snapshot.head), takenAt: text(v.snapshot.takenAt), sha256: text(v.snapshot.sha256) } : null;
  const differences = list(v.differences).map((d) => ({ kind: text(d.kind), name: text(d.name), change: text(d.change), line: text(d.line) }));
  const said = text(v.status);
  return {
    // Recounted like the checks: a status of none beside a difference is drift.
    status: differences.length > 0 ? "drifted" : said === "none" || said === "unchecked" ? said : "unknown",
    head: typeof v.head === "string" ? v.head : null,
    snapshot,
    liveSha256: typeof v.liveSha256 === "string" ? v.liveSha256 : null,
    differences,
    reason: typeof v.reason === "string" ? v.reason : null,
  };
}

function database(v: unknown): Evidence["database"] {
  const p = rec(v);
  const endpoint = rec(p.endpoint);
  return {
    kind: text(p.kind),
    identifier: text(p.identifier, text(p.database)),
    endpoint: endpoint.address !== undefined ? `${text(endpoint.address)}:${text(endpoint.port)}` : "unknown",
    engine: text(p.engine, p.kind === "rds" || p.kind === "aurora" ? "unknown" : "PostgreSQL"),
    engineVersion: text(p.engineVersion, "unknown"),
    posture: isRecord(v) ? v : null,
  };
}

export const LIMITS = [
  "It shows the stack's outputs at the time of its last update: a change made since by hand, in the AWS console or in the database, is not in it until the next `pulumi up` (or `pulumi refresh` and up).",
  "The controls are judged from the settings the resources reported to Pulumi; this is not a Security Hub finding, and controls outside the table (account-level ones, other services) are not judged.",
  "A check that passed proves what its query looks at, on the day it ran; it says nothing about data written since.",
  "The ledger records what the migrator applied and by whom; it cannot show changes made to the schema outside the migrator. The drift section compares the schema with the migrator's snapshot as of the last verification run only, and covers the catalog (tables, columns, constraints, indexes, triggers, functions, types, grants), not data.",
  "The TLS facts describe the one connection the verification used, not every client's.",
  "The hash in evidence.json.sha256 proves the file was not changed after it was written, not who wrote it: keep it with the report, or sign it.",
];

export interface EvidenceInput {
  outputs: Record<string, unknown>;
  redactions: Redaction[];
  stack: string;
  outputsSource: string;
  pulumiUpdate: PulumiUpdate | null;
  gitCommit: string;
  generatedAt: Date;
}

export function buildEvidence(input: EvidenceInput): Evidence {
  const { outputs } = input;
  const c = controls(outputs.controls);
  const set = outputs.migrationSet;
  return {
    format: EVIDENCE_FORMAT,
    generatedAt: input.generatedAt.toISOString(),
    stack: input.stack,
    environment: text(rec(outputs.controls).environment),
    source: { outputs: input.outputsSource, pulumiUpdate: input.pulumiUpdate, gitCommit: input.gitCommit },
    database: database(outputs.database),
    controls: c,
    migrations: migrations(outputs.migrations),
    verification: verification(outputs.verification),
    migrationSet: isRecord(set) ? { files: num(set.files), last: text(set.last), sha256: text(set.sha256) } : null,
    drift: drift(outputs.drift),
    redactions: input.redactions,
    limits: LIMITS,
  };
}
