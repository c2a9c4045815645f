/**
 * The stacks' verification command as a process (migrator/stack-report.ts): prints the report's JSON on
 * stdout, or says why there is none and exits 1, so the command fails and runs again on the next up.
 */
import { exitWith } from "../migrator/exit.js";
import { redact } from "../migrator/redact.js";
import { warnIfStale } from "../migrator/stale-bundle.js";
import { produceReport } from "../migrator/stack-report.js";

warnIfStale(import.meta.url);
const stderr = (t: string) => process.stderr.write(redact(t));
let code = 0;
try {
  const report = await produceReport(process.argv.slice(2), process.env, stderr);
  process.stdout.write(JSON.stringify(report) + "\n");
} catch (error) {
  stderr(`error: ${(error as Error).message}\n`);
  code = 1;
}
await exitWith(code);
