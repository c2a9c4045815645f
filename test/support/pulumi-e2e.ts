/**
 * End to end without AWS: the program runs under Pulumi's mocks, and the mocks do what the
 * providers would do, for real, in registration order (a resource registers only after every
 * resource it depends on, so this is dependency order):
 *
 * - the RDS instance "is" an embedded PostgreSQL 17 that only accepts TLS (like rds.force_ssl),
 *   with a non-superuser master user that may create roles and databases (like RDS's);
 * - each command.local.Command runs its `create` through `/bin/sh -c` with its `environment`,
 *   from the project root, as the command provider does; a non-zero exit fails the resource;
 * - each @pulumi/postgresql resource is applied as the SQL the provider issues (run as the
 *   server's superuser, which the provider achieves on RDS by granting itself the owner roles).
 *
 * Like the engine, a resource whose inputs did not change since the previous run is not
 * created again, and a resource that failed keeps its previous state.
 */
import type * as pulumi from "@pulumi/pulumi";
import { execFile, execFileSync } from "node:child_process";
import { randomBytes } from "node:crypto";
import { chmodSync, chownSync, mkdirSync, writeFileSync } from "node:fs";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import pg from "pg";
import { startEmbedded } from "../../migrator/embedded/server.js";
import { reveal, ROOT, type Registered } from "./pulumi.js";

export interface TlsServer {
  host: "localhost";
  port: number;
  /** The CA that signed the server's certificate (for sslrootcert). */
  caFile: string;
  master: { user: string; password: string };
  superuser: { user: string; password: string };
  /** Connects as the superuser, over TLS. */
  connect(database: string): Promise<pg.Client>;
  createDatabase(name: string): Promise<void>;
  stop(): Promise<void>;
}

function openssl(args: string[], cwd: string): void {
  execFileSync("openssl", args, { cwd, stdio: "pipe" });
}

/** A CA and a certificate for localhost signed by it. */
function makeCertificates(dir: string): { caFile: string; certFile: string; keyFile: string } {
  mkdirSync(dir, { recursive: true });
  openssl(["req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2", "-subj", "/CN=e2e test CA", "-keyout", "ca.key", "-out", "ca.pem"], dir);
  openssl(["req", "-newkey", "rsa:2048", "-nodes", "-subj", "/CN=localhost", "-keyout", "server.key", "-out", "server.csr"], dir);
  writeFileSync(path.join(dir, "san.ext"), "subjectAltName=DNS:localhost,IP:127.0.0.1\n");
  openssl(["x509", "-req", "-in", "server.csr", "-CA", "ca.pem", "-CAkey", "ca.key", "-CAcreateserial", "-days", "2", "-extfile", "san.ext", "-out", "server.pem"], dir);
  return { caFile: path.join(dir, "ca.pem"), certFile: path.join(dir, "server.pem"), keyFile: path.join(dir, "server.key") };
}

/** An embedded PostgreSQL 17 that accepts only TLS connections, with an RDS-like master user and rds_iam role. */
export async function startTlsServer(): Promise<TlsServer> {
  const rootDir = await mkdtemp(path.join(os.tmpdir(), "e2e-stack-pg-"));
  chmodSync(rootDir, 0o755);
  const certs = makeCertificates(path.join(rootDir, "certs"));
  const master = { user: "dbadmin", password: randomBytes(12).toString("hex") };
  if (process.getuid?.() === 0) {
    // The server runs as the postgres system user, which must own its key (mode 0600).
    const uid = Number(execFileSync("id", ["-u", "postgres"]).toString().trim());
    const gid = Number(execFileSync("id", ["-g", "postgres"]).toString().trim());
    for (const f of [certs.certFile, certs.keyFile]) chownSync(f, uid, gid);
    chmodSync(path.dirname(certs.keyFile), 0o755);
  }
  chmodSync(certs.keyFile, 0o600);
  // The migrator's own embedded server: as root it also finds binaries the postgres user can run
  // when the checkout sits in a private folder.
  const server = await startEmbedded({
    rootDir: path.join(rootDir, "server"),
    persistent: false,
    settings: { ssl: "on", ssl_cert_file: certs.certFile, ssl_key_file: certs.keyFile, shared_preload_libraries: "pg_stat_statements" },
  });
  const port = server.port;
  const superuser = { user: server.user, password: decodeURIComponent(new URL(server.url()).password) };
  // TLS only, as rds.force_ssl = 1 makes RDS; the server was reached over loopback TCP so far, so reload.
  writeFileSync(path.join(server.dataDir, "pg_hba.conf"), "hostssl all all 127.0.0.1/32 scram-sha-256\n");
  const reload = new pg.Client({ connectionString: server.url("postgres") });
  await reload.connect();
  try {
    await reload.query("SELECT pg_reload_conf()");
  } finally {
    await reload.end();
  }

  const connect = async (database: string) => {
    const client = new pg.Client({ host: "localhost", port, user: superuser.user, password: superuser.password, database, ssl: { ca: await readCa(certs.caFile) } });
    await client.connect();
    return client;
  };
  const admin = await connect("postgres");
  try {
    await admin.query(`CREATE ROLE ${master.user} LOGIN CREATEROLE CREATEDB PASSWORD '${master.password}'`);
    await admin.query("CREATE ROLE rds_iam NOLOGIN");
  } finally {
    await admin.end();
  }
  return {
    host: "localhost",
    port,
    caFile: certs.caFile,
    master,
    superuser,
    connect,
    createDatabase: async (name) => {
      const c = await connect("postgres");
      try {
        await c.query(`CREATE DATABASE "${name}" OWNER ${master.user}`);
      } finally {
        await c.end();
      }
    },
    stop: async () => {
      await server.stop();
      await rm(rootDir, { recursive: true, force: true });
    },
  };
}

