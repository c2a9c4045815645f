/**
 * `pulumi up` under the real engine (the tools scripts/build-pulumi.sh builds) beside the migrator
 * applying the same files: the local stack, on a fresh database, with 20 and 100 synthetic files,
 * then an `up` with nothing to change, then one new file. Each stack gets its own database and its
 * own role names, so the measurements do not see each other. Beside them, in the same run, the
 * engine's floor: `up` of an empty TypeScript program loaded through tsx (bench/floor, the floor
 * issue 23 names), and of the same program as plain JavaScript (bench/floor-js, loaded as the
 * project's program now is), so what the stack costs above the engine reads as a ratio that the
 * machine's load moves little. With a baseline (a git ref), that commit's program runs beside the
 * current one, interleaved, on its own database: a before/after measured in one run.
 */
import { execFileSync } from "node:child_process";
import { cp, mkdir, rm, symlink, writeFile } from "node:fs/promises";
import path from "node:path";
import { engineProject, missingTools, type EngineProject } from "../test/engine/support.js";
import { runOk } from "./proc.js";
import type { BenchServer } from "./server.js";
import { ROOT, TMP } from "./server.js";
import { describeSyntheticSet, writeSyntheticSet } from "./sets.js";
import { median, round } from "./stats.js";
import { CLI, NODE } from "./zero-downtime.js";

export interface PulumiUpPoint {
  files: number;
  /** `pulumi up` of every file on a fresh database, seconds. */
  upAll: number;
  /** `migrate apply` of the same files on another fresh database, seconds. */
  applyAll: number;
  /** `pulumi up` right after, with nothing to change: what any up costs. */
  upNothing: number;
  /** `pulumi up` after one more file (median of three, each with its own new file). */
  upOne: number;
  /** `migrate apply` of each of those files on the other database (median). */
  applyOne: number;
  /** The floor (`up` of the empty program, median of the runs beside this size's), seconds; absent in reports from before it was measured. */
  floor?: number;
  /** upNothing / floor and upOne / floor: the median of each round's ratio to the floor measured in that round. */
  nothingToFloor?: number;
  oneToFloor?: number;
  /** The floor without tsx (bench/floor-js), median beside the same runs, and upNothing / upOne against it. */
  floorJs?: number;
  nothingToFloorJs?: number;
  oneToFloorJs?: number;
  /** The baseline's program (`--baseline REF`), measured interleaved with this one against the same floors; nowTo… are this program's seconds over the baseline's, round by round. */
  baseline?: { ref: string; upNothing: number; upOne: number; nothingToFloor: number; oneToFloor: number; nowToBaselineNothing: number; nowToBaselineOne: number };
}

/** One interleaved round: the floors, this program's `up` and the baseline's (seconds). */
interface Round {
  floor: number;
  floorJs: number;
  up: number;
  base?: number;
}

/** The project files a program needs (test/engine/support.ts copies the same from the checkout). */
const PROGRAM_ENTRIES = ["Pulumi.yaml", "Pulumi.local.yaml", "package.json", "tsconfig.json", "audit", "bin", "infra", "migrator", "review", "scripts", "stacks"];

/** An empty program's `up` (bench/floor or bench/floor-js), in a copy beside the project (its stack file must not land in the checkout). */
async function floorProject(project: EngineProject, folder: "floor" | "floor-js"): Promise<{ up: () => Promise<number> }> {
  const dir = path.join(path.dirname(project.dir), folder);
  await cp(path.join(ROOT, "bench", folder), dir, { recursive: true });
  await symlink(path.join(ROOT, "node_modules"), path.join(dir, "node_modules"), "dir");
  await project.pulumiOk(["stack", "init", folder, "--secrets-provider", "passphrase"], { cwd: dir });
  const up = async () => {
    const t = performance.now();
    await project.pulumiOk(["up", "--yes", "--skip-preview", "--stack", folder], { cwd: dir, timeoutMs: 300_000 });
    return (performance.now() - t) / 1000;
  };
  await up(); // creates the stack resource; the floor is an up with nothing to change, as upNothing is
  return { up };
}

