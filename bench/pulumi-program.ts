/**
 * Child process: loads the Pulumi program under Pulumi's mocks (test/support/pulumi.ts, the same
 * harness the stack tests use) with the local stack pointed at a migrations folder, and prints
 * how long construction took. A child per measurement, because mocks and the module cache are
 * global to a process.
 */
import { readStackFile, runProgram } from "../test/support/pulumi.js";
import { reportingCommands, cannedReport } from "../test/support/pulumi-report.js";

const [migrationsDir, verifyDir] = process.argv.slice(2);
if (!migrationsDir || !verifyDir) {
  process.stderr.write("usage: tsx bench/pulumi-program.ts <migrations dir> <verify dir>\n");
  process.exit(2);
}
const { config } = readStackFile("local");
const report = await cannedReport(migrationsDir);
const started = performance.now();
const run = await runProgram({
  stack: "local",
  config: {
    ...config,
    "pg-migrations:migrationsDir": migrationsDir,
    "pg-migrations:verifyDir": verifyDir,
    "pg-migrations:localPassword": "bench-local-password",
    "pg-migrations:migratorPassword": "bench-migrator-password-0123456789",
  },
  secretKeys: ["pg-migrations:localPassword", "pg-migrations:migratorPassword"],
  onResource: reportingCommands(report),
});
const ms = performance.now() - started;
const commands = run.ofType("command:local:Command").length;
process.stdout.write(JSON.stringify({ ms, resources: run.resources.length, commands }) + "\n");
process.exit(0);
