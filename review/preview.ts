import { APPLY_COMMAND_NAME, DATABASE_RESOURCE_TYPES } from "../infra/resource-names.js";
import { MANIFEST_PREFIX } from "../migrator/manifest.js";

/**
 * What a review needs from `pulumi preview --json` (read as plain JSON: nothing here imports
 * Pulumi): the resources that change, the database resources among them that would be replaced
 * or deleted, and the apply command's manifest before and after (its `MIGRATION_<version>`
 * environment entries), which says which files are new, edited or removed.
 */

export interface ResourceChange {
  op: string;
  type: string;
  name: string;
  urn: string;
}

export interface PreviewSummary {
  /** One entry per resource that changes (a replacement's several steps count once), in preview order. */
  changes: ResourceChange[];
  /** Database resources replaced or deleted: what loses data or access if applied by mistake. */
  dangerous: ResourceChange[];
  /** The apply command's manifest in the state (last successful up) and in this preview; undefined when absent. */
  manifest: { before: Record<string, string>; after: Record<string, string> } | undefined;
  /** Error diagnostics the preview printed (the program failed, a config key is missing…). */
  errors: string[];
  /** The ledger schema the apply command names (`--ledger-schema` in its command line), if it names one. */
  ledgerSchema?: string;
  /** The stack's PostgreSQL major, as its postgresql provider is told it (`expectedVersion`), if the preview shows it. */
  pgMajor?: number;
  /** Whether the apply command passes `--fail-on-drift` (the stack's failOnDrift). */
  failOnDrift?: boolean;
}

interface RawStep {
  op?: string;
  urn?: string;
  type?: string;
  oldState?: { type?: string; inputs?: Record<string, unknown> };
  newState?: { type?: string; inputs?: Record<string, unknown> };
}

/** The steps that lose what a database holds (or the resource itself) when they run. */
const DESTRUCTIVE_OPS = new Set(["replace", "create-replacement", "delete-replaced", "delete", "discard", "discard-replaced"]);

/** aws:rds instances and clusters, and the postgresql provider's roles, schemas and databases. */
export function isDatabaseResource(type: string): boolean {
  return DATABASE_RESOURCE_TYPES.some((pattern) => pattern.test(type));
}

export function urnName(urn: string): string {
  return urn.slice(urn.lastIndexOf("::") + 2);
}

export function urnType(urn: string): string {
  const chain = urn.split("::")[2] ?? "";
  return chain.slice(chain.lastIndexOf("$") + 1);
}

function manifestInInputs(inputs: Record<string, unknown> | undefined): Record<string, string> | undefined {
  const environment = inputs?.environment;
  if (!environment || typeof environment !== "object") return undefined;
  const out: Record<string, string> = {};
  for (const [key, value] of Object.entries(environment as Record<string, unknown>)) {
    if (key.startsWith(MANIFEST_PREFIX) && typeof value === "string") out[key] = value;
  }
  return out;
}

/** The `--ledger-schema` value in the apply command's line (a plain identifier, so never quoted by the program). */
function ledgerSchemaOf(inputs: Record<string, unknown> | undefined): string | undefined {
  const create = inputs?.create;
  return typeof create === "string" ? /(?:^|\s)--ledger-schema\s+([A-Za-z_][A-Za-z0-9_$]*)(?=\s|$)/.exec(create)?.[1] : undefined;
}

function failsOnDrift(inputs: Record<string, unknown> | undefined): boolean | undefined {
  const create = inputs?.create;
  return typeof create === "string" ? /(?:^|\s)--fail-on-drift(?=\s|$)/.test(create) : undefined;
}

/** Reads `pulumi preview --json` output; `applyName` is the apply command's resource name. */
export function summarisePreview(json: string, applyName = APPLY_COMMAND_NAME): PreviewSummary {
  let parsed: { steps?: RawStep[]; diagnostics?: { severity?: string; message?: string }[] };
  try {
    parsed = JSON.parse(json) as typeof parsed;
  } catch (error) {
    throw new Error(`the preview is not JSON (pulumi preview --json prints one document): ${(error as Error).message}`, { cause: error });
  }
  const seen = new Map<string, ResourceChange>();
  const dangerous = new Map<string, ResourceChange>();
  let manifest: PreviewSummary["manifest"];
  let ledgerSchema: string | undefined;
  let pgMajor: number | undefined;
  let failOnDrift: boolean | undefined;
  for (const step of parsed.steps ?? []) {
    if (!step.urn) continue;
    const type = step.type ?? step.newState?.type ?? step.oldState?.type ?? urnType(step.urn);
    if (type === "pulumi:providers:postgresql") {
      const expected = step.newState?.inputs?.expectedVersion ?? step.oldState?.inputs?.expectedVersion;
      const major = typeof expected === "string" ? /^(\d+)/.exec(expected)?.[1] : undefined;
      if (major !== undefined) pgMajor ??= Number(major);
    }
    const change: ResourceChange = { op: step.op ?? "unknown", type, name: urnName(step.urn), urn: step.urn };
    if (urnName(step.urn) === applyName && type === "command:local:Command") {
      const after = manifestInInputs(step.newState?.inputs) ?? manifestInInputs(step.oldState?.inputs) ?? {};
      ledgerSchema ??= ledgerSchemaOf(step.newState?.inputs) ?? ledgerSchemaOf(step.oldState?.inputs);
      // The line this up will run: the new inputs, else the state's.
      failOnDrift ??= failsOnDrift(step.newState?.inputs) ?? failsOnDrift(step.oldState?.inputs);
      // Created or replaced (a new database): nothing of this manifest is applied there yet.
      const fresh = step.op === "create" || step.op === "replace" || step.op === "create-replacement" || step.op === "delete-replaced";
      if (fresh) manifest = { before: {}, after: step.op === "delete-replaced" ? (manifest?.after ?? after) : after };
      else if (!manifest) manifest = { before: manifestInInputs(step.oldState?.inputs) ?? after, after };
    }
    if (step.op === "same" || step.op === "read" || step.op === "refresh") continue;
    const prior = seen.get(step.urn);
    // A replacement is several steps; say "replace" once.
    if (!prior || DESTRUCTIVE_OPS.has(change.op))
      seen.set(
        step.urn,
        prior && prior.op === "replace" ? prior : { ...change, op: change.op === "create-replacement" || change.op === "delete-replaced" ? "replace" : change.op },
      );
    if (DESTRUCTIVE_OPS.has(change.op) && isDatabaseResource(type)) {
      dangerous.set(step.urn, { ...change, op: change.op === "delete" ? "delete" : "replace" });
    }
  }
  const errors = (parsed.diagnostics ?? []).filter((d) => d.severity === "error" && d.message).map((d) => d.message!.trim());
  return {
    changes: [...seen.values()],
    dangerous: [...dangerous.values()],
    manifest,
    errors,
    ...(ledgerSchema ? { ledgerSchema } : {}),
    ...(pgMajor === undefined ? {} : { pgMajor }),
    ...(failOnDrift === undefined ? {} : { failOnDrift }),
  };
}
