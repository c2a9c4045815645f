/**
 * The command line as users and the Pulumi commands meet it: usage errors and --help, the
 * --json documents of status, verify and apply, where the database comes from, and no
 * password anywhere in what is printed.
 */
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { HELP, OPTIONS } from "../migrator/cli.js";
import { migrate, migrateJson, migrateProcess, printed, type CliRun } from "./support/cli.js";
import { freshDatabase } from "./support/database.js";
import { ledgerRows, query, relationExists } from "./support/migrator-db.js";
import { checksumOfText, removeSets, writeSet, writeVerifySet, type SetFile } from "./support/sets.js";

afterAll(removeSets);

const FILES: SetFile[] = [
  { version: "1", name: "users", sql: "CREATE TABLE users (id int PRIMARY KEY, email text);\n" },
  { version: "2", name: "users_email", sql: "-- migrate:no-transaction\nCREATE INDEX CONCURRENTLY users_email ON users (email);\n" },
  { version: "3", name: "orders", sql: "CREATE TABLE orders (id int PRIMARY KEY, user_id int REFERENCES users);\n" },
];

let dir: string;
beforeAll(async () => {
  dir = await writeSet(FILES);
});

describe("usage", () => {
  test("--help lists every command and every flag, exit 0", async () => {
    const run = await migrate(["--help"]);
    expect(run.code).toBe(0);
    expect(run.stdout).toBe(HELP);
    for (const verb of ["plan", "apply", "status", "verify", "lint"]) expect(HELP).toMatch(new RegExp(`^  ${verb}\\s`, "m"));
    const flags = Object.keys(OPTIONS);
    expect(flags.length).toBeGreaterThan(15);
    for (const flag of flags) expect(HELP, flag).toContain(`--${flag}`);
    expect((await migrate(["apply", "-h"])).code).toBe(0);
  });

  test.each([
    [["frobnicate"], /^error: unknown command "frobnicate"; commands: plan, apply, status, verify, lint, new, drift, rehearse\n$/],
    [[], /^error: no command given; commands: plan, apply, status, verify, lint, new, drift, rehearse; see --help\n$/],
    [["apply", "--no-such-flag"], /^error: unknown option --no-such-flag \(see --help\)\n$/],
    [["apply", "--lock-timout", "1s"], /^error: unknown option --lock-timout; did you mean --lock-timeout\? \(see --help\)\n$/],
    [["apply", "extra"], /^error: unexpected argument "extra"; see --help\n$/],
    [["apply", "--database-url"], /^error: --database-url needs a value/],
    [["apply", "--database-url", ""], /^error: --database-url is empty; name the database/],
    [["apply", "--lock-timeout", "soon"], /^error: --lock-timeout: "soon" is not a duration; use a number with ms, s, min or h \(e\.g\. 5s\), or 0 for no limit\n$/],
    [["apply", "--lock-retries", "three"], /^error: --lock-retries "three" is not a whole number\n$/],
    // An empty value is a mistake too, not "use the default".
    [["apply", "--lock-timeout="], /^error: --lock-timeout: "" is not a duration/],
    [["apply", "--lock-retries="], /^error: --lock-retries "" is not a whole number/],
    [["apply", "--ledger-schema", "Bad-Name"], /^error: --ledger-schema "Bad-Name" is not a plain identifier/],
    [["plan", "--database-url", "mysql://u:p@h/db"], /^error: the database URL is not a postgres:\/\/ or postgresql:\/\/ URL/],
    [["plan", "--database-url", "postgres://u@db.example.com/app?sslmode=disable"], /^error: refusing to send credentials to db\.example\.com without TLS/],
    [["plan", "--database-url", "postgres://u@localhost/app?sslmode=sometimes"], /^error: sslmode "sometimes" is not one of/],
  ])("%j is exit 2 with one clear message and nothing on stdout", async (argv, message) => {
    const run = await migrate(argv);
    expect(run.code).toBe(2);
    expect(run.stderr).toMatch(message);
    expect(run.stderr.trim().split("\n")).toHaveLength(1);
    expect(run.stdout).toBe("");
  });

  test("with --json a usage error is also a JSON document on stdout", async () => {
    const run = await migrateJson(["apply", "--bogus"]);
    expect(run.code).toBe(2);
    expect(run.json).toEqual({ error: { kind: "UsageError", message: "unknown option --bogus (see --help)" } });
  });

  test("as a process: exit 2 for bad usage, 0 for --help", async () => {
    const [bad, help] = await Promise.all([migrateProcess(["frobnicate"]), migrateProcess(["--help"])]);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/unknown command "frobnicate"/);
    expect(help.code).toBe(0);
    expect(help.stdout).toBe(HELP);
  });
});

