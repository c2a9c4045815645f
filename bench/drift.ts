/**
 * What drift and rehearsal cost (`npm run bench -- --only drift`, or alone: `npx tsx bench/drift.ts
 * [rounds]`): on the seed set (20 files) and on a synthetic 500-file set (bench/sets.ts; 300 tables,
 * 100 concurrent indexes), with one new file pending on the applied database: `migrate drift`
 * against the snapshot, `migrate drift --replay` (the applied files replayed on a scratch server),
 * `migrate rehearse` (that replay, the check against the database, then the new file), and `migrate
 * apply` of the new file with and without `--fail-on-drift` (what prod's `up` of one new file runs),
 * each apply on a fresh copy of the applied database, and without the flag on a copy with a column
 * added by hand (the drift is carried into the new snapshot: catalog/carry.ts). Alone, `--before
 * DIST/migrate.js` also times the applies of another build (what carrying the drift costs). Runs are interleaved, so each variant sees
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

const VARIANTS = ["drift", "driftReplay", "rehearse", "apply", "applyFailOnDrift", "applyDrifted", "applyBefore"] as const;
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

const migrate = (args: string[], cli = CLI) => runOk(NODE, [cli, ...args, "--quiet"]);

async function measure(server: BenchServer, label: string, sourceDir: string, rounds: number, beforeCli?: string): Promise<DriftPoint> {
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
  // A copy of the base with a column added by hand, for the apply that carries the drift (catalog/carry.ts).
  const drifted = `drift_${label}_drifted_base`;
  await server.createDatabase(drifted, base);
  await server.query((c) => c.query(`ALTER TABLE ${label === "seed" ? '"Member"' : "t0"} ADD COLUMN bench_by_hand text`), drifted);
  const applies: Variant[] = ["apply", "applyFailOnDrift", "applyDrifted", ...(beforeCli ? (["applyBefore"] as const) : [])];
  const samples: Record<Variant, number[]> = { drift: [], driftReplay: [], rehearse: [], apply: [], applyFailOnDrift: [], applyDrifted: [], applyBefore: [] };
  for (let i = 0; i < rounds + 1; i++) {
    for (const variant of applies) {
      const db = `drift_${label}_${variant.toLowerCase()}`;
      await server.createDatabase(db, variant === "applyDrifted" ? drifted : base);
      const flags = variant === "applyFailOnDrift" ? ["--fail-on-drift"] : [];
      const { ms } = await migrate(["apply", "--database-url", server.url(db), "--dir", dir, ...flags], variant === "applyBefore" ? beforeCli : CLI);
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
  const ms = Object.fromEntries(VARIANTS.map((v) => [v, samples[v].length > 0 ? round(median(samples[v]), 0) : NaN])) as Record<Variant, number>;
  return { set: label, files: applied, rounds, ms, checkAddsMs: ms.applyFailOnDrift - ms.apply };
}

/** The section: the seed set, then the 500-file set. */
export async function measureDrift(server: BenchServer, rounds: number, log: (text: string) => void = () => {}, beforeCli?: string): Promise<DriftPoint[]> {
  log(`drift: the seed set, ${rounds} round(s) of drift, drift --replay, rehearse and apply of one new file`);
  const seed = await measure(server, "seed", path.join(ROOT, "sql/migrations"), rounds, beforeCli);
  log(`drift: a 500-file set, the same`);
  const synthetic = await writeSyntheticSet(describeSyntheticSet(500), path.join(TMP, "drift-synthetic"), { dbmate: false });
  return [seed, await measure(server, "500", synthetic.prismaDir, rounds, beforeCli)];
}

export function formatDriftPoints(points: readonly DriftPoint[]): string[] {
  const before = points.some((p) => !Number.isNaN(p.ms.applyBefore));
  const lines = [
    `Drift and rehearsal, one new file pending (median ms):  set   applied   drift   drift --replay   rehearse   apply   apply --fail-on-drift   apply, drift carried${before ? "   apply, --before build" : ""}`,
  ];
  for (const p of points) {
    const m = p.ms;
    lines.push(
      `  ${p.set.padStart(52)} ${String(p.files).padStart(9)} ${String(m.drift).padStart(7)} ${String(m.driftReplay).padStart(16)} ${String(m.rehearse).padStart(10)} ${String(m.apply).padStart(7)} ${String(m.applyFailOnDrift).padStart(23)} ${String(m.applyDrifted).padStart(22)}${before ? ` ${String(m.applyBefore).padStart(23)}` : ""}`,
    );
  }
  return lines;
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  // `--before DIST/migrate.js`: the applies by another build too (one that read no catalog before the files): what carrying costs.
  const args = process.argv.slice(2);
  const at = args.indexOf("--before");
  const beforeCli = at === -1 ? undefined : path.resolve(args.splice(at, 2)[1]!);
  const rounds = Number(args[0] ?? 5);
  const server = await startBenchServer();
  try {
    console.log(formatDriftPoints(await measureDrift(server, rounds, (t) => process.stderr.write(`${t}\n`), beforeCli)).join("\n"));
  } finally {
    await server.stop();
  }
}
