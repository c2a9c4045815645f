import { mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { checksumOf, normaliseText } from "../../migrator/files.js";

/** One migration of a set written by a test: `<version>_<name>/migration.sql` holding `sql`. */
export interface SetFile {
  version: string;
  name: string;
  /** The file's content: text is written as UTF-8; a Buffer is written byte for byte (BOM, bad UTF-8). */
  sql: string | Buffer;
}

const created: string[] = [];

/** The folder of one migration inside a set. */
export function folderOf(file: Pick<SetFile, "version" | "name">): string {
  return `${file.version}_${file.name}`;
}

/** Writes (or overwrites) one migration file inside an existing set folder. */
export async function writeMigration(dir: string, file: SetFile): Promise<string> {
  const folder = path.join(dir, folderOf(file));
  await mkdir(folder, { recursive: true });
  const filePath = path.join(folder, "migration.sql");
  await writeFile(filePath, file.sql);
  return filePath;
}

/**
 * Writes a migration set in Prisma's layout into a new temporary folder and returns the folder.
 * `lockFile: null` leaves `migration_lock.toml` out; a string replaces its content.
 */
export async function writeSet(files: readonly SetFile[], options: { lockFile?: string | null } = {}): Promise<string> {
  const dir = await mkdtemp(path.join(os.tmpdir(), "migrator-set-"));
  created.push(dir);
  if (options.lockFile !== null) {
    await writeFile(path.join(dir, "migration_lock.toml"), options.lockFile ?? 'provider = "postgresql"\n');
  }
  for (const file of files) await writeMigration(dir, file);
  return dir;
}

/** Writes verification queries (`<name>.sql`) into a new temporary folder and returns it. */
export async function writeVerifySet(checks: Record<string, string>): Promise<string> {
  const dir = await mkdtemp(path.join(os.tmpdir(), "migrator-verify-"));
  created.push(dir);
  for (const [name, sql] of Object.entries(checks)) await writeFile(path.join(dir, `${name}.sql`), sql);
  return dir;
}

/** The checksum the migrator records for this text (what `--expect-checksum` takes). */
export function checksumOfText(sql: string): string {
  return checksumOf(normaliseText(sql));
}

/** Removes every folder written by this module; call from afterAll. */
export async function removeSets(): Promise<void> {
  await Promise.all(created.splice(0).map((dir) => rm(dir, { recursive: true, force: true })));
}
