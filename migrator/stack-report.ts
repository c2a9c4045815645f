/**
 * The report of the stacks' verification command (bin/stack-report.ts, run by a
 * command.local.Command after the migrations, from the project root): runs the migrator's
 * `status --json` and `verify --json` against DATABASE_URL, looks at the server itself (version,
 * TLS of this very connection), and returns the three as one document, which bin/stack-report.ts
 * prints as JSON and the Pulumi program (infra/verification.ts) turns into the `migrations` and
 * `verification` outputs. No Pulumi here: it runs in the command's process.
 *
 * The process exits 0 when the report was produced, even if checks failed: the outputs must show
 * a failed check, and the program decides what a failure does to `pulumi up`. It exits 1 when no
 * report could be produced (produceReport throws: no connection, a bad set): the command then
 * fails and is retried on the next `up` instead of leaving a broken report in the state.
 *
 * Nothing secret is printed: the migrator redacts, and only the report's JSON goes to stdout.
 */
import { parseArgs } from "node:util";
import { runCli } from "./cli.js";
import { resolveConnection, withClient } from "./connection.js";

export interface ServerFacts {
  version: string;
  /** Whether the connection the report used is encrypted (pg_stat_ssl). */
  connectionEncrypted: boolean;
  tlsVersion: string | null;
  /** RDS's rds.force_ssl, or null on a server that has no such setting. */
  forceSsl: string | null;
}

export interface StackReport {
  status: unknown;
  verify: unknown;
  server: ServerFacts;
}

async function runJson(argv: string[], env: NodeJS.ProcessEnv, stderr: (t: string) => void): Promise<{ code: number; json: unknown }> {
  let out = "";
  const code = await runCli(argv, { stdout: (t) => (out += t), stderr, env });
  try {
    return { code, json: JSON.parse(out) };
  } catch {
    throw new Error(`migrator ${argv[0]} exited ${code} without a JSON report`);
  }
}

async function serverFacts(env: NodeJS.ProcessEnv): Promise<ServerFacts> {
  const target = resolveConnection(undefined, env);
  if (!target) throw new Error("DATABASE_URL is not set; the report never falls back to the embedded PostgreSQL");
  return withClient(target, async (client) => {
    const { rows } = await client.query(
      `SELECT current_setting('server_version') AS version,
              coalesce(s.ssl, false) AS ssl, s.version AS tls_version,
              current_setting('rds.force_ssl', true) AS force_ssl
         FROM (SELECT 1) AS one LEFT JOIN pg_stat_ssl AS s ON s.pid = pg_backend_pid()`,
    );
    const row = rows[0] as { version: string; ssl: boolean; tls_version: string | null; force_ssl: string | null };
    return { version: row.version, connectionEncrypted: row.ssl, tlsVersion: row.tls_version, forceSsl: row.force_ssl || null };
  });
}

export async function produceReport(argv: string[], env: NodeJS.ProcessEnv, stderr: (t: string) => void): Promise<StackReport> {
  const { values } = parseArgs({
    args: argv,
    options: {
      dir: { type: "string" },
      "verify-dir": { type: "string" },
      "ledger-schema": { type: "string" },
      "ignore-unknown": { type: "boolean" },
    },
    strict: true,
  });
  if (!values.dir || !values["verify-dir"]) throw new Error("usage: stack-report.js --dir DIR --verify-dir DIR [--ledger-schema NAME] [--ignore-unknown]");
  if (!env.DATABASE_URL) throw new Error("DATABASE_URL is not set; the report never falls back to the embedded PostgreSQL");
  const common = ["--dir", values.dir, ...(values["ledger-schema"] ? ["--ledger-schema", values["ledger-schema"]] : [])];
  const status = await runJson(["status", ...common, "--json", ...(values["ignore-unknown"] ? ["--ignore-unknown"] : [])], env, stderr);
  const verify = await runJson(["verify", ...common, "--verify-dir", values["verify-dir"], "--json"], env, stderr);
  // Exit 2 (or a JSON error document) means the report itself could not be made.
  for (const [verb, result] of [
    ["status", status],
    ["verify", verify],
  ] as const) {
    if (result.code > 1 || (result.json && typeof result.json === "object" && "error" in result.json)) {
      throw new Error(`migrator ${verb} could not report (exit ${result.code})`);
    }
  }
  return { status: status.json, verify: verify.json, server: await serverFacts(env) };
}
