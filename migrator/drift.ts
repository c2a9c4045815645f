import type pg from "pg";
import { withAdvisoryLock } from "./advisory-lock.js";
import { diffCatalogs, driftLine, fingerprintOf, NORMALISER_VERSION, takeCatalog, type CatalogDifference, type NormalisedCatalog } from "./catalog/index.js";
import { replayCatalog } from "./catalog/replay.js";
import { appliedHead, isLockTimeout, readSnapshot, withLockTimeout } from "./catalog/snapshot.js";
import { withDatabase, type MigratorContext } from "./commands.js";
import { ExitCode } from "./errors.js";
import { readMigrationSet, type MigrationFile, type MigrationSet } from "./files.js";
import { readLedger } from "./ledger.js";
import { serverVersionNum } from "./server-version.js";
import { majorOf } from "./version-rules.js";

export interface DriftOptions {
  /** Compare with the catalog the applied files produce on an empty server, instead of the recorded snapshot. */
  replay: boolean;
}

export interface DriftReport {
  database: string;
  /** The last applied migration's folder, or null when none is applied. */
  head: string | null;
  /** What the live catalog was compared with. */
  against: "snapshot" | "replay";
  snapshot?: { head: string; takenAt: string; normaliser: number; sha256: string };
  replay?: { serverVersion: string; files: number };
  /** sha256 of the live catalog and of the one it was compared with (normaliser version `normaliser`). */
  normaliser: number;
  liveSha256: string;
  expectedSha256: string;
  differences: (CatalogDifference & { line: string })[];
  /** What the reader should know about how the comparison was made (an edited file replayed as it is now, …). */
  notes: string[];
}

/** No drift can be computed: nothing recorded to compare with. Says what to run instead. */
export class DriftUnavailableError extends Error {
  readonly exitCode = ExitCode.failed;
  constructor(message: string) {
    super(message);
    this.name = "DriftUnavailableError";
  }
}

/** The target's roles (not the server's own pg_* ones), so a replay can grant to them. */
export async function roleNames(client: pg.ClientBase): Promise<string[]> {
  const { rows } = await client.query<{ name: string }>(`SELECT rolname AS name FROM pg_roles WHERE rolname !~ '^pg_' ORDER BY 1`);
  return rows.map((r) => r.name);
}

/** Owners differ by design between the target and a replay server (whoever ran it); grants are compared. */
export function withoutOwners(catalog: NormalisedCatalog): NormalisedCatalog {
  if (!catalog.privileges) return catalog;
  return { ...catalog, privileges: Object.fromEntries(Object.entries(catalog.privileges).map(([k, v]) => [k, { ...v, owner: null }])) };
}

interface LiveState {
  head: string | undefined;
  live: NormalisedCatalog;
  major: number;
  roles: string[];
  applied: { folder: string; checksum: string }[];
  snapshot: Awaited<ReturnType<typeof readSnapshot>>;
}

/**
 * Reads the ledger, the live catalog and its snapshot under the migration lock, so that a running
 * apply is waited for, not reported as drift. The replay (minutes on a long set) runs after the
 * lock is released: it reads only the files.
 */
async function readLive(client: pg.ClientBase, ctx: MigratorContext, set: MigrationSet | undefined): Promise<LiveState> {
  return withAdvisoryLock(client, ctx.ledger, ctx.lockWaitMs, ctx.reporter, async () => {
    const rows = (await readLedger(client, ctx.ledger, set)).filter((r) => r.status !== "started");
    const head = appliedHead(rows);
    return {
      head,
      live: await readCatalogBounded(client, ctx),
      major: majorOf(await serverVersionNum(client)),
      roles: await roleNames(client),
      applied: rows.map((r) => ({ folder: r.folder, checksum: r.checksum })),
      snapshot: head ? await readSnapshot(client, ctx.ledger, head) : undefined,
    };
  });
}

/**
 * The catalog read waits for a table lock no longer than a file would (--lock-timeout): a session
 * holding ACCESS EXCLUSIVE on a table would otherwise hold this read, and the migration lock with it.
 */
async function readCatalogBounded(client: pg.ClientBase, ctx: MigratorContext): Promise<NormalisedCatalog> {
  try {
    return await withLockTimeout(client, ctx.apply.lockTimeoutMs, () => takeCatalog(client, ctx.ledger));
  } catch (error) {
    if (!isLockTimeout(error)) throw error;
    throw new DriftUnavailableError(
      `reading the schema waited more than ${ctx.apply.lockTimeoutMs / 1000}s for a table another session holds locked; nothing was compared: run drift again when that session is done (or raise --lock-timeout)`,
    );
  }
}

