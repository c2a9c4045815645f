/**
 * npm run bench [-- --quick]: zero downtime under load (safe set vs its naive twin), apply speed
 * against psql and dbmate, and scaling. Writes bench/results/latest.json and latency.svg.
 */
import { mkdir, rm, writeFile } from "node:fs/promises";
import { cpus } from "node:os";
import path from "node:path";
import { parseArgs } from "node:util";
import { parseDuration } from "../migrator/durations.js";
import { ensureBundles } from "../scripts/bundle.mjs";
import { exitWith } from "../bin/exit.js";
import { loadV1Database, shapeFor } from "./data.js";
import { measureDrift } from "./drift.js";
import { run } from "./proc.js";
import { chartInput, formatSummary, overheadOf, perFileOf, targetsOf, type BenchReport } from "./report.js";
import { measurePulumiUp, pulumiUpUnavailable } from "./pulumi-up.js";
import { measureLint, measurePlan, measurePulumi } from "./scaling.js";
import { ROOT, startBenchServer, TMP, type BenchServer } from "./server.js";
import { describeSyntheticSet, writeNaiveSet, writeSyntheticSet } from "./sets.js";
import { DBMATE, measureSpeed, PSQL, TOOLS, type Tool } from "./speed.js";
import { round } from "./stats.js";
import { latencySvg } from "./svg.js";
import { measureStartup } from "./startup.js";
import { runVariant } from "./zero-downtime.js";

const HELP = `Usage: npm run bench [-- options]

Runs the benchmarks below on a dedicated embedded PostgreSQL 17 and writes
bench/results/latest.json and bench/results/latency.svg:

  zero downtime  the v1.0 database with generated data under a fixed-rate application load;
                 sql/migrations applied by the migrator CLI (--baseline 0), then, on a fresh
                 copy with the same load, a naive variant generated from it (plain CREATE INDEX
                 in transactions, foreign keys validated when added)
  speed          a synthetic set of small files applied by the migrator, by psql (one process per
                 file, -1 for transactional files) and by dbmate; then the start-up of
                 npm run migrate -- --help beside node alone and npm starting node
  scaling        per-file cost at 10, 100 and 1000 files; parse-and-plan time up to 10,000 files;
                 Pulumi program construction under mocks with 20, 200 and 1000 files
  drift          migrate drift, drift --replay and rehearse with one new file pending, beside
                 apply of it with and without --fail-on-drift, on the seed set and 500 files
  pulumi-up      the local stack under the real Pulumi engine (bash scripts/build-pulumi.sh):
                 pulumi up of 20 and 100 new files on a fresh database, an up with nothing to
                 change, and one new file, each beside migrate apply of the same files, and
                 beside the engine's floor (empty programs, with and without tsx)

Options:
  --quick               200k members, 3 speed rounds (under 10 minutes on 2 cores)
                        (default: full: 2M members, 5 speed rounds)
  --members N           members in the v1.0 database (related rows in proportion)
  --rate N              application operations per second (default 100 quick, 200 full)
  --connections N       application connections (default 16)
  --lock-timeout DUR    the migrator's lock_timeout in the zero-downtime runs (default 2s)
  --files N             files in the speed set (default 500)
  --rounds N            rounds of the 500-file speed measurement (the median is reported;
                        psql, ten times slower, runs in the first round only)
  --only LIST           run only some of: zero-downtime,speed,scaling,drift,pulumi-up (comma-separated)
  --baseline REF        pulumi-up: also run the program of git ref REF (e.g. main), interleaved
                        with the current one against the same floors: a before/after in one run
  --out DIR             where latest.json and latency.svg go (default bench/results)
  -h, --help            this text

Figures are ratios measured side by side in one run; compare them, not absolute seconds
across machines. Scratch files go to bench/results/tmp (git-ignored).
`;

const SECTIONS = ["zero-downtime", "speed", "scaling", "drift", "pulumi-up"] as const;
type Section = (typeof SECTIONS)[number];

interface Settings {
  mode: BenchReport["mode"];
  custom: boolean;
  members: number;
  rate: number;
  connections: number;
  lockTimeoutMs: number;
  files: number;
  rounds: number;
  scalingRounds: number;
  settleMs: number;
  sections: Set<Section>;
  out: string;
  /** A git ref whose program pulumi-up measures beside the current one. */
  baseline?: string;
}

function count(text: string | undefined, flag: string, fallback: number): number {
  if (text === undefined) return fallback;
  if (!/^\d+$/.test(text) || Number(text) < 1) throw new Error(`${flag} "${text}" is not a positive whole number`);
  return Number(text);
}

