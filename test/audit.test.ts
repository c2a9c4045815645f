/**
 * The audit report without a browser: secrets are withheld whichever way the outputs arrive
 * (a "[secret]" from `pulumi stack output --json`, a connection URL with a password in a saved
 * file), values from the database are escaped, the evidence hash verifies with sha256sum, and
 * the CLI's exit codes. The page in a real browser is test/audit-browser.test.ts.
 */
import { execFile, execFileSync } from "node:child_process";
import { chmod, mkdir, mkdtemp, readFile, writeFile } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { promisify } from "node:util";
import { beforeAll, describe, expect, test } from "vitest";
import { runAudit, type AuditIo } from "../audit/cli.js";
import { sanitiseOutputs } from "../audit/outputs.js";
import { DRIFT_LINE, FAILED_CHECK, HOSTILE_DETAIL, HOSTILE_NAME, prodOutputs, SNAPSHOT_SHA256 } from "./support/audit-outputs.js";
import { ROOT } from "./support/pulumi.js";

const PASSWORD = "s3cr3t-Pa55word-do-not-print";
let outputs: Record<string, unknown>;
let tmp: string;

beforeAll(async () => {
  outputs = await prodOutputs();
  tmp = await mkdtemp(path.join(os.tmpdir(), "audit-test-"));
}, 120_000);

function io(env: NodeJS.ProcessEnv = process.env): AuditIo & { out: string; err: string } {
  const captured = { out: "", err: "" };
  return Object.assign(captured, {
    stdout: (t: string) => void (captured.out += t),
    stderr: (t: string) => void (captured.err += t),
    env,
    cwd: tmp,
    now: () => new Date("2026-11-30T21:00:00Z"),
  });
}

async function auditFrom(doc: unknown, name: string) {
  const file = path.join(tmp, `${name}.json`);
  await writeFile(file, JSON.stringify(doc));
  const out = path.join(tmp, name);
  const cli = io();
  const code = await runAudit(["--from", file, "--stack", "prod", "--out", out], cli);
  const read = (f: string) => readFile(path.join(out, f), "utf8");
  return { code, cli, out, page: await read("index.html"), evidence: await read("evidence.json") };
}