describe("--json documents", () => {
  test("status: applied rows with checksum, mode, when and how long; pending files; problems", async () => {
    const url = await freshDatabase("cli");
    const before = await migrateJson(["status", "--database-url", url, "--dir", dir]);
    expect(before.code).toBe(0);
    expect(before.json).toEqual({
      database: expect.stringMatching(/^postgres@127\.0\.0\.1:\d+\/cli_/),
      applied: [],
      pending: FILES.map((f) => ({ folder: `${f.version}_${f.name}`, version: f.version, name: f.name, transactional: f.version !== "2", resumes: false })),
      // No _prisma_migrations here: nothing to adopt.
      adopts: [],
      problems: [],
    });
    // status reads only: it does not create the ledger.
    expect(await relationExists(url, "migrator.applied_migrations")).toBe(false);

    expect((await migrate(["apply", "--database-url", url, "--dir", dir, "--only", "1", "--quiet"])).code).toBe(0);
    expect((await migrate(["apply", "--database-url", url, "--dir", dir, "--only", "2", "--quiet"])).code).toBe(0);
    const after = await migrateJson(["status", "--database-url", url, "--dir", dir]);
    expect(after.code).toBe(0);
    expect(after.json.applied).toEqual([
      expect.objectContaining({ version: "1", name: "users", transactional: true, status: "applied" }),
      {
        folder: "2_users_email",
        version: "2",
        name: "users_email",
        checksum: checksumOfText(FILES[1]!.sql as string),
        transactional: false,
        appliedAt: expect.stringMatching(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/),
        durationMs: expect.any(Number),
        status: "applied",
        appliedBy: "postgres",
      },
    ]);
    expect(after.json.pending).toEqual([{ folder: "3_orders", version: "3", name: "orders", transactional: true, resumes: false }]);
  });

  test("status: text lists each file and the problems, exit 1 when the database disagrees", async () => {
    const url = await freshDatabase("cli");
    expect((await migrate(["apply", "--database-url", url, "--dir", dir, "--quiet"])).code).toBe(0);
    const text = await migrate(["status", "--database-url", url, "--dir", dir]);
    expect(text.code).toBe(0);
    expect(text.stdout).toMatch(/applied\s+2_users_email\s+no-transaction/);
    expect(text.stdout).toMatch(/3 applied, 0 pending\./);

    const fewer = await writeSet(FILES.slice(0, 2));
    const run = await migrateJson(["status", "--database-url", url, "--dir", fewer]);
    expect(run.code).toBe(1);
    expect(run.json.problems).toEqual([{ file: "3_orders", message: expect.stringMatching(/no such migration is in the set/) }]);
    expect((await migrateJson(["status", "--database-url", url, "--dir", fewer, "--ignore-unknown"])).code).toBe(0);
  });

  test("apply: one result per file with mode, action, duration and attempts; progress on stderr", async () => {
    const url = await freshDatabase("cli");
    expect((await migrate(["apply", "--database-url", url, "--dir", dir, "--only", "1", "--quiet"])).code).toBe(0);
    const run = await migrateJson(["apply", "--database-url", url, "--dir", dir]);
    expect(run.code).toBe(0);
    expect(run.json).toEqual({
      database: expect.stringMatching(/^postgres@127\.0\.0\.1:\d+\/cli_/),
      adopted: [],
      results: [
        {
          folder: "2_users_email",
          version: "2",
          name: "users_email",
          file: "2_users_email/migration.sql",
          transactional: false,
          action: "applied",
          durationMs: expect.any(Number),
          attempts: 1,
        },
        {
          folder: "3_orders",
          version: "3",
          name: "orders",
          file: "3_orders/migration.sql",
          transactional: true,
          action: "applied",
          durationMs: expect.any(Number),
          attempts: 1,
        },
      ],
      alreadyApplied: [{ folder: "1_users", version: "1", name: "users", status: "applied", transactional: true }],
    });
    expect(run.stderr).toMatch(/applied\s+2_users_email/);
  });

  test("apply: a failure keeps the results before it and describes the error with its location", async () => {
    const url = await freshDatabase("cli");
    const failing = await writeSet([FILES[0]!, { version: "2", name: "bad", sql: "INSERT INTO users VALUES (1, 'a');\nINSERT INTO users VALUES (1, 'b');\n" }]);
    const run = await migrateJson(["apply", "--database-url", url, "--dir", failing]);
    expect(run.code).toBe(1);
    expect(run.json.results.map((r: { version: string }) => r.version)).toEqual(["1"]);
    expect(run.json.error).toMatchObject({
      kind: "MigrationFailedError",
      file: "2_bad/migration.sql",
      line: 2,
      sqlState: "23505",
      detail: "Key (id)=(1) already exists.",
      rolledBack: true,
    });
    expect(await query(url, "SELECT count(*)::int AS n FROM users")).toEqual([{ n: 0 }]);
  });

  test("verify: every check with name, ok and detail, the totals, exit 1 when one fails; checks cannot write", async () => {
    const url = await freshDatabase("cli");
    expect((await migrate(["apply", "--database-url", url, "--dir", dir, "--quiet"])).code).toBe(0);
    const checks = await writeVerifySet({
      "01_tables":
        "SELECT 'tables' AS check, count(*) = 2 AS ok, string_agg(relname, ',' ORDER BY relname) AS detail FROM pg_class WHERE relname IN ('users', 'orders');",
      "02_ledger":
        "SELECT 'ledger_matches_files' AS check, NOT EXISTS (SELECT FROM migration_files f LEFT JOIN migration_ledger l USING (version, checksum) WHERE l.version IS NULL) AS ok, (SELECT count(*) FROM migration_ledger)::text || ' rows' AS detail;",
    });
    const passing = await migrateJson(["verify", "--database-url", url, "--dir", dir, "--verify-dir", checks]);
    expect(passing.code).toBe(0);
    expect(passing.json).toEqual({
      checks: [
        { name: "tables", ok: true, detail: "orders,users", file: "01_tables.sql" },
        { name: "ledger_matches_files", ok: true, detail: "3 rows", file: "02_ledger.sql" },
      ],
      passed: 2,
      failed: 0,
    });

    const more = await writeVerifySet({
      "01_fails":
        "SELECT 'no_orders' AS check, count(*) = 0 AS ok, 'users: ' || count(*) AS detail FROM users WHERE false UNION ALL SELECT 'orders_empty', false, 'expected a row';",
      "02_writes": "INSERT INTO users VALUES (99, 'x') RETURNING 'wrote' AS check, true AS ok, '' AS detail;",
      "03_nothing": "SELECT 'x' AS check, true AS ok WHERE false;",
    });
    const failing = await migrateJson(["verify", "--database-url", url, "--dir", dir, "--verify-dir", more]);
    expect(failing.code).toBe(1);
    expect(failing.json.passed).toBe(1);
    expect(failing.json.failed).toBe(3);
    expect(failing.json.checks).toEqual([
      { name: "no_orders", ok: true, detail: "users: 0", file: "01_fails.sql" },
      { name: "orders_empty", ok: false, detail: "expected a row", file: "01_fails.sql" },
      { name: "02_writes", ok: false, detail: expect.stringMatching(/the check itself failed: cannot execute INSERT in a read-only transaction/), file: "02_writes.sql" },
      { name: "03_nothing", ok: false, detail: expect.stringMatching(/returned no rows/), file: "03_nothing.sql" },
    ]);
    expect(await query(url, "SELECT count(*)::int AS n FROM users")).toEqual([{ n: 0 }]);
    const text = await migrate(["verify", "--database-url", url, "--dir", dir, "--verify-dir", more]);
    expect(text.stdout).toMatch(/^ {2}FAIL {2}orders_empty: expected a row$/m);
    expect(text.stdout).toMatch(/^1 passed, 3 failed$/m);

    // A check that commits could write for real: refused before any check runs.
    const committing = await writeVerifySet({ "01_sneaky": "SELECT 1;\nCOMMIT;\nDELETE FROM users;\nSELECT 'x' AS check, true AS ok, '' AS detail;" });
    const refused = await migrate(["verify", "--database-url", url, "--dir", dir, "--verify-dir", committing]);
    expect(refused.code).toBe(2);
    expect(refused.stderr).toMatch(/01_sneaky\.sql:2: COMMIT in a verification query; checks run read-only in a transaction that is rolled back/);

    const missing = await migrate(["verify", "--database-url", url, "--dir", dir, "--verify-dir", `${more}/nope`]);
    expect(missing.code).toBe(2);
    expect(missing.stderr).toMatch(/verification folder .*nope does not exist; name it with --verify-dir/);
  });
});

