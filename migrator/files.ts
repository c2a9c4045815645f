import { createHash } from "node:crypto";
import { existsSync } from "node:fs";
import { readFile, readdir, stat } from "node:fs/promises";
import path from "node:path";
import { readDirectives, type Directives } from "./directives.js";
import { MigrationSetError, type Problem } from "./errors.js";
import { loadParser, parseStatements, type Statement } from "./statements.js";
import { isUntouchedTemplate } from "./template.js";

export type { Statement } from "./statements.js";

/** One migration file of the set, read, checked and parsed. */
export interface MigrationFile {
  /** The number before the first underscore of the folder name, e.g. "20260123015816" or "0". */
  version: string;
  name: string;
  /** The folder, e.g. "20260123015816_add_v2_tables". */
  folder: string;
  /** Path relative to the set's folder, e.g. "<folder>/migration.sql": what messages name. */
  relativePath: string;
  path: string;
  /** sha256 (hex) of the file with any BOM dropped and CRLF normalised to LF. */
  checksum: string;
  transactional: boolean;
  /** How it runs, as plan, lint and the review name it (runModeOf). */
  mode: RunMode;
  /** The file holds BEGIN … COMMIT blocks (Prisma's enum rewrites); they are not run, the whole file being one transaction. */
  wrapped: boolean;
  lockTimeoutMs?: number;
  statementTimeoutMs?: number;
  statements: Statement[];
}

export interface MigrationSet {
  dir: string;
  files: MigrationFile[];
}

/**
 * How a file runs: in one transaction with its ledger row; outside any, because its first lines
 * say `-- migrate:no-transaction`; or outside any because its one statement cannot run in a
 * transaction block, as PostgreSQL runs a one-statement simple query (and so Prisma's files).
 */
export type RunMode = "transaction" | "no-transaction" | "no-transaction (one statement)";

/**
 * A migration folder's name: `<version>_<name>`, Prisma's layout. The name may be empty
 * (`20240102000000_`, which Prisma writes for `migrate dev --name ""`) and may hold any printable
 * character, spaces included: Prisma takes every folder of its migrations directory, and real
 * histories hold names such as `20240126184148_new_models copy` (a folder duplicated in a file
 * manager, applied in production since). Control characters (a newline, a tab) would break the
 * one-line-per-file outputs and manifests, so they are refused. The version is the leading digits,
 * shown and accepted by --baseline and --only. The folder, not the version, names a file.
 */
// eslint-disable-next-line no-control-regex -- the control characters are what this refuses
export const FOLDER = /^(\d+)_([^\u0000-\u001f\u007f]*)$/;
export const MIGRATION_FILE = "migration.sql";
const LOCK_FILE = "migration_lock.toml";

/** The text the checksum sees: no BOM, LF line endings (a checkout's line endings are not an edit). */
export function normaliseText(text: string): string {
  return withoutBom(text).replace(/\r\n/g, "\n");
}

/** The text that is parsed and run: the file as written, its line endings kept (a CR inside a string literal is data). */
export function withoutBom(text: string): string {
  return text.replace(/^\uFEFF/, "");
}

export function checksumOf(normalisedText: string): string {
  return createHash("sha256").update(normalisedText, "utf8").digest("hex");
}

function decodeUtf8(bytes: Buffer, file: string, problems: Problem[]): string | undefined {
  try {
    return new TextDecoder("utf-8", { fatal: true }).decode(bytes);
  } catch {
    const lossy = bytes.toString("utf8");
    const at = lossy.indexOf("\uFFFD");
    const line = lossy.slice(0, Math.max(0, at)).split("\n").length;
    problems.push({ file, line, message: "is not valid UTF-8; save it as UTF-8 (PostgreSQL would reject or garble these bytes)" });
    return undefined;
  }
}

