/** `npm run review -- --stack NAME`: the migration review of one stack as Markdown (review/cli.ts). */
import { exitWith } from "./exit.js";
import { runReview } from "../review/cli.js";
import { warnIfStale } from "./stale-bundle.js";

warnIfStale(import.meta.url);
const code = await runReview(process.argv.slice(2), {
  stdout: (t) => process.stdout.write(t),
  stderr: (t) => process.stderr.write(t),
  env: process.env,
});
await exitWith(code);
