/**
 * docs/stacks.md and the README's outputs section must say what the code does: every
 * configuration key with its scope and defaults, the prod rules, every output with an example
 * whose fields are the real ones (and named in the README), and a Security Hub row for every
 * control the prod rules cite.
 */
import { readFileSync } from "node:fs";
import path from "node:path";
import { beforeAll, describe, expect, test, vi } from "vitest";
import { AURORA_DEFAULTS, COMMON_DEFAULTS, ENVIRONMENT_DEFAULTS, LOCAL_DEFAULTS, RDS_DEFAULTS } from "../stacks/defaults.js";
import { CONFIG_KEYS, PROD_RULES, SECRET_KEYS } from "../stacks/rules.js";
import { cannedReport, reportingCommands } from "./support/pulumi-report.js";
import { readStackFile, ROOT, runProgram } from "./support/pulumi.js";

const read = (file: string) => readFileSync(path.join(ROOT, file), "utf8");
const docs = read("docs/stacks.md");
const readme = read("README.md");

/** From a heading line to the next heading of the same or a higher level. */
function section(markdown: string, heading: string): string {
  const lines = markdown.split("\n");
  const start = lines.findIndex((l) => l.trim() === heading);
  if (start < 0) throw new Error(`no heading "${heading}"`);
  const level = heading.indexOf(" ");
  const end = lines.findIndex((l, i) => i > start && /^#+ /.test(l) && l.indexOf(" ") <= level);
  return lines.slice(start + 1, end < 0 ? undefined : end).join("\n");
}

/** Each markdown table as its rows of trimmed cells, header first, without the --- line. */
function tables(markdown: string): string[][][] {
  const found: string[][][] = [];
  let current: string[][] | undefined;
  for (const line of markdown.split("\n")) {
    if (!line.startsWith("|")) {
      current = undefined;
      continue;
    }
    const cells = line
      .split("|")
      .slice(1, -1)
      .map((c) => c.trim());
    if (cells.every((c) => /^:?-+:?$/.test(c))) continue;
    if (!current) found.push((current = []));
    current.push(cells);
  }
  return found;
}

function tableWithHeader(markdown: string, header: string[]): string[][] {
  const table = tables(markdown).find((t) => t[0]!.join("|") === header.join("|"));
  if (!table) throw new Error(`no table with the header ${header.join(" | ")}`);
  return table.slice(1);
}

const code = (text: string) => /^`([^`]+)`$/.exec(text)?.[1];

describe("docs/stacks.md: the configuration keys", () => {
  const rows = tableWithHeader(section(docs, "## Configuration keys"), ["key", "stacks", "type and allowed values", "dev", "prod", "local", "what it does"]);
  const byKey = new Map(rows.map((r) => [code(r[0]!) ?? r[0]!, r]));
  const SCOPE = { all: "dev, prod, local", aws: "dev, prod", local: "local" } as const;

  test("every key of CONFIG_KEYS has one row, and no row names a key that does not exist", () => {
    expect(rows.map((r) => code(r[0]!) ?? r[0]!).sort()).toEqual(Object.keys(CONFIG_KEYS).sort());
  });

  test("each row's stacks are the key's scope, and a key's cell for a stack it does not apply to is —", () => {
    for (const [key, scope] of Object.entries(CONFIG_KEYS)) {
      const row = byKey.get(key);
      if (!row) throw new Error(`${key} has no row in the key table`);
      expect(row[1], key).toBe(SCOPE[scope]);
      const columns = { dev: row[3], prod: row[4], local: row[5] };
      for (const env of ["dev", "prod", "local"] as const) {
        const applies = scope === "all" || (scope === "aws" ? env !== "local" : env === "local");
        if (!applies) expect(columns[env], `${key} in ${env}`).toBe("—");
      }
    }
  });

  /** A default as the table writes it. */
  const shown = (value: unknown): string => (Array.isArray(value) ? `\`[${value.join(", ")}]\`` : value === undefined ? "unset" : `\`${String(value)}\``);
  const expectDefault = (key: string, env: "dev" | "prod" | "local", value: unknown) => {
    const row = byKey.get(key)!;
    const cell = { dev: row[3], prod: row[4], local: row[5] }[env]!;
    expect(cell, `${key} default in ${env}`).toContain(shown(value));
  };

  test("the defaults shown are stacks/defaults.ts's", () => {
    for (const [key, value] of Object.entries(COMMON_DEFAULTS)) for (const env of ["dev", "prod", "local"] as const) expectDefault(key, env, value);
    for (const env of ["dev", "prod", "local"] as const) {
      for (const [key, value] of Object.entries(ENVIRONMENT_DEFAULTS[env])) expectDefault(key, env, value);
    }
    for (const env of ["dev", "prod"] as const) {
      // ownKmsKey and eventSubscriptions follow from the environment; they are not keys.
      for (const [key, value] of Object.entries(RDS_DEFAULTS[env])) if (key in CONFIG_KEYS) expectDefault(key, env, value);
    }
    expectDefault("localPort", "local", LOCAL_DEFAULTS.port);
  });

  test("the Aurora defaults shown are stacks/defaults.ts's AURORA_DEFAULTS", () => {
    for (const env of ["dev", "prod"] as const) {
      const { instanceClass, clusterReaders, logExports } = AURORA_DEFAULTS[env];
      const cell = (key: string) => ({ dev: byKey.get(key)![3], prod: byKey.get(key)![4] })[env]!;
      expect(cell("instanceClass"), `instanceClass in ${env}`).toContain(`aurora-postgresql: ${shown(instanceClass)}`);
      expectDefault("clusterReaders", env, clusterReaders);
      // dev exports nothing for either engine, so only prod names an Aurora list of its own.
      if (logExports.length > 0) expect(cell("logExports"), `logExports in ${env}`).toContain(`aurora-postgresql: ${shown(logExports)}`);
    }
  });

  test("passwords are documented as secrets", () => {
    for (const key of SECRET_KEYS) expect(byKey.get(key)![2], key).toMatch(/secret/);
  });

  test("the prod rules table is PROD_RULES: same keys in order, same reasons", () => {
    const prod = tableWithHeader(section(docs, "### What prod refuses"), ["key", "allowed in prod", "why"]);
    expect(prod.map((r) => code(r[0]!))).toEqual(PROD_RULES.map((r) => r.key));
    expect(prod.map((r) => r[2])).toEqual(PROD_RULES.map((r) => r.why));
  });
});