/** Checks what one file says and how it will run; adds every problem found. */
export function checkFile(
  text: string,
  relativePath: string,
  problems: Problem[],
): { directives: Directives; statements: Statement[]; wrapped: boolean; mode: RunMode } | undefined {
  const before = problems.length;
  const { directives, problems: directiveProblems } = readDirectives(text);
  for (const p of directiveProblems) problems.push({ file: relativePath, ...p });

  // The parser reads a C string: it stops at a NUL byte and would silently drop every statement after it.
  const nul = text.indexOf("\u0000");
  if (nul !== -1) {
    problems.push({
      file: relativePath,
      line: text.slice(0, nul).split("\n").length,
      message: "holds a NUL byte (\\0), which PostgreSQL cannot receive and which would hide the SQL after it; remove it",
    });
    return undefined;
  }
  const parsed = parseStatements(text);
  if ("error" in parsed) {
    const metaLine = text.split("\n").findIndex((l) => /^\s*\\[a-zA-Z!?]/.test(l));
    if (metaLine !== -1) {
      const command = text.split("\n")[metaLine]!.trim().split(/\s+/)[0];
      problems.push({
        file: relativePath,
        line: metaLine + 1,
        message: `${command} is a psql meta-command, not SQL; the migrator sends SQL to the server, so write it as SQL or remove it`,
      });
    } else {
      problems.push({ file: relativePath, line: parsed.error.line, column: parsed.error.column, message: `syntax error: ${parsed.error.message}` });
    }
    return undefined;
  }
  const unwrapped = unwrapTransaction(parsed.statements, directives, relativePath, problems);
  if (!unwrapped) return undefined;
  const { statements, wrapped } = unwrapped;
  // A comment-only or empty file is what `prisma migrate dev --create-only` writes; Prisma records it.
  if (statements.length === 0) return problems.length === before ? { directives, statements, wrapped, mode: "transaction" } : undefined;

  for (const s of statements) {
    if (s.transactionControl) {
      problems.push({
        file: relativePath,
        line: s.line,
        column: s.column,
        message: `${s.transactionControl}: the migrator controls transactions itself (the whole file is one transaction${directives.transactional ? "" : ", or autocommit with -- migrate:no-transaction"}); plain BEGIN … COMMIT blocks are dropped into it, but no other transaction control is allowed: remove this statement`,
      });
    }
  }
  let mode: RunMode = directives.transactional ? "transaction" : "no-transaction";
  // One statement is one simple query, which PostgreSQL runs outside any transaction block.
  if (directives.transactional && !wrapped && statements.length === 1 && statements[0]!.nonTransactional) mode = "no-transaction (one statement)";
  if (mode === "transaction") {
    for (const s of statements) {
      if (s.nonTransactional) {
        problems.push({
          file: relativePath,
          line: s.line,
          column: s.column,
          message:
            wrapped && statements.length === 1
              ? `${s.nonTransactional} cannot run inside a transaction block, and this file wraps it in ${unwrapped.opening} … ${unwrapped.closing}; remove the wrapper`
              : `${s.nonTransactional} cannot run inside a transaction block, and this file of ${statements.length} statements runs in one; move it to a migration of its own, where as its one statement it runs outside a transaction (after SETs, under a first line "-- migrate:no-transaction")`,
        });
      }
    }
  } else {
    const main = statements.filter((s) => !s.sessionSetting);
    if (main.length === 0) {
      problems.push({ file: relativePath, message: "a -- migrate:no-transaction file needs one statement besides its SETs" });
    }
    if (main.length > 1) {
      const second = main[1]!;
      problems.push({
        file: relativePath,
        line: second.line,
        column: second.column,
        message: `a -- migrate:no-transaction file holds exactly one statement (after optional SETs), so a failure never leaves it half-applied; this is statement ${main.length > 2 ? `2 of ${main.length}` : "2"}: move it to a migration of its own`,
      });
    }
    const firstMain = statements.findIndex((s) => !s.sessionSetting);
    const lateSet = statements.find((s, i) => s.sessionSetting && i > firstMain && firstMain !== -1);
    if (lateSet) {
      problems.push({ file: relativePath, line: lateSet.line, message: "a SET after the statement has no effect on it; put SETs before the statement" });
    }
  }
  return problems.length === before ? { directives, statements, wrapped, mode } : undefined;
}