/** Why the section cannot run here, or undefined when every tool is built. */
export function pulumiUpUnavailable(): string | undefined {
  const missing = missingTools();
  return missing.length > 0 ? `the Pulumi tools are not built (bash scripts/build-pulumi.sh): ${missing.join("; ")}` : undefined;
}

/** The new files of the one-file ups, one per round, after every synthetic one. */
const oneMore = (i: number) => `9999999999999${i}_one_more_${i}`;

/** The program files of a git ref, in a folder of their own beside the project copy, sharing its sql/ (a link) and node_modules. */
async function baselineProject(project: EngineProject, ref: string): Promise<string> {
  const dir = path.join(path.dirname(project.dir), "baseline");
  await mkdir(dir);
  const archive = execFileSync("git", ["-C", ROOT, "archive", "--format=tar", ref, ...PROGRAM_ENTRIES], { maxBuffer: 256 * 1024 * 1024 });
  execFileSync("tar", ["-x", "-C", dir], { input: archive });
  await symlink(path.join(project.dir, "sql"), path.join(dir, "sql"), "dir");
  await symlink(path.join(ROOT, "node_modules"), path.join(dir, "node_modules"), "dir");
  return dir;
}

async function stackFor(server: BenchServer, project: EngineProject, name: string, database: string, cwd = project.dir): Promise<void> {
  const url = new URL(server.url(database));
  await project.pulumiOk(["stack", "init", name, "--secrets-provider", "passphrase"], { cwd });
  const set = (key: string, value: string, secret = false) =>
    project.pulumiOk(["config", "set", ...(secret ? ["--secret"] : []), "--stack", name, `pg-migrations:${key}`, "--", value], { cwd });
  await set("environment", "local");
  await set("localHost", url.hostname);
  await set("localPort", url.port);
  await set("localDatabase", database);
  await set("localUser", decodeURIComponent(url.username));
  await set("localPassword", decodeURIComponent(url.password), true);
  await set("sslMode", "disable");
  await set("migratorPassword", `bench-${name}-migrator-password`, true);
  // Roles are per server, not per database: each stack gets its own.
  await set("migratorRole", `${name.replace(/-/g, "_")}_migrator`);
  await set("appRole", `${name.replace(/-/g, "_")}_app`);
  await set("auditorRole", `${name.replace(/-/g, "_")}_auditor`);
  // The seed set's append-only ledger table is not in the synthetic set.
  await set("immutableTables", "[]");
}

async function timedUp(project: EngineProject, stack: string, cwd = project.dir): Promise<number> {
  const t = performance.now();
  await project.pulumiOk(["up", "--yes", "--skip-preview", "--stack", stack], { cwd, timeoutMs: 900_000 });
  return (performance.now() - t) / 1000;
}

async function timedApply(server: BenchServer, database: string, dir: string): Promise<number> {
  return (await runOk(NODE, [CLI, "apply", "--dir", dir, "--quiet"], { env: { ...process.env, DATABASE_URL: server.url(database) } })).ms / 1000;
}

