/**
 * Apply speed: the same synthetic set applied to a fresh database by the migrator (its CLI, one
 * process, one connection), by psql one process per file (`-1` for transactional files), and by
 * dbmate (one Go process). Each tool runs `rounds` times in rotating order; medians are compared.
 */
import path from "node:path";
import { runOk } from "./proc.js";
import { ROOT, type BenchServer } from "./server.js";
import type { SyntheticLayouts } from "./sets.js";
import { median, round } from "./stats.js";
import { CLI, NODE } from "./zero-downtime.js";

export const DBMATE = path.join(ROOT, "node_modules", "@dbmate", "linux-x64", "bin", "dbmate");
export const PSQL = process.env.BENCH_PSQL ?? "/usr/bin/psql";

export type Tool = "migrator" | "psql" | "dbmate";
export const TOOLS: Tool[] = ["migrator", "psql", "dbmate"];

let databases = 0;

/** Applies the set with one tool to a new database; returns wall-clock ms and what it built. */
export async function applyWith(tool: Tool, server: BenchServer, set: SyntheticLayouts): Promise<{ ms: number; tables: number; indexes: number }> {
  const database = `speed_${tool}_${++databases}`;
  await server.createDatabase(database);
  // CREATE DATABASE writes a lot of WAL: flush it now, so no tool pays for another's checkpoint.
  await server.query((c) => c.query("CHECKPOINT"));
  const url = server.url(database);
  let ms = 0;
  switch (tool) {
    case "migrator":
      ms = (await runOk(NODE, [CLI, "apply", "--dir", set.prismaDir, "--quiet"], { env: { ...process.env, DATABASE_URL: url } })).ms;
      break;
    case "psql":
      for (const file of set.files) {
        const args = ["-X", "-q", "-v", "ON_ERROR_STOP=1", ...(file.transactional ? ["-1"] : []), "-d", url, "-f", file.path];
        ms += (await runOk(PSQL, args)).ms;
      }
      break;
    case "dbmate":
      ms = (await runOk(DBMATE, ["--url", `${url}?sslmode=disable`, "--migrations-dir", set.dbmateDir, "--no-dump-schema", "up"])).ms;
      break;
  }
  // Each tool must have built the same thing, or the comparison means nothing.
  const built = await server.query(async (c) => {
    const { rows } = await c.query(
      `SELECT (SELECT count(*) FROM pg_tables WHERE schemaname = 'public' AND tablename ~ '^t[0-9]+$')::int AS tables,
              (SELECT count(*) FROM pg_indexes WHERE schemaname = 'public' AND indexname ~ '_label_idx$')::int AS indexes`,
    );
    return rows[0] as { tables: number; indexes: number };
  }, database);
  await server.query((c) => c.query(`DROP DATABASE "${database}" WITH (FORCE)`));
  return { ms, ...built };
}

export interface SpeedResult {
  files: number;
  rounds: number;
  /** Median seconds per tool; null for a tool that was not run. */
  seconds: Record<Tool, number | null>;
  /** Every round's seconds, for the noise (psql: the first round only). */
  samples: Record<Tool, number[]>;
  /** Median over rounds of migrator/dbmate measured back to back in the same round. */
  pairedMigratorVsDbmate: number;
}

/**
 * psql runs in the first round only: at a process and a login per file it is ten times slower
 * than the others, its ratio is not close, and its rounds would eat the time budget.
 */
export async function measureSpeed(server: BenchServer, set: SyntheticLayouts, rounds: number, tools: Tool[] = TOOLS): Promise<SpeedResult> {
  const samples: Record<Tool, number[]> = { migrator: [], psql: [], dbmate: [] };
  let expected: { tables: number; indexes: number } | undefined;
  for (let r = 0; r < rounds; r++) {
    const these = r === 0 ? tools : tools.filter((t) => t !== "psql");
    // Rotate the order each round, so no tool always runs on the warmest (or busiest) machine.
    const order = these.map((_, i) => these[(i + r) % these.length]!);
    for (const tool of order) {
      const { ms, tables, indexes } = await applyWith(tool, server, set);
      expected ??= { tables, indexes };
      if (tables !== expected.tables || indexes !== expected.indexes) {
        throw new Error(`${tool} built ${tables} tables and ${indexes} indexes, another tool ${expected.tables} and ${expected.indexes}`);
      }
      samples[tool].push(round(ms / 1000, 3));
    }
  }
  const seconds = Object.fromEntries(TOOLS.map((t) => [t, samples[t].length ? round(median(samples[t]), 3) : null])) as Record<Tool, number | null>;
  // Ratios of runs a few seconds apart cancel most of the drift in what else the machine is doing.
  const paired = samples.migrator.map((m, i) => m / samples.dbmate[i]!).filter((r) => Number.isFinite(r));
  return { files: set.files.length, rounds, seconds, samples, pairedMigratorVsDbmate: round(median(paired), 3) };
}
