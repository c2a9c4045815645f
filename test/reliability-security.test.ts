/**
 * Security of the migrator: no password in anything a run prints, whatever fails; TLS as sslmode
 * says (on a TLS-only server, like RDS with rds.force_ssl); no credentials to a remote host in
 * clear; ledger identifiers validated and quoted; the ledger says who applied each file and the
 * application role cannot write it.
 */
import { execFile, execFileSync } from "node:child_process";
import { randomBytes } from "node:crypto";
import { mkdtemp, rm } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { migrate, migrateJson, migrateProcess, printed, ROOT, type CliRun } from "./support/cli.js";
import { freshDatabase, withTestClient } from "./support/database.js";
import { silentServer } from "./support/faults.js";
import { query, relationExists } from "./support/migrator-db.js";
import { startTlsServer, type TlsServer } from "./support/pulumi-e2e.js";
import { removeSets, writeSet, type SetFile } from "./support/sets.js";

const SET: SetFile[] = [
  { version: "1", name: "tls_seen", sql: "CREATE TABLE tls_seen AS SELECT ssl, version FROM pg_stat_ssl WHERE pid = pg_backend_pid();\n" },
  { version: "2", name: "items", sql: "CREATE TABLE items (id int PRIMARY KEY);\n" },
];

let tls: TlsServer;
let scratch: string;
let dir: string;
/** A CA that did not sign the server's certificate. */
let otherCa: string;

beforeAll(async () => {
  tls = await startTlsServer();
  scratch = await mkdtemp(path.join(os.tmpdir(), "security-"));
  otherCa = path.join(scratch, "other-ca.pem");
  execFileSync(
    "openssl",
    ["req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1", "-subj", "/CN=not the server's CA", "-keyout", path.join(scratch, "other-ca.key"), "-out", otherCa],
    { stdio: "pipe" },
  );
  dir = await writeSet(SET);
}, 120_000);

afterAll(async () => {
  await tls?.stop();
  await rm(scratch, { recursive: true, force: true });
  await removeSets();
});

/** The master user's URL to a fresh database on the TLS-only server, with `params` as its query string. */
async function tlsUrl(params: string, password = tls.master.password): Promise<string> {
  const database = `sec_${randomBytes(4).toString("hex")}`;
  await tls.createDatabase(database);
  return `postgresql://${tls.master.user}:${encodeURIComponent(password)}@localhost:${tls.port}/${database}${params ? `?${params}` : ""}`;
}

async function tlsSeen(url: string): Promise<{ ssl: boolean; version: string }[]> {
  const client = await tls.connect(new URL(url).pathname.slice(1));
  try {
    return (await client.query("SELECT ssl, version FROM tls_seen")).rows;
  } finally {
    await client.end();
  }
}

