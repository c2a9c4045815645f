import { createHash } from "node:crypto";
import { UsageError } from "./errors.js";
import type { MigrationFile, MigrationSet } from "./files.js";

/**
 * The set as a caller reviewed it, carried in the environment: one `MIGRATION_<version>` variable
 * per file, valued `<name> <transaction|no-transaction> sha256:<checksum>`. The Pulumi stacks put
 * it in the apply command's environment, where `pulumi preview --diff` shows each pending, edited
 * or removed file as its own line; the migrator then refuses to apply a set on disk that differs
 * from it (`apply --expect-manifest`), so what runs is exactly what the reviewer saw.
 */
export const MANIFEST_PREFIX = "MIGRATION_";

export interface ManifestEntry {
  version: string;
  name: string;
  transactional: boolean;
  checksum: string;
}

export function manifestKey(version: string): string {
  return `${MANIFEST_PREFIX}${version}`;
}

export function manifestValue(file: Pick<MigrationFile, "name" | "transactional" | "checksum">): string {
  return `${file.name} ${file.transactional ? "transaction" : "no-transaction"} sha256:${file.checksum}`;
}

/** The whole set as environment variables. */
export function manifestEnvironment(set: MigrationSet): Record<string, string> {
  return Object.fromEntries(set.files.map((f) => [manifestKey(f.version), manifestValue(f)]));
}

const VALUE = /^(\S+) (transaction|no-transaction) sha256:([0-9a-f]{64})$/;

/** One variable read back (the one parser of the format), or undefined when it is not a manifest entry. */
export function parseManifestEntry(key: string, value: string): ManifestEntry | undefined {
  if (!key.startsWith(MANIFEST_PREFIX)) return undefined;
  const version = key.slice(MANIFEST_PREFIX.length);
  const m = VALUE.exec(value);
  if (!/^\d+$/.test(version) || !m) return undefined;
  return { version, name: m[1]!, transactional: m[2] === "transaction", checksum: m[3]! };
}

/** Reads the manifest back from an environment; a malformed variable is a usage error naming it. */
export function readManifest(env: NodeJS.ProcessEnv): ManifestEntry[] {
  const entries: ManifestEntry[] = [];
  for (const [key, value] of Object.entries(env)) {
    if (!key.startsWith(MANIFEST_PREFIX) || value === undefined) continue;
    const entry = parseManifestEntry(key, value);
    if (!entry) {
      throw new UsageError(`${key}="${value.slice(0, 120)}" is not a manifest entry (MIGRATION_<version>="<name> <transaction|no-transaction> sha256:<hex>")`);
    }
    entries.push(entry);
  }
  if (entries.length === 0) throw new UsageError(`--expect-manifest: no ${MANIFEST_PREFIX}<version> variable in the environment`);
  return entries;
}

/**
 * Every difference between the files on disk and the manifest, one message per file (pure).
 * Empty when the set is exactly the reviewed one.
 */
export function manifestDifferences(set: MigrationSet, expected: readonly ManifestEntry[]): { file: string; message: string }[] {
  const problems: { file: string; message: string }[] = [];
  const onDisk = new Map(set.files.map((f) => [f.version, f]));
  const reviewed = new Map(expected.map((e) => [e.version, e]));
  for (const e of expected) {
    const f = onDisk.get(e.version);
    if (!f) {
      problems.push({ file: `${e.version}_${e.name}`, message: "was in the reviewed set but is no longer on disk" });
    } else if (f.checksum !== e.checksum || f.name !== e.name || f.transactional !== e.transactional) {
      problems.push({ file: f.relativePath, message: `changed since it was reviewed: it is now ${manifestValue(f)}, the review showed ${manifestValue(e)}` });
    }
  }
  for (const f of set.files) {
    if (!reviewed.has(f.version)) problems.push({ file: f.relativePath, message: "is on disk but was not in the reviewed set" });
  }
  return problems;
}

/** sha256 over the set's versions and checksums: changes when a file is added, removed or edited. */
export function setDigest(set: MigrationSet): string {
  return createHash("sha256")
    .update(set.files.map((f) => `${f.version} ${f.checksum}`).join("\n"))
    .digest("hex");
}
