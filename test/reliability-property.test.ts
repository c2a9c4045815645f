/**
 * Property-based tests: random and mutated SQL fed to the reader and the planner. Whatever the
 * text, they never throw an unhandled exception: a file is accepted (and plans as one step) or
 * refused with problems that name it and a line inside it; a set is read or refused with exit 2.
 */
import fc from "fast-check";
import { readdirSync, readFileSync } from "node:fs";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { exitCodeOf, MigrationSetError, type Problem } from "../migrator/errors.js";
import { checkFile, checksumOf, normaliseText, readMigrationSet, withoutBom, type MigrationFile } from "../migrator/files.js";
import type { LedgerRow } from "../migrator/ledger.js";
import { plan } from "../migrator/plan.js";
import { loadParser } from "../migrator/statements.js";
import { ROOT } from "./support/cli.js";
import { removeSets, writeSet } from "./support/sets.js";

afterAll(removeSets);
beforeAll(loadParser);

const SEED_DIR = path.join(ROOT, "sql", "migrations");
/** The real set's files: the material the mutations start from. */
const SEED_TEXTS = readdirSync(SEED_DIR, { withFileTypes: true })
  .filter((e) => e.isDirectory())
  .map((e) => normaliseText(readFileSync(path.join(SEED_DIR, e.name, "migration.sql"), "utf8")));

/** Pieces that stress the reader: quoting, comments, dollar quotes, directives, transaction control, meta-commands. */
const TOKENS = [
  ";",
  "'",
  '"',
  "$$",
  "$tag$",
  "--",
  "/*",
  "*/",
  "\n",
  "\r\n",
  "\\i x.sql",
  "\\connect db",
  "BEGIN;",
  "COMMIT;",
  "ROLLBACK;",
  "-- migrate:no-transaction\n",
  "-- migrate:notransaction\n",
  "-- migrate:lock-timeout 5s\n",
  "-- migrate:statement-timeout 0\n",
  "CREATE INDEX CONCURRENTLY i ON t (a);",
  "VACUUM;",
  "SET lock_timeout = 0;",
  "\uFEFF",
  "\u0000",
  "é",
  "😀",
  "E'\\''",
  "U&'\\0041'",
];

const mutation = fc.oneof(
  fc.record({ kind: fc.constant("delete" as const), at: fc.nat(), length: fc.integer({ min: 1, max: 40 }) }),
  fc.record({ kind: fc.constant("insert" as const), at: fc.nat(), text: fc.oneof(fc.constantFrom(...TOKENS), fc.string({ maxLength: 8 })) }),
  fc.record({ kind: fc.constant("duplicate" as const), at: fc.nat(), length: fc.integer({ min: 1, max: 80 }) }),
);

type Mutation = typeof mutation extends fc.Arbitrary<infer T> ? T : never;

function mutate(text: string, mutations: Mutation[]): string {
  let out = text;
  for (const m of mutations) {
    const at = out.length === 0 ? 0 : m.at % (out.length + 1);
    if (m.kind === "delete") out = out.slice(0, at) + out.slice(at + m.length);
    else if (m.kind === "insert") out = out.slice(0, at) + m.text + out.slice(at);
    else out = out.slice(0, at) + out.slice(at, at + m.length) + out.slice(at);
  }
  return out;
}

const mutatedSql = fc.tuple(fc.constantFrom(...SEED_TEXTS), fc.array(mutation, { minLength: 1, maxLength: 6 })).map(([text, ms]) => mutate(text, ms));
const tokenSoup = fc
  .array(fc.oneof(fc.constantFrom(...TOKENS), fc.constantFrom("CREATE TABLE t (a int)", "SELECT 1", "ALTER TABLE t ADD b int", " ", "x")), { maxLength: 30 })
  .map((parts) => parts.join(" "));
const anySql = fc.oneof(fc.string({ unit: "binary", maxLength: 300 }), fc.string({ maxLength: 300 }), mutatedSql, tokenSoup);

const FILE = "1_prop/migration.sql";