/** The files the ledger holds as applied, from the set on disk; an applied file missing from it cannot be replayed. */
export function appliedFiles(
  applied: readonly { folder: string; checksum: string }[],
  files: readonly MigrationFile[],
  dir: string,
  notes: string[],
  instead = "or compare with the recorded snapshot (leave out --replay)",
): MigrationFile[] {
  const byFolder = new Map(files.map((f) => [f.folder, f]));
  const missing: string[] = [];
  const chosen: MigrationFile[] = [];
  for (const row of applied) {
    const file = byFolder.get(row.folder);
    if (!file) {
      missing.push(row.folder);
      continue;
    }
    if (file.checksum !== row.checksum) notes.push(`${file.relativePath} was edited after it was applied; replayed as it is on disk`);
    chosen.push(file);
  }
  if (missing.length > 0) {
    throw new DriftUnavailableError(
      `cannot replay: ${missing.length} applied migration${missing.length === 1 ? " has" : "s have"} no folder in ${dir} (${missing.slice(0, 3).join(", ")}${missing.length > 3 ? ", …" : ""}); ` +
        `restore ${missing.length === 1 ? "it" : "them"} from version control, ${instead}`,
    );
  }
  return chosen;
}

/** `migrate drift`: the live catalog against the snapshot at the applied head, or against a replay of the applied files. */
export async function driftCommand(ctx: MigratorContext, options: DriftOptions): Promise<DriftReport> {
  const readSet = options.replay ? () => readMigrationSet(ctx.dir) : async () => undefined;
  return withDatabase(ctx, readSet, async (client, where, set) => {
    const state = await readLive(client, ctx, set);
    const notes: string[] = [];
    let replay = options.replay;
    if (!replay && !state.head) {
      throw new DriftUnavailableError(
        `no migration is applied in ${ctx.ledger.schema}.${ctx.ledger.table}, so no snapshot was recorded; ` +
          `\`migrate drift --replay\` compares the database with an empty one`,
      );
    }
    if (!replay && !state.snapshot) {
      throw new DriftUnavailableError(
        `no schema snapshot is recorded at the applied head ${state.head} (it was applied by a migrator without snapshots, or recording it failed); ` +
          `\`migrate drift --replay\` compares with what the applied files produce`,
      );
    }
    if (!replay && state.snapshot!.normaliser !== NORMALISER_VERSION) {
      notes.push(
        `the snapshot at ${state.head} was taken by normaliser ${state.snapshot!.normaliser}, this migrator's is ${NORMALISER_VERSION}: compared by replaying the files instead`,
      );
      replay = true;
    }
    let expected: NormalisedCatalog;
    let live = state.live;
    let replayed: DriftReport["replay"];
    if (replay) {
      const fileSet = set ?? (await readMigrationSet(ctx.dir));
      const result = await replayCatalog(appliedFiles(state.applied, fileSet.files, ctx.dir, notes), state.major, state.roles, ctx.apply);
      expected = withoutOwners(result.catalog);
      live = withoutOwners(live);
      replayed = { serverVersion: result.serverVersion, files: result.files };
    } else {
      expected = state.snapshot!.catalog;
    }
    const differences = diffCatalogs(expected, live).map((d) => ({ ...d, line: driftLine(d) }));
    return {
      database: where,
      head: state.head ?? null,
      against: replay ? "replay" : "snapshot",
      ...(state.snapshot
        ? { snapshot: { head: state.snapshot.head, takenAt: state.snapshot.takenAt.toISOString(), normaliser: state.snapshot.normaliser, sha256: state.snapshot.sha256 } }
        : {}),
      ...(replayed ? { replay: replayed } : {}),
      normaliser: NORMALISER_VERSION,
      liveSha256: fingerprintOf(live),
      expectedSha256: fingerprintOf(expected),
      differences,
      notes,
    };
  });
}

/** The human report: one line per difference, then what to do. */
export function formatDrift(report: DriftReport): string {
  const against =
    report.against === "replay"
      ? `the ${report.replay!.files} applied files replayed on PostgreSQL ${report.replay!.serverVersion}`
      : `the snapshot recorded at ${report.snapshot!.head} (${report.snapshot!.takenAt}, sha256 ${report.snapshot!.sha256})`;
  const lines = [`Compared ${report.database} with ${against}.`, ...report.notes.map((n) => `note: ${n}`)];
  if (report.differences.length === 0) {
    lines.push(`No drift: the schema is what the applied migrations${report.head ? ` up to ${report.head}` : ""} produce (sha256 ${report.liveSha256}).`);
    return lines.join("\n");
  }
  lines.push(...report.differences.map((d) => `  ${d.line}`));
  lines.push(
    `Drift: ${report.differences.length} difference${report.differences.length === 1 ? "" : "s"} from the migrations. ` +
      `Write a migration that makes the change the files' own, or undo it in the database (restore the object as the migrations define it).`,
  );
  return lines.join("\n");
}
