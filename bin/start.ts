import path from "node:path";
import { parseArgs } from "node:util";
import { buildContext, PROJECT_ROOT, shownPath } from "../migrator/cli.js";
import { applyAndVerify } from "../migrator/commands.js";
import { exitCodeOf } from "../migrator/errors.js";
import { exitWith } from "./exit.js";
import { formatApply, formatEvent, formatVerify } from "../migrator/format.js";
import { redact } from "../migrator/redact.js";
import { warnIfStale } from "./stale-bundle.js";

/**
 * The main job (`npm start`): apply sql/migrations and run sql/verify on the embedded
 * PostgreSQL (or the database DATABASE_URL names), then print one report.
 * Exit 0 only when every migration is applied and every check passed.
 */
async function main(): Promise<number> {
  let secrets: string[] = [];
  const print = (t: string) => process.stdout.write(redact(t, secrets) + "\n");
  try {
    const { values } = parseArgs({
      args: process.argv.slice(2),
      options: { help: { type: "boolean", short: "h" }, "embedded-dir": { type: "string" }, verbose: { type: "boolean" } },
      strict: true,
    });
    if (values.help) {
      print(
        "Usage: npm start [-- --embedded-dir DIR] [--verbose]\nApplies sql/migrations and runs sql/verify on the embedded PostgreSQL 17 (data in .data/embedded),\nor on the database DATABASE_URL / PG* name; --verbose lists every file applied before this run.\nSee `npm run migrate -- --help` for the full CLI.",
      );
      return 0;
    }
    const ctx = buildContext({ "embedded-dir": values["embedded-dir"] }, process.env, {
      event: (e) => {
        const line = formatEvent(e, { verbose: values.verbose ?? false });
        if (line) print(line);
      },
    });
    secrets = ctx.target?.secrets ?? [];
    print(
      `Migrations: ${path.relative(PROJECT_ROOT, ctx.dir)}  →  ${ctx.target?.display ?? `embedded PostgreSQL 17 (data in ${shownPath(values["embedded-dir"], ctx.embeddedDir)})`}`,
    );
    const started = performance.now();
    const result = await applyAndVerify(ctx);
    print(formatApply(result.apply));
    if (result.apply.failure) {
      print(`\nerror: ${result.apply.failure.message}`);
      return exitCodeOf(result.apply.failure);
    }
    print(`\nVerification (${path.relative(PROJECT_ROOT, ctx.verifyDir)}):`);
    print(formatVerify(result.verify!));
    print(`Done in ${((performance.now() - started) / 1000).toFixed(1)} s.`);
    return result.verify!.failed > 0 ? 1 : 0;
  } catch (error) {
    print(`error: ${(error as Error).message}`);
    return exitCodeOf(error);
  }
}

warnIfStale(import.meta.url);
await exitWith(await main());
