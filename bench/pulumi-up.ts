/**
 * `pulumi up` under the real engine (the tools scripts/build-pulumi.sh builds) beside the migrator
 * applying the same files: the local stack, on a fresh database, with 20 and 100 synthetic files,
 * then an `up` with nothing to change, then one new file. Each stack gets its own database and its
 * own role names, so the measurements do not see each other. Beside them, in the same run, the
 * engine's floor: `up` of an empty program loaded the same way (bench/floor), so what the stack
 * costs above the engine reads as a ratio that the machine's load moves little.
 */
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
  /** `pulumi up` after one more file. */
  upOne: number;
  /** `migrate apply` of that one file. */
  applyOne: number;
  /** The floor (`up` of the empty program, median of the runs beside this size's), seconds; absent in reports from before it was measured. */
  floor?: number;
  /** upNothing / floor and upOne / floor. */
  nothingToFloor?: number;
  oneToFloor?: number;
}

/** The empty program's `up`, in a copy beside the project (its stack file must not land in the checkout). */
async function floorProject(project: EngineProject): Promise<{ up: () => Promise<number> }> {
  const dir = path.join(path.dirname(project.dir), "floor");
  await cp(path.join(ROOT, "bench", "floor"), dir, { recursive: true });
  await symlink(path.join(ROOT, "node_modules"), path.join(dir, "node_modules"), "dir");
  await project.pulumiOk(["stack", "init", "floor", "--secrets-provider", "passphrase"], { cwd: dir });
  const up = async () => {
    const t = performance.now();
    await project.pulumiOk(["up", "--yes", "--skip-preview", "--stack", "floor"], { cwd: dir, timeoutMs: 300_000 });
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

const ONE_MORE = "99999999999999_one_more";

async function stackFor(server: BenchServer, project: EngineProject, name: string, database: string): Promise<void> {
  const url = new URL(server.url(database));
  await project.pulumiOk(["stack", "init", name, "--secrets-provider", "passphrase"]);
  const set = (key: string, value: string, secret = false) =>
    project.pulumiOk(["config", "set", ...(secret ? ["--secret"] : []), "--stack", name, `pg-migrations:${key}`, "--", value]);
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

async function timedUp(project: EngineProject, stack: string): Promise<number> {
  const t = performance.now();
  await project.pulumiOk(["up", "--yes", "--skip-preview", "--stack", stack], { timeoutMs: 900_000 });
  return (performance.now() - t) / 1000;
}

async function timedApply(server: BenchServer, database: string, dir: string): Promise<number> {
  return (await runOk(NODE, [CLI, "apply", "--dir", dir, "--quiet"], { env: { ...process.env, DATABASE_URL: server.url(database) } })).ms / 1000;
}

export async function measurePulumiUp(server: BenchServer, sizes: number[], log: (line: string) => void): Promise<PulumiUpPoint[]> {
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
    const floor = await floorProject(project);
    for (const files of sizes) {
      const set = await writeSyntheticSet(describeSyntheticSet(files), path.join(TMP, `pulumi-up-${files}`), { dbmate: false });
      const migrations = path.join(project.dir, "sql", "migrations");
      await rm(migrations, { recursive: true, force: true });
      await cp(set.prismaDir, migrations, { recursive: true });

      const stack = `bench-${files}`;
      await server.createDatabase(`up_${files}`);
      await server.createDatabase(`apply_${files}`);
      await stackFor(server, project, stack, `up_${files}`);
      log(`pulumi up: ${files} files on a fresh database`);
      const upAll = await timedUp(project, stack);
      const applyAll = await timedApply(server, `apply_${files}`, migrations);
      log(`pulumi up: nothing to change (3 times, each beside the floor), then one new file`);
      // Interleaved, so that both see the same load; medians of three.
      const floors: number[] = [];
      const nothing: number[] = [];
      for (let i = 0; i < 3; i++) {
        floors.push(await floor.up());
        nothing.push(await timedUp(project, stack));
      }
      await mkdir(path.join(migrations, ONE_MORE));
      await writeFile(path.join(migrations, ONE_MORE, "migration.sql"), "CREATE TABLE one_more (id bigint PRIMARY KEY);\n");
      const upOne = await timedUp(project, stack);
      floors.push(await floor.up());
      const applyOne = await timedApply(server, `apply_${files}`, migrations);
      const floorS = median(floors);
      const upNothing = median(nothing);
      points.push({
        files,
        upAll: round(upAll, 2),
        applyAll: round(applyAll, 2),
        upNothing: round(upNothing, 2),
        upOne: round(upOne, 2),
        applyOne: round(applyOne, 2),
        floor: round(floorS, 2),
        nothingToFloor: round(upNothing / floorS, 2),
        oneToFloor: round(upOne / floorS, 2),
      });
      await project.pulumiOk(["stack", "rm", "--force", "--yes", "--stack", stack]);
    }
  } finally {
    await project.remove();
  }
  return points;
}
