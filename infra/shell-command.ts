/**
 * Command lines for the command.local.Command resources (migrations.ts, verification.ts), which
 * the provider runs with /bin/sh: every word quoted, so a path or a flag value is never split or
 * expanded.
 */

/** Quotes one word for /bin/sh: everything inside single quotes is literal. */
export function shellQuote(word: string): string {
  return /^[A-Za-z0-9_./:=@%+-]+$/.test(word) ? word : `'${word.replace(/'/g, `'\\''`)}'`;
}

/** A command line from words, each quoted for /bin/sh. */
export function shellCommand(words: readonly string[]): string {
  return words.map(shellQuote).join(" ");
}