function settingsFrom(argv: string[]): Settings | undefined {
  const { values } = parseArgs({
    args: argv,
    options: {
      quick: { type: "boolean" },
      members: { type: "string" },
      rate: { type: "string" },
      connections: { type: "string" },
      "lock-timeout": { type: "string" },
      files: { type: "string" },
      rounds: { type: "string" },
      only: { type: "string" },
      baseline: { type: "string" },
      out: { type: "string" },
      help: { type: "boolean", short: "h" },
    },
    strict: true,
  });
  if (values.help) return undefined;
  const quick = values.quick ?? false;
  const sections = new Set<Section>();
  for (const s of (values.only ?? SECTIONS.join(",")).split(",")) {
    if (!(SECTIONS as readonly string[]).includes(s)) throw new Error(`--only: "${s}" is not one of ${SECTIONS.join(", ")}`);
    sections.add(s as Section);
  }
  // Changed sizes keep the mode's other choices (rounds at 1,000 files, plan sizes) but are flagged.
  const custom = ["members", "rate", "files", "rounds", "only", "connections", "lock-timeout", "baseline"].some((k) => values[k as keyof typeof values] !== undefined);
  return {
    mode: quick ? "quick" : "full",
    custom,
    members: count(values.members, "--members", quick ? 200_000 : 2_000_000),
    rate: count(values.rate, "--rate", quick ? 100 : 200),
    connections: count(values.connections, "--connections", 16),
    lockTimeoutMs: values["lock-timeout"] ? parseDuration(values["lock-timeout"], "--lock-timeout") : 2_000,
    files: count(values.files, "--files", 500),
    rounds: count(values.rounds, "--rounds", quick ? 3 : 5),
    scalingRounds: 3,
    settleMs: quick ? 3_000 : 5_000,
    sections,
    out: path.resolve(values.out ?? path.join(ROOT, "bench", "results")),
    ...(values.baseline !== undefined ? { baseline: values.baseline } : {}),
  };
}

const began = performance.now();
const log = (text: string) => process.stderr.write(`bench [${((performance.now() - began) / 1000).toFixed(0).padStart(3)} s]: ${text}\n`);

async function versions(server: BenchServer): Promise<BenchReport["machine"]> {
  const postgres = await server.query(async (c) => (await c.query<{ server_version: string }>(`SHOW server_version`)).rows[0]!.server_version);
  const psql = (await run(PSQL, ["--version"])).stdout.trim();
  const dbmate = (await run(DBMATE, ["--version"])).stdout.trim();
  return { cpus: cpus().length, node: process.version, postgres, psql, dbmate };
}

async function zeroDowntime(server: BenchServer, s: Settings): Promise<NonNullable<BenchReport["zeroDowntime"]>> {
  const safeDir = path.join(ROOT, "sql", "migrations");
  const naiveDir = path.join(TMP, "naive-set");
  const naiveRewrite = await writeNaiveSet(safeDir, naiveDir);
  const shape = shapeFor(s.members);
  log(`loading the v1.0 database: ${s.members} members and related rows`);
  const loadMs = await loadV1Database(server, "v1_template", safeDir, shape);
  log(`loaded in ${(loadMs / 1000).toFixed(1)} s`);
  const common = {
    server,
    template: "v1_template",
    members: s.members,
    opsPerSecond: s.rate,
    connections: s.connections,
    lockTimeoutMs: s.lockTimeoutMs,
    settleMs: s.settleMs,
  };
  log("safe: applying sql/migrations under load");
  const safe = await runVariant({ ...common, variant: "safe", setDir: safeDir, verify: true });
  log(`safe: max write ${safe.summary.maxWriteLatencyMs} ms, ${safe.summary.failedWrites} failed`);
  log("naive: applying the naive variant under the same load, on a fresh copy");
  const naive = await runVariant({ ...common, variant: "naive", setDir: naiveDir, verify: false });
  log(`naive: max write ${naive.summary.maxWriteLatencyMs} ms, ${naive.summary.failedWrites} failed`);
  await server.query((c) => c.query(`DROP DATABASE IF EXISTS zd_safe WITH (FORCE)`).then(() => c.query(`DROP DATABASE IF EXISTS zd_naive WITH (FORCE)`)));

  const picture = "latency.svg";
  const { summary: safeSummary, ...safeTimeline } = safe;
  const { summary: naiveSummary, ...naiveTimeline } = naive;
  const result: NonNullable<BenchReport["zeroDowntime"]> = {
    data: { ...shape },
    loadSeconds: round(loadMs / 1000, 1),
    opsPerSecond: s.rate,
    connections: s.connections,
    lockTimeoutMs: s.lockTimeoutMs,
    naiveRewrite: { ...naiveRewrite },
    safe: safeSummary,
    naive: naiveSummary,
    picture,
    timeline: { safe: safeTimeline, naive: naiveTimeline },
  };
  await writeFile(path.join(s.out, picture), latencySvg(chartInput(result)));
  return result;
}

