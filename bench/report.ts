/** The bench's JSON document and its printed summary. */
import { formatDriftPoints, type DriftPoint } from "./drift.js";
import type { PulumiUpPoint } from "./pulumi-up.js";
import type { LintPoint, PlanPoint, PulumiPoint } from "./scaling.js";
import type { ChartInput } from "./svg.js";
import type { SpeedResult, Tool } from "./speed.js";
import type { StartupResult } from "./startup.js";
import { round } from "./stats.js";
import type { VariantResult, VariantSummary } from "./zero-downtime.js";

export interface Target {
  name: string;
  met: boolean;
  detail: string;
}

export interface BenchReport {
  mode: "quick" | "full";
  /** Sizes or rates other than the mode's defaults were given. */
  custom: boolean;
  startedAt: string;
  finishedAt: string;
  command: string;
  machine: { cpus: number; node: string; postgres: string; psql: string; dbmate: string };
  zeroDowntime?: {
    data: Record<string, number>;
    loadSeconds: number;
    opsPerSecond: number;
    connections: number;
    lockTimeoutMs: number;
    naiveRewrite: Record<string, number>;
    safe: VariantSummary;
    naive: VariantSummary;
    picture: string;
    timeline: { safe: Omit<VariantResult, "summary">; naive: Omit<VariantResult, "summary"> };
  };
  overhead?: {
    files: number;
    migratorSeconds: number;
    psqlSeconds: number;
    dbmateSeconds: number;
    /** migrator / psql wall-clock: below 1 means the migrator is faster. */
    migratorVsPsql: number;
    /** migrator / dbmate wall-clock, the median of the ratios of back-to-back runs: the target is at most 1.0. */
    migratorVsDbmate: number;
    rounds: number;
    samples: Record<Tool, number[]>;
  };
  scaling?: {
    /** ms per file, whole process included; psql null where it was not run (quick mode at 1,000 files). */
    perFile: { files: number; migratorMsPerFile: number | null; psqlMsPerFile: number | null; dbmateMsPerFile: number | null }[];
    plan: { points: PlanPoint[]; linearity: number };
    /** squawk over the whole set and over the one file a change adds; absent in reports from before lint gated pending files. */
    lint?: LintPoint[];
    pulumi: PulumiPoint[];
  };
  /** `npm run migrate -- --help` beside bare node, the bundle started directly, and npm starting node. */
  startup?: StartupResult;
  /** `pulumi up` under the real engine beside `migrate apply`; a reason instead where the tools are not built. */
  pulumiUp?: { points: PulumiUpPoint[] } | { notRun: string };
  /** `migrate drift`, `drift --replay` and `rehearse` beside `apply` of one new file (bench/drift.ts). */
  drift?: DriftPoint[];
  targets: Target[];
}

export function overheadOf(speed: SpeedResult): NonNullable<BenchReport["overhead"]> {
  const s = speed.seconds as Record<Tool, number>;
  return {
    files: speed.files,
    migratorSeconds: s.migrator,
    psqlSeconds: s.psql,
    dbmateSeconds: s.dbmate,
    migratorVsPsql: round(s.migrator / s.psql, 3),
    migratorVsDbmate: speed.pairedMigratorVsDbmate,
    rounds: speed.rounds,
    samples: speed.samples,
  };
}

export function perFileOf(speed: SpeedResult): NonNullable<BenchReport["scaling"]>["perFile"][number] {
  const per = (t: Tool) => {
    const seconds = speed.seconds[t];
    return seconds === null ? null : round((seconds * 1000) / speed.files, 2);
  };
  return { files: speed.files, migratorMsPerFile: per("migrator"), psqlMsPerFile: per("psql"), dbmateMsPerFile: per("dbmate") };
}

