/**
 * What the stack's own last state says about its database, known to the program at preview as at
 * `up`: which files the ledger held after the last successful `up` (the `migrations` output) and
 * the server's version the last verification saw (the `verification` output).
 *
 * Read through the engine's builtin `pulumi:pulumi:readStackOutputs`, the read a StackReference
 * makes, here of the stack itself and without registering a resource (so nothing shows in the
 * preview or the state). The engine answers from the stack's checkpoint, whose outputs are still
 * the last `up`'s while the program runs: a failed `up` leaves the ones before it, so the files it
 * did not finish stay pending. Under Pulumi's mocks the read answers nothing: every file pending.
 */
import * as pulumi from "@pulumi/pulumi";

export interface PreviousRun {
  /** The folders (`<version>_<name>`) the ledger held after the last `up`. */
  applied: ReadonlySet<string>;
  /** The server's version then (`server_version`, e.g. "17.10"), if the verification reported it. */
  serverVersion?: string;
}

const isRecord = (v: unknown): v is Record<string, unknown> => typeof v === "object" && v !== null && !Array.isArray(v);

/** The previous run from the stack's outputs (pure); undefined when they do not say (a new stack, or no successful `up` yet). */
export function previousRunOf(outputs: unknown): PreviousRun | undefined {
  if (!isRecord(outputs) || !isRecord(outputs.migrations) || !Array.isArray(outputs.migrations.applied)) return undefined;
  const applied = new Set<string>();
  for (const row of outputs.migrations.applied) {
    if (!isRecord(row) || typeof row.version !== "string" || typeof row.name !== "string") return undefined;
    applied.add(`${row.version}_${row.name}`);
  }
  const server = isRecord(outputs.verification) && isRecord(outputs.verification.server) ? outputs.verification.server : undefined;
  return { applied, ...(typeof server?.version === "string" ? { serverVersion: server.version } : {}) };
}

/** The major of a `server_version` ("17.10", "16.4 (Debian 16.4-1)"), if it reads as one. */
export function majorOfServerVersion(version: string | undefined): number | undefined {
  const major = version === undefined ? undefined : /^(\d+)/.exec(version)?.[1];
  return major === undefined ? undefined : Number(major);
}

/**
 * Reads the stack's last outputs. A backend that cannot answer is not a reason to stop the program:
 * the caller then treats every file as pending (and says so), which lints more, never less.
 */
export async function readPreviousRun(log: (message: string) => void = (m) => void pulumi.log.warn(m)): Promise<PreviousRun | undefined> {
  try {
    const name = `${pulumi.getOrganization()}/${pulumi.getProject()}/${pulumi.getStack()}`;
    const read = (await pulumi.runtime.invoke("pulumi:pulumi:readStackOutputs", { name })) as { outputs?: unknown } | undefined;
    return previousRunOf(read?.outputs);
  } catch (error) {
    log(`reading this stack's last outputs failed (${(error as Error).message}); every migration is linted as pending`);
    return undefined;
  }
}
