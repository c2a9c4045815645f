/**
 * One zero-downtime run: the application load on a copy of the v1.0 database, the migrator CLI
 * applying a set as a child process meanwhile, and every operation and migration step recorded
 * on one clock.
 */
import { writeFile } from "node:fs/promises";
import path from "node:path";
import { Load, type OpRecord } from "./load.js";
import { run } from "./proc.js";
import type { BenchServer } from "./server.js";
import { ROOT, TMP } from "./server.js";
import { quantile, round } from "./stats.js";

export const TSX = path.join(ROOT, "node_modules", ".bin", "tsx");
/** The migrator as users and the stacks run it: node on the bundle (bench/run.ts builds it first). */
export const NODE = process.execPath;
export const CLI = path.join(ROOT, "dist", "migrate.js");

export interface VariantOptions {
  variant: "safe" | "naive";
  server: BenchServer;
  template: string;
  setDir: string;
  members: number;
  opsPerSecond: number;
  connections: number;
  lockTimeoutMs: number;
  /** Load before the migrator starts and after it ends, so the picture shows the steady state. */
  settleMs: number;
  /** Run the set's verification checks afterwards (only the real set has checks that fit). */
  verify: boolean;
}

/** A migration file's run, in seconds since the load started. */
export interface StepMark {
  folder: string;
  transactional: boolean;
  start: number;
  end: number;
  attempts: number;
}

/** Per 100 ms of the run: the slowest write that was due in it, how many were due, how many failed. */
export type Bucket = [t: number, maxWriteMs: number, writes: number, failedWrites: number];

export interface VariantSummary {
  maxWriteLatencyMs: number;
  p99WriteLatencyMs: number;
  p50WriteLatencyMs: number;
  /** p99 of the writes due before the migrator started: the machine's own noise. */
  steadyP99WriteLatencyMs: number;
  failedWrites: number;
  /** Writes that took over 100 ms from when they were due: how long the application was held up. */
  writesOver100Ms: number;
  writes: number;
  reads: number;
  failedReads: number;
  maxReadLatencyMs: number;
  applySeconds: number;
  migratorExitCode: number | null;
  lockTimeoutRetries: number;
  /** The step running when the slowest write finished: the one that held it up. */
  worstStep: string | null;
  verified?: boolean;
}