export function targetsOf(report: BenchReport): Target[] {
  const targets: Target[] = [];
  const zd = report.zeroDowntime;
  if (zd) {
    targets.push({
      name: "safe: migrator succeeded and every verification check passed",
      met: zd.safe.migratorExitCode === 0 && zd.safe.verified === true,
      detail: `exit ${zd.safe.migratorExitCode}, verified ${zd.safe.verified}`,
    });
    targets.push({ name: "safe: zero failed writes", met: zd.safe.failedWrites === 0, detail: `${zd.safe.failedWrites} of ${zd.safe.writes}` });
    targets.push({
      name: "safe: max write latency within lock_timeout",
      met: zd.safe.maxWriteLatencyMs <= zd.lockTimeoutMs,
      detail: `${zd.safe.maxWriteLatencyMs} ms vs ${zd.lockTimeoutMs} ms`,
    });
    targets.push({
      // Writes over 100 ms are 0 for both at the quick size, where comparing them says nothing; they stay in the detail.
      name: "naive holds writes up more than safe (p99 and slowest write)",
      met: zd.naive.p99WriteLatencyMs > zd.safe.p99WriteLatencyMs && zd.naive.maxWriteLatencyMs > zd.safe.maxWriteLatencyMs,
      detail:
        `naive p99 ${zd.naive.p99WriteLatencyMs} ms, ${zd.naive.writesOver100Ms} writes over 100 ms, max ${zd.naive.maxWriteLatencyMs} ms; ` +
        `safe p99 ${zd.safe.p99WriteLatencyMs} ms, ${zd.safe.writesOver100Ms} over 100 ms, max ${zd.safe.maxWriteLatencyMs} ms`,
    });
  }
  const o = report.overhead;
  if (o) {
    targets.push({ name: "migrator faster than psql per file", met: o.migratorVsPsql < 1, detail: `${o.migratorVsPsql}x psql's time` });
    targets.push({ name: "migrator within 1.0x of dbmate", met: o.migratorVsDbmate <= 1.0, detail: `${o.migratorVsDbmate}x dbmate's time` });
  }
  const st = report.startup;
  if (st) {
    targets.push({
      name: "npm run migrate -- --help under 200 ms",
      met: st.npmHelpMs < 200,
      detail: `${st.npmHelpMs} ms; node dist/migrate.js --help ${st.bundleHelpMs} ms, node -e 0 ${st.nodeMs} ms, npm run of node -e 0 ${st.npmNodeMs} ms`,
    });
  }
  const sc = report.scaling;
  if (sc) {
    targets.push({
      name: "plan cost linear in the set's size",
      met: sc.plan.linearity <= 1.5,
      detail: `per-file cost at ${sc.plan.points.at(-1)!.files} files is ${sc.plan.linearity}x that at ${sc.plan.points[0]!.files}`,
    });
  }
  const up = report.pulumiUp;
  if (up && "points" in up) {
    for (const p of up.points) {
      if (p.files === 100) {
        targets.push({
          name: "pulumi up of 100 new files within 10 s plus an empty up",
          met: p.upAll <= 10 + p.upNothing,
          detail: `${p.upAll} s; an up with nothing to change ${p.upNothing} s; migrate apply of the same files ${p.applyAll} s`,
        });
      }
      targets.push({
        name: `a one-file pulumi up under 10 s (on ${p.files} applied files)`,
        met: p.upOne < 10,
        detail: `${p.upOne} s; migrate apply of it ${p.applyOne} s`,
      });
      if (p.floor !== undefined) {
        targets.push({
          name: `pulumi up with nothing to change at most 1.25x the engine's floor (${p.files} files)`,
          met: p.nothingToFloor! <= 1.25,
          detail: `${p.upNothing} s against ${p.floor} s for an empty program: ${p.nothingToFloor}x`,
        });
        targets.push({
          name: `pulumi up of one new file at most 1.6x the engine's floor (${p.files} files)`,
          met: p.oneToFloor! <= 1.6,
          detail: `${p.upOne} s against ${p.floor} s: ${p.oneToFloor}x`,
        });
      }
    }
  }
  return targets;
}

const pad = (s: string | number, n: number) => String(s).padStart(n);

