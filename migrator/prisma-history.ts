import { createHash } from "node:crypto";
import type { Problem } from "./errors.js";
import type { MigrationFile, MigrationSet } from "./files.js";
import { compareFolders, type LedgerRow } from "./ledger.js";

/**
 * Prisma's history and how to read it, pure. The table and the meaning of its columns are
 * prisma-engines' (schema-engine/ARCHITECTURE.md, "The _prisma_migrations table", and
 * schema-engine/connectors/schema-connector/src/migration_persistence.rs, `MigrationRecord`):
 * a row per attempt; `finished_at` set only when the file completed; `rolled_back_at` set by
 * `prisma migrate resolve --rolled-back`, and then the row is ignored; a row neither finished nor
 * rolled back is a failed migration, which `prisma migrate deploy` refuses to go past
 * (schema-engine/core/src/commands/apply_migrations.rs, `detect_failed_migrations`).
 */

/** The name Prisma gives its table (sql-schema-connector's MIGRATIONS_TABLE_NAME). */
export const PRISMA_TABLE = "_prisma_migrations";

/** One row of `_prisma_migrations`. */
export interface PrismaRow {
  id: string;
  checksum: string;
  migrationName: string;
  startedAt: Date;
  finishedAt: Date | null;
  rolledBackAt: Date | null;
  logs: string | null;
}

/** What `prisma migrate deploy` counts as applied: finished and not rolled back. */
export const finished = (r: PrismaRow) => r.finishedAt !== null && r.rolledBackAt === null;
/** A failed attempt: started, never finished, never rolled back. */
export const failed = (r: PrismaRow) => r.finishedAt === null && r.rolledBackAt === null;

/** How `prismaHistory` treats Prisma's table: read to adopt only (ignore), or also written for every file recorded (mirror). */
export type PrismaHistoryMode = "ignore" | "mirror";
export const PRISMA_HISTORY_MODES: readonly PrismaHistoryMode[] = ["ignore", "mirror"];

const sha256 = (text: string) => createHash("sha256").update(text, "utf8").digest();

/** Lowercase hex, each byte zero-padded: what Prisma writes (checksum.rs, `format_checksum`). */
const padded = (digest: Buffer) => digest.toString("hex");
/** Each byte in hex without zero padding: what an old schema engine wrote (checksum.rs, `format_checksum_old`; prisma-engines#1887). */
const unpadded = (digest: Buffer) => [...digest].map((b) => b.toString(16)).join("");

/** The checksum Prisma records for a migration file: sha256 of its text exactly as written (a BOM included). */
export function prismaChecksum(text: string): string {
  return padded(sha256(text));
}

/**
 * Prisma's rule (checksum.rs, `script_matches_checksum`): the file's text matches if its sha256,
 * or that of the text with CRLF turned into LF, or with LF turned into CRLF, is the recorded one;
 * a recorded checksum that is not 64 characters long is compared in the old unpadded form.
 */
export function matchesPrismaChecksum(text: string, checksum: string): boolean {
  const format = checksum.length !== 0 && checksum.length !== 64 ? unpadded : padded;
  return [text, text.replaceAll("\r\n", "\n"), text.replaceAll("\n", "\r\n")].some((variant) => format(sha256(variant)) === checksum);
}

/** A file Prisma finished, to be recorded as `adopted` with Prisma's times, never run. */
export interface Adoption {
  file: MigrationFile;
  /** The row of the attempt that finished (the first, by started_at). */
  prismaId: string;
  startedAt: Date;
  finishedAt: Date;
}

export interface AdoptionPlan {
  adoptions: Adoption[];
  /** Why the history cannot be adopted as it is; each names its file and what to do. */
  problems: Problem[];
}

export interface AdoptionOptions {
  /** A finished Prisma row whose folder is not in the set is tolerated (not adopted). */
  ignoreUnknown?: boolean;
  /** A file Prisma never finished that sorts before one it did may run after adoption. */
  allowOutOfOrder?: boolean;
}

const resolveCommands = (name: string) =>
  `\`npx prisma migrate resolve --applied "${name}"\` if its changes are in the database, or \`npx prisma migrate resolve --rolled-back "${name}"\` if they are not (it then runs again)`;

/**
 * From Prisma's rows and the set to what adoption records, or the problems that stop it. Rows of a
 * folder our ledger already records (applied, baselined, adopted) are not looked at: the ledger
 * decides those. So on a database with no ledger of ours every finished row is adopted, and after
 * that only a file Prisma applied since (a teammate's `prisma migrate deploy`) is, instead of
 * being run a second time.
 */
