/**
 * How costs grow with the set: the migrator's parse-and-plan time for up to 10,000 files (in
 * process, no database), and the Pulumi program's construction time under mocks.
 */
import path from "node:path";
import { readMigrationSet } from "../migrator/files.js";
import { lintMigrations } from "../migrator/lint.js";
import { plan } from "../migrator/plan.js";
import { loadParser } from "../migrator/statements.js";
import { runOk } from "./proc.js";
import { ROOT, TMP } from "./server.js";
import { describeSyntheticSet, writeSyntheticSet } from "./sets.js";
import { round } from "./stats.js";
import { TSX } from "./zero-downtime.js";

export interface PlanPoint {
  files: number;
  ms: number;
  msPerFile: number;
}

/** Reads, checks and parses the whole set and plans it against an empty ledger: what every command does first. */
export async function measurePlan(sizes: number[]): Promise<{ points: PlanPoint[]; linearity: number }> {
  await loadParser(); // the WebAssembly start is a one-off per process, not a per-file cost
  const points: PlanPoint[] = [];
  // The first size is measured twice and the first time discarded: it pays for the JIT's warm-up.
  const written = new Map<number, string>();
  for (const [i, files] of [sizes[0]!, ...sizes].entries()) {
    let dir = written.get(files);
    if (!dir) {
      dir = (await writeSyntheticSet(describeSyntheticSet(files), path.join(TMP, `plan-${files}`), { dbmate: false })).prismaDir;
      written.set(files, dir);
    }
    const started = performance.now();
    const read = await readMigrationSet(dir);
    const planned = plan(read, []);
    const ms = performance.now() - started;
    if (planned.steps.length !== files) throw new Error(`planned ${planned.steps.length} steps for ${files} files`);
    if (i > 0) points.push({ files, ms: round(ms, 1), msPerFile: round(ms / files, 4) });
  }
  // Per-file cost at the largest size over that at the smallest: 1 is perfectly linear.
  return { points, linearity: round(points.at(-1)!.msPerFile / points[0]!.msPerFile, 2) };
}

export interface LintPoint {
  files: number;
  /** squawk over every file (`lint --all`, a new database). */
  allMs: number;
  /** squawk over the one file a change adds (what lint, the gate and the review do on an applied set). */
  pendingMs: number;
}

/** squawk over the whole set against over its last file, in process, the set read once (what the gate and the review pay). */
export async function measureLint(sizes: number[]): Promise<LintPoint[]> {
  const points: LintPoint[] = [];
  for (const files of sizes) {
    const dir = (await writeSyntheticSet(describeSyntheticSet(files), path.join(TMP, `lint-${files}`), { dbmate: false })).prismaDir;
    const set = await readMigrationSet(dir);
    let started = performance.now();
    await lintMigrations(set, { pgMajor: 17 });
    const allMs = performance.now() - started;
    started = performance.now();
    await lintMigrations(set, { pgMajor: 17 }, set.files.slice(-1));
    points.push({ files, allMs: round(allMs, 0), pendingMs: round(performance.now() - started, 0) });
  }
  return points;
}

export interface PulumiPoint {
  files: number;
  ms: number;
  commands: number;
}

export async function measurePulumi(sizes: number[]): Promise<PulumiPoint[]> {
  const points: PulumiPoint[] = [];
  for (const files of sizes) {
    const set = await writeSyntheticSet(describeSyntheticSet(files), path.join(TMP, `pulumi-${files}`), { dbmate: false });
    const out = await runOk(TSX, [path.join(ROOT, "bench", "pulumi-program.ts"), path.relative(ROOT, set.prismaDir), "test/fixtures/stack-basic/verify"], { cwd: ROOT });
    const { ms, commands } = JSON.parse(out.stdout.trim().split("\n").at(-1)!) as { ms: number; commands: number };
    points.push({ files, ms: round(ms, 0), commands });
  }
  return points;
}
