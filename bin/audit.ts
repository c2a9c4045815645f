/** `npm run audit -- …`: the auditor's report of a stack as a process (audit/cli.ts holds the CLI itself). */
import { runAudit } from "../audit/cli.js";
import { exitWith } from "./exit.js";
import { warnIfStale } from "./stale-bundle.js";

warnIfStale(import.meta.url);
const code = await runAudit(process.argv.slice(2), {
  stdout: (t) => process.stdout.write(t),
  stderr: (t) => process.stderr.write(t),
  env: process.env,
  cwd: process.cwd(),
});
await exitWith(code);
