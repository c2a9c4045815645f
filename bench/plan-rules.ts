/**
 * What the folder-identity rules cost as the set grows (`npx tsx bench/plan-rules.ts [sizes]`,
 * default 500,10000; in process, no database): the set read and planned against an empty ledger
 * (measurePlan's figure), planned against a ledger holding every file but the last (what each
 * apply and preview of one new file does), with the stack's manifest checked (`--expect-manifest`),
 * a version-keyed ledger named by folder (identifyByFolder, the format-1 read), the manifest's keys
 * (the Pulumi program at every preview), and the same on a set where every version is shared by two
 * folders (the keys then carry the name). Medians of 5 after one warm-up; per-file ms printed, and
 * the per-file cost at the largest size over the smallest (1 is linear, below 1 start-up amortised).
 */
import { cp, rm } from "node:fs/promises";
import path from "node:path";
import type { MigrationSet } from "../migrator/files.js";
import { readMigrationSet } from "../migrator/files.js";
import { identifyByFolder, type LedgerRow } from "../migrator/ledger.js";
import { manifestEnvironment, parseManifestEntry } from "../migrator/manifest.js";
import { plan } from "../migrator/plan.js";
import { loadParser } from "../migrator/statements.js";
import { TMP } from "./server.js";
import { describeSyntheticSet, writeSyntheticSet } from "./sets.js";
import { median, round } from "./stats.js";

const sizes = (process.argv[2] ?? "500,10000").split(",").map(Number);
const ROUNDS = 5;

function rowsOf(set: MigrationSet, count: number): LedgerRow[] {
  return set.files.slice(0, count).map((f) => ({
    folder: f.folder,
    version: f.version,
    name: f.name,
    checksum: f.checksum,
    transactional: f.transactional,
    status: "applied",
    appliedAt: new Date(0),
    durationMs: 1,
    appliedBy: "bench",
    clientAddr: null,
  }));
}

function time(fn: () => unknown): number {
  const samples: number[] = [];
  for (let i = 0; i <= ROUNDS; i++) {
    const started = performance.now();
    fn();
    if (i > 0) samples.push(performance.now() - started);
  }
  return median(samples);
}

async function timeAsync(fn: () => Promise<unknown>): Promise<number> {
  const samples: number[] = [];
  for (let i = 0; i <= ROUNDS; i++) {
    const started = performance.now();
    await fn();
    if (i > 0) samples.push(performance.now() - started);
  }
  return median(samples);
}

/** The synthetic set with every folder doubled under the same version (`<v>_<name>` and `<v>_<name>_b`). */
async function sharedVersions(dir: string): Promise<string> {
  const shared = `${dir}-shared`;
  await rm(shared, { recursive: true, force: true });
  await cp(dir, shared, { recursive: true });
  const set = await readMigrationSet(dir);
  for (const f of set.files) await cp(path.join(dir, f.folder), path.join(shared, `${f.folder}_b`), { recursive: true });
  return shared;
}

await loadParser();
const rows: Record<string, number | string>[] = [];
for (const files of sizes) {
  const dir = (await writeSyntheticSet(describeSyntheticSet(files), path.join(TMP, `plan-rules-${files}`), { dbmate: false })).prismaDir;
  for (const [label, at] of [["unique versions", dir] as const, ["every version shared", await sharedVersions(dir)] as const]) {
    const set = await readMigrationSet(at);
    const n = set.files.length;
    const applied = rowsOf(set, n - 1);
    const versionKeyed = applied.map((r) => ({ ...r, folder: "" }));
    const environment = manifestEnvironment(set);
    const manifest = Object.entries(environment).map(([k, v]) => parseManifestEntry(k, v)!);
    const perFile = (ms: number) => round(ms / n, 4);
    rows.push({
      set: label,
      files: n,
      "read+plan, empty ledger": perFile(await timeAsync(async () => plan(await readMigrationSet(at), []))),
      "plan, one pending": perFile(time(() => plan(set, applied))),
      "plan, one pending, --expect-manifest": perFile(time(() => plan(set, applied, { expectManifest: manifest }))),
      "format-1 ledger by folder": perFile(time(() => identifyByFolder(versionKeyed, set))),
      "manifest keys": perFile(time(() => manifestEnvironment(set))),
    });
  }
}
console.log("ms per file:");
console.table(rows);
for (const label of ["unique versions", "every version shared"]) {
  const [first, last] = [rows.find((r) => r.set === label && r.files === rows.filter((x) => x.set === label)[0]!.files)!, rows.filter((r) => r.set === label).at(-1)!];
  const ratios = Object.fromEntries(
    Object.keys(first)
      .filter((k) => k !== "set" && k !== "files")
      .map((k) => [k, round((last[k] as number) / (first[k] as number), 2)]),
  );
  console.log(`${label}: per-file cost at ${last.files} files over ${first.files}:`, ratios);
}
