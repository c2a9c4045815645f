import { UsageError } from "./errors.js";

const UNIT_MS: Record<string, number> = { ms: 1, s: 1000, min: 60_000, m: 60_000, h: 3_600_000 };

/** Parses "500ms", "5s", "2min", "1h" or a bare number of milliseconds; 0 means no limit. */
export function parseDuration(text: string, what: string): number {
  const match = /^\s*(\d+(?:\.\d+)?)\s*(ms|s|min|m|h)?\s*$/.exec(text);
  if (!match) {
    throw new UsageError(`${what}: "${text}" is not a duration; use a number with ms, s, min or h (e.g. 5s), or 0 for no limit`);
  }
  return Math.round(Number(match[1]) * UNIT_MS[match[2] ?? "ms"]!);
}
