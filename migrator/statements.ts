import { loadModule, parseSync } from "libpg-query";
import { versionRequirement, type VersionRequirement } from "./version-rules.js";

/** One top-level SQL statement of a migration file, located in the file. */
export interface Statement {
  /** The statement's text, from its first token (leading comments dropped) to its end. */
  sql: string;
  /** 1-based line and column of the statement's first token in the file. */
  line: number;
  column: number;
  /** Character offset of the first token in the (normalised) file text. */
  offset: number;
  /** The parse node's type, e.g. "CreateStmt", "IndexStmt". */
  kind: string;
  /** Why this statement cannot run inside a transaction block, e.g. "CREATE INDEX CONCURRENTLY". */
  nonTransactional?: string;
  /** BEGIN / COMMIT / ROLLBACK and friends, as the file spells them ("END", "ABORT"): the migrator owns transaction control. */
  transactionControl?: string;
  /** The parser's kind of a transaction statement, e.g. "TRANS_STMT_COMMIT" (END is one too). */
  transactionKind?: string;
  /** Set when a BEGIN / START TRANSACTION sets something (isolation level, read only) or a COMMIT says AND CHAIN. */
  transactionOptions?: "options";
  /** A session `SET` / `RESET` (allowed before the one statement of a no-transaction file). */
  sessionSetting: boolean;
  /** For CREATE INDEX: what the invalid-index repair needs. */
  index?: IndexTarget;
  /** Tables the statement names directly, for saying what a lock timeout was waiting on. */
  relations: RelationName[];
  /** The newest PostgreSQL major some part of it needs (version-rules.ts); absent when no rule applies. */
  requires?: VersionRequirement;
}

export interface RelationName {
  schema?: string;
  name: string;
}

export interface IndexTarget {
  name: string;
  schema?: string;
  table: string;
  concurrent: boolean;
  ifNotExists: boolean;
}

export interface SyntaxProblem {
  line: number;
  column: number;
  message: string;
}

let loaded: Promise<void> | undefined;

/** The parser is WebAssembly; it must be instantiated once before the synchronous calls. */
export function loadParser(): Promise<void> {
  loaded ??= loadModule();
  return loaded;
}

/** Maps character offsets to 1-based line and column. */
export class LineIndex {
  private readonly starts: number[] = [0];
  constructor(text: string) {
    for (let i = text.indexOf("\n"); i !== -1; i = text.indexOf("\n", i + 1)) this.starts.push(i + 1);
  }
  locate(offset: number): { line: number; column: number } {
    let lo = 0;
    let hi = this.starts.length - 1;
    while (lo < hi) {
      const mid = (lo + hi + 1) >> 1;
      if (this.starts[mid]! <= offset) lo = mid;
      else hi = mid - 1;
    }
    return { line: lo + 1, column: offset - this.starts[lo]! + 1 };
  }
}

/**
 * The parser reports UTF-8 byte offsets; JavaScript strings index UTF-16 units.
 * Offsets are asked for in increasing order, so one forward walk converts them all.
 */
function byteToCharConverter(text: string): (byteOffset: number) => number {
  const bytes = Buffer.from(text, "utf8");
  if (bytes.length === text.length) return (b) => b;
  let lastByte = 0;
  let lastChar = 0;
  return (b) => {
    if (b < lastByte) {
      lastByte = 0;
      lastChar = 0;
    }
    lastChar += bytes.toString("utf8", lastByte, b).length;
    lastByte = b;
    return lastChar;
  };
}

/** The UTF-16 index of the character that is `count` code points into `text`. */
function codePointsToIndex(text: string, count: number): number {
  let index = 0;
  for (let seen = 0; seen < count && index < text.length; seen++) index += text.codePointAt(index)! > 0xffff ? 2 : 1;
  return index;
}

/** Skips white space, `--` comments and (nested) block comments from `i`. */
export function skipTrivia(text: string, i: number): number {
  for (;;) {
    while (i < text.length && /\s/.test(text[i]!)) i++;
    if (text.startsWith("--", i)) {
      const end = text.indexOf("\n", i);
      i = end === -1 ? text.length : end + 1;
    } else if (text.startsWith("/*", i)) {
      let depth = 1;
      i += 2;
      while (i < text.length && depth > 0) {
        if (text.startsWith("/*", i)) {
          depth++;
          i += 2;
        } else if (text.startsWith("*/", i)) {
          depth--;
          i += 2;
        } else i++;
      }
    } else return i;
  }
}

