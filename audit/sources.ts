/**
 * Where the report's data comes from besides a saved file: the Pulumi CLI (outputs and the last
 * update of the stack) and git (the commit of the checkout the report was made in). Each runs a
 * process with arguments, never a shell; none asks for secrets.
 */
import { execFile } from "node:child_process";

export interface PulumiUpdate {
  version: number | null;
  kind: string;
  result: string;
  startTime: string;
  endTime: string;
  /** The commit Pulumi recorded for the update (`git.head`), when it ran in a git checkout. */
  gitHead: string | null;
}

function run(file: string, args: string[], cwd: string, env: NodeJS.ProcessEnv): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile(file, args, { cwd, env, maxBuffer: 64 * 1024 * 1024 }, (error, stdout, stderr) => {
      if (error) reject(new Error(`${file} ${args.join(" ")} failed: ${stderr.trim() || error.message}`, { cause: error }));
      else resolve(stdout);
    });
  });
}

function parseJson(text: string, what: string): unknown {
  try {
    return JSON.parse(text);
  } catch (error) {
    throw new Error(`${what} did not print JSON`, { cause: error });
  }
}

/** `pulumi stack output --json`: secret outputs print as "[secret]" (no --show-secrets, on purpose). */
export async function readStackOutputs(stack: string, cwd: string, env: NodeJS.ProcessEnv): Promise<unknown> {
  return parseJson(await run("pulumi", ["stack", "output", "--json", "--stack", stack], cwd, env), "pulumi stack output");
}

/** The stack's last update (`pulumi stack history --json`, newest first), or null when it has none. */
export async function readLastUpdate(stack: string, cwd: string, env: NodeJS.ProcessEnv): Promise<PulumiUpdate | null> {
  const doc = parseJson(await run("pulumi", ["stack", "history", "--json", "--stack", stack, "--page-size", "1"], cwd, env), "pulumi stack history");
  const first = Array.isArray(doc) ? (doc[0] as Record<string, unknown> | undefined) : undefined;
  if (!first) return null;
  const text = (v: unknown) => (typeof v === "string" ? v : "unknown");
  // Only these fields: the history's `environment` holds the updater's git author and e-mail.
  return {
    version: typeof first.version === "number" ? first.version : null,
    kind: text(first.kind),
    result: text(first.result),
    startTime: text(first.startTime),
    endTime: text(first.endTime),
    gitHead:
      typeof (first.environment as Record<string, unknown> | undefined)?.["git.head"] === "string"
        ? String((first.environment as Record<string, unknown>)["git.head"])
        : null,
  };
}

/** The commit the report was made from, or "unknown" outside a git checkout (an unpacked release). */
export async function gitCommit(cwd: string, env: NodeJS.ProcessEnv): Promise<string> {
  try {
    return (await run("git", ["rev-parse", "HEAD"], cwd, env)).trim() || "unknown";
  } catch {
    return "unknown";
  }
}
