/**
 * What drift costs (`npx tsx bench/drift.ts [rounds] [--before DIST/migrate.js]`): on the seed set
 * (20 files) and on a synthetic 500-file set (bench/sets.ts; 300 tables, 100 concurrent indexes),
 * `migrate drift` against the snapshot, and `migrate apply` of one new file with and without
 * `--fail-on-drift` (what prod's `up` of one new file runs), and without it on a database with a
 * column added by hand (the drift is carried into the new snapshot: catalog/carry.ts), each on a
 * fresh copy of the applied database. With `--before`, the same apply by another build of the
 * migrator (one that read no catalog before the files without the flag): what carrying costs.
 * Runs are interleaved, so each variant sees the same machine; medians are printed.
 */
import { cp, mkdir, rm, writeFile } from "node:fs/promises";
import path from "node:path";
import { runOk } from "./proc.js";
import { ROOT, startBenchServer, TMP } from "./server.js";
import { describeSyntheticSet, writeSyntheticSet } from "./sets.js";
import { median, round } from "./stats.js";
import { CLI, NODE } from "./zero-downtime.js";

const args = process.argv.slice(2);
const beforeAt = args.indexOf("--before");
const BEFORE_CLI = beforeAt === -1 ? undefined : path.resolve(args.splice(beforeAt, 2)[1]!);
const rounds = Number(args[0] ?? 5);
const server = await startBenchServer();
const migrate = (argv: string[], cli = CLI) => runOk(NODE, [cli, ...argv, "--quiet"]);

type Variant = "apply" | "applyFailOnDrift" | "applyDrifted" | "applyBefore";

async function measure(label: string, sourceDir: string): Promise<Record<string, number | string>> {
  const dir = path.join(TMP, `drift-${label}`);
  await rm(dir, { recursive: true, force: true });
  await cp(sourceDir, dir, { recursive: true });
  const base = `drift_${label}_base`;
  await server.createDatabase(base);
  await migrate(["apply", "--database-url", server.url(base), "--dir", dir]);
  const folder = path.join(dir, "99990101000000_bench_new");
  await mkdir(folder);
  await writeFile(path.join(folder, "migration.sql"), "CREATE TABLE bench_new (id bigint PRIMARY KEY, note text);\n");
  // A copy of the base with a column added by hand, for the carrying apply.
  const drifted = `drift_${label}_drifted_base`;
  await server.createDatabase(drifted, base);
  await server.query((c) => c.query(`ALTER TABLE ${label === "seed" ? '"Member"' : "t0"} ADD COLUMN bench_by_hand text`), drifted);
  const variants: Variant[] = ["apply", "applyFailOnDrift", "applyDrifted", ...(BEFORE_CLI ? (["applyBefore"] as const) : [])];
  const samples: Record<"drift" | Variant, number[]> = { drift: [], apply: [], applyFailOnDrift: [], applyDrifted: [], applyBefore: [] };
  for (let i = 0; i < rounds + 1; i++) {
    for (const variant of variants) {
      const db = `drift_${label}_${variant.toLowerCase()}`;
      await server.createDatabase(db, variant === "applyDrifted" ? drifted : base);
      const flags = variant === "applyFailOnDrift" ? ["--fail-on-drift"] : [];
      const { ms } = await migrate(["apply", "--database-url", server.url(db), "--dir", dir, ...flags], variant === "applyBefore" ? BEFORE_CLI : CLI);
      if (i > 0) samples[variant].push(ms);
    }
    // Against the base: the new file is pending there, which drift does not mind.
    const { ms } = await migrate(["drift", "--database-url", server.url(base), "--dir", dir]);
    if (i > 0) samples.drift.push(ms);
  }
  const m = (k: keyof typeof samples) => round(median(samples[k]), 0);
  return {
    set: label,
    "migrate drift (ms)": m("drift"),
    "apply one file (ms)": m("apply"),
    "apply one file --fail-on-drift (ms)": m("applyFailOnDrift"),
    "added by the check (ms)": m("applyFailOnDrift") - m("apply"),
    "apply one file, drift carried (ms)": m("applyDrifted"),
    ...(BEFORE_CLI ? { "apply one file, --before build (ms)": m("applyBefore"), "added by the read before (ms)": m("apply") - m("applyBefore") } : {}),
  };
}

try {
  const synthetic = await writeSyntheticSet(describeSyntheticSet(500), path.join(TMP, "drift-synthetic"), { dbmate: false });
  const rows = [await measure("seed", path.join(ROOT, "sql/migrations")), await measure("500", synthetic.prismaDir)];
  console.table(rows);
} finally {
  await server.stop();
}
