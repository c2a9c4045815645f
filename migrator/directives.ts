import { didYouMean } from "./did-you-mean.js";
import { parseDuration } from "./durations.js";

/** What a file's leading `-- migrate:` comments say about how to run it. */
export interface Directives {
  transactional: boolean;
  lockTimeoutMs?: number;
  statementTimeoutMs?: number;
}

export interface DirectiveProblem {
  line: number;
  message: string;
}

const KNOWN = ["no-transaction", "lock-timeout", "statement-timeout"] as const;
const DIRECTIVE = /^\s*--\s*migrate\s*:\s*([A-Za-z_-]*)\s*(?:[=\s]\s*(\S*))?\s*$/i;
/** Any spelling of the prefix: "-- Migrate:" must be checked, not silently taken for a comment. */
const PREFIX = /^\s*--\s*migrate\s*:/i;
/** A comment after the directive, "-- migrate:no-transaction -- why", is the author's, not a value. */
const TRAILING_COMMENT = /^(\s*--\s*migrate\s*:.*?)\s+--.*$/i;

/**
 * The file's leading comments: where the first token starts, and where each `--` line comment
 * before it starts (one inside a block comment is commented out, not a comment line).
 * Prisma writes a destructive migration's warnings as a block comment at the top, so the
 * header runs through block comments as well as line comments.
 */
function leadingComments(text: string): { end: number; lineComments: Set<number> } {
  const lineComments = new Set<number>();
  let i = 0;
  for (;;) {
    while (i < text.length && /\s/.test(text[i]!)) i++;
    if (text.startsWith("--", i)) {
      lineComments.add(i);
      const end = text.indexOf("\n", i);
      i = end === -1 ? text.length : end + 1;
    } else if (text.startsWith("/*", i)) {
      // Nested, as PostgreSQL's lexer reads them.
      let depth = 1;
      for (i += 2; i < text.length && depth > 0;) {
        const step = text.startsWith("/*", i) ? 1 : text.startsWith("*/", i) ? -1 : 0;
        depth += step;
        i += step === 0 ? 1 : 2;
      }
    } else return { end: i, lineComments };
  }
}

/**
 * Reads `-- migrate:<name> [value]` lines from the file's leading comments.
 * An unknown or misplaced directive is an error rather than ignored: a misspelt
 * `no-transaction` silently ignored would run CONCURRENTLY inside a transaction.
 */
export function readDirectives(text: string): { directives: Directives; problems: DirectiveProblem[] } {
  const directives: Directives = { transactional: true };
  const problems: DirectiveProblem[] = [];
  const header = leadingComments(text);
  let lineStart = 0;
  text.split("\n").forEach((raw, i) => {
    const line = i + 1;
    const at = lineStart + raw.indexOf("-");
    lineStart += raw.length + 1;
    const trimmed = raw.trim();
    if (!PREFIX.test(raw)) return;
    // Inside a block comment at the top: commented out, as the author meant.
    if (at < header.end && !header.lineComments.has(at)) return;
    if (at >= header.end) {
      problems.push({ line, message: `"${trimmed}" is a directive, but directives are read only from the comment lines at the top of the file; move it there` });
      return;
    }
    const match = DIRECTIVE.exec(raw.replace(TRAILING_COMMENT, "$1"));
    const name = match?.[1] ?? "";
    const value = match?.[2];
    if (!(KNOWN as readonly string[]).includes(name)) {
      const guess = didYouMean(name, KNOWN, 3);
      const hint = guess ? `did you mean "-- migrate:${guess}"?` : `known directives: ${KNOWN.map((k) => `migrate:${k}`).join(", ")}`;
      problems.push({ line, message: `unknown directive "${trimmed}"; ${hint}` });
      return;
    }
    if (name === "no-transaction") {
      if (value) problems.push({ line, message: `"-- migrate:no-transaction" takes no value` });
      directives.transactional = false;
      return;
    }
    if (!value) {
      problems.push({ line, message: `"-- migrate:${name}" needs a duration, e.g. "-- migrate:${name} 5s"` });
      return;
    }
    try {
      const ms = parseDuration(value, `-- migrate:${name}`);
      if (name === "lock-timeout") directives.lockTimeoutMs = ms;
      else directives.statementTimeoutMs = ms;
    } catch (error) {
      problems.push({ line, message: (error as Error).message });
    }
  });
  return { directives, problems };
}
