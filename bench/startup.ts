/**
 * Start-up: how long `npm run migrate -- --help` takes, beside what it is made of: node itself,
 * the bundle started directly, and npm running a script that does nothing but start node. Runs
 * are interleaved, so each command sees the same machine; medians are reported.
 */
import { mkdir, writeFile } from "node:fs/promises";
import path from "node:path";
import { runOk } from "./proc.js";
import { ROOT, TMP } from "./server.js";
import { median, round } from "./stats.js";
import { CLI, NODE } from "./zero-downtime.js";

export interface StartupResult {
  runs: number;
  /** Median wall-clock ms of each command. */
  nodeMs: number;
  bundleHelpMs: number;
  npmNodeMs: number;
  npmHelpMs: number;
}

const NPM = process.env.npm_execpath ? [NODE, process.env.npm_execpath] : ["npm"];

export async function measureStartup(runs: number): Promise<StartupResult> {
  // A package whose one script starts node and exits: what any `npm run` of a node script costs.
  const floor = path.join(TMP, "npm-floor");
  await mkdir(floor, { recursive: true });
  await writeFile(path.join(floor, "package.json"), JSON.stringify({ name: "npm-floor", private: true, scripts: { noop: "node -e 0" } }));
  const commands: Record<keyof Omit<StartupResult, "runs">, { argv: string[]; cwd: string }> = {
    nodeMs: { argv: [NODE, "-e", "0"], cwd: ROOT },
    bundleHelpMs: { argv: [NODE, CLI, "--help"], cwd: ROOT },
    npmNodeMs: { argv: [...NPM, "run", "-s", "noop"], cwd: floor },
    npmHelpMs: { argv: [...NPM, "run", "-s", "migrate", "--", "--help"], cwd: ROOT },
  };
  const samples = Object.fromEntries(Object.keys(commands).map((k) => [k, [] as number[]])) as Record<keyof typeof commands, number[]>;
  for (let i = 0; i < runs + 1; i++) {
    for (const [key, { argv, cwd }] of Object.entries(commands) as [keyof typeof commands, (typeof commands)[keyof typeof commands]][]) {
      const { ms } = await runOk(argv[0]!, argv.slice(1), { cwd });
      // The first round warms the page cache; it is not counted.
      if (i > 0) samples[key].push(ms);
    }
  }
  return {
    runs,
    nodeMs: round(median(samples.nodeMs), 0),
    bundleHelpMs: round(median(samples.bundleHelpMs), 0),
    npmNodeMs: round(median(samples.npmNodeMs), 0),
    npmHelpMs: round(median(samples.npmHelpMs), 0),
  };
}