describe("secrets never reach the report", () => {
  test("a connection URL with a password in a saved file is redacted, and said so", async () => {
    const url = `postgresql://migrator:${PASSWORD}@db.example:5433/app?sslmode=verify-full`;
    const verification = structuredClone(outputs.verification) as { checks: { detail: string }[] };
    verification.checks[0]!.detail = `connected with ${url}`;
    const doc = { ...outputs, verification, connection: url, note: `host=db password=${PASSWORD} user=x` };
    const r = await auditFrom(doc, "url-password");
    expect(r.code).toBe(0);
    for (const text of [r.page, r.evidence, r.cli.out, r.cli.err]) expect(text).not.toContain(PASSWORD);
    expect(r.evidence).toContain("postgresql://migrator:***@db.example:5433/app");
    expect(r.cli.err).toMatch(/withheld \$\.connection: held a password/);
    expect(r.cli.err).toMatch(/withheld \$\.verification\.checks\[0\]\.detail: held a password/);
    expect(r.cli.err).toMatch(/withheld \$\.note: held a password/);
    expect(r.page).toContain("Withheld from this report");
  });

  test("an output saved with --show-secrets under a password key, and a [secret] output, are withheld", async () => {
    const database = { ...(outputs.database as Record<string, unknown>), masterUser: { username: "dbadmin", password: PASSWORD } };
    const r = await auditFrom({ ...outputs, database, dbPassword: "[secret]" }, "show-secrets");
    for (const text of [r.page, r.evidence]) expect(text).not.toContain(PASSWORD);
    const redacted = (JSON.parse(r.evidence) as { redactions: { path: string }[] }).redactions.map((x) => x.path);
    expect(redacted).toEqual(["$.database.masterUser.password", "$.dbPassword"]);
  });

  test("the RDS-managed master password sentence is no secret and is kept", () => {
    const { redactions } = sanitiseOutputs(outputs);
    expect(redactions).toEqual([]);
  });

  test("--stack asks Pulumi without --show-secrets; a secret output prints as [secret] and is withheld", async () => {
    // A stand-in for the pulumi CLI: it records its arguments and prints what the real one would.
    const bin = path.join(tmp, "fake-bin");
    await mkdir(bin, { recursive: true });
    const saved = path.join(tmp, "stack-outputs.json");
    await writeFile(saved, JSON.stringify({ ...outputs, adminUrl: "[secret]" }));
    const history = JSON.stringify([
      {
        version: 7,
        kind: "update",
        result: "succeeded",
        startTime: "2026-11-30T20:00:00Z",
        endTime: "2026-11-30T20:04:00Z",
        environment: { "git.head": "abc123", "git.author.email": "someone@example.com" },
      },
    ]);
    await writeFile(
      path.join(bin, "pulumi"),
      `#!/bin/sh\necho "$@" >> "${tmp}/pulumi-args"\ncase "$2" in output) cat "${saved}" ;; history) echo '${history}' ;; esac\n`,
    );
    await chmod(path.join(bin, "pulumi"), 0o755);
    const cli = io({ ...process.env, PATH: `${bin}${path.delimiter}${process.env.PATH}` });
    const out = path.join(tmp, "via-stack");
    expect(await runAudit(["--stack", "prod", "--out", out], cli)).toBe(0);
    const args = await readFile(path.join(tmp, "pulumi-args"), "utf8");
    expect(args).toContain("stack output --json --stack prod");
    expect(args).not.toContain("--show-secrets");
    const evidence = JSON.parse(await readFile(path.join(out, "evidence.json"), "utf8")) as Record<string, unknown> & { source: { pulumiUpdate: unknown } };
    expect(evidence.source.pulumiUpdate).toEqual({
      version: 7,
      kind: "update",
      result: "succeeded",
      startTime: "2026-11-30T20:00:00Z",
      endTime: "2026-11-30T20:04:00Z",
      gitHead: "abc123",
    });
    const text = JSON.stringify(evidence);
    expect(text).not.toContain("someone@example.com");
    expect(text).not.toContain('"[secret]"');
    expect(cli.err).toMatch(/withheld \$\.adminUrl: a secret output/);
  });
});