/** What the reader promises for one text: a parsed file or problems that locate themselves in it. */
function readOne(text: string): MigrationFile | undefined {
  // Parsed and run as written (CRs kept); only the checksum sees the normalised text.
  const written = withoutBom(text);
  const problems: Problem[] = [];
  const checked = checkFile(written, FILE, problems);
  const lines = written.split("\n").length;
  if (!checked) {
    expect(problems.length).toBeGreaterThan(0);
    for (const p of problems) {
      expect(p.file).toBe(FILE);
      expect(p.message.trim().length).toBeGreaterThan(0);
      if (p.line !== undefined) {
        expect(p.line).toBeGreaterThanOrEqual(1);
        expect(p.line).toBeLessThanOrEqual(lines);
      }
    }
    // The CLI would print them as one exit-2 error.
    expect(exitCodeOf(new MigrationSetError(problems))).toBe(2);
    return undefined;
  }
  expect(problems).toEqual([]);
  // An empty or comment-only file is a no-op that runs in a transaction; any other has statements.
  if (checked.statements.length === 0) expect(checked.mode).toBe("transaction");
  // The parser stops at a NUL byte: a file holding one must be refused, or the SQL after it would vanish.
  expect(written).not.toContain("\u0000");
  for (const s of checked.statements) {
    expect(s.line).toBeGreaterThanOrEqual(1);
    expect(s.line).toBeLessThanOrEqual(lines);
  }
  return {
    version: "1",
    name: "prop",
    folder: "1_prop",
    relativePath: FILE,
    path: FILE,
    checksum: checksumOf(normaliseText(text)),
    transactional: checked.mode === "transaction",
    mode: checked.mode,
    wrapped: checked.wrapped,
    statements: checked.statements,
  };
}

const ledgerRow = fc.record({
  version: fc.constantFrom("0", "1", "2", "99999999999999999999"),
  status: fc.constantFrom("applied" as const, "baselined" as const, "started" as const),
  sameChecksum: fc.boolean(),
});

describe("random and mutated SQL", () => {
  test("the reader never throws: a file is accepted or refused with problems located inside it", () => {
    fc.assert(
      fc.property(anySql, (text) => {
        readOne(text);
      }),
      { numRuns: 1500 },
    );
  });

  test("an accepted file always plans: one apply step on an empty ledger; with any ledger, a plan or a ledger conflict", () => {
    fc.assert(
      fc.property(fc.oneof(mutatedSql, tokenSoup), fc.array(ledgerRow, { maxLength: 4 }), fc.boolean(), fc.boolean(), (text, rows, allowOutOfOrder, ignoreUnknown) => {
        const file = readOne(text);
        if (!file) return;
        const set = { dir: "/set", files: [file] };
        const fresh = plan(set, []);
        expect(fresh.steps).toEqual([{ action: "apply", file, resumed: false }]);

        const unique = [...new Map(rows.map((r) => [r.version, r])).values()];
        const ledger: LedgerRow[] = unique.map((r) => ({
          folder: `${r.version}_prop`,
          version: r.version,
          name: "prop",
          checksum: r.sameChecksum ? file.checksum : "0".repeat(64),
          transactional: file.transactional,
          status: r.status,
          appliedAt: new Date(0),
          durationMs: null,
          appliedBy: "postgres",
          clientAddr: null,
        }));
        try {
          const planned = plan(set, ledger, { allowOutOfOrder, ignoreUnknown });
          expect(planned.steps.length + planned.applied.length).toBe(1);
        } catch (error) {
          // Only the typed refusals, each with the exit code the CLI would use.
          expect((error as Error).name).toMatch(/^(LedgerConflictError|UsageError|MigrationSetError)$/);
          expect([1, 2]).toContain(exitCodeOf(error));
        }
      }),
      { numRuns: 1000 },
    );
  });

  test("a whole set of random bytes on disk is read or refused with exit 2, never a crash", async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(
          fc.oneof(
            fc.uint8Array({ maxLength: 200 }).map((b) => Buffer.from(b)),
            mutatedSql,
          ),
          { minLength: 1, maxLength: 3 },
        ),
        async (contents) => {
          const dir = await writeSet(contents.map((sql, i) => ({ version: String(i + 1), name: `f${i + 1}`, sql })));
          try {
            const set = await readMigrationSet(dir);
            expect(plan(set, []).steps).toHaveLength(contents.length);
          } catch (error) {
            expect(error).toBeInstanceOf(MigrationSetError);
            expect(exitCodeOf(error)).toBe(2);
            for (const p of (error as MigrationSetError).problems) expect(p.file).toMatch(/^\d+_f\d+\/migration\.sql$/);
          }
        },
      ),
      { numRuns: 60 },
    );
  });
});