/**
 * Prisma writes each enum rewrite (`-- AlterEnum`) as its own `BEGIN` … `COMMIT` block, beside the
 * other statements of the migration and one block per enum (prisma-engines,
 * schema-engine/connectors/sql-schema-connector/src/sql_renderer/postgres_renderer.rs,
 * render_alter_enum). Prisma sends the file as one simple query, so PostgreSQL commits at each
 * COMMIT and runs what follows in a new implicit transaction: a failure after a block leaves the
 * block applied and the migration half done. Here the whole file is one transaction with its
 * ledger row, which holds everything the blocks hold, so the blocks' BEGIN and COMMIT are
 * dropped: the same schema and data when the file succeeds, nothing changed when it fails.
 *
 * Only plain blocks qualify: each `BEGIN` / `START TRANSACTION` closed by a `COMMIT` / `END` before
 * the next opens. A block with options (isolation level, read only, AND CHAIN) would be dropped
 * with a meaning, and a directive file has no transaction to take the blocks' place: both are
 * refused here. Anything else (ROLLBACK, SAVEPOINT, a COMMIT with no BEGIN, a BEGIN never closed,
 * nested blocks) is left in place for the caller to refuse, each statement with its line.
 */
function unwrapTransaction(
  all: Statement[],
  directives: Directives,
  relativePath: string,
  problems: Problem[],
): { statements: Statement[]; wrapped: boolean; opening?: string; closing?: string } | undefined {
  const unchanged = { statements: all, wrapped: false };
  const blocks: [Statement, Statement][] = [];
  let open: Statement | undefined;
  for (const s of all) {
    if (!s.transactionControl) continue;
    if (s.transactionKind === "TRANS_STMT_BEGIN" || s.transactionKind === "TRANS_STMT_START") {
      if (open) return unchanged;
      open = s;
    } else if (s.transactionKind === "TRANS_STMT_COMMIT" && open) {
      blocks.push([open, s]);
      open = undefined;
    } else {
      return unchanged;
    }
  }
  if (open || blocks.length === 0) return unchanged;
  const [first, last] = blocks[0]!;
  if (!directives.transactional) {
    problems.push({
      file: relativePath,
      line: first.line,
      column: first.column,
      message: `${first.transactionControl}: this file says -- migrate:no-transaction but wraps its SQL in a transaction; remove the wrapper or the directive`,
    });
    return undefined;
  }
  const optioned = blocks.flat().find((s) => s.transactionOptions);
  if (optioned) {
    problems.push({
      file: relativePath,
      line: optioned.line,
      column: optioned.column,
      message: `"${optioned.sql.replace(/\s+/g, " ")}": the migrator runs a file's BEGIN … COMMIT blocks in its own one transaction, with the server's defaults, so these options would be dropped; remove them (or the block)`,
    });
    return undefined;
  }
  const dropped = new Set(blocks.flat());
  return { statements: all.filter((s) => !dropped.has(s)), wrapped: true, opening: first.transactionControl!, closing: last.transactionControl! };
}

function checkLockFile(text: string, problems: Problem[]): void {
  const provider = /^\s*provider\s*=\s*"([^"]*)"/m.exec(text)?.[1];
  if (provider === undefined) {
    problems.push({ file: LOCK_FILE, message: 'has no provider line; it should say provider = "postgresql"' });
  } else if (provider !== "postgresql") {
    problems.push({ file: LOCK_FILE, message: `says provider = "${provider}", but this migrator applies PostgreSQL migrations only` });
  }
}

/**
 * Reads many small files, at most `workers` at once (thousands of descriptors open together
 * could pass the process's limit); undefined for a file that does not exist.
 */
async function readAll(paths: string[], workers = 32): Promise<(Buffer | undefined)[]> {
  const out: (Buffer | undefined)[] = new Array(paths.length);
  let next = 0;
  const work = async () => {
    for (let i = next++; i < paths.length; i = next++) {
      try {
        out[i] = await readFile(paths[i]!);
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code !== "ENOENT") throw error;
        out[i] = undefined;
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(workers, paths.length) }, work));
  return out;
}

/**
 * Reads and checks the whole set before anything runs: layout, names, order,
 * encoding, directives, and every statement through PostgreSQL's own parser.
 * Every problem in the set is reported together, in one MigrationSetError.
 */
