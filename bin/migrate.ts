/** `npm run migrate -- …`: the migrator CLI as a process (migrator/cli.ts holds the CLI itself). */
import { runCli } from "../migrator/cli.js";
import { exitWith } from "./exit.js";
import { warnIfStale } from "./stale-bundle.js";

warnIfStale(import.meta.url);
const code = await runCli(process.argv.slice(2), {
  stdout: (t) => process.stdout.write(t),
  stderr: (t) => process.stderr.write(t),
  env: process.env,
});
await exitWith(code);
