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
 * Reads `-- migrate:<name> [value]` lines from the file's leading comments.
 * An unknown or misplaced directive is an error rather than ignored: a misspelt
 * `no-transaction` silently ignored would run CONCURRENTLY inside a transaction.
 */
export function readDirectives(text: string): { directives: Directives; problems: DirectiveProblem[] } {
  const directives: Directives = { transactional: true };
  const problems: DirectiveProblem[] = [];
  const lines = text.split("\n");
  let inHeader = true;
  lines.forEach((raw, i) => {
    const line = i + 1;
    const trimmed = raw.trim();
    if (inHeader && trimmed !== "" && !trimmed.startsWith("--")) inHeader = false;
    if (!PREFIX.test(raw)) return;
    if (!inHeader) {
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