describe("--quiet", () => {
  test("apply --quiet prints the summary only; errors still go to stderr", async () => {
    const url = await freshDatabase("cli");
    const run = await migrate(["apply", "--database-url", url, "--dir", dir, "--quiet"]);
    expect(run.code).toBe(0);
    expect(run.stdout).toMatch(/^Applied 3 migrations in \d+ ms; 0 were already applied\.\n$/);
    expect(run.stderr).toBe("");
    const json = await migrateJson(["apply", "--database-url", url, "--dir", dir, "--quiet"]);
    expect(json.stderr).toBe("");
    expect(json.json.alreadyApplied).toHaveLength(3);
  });
});

describe("which database", () => {
  test("DATABASE_URL, then the PG* variables; --database-url wins over both", async () => {
    const url = await freshDatabase("cli");
    const u = new URL(url);
    const fromEnv = await migrateJson(["status", "--dir", dir], { DATABASE_URL: url });
    expect(fromEnv.code).toBe(0);
    expect(fromEnv.json.database).toBe(`postgres@${u.hostname}:${u.port}${u.pathname}`);

    const pg = { PGHOST: u.hostname, PGPORT: u.port, PGUSER: "postgres", PGPASSWORD: decodeURIComponent(u.password), PGDATABASE: u.pathname.slice(1) };
    const fromPg = await migrateJson(["apply", "--dir", dir, "--only", "1"], pg);
    expect(fromPg.code, printed(fromPg)).toBe(0);
    expect((await ledgerRows(url)).map((r) => r.version)).toEqual(["1"]);

    const other = await freshDatabase("cli");
    const wins = await migrateJson(["status", "--dir", dir, "--database-url", other], { DATABASE_URL: url });
    expect(wins.json.database).toBe(`postgres@${u.hostname}:${u.port}${new URL(other).pathname}`);
  });
});