export interface VariantResult {
  summary: VariantSummary;
  steps: StepMark[];
  buckets: Bucket[];
  /** Apply window, seconds since the load started. */
  apply: { start: number; end: number };
  durationSeconds: number;
  failures: { t: number; kind: string; error: string }[];
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const BUCKET_MS = 100;

interface ApplyJson {
  results?: { name: string; version: string; transactional: boolean; action: string; durationMs: number; attempts: number }[];
  error?: { message: string };
}

export async function runVariant(o: VariantOptions): Promise<VariantResult> {
  const database = `zd_${o.variant}`;
  await o.server.createDatabase(database, o.template);
  const url = o.server.url(database);
  const load = new Load({ url, opsPerSecond: o.opsPerSecond, connections: o.connections, members: o.members, seed: 7 });
  await load.start();
  const t0 = performance.now();
  const sec = (at: number) => (at - t0) / 1000;
  await sleep(o.settleMs);

  const lines: { line: string; at: number }[] = [];
  const applyStart = performance.now();
  const applied = await run(NODE, [CLI, "apply", "--dir", o.setDir, "--baseline", "0", "--json", "--lock-timeout", `${o.lockTimeoutMs}ms`], {
    env: { ...process.env, DATABASE_URL: url },
    onStderrLine: (line, at) => lines.push({ line, at }),
  });
  const applyEnd = performance.now();
  await sleep(o.settleMs);
  const ops = await load.stop();

  let report: ApplyJson;
  try {
    report = JSON.parse(applied.stdout) as ApplyJson;
  } catch {
    throw new Error(`the migrator (${o.variant}) printed no JSON report; exit ${applied.code}:\n${applied.stderr.slice(-2000)}`);
  }
  if (applied.code !== 0) {
    process.stderr.write(`bench: the ${o.variant} apply exited ${applied.code}: ${report.error?.message ?? applied.stderr.slice(-500)}\n`);
  }

  const steps: StepMark[] = [];
  for (const r of report.results ?? []) {
    if (r.action === "baselined") continue;
    const folder = `${r.version}_${r.name}`;
    const done = lines.find((l) => l.line.includes(folder) && /^\s*applied\b/.test(l.line));
    // Without its progress line (a format change), place the step right after the previous one.
    const end = done ? done.at : (steps.length ? t0 + steps.at(-1)!.end * 1000 : applyStart) + r.durationMs;
    steps.push({ folder, transactional: r.transactional, start: round(sec(end - r.durationMs), 3), end: round(sec(end), 3), attempts: r.attempts });
  }

  let verified: boolean | undefined;
  if (o.verify) {
    const v = await run(NODE, [CLI, "verify", "--json"], { env: { ...process.env, DATABASE_URL: url } });
    verified = v.code === 0;
    if (!verified) process.stderr.write(`bench: verification after the ${o.variant} apply failed:\n${v.stdout.slice(-3000)}\n`);
  }

  await writeFile(
    path.join(TMP, `ops-${o.variant}.csv`),
    "due_s,kind,latency_ms,error\n" +
      ops.map((op) => `${sec(op.dueAt).toFixed(4)},${op.kind},${op.latencyMs.toFixed(2)},${JSON.stringify(op.error ?? "")}`).join("\n") +
      "\n",
  );
  return {
    summary: summarise(ops, steps, sec, sec(applyStart), applied.code, (applyEnd - applyStart) / 1000, verified),
    steps,
    buckets: bucketsOf(ops, t0),
    apply: { start: round(sec(applyStart), 3), end: round(sec(applyEnd), 3) },
    durationSeconds: round(Math.max(...ops.map((op) => sec(op.dueAt + op.latencyMs)), sec(applyEnd)), 3),
    failures: ops
      .filter((op) => op.error)
      .slice(0, 200)
      .map((op) => ({ t: round(sec(op.dueAt), 3), kind: op.kind, error: op.error! })),
  };
}

function summarise(
  ops: OpRecord[],
  steps: StepMark[],
  sec: (at: number) => number,
  applyStart: number,
  code: number | null,
  applySeconds: number,
  verified: boolean | undefined,
): VariantSummary {
  const writes = ops.filter((op) => op.write);
  const reads = ops.filter((op) => !op.write);
  const writeLatencies = writes.map((op) => op.latencyMs);
  const worst = writes.reduce<OpRecord | undefined>((w, op) => (!w || op.latencyMs > w.latencyMs ? op : w), undefined);
  // A blocked write finishes when the step that held it up lets go: blame the step running then.
  const worstDone = worst ? sec(worst.dueAt + worst.latencyMs) : NaN;
  const worstStep = steps.find((s) => worstDone >= s.start && worstDone <= s.end + 0.05)?.folder ?? null;
  const steady = writes.filter((op) => sec(op.dueAt) < applyStart).map((op) => op.latencyMs);
  return {
    maxWriteLatencyMs: round(Math.max(0, ...writeLatencies), 1),
    p99WriteLatencyMs: round(quantile(writeLatencies, 0.99), 1),
    p50WriteLatencyMs: round(quantile(writeLatencies, 0.5), 2),
    steadyP99WriteLatencyMs: round(quantile(steady, 0.99), 1),
    failedWrites: writes.filter((op) => op.error).length,
    writesOver100Ms: writes.filter((op) => op.latencyMs > 100).length,
    writes: writes.length,
    reads: reads.length,
    failedReads: reads.filter((op) => op.error).length,
    maxReadLatencyMs: round(Math.max(0, ...reads.map((op) => op.latencyMs)), 1),
    applySeconds: round(applySeconds, 2),
    migratorExitCode: code,
    lockTimeoutRetries: steps.reduce((n, s) => n + s.attempts - 1, 0),
    worstStep,
    ...(verified === undefined ? {} : { verified }),
  };
}

function bucketsOf(ops: OpRecord[], t0: number): Bucket[] {
  const buckets = new Map<number, Bucket>();
  for (const op of ops) {
    if (!op.write) continue;
    const i = Math.floor((op.dueAt - t0) / BUCKET_MS);
    const b = buckets.get(i) ?? [round((i * BUCKET_MS) / 1000, 1), 0, 0, 0];
    b[1] = Math.max(b[1], round(op.latencyMs, 1));
    b[2]++;
    if (op.error) b[3]++;
    buckets.set(i, b);
  }
  return [...buckets.entries()].sort((a, b) => a[0] - b[0]).map(([, b]) => b);
}