async function readCa(file: string): Promise<string> {
  const { readFile } = await import("node:fs/promises");
  return readFile(file, "utf8");
}

const q = (name: string) => `"${name.replace(/"/g, '""')}"`;
const lit = (text: string) => `'${text.replace(/'/g, "''")}'`;

/** The SQL the postgresql provider issues for a resource (terraform-provider-postgresql). */
export function providerSql(type: string, inputs: Record<string, unknown>): string[] {
  const i = reveal<Record<string, any>>(inputs);
  const privileges = ((i.privileges as string[] | undefined) ?? []).join(", ");
  switch (type) {
    case "postgresql:index/role:Role": {
      const attrs = [i.login ? "LOGIN" : "NOLOGIN", i.inherit === false ? "NOINHERIT" : "INHERIT"];
      if (i.password) attrs.push(`PASSWORD ${lit(String(i.password))}`);
      if (i.connectionLimit !== undefined) attrs.push(`CONNECTION LIMIT ${Number(i.connectionLimit)}`);
      return [
        `DO $$ BEGIN
           IF EXISTS (SELECT 1 FROM pg_roles WHERE rolname = ${lit(i.name)}) THEN EXECUTE ${lit(`ALTER ROLE ${q(i.name)} ${attrs.join(" ")}`)};
           ELSE EXECUTE ${lit(`CREATE ROLE ${q(i.name)} ${attrs.join(" ")}`)}; END IF; END $$`,
        ...((i.roles as string[] | undefined) ?? []).map((r) => `GRANT ${q(r)} TO ${q(i.name)}`),
        ...(i.searchPaths ? [`ALTER ROLE ${q(i.name)} SET search_path TO ${(i.searchPaths as string[]).map(q).join(", ")}`] : []),
      ];
    }
    case "postgresql:index/grantRole:GrantRole":
      return [`GRANT ${q(i.grantRole)} TO ${q(i.role)}`];
    case "postgresql:index/schema:Schema":
      return [`CREATE SCHEMA IF NOT EXISTS ${q(i.name)}`, ...(i.owner ? [`ALTER SCHEMA ${q(i.name)} OWNER TO ${q(i.owner)}`] : [])];
    case "postgresql:index/extension:Extension":
      return [`CREATE EXTENSION IF NOT EXISTS ${q(i.name)}`];
    case "postgresql:index/grant:Grant": {
      const role = q(i.role);
      switch (i.objectType) {
        case "database":
          return [`REVOKE ALL PRIVILEGES ON DATABASE ${q(i.database)} FROM ${role}`, `GRANT ${privileges} ON DATABASE ${q(i.database)} TO ${role}`];
        case "schema":
          return [`REVOKE ALL PRIVILEGES ON SCHEMA ${q(i.schema)} FROM ${role}`, `GRANT ${privileges} ON SCHEMA ${q(i.schema)} TO ${role}`];
        case "table":
        case "sequence": {
          const kind = String(i.objectType).toUpperCase();
          const objects = (i.objects as string[] | undefined) ?? [];
          if (objects.length === 0) {
            return [
              `REVOKE ALL PRIVILEGES ON ALL ${kind}S IN SCHEMA ${q(i.schema)} FROM ${role}`,
              `GRANT ${privileges} ON ALL ${kind}S IN SCHEMA ${q(i.schema)} TO ${role}`,
            ];
          }
          const targets = objects.map((o) => `${q(i.schema)}.${q(o)}`).join(", ");
          return [`REVOKE ALL PRIVILEGES ON ${kind} ${targets} FROM ${role}`, `GRANT ${privileges} ON ${kind} ${targets} TO ${role}`];
        }
        default:
          throw new Error(`the emulator has no SQL for a grant on ${i.objectType}`);
      }
    }
    case "postgresql:index/defaultPrivileges:DefaultPrivileges": {
      const kind = { table: "TABLES", sequence: "SEQUENCES", function: "FUNCTIONS", type: "TYPES" }[String(i.objectType)];
      if (!kind) throw new Error(`the emulator has no SQL for default privileges on ${i.objectType}`);
      return [`ALTER DEFAULT PRIVILEGES FOR ROLE ${q(i.owner)} IN SCHEMA ${q(i.schema)} GRANT ${privileges} ON ${kind} TO ${q(i.role)}`];
    }
    default:
      throw new Error(`the emulator does not know ${type}`);
  }
}

