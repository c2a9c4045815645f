/** Redraws bench/results/latency.svg from bench/results/latest.json (after changing svg.ts). */
import { readFile, writeFile } from "node:fs/promises";
import path from "node:path";
import { chartInput, type BenchReport } from "./report.js";
import { ROOT } from "./server.js";
import { latencySvg } from "./svg.js";

const dir = path.resolve(process.argv[2] ?? path.join(ROOT, "bench", "results"));
const report = JSON.parse(await readFile(path.join(dir, "latest.json"), "utf8")) as BenchReport;
if (!report.zeroDowntime) throw new Error(`${dir}/latest.json has no zeroDowntime section to draw`);
await writeFile(path.join(dir, report.zeroDowntime.picture), latencySvg(chartInput(report.zeroDowntime)));
process.stdout.write(`wrote ${path.join(dir, report.zeroDowntime.picture)}\n`);
