/**
 * `npm run audit -- --stack <name> [--out DIR]` or `--from outputs.json`: the auditor's report of
 * a stack (index.html, evidence.json, evidence.json.sha256). Reads the outputs through the Pulumi
 * CLI (never with --show-secrets) or from a saved `pulumi stack output --json`, withholds anything
 * secret-looking, and writes the folder. Exit 0 when the report was written (a failed check or an
 * unmet control is in the report, not an error), 1 when the outputs could not be read, 2 on bad usage.
 */
import { readFile } from "node:fs/promises";
import path from "node:path";
import { parseArgs } from "node:util";
import { buildEvidence } from "./evidence.js";
import { sanitiseOutputs } from "./outputs.js";
import { gitCommit, readLastUpdate, readStackOutputs, type PulumiUpdate } from "./sources.js";
import { writeReport } from "./write.js";

export interface AuditIo {
  stdout: (text: string) => void;
  stderr: (text: string) => void;
  env: NodeJS.ProcessEnv;
  cwd: string;
  /** When the report is made (tests pin it). */
  now?: () => Date;
}

export const USAGE = `usage: npm run audit -- --stack <name> [--out DIR]
       npm run audit -- --from <outputs.json> [--stack <name>] [--out DIR]

  --stack NAME   the Pulumi stack: its outputs (pulumi stack output --json) and last update (pulumi stack history)
  --from FILE    a saved \`pulumi stack output --json\` instead of asking Pulumi (the update is then unknown)
  --out DIR      where to write index.html, evidence.json, evidence.json.sha256 (default: audit-report/<stack>)
`;

class UsageError extends Error {}

function options(argv: string[]) {
  try {
    const { values } = parseArgs({
      args: argv,
      options: { stack: { type: "string" }, from: { type: "string" }, out: { type: "string" }, help: { type: "boolean" } },
      strict: true,
      allowPositionals: false,
    });
    if (!values.help && !values.stack && !values.from) throw new UsageError("name a stack (--stack) or a saved outputs file (--from)");
    return values;
  } catch (error) {
    throw error instanceof UsageError ? error : new UsageError((error as Error).message);
  }
}

export async function runAudit(argv: string[], io: AuditIo): Promise<number> {
  let values: ReturnType<typeof options>;
  try {
    values = options(argv);
  } catch (error) {
    io.stderr(`audit: ${(error as Error).message}\n${USAGE}`);
    return 2;
  }
  if (values.help) {
    io.stdout(USAGE);
    return 0;
  }

  let raw: unknown;
  let outputsSource: string;
  let update: PulumiUpdate | null = null;
  try {
    if (values.from) {
      const file = path.resolve(io.cwd, values.from);
      try {
        raw = JSON.parse(await readFile(file, "utf8"));
      } catch (error) {
        throw new Error(`reading ${values.from}: ${(error as Error).message}`, { cause: error });
      }
      outputsSource = `the file ${path.basename(file)} (a saved pulumi stack output --json)`;
    } else {
      const stack = values.stack!;
      raw = await readStackOutputs(stack, io.cwd, io.env);
      update = await readLastUpdate(stack, io.cwd, io.env);
      outputsSource = `pulumi stack output --json --stack ${stack}`;
    }
  } catch (error) {
    io.stderr(`audit: ${(error as Error).message}\n`);
    return 1;
  }

  let sanitised: ReturnType<typeof sanitiseOutputs>;
  try {
    sanitised = sanitiseOutputs(raw);
  } catch (error) {
    io.stderr(`audit: ${(error as Error).message}\n`);
    return 1;
  }
  for (const r of sanitised.redactions) io.stderr(`audit: withheld ${r.path}: ${r.reason}\n`);

  const controlsStack = (sanitised.outputs.controls as { stack?: unknown } | undefined)?.stack;
  const stack = values.stack ?? (typeof controlsStack === "string" ? controlsStack : "unknown");
  const evidence = buildEvidence({
    outputs: sanitised.outputs,
    redactions: sanitised.redactions,
    stack,
    outputsSource,
    pulumiUpdate: update,
    gitCommit: await gitCommit(io.cwd, io.env),
    generatedAt: (io.now ?? (() => new Date()))(),
  });
  const dir = path.resolve(io.cwd, values.out ?? path.join("audit-report", stack));
  const written = await writeReport(dir, evidence);
  const checks = evidence.verification ? `${evidence.verification.passed} checks passed, ${evidence.verification.failed} failed` : "no verification output";
  const controls = evidence.controls?.applies ? `${evidence.controls.summary.met} of ${evidence.controls.rows.length} controls met` : "controls do not apply";
  io.stdout(`${written.page}\n${written.evidence} sha256 ${written.sha256}\n${stack}: ${controls}; ${checks}\n`);
  return 0;
}
