import { mkdir, readdir, writeFile } from "node:fs/promises";
import path from "node:path";
import { UsageError } from "./errors.js";
import { FOLDER, MIGRATION_FILE } from "./files.js";
import { migrationTemplate } from "./template.js";

const NEW_NAME = /^[A-Za-z0-9][A-Za-z0-9_.-]*$/;

export { migrationTemplate } from "./template.js";

/** Prisma's versions: the UTC time as yyyymmddHHMMSS. */
export function timestampOf(now: Date): string {
  const p = (n: number, width = 2) => String(n).padStart(width, "0");
  return `${p(now.getUTCFullYear(), 4)}${p(now.getUTCMonth() + 1)}${p(now.getUTCDate())}${p(now.getUTCHours())}${p(now.getUTCMinutes())}${p(now.getUTCSeconds())}`;
}

function parseTimestamp(version: string): Date | undefined {
  const m = /^(\d{4})(\d{2})(\d{2})(\d{2})(\d{2})(\d{2})$/.exec(version);
  if (!m) return undefined;
  const [, y, mo, d, h, mi, s] = m.map(Number) as [number, number, number, number, number, number, number];
  const date = new Date(Date.UTC(y, mo - 1, d, h, mi, s));
  return timestampOf(date) === version ? date : undefined;
}

/**
 * The next folder's version: now, or one second after the last timestamp when the clock is behind it
 * (another machine's clock, a file written by hand), so the new folder always orders last. A set whose
 * last version is not a timestamp (short numbers, 1, 2, 3) continues its own numbering, at its width.
 */
export function nextVersion(existingVersions: string[], now: Date): string {
  const last = existingVersions.reduce<string | undefined>((max, v) => (max === undefined || BigInt(v) > BigInt(max) ? v : max), undefined);
  if (last === undefined) return timestampOf(now);
  const lastTime = parseTimestamp(last);
  if (lastTime) return timestampOf(new Date(Math.max(now.getTime(), lastTime.getTime() + 1000)));
  return String(BigInt(last) + 1n).padStart(last.length, "0");
}

export interface NewMigration {
  folder: string;
  file: string;
}

/** Writes `<dir>/<version>_<name>/migration.sql`; never over an existing folder. */
export async function newMigration(dir: string, name: string, options: { noTransaction: boolean; now: Date }): Promise<NewMigration> {
  let entries: string[];
  try {
    entries = await readdir(dir);
  } catch {
    throw new UsageError(`${dir} is not a folder; create it (mkdir -p ${dir}) or name the migrations folder with --dir`);
  }
  const folders = entries.filter((e) => FOLDER.test(e)).sort();
  const folder = `${nextVersion(
    folders.map((e) => FOLDER.exec(e)![1]!),
    options.now,
  )}_${name}`;
  // Stricter than what the set accepts (an empty name, a leading "_"): a new name is typed now.
  if (!NEW_NAME.test(name)) {
    throw new UsageError(`"${name}" cannot name a migration: use letters, digits, "_", "." and "-", starting with a letter or digit (e.g. add_member_email)`);
  }
  const last = folders.at(-1);
  // Files apply in folder-name order: a version of another width can make a larger number sort first.
  if (last !== undefined && folder <= last) {
    throw new UsageError(`${folder} would sort before ${last}, which applies by folder name first; name the folder by hand so that it sorts last`);
  }
  const folderPath = path.join(dir, folder);
  try {
    // Not recursive: mkdir fails on an existing folder, so two runs in one second cannot share one.
    await mkdir(folderPath);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === "EEXIST") throw new UsageError(`${folderPath} exists already; nothing was written, run the command again`);
    throw error;
  }
  const file = path.join(folderPath, MIGRATION_FILE);
  await writeFile(file, migrationTemplate(name, options.noTransaction), { flag: "wx" });
  return { folder, file };
}
