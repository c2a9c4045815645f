import { didYouMean } from "../migrator/did-you-mean.js";
import type { ConfigProblem } from "./errors.js";
import { SecretText } from "./secret.js";

/** Raw configuration as Pulumi hands it to a program: "<namespace>:<key>" -> string (lists and maps as JSON). */
export type RawConfig = Readonly<Record<string, string>>;

/** A check on one value: undefined when it is fine, else what is wrong with it. */
export type ValueCheck = (v: string) => string | undefined;

/**
 * Reads typed values out of the raw configuration, collecting every problem instead of stopping
 * at the first. It knows no key of this project: which keys exist, what they allow and what
 * they default to is decided by the caller (stacks/rules.ts). An unset key and a key set to ""
 * are the same: not set. Every key is looked up once per read, through `value`, which is what
 * lets test/stack-config-keys.test.ts record the keys read and hold CONFIG_KEYS to them.
 */
export class ConfigReader {
  readonly problems: ConfigProblem[] = [];

  constructor(
    private readonly raw: RawConfig,
    private readonly namespace: string,
  ) {}

  /** A key of the project's namespace gets its prefix; "aws:region" and the like are kept. */
  fullKey(key: string): string {
    return key.includes(":") ? key : `${this.namespace}:${key}`;
  }

  value(key: string): string | undefined {
    const v = this.raw[this.fullKey(key)];
    return v === undefined || v === "" ? undefined : v;
  }

  isSet(key: string): boolean {
    return this.value(key) !== undefined;
  }

  problem(key: string, message: string): void {
    this.problems.push({ key: this.fullKey(key), message });
  }

  /** The keys of the project's namespace that the configuration names, without the prefix, sorted. */
  namespaceKeys(): string[] {
    const prefix = `${this.namespace}:`;
    return Object.keys(this.raw)
      .filter((k) => k.startsWith(prefix))
      .sort()
      .map((k) => k.slice(prefix.length));
  }

  /** The full name of the known key a misspelt one probably meant, if one is close enough. */
  suggestKey(key: string, known: readonly string[]): string | undefined {
    const guess = didYouMean(key, known, Math.max(2, Math.floor(key.length / 4)));
    return guess === undefined ? undefined : this.fullKey(guess);
  }

  string(key: string, fallback: string, check?: ValueCheck): string {
    return this.optionalString(key, check) ?? fallback;
  }

  optionalString(key: string, check?: ValueCheck): string | undefined {
    const v = this.value(key);
    if (v === undefined) return undefined;
    const complaint = check?.(v);
    if (complaint) {
      this.problem(key, complaint);
      return undefined;
    }
    return v;
  }

  required(key: string, how: string, check?: ValueCheck): string {
    const v = this.optionalString(key, check);
    if (v === undefined && !this.isSet(key)) this.problem(key, `required: ${how}`);
    return v ?? "";
  }

  oneOf<T extends string>(key: string, allowed: readonly T[], fallback: T): T {
    const v = this.value(key);
    if (v === undefined) return fallback;
    if ((allowed as readonly string[]).includes(v)) return v as T;
    this.problem(key, `"${v}" is not allowed; allowed: ${allowed.join(", ")}`);
    return fallback;
  }

  bool(key: string, fallback: boolean): boolean {
    const v = this.value(key);
    if (v === undefined) return fallback;
    if (v === "true") return true;
    if (v === "false") return false;
    this.problem(key, `"${v}" is not a boolean; allowed: true, false`);
    return fallback;
  }

  int(key: string, fallback: number, range: { min: number; max: number; allowed?: readonly number[]; describe?: string }): number {
    const v = this.value(key);
    if (v === undefined) return fallback;
    const n = /^-?\d+$/.test(v.trim()) ? Number(v) : Number.NaN;
    const allowedText = range.describe ?? (range.allowed ? range.allowed.join(", ") : `a whole number from ${range.min} to ${range.max}`);
    if (!Number.isSafeInteger(n) || n < range.min || n > range.max || (range.allowed && !range.allowed.includes(n))) {
      this.problem(key, `"${v}" is not allowed; allowed: ${allowedText}`);
      return fallback;
    }
    return n;
  }

  /** A non-negative decimal from min to max in steps of `step`; undefined when unset or invalid (then a problem). */
  decimal(key: string, range: { min: number; max: number; step: number; describe: string }): number | undefined {
    const v = this.value(key);
    if (v === undefined) return undefined;
    const n = /^\d+(\.\d+)?$/.test(v.trim()) ? Number(v) : Number.NaN;
    if (!(n >= range.min && n <= range.max && Number.isInteger(n / range.step))) {
      this.problem(key, `"${v}" is not allowed; allowed: ${range.describe}`);
      return undefined;
    }
    return n;
  }

  /** A YAML list (Pulumi passes it as JSON) of strings, each checked. */
  list(key: string, fallback: readonly string[], itemCheck: ValueCheck, describe: string): string[] {
    const v = this.value(key);
    if (v === undefined) return [...fallback];
    let parsed: unknown;
    try {
      parsed = JSON.parse(v);
    } catch {
      parsed = undefined;
    }
    if (!Array.isArray(parsed) || !parsed.every((item) => typeof item === "string")) {
      this.problem(key, `must be a list of ${describe} (in YAML: one "- item" per line, or [a, b])`);
      return [...fallback];
    }
    const items = parsed as string[];
    const complaints = items.flatMap((item) => {
      const complaint = itemCheck(item);
      return complaint ? [`"${item}" ${complaint}`] : [];
    });
    if (complaints.length > 0) {
      this.problem(key, `${complaints.join("; ")}; allowed: a list of ${describe}`);
      return [...fallback];
    }
    return items;
  }

  /** A YAML map of strings to strings. */
  stringMap(key: string, check: (k: string, v: string) => string | undefined): Record<string, string> {
    const v = this.value(key);
    if (v === undefined) return {};
    let parsed: unknown;
    try {
      parsed = JSON.parse(v);
    } catch {
      parsed = undefined;
    }
    if (!parsed || typeof parsed !== "object" || Array.isArray(parsed)) {
      this.problem(key, "must be a map of names to text values (in YAML: one `name: value` per line)");
      return {};
    }
    const out: Record<string, string> = {};
    for (const [k, item] of Object.entries(parsed)) {
      if (typeof item !== "string" && typeof item !== "number" && typeof item !== "boolean") {
        this.problem(key, `"${k}" must have a text value`);
        continue;
      }
      const complaint = check(k, String(item));
      if (complaint) this.problem(key, complaint);
      else out[k] = String(item);
    }
    return out;
  }

  secret(key: string, minLength: number, how: string): SecretText {
    const v = this.value(key);
    if (v === undefined) {
      this.problem(key, `required: ${how}`);
      return new SecretText("");
    }
    if (v.length < minLength) this.problem(key, `is ${v.length} characters long; allowed: a secret of at least ${minLength} characters`);
    return new SecretText(v);
  }
}
