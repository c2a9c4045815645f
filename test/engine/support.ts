/**
 * The real Pulumi CLI for the engine tests: the binaries scripts/build-pulumi.sh put in
 * .tools/pulumi/bin, a file backend and a passphrase secrets provider in a temporary folder, and
 * a copy of this project (program, stack settings, migration set) that the tests may edit.
 */
import { execFile } from "node:child_process";
import { existsSync } from "node:fs";
import { cp, mkdir, mkdtemp, rm, symlink } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";

export const REPO = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../..");
const TOOLS = path.join(REPO, ".tools/pulumi");
export const TOOL_NAMES = ["pulumi", "pulumi-language-nodejs", "pulumi-resource-command", "pulumi-resource-postgresql"] as const;

/** The tools that are not built (scripts/build-pulumi.sh says why when it runs). */
export function missingTools(): string[] {
  return TOOL_NAMES.filter((name) => !existsSync(path.join(TOOLS, "bin", name))).map((name) => `${name}: not built (run bash scripts/build-pulumi.sh)`);
}

export interface CliResult {
  code: number;
  stdout: string;
  stderr: string;
}

export interface RunOptions {
  timeoutMs?: number;
  /** Where the CLI runs (default: the project copy). */
  cwd?: string;
}

export interface EngineProject {
  /** The project copy (PROJECT_ENTRIES) with a node_modules link. */
  dir: string;
  /** Where the file backend keeps the stacks' state. */
  stateDir: string;
  passphrase: string;
  /** The environment the CLI runs with (tools on PATH, the file backend, the passphrase), for other processes that call it. */
  env: NodeJS.ProcessEnv;
  /** Runs the CLI in the project copy (or `cwd`); resolves with the exit code instead of throwing. */
  pulumi(args: string[], options?: RunOptions): Promise<CliResult>;
  /** Runs the CLI and throws with its output when it exits non-zero. */
  pulumiOk(args: string[], options?: RunOptions): Promise<string>;
  remove(): Promise<void>;
}

/** What a checkout holds that the program and its commands use (dist/ is built by the program itself). */
const PROJECT_ENTRIES = ["Pulumi.yaml", "Pulumi.local.yaml", "package.json", "tsconfig.json", "audit", "bin", "infra", "migrator", "review", "scripts", "stacks", "sql"];

/** Copies the project into `dir`, as a clone would be, with node_modules linked. */
export async function copyProject(dir: string): Promise<void> {
  for (const entry of PROJECT_ENTRIES) await cp(path.join(REPO, entry), path.join(dir, entry), { recursive: true });
  await symlink(path.join(REPO, "node_modules"), path.join(dir, "node_modules"), "dir");
}

/** Copies the project into a temporary folder and points the CLI at a file backend beside it. */
export async function engineProject(): Promise<EngineProject> {
  const root = await mkdtemp(path.join(os.tmpdir(), "pulumi-engine-"));
  const dir = path.join(root, "project");
  const stateDir = path.join(root, "state");
  await mkdir(stateDir, { recursive: true });
  await copyProject(dir);

  const passphrase = "engine-test-passphrase";
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    PATH: `${path.join(TOOLS, "bin")}${path.delimiter}${process.env.PATH ?? ""}`,
    PULUMI_HOME: path.join(root, "home"),
    PULUMI_BACKEND_URL: `file://${stateDir}`,
    PULUMI_CONFIG_PASSPHRASE: passphrase,
    PULUMI_SKIP_UPDATE_CHECK: "1",
    PULUMI_DISABLE_AUTOMATIC_PLUGIN_ACQUISITION: "true",
    PULUMI_SKIP_CONFIRMATIONS: "true",
    NO_COLOR: "1",
  };
  delete env.PULUMI_IGNORE_AMBIENT_PLUGINS;
  delete env.PULUMI_ACCESS_TOKEN;

  const pulumi = (args: string[], options: RunOptions = {}) =>
    new Promise<CliResult>((resolve) => {
      execFile(
        path.join(TOOLS, "bin", "pulumi"),
        ["--non-interactive", ...args],
        { cwd: options.cwd ?? dir, env, maxBuffer: 64 * 1024 * 1024, timeout: options.timeoutMs ?? 300_000 },
        (error, stdout, stderr) => {
          const code = error ? (typeof error.code === "number" ? error.code : 1) : 0;
          resolve({ code, stdout, stderr: stderr || (error && typeof error.code !== "number" ? String(error) : "") });
        },
      );
    });

  return {
    dir,
    stateDir,
    passphrase,
    env,
    pulumi,
    async pulumiOk(args, options) {
      const r = await pulumi(args, options);
      if (r.code !== 0) throw new Error(`pulumi ${args.join(" ")} exited ${r.code}\n${r.stdout}\n${r.stderr}`);
      return r.stdout;
    },
    remove: () => rm(root, { recursive: true, force: true }),
  };
}

/** One step of `pulumi preview --json`. */
export interface PreviewStep {
  op: string;
  urn: string;
  /** For an update or replace: the input keys that differ. */
  diffs?: string[];
}

/** The steps of `pulumi preview --json`, without the unchanged ("same") ones. */
export function changes(previewJson: string): PreviewStep[] {
  const parsed = JSON.parse(previewJson) as { steps?: PreviewStep[] };
  return (parsed.steps ?? []).filter((s) => s.op !== "same");
}

/** The resource name at the end of a URN. */
export function urnName(urn: string): string {
  return urn.slice(urn.lastIndexOf("::") + 2);
}

/** The resource type of a URN (the last type in its parent chain). */
export function urnType(urn: string): string {
  const parts = urn.split("::");
  const chain = parts[2] ?? "";
  return chain.slice(chain.lastIndexOf("$") + 1);
}
