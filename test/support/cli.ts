import { execFile } from "node:child_process";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { runCli } from "../../migrator/cli.js";

export const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..", "..");
/** The bundle users and the stacks run (built from the sources by the test run's global setup). */
export const CLI = path.join(ROOT, "dist", "migrate.js");

export interface CliRun {
  code: number;
  stdout: string;
  stderr: string;
}

/** stdout and stderr together: what a user sees, and what must never hold a password. */
export function printed(run: CliRun): string {
  return `${run.stdout}\n${run.stderr}`;
}

/**
 * The CLI in process. The environment is empty unless given, so a test never picks up
 * the developer's DATABASE_URL or PG* variables. `watch` sees each piece of output as it is
 * printed, so a test can act at a given moment of the run (release a lock on the first retry).
 */
export async function migrate(argv: string[], env: NodeJS.ProcessEnv = {}, watch?: (text: string) => void): Promise<CliRun> {
  let stdout = "";
  let stderr = "";
  const code = await runCli(argv, {
    stdout: (s) => {
      stdout += s;
      watch?.(s);
    },
    stderr: (s) => {
      stderr += s;
      watch?.(s);
    },
    env,
  });
  return { code, stdout, stderr };
}

/** `--json` run: the parsed document on stdout, with the run itself for its exit code and stderr. */
export async function migrateJson<T = any>(argv: string[], env: NodeJS.ProcessEnv = {}): Promise<CliRun & { json: T }> {
  const run = await migrate([...argv, "--json"], env);
  let json: T;
  try {
    json = JSON.parse(run.stdout) as T;
  } catch {
    throw new Error(`stdout of ${argv.join(" ")} --json is not one JSON document:\n${run.stdout}\nstderr:\n${run.stderr}`);
  }
  return { ...run, json };
}

/**
 * The CLI as a real process (`node dist/migrate.js`), for what only
 * processes show: exit codes and several migrators at once.
 */
export function migrateProcess(argv: string[], env: NodeJS.ProcessEnv = {}): Promise<CliRun> {
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      [CLI, ...argv],
      { cwd: ROOT, env: { PATH: process.env.PATH ?? "", HOME: process.env.HOME ?? "", ...env }, maxBuffer: 16 * 1024 * 1024 },
      (error, stdout, stderr) => {
        const code = error ? Number((error as { code?: number | string }).code ?? 1) : 0;
        resolve({ code: Number.isInteger(code) ? code : 1, stdout, stderr });
      },
    );
  });
}
