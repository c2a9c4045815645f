import { execFile } from "node:child_process";
import { readFile } from "node:fs/promises";
import path from "node:path";
import { parseArgs } from "node:util";
import { resolveConnection, withClient, type ConnectionTarget } from "../migrator/connection.js";
import { ExitCode, exitCodeOf, formatProblem, UsageError } from "../migrator/errors.js";
import { readMigrationSet } from "../migrator/files.js";
import { compareWithSnapshot, type SnapshotComparison } from "../migrator/catalog/snapshot.js";
import { DEFAULT_LEDGER, readLedger, validateLedgerLocation, type LedgerRow } from "../migrator/ledger.js";
import { DEFAULT_LINT_MAJOR, lintMigrations } from "../migrator/lint.js";
import { serverVersionNum } from "../migrator/server-version.js";
import { majorOf } from "../migrator/version-rules.js";
import { summarisePreview } from "./preview.js";
import { redact } from "../migrator/redact.js";
import { buildReview, ledgerFromManifest, pendingFiles, type Adoption } from "./review.js";
import { viewAdoption } from "../migrator/prisma-adopt.js";
import { renderReview } from "./markdown.js";
import { PROJECT_ROOT } from "../migrator/root.js";

export const REVIEW_HELP = `Usage: npm run review -- --stack NAME [options]

Prints a Markdown review of what \`pulumi up\` of one stack will do to its database: the files
pending, each statement's table locks, lint findings with file:line, applied files that were
edited or removed (which up refuses), any database resource the preview replaces or deletes,
and, with a database to read, whether its schema drifted from the snapshot at its applied head.

  --stack NAME            the stack (one)
  --preview-json FILE     read \`pulumi preview --json\` from FILE instead of running it
  --database-url URL      read what is applied from this database's ledger (else DATABASE_URL;
                          with neither, from the stack's state as the preview shows it)
  --dir DIR               migrations folder (default sql/migrations)
  --ledger-schema NAME    the ledger's schema in that database (default: the one the stack's
                          apply command names in the preview, else migrator)
  --allow-insecure-connection  connect to a non-local host without TLS
  --full                  no 64,000-character limit (the comment's limit)
  -h, --help              this text

Exit codes: 0 the review was printed; 1 the preview or the database could not be read;
2 bad usage or a bad migration set.
`;

const OPTIONS = {
  stack: { type: "string" },
  "preview-json": { type: "string" },
  "database-url": { type: "string" },
  dir: { type: "string" },
  "ledger-schema": { type: "string" },
  "allow-insecure-connection": { type: "boolean" },
  full: { type: "boolean" },
  help: { type: "boolean", short: "h" },
} as const;

export interface ReviewIO {
  stdout: (text: string) => void;
  stderr: (text: string) => void;
  env: NodeJS.ProcessEnv;
}

/** `pulumi preview --json --stack NAME` in the project root; its JSON even when the preview fails (it says why). */
export function runPulumiPreview(stack: string, env: NodeJS.ProcessEnv): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile(
      "pulumi",
      ["preview", "--json", "--non-interactive", "--stack", stack],
      { cwd: PROJECT_ROOT, env, maxBuffer: 256 * 1024 * 1024 },
      (error, stdout, stderr) => {
        if (stdout.trim().startsWith("{")) resolve(stdout);
        else reject(new Error(`pulumi preview --json --stack ${stack} failed: ${(stderr || (error as Error | null)?.message || "no output").trim()}`));
      },
    );
  });
}

const STACK_NAME = /^[A-Za-z0-9][A-Za-z0-9_.\-/]*$/;