export function formatSummary(report: BenchReport): string {
  const lines: string[] = [`Benchmarks (${report.mode}${report.custom ? ", custom sizes" : ""}), ${report.machine.cpus} CPUs, PostgreSQL ${report.machine.postgres}`];
  const zd = report.zeroDowntime;
  if (zd) {
    lines.push("", `Zero downtime: ${zd.data.members} members, ${zd.opsPerSecond} ops/s from ${zd.connections} connections, lock_timeout ${zd.lockTimeoutMs} ms`);
    lines.push(`           max write ms  p99 write ms  writes >100 ms  failed writes  apply s   worst step`);
    for (const [name, s] of [
      ["safe", zd.safe],
      ["naive", zd.naive],
    ] as const) {
      lines.push(
        `  ${name.padEnd(7)} ${pad(s.maxWriteLatencyMs, 12)} ${pad(s.p99WriteLatencyMs, 13)} ${pad(s.writesOver100Ms, 15)} ${pad(`${s.failedWrites}/${s.writes}`, 14)} ${pad(s.applySeconds, 8)}   ${s.worstStep ?? "-"}`,
      );
    }
    lines.push(`  picture: ${zd.picture}`);
  }
  const o = report.overhead;
  if (o) {
    lines.push("", `Apply speed, ${o.files} files (median of ${o.rounds}): migrator ${o.migratorSeconds} s, psql ${o.psqlSeconds} s, dbmate ${o.dbmateSeconds} s`);
    lines.push(`  migrator/psql ${o.migratorVsPsql}x, migrator/dbmate ${o.migratorVsDbmate}x (median of back-to-back ratios)`);
  }
  const st = report.startup;
  if (st) {
    lines.push("", `Start-up (median of ${st.runs}): npm run migrate -- --help ${st.npmHelpMs} ms; node dist/migrate.js --help ${st.bundleHelpMs} ms,`);
    lines.push(`  node -e 0 ${st.nodeMs} ms, npm run of a script that is node -e 0 ${st.npmNodeMs} ms`);
  }
  const sc = report.scaling;
  if (sc) {
    lines.push("", "Per-file cost (ms):   files   migrator   psql   dbmate");
    for (const p of sc.perFile)
      lines.push(`  ${pad(p.files, 24)} ${pad(p.migratorMsPerFile ?? "-", 10)} ${pad(p.psqlMsPerFile ?? "-", 6)} ${pad(p.dbmateMsPerFile ?? "-", 8)}`);
    lines.push(`Plan (parse only): ${sc.plan.points.map((p) => `${p.files} files ${p.ms} ms`).join(", ")}; linearity ${sc.plan.linearity}`);
    if (sc.lint) lines.push(`Lint, every file / the one pending file: ${sc.lint.map((p) => `${p.files} files ${p.allMs} / ${p.pendingMs} ms`).join(", ")}`);
    lines.push(`Pulumi construction under mocks: ${sc.pulumi.map((p) => `${p.files} files ${p.ms} ms`).join(", ")}`);
  }
  if (report.drift) lines.push("", ...formatDriftPoints(report.drift));
  const up = report.pulumiUp;
  if (up && "notRun" in up) lines.push("", `pulumi up: not run: ${up.notRun}`);
  if (up && "points" in up) {
    lines.push(
      "",
      "pulumi up under the real engine (s):  files   up, fresh   migrate apply   up, no change   up, one new file   migrate apply, one   floor   no change / floor   one file / floor",
    );
    for (const p of up.points)
      lines.push(
        `  ${pad(p.files, 36)} ${pad(p.upAll, 11)} ${pad(p.applyAll, 15)} ${pad(p.upNothing, 15)} ${pad(p.upOne, 18)} ${pad(p.applyOne, 18)} ${pad(p.floor ?? "-", 7)} ${pad(p.nothingToFloor ?? "-", 19)} ${pad(p.oneToFloor ?? "-", 18)}`,
      );
    if (up.points.some((p) => p.floorJs !== undefined)) {
      lines.push("Against the floor without tsx (bench/floor-js):  files   floor   no change / floor   one file / floor");
      for (const p of up.points) lines.push(`  ${pad(p.files, 47)} ${pad(p.floorJs ?? "-", 7)} ${pad(p.nothingToFloorJs ?? "-", 19)} ${pad(p.oneToFloorJs ?? "-", 18)}`);
    }
    for (const p of up.points.filter((q) => q.baseline)) {
      const b = p.baseline!;
      lines.push(
        `Baseline ${b.ref}, ${p.files} files, interleaved: no change ${b.upNothing} s (${b.nothingToFloor}x the floor) against ${p.upNothing} s (${p.nothingToFloor}x) now, ` +
          `now/baseline ${b.nowToBaselineNothing}; one new file ${b.upOne} s (${b.oneToFloor}x) against ${p.upOne} s (${p.oneToFloor}x), now/baseline ${b.nowToBaselineOne}`,
      );
    }
  }
  lines.push("", "Targets:");
  for (const t of report.targets) lines.push(`  ${t.met ? "met   " : "MISSED"} ${t.name} (${t.detail})`);
  return lines.join("\n");
}

/** The picture's input, from the report alone: latency.svg can be redrawn from latest.json. */
export function chartInput(zd: NonNullable<BenchReport["zeroDowntime"]>): ChartInput {
  const title = (name: string, v: VariantSummary) =>
    `${name}: max write ${v.maxWriteLatencyMs} ms, p99 ${v.p99WriteLatencyMs} ms, ${v.failedWrites} failed of ${v.writes}, apply ${v.applySeconds} s`;
  return {
    heading: `Write latency while the v2.0 set is applied: ${zd.data.members!.toLocaleString("en")} members, ${zd.opsPerSecond} ops/s`,
    lockTimeoutMs: zd.lockTimeoutMs,
    panels: [
      { title: title("safe (sql/migrations)", zd.safe), ...zd.timeline.safe },
      { title: title("naive (plain CREATE INDEX, foreign keys validated when added)", zd.naive), ...zd.timeline.naive },
    ],
  };
}
