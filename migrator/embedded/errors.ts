import { ExitCode } from "../errors.js";

/**
 * The embedded server could not be started: what failed, where, and what to do. Exit 1 (the
 * set is not at fault, and nothing ran). Its message is the whole story, so the main job and the
 * CLI print it as it is, without a stack.
 */
export class EmbeddedStartError extends Error {
  readonly exitCode = ExitCode.failed;
  constructor(
    readonly what: string,
    readonly advice: string,
    options?: { cause?: unknown; log?: string },
  ) {
    const log = options?.log?.trim().split("\n").slice(-8);
    super(`could not start the embedded PostgreSQL: ${what}; ${advice}${log?.length ? `\n  its last words:\n    ${log.join("\n    ")}` : ""}`, options);
    this.name = "EmbeddedStartError";
  }
}