/** Parses a whole file with PostgreSQL's own parser; call `loadParser()` first. */
export function parseStatements(text: string): { statements: Statement[] } | { error: SyntaxProblem } {
  // libpg-query refuses an empty string ("Query cannot be empty"); an empty file is the caller's to name.
  if (!/\S/.test(text)) return { statements: [] };
  const lines = new LineIndex(text);
  let tree: { stmts?: RawStmt[] };
  try {
    tree = parseSync(text) as { stmts?: RawStmt[] };
  } catch (error) {
    const details = (error as { sqlDetails?: { cursorPosition?: number } }).sqlDetails;
    const message = error instanceof Error ? error.message : String(error);
    // Unlike statement locations (bytes), the error cursor counts characters (code points), as
    // PostgreSQL's own error position does; an emoji is one of them but two UTF-16 units.
    const codePoints = Math.max(0, details?.cursorPosition ?? 0);
    const charPos = Math.min(codePointsToIndex(text, codePoints), text.length);
    return { error: { ...lines.locate(charPos), message } };
  }
  const toChar = byteToCharConverter(text);
  const statements: Statement[] = [];
  for (const raw of tree.stmts ?? []) {
    const startByte = raw.stmt_location ?? 0;
    const start = toChar(startByte);
    const end = raw.stmt_len === undefined || raw.stmt_len === 0 ? text.length : toChar(startByte + raw.stmt_len);
    const first = skipTrivia(text, start);
    const { line, column } = lines.locate(first);
    const sql = text.slice(first, end);
    statements.push({ sql, line, column, offset: first, ...classify(raw.stmt, /^[A-Za-z]*/.exec(sql)![0]) });
  }
  return { statements };
}

interface RawStmt {
  stmt: Record<string, any>;
  stmt_location?: number;
  stmt_len?: number;
}

type Classification = Pick<
  Statement,
  "kind" | "nonTransactional" | "transactionControl" | "transactionKind" | "transactionOptions" | "sessionSetting" | "index" | "relations" | "requires"
>;

const TRANSACTION_CONTROL: Record<string, string> = {
  TRANS_STMT_BEGIN: "BEGIN",
  TRANS_STMT_START: "START TRANSACTION",
  TRANS_STMT_COMMIT: "COMMIT",
  TRANS_STMT_ROLLBACK: "ROLLBACK",
  TRANS_STMT_SAVEPOINT: "SAVEPOINT",
  TRANS_STMT_RELEASE: "RELEASE SAVEPOINT",
  TRANS_STMT_ROLLBACK_TO: "ROLLBACK TO SAVEPOINT",
  TRANS_STMT_PREPARE: "PREPARE TRANSACTION",
  TRANS_STMT_COMMIT_PREPARED: "COMMIT PREPARED",
  TRANS_STMT_ROLLBACK_PREPARED: "ROLLBACK PREPARED",
};
/** Other spellings PostgreSQL accepts, named as written so a message quotes the file. */
const SYNONYMS: Record<string, string> = { END: "END", ABORT: "ABORT" };

/** Statements PostgreSQL refuses inside a transaction block (PreventInTransactionBlock callers). */
function nonTransactionalReason(kind: string, node: any): string | undefined {
  switch (kind) {
    case "IndexStmt":
      return node.concurrent ? "CREATE INDEX CONCURRENTLY" : undefined;
    case "DropStmt":
      return node.concurrent ? "DROP INDEX CONCURRENTLY" : undefined;
    case "ReindexStmt": {
      const concurrently = (node.params ?? []).some((p: any) => p?.DefElem?.defname === "concurrently");
      if (concurrently) return "REINDEX CONCURRENTLY";
      if (node.kind === "REINDEX_OBJECT_SYSTEM" || node.kind === "REINDEX_OBJECT_DATABASE") return "REINDEX DATABASE/SYSTEM";
      return undefined;
    }
    case "VacuumStmt":
      return node.is_vacuumcmd ? "VACUUM" : undefined;
    case "CreatedbStmt":
      return "CREATE DATABASE";
    case "DropdbStmt":
      return "DROP DATABASE";
    case "AlterSystemStmt":
      return "ALTER SYSTEM";
    case "CreateTableSpaceStmt":
      return "CREATE TABLESPACE";
    case "DropTableSpaceStmt":
      return "DROP TABLESPACE";
    case "ClusterStmt":
      return node.relation ? undefined : "CLUSTER without a table";
    case "DiscardStmt":
      return node.target === "DISCARD_ALL" ? "DISCARD ALL" : undefined;
    case "AlterDatabaseStmt":
      return (node.options ?? []).some((o: any) => o?.DefElem?.defname === "tablespace") ? "ALTER DATABASE SET TABLESPACE" : undefined;
    case "AlterSubscriptionStmt":
      // REFRESH copies data by default (copy_data = true), which PostgreSQL refuses in a transaction block.
      return node.kind === "ALTER_SUBSCRIPTION_REFRESH" ? "ALTER SUBSCRIPTION ... REFRESH PUBLICATION" : undefined;
    case "CreateSubscriptionStmt":
      return "CREATE SUBSCRIPTION";
    case "DropSubscriptionStmt":
      return "DROP SUBSCRIPTION";
    case "AlterTableStmt": {
      const detach = (node.cmds ?? []).some((c: any) => c?.AlterTableCmd?.subtype === "AT_DetachPartition" && c.AlterTableCmd.def?.PartitionCmd?.concurrent);
      return detach ? "ALTER TABLE ... DETACH PARTITION CONCURRENTLY" : undefined;
    }
    default:
      return undefined;
  }
}