export interface CommandRun {
  name: string;
  exitCode: number;
  stdout: string;
  stderr: string;
}

/** Runs a command's create as the command provider does: /bin/sh -c, the environment added to ours, from the project root. */
export function runCreate(create: string, environment: Record<string, string>): Promise<Omit<CommandRun, "name">> {
  return new Promise((resolve) => {
    execFile("/bin/sh", ["-c", create], { cwd: ROOT, env: { ...process.env, ...environment }, maxBuffer: 64 * 1024 * 1024 }, (error, stdout, stderr) => {
      const exitCode = error ? (typeof (error as { code?: unknown }).code === "number" ? (error as { code: number }).code : 1) : 0;
      // The provider trims one trailing newline.
      resolve({ exitCode, stdout: stdout.replace(/\n$/, ""), stderr: stderr.replace(/\n$/, "") });
    });
  });
}

export interface DatabaseBinding {
  /** Where the "RDS instance" or the local config points. */
  port: number;
  /** Changes when the test "replaces" the database. */
  resourceId: string;
  engineVersion: string;
  /** The master secret RDS would keep in Secrets Manager. */
  master: { user: string; password: string };
  /** Runs provider SQL as a superuser, in the named database. */
  superuserSql(database: string, statements: string[]): Promise<void>;
}

/**
 * Emulates the providers for the resources the program registers, across several runs
 * (several `pulumi up`s) against the same "state".
 */
export class ProviderEmulator {
  /** Inputs and state per resource, as the engine's state file would keep them. */
  private readonly state = new Map<string, { inputs: string; outputs: Record<string, unknown> }>();
  /** The commands executed in the current run, in order. */
  executed: CommandRun[] = [];
  /** Provider SQL applied in the current run: `type::name`. */
  applied: string[] = [];
  /** The inputs of the postgresql provider(s) registered in the current run. */
  providers: Record<string, unknown>[] = [];

  constructor(public binding: DatabaseBinding) {}

  startRun(): void {
    this.executed = [];
    this.applied = [];
    this.providers = [];
  }

  readonly onCall = (args: pulumi.runtime.MockCallArgs): Record<string, unknown> | undefined => {
    if (args.token === "aws:secretsmanager/getSecretVersion:getSecretVersion") {
      return { secretString: JSON.stringify({ username: this.binding.master.user, password: this.binding.master.password }) };
    }
    return undefined;
  };

  readonly onResource = async (args: pulumi.runtime.MockResourceArgs, registered: Registered): Promise<Record<string, unknown> | undefined> => {
    const key = `${args.type}::${args.name}`;
    const inputs = args.inputs as Record<string, unknown>;
    if (args.type === "aws:rds/instance:Instance") {
      return {
        address: "localhost",
        port: this.binding.port,
        endpoint: `localhost:${this.binding.port}`,
        resourceId: this.binding.resourceId,
        engineVersionActual: this.binding.engineVersion,
        username: this.binding.master.user,
      };
    }
    if (args.type === "pulumi:providers:postgresql") {
      this.providers.push(reveal(inputs));
      return undefined;
    }
    const serialized = JSON.stringify(reveal(inputs));
    const previous = this.state.get(key);
    if (previous && previous.inputs === serialized) return previous.outputs; // unchanged: the engine does nothing

    if (args.type.startsWith("postgresql:index/")) {
      const database = String(reveal(inputs.database) ?? "");
      await this.binding.superuserSql(database, providerSql(args.type, inputs));
      this.applied.push(key);
      this.state.set(key, { inputs: serialized, outputs: {} });
      return undefined;
    }
    if (args.type === "command:local:Command") {
      const result = await runCreate(String(reveal(inputs.create)), reveal<Record<string, string>>(inputs.environment ?? {}));
      this.executed.push({ ...result, name: args.name });
      if (result.exitCode !== 0) {
        // As the provider reports it; the state keeps the previous run's resource.
        throw new Error(`${registered.name}: exit status ${result.exitCode}: running the create command:\n${result.stdout}\n${result.stderr}`);
      }
      const outputs = { stdout: result.stdout, stderr: result.stderr };
      this.state.set(key, { inputs: serialized, outputs });
      return outputs;
    }
    return undefined;
  };
}

/** A copy of a fixture set in a temporary folder, to add, edit and remove files between runs. */
export async function copyFixture(
  fixture: string,
): Promise<{ dir: string; write(relative: string, text: string): Promise<void>; remove(relative: string): Promise<void>; cleanup(): Promise<void> }> {
  const dir = await mkdtemp(path.join(os.tmpdir(), "e2e-stack-set-"));
  // "<fixture>/." copies the fixture's contents, not the folder (path.join would drop the dot).
  execFileSync("cp", ["-R", `${path.join(ROOT, fixture)}/.`, dir]);
  return {
    dir,
    write: async (relative, text) => {
      mkdirSync(path.dirname(path.join(dir, relative)), { recursive: true });
      await writeFile(path.join(dir, relative), text);
    },
    remove: (relative) => rm(path.join(dir, relative), { recursive: true, force: true }),
    cleanup: () => rm(dir, { recursive: true, force: true }),
  };
}