export async function measurePulumiUp(server: BenchServer, sizes: number[], log: (line: string) => void, baselineRef?: string): Promise<PulumiUpPoint[]> {
  const project = await engineProject();
  const points: PulumiUpPoint[] = [];
  try {
    // One trivial check: the synthetic tables are not the seed set's, whose checks would fail.
    const verifyDir = path.join(project.dir, "sql", "verify");
    await rm(verifyDir, { recursive: true, force: true });
    await mkdir(verifyDir);
    await writeFile(
      path.join(verifyDir, "01_ledger_present.sql"),
      "SELECT 'ledger_present' AS check, to_regclass('migrator.applied_migrations') IS NOT NULL AS ok, 'bench' AS detail;\n",
    );
    const floor = await floorProject(project, "floor");
    const floorJs = await floorProject(project, "floor-js");
    const baseline = baselineRef === undefined ? undefined : await baselineProject(project, baselineRef);
    for (const files of sizes) {
      const set = await writeSyntheticSet(describeSyntheticSet(files), path.join(TMP, `pulumi-up-${files}`), { dbmate: false });
      const migrations = path.join(project.dir, "sql", "migrations");
      await rm(migrations, { recursive: true, force: true });
      await cp(set.prismaDir, migrations, { recursive: true });

      const stack = `bench-${files}`;
      const baseStack = `base-${files}`;
      await server.createDatabase(`up_${files}`);
      await server.createDatabase(`apply_${files}`);
      await stackFor(server, project, stack, `up_${files}`);
      if (baseline) {
        await server.createDatabase(`base_${files}`);
        await stackFor(server, project, baseStack, `base_${files}`, baseline);
      }
      log(`pulumi up: ${files} files on a fresh database${baseline ? ` (and with ${baselineRef}'s program on another)` : ""}`);
      const upAll = await timedUp(project, stack);
      if (baseline) await timedUp(project, baseStack, baseline);
      const applyAll = await timedApply(server, `apply_${files}`, migrations);
      log(`pulumi up: nothing to change, then one new file (3 times each, beside both floors${baseline ? " and the baseline" : ""})`);
      // Interleaved, so that all see the same load. Each round pairs every program with the floors
      // measured in it, and a ratio is the median of the rounds' ratios: a load that changes from
      // one round to the next moves the seconds, much less the ratios.
      const nothing: Round[] = [];
      for (let i = 0; i < 3; i++) {
        const floorS = await floor.up();
        const floorJsS = await floorJs.up();
        // The two programs take turns going first, so neither always runs right after a floor.
        const baseFirst = baseline && i % 2 === 0 ? await timedUp(project, baseStack, baseline) : undefined;
        const up = await timedUp(project, stack);
        const baseAfter = baseline && i % 2 === 1 ? await timedUp(project, baseStack, baseline) : undefined;
        nothing.push({ floor: floorS, floorJs: floorJsS, up, base: baseFirst ?? baseAfter });
      }
      const one: Round[] = [];
      const applies: number[] = [];
      for (let i = 0; i < 3; i++) {
        await mkdir(path.join(migrations, oneMore(i)));
        await writeFile(path.join(migrations, oneMore(i), "migration.sql"), `CREATE TABLE one_more_${i} (id bigint PRIMARY KEY);\n`);
        const baseFirst = baseline && i % 2 === 0 ? await timedUp(project, baseStack, baseline) : undefined;
        const up = await timedUp(project, stack);
        const baseAfter = baseline && i % 2 === 1 ? await timedUp(project, baseStack, baseline) : undefined;
        one.push({ floor: await floor.up(), floorJs: await floorJs.up(), up, base: baseFirst ?? baseAfter });
        applies.push(await timedApply(server, `apply_${files}`, migrations));
      }
      const med = (rounds: Round[], f: (r: Round) => number) => round(median(rounds.map(f)), 2);
      points.push({
        files,
        upAll: round(upAll, 2),
        applyAll: round(applyAll, 2),
        upNothing: med(nothing, (r) => r.up),
        upOne: med(one, (r) => r.up),
        applyOne: round(median(applies), 2),
        floor: med([...nothing, ...one], (r) => r.floor),
        nothingToFloor: med(nothing, (r) => r.up / r.floor),
        oneToFloor: med(one, (r) => r.up / r.floor),
        floorJs: med([...nothing, ...one], (r) => r.floorJs),
        nothingToFloorJs: med(nothing, (r) => r.up / r.floorJs),
        oneToFloorJs: med(one, (r) => r.up / r.floorJs),
        ...(baseline && baselineRef !== undefined
          ? {
              baseline: {
                ref: baselineRef,
                upNothing: med(nothing, (r) => r.base!),
                upOne: med(one, (r) => r.base!),
                nothingToFloor: med(nothing, (r) => r.base! / r.floor),
                oneToFloor: med(one, (r) => r.base! / r.floor),
                nowToBaselineNothing: med(nothing, (r) => r.up / r.base!),
                nowToBaselineOne: med(one, (r) => r.up / r.base!),
              },
            }
          : {}),
      });
      await project.pulumiOk(["stack", "rm", "--force", "--yes", "--stack", stack]);
      if (baseline) await project.pulumiOk(["stack", "rm", "--force", "--yes", "--stack", baseStack], { cwd: baseline });
    }
  } finally {
    await project.remove();
  }
  return points;
}
