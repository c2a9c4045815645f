import { mkdtemp, rm } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import type { TestProject } from "vitest/node";
import { ensureBundles } from "../../scripts/bundle.mjs";
import { startEmbedded, type EmbeddedServer } from "../../migrator/embedded/server.js";

declare module "vitest" {
  export interface ProvidedContext {
    /** Superuser URL of the one embedded server shared by the whole test run. */
    serverUrl: string;
  }
}

let server: EmbeddedServer | undefined;
let rootDir: string | undefined;

/** One real PostgreSQL 17 for the whole run; each test makes its own database on it. */
export async function setup(project: TestProject): Promise<void> {
  // Process tests run dist/*.js, as users and the stacks do: build it from the current sources.
  await ensureBundles();
  rootDir = await mkdtemp(path.join(os.tmpdir(), "migrator-test-pg-"));
  server = await startEmbedded({ rootDir, persistent: false });
  project.provide("serverUrl", server.url("postgres"));
}

export async function teardown(): Promise<void> {
  await server?.stop();
  if (rootDir) await rm(rootDir, { recursive: true, force: true });
}