export async function readMigrationSet(dir: string): Promise<MigrationSet> {
  const { set, problems } = await readMigrationSetWithProblems(dir);
  if (problems.length > 0) throw new MigrationSetError(problems);
  return set;
}

/**
 * The same reading, keeping what could be read: the set holds every file that was read, checked
 * and parsed without a problem, and `problems` lists the rest. For `lint`, which reports on every
 * readable file of a set with problems; nothing that runs SQL takes a set this way.
 */
export async function readMigrationSetWithProblems(dir: string): Promise<{ set: MigrationSet; problems: Problem[] }> {
  const root = path.resolve(dir);
  const problems: Problem[] = [];
  if (!existsSync(root) || !(await stat(root)).isDirectory()) {
    throw new MigrationSetError([{ file: dir, message: "is not a folder; name the migrations folder with --dir" }]);
  }
  await loadParser();
  const entries = await readdir(root, { withFileTypes: true });
  const folders: { version: string; name: string; folder: string }[] = [];
  for (const entry of entries) {
    if (entry.name.startsWith(".")) continue;
    if (entry.isFile() && entry.name === LOCK_FILE) {
      checkLockFile(await readFile(path.join(root, LOCK_FILE), "utf8"), problems);
      continue;
    }
    if (!entry.isDirectory()) {
      problems.push({
        file: entry.name,
        message: `is not a migration folder; the set holds only <version>_<name>/${MIGRATION_FILE} folders and ${LOCK_FILE}: move it out`,
      });
      continue;
    }
    const match = FOLDER.exec(entry.name);
    if (!match) {
      problems.push({
        file: entry.name,
        message: /^\d+_/.test(entry.name)
          ? `folder name holds a control character (${JSON.stringify(entry.name).slice(1, -1)}); rename it without tabs or line breaks, e.g. 20260123015816_add_v2_tables`
          : 'folder name must start with its version, digits and "_" (Prisma\'s <yyyymmddHHMMSS>_<name>), e.g. 20260123015816_add_v2_tables',
      });
      continue;
    }
    folders.push({ version: match[1]!, name: match[2]!, folder: entry.name });
  }

  // Prisma's order: folder names compared bytewise (its migrations directory listing, sorted).
  // A file is identified by its folder, so two folders may share a version and versions may differ
  // in width: the name says where each one goes.
  folders.sort((a, b) => (a.folder < b.folder ? -1 : a.folder > b.folder ? 1 : 0));

  const contents = await readAll(folders.map((f) => path.join(root, f.folder, MIGRATION_FILE)));
  const files: MigrationFile[] = [];
  for (const [i, f] of folders.entries()) {
    const relativePath = `${f.folder}/${MIGRATION_FILE}`;
    const filePath = path.join(root, f.folder, MIGRATION_FILE);
    const content = contents[i];
    if (content === undefined) {
      problems.push({ file: f.folder, message: `has no ${MIGRATION_FILE}; add it or remove the folder` });
      continue;
    }
    const raw = decodeUtf8(content, relativePath, problems);
    if (raw === undefined) continue;
    const text = withoutBom(raw);
    if (isUntouchedTemplate(normaliseText(text), f.name)) {
      problems.push({ file: relativePath, message: "is still the template `migrate new` wrote; write its SQL, or delete the folder" });
      continue;
    }
    const checked = checkFile(text, relativePath, problems);
    if (!checked) continue;
    files.push({
      version: f.version,
      name: f.name,
      folder: f.folder,
      relativePath,
      path: filePath,
      checksum: checksumOf(normaliseText(text)),
      transactional: checked.mode === "transaction",
      mode: checked.mode,
      wrapped: checked.wrapped,
      ...(checked.directives.lockTimeoutMs === undefined ? {} : { lockTimeoutMs: checked.directives.lockTimeoutMs }),
      ...(checked.directives.statementTimeoutMs === undefined ? {} : { statementTimeoutMs: checked.directives.statementTimeoutMs }),
      statements: checked.statements,
    });
  }
  return { set: { dir: root, files }, problems };
}