async function main(): Promise<number> {
  let settings: Settings | undefined;
  try {
    settings = settingsFrom(process.argv.slice(2));
  } catch (error) {
    process.stderr.write(`bench: ${(error as Error).message}; see --help\n`);
    return 2;
  }
  if (!settings) {
    process.stdout.write(HELP);
    return 0;
  }
  const s = settings;
  // The migrator runs as users run it: node on dist/migrate.js, built from the current sources.
  await ensureBundles();
  await mkdir(s.out, { recursive: true });
  await mkdir(TMP, { recursive: true });
  const startedAt = new Date();
  const server = await startBenchServer();
  let report: BenchReport;
  try {
    report = {
      mode: s.mode,
      custom: s.custom,
      startedAt: startedAt.toISOString(),
      finishedAt: "",
      command: `npm run bench${process.argv.length > 2 ? ` -- ${process.argv.slice(2).join(" ")}` : ""}`,
      machine: await versions(server),
      targets: [],
    };
    if (s.sections.has("zero-downtime")) report.zeroDowntime = await zeroDowntime(server, s);
    if (s.sections.has("speed")) {
      log(`speed: ${s.files} files, ${s.rounds} round(s) of migrator, psql and dbmate`);
      const set = await writeSyntheticSet(describeSyntheticSet(s.files), path.join(TMP, `speed-${s.files}`));
      report.overhead = overheadOf(await measureSpeed(server, set, s.rounds));
      log("speed: start-up of npm run migrate -- --help");
      report.startup = await measureStartup(s.mode === "full" ? 21 : 11);
    }
    if (s.sections.has("scaling")) {
      const perFile = [];
      for (const files of [10, 100, 1000]) {
        // Quick mode keeps its time budget at 1,000 files: one round, and no psql (a process and a
        // login per file, so its per-file cost is flat and already shown at 10, 100 and 500).
        const big = s.mode !== "full" && files === 1000;
        const tools: Tool[] = big ? ["migrator", "dbmate"] : TOOLS;
        log(`scaling: ${files} files with ${tools.join(", ")}`);
        const set = await writeSyntheticSet(describeSyntheticSet(files), path.join(TMP, `scaling-${files}`));
        perFile.push(perFileOf(await measureSpeed(server, set, big ? 1 : s.scalingRounds, tools)));
      }
      log("scaling: parse and plan up to 10,000 files");
      const plan = await measurePlan(s.mode === "full" ? [1000, 2500, 5000, 10000] : [1000, 10000]);
      log("scaling: lint of every file against lint of the one pending file");
      const lint = await measureLint([500, 10000]);
      log("scaling: Pulumi program construction under mocks");
      const pulumi = await measurePulumi([20, 200, 1000]);
      report.scaling = { perFile, plan, lint, pulumi };
    }
    if (s.sections.has("drift")) report.drift = await measureDrift(server, s.rounds, log);
    if (s.sections.has("pulumi-up")) {
      const unavailable = pulumiUpUnavailable();
      if (unavailable) {
        log(`pulumi up: not run: ${unavailable}`);
        report.pulumiUp = { notRun: unavailable };
      } else {
        report.pulumiUp = { points: await measurePulumiUp(server, [20, 100], log, s.baseline) };
      }
    }
  } finally {
    await server.stop();
  }
  report.finishedAt = new Date().toISOString();
  report.targets = targetsOf(report);
  await writeFile(path.join(s.out, "latest.json"), JSON.stringify(report, null, 2) + "\n");
  await rm(path.join(TMP, `speed-${s.files}`), { recursive: true, force: true });
  process.stdout.write(
    formatSummary(report) + `\n\nWrote ${path.relative(process.cwd(), path.join(s.out, "latest.json"))} in ${((Date.now() - startedAt.getTime()) / 1000).toFixed(0)} s\n`,
  );
  // Correctness failures fail the run; speed and latency targets are reported, because this machine is shared and noisy.
  const broken = report.targets.filter((t) => !t.met && /succeeded|failed writes/.test(t.name));
  return broken.length > 0 ? 1 : 0;
}

await exitWith(await main());
