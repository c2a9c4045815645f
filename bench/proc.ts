import { spawn } from "node:child_process";

export interface ProcResult {
  code: number | null;
  stdout: string;
  stderr: string;
  /** Wall-clock time from spawn to exit. */
  ms: number;
}

export interface RunOptions {
  env?: NodeJS.ProcessEnv;
  cwd?: string;
  /** Called with each complete stderr line as it arrives, with the time it arrived. */
  onStderrLine?: (line: string, at: number) => void;
}

/** Runs a program to completion, timing it from spawn to exit; never throws on a non-zero exit. */
export function run(command: string, args: string[], options: RunOptions = {}): Promise<ProcResult> {
  return new Promise((resolve, reject) => {
    const started = performance.now();
    const child = spawn(command, args, { env: options.env ?? process.env, cwd: options.cwd, stdio: ["ignore", "pipe", "pipe"] });
    const out: Buffer[] = [];
    let err = "";
    let partial = "";
    child.stdout.on("data", (b: Buffer) => out.push(b));
    child.stderr.on("data", (b: Buffer) => {
      const text = b.toString("utf8");
      err += text;
      if (!options.onStderrLine) return;
      const at = performance.now();
      const lines = (partial + text).split("\n");
      partial = lines.pop() ?? "";
      for (const line of lines) options.onStderrLine(line, at);
    });
    child.on("error", reject);
    child.on("close", (code) => {
      resolve({ code, stdout: Buffer.concat(out).toString("utf8"), stderr: err, ms: performance.now() - started });
    });
  });
}

/** Like run, but a non-zero exit is an error that shows what the program said. */
export async function runOk(command: string, args: string[], options: RunOptions = {}): Promise<ProcResult> {
  const result = await run(command, args, options);
  if (result.code !== 0) {
    throw new Error(
      `${command} ${args
        .filter((a) => !a.includes("://"))
        .slice(0, 4)
        .join(" ")} exited ${result.code}:\n${result.stderr.slice(-2000)}${result.stdout.slice(-1000)}`,
    );
  }
  return result;
}