describe("the outputs", () => {
  const exported = [...read("infra/index.ts").matchAll(/^export const (\w+)/gm)].map((m) => m[1]!);
  const outputs = section(docs, "## Outputs");

  test("every export of infra/index.ts has its section in docs/stacks.md and is named in the README", () => {
    expect(exported.length).toBeGreaterThan(0);
    const documented = [...outputs.matchAll(/^### `(\w+)`$/gm)].map((m) => m[1]);
    expect(documented.sort()).toEqual([...exported].sort());
    const readmeOutputs = section(readme, "## Outputs");
    for (const name of exported) expect(readmeOutputs, name).toContain(`\`${name}\``);
  });

  /** Every key path of a value; an array contributes `[]` and its first element's paths. */
  function shape(value: unknown, at = "$"): string[] {
    if (Array.isArray(value)) return [`${at}[]`, ...(value.length > 0 ? shape(value[0], `${at}[]`) : [])];
    if (value !== null && typeof value === "object") return Object.entries(value).flatMap(([k, v]) => [`${at}.${k}`, ...shape(v, `${at}.${k}`)]);
    return [];
  }
  const examples = (name: string) => [...section(outputs, `### \`${name}\``).matchAll(/```json\n([\s\S]*?)```/g)].map((m) => JSON.parse(m[1]!) as unknown);

  let prod: Record<string, unknown>;
  let prodWithReplica: Record<string, unknown>;
  let prodAurora: Record<string, unknown>;
  let local: Record<string, unknown>;

  beforeAll(async () => {
    // The report after an up in which one file was removed from the set, as the example shows.
    // And a column added by hand, as the drift example shows.
    const report = JSON.parse(await cannedReport("sql/migrations", ["baseline_recorded"])) as { status: { problems: unknown[] }; drift: Record<string, unknown> };
    report.status.problems = [{ file: "20260301000000_member_bio", message: "is recorded in the database as applied but no such migration is in the set" }];
    report.drift.status = "drifted";
    report.drift.differences = [
      { kind: "column", name: '"Member"."nickname"', change: "added", line: 'column "Member"."nickname" text exists in the database, not in the migrations' },
    ];
    const onResource = reportingCommands(JSON.stringify(report));
    prod = (
      await runProgram({
        stack: "prod",
        config: { ...readStackFile("prod").config, "pg-migrations:migratorPassword": "prod-migrator-password-0123456789" },
        secretKeys: ["pg-migrations:migratorPassword"],
        onResource,
      })
    ).exports;
    vi.resetModules();
    prodWithReplica = (
      await runProgram({
        stack: "prod",
        config: { ...readStackFile("prod").config, "pg-migrations:readReplicas": "1", "pg-migrations:migratorPassword": "prod-migrator-password-0123456789" },
        secretKeys: ["pg-migrations:migratorPassword"],
        onResource,
      })
    ).exports;
    vi.resetModules();
    prodAurora = (
      await runProgram({
        stack: "prod-aurora",
        config: { ...readStackFile("prod-aurora").config, "pg-migrations:migratorPassword": "prod-migrator-password-0123456789" },
        secretKeys: ["pg-migrations:migratorPassword"],
        onResource,
      })
    ).exports;
    vi.resetModules();
    local = (
      await runProgram({
        stack: "local",
        config: {
          ...readStackFile("local").config,
          "pg-migrations:localPassword": "laptop-postgres-password",
          "pg-migrations:migratorPassword": "local-migrator-password-0123456789",
        },
        secretKeys: ["pg-migrations:localPassword", "pg-migrations:migratorPassword"],
        onResource,
      })
    ).exports;
  }, 180_000);

  test("each example has exactly the fields the program exports", () => {
    for (const name of exported) {
      const [first] = examples(name);
      expect(first, `${name}: no JSON example`).toBeDefined();
      expect(shape(first).sort(), name).toEqual(shape(prod[name]).sort());
    }
  });

  test("the database examples: a read replica, an Aurora cluster, the local stack", () => {
    const [, replica, aurora, localExample] = examples("database");
    const replicas = (prodWithReplica.database as { readReplicas: unknown[] }).readReplicas;
    expect(replicas).toHaveLength(1);
    expect(shape(replica).sort(), "database.readReplicas[0]").toEqual(shape(replicas[0]).sort());
    expect(shape(aurora).sort(), "database (aurora)").toEqual(shape(prodAurora.database).sort());
    expect(shape(localExample).sort(), "database (local)").toEqual(shape(local.database).sort());
  });

  test("the documented migrationSet is the real one", () => {
    expect(examples("migrationSet")[0]).toEqual(prod.migrationSet);
  });
});

describe("docs/stacks.md: the Security Hub control table", () => {
  const controlTable = tables(section(docs, "## AWS Security Hub controls for RDS")).find((t) => t[0]![0] === "control");

  test("has a row for every control a prod rule cites, and that row names the rule's key", () => {
    expect(controlTable, "no table whose first column is 'control'").toBeDefined();
    const rows = new Map(controlTable!.slice(1).map((r) => [/RDS\.\d+/.exec(r[0]!)?.[0], r.join(" | ")]));
    const cited = PROD_RULES.flatMap((rule) => [...rule.why.matchAll(/RDS\.\d+/g)].map((m) => ({ id: m[0], key: rule.key })));
    expect(cited.length).toBeGreaterThan(0);
    for (const { id, key } of cited) {
      expect(rows.has(id), `no row for ${id}`).toBe(true);
      expect(rows.get(id), `${id} row does not name ${key}`).toContain(`\`${key}\``);
    }
  });
});