describe("TLS: sslmode honoured on a server that accepts only TLS", () => {
  test("verify-full with a CA bundle path: connects, verifies, and the migrator's own session is encrypted", async () => {
    const url = await tlsUrl(`sslmode=verify-full&sslrootcert=${encodeURIComponent(tls.caFile)}`);
    const run = await migrate(["apply", "--dir", dir, "--database-url", url]);
    expect(run.code, printed(run)).toBe(0);
    expect(await tlsSeen(url)).toEqual([{ ssl: true, version: expect.stringMatching(/^TLSv1\.[23]$/) }]);
  });

  test("the same through PGSSLMODE and PGSSLROOTCERT", async () => {
    const url = new URL(await tlsUrl(""));
    const run = await migrate(["apply", "--dir", dir], {
      PGHOST: "localhost",
      PGPORT: url.port,
      PGUSER: tls.master.user,
      PGPASSWORD: tls.master.password,
      PGDATABASE: url.pathname.slice(1),
      PGSSLMODE: "verify-full",
      PGSSLROOTCERT: tls.caFile,
    });
    expect(run.code, printed(run)).toBe(0);
    expect((await tlsSeen(url.toString()))[0]!.ssl).toBe(true);
  });

  test("verify-full with a CA that did not sign the certificate: refused, exit 1, nothing applied", async () => {
    const url = await tlsUrl(`sslmode=verify-full&sslrootcert=${encodeURIComponent(otherCa)}`);
    const run = await migrate(["apply", "--dir", dir, "--database-url", url]);
    expect(run.code, printed(run)).toBe(1);
    expect(run.stderr).toMatch(/connecting to dbadmin@localhost:\d+\/sec_\w+ failed: .*(self[- ]signed|unable to verify|certificate)/i);
    expect(printed(run)).not.toContain(tls.master.password);
  });

  test("require: encrypted without verifying the certificate", async () => {
    const url = await tlsUrl("sslmode=require");
    const run = await migrate(["apply", "--dir", dir, "--database-url", url]);
    expect(run.code, printed(run)).toBe(0);
    expect((await tlsSeen(url))[0]!.ssl).toBe(true);
  });

  test("disable against the TLS-only server: the server's refusal, exit 1, no password", async () => {
    const url = await tlsUrl("sslmode=disable");
    const run = await migrate(["apply", "--dir", dir, "--database-url", url]);
    expect(run.code, printed(run)).toBe(1);
    expect(run.stderr).toMatch(/no pg_hba\.conf entry .*no encryption/);
    expect(printed(run)).not.toContain(tls.master.password);
  });

  test("an sslrootcert that cannot be read is bad usage (exit 2) before connecting", async () => {
    const url = await tlsUrl(`sslmode=verify-full&sslrootcert=${encodeURIComponent(path.join(scratch, "missing.pem"))}`);
    const run = await migrate(["apply", "--dir", dir, "--database-url", url]);
    expect(run.code, printed(run)).toBe(2);
    expect(run.stderr).toMatch(/sslrootcert .*missing\.pem cannot be read; name a PEM file with the CA bundle/);
  });
});

describe("a non-local host without TLS", () => {
  test("is refused before any connection (exit 2), by URL or PGSSLMODE, unless --allow-insecure-connection", async () => {
    for (const [argv, env] of [
      [["--database-url", "postgresql://app:hunter22@db.invalid:5432/app?sslmode=disable"], {}],
      [["--database-url", "postgresql://app:hunter22@db.invalid:5432/app?sslmode=prefer"], {}],
      [[], { PGHOST: "db.invalid", PGUSER: "app", PGPASSWORD: "hunter22", PGSSLMODE: "allow" }],
    ] as [string[], NodeJS.ProcessEnv][]) {
      const run = await migrate(["apply", "--dir", dir, ...argv], env);
      expect(run.code, printed(run)).toBe(2);
      expect(run.stderr).toMatch(/refusing to send credentials to db\.invalid without TLS \(sslmode=(disable|prefer|allow)\); use sslmode=verify-full/);
      expect(printed(run)).not.toContain("hunter22");
    }
    // Allowed explicitly, it goes on to connect (and fails on the name, which does not resolve).
    const allowed = await migrate([
      "apply",
      "--dir",
      dir,
      "--allow-insecure-connection",
      "--database-url",
      "postgresql://app:hunter22@db.invalid:5432/app?sslmode=disable",
    ]);
    expect(allowed.code, printed(allowed)).toBe(1);
    expect(allowed.stderr).toMatch(/connecting to app@db\.invalid:5432\/app failed: .*(ENOTFOUND|EAI_AGAIN)/);
    expect(printed(allowed)).not.toContain("hunter22");
  });
});