function rangeVarName(rv: any): RelationName | undefined {
  if (!rv?.relname) return undefined;
  return rv.schemaname ? { schema: rv.schemaname, name: rv.relname } : { name: rv.relname };
}

const DROPPED_RELATIONS = new Set(["OBJECT_TABLE", "OBJECT_INDEX", "OBJECT_VIEW", "OBJECT_MATVIEW", "OBJECT_SEQUENCE", "OBJECT_FOREIGN_TABLE"]);

/**
 * Every table the statement names, anywhere in it (LOCK, TRUNCATE, INSERT ... SELECT FROM, a
 * foreign key's target, DROP TABLE/INDEX), so a lock-timeout message can say which session
 * held what the statement waited for rather than listing unrelated open transactions.
 */
function relationsOf(kind: string, node: any): RelationName[] {
  const found = new Map<string, RelationName>();
  const add = (r: RelationName | undefined) => {
    if (r) found.set(`${r.schema ?? ""}.${r.name}`, r);
  };
  const walk = (value: unknown): void => {
    if (Array.isArray(value)) {
      for (const item of value) if (item && typeof item === "object") walk(item);
    } else if (value && typeof value === "object") {
      add(rangeVarName(value));
      for (const key in value) {
        const child = (value as Record<string, unknown>)[key];
        if (child && typeof child === "object") walk(child);
      }
    }
  };
  walk(node);
  if (kind === "DropStmt" && DROPPED_RELATIONS.has(node.removeType)) {
    for (const object of node.objects ?? []) {
      const parts: string[] = (object?.List?.items ?? []).map((i: any) => i?.String?.sval).filter(Boolean);
      const name = parts.at(-1);
      if (name) add(parts.length > 1 ? { schema: parts.at(-2)!, name } : { name });
    }
  }
  return [...found.values()];
}

function classify(stmt: Record<string, any>, firstWord: string): Classification {
  const kind = Object.keys(stmt)[0] ?? "Unknown";
  const node = stmt[kind] ?? {};
  const relations = relationsOf(kind, node);
  const classification: Classification = {
    kind,
    sessionSetting: kind === "VariableSetStmt" && !node.is_local,
    relations,
  };
  const requires = versionRequirement(stmt);
  if (requires) classification.requires = requires;
  const reason = nonTransactionalReason(kind, node);
  if (reason) classification.nonTransactional = reason;
  if (kind === "TransactionStmt" && TRANSACTION_CONTROL[node.kind]) {
    classification.transactionControl = SYNONYMS[firstWord.toUpperCase()] ?? TRANSACTION_CONTROL[node.kind];
    classification.transactionKind = node.kind;
    if ((node.options ?? []).length > 0 || node.chain) classification.transactionOptions = "options";
  }
  if (kind === "IndexStmt" && node.idxname && node.relation?.relname) {
    classification.index = {
      name: node.idxname,
      ...(node.relation.schemaname ? { schema: node.relation.schemaname } : {}),
      table: node.relation.relname,
      concurrent: Boolean(node.concurrent),
      ifNotExists: Boolean(node.if_not_exists),
    };
  }
  return classification;
}