export async function runReview(argv: string[], io: ReviewIO): Promise<number> {
  let secrets: string[] = [];
  try {
    let parsed;
    try {
      parsed = parseArgs({ args: argv, options: OPTIONS, allowPositionals: true, strict: true });
    } catch (error) {
      throw new UsageError(`${(error as Error).message.split("\n")[0]} (see --help)`);
    }
    const { values, positionals } = parsed;
    if (values.help) {
      io.stdout(REVIEW_HELP);
      return ExitCode.ok;
    }
    if (positionals.length > 0) throw new UsageError(`unexpected argument "${positionals[0]}"; name the stack with --stack`);
    const stack = values.stack;
    if (!stack) throw new UsageError("--stack NAME is required (one stack per review)");
    if (!STACK_NAME.test(stack)) throw new UsageError(`--stack "${stack}" is not a stack name`);
    const url = values["database-url"] ?? io.env.DATABASE_URL;
    if (url !== undefined && url.trim() === "") throw new UsageError("--database-url is empty; leave it out to read what is applied from the preview");
    const target: ConnectionTarget | undefined = url ? resolveConnection(url, io.env, values["allow-insecure-connection"] ?? false) : undefined;
    const explicitSchema = values["ledger-schema"];
    if (explicitSchema !== undefined) validateLedgerLocation({ ...DEFAULT_LEDGER, schema: explicitSchema });
    secrets = target?.secrets ?? [];

    const dir = path.resolve(values.dir ?? path.join(PROJECT_ROOT, "sql/migrations"));
    const set = await readMigrationSet(dir);
    const previewJson = values["preview-json"] !== undefined ? await readFile(values["preview-json"], "utf8") : await runPulumiPreview(stack, io.env);
    const preview = summarisePreview(previewJson);

    let ledger: LedgerRow[];
    // Lint judges for the target's major: the server's own when it is reachable, else the stack's.
    let pgMajor = preview.pgMajor ?? DEFAULT_LINT_MAJOR;
    let drift: SnapshotComparison | undefined;
    let adoption: Adoption | undefined;
    if (target) {
      // The stack's own ledger: a stack with ledgerSchema set keeps it elsewhere than the default.
      const location = validateLedgerLocation({ ...DEFAULT_LEDGER, schema: explicitSchema ?? preview.ledgerSchema ?? DEFAULT_LEDGER.schema });
      // And the schema against the snapshot at the applied head: what `up` with failOnDrift would refuse.
      ({ ledger, drift, pgMajor, adoption } = await withClient(target, async (client) => {
        const rows = await readLedger(client, location, set);
        // A database Prisma migrated: the files it finished are adopted by `up`, not run, so they are not pending.
        const view = await viewAdoption(client, set, rows, {});
        return {
          ledger: view.ledger,
          drift: await compareWithSnapshot(client, location, rows),
          pgMajor: majorOf(await serverVersionNum(client)),
          adoption: { known: true as const, folders: view.adoptions.map((a) => a.file.folder), problems: view.problems.map(formatProblem) },
        };
      }));
    } else if (preview.manifest) {
      ledger = ledgerFromManifest(preview.manifest.before);
      // The state lists nothing applied: the first `up` may meet a database Prisma migrated, which the preview cannot see.
      if (ledger.length === 0) adoption = { known: false };
    } else {
      throw new Error(
        "the preview has no migration-apply command with a manifest, so what is applied cannot be known; give --database-url, or check the stack's program",
      );
    }
    // Only what `up` would apply: a finding in an applied file cannot be acted on.
    const lint = await lintMigrations(set, { pgMajor }, pendingFiles(set, ledger));
    const review = buildReview({
      stack,
      set,
      ledger,
      appliedFrom: target ? "database" : "preview",
      lint,
      preview,
      lintMajor: pgMajor,
      ...(drift ? { drift } : {}),
      ...(adoption ? { adoption } : {}),
    });
    io.stdout(renderReview(review, { secrets, ...(values.full ? { limit: Number.MAX_SAFE_INTEGER } : {}) }));
    return ExitCode.ok;
  } catch (error) {
    io.stderr(redact(`error: ${(error as Error).message ?? String(error)}\n`, secrets));
    return exitCodeOf(error);
  }
}
