/**
 * What drift and rehearsal cost (`npm run bench -- --only drift`, or alone: `npx tsx bench/drift.ts
 * [rounds]`): on the seed set (20 files) and on a synthetic 500-file set (bench/sets.ts; 300 tables,
 * 100 concurrent indexes), with one new file pending on the applied database: `migrate drift`
 * against the snapshot, `migrate drift --replay` (the applied files replayed on a scratch server),
 * `migrate rehearse` (that replay, the check against the database, then the new file), and `migrate
 * apply` of the new file with and without `--fail-on-drift` (what prod's `up` of one new file runs),
 * each apply on a fresh copy of the applied database. Runs are interleaved, so each variant sees
 * the same machine; medians are reported, after one unmeasured warm-up round.
 */
import { cp, mkdir, rm, writeFile } from "node:fs/promises";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { runOk } from "./proc.js";
import { ROOT, startBenchServer, TMP, type BenchServer } from "./server.js";
import { describeSyntheticSet, writeSyntheticSet } from "./sets.js";
import { median, round } from "./stats.js";
import { CLI, NODE } from "./zero-downtime.js";

const VARIANTS = ["drift", "driftReplay", "rehearse", "apply", "applyFailOnDrift"] as const;
type Variant = (typeof VARIANTS)[number];

export interface DriftPoint {
  set: string;
  files: number;
  rounds: number;
  /** Medians in ms. */
  ms: Record<Variant, number>;
  /** What the --fail-on-drift check adds to the one-file apply. */
  checkAddsMs: number;
}

const migrate = (args: string[]) => runOk(NODE, [CLI, ...args, "--quiet"]);

async function measure(server: BenchServer, label: string, sourceDir: string, rounds: number): Promise<DriftPoint> {
  const dir = path.join(TMP, `drift-${label}`);
  await rm(dir, { recursive: true, force: true });
  await cp(sourceDir, dir, { recursive: true });
  const base = `drift_${label}_base`;
  await server.createDatabase(base);
  await migrate(["apply", "--database-url", server.url(base), "--dir", dir]);
  const applied = (await server.query((c) => c.query(`SELECT count(*)::int AS n FROM migrator.applied_migrations`), base)).rows[0].n as number;
  const folder = path.join(dir, "99990101000000_bench_new");
  await mkdir(folder);
  await writeFile(path.join(folder, "migration.sql"), "CREATE TABLE bench_new (id bigint PRIMARY KEY, note text);\n");
  const samples: Record<Variant, number[]> = { drift: [], driftReplay: [], rehearse: [], apply: [], applyFailOnDrift: [] };
  for (let i = 0; i < rounds + 1; i++) {
    for (const variant of ["apply", "applyFailOnDrift"] as const) {
      const db = `drift_${label}_${variant.toLowerCase()}`;
      await server.createDatabase(db, base);
      const { ms } = await migrate(["apply", "--database-url", server.url(db), "--dir", dir, ...(variant === "applyFailOnDrift" ? ["--fail-on-drift"] : [])]);
      if (i > 0) samples[variant].push(ms);
    }
    // Against the base: the new file is pending there, which drift does not mind and rehearse rehearses.
    const url = server.url(base);
    const reads: [Variant, string[]][] = [
      ["drift", ["drift", "--database-url", url, "--dir", dir]],
      ["driftReplay", ["drift", "--replay", "--database-url", url, "--dir", dir]],
      ["rehearse", ["rehearse", "--database-url", url, "--dir", dir]],
    ];
    for (const [variant, args] of reads) {
      const { ms } = await migrate(args);
      if (i > 0) samples[variant].push(ms);
    }
  }
  const ms = Object.fromEntries(VARIANTS.map((v) => [v, round(median(samples[v]), 0)])) as Record<Variant, number>;
  return { set: label, files: applied, rounds, ms, checkAddsMs: ms.applyFailOnDrift - ms.apply };
}

/** The section: the seed set, then the 500-file set. */
export async function measureDrift(server: BenchServer, rounds: number, log: (text: string) => void = () => {}): Promise<DriftPoint[]> {
  log(`drift: the seed set, ${rounds} round(s) of drift, drift --replay, rehearse and apply of one new file`);
  const seed = await measure(server, "seed", path.join(ROOT, "sql/migrations"), rounds);
  log(`drift: a 500-file set, the same`);
  const synthetic = await writeSyntheticSet(describeSyntheticSet(500), path.join(TMP, "drift-synthetic"), { dbmate: false });
  return [seed, await measure(server, "500", synthetic.prismaDir, rounds)];
}

export function formatDriftPoints(points: readonly DriftPoint[]): string[] {
  const lines = ["Drift and rehearsal, one new file pending (median ms):  set   applied   drift   drift --replay   rehearse   apply   apply --fail-on-drift"];
  for (const p of points) {
    const m = p.ms;
    lines.push(
      `  ${p.set.padStart(52)} ${String(p.files).padStart(9)} ${String(m.drift).padStart(7)} ${String(m.driftReplay).padStart(16)} ${String(m.rehearse).padStart(10)} ${String(m.apply).padStart(7)} ${String(m.applyFailOnDrift).padStart(23)}`,
    );
  }
  return lines;
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const rounds = Number(process.argv[2] ?? 5);
  const server = await startBenchServer();
  try {
    console.log(formatDriftPoints(await measureDrift(server, rounds, (t) => process.stderr.write(`${t}\n`))).join("\n"));
  } finally {
    await server.stop();
  }
}
