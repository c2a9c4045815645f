/**
 * The stack outputs as the report may use them: never a secret. `pulumi stack output --json`
 * prints a secret output as "[secret]" (the audit never asks for --show-secrets), but a saved file
 * (`--from`) may have been made with --show-secrets, or hold a connection URL someone put in an
 * output. Every string is checked before anything is rendered or hashed: a URL's password, a
 * libpq `password=`, and any value under a password- or secret-like key are replaced, and each
 * replacement is listed in the report so the auditor knows something was withheld.
 */

export interface Redaction {
  /** Where in the outputs, as a JSON path (`$.database.masterUser.password`). */
  path: string;
  reason: string;
}

export const WITHHELD = "[withheld]";
/** What the posture says in place of the master password: no secret, kept as it is. */
const RDS_MANAGED = "managed by RDS in Secrets Manager";
/** Keys whose value is a secret whatever it looks like (`secretArn` is a name, not a secret). */
const SECRET_KEY = /^(password|passwd|pgpassword|secret|secretstring|token|accesstoken|apikey|privatekey|connectionstring|connectionurl|databaseurl|database_url)$/i;
/** `scheme://user:password@` anywhere in a string. */
const URL_PASSWORD = /\b([a-z][a-z0-9+.-]*:\/\/[^\s/@:]*):([^\s/@]*)@/gi;
/** libpq's keyword form, `password=…`. */
const KEYWORD_PASSWORD = /\bpassword\s*=\s*('[^']*'|\S+)/gi;

function scrubString(value: string, at: string, redactions: Redaction[]): string {
  if (value === "[secret]") {
    redactions.push({ path: at, reason: "a secret output: pulumi stack output --json does not show it, nor does this report" });
    return WITHHELD;
  }
  let scrubbed = value.replace(URL_PASSWORD, (_m, head: string) => `${head}:***@`);
  scrubbed = scrubbed.replace(KEYWORD_PASSWORD, "password=***");
  if (scrubbed !== value) redactions.push({ path: at, reason: "held a password (a connection URL or password=); the password is replaced by ***" });
  return scrubbed;
}

function scrub(value: unknown, at: string, key: string | undefined, redactions: Redaction[]): unknown {
  if (key !== undefined && SECRET_KEY.test(key) && value !== RDS_MANAGED && value !== null && value !== "") {
    redactions.push({ path: at, reason: `a value under "${key}": withheld whatever it holds` });
    return WITHHELD;
  }
  if (typeof value === "string") return scrubString(value, at, redactions);
  if (Array.isArray(value)) return value.map((v, i) => scrub(v, `${at}[${i}]`, undefined, redactions));
  if (value !== null && typeof value === "object") {
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, scrub(v, `${at}.${k}`, k, redactions)]));
  }
  return value;
}

/** The outputs document with every secret-looking value replaced, and where each was. */
export function sanitiseOutputs(doc: unknown): { outputs: Record<string, unknown>; redactions: Redaction[] } {
  if (doc === null || typeof doc !== "object" || Array.isArray(doc)) {
    throw new Error("the stack outputs are not a JSON object (expected what `pulumi stack output --json` prints)");
  }
  const redactions: Redaction[] = [];
  const outputs = scrub(doc, "$", undefined, redactions) as Record<string, unknown>;
  return { outputs, redactions };
}
