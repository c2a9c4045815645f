/**
 * The dev stack end to end without AWS, as the e2e test files share it: its "RDS instance" is an
 * embedded PostgreSQL 17 that accepts TLS only, its commands and role resources really run
 * (support/pulumi-e2e.ts), and `up()` is one `pulumi up -s dev` with the emulated state kept.
 * Registers its own beforeAll/afterAll; call it at the top level of a test file.
 */
import { afterAll, beforeAll, vi } from "vitest";
import { copyFixture, ProviderEmulator, startTlsServer, type TlsServer } from "./pulumi-e2e.js";
import { readStackFile, runProgram, type ProgramRun } from "./pulumi.js";

export const E2E_MIGRATOR_PASSWORD = "e2e-migrator-password-0123456789";

export interface DevStackE2E {
  readonly server: TlsServer;
  readonly emulator: ProviderEmulator;
  readonly set: Awaited<ReturnType<typeof copyFixture>>;
  /** The database the stack deploys to; a test that replaces it sets a new one (created first). */
  database: string;
  sql<T = Record<string, unknown>>(query: string, db?: string): Promise<T[]>;
  up(extra?: Record<string, string>): Promise<ProgramRun>;
  /** The commands that ran in the last `up`, by resource name. */
  ran(): string[];
}

export function devStackE2E(options: { resourceId: string; database?: string }): DevStackE2E {
  let server: TlsServer | undefined;
  let emulator: ProviderEmulator | undefined;
  let set: Awaited<ReturnType<typeof copyFixture>> | undefined;
  const ready = <T>(value: T | undefined): T => {
    if (value === undefined) throw new Error("the dev stack e2e harness is used before its beforeAll ran");
    return value;
  };

  const harness: DevStackE2E = {
    get server() {
      return ready(server);
    },
    get emulator() {
      return ready(emulator);
    },
    get set() {
      return ready(set);
    },
    database: options.database ?? "app",
    async sql<T = Record<string, unknown>>(query: string, db = harness.database): Promise<T[]> {
      const client = await ready(server).connect(db);
      try {
        return (await client.query(query)).rows as T[];
      } finally {
        await client.end();
      }
    },
    async up(extra: Record<string, string> = {}): Promise<ProgramRun> {
      ready(emulator).startRun();
      vi.resetModules();
      return runProgram({
        stack: "dev",
        config: {
          ...readStackFile("dev").config,
          "pg-migrations:migrationsDir": `${ready(set).dir}/migrations`,
          "pg-migrations:verifyDir": `${ready(set).dir}/verify`,
          "pg-migrations:migratorPassword": E2E_MIGRATOR_PASSWORD,
          "pg-migrations:databaseName": harness.database,
          ...extra,
        },
        secretKeys: ["pg-migrations:migratorPassword"],
        onResource: ready(emulator).onResource,
        onCall: ready(emulator).onCall,
      });
    },
    ran: () => ready(emulator).executed.map((c) => c.name),
  };

  beforeAll(async () => {
    server = await startTlsServer();
    await server.createDatabase(harness.database);
    set = await copyFixture("test/fixtures/stack-basic");
    const [version] = await harness.sql<{ server_version: string }>("SHOW server_version", "postgres");
    emulator = new ProviderEmulator({
      port: server.port,
      resourceId: options.resourceId,
      engineVersion: version!.server_version,
      master: server.master,
      superuserSql: async (db, statements) => {
        for (const s of statements) await harness.sql(s, db);
      },
    });
  }, 120_000);

  afterAll(async () => {
    await server?.stop();
    await set?.cleanup();
  });

  return harness;
}