describe("the report", () => {
  let r: Awaited<ReturnType<typeof auditFrom>>;
  beforeAll(async () => {
    r = await auditFrom(outputs, "prod");
  });

  test("values from the database are escaped, never markup", () => {
    expect(r.page).not.toContain(HOSTILE_NAME);
    expect(r.page).toContain("&lt;script&gt;document.title=&#39;pwned&#39;&lt;/script&gt;");
    expect(r.page).not.toContain("<img");
    expect(r.page).toContain("&lt;img src=x onerror=&quot;document.title=&#39;pwned&#39;&quot;&gt; &amp; more");
    expect(JSON.parse(r.evidence).verification.checks.find((c: { name: string }) => c.name === FAILED_CHECK).detail).toBe(HOSTILE_DETAIL);
  });

  test("self-contained: no script, and nothing that would reach the network", () => {
    expect(r.page).not.toMatch(/<(script|link|img|iframe|object|embed)\b/i);
    expect(r.page).not.toMatch(/<[^>]*\s(src|href)=/i);
    expect(r.page).not.toMatch(/url\(|@import/i);
  });

  test("evidence.json.sha256 verifies with sha256sum -c, and fails once the evidence is edited", async () => {
    expect(execFileSync("sha256sum", ["-c", "evidence.json.sha256"], { cwd: r.out, encoding: "utf8" })).toBe("evidence.json: OK\n");
    expect(r.page).toContain((await readFile(path.join(r.out, "evidence.json.sha256"), "utf8")).split(" ")[0]);
    await writeFile(path.join(r.out, "evidence.json"), r.evidence.replace('"ok": false', '"ok": true'));
    expect(() => execFileSync("sha256sum", ["-c", "evidence.json.sha256"], { cwd: r.out, stdio: "pipe" })).toThrow();
  });

  test("the evidence: the stack, its controls, every ledger row, a failed check counted as failed", () => {
    const e = JSON.parse(r.evidence) as {
      stack: string;
      environment: string;
      database: { endpoint: string; engineVersion: string };
      controls: { rows: { id: string; status: string }[] };
      migrations: { applied: unknown[] };
      verification: { ok: boolean; failed: number };
      source: { gitCommit: string };
    };
    expect(e).toMatchObject({
      stack: "prod",
      environment: "prod",
      database: { endpoint: "pg-migrations-prod.c0ffee.eu-west-1.rds.amazonaws.com:5433", engineVersion: "17.6" },
    });
    expect(e.controls.rows.filter((c) => c.status !== "met").map((c) => c.id)).toEqual(["RDS.26", "RDS.46"]);
    expect(e.migrations.applied).toHaveLength((outputs.migrations as { applied: unknown[] }).applied.length);
    expect(e.verification).toMatchObject({ ok: false, failed: 1 });
    // tmp is no git checkout.
    expect(e.source.gitCommit).toBe("unknown");
  });
});

describe("the drift section", () => {
  test("a drifted schema: each difference (escaped), the snapshot's sha256 and head, in the page and the evidence", async () => {
    const r = await auditFrom(outputs, "drifted");
    const e = JSON.parse(r.evidence) as { drift: Record<string, unknown> };
    expect(e.drift).toMatchObject({
      status: "drifted",
      head: "20260123015834_add_points_trigger",
      snapshot: { head: "20260123015834_add_points_trigger", sha256: SNAPSHOT_SHA256 },
      differences: [{ kind: "column", change: "added", line: DRIFT_LINE }],
    });
    const section = r.page.slice(r.page.indexOf('<section id="drift">'), r.page.indexOf('<section id="verification">'));
    expect(section).toContain("Schema drift");
    expect(section).toContain(`data-field="drift-snapshot-sha256">${SNAPSHOT_SHA256}<`);
    expect(section).toContain("✗ DRIFTED");
    expect(section).toContain("&lt;i&gt;nick&lt;/i&gt;");
    expect(section).not.toContain("<i>");
  });

  test("a clean schema says no drift; a stack without the output says so; a status of none beside a difference is drift", async () => {
    const clean = await auditFrom({ ...outputs, drift: { ...(outputs.drift as object), status: "none", differences: [] } }, "clean");
    expect(JSON.parse(clean.evidence).drift.status).toBe("none");
    expect(clean.page).toContain("✓ no drift");
    const { drift: _gone, ...older } = outputs;
    const without = await auditFrom(older, "no-drift-output");
    expect(JSON.parse(without.evidence).drift).toBeNull();
    expect(without.page).toMatch(/No <code>drift<\/code> output/);
    const lying = await auditFrom({ ...outputs, drift: { ...(outputs.drift as object), status: "none" } }, "lying");
    expect(JSON.parse(lying.evidence).drift.status).toBe("drifted");
  });
});

describe("the CLI", () => {
  test("bad usage is exit 2 with the usage; an unreadable file is exit 1 naming it", async () => {
    const a = io();
    expect(await runAudit([], a)).toBe(2);
    expect(a.err).toMatch(/name a stack.*\n.*usage: npm run audit/s);
    expect(await runAudit(["--stack", "prod", "--bogus"], io())).toBe(2);
    const b = io();
    expect(await runAudit(["--from", "missing.json"], b)).toBe(1);
    expect(b.err).toMatch(/reading missing\.json/);
  });

  test("dist/audit.js as a process: writes the folder, in a git checkout names the commit", async () => {
    const file = path.join(tmp, "outputs.json");
    await writeFile(file, JSON.stringify(outputs));
    const out = path.join(tmp, "process");
    const { stdout } = await promisify(execFile)("node", [path.join(ROOT, "dist/audit.js"), "--from", file, "--out", out], { cwd: ROOT });
    expect(stdout).toMatch(/prod: 23 of 25 controls met; 2 checks passed, 1 failed/);
    const head = execFileSync("git", ["rev-parse", "HEAD"], { cwd: ROOT, encoding: "utf8" }).trim();
    expect(JSON.parse(await readFile(path.join(out, "evidence.json"), "utf8")).source.gitCommit).toBe(head);
  });
});