export function planAdoption(
  set: MigrationSet,
  ledger: readonly LedgerRow[],
  rows: readonly PrismaRow[],
  textOf: (file: MigrationFile) => string,
  options: AdoptionOptions = {},
): AdoptionPlan {
  const recorded = new Set(ledger.filter((r) => r.status !== "started").map((r) => r.folder));
  const byFolder = new Map(set.files.map((f) => [f.folder, f]));
  const byName = new Map<string, PrismaRow[]>();
  for (const row of rows) {
    if (recorded.has(row.migrationName)) continue;
    byName.set(row.migrationName, [...(byName.get(row.migrationName) ?? []), row]);
  }
  const problems: Problem[] = [];
  const adoptions: Adoption[] = [];
  const refused = new Set<string>();
  const refuse = (name: string, problem: Problem) => {
    refused.add(name);
    problems.push(problem);
  };
  for (const [name, attempts] of [...byName].sort(([a], [b]) => compareFolders(a, b))) {
    const file = byFolder.get(name);
    const where = file?.relativePath ?? name;
    const broken = attempts.find(failed);
    if (broken) {
      const logs = broken.logs?.trim().split("\n")[0];
      refuse(name, {
        file: where,
        message:
          `failed when Prisma ran it (_prisma_migrations: started ${broken.startedAt.toISOString()}, never finished nor rolled back${logs ? `; Prisma logged: ${logs}` : ""}). ` +
          `Like \`prisma migrate deploy\`, the migrator goes no further until that is settled: find out how far it got, then run ${resolveCommands(name)}, and run again`,
      });
      continue;
    }
    const done = attempts.filter(finished).sort((a, b) => a.startedAt.getTime() - b.startedAt.getTime());
    if (done.length === 0) continue; // rolled back only: Prisma would run it again, and so will we
    if (!file) {
      if (!options.ignoreUnknown) {
        refuse(name, {
          file: name,
          message: `is applied in Prisma's history (_prisma_migrations, finished ${done[0]!.finishedAt!.toISOString()}) but no such migration is in the set (a renamed folder counts as removed); restore its folder, or pass --ignore-unknown if it was removed on purpose`,
        });
      }
      continue;
    }
    const text = textOf(file);
    const edited = done.find((r) => !matchesPrismaChecksum(text, r.checksum));
    if (edited) {
      refuse(name, {
        file: where,
        message:
          `was edited after Prisma applied it (${edited.finishedAt!.toISOString()}): checksum ${edited.checksum} in _prisma_migrations, ${prismaChecksum(text)} on disk (sha256 of the file's text, as Prisma computes it, ` +
          `line endings either way). An applied migration is never run again; restore the file as it was and write a new migration with the change`,
      });
      continue;
    }
    adoptions.push({ file, prismaId: done[0]!.id, startedAt: done[0]!.startedAt, finishedAt: done[0]!.finishedAt! });
  }
  if (!options.allowOutOfOrder && adoptions.length > 0) {
    const last = adoptions.at(-1)!.file.folder;
    // A file already refused above (failed, edited) is not a gap as well: one problem per file.
    const accounted = new Set([...adoptions.map((a) => a.file.folder), ...refused]);
    for (const file of set.files) {
      if (compareFolders(file.folder, last) >= 0) break;
      if (recorded.has(file.folder) || accounted.has(file.folder)) continue;
      problems.push({
        file: file.relativePath,
        message:
          `is not applied in Prisma's history (_prisma_migrations), but ${last}, which sorts after it, is: Prisma ran the files out of folder order, or this one failed and was rolled back. ` +
          `\`prisma migrate deploy\` would run it now, after the later ones; the migrator applies files in folder-name order and refuses. ` +
          `If its changes are already in the database, record it as Prisma would (\`npx prisma migrate resolve --applied "${file.folder}"\`) and run again; ` +
          `if it is new and does not depend on what came after it, pass --allow-out-of-order`,
      });
    }
  }
  return { adoptions, problems };
}

/** The ledger rows adoption writes, as the planner reads them: the adopted files count as done. */
export function adoptedRows(adoptions: readonly Adoption[]): LedgerRow[] {
  return adoptions.map(({ file, startedAt, finishedAt }) => ({
    folder: file.folder,
    version: file.version,
    name: file.name,
    checksum: file.checksum,
    transactional: file.transactional,
    status: "adopted",
    appliedAt: finishedAt,
    durationMs: Math.max(0, Math.round(finishedAt.getTime() - startedAt.getTime())),
    appliedBy: "prisma",
    clientAddr: null,
  }));
}

/** "17 files from Prisma's history (_prisma_migrations), 0_init … 20240108000000_crlf": what adoption takes in, for people. */
export function describeAdoption(adoptions: readonly { folder: string }[]): string {
  const n = adoptions.length;
  const range = n === 1 ? adoptions[0]!.folder : `${adoptions[0]!.folder} … ${adoptions.at(-1)!.folder}`;
  return `${n} file${n === 1 ? "" : "s"} from Prisma's history (${PRISMA_TABLE}), ${range}`;
}
