import { execFile } from "node:child_process";
import { readFile } from "node:fs/promises";
import path from "node:path";
import { parseArgs } from "node:util";
import { resolveConnection, withClient, type ConnectionTarget } from "../migrator/connection.js";
import { ExitCode, exitCodeOf, formatProblem, UsageError } from "../migrator/errors.js";
import { readMigrationSet, type MigrationSet } from "../migrator/files.js";
import { DEFAULT_APPLY_SETTINGS } from "../migrator/apply.js";
import { DEFAULT_REHEARSAL_MAJOR, readTargetState, rehearse, type Rehearsal } from "../migrator/rehearse.js";
import { rehearsalLine } from "../migrator/rehearse-format.js";
import { DEFAULT_LARGE_TABLE_ROWS } from "../migrator/rehearse-size.js";
import type { Reporter } from "../migrator/reporter.js";
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
With --rehearse, the pending files are applied first on a throw-away embedded PostgreSQL of the
database's major (else the stack's engineVersion), after a replay of the applied ones: each
file's schema changes, the locks it really held, and any failure with file:line.

  --stack NAME            the stack (one)
  --preview-json FILE     read \`pulumi preview --json\` from FILE instead of running it
  --database-url URL      read what is applied from this database's ledger (else DATABASE_URL;
                          with neither, from the stack's state as the preview shows it)
  --dir DIR               migrations folder (default sql/migrations)
  --ledger-schema NAME    the ledger's schema in that database (default: the one the stack's
                          apply command names in the preview, else migrator)
  --allow-insecure-connection  connect to a non-local host without TLS
  --rehearse              rehearse the pending files (migrate rehearse; the database, if any,
                          is only read) and add what each changes to the review
  --full                  no 64,000-character limit (the comment's limit)
  -h, --help              this text

Exit codes: 0 the review was printed; 1 the preview or the database could not be read, or
(after printing the review) a pending file failed its rehearsal; 2 bad usage or a bad
migration set.
`;

const OPTIONS = {
  stack: { type: "string" },
  "preview-json": { type: "string" },
  "database-url": { type: "string" },
  dir: { type: "string" },
  "ledger-schema": { type: "string" },
  "allow-insecure-connection": { type: "boolean" },
  full: { type: "boolean" },
  rehearse: { type: "boolean" },
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

const SILENT: Reporter = { event: () => {} };

/**
 * `--rehearse`: the files `up` would apply, rehearsed on a scratch server. With the database
 * reachable, what is applied, the major, the live catalog (the replay is checked against it) and
 * the tables' sizes come from it, read-only; else the applied part is the stack's state and the
 * major the stack's engineVersion (17 when the preview does not say).
 */
async function rehearseForReview(
  set: MigrationSet,
  ledger: readonly LedgerRow[],
  target: ConnectionTarget | undefined,
  ledgerSchema: string | undefined,
  stackMajor: number | undefined,
): Promise<Rehearsal> {
  const location = validateLedgerLocation({ ...DEFAULT_LEDGER, schema: ledgerSchema ?? DEFAULT_LEDGER.schema });
  const settings = { ...DEFAULT_APPLY_SETTINGS, ledger: location };
  const pending = pendingFiles(set, ledger);
  const common = { set, pending, settings, largeTableRows: DEFAULT_LARGE_TABLE_ROWS };
  if (target) {
    const state = await withClient(target, (client) =>
      readTargetState(client, { ledger: location, lockWaitMs: 60_000, reporter: SILENT, dir: set.dir }, set, target.display),
    );
    return rehearse({
      ...common,
      applied: state.applied,
      major: state.major,
      majorFrom: "database",
      appliedFrom: "ledger",
      roles: state.roles,
      target: state,
      notes: state.notes,
    });
  }
  const done = new Set(ledger.filter((r) => r.status !== "started").map((r) => r.folder));
  return rehearse({
    ...common,
    applied: set.files.filter((f) => done.has(f.folder)),
    major: stackMajor ?? DEFAULT_REHEARSAL_MAJOR,
    majorFrom: stackMajor !== undefined ? "stack" : "default",
    appliedFrom: "stack",
    roles: [],
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
    const rehearsal = values.rehearse ? await rehearseForReview(set, ledger, target, explicitSchema ?? preview.ledgerSchema, preview.pgMajor) : undefined;
    const review = buildReview({
      stack,
      set,
      ledger,
      appliedFrom: target ? "database" : "preview",
      lint,
      preview,
      lintMajor: pgMajor,
      ...(drift ? { drift } : {}),
      ...(rehearsal ? { rehearsal } : {}),
      ...(adoption ? { adoption } : {}),
    });
    io.stdout(renderReview(review, { secrets, ...(values.full ? { limit: Number.MAX_SAFE_INTEGER } : {}) }));
    // A pending file that does not apply fails the pull request here, not `up`: after the comment, which says why.
    if (rehearsal && rehearsal.summary.failed > 0) {
      io.stderr(redact(`error: ${rehearsalLine(rehearsal).replace(/\*\*/g, "")}\n`, secrets));
      return ExitCode.failed;
    }
    return ExitCode.ok;
  } catch (error) {
    io.stderr(redact(`error: ${(error as Error).message ?? String(error)}\n`, secrets));
    return exitCodeOf(error);
  }
}
