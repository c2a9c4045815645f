/**
 * The SCRAM-SHA-256 verifier PostgreSQL keeps for a password (RFC 5802 and RFC 7677, in the form
 * `SCRAM-SHA-256$<iterations>:<salt>$<StoredKey>:<ServerKey>`, each part base64).
 *
 * The program hands the postgresql provider this verifier as the role's password instead of the
 * password itself. PostgreSQL stores a `PASSWORD` that parses as a verifier as it is given, so:
 * - every password works: the provider writes the value into `ALTER ROLE … PASSWORD '…'` with its
 *   own quoting, which doubles a backslash inside a standard string (the role got another password
 *   than the configured one); a verifier holds only base64, `$`, `:` and digits, which no quoting
 *   changes;
 * - the clear password never reaches the provider, its state entry, the server's statement log
 *   or pg_stat_statements; only the migrator's DATABASE_URL (a Pulumi secret) holds it.
 */
import { createHash, createHmac, pbkdf2Sync } from "node:crypto";

/** PostgreSQL's own default (scram_iterations, 4096 since PostgreSQL 10). */
export const SCRAM_ITERATIONS = 4096;
const SALT_BYTES = 16;

/** What `SCRAM-SHA-256$…` strings PostgreSQL takes as a verifier (parse_scram_secret in its auth-scram.c). */
export const SCRAM_VERIFIER = /^SCRAM-SHA-256\$(\d+):([A-Za-z0-9+/]+={0,2})\$([A-Za-z0-9+/]+={0,2}):([A-Za-z0-9+/]+={0,2})$/;

const hmac = (key: Buffer, text: string) => createHmac("sha256", key).update(text, "utf8").digest();

/**
 * The salt, derived from the password and the role instead of drawn at random. The verifier is a
 * Role input that the engine compares on every preview: a random salt would make a new verifier,
 * so a diff and an ALTER ROLE, on every `pulumi preview` and `up`, and `refresh` could never be
 * clean. HMAC keyed by the password is a pseudo-random function, so the salt tells nothing about
 * the password, and the role name makes two roles with one password get different verifiers
 * (as the salts of PostgreSQL's own random verifiers would). The salt changes exactly when the
 * password or the role does, which is when the verifier must change anyway.
 */
export function scramSalt(password: string, role: string): Buffer {
  return hmac(Buffer.from(password, "utf8"), `pg-migrations SCRAM-SHA-256 salt for role ${role}`).subarray(0, SALT_BYTES);
}

/**
 * The verifier for `password`, over its UTF-8 bytes as they are. PostgreSQL normalizes a
 * non-ASCII password with SASLprep when it makes a verifier itself, and libpq (psql) does when it
 * logs in; node-postgres, the migrator's driver, does not. For an ASCII password (and any password
 * SASLprep leaves as it is) all of them agree with this verifier; for one SASLprep would change
 * (not in NFKC form, say) the migrator logs in and psql does not: see `saslprepMayChange`.
 */
export function scramSha256Verifier(password: string, salt: Buffer, iterations: number = SCRAM_ITERATIONS): string {
  if (password === "") throw new Error("a SCRAM-SHA-256 verifier needs a password that is not empty");
  if (!Number.isInteger(iterations) || iterations < 1) throw new Error(`SCRAM-SHA-256 iterations must be a positive integer, not ${iterations}`);
  const salted = pbkdf2Sync(Buffer.from(password, "utf8"), salt, iterations, 32, "sha256");
  const storedKey = createHash("sha256").update(hmac(salted, "Client Key")).digest();
  const serverKey = hmac(salted, "Server Key");
  return `SCRAM-SHA-256$${iterations}:${salt.toString("base64")}$${storedKey.toString("base64")}:${serverKey.toString("base64")}`;
}

/** The verifier the stack gives `role` for `password` (deterministic: see scramSalt). */
export function roleVerifier(password: string, role: string): string {
  return scramSha256Verifier(password, scramSalt(password, role));
}

/**
 * True when SASLprep (RFC 4013), which libpq applies and node-postgres does not, may change the
 * password: it is not ASCII and NFKC or SASLprep's mappings (non-ASCII spaces, soft hyphen,
 * zero-width and variation characters) change it. Such a password works for the migrator, not
 * for a libpq client typing the same characters.
 */
export function saslprepMayChange(password: string): boolean {
  const chars = [...password];
  if (chars.every((c) => c.codePointAt(0)! < 0x80)) return false;
  const mapped = chars
    .map((c) => (NON_ASCII_SPACES.has(c.codePointAt(0)!) ? " " : c))
    .filter((c) => !MAPPED_TO_NOTHING.has(c.codePointAt(0)!))
    .join("");
  return mapped.normalize("NFKC") !== password;
}

const range = (from: number, to: number) => Array.from({ length: to - from + 1 }, (_, i) => from + i);
/** RFC 3454 table C.1.2, which SASLprep maps to a space. */
const NON_ASCII_SPACES = new Set([0x00a0, 0x1680, ...range(0x2000, 0x200b), 0x202f, 0x205f, 0x3000]);
/** RFC 3454 table B.1, which SASLprep removes. */
const MAPPED_TO_NOTHING = new Set([0x00ad, 0x034f, 0x1806, ...range(0x180b, 0x180d), 0x200c, 0x200d, 0x2060, ...range(0xfe00, 0xfe0f), 0xfeff]);
