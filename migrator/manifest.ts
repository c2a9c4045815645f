import { createHash } from "node:crypto";
import { UsageError } from "./errors.js";
import type { MigrationFile, MigrationSet } from "./files.js";

/**
 * The set as a caller reviewed it, carried in the environment: one `MIGRATION_<version>` variable
 * per file (manifestKey), valued `<name> <transaction|no-transaction> sha256:<checksum>`. The Pulumi stacks put
 * it in the apply command's environment, where `pulumi preview --diff` shows each pending, edited
 * or removed file as its own line; the migrator then refuses to apply a set on disk that differs
 * from it (`apply --expect-manifest`), so what runs is exactly what the reviewer saw.
 */
export const MANIFEST_PREFIX = "MIGRATION_";

export interface ManifestEntry {
  /** The folder the entry names: `<version>_<name>`. */
  folder: string;
  version: string;
  name: string;
  transactional: boolean;
  checksum: string;
}

/**
 * The variable a file is carried in. `MIGRATION_<version>` while its version is its own, so a
 * stack made before files were identified by folder keeps every key (and previews no change);
 * folders that share a version each get `MIGRATION_<version>_<name>`, the name with every
 * character an environment name cannot hold ("." and "-", a space) written as "_".
 */
export function manifestKey(file: Pick<MigrationFile, "version" | "name">, versionShared: boolean): string {
  return versionShared ? `${MANIFEST_PREFIX}${file.version}_${keyPart(file.name)}` : `${MANIFEST_PREFIX}${file.version}`;
}

const keyPart = (name: string) => name.replace(/[^A-Za-z0-9_]/g, "_");

export function manifestValue(file: Pick<MigrationFile, "name" | "transactional" | "checksum">): string {
  return `${file.name} ${file.transactional ? "transaction" : "no-transaction"} sha256:${file.checksum}`;
}

/** The versions two or more folders of the set share. */
function sharedVersions(set: MigrationSet): Set<string> {
  const seen = new Set<string>();
  const shared = new Set<string>();
  for (const f of set.files) (seen.has(f.version) ? shared : seen).add(f.version);
  return shared;
}

/** Each file's variable name, in the set's order; two folders that would share one are refused, naming both. */
export function manifestKeys(set: MigrationSet): string[] {
  const shared = sharedVersions(set);
  const owner = new Map<string, string>();
  return set.files.map((f) => {
    const key = manifestKey(f, shared.has(f.version));
    const other = owner.get(key);
    if (other)
      throw new UsageError(
        `${other} and ${f.folder} would both be carried as ${key} (the names differ only in characters other than letters, digits and "_"); rename one of the folders`,
      );
    owner.set(key, f.folder);
    return key;
  });
}

/** The whole set as environment variables. */
export function manifestEnvironment(set: MigrationSet): Record<string, string> {
  const keys = manifestKeys(set);
  return Object.fromEntries(set.files.map((f, i) => [keys[i]!, manifestValue(f)]));
}

// The name is everything before the mode: a folder's name may hold spaces (files.ts, FOLDER).
const VALUE = /^(.*) (transaction|no-transaction) sha256:([0-9a-f]{64})$/;
const KEY = /^(\d+)(?:_([A-Za-z0-9_]*))?$/;

/** One variable read back (the one parser of the format), or undefined when it is not a manifest entry. */
export function parseManifestEntry(key: string, value: string): ManifestEntry | undefined {
  if (!key.startsWith(MANIFEST_PREFIX)) return undefined;
  const k = KEY.exec(key.slice(MANIFEST_PREFIX.length));
  const m = VALUE.exec(value);
  if (!k || !m) return undefined;
  const [, version, part] = k as unknown as [string, string, string | undefined];
  const name = m[1]!;
  // A shared version's key carries the name: it must be the value's, or the entry names two folders.
  if (part !== undefined && part !== keyPart(name)) return undefined;
  return { folder: `${version}_${name}`, version, name, transactional: m[2] === "transaction", checksum: m[3]! };
}

/** Reads the manifest back from an environment; a malformed variable is a usage error naming it. */
export function readManifest(env: NodeJS.ProcessEnv): ManifestEntry[] {
  const entries: ManifestEntry[] = [];
  for (const [key, value] of Object.entries(env)) {
    if (!key.startsWith(MANIFEST_PREFIX) || value === undefined) continue;
    const entry = parseManifestEntry(key, value);
    if (!entry) {
      throw new UsageError(`${key}="${value.slice(0, 120)}" is not a manifest entry (MIGRATION_<version>[_<name>]="<name> <transaction|no-transaction> sha256:<hex>")`);
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
  const onDisk = new Map(set.files.map((f) => [f.folder, f]));
  const reviewed = new Map(expected.map((e) => [e.folder, e]));
  for (const e of expected) {
    const f = onDisk.get(e.folder);
    if (!f) {
      problems.push({ file: e.folder, message: "was in the reviewed set but is no longer on disk" });
    } else if (f.checksum !== e.checksum || f.name !== e.name || f.transactional !== e.transactional) {
      problems.push({ file: f.relativePath, message: `changed since it was reviewed: it is now ${manifestValue(f)}, the review showed ${manifestValue(e)}` });
    }
  }
  for (const f of set.files) {
    if (!reviewed.has(f.folder)) problems.push({ file: f.relativePath, message: "is on disk but was not in the reviewed set" });
  }
  return problems;
}

/**
 * sha256 over the set's files and checksums: changes when a file is added, removed or edited. A
 * file is named as its manifest key names it (its version while that is its own), so the digest of
 * a set made before folder identity is unchanged.
 */
export function setDigest(set: MigrationSet): string {
  const keys = manifestKeys(set);
  return createHash("sha256")
    .update(set.files.map((f, i) => `${keys[i]!.slice(MANIFEST_PREFIX.length)} ${f.checksum}`).join("\n"))
    .digest("hex");
}