describe("no password in anything a run prints", () => {
  const PASSWORD = `Pw-${randomBytes(6).toString("hex")}:/@?&=`;
  let url: string;
  let role: string;

  beforeAll(async () => {
    url = await freshDatabase("nopw");
    const database = new URL(url).pathname.slice(1);
    role = `mig_${database.slice(-8)}`;
    await query(
      url,
      `CREATE ROLE ${role} LOGIN PASSWORD '${PASSWORD.replace(/'/g, "''")}'; GRANT ALL ON DATABASE ${database} TO ${role}; GRANT ALL ON SCHEMA public TO ${role}`,
    );
  });

  function urlWith(password: string, change: (u: URL) => void = () => {}): string {
    const u = new URL(url);
    u.username = role;
    u.password = encodeURIComponent(password);
    change(u);
    return u.toString();
  }

  function expectNoPassword(what: string, run: CliRun): void {
    const all = printed(run);
    for (const form of [PASSWORD, encodeURIComponent(PASSWORD), PASSWORD.slice(0, 15)]) expect(all, `${what} printed the password`).not.toContain(form);
  }

  test("not from the server or the driver: failing SQL that echoes the URL, wrong password, refused, silent server, bad TLS, --json, processes, the main job", async () => {
    const good = urlWith(PASSWORD);
    // The server's error message carries the whole connection URL, password and all.
    const echo = await writeSet([{ version: "1", name: "echo", sql: `SELECT ${"$u$"}${good}${"$u$"}::int;\n` }]);
    const detail = await writeSet([
      { version: "1", name: "detail", sql: `DO $$ BEGIN RAISE EXCEPTION 'boom' USING DETAIL = '${good}', HINT = 'password=${PASSWORD}'; END $$;\n` },
    ]);
    const silent = await silentServer();
    try {
      const runs: [string, CliRun][] = [
        ["server echoes the URL", await migrate(["apply", "--dir", echo, "--database-url", good])],
        ["server echoes it in --json", await migrateJson(["apply", "--dir", echo, "--database-url", good])],
        ["detail and hint", await migrateJson(["apply", "--dir", detail, "--database-url", good])],
        ["wrong password", await migrate(["status", "--dir", dir, "--database-url", urlWith(`${PASSWORD}x`)])],
        ["refused", await migrateJson(["apply", "--dir", dir, "--database-url", urlWith(PASSWORD, (u) => (u.port = "1"))])],
        [
          "silent server",
          await migrate([
            "apply",
            "--dir",
            dir,
            "--database-url",
            urlWith(PASSWORD, (u) => {
              u.port = String(silent.port);
              u.search = "connect_timeout=1";
            }),
          ]),
        ],
        ["bad sslmode", await migrate(["apply", "--dir", dir, "--database-url", urlWith(PASSWORD, (u) => (u.search = "sslmode=bogus"))])],
        ["TLS to a non-TLS server", await migrate(["apply", "--dir", dir, "--database-url", urlWith(PASSWORD, (u) => (u.search = "sslmode=require"))])],
        ["process, server echoes the URL", await migrateProcess(["apply", "--dir", echo, "--json"], { DATABASE_URL: good })],
        [
          "process, PGPASSWORD, wrong database",
          await migrateProcess(["plan", "--dir", dir], { PGHOST: "127.0.0.1", PGPORT: new URL(url).port, PGUSER: role, PGPASSWORD: PASSWORD, PGDATABASE: "nope" }),
        ],
        ["main job, wrong password", await mainJob({ DATABASE_URL: urlWith(`${PASSWORD}x`) })],
        ["no password", await migrateProcess(["status", "--dir", dir], { DATABASE_URL: urlWith(PASSWORD, (u) => (u.password = "")), HOME: "/nonexistent" })],
      ];
      expect(runs[0]![1].code).toBe(1);
      expect(runs[0]![1].stderr).toMatch(/invalid input syntax for type integer/);
      expect(runs[2]![1].stdout).toMatch(/"detail": "postgresql:\/\/mig_\w+:\*\*\*@/);
      expect(runs[3]![1].stderr).toMatch(/password authentication failed for user "mig_\w+"/);
      const noPassword = runs.find(([what]) => what === "no password")![1];
      expect(noPassword.code).toBe(1);
      expect(noPassword.stderr).toMatch(/the server asks for a password and none was given; set PGPASSWORD/);
      for (const [what, run] of runs) {
        expect(run.code, `${what}: ${printed(run)}`).not.toBe(0);
        expectNoPassword(what, run);
      }
    } finally {
      await silent.close();
    }
  }, 120_000);
});

/** `npm start` as a process: the main job prints its own report and errors. */
function mainJob(env: NodeJS.ProcessEnv): Promise<CliRun> {
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      [path.join(ROOT, "dist", "start.js")],
      { cwd: ROOT, env: { PATH: process.env.PATH ?? "", HOME: process.env.HOME ?? "", ...env } },
      (error, stdout, stderr) => {
        resolve({ code: error ? Number((error as { code?: number }).code ?? 1) : 0, stdout, stderr });
      },
    );
  });
}