describe("no password in anything printed", () => {
  const PASSWORD = "S3cr3t-p@ss/w0rd!";
  let url: string;
  let withPassword: URL;
  /** A file that fails with the password in the server's message (it casts the password to int). */
  let failing: string;

  beforeAll(async () => {
    failing = await writeSet([...FILES, { version: "4", name: "leak", sql: `SELECT '${PASSWORD}'::int;\n` }]);
    url = await freshDatabase("secret");
    const database = new URL(url).pathname.slice(1);
    const role = `app_${database.slice(-12)}`;
    await query(url, `CREATE ROLE ${role} LOGIN PASSWORD '${PASSWORD}'; GRANT ALL ON DATABASE ${database} TO ${role}; GRANT ALL ON SCHEMA public TO ${role};`);
    withPassword = new URL(url);
    withPassword.username = role;
    withPassword.password = encodeURIComponent(PASSWORD);
  });

  function expectNoPassword(run: CliRun, what: string) {
    const all = printed(run);
    for (const form of [PASSWORD, encodeURIComponent(PASSWORD), "S3cr3t"]) expect(all, `${what} printed ${form}`).not.toContain(form);
  }

  test("not on success, not when the set fails, not when a file fails, not in --json, not from a process", async () => {
    const good = withPassword.toString();
    const runs: [string, CliRun][] = [
      ["apply", await migrate(["apply", "--database-url", good, "--dir", dir])],
      ["status --json", await migrateJson(["status", "--database-url", good, "--dir", dir])],
      ["plan --json", await migrateJson(["plan", "--database-url", good, "--dir", dir])],
      // The server echoes the failing value, which here is the password itself.
      ["failing file", await migrate(["apply", "--database-url", good, "--dir", failing])],
      ["failing file --json", await migrateJson(["apply", "--database-url", good, "--dir", failing])],
      ["failing file via env", await migrate(["apply", "--dir", failing], { DATABASE_URL: good })],
      [
        "failing file via PGPASSWORD",
        await migrate(["apply", "--dir", failing], {
          PGHOST: withPassword.hostname,
          PGPORT: withPassword.port,
          PGUSER: withPassword.username,
          PGPASSWORD: PASSWORD,
          PGDATABASE: withPassword.pathname.slice(1),
        }),
      ],
      ["URL as a stray argument", await migrate(["apply", good])],
      ["URL as the command", await migrate([good])],
      ["process, failing file", await migrateProcess(["apply", "--dir", failing, "--json"], { DATABASE_URL: good })],
    ];
    expect(runs[0]![1].code, printed(runs[0]![1])).toBe(0);
    expect(runs[3]![1].code).toBe(1);
    expect(runs[3]![1].stderr).toMatch(/invalid input syntax for type integer: "\*\*\*"/);
    expect(runs[9]![1].code).toBe(1);
    for (const [what, run] of runs) expectNoPassword(run, what);
  });

  test("not when the connection fails: wrong password, refused, unknown database, password in the query string", async () => {
    const wrong = new URL(withPassword);
    wrong.password = encodeURIComponent(`${PASSWORD}-wrong`);
    const refused = new URL(withPassword);
    refused.port = "1";
    const noDb = new URL(withPassword);
    noDb.pathname = "/no_such_database";
    const inQuery = `postgresql://${withPassword.username}@${withPassword.host}${withPassword.pathname}?password=${encodeURIComponent(PASSWORD)}&sslmode=disable`;
    const runs: [string, CliRun][] = [
      ["wrong password", await migrate(["status", "--database-url", wrong.toString(), "--dir", dir])],
      ["wrong password --json", await migrateJson(["apply", "--database-url", wrong.toString(), "--dir", dir])],
      ["refused", await migrate(["apply", "--database-url", refused.toString(), "--dir", dir])],
      ["unknown database", await migrateJson(["plan", "--database-url", noDb.toString(), "--dir", dir])],
      ["password in query", await migrate(["apply", "--database-url", inQuery, "--dir", failing])],
      ["process, wrong password", await migrateProcess(["apply", "--dir", dir], { DATABASE_URL: wrong.toString() })],
    ];
    expect(runs[0]![1].stderr).toMatch(/connecting to app_\w+@127\.0\.0\.1:\d+\/secret_\w+ failed: password authentication failed/);
    expect(runs[2]![1].stderr).toMatch(/ECONNREFUSED/);
    for (const [what, run] of runs) {
      expect(run.code, what).toBe(1);
      expectNoPassword(run, what);
    }
    // The query-string password was used for real: the connection worked and the file failed.
    expect(runs[4]![1].stderr).toMatch(/4_leak\/migration\.sql:1/);
    expect((await ledgerRows(url)).map((r) => r.version)).toEqual(["1", "2", "3"]);
  });
});
