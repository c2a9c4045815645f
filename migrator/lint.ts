import { execFile } from "node:child_process";
import { readFile } from "node:fs/promises";
import { createRequire } from "node:module";
import path from "node:path";
import { promisify } from "node:util";
import type { MigrationFile, MigrationSet } from "./files.js";

const run = promisify(execFile);

export interface LintFinding {
  /** Relative to the set's folder, e.g. "0_init/migration.sql". */
  file: string;
  /** 1-based. */
  line: number;
  column: number;
  rule: string;
  level: "error" | "warning";
  message: string;
  help?: string;
}

/**
 * squawk rules that do not apply to how this migrator runs files, and why.
 * This is the one place they are turned off.
 */
export const EXCLUDED_RULES: Record<string, string> = {
  "require-lock-timeout": "the migrator sets lock_timeout itself before every file (--lock-timeout, or -- migrate:lock-timeout)",
  "require-statement-timeout": "the migrator sets statement_timeout itself before every file (--statement-timeout, or -- migrate:statement-timeout)",
  "require-timeout-settings": "older name of the two rules above",
  "transaction-nesting": "the migrator rejects BEGIN/COMMIT in files itself, with file and line, before anything runs",
};

/**
 * Rules reported as warnings, and why: about style rather than locking or rewriting a live
 * table, or about what the tool that wrote the file always does. Every other finding is an
 * error, because it describes something that can block or break production traffic.
 */
export const ADVISORY_RULES: Record<string, string> = {
  "prefer-bigint-over-int": "style",
  "prefer-bigint-over-smallint": "style",
  "prefer-identity": "style",
  "prefer-text-field": "style",
  "prefer-timestamptz": "style",
  "prefer-timestamp-tz": "style",
  // Prisma writes every new enum value as `ALTER TYPE … ADD VALUE '…'` without BEFORE or AFTER
  // (its schema has no order to keep but the order of declaration), and the value goes last, as
  // the schema lists it. It takes no lock a live table would wait on.
  "require-enum-value-ordering": "Prisma always writes ADD VALUE without BEFORE/AFTER; the value goes last, where the schema declares it",
};

/** The PostgreSQL major lint judges for when the target's is not known: the embedded server's. */
export const DEFAULT_LINT_MAJOR = 17;

export interface LintOptions {
  /** The target's PostgreSQL major (13 to 17): squawk's `--pg-version`. */
  pgMajor: number;
}

interface SquawkFinding {
  file: string;
  line: number;
  column: number;
  level: string;
  message: string;
  help: string | null;
  rule_name: string;
}

/**
 * squawk's own binary package for this platform. The `squawk-cli` wrapper package is not used:
 * it lists every platform's binary as a dependency, and a registry mirror that holds only some of
 * them makes `npm ci` fail everywhere.
 */
function squawkBinary(): string {
  const platformPackage = `@squawk-cli/${process.platform}-${process.arch}`;
  const require = createRequire(import.meta.url);
  try {
    return path.join(path.dirname(require.resolve(`${platformPackage}/package.json`)), "bin", "squawk");
  } catch {
    throw new Error(
      `lint needs squawk's binary for ${process.platform}-${process.arch} (${platformPackage}), which is not installed: ` +
        `add it with \`npm install --no-save ${platformPackage}@2.66.0\`, or run lint on linux-x64`,
    );
  }
}

/** squawk's arguments for files that run in a transaction or outside one (pure). */
export function squawkArgs(files: readonly Pick<MigrationFile, "relativePath">[], inTransaction: boolean, options: LintOptions): string[] {
  return [
    "--reporter=json",
    `--pg-version=${options.pgMajor}.0`,
    `--exclude=${Object.keys(EXCLUDED_RULES).join(",")}`,
    inTransaction ? "--assume-in-transaction" : "--no-assume-in-transaction",
    ...files.map((f) => f.relativePath),
  ];
}

async function squawk(setDir: string, files: MigrationFile[], inTransaction: boolean, options: LintOptions): Promise<SquawkFinding[]> {
  if (files.length === 0) return [];
  const args = squawkArgs(files, inTransaction, options);
  let stdout: string;
  try {
    ({ stdout } = await run(squawkBinary(), args, { cwd: setDir, maxBuffer: 64 * 1024 * 1024 }));
  } catch (error) {
    // squawk exits 1 when it finds something; its JSON is still on stdout.
    const e = error as { stdout?: string; stderr?: string; message: string };
    if (!e.stdout?.trim().startsWith("[")) throw new Error(`running squawk failed: ${e.stderr || e.message}`, { cause: error });
    stdout = e.stdout;
  }
  return stdout.trim() ? (JSON.parse(stdout) as SquawkFinding[]) : [];
}

/**
 * squawk counts columns in bytes, and counts a UTF-8 BOM on the first line; messages everywhere
 * else count characters. `line0` and `byteColumn` are squawk's 0-based values.
 */
export function characterColumn(bytes: Buffer, line0: number, byteColumn: number): number {
  let start = 0;
  for (let l = 0; l < line0; l++) {
    const newline = bytes.indexOf(0x0a, start);
    if (newline === -1) break;
    start = newline + 1;
  }
  let column = byteColumn;
  if (start === 0 && bytes[0] === 0xef && bytes[1] === 0xbb && bytes[2] === 0xbf) {
    start = 3;
    column -= 3;
  }
  return bytes.toString("utf8", start, start + Math.max(0, column)).length + 1;
}

/**
 * Lints files of a set already read (the caller reads and parses it once, and chooses which files:
 * lint-scope.ts), each under the transaction mode it will really run in, for the target's major.
 */
export async function lintMigrations(
  set: MigrationSet,
  options: LintOptions = { pgMajor: DEFAULT_LINT_MAJOR },
  files: readonly MigrationFile[] = set.files,
): Promise<LintFinding[]> {
  if (files.length === 0) return [];
  const [inTx, outside] = await Promise.all([
    squawk(
      set.dir,
      files.filter((f) => f.transactional),
      true,
      options,
    ),
    squawk(
      set.dir,
      files.filter((f) => !f.transactional),
      false,
      options,
    ),
  ]);
  // Only the files with a finding are read again, for the character columns.
  const found = new Set([...inTx, ...outside].map((f) => f.file.split(path.sep).join("/")));
  const bytes = new Map(await Promise.all(files.filter((f) => found.has(f.relativePath)).map(async (f) => [f.relativePath, await readFile(f.path)] as const)));
  return [...inTx, ...outside]
    .map((f) => ({ ...f, file: f.file.split(path.sep).join("/") }))
    .map((f) => ({
      file: f.file,
      line: f.line + 1,
      column: bytes.has(f.file) ? characterColumn(bytes.get(f.file)!, f.line, f.column) : f.column + 1,
      rule: f.rule_name,
      level: f.rule_name in ADVISORY_RULES ? ("warning" as const) : ("error" as const),
      message: f.message,
      ...(f.help ? { help: f.help } : {}),
    }))
    .sort((a, b) => (a.file < b.file ? -1 : a.file > b.file ? 1 : a.line - b.line));
}