describe("ledger identifiers from configuration", () => {
  test("anything but a plain identifier is bad usage (exit 2) and nothing is created", async () => {
    const url = await freshDatabase("ident");
    for (const [flag, value] of [
      ["--ledger-schema", 'x"; DROP TABLE items; --'],
      ["--ledger-table", "applied; DROP SCHEMA public"],
      ["--ledger-table", "Applied"],
      ["--ledger-schema", "1st"],
      ["--ledger-table", "a".repeat(64)],
      ["--ledger-schema", ""],
    ] as const) {
      const run = await migrate(["apply", "--dir", dir, "--database-url", url, flag, value]);
      expect(run.code, `${flag} ${value}: ${printed(run)}`).toBe(2);
      expect(run.stderr).toContain(`${flag} "${value}" is not a plain identifier`);
    }
    expect(await query(url, "SELECT nspname FROM pg_namespace WHERE nspname NOT LIKE 'pg\\_%' AND nspname NOT IN ('public', 'information_schema')")).toEqual([]);
  });

  test("valid names are quoted: reserved words work as schema and table", async () => {
    const url = await freshDatabase("ident");
    const run = await migrate(["apply", "--dir", dir, "--database-url", url, "--ledger-schema", "select", "--ledger-table", "user"]);
    expect(run.code, printed(run)).toBe(0);
    expect(await query(url, `SELECT version FROM "select"."user" ORDER BY version`)).toEqual([{ version: "1" }, { version: "2" }]);
  });
});

describe("who applied each file, and who may write the ledger", () => {
  test("the ledger records current_user and the client address; the application role can neither write nor read it", async () => {
    const url = await freshDatabase("who");
    const database = new URL(url).pathname.slice(1);
    const suffix = database.slice(-8);
    const [deployer, app] = [`deploy_${suffix}`, `app_${suffix}`];
    const password = randomBytes(9).toString("hex");
    // The deploy role owns the schema; the application gets read/write on whatever the deploy role
    // creates, by database-wide default privileges (no IN SCHEMA), which would reach the ledger too.
    await query(
      url,
      `CREATE ROLE ${deployer} LOGIN PASSWORD '${password}'; GRANT CREATE ON DATABASE ${database} TO ${deployer};
       CREATE ROLE ${app} LOGIN PASSWORD '${password}'; ALTER SCHEMA public OWNER TO ${deployer}; GRANT USAGE ON SCHEMA public TO ${app};
       ALTER DEFAULT PRIVILEGES FOR ROLE ${deployer} GRANT USAGE ON SCHEMAS TO ${app};
       ALTER DEFAULT PRIVILEGES FOR ROLE ${deployer} GRANT SELECT, INSERT, UPDATE, DELETE, TRUNCATE ON TABLES TO ${app}`,
    );
    const as = (role: string) => {
      const u = new URL(url);
      u.username = role;
      u.password = password;
      return u.toString();
    };
    const run = await migrate(["apply", "--dir", dir, "--database-url", as(deployer)]);
    expect(run.code, printed(run)).toBe(0);
    expect(await query(url, "SELECT version, applied_by, host(client_addr) AS client FROM migrator.applied_migrations ORDER BY version")).toEqual([
      { version: "1", applied_by: deployer, client: "127.0.0.1" },
      { version: "2", applied_by: deployer, client: "127.0.0.1" },
    ]);

    await withTestClient(as(app), async (c) => {
      // The application's grants reach its tables...
      await c.query("INSERT INTO items VALUES (1)");
      // ...and not the ledger, in any way.
      for (const sql of [
        "INSERT INTO migrator.applied_migrations (folder, version, name, checksum, transactional, status) VALUES ('9_x', '9', 'x', 'x', true, 'applied')",
        "UPDATE migrator.applied_migrations SET checksum = 'x'",
        "DELETE FROM migrator.applied_migrations",
        "TRUNCATE migrator.applied_migrations",
        "SELECT * FROM migrator.applied_migrations",
        "CREATE TABLE migrator.fake (id int)",
      ]) {
        await expect(c.query(sql), sql).rejects.toMatchObject({ code: "42501" });
      }
    });
    expect(await relationExists(url, "migrator.fake")).toBe(false);
  });
});
