/**
 * infra/controls.ts on plain postures: each control's status follows the setting it reads, and
 * the controls and titles are docs/stacks.md's Security Hub table (instance and cluster columns).
 */
import { readFileSync } from "node:fs";
import path from "node:path";
import { describe, expect, test } from "vitest";
import { CLUSTER_CONTROLS, CONTROL_TITLES, INSTANCE_CONTROLS, securityHubControls, type ControlEvidence, type ControlsOutput } from "../infra/controls.js";
import { ROOT } from "./support/pulumi.js";

const CTX = { stack: "prod", environment: "prod" };
const KEY = "arn:aws:kms:eu-west-1:123456789012:key/k";

const hardenedMember = (identifier: string) => ({
  identifier,
  storage: { encrypted: true, kmsKeyArn: KEY },
  storageEncrypted: true,
  multiAz: true,
  publiclyAccessible: false,
  deletionProtection: true,
  iamAuthentication: true,
  enhancedMonitoringSeconds: 60,
  logExports: ["postgresql", "upgrade"],
  autoMinorVersionUpgrade: true,
  copyTagsToSnapshot: true,
});

function instance(overrides: Record<string, unknown> = {}): Record<string, unknown> {
  const { identifier: _id, storageEncrypted: _s, copyTagsToSnapshot: _c, ...primary } = hardenedMember("db");
  return {
    kind: "rds",
    identifier: "db",
    endpoint: { address: "db.example", port: 5433 },
    ...primary,
    backups: { retentionDays: 14, window: "02:00-03:00", finalSnapshot: true, copyTagsToSnapshot: true },
    tlsEnforced: true,
    masterUser: { username: "dbadmin", password: "managed by RDS in Secrets Manager", secretArn: "arn:x" },
    readReplicas: [],
    ...overrides,
  };
}

function cluster(zones = ["eu-west-1a", "eu-west-1b"], overrides: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    ...instance(),
    kind: "aurora",
    readReplicas: undefined,
    logExports: ["postgresql"],
    multiAz: new Set(zones).size > 1,
    availabilityZones: [...new Set(zones)],
    members: zones.map((zone, i) => ({ ...hardenedMember(`db-${i + 1}`), availabilityZone: zone })),
    ...overrides,
  };
}

const allEvents = (types: string[]): ControlEvidence["eventSubscriptions"] =>
  types.map((sourceType) => ({ sourceType, eventCategories: ["configuration change", "failure", "maintenance", "notification"], enabled: true }));

const evidence = (overrides: Partial<ControlEvidence> = {}): ControlEvidence => ({
  tags: { project: "p", stack: "prod" },
  subnetGroup: { name: "db-subnets", tags: { project: "p" } },
  eventSubscriptions: allEvents(["db-cluster", "db-instance", "db-parameter-group", "db-security-group"]),
  ...overrides,
});

const status = (out: ControlsOutput, id: string) => {
  const control = out.controls.find((c) => c.id === id);
  if (!control) throw new Error(`${id} is not in the output`);
  return control.status;
};
const failing = (out: ControlsOutput) => out.controls.filter((c) => c.status !== "met").map((c) => `${c.id} ${c.status}`);

describe("an RDS instance", () => {
  test("hardened: every control met but the backup plan (not met) and the subnets' routes (depends)", () => {
    const out = securityHubControls(instance(), evidence(), CTX);
    expect(out.applies).toBe(true);
    expect(out.controls.map((c) => c.id)).toEqual(INSTANCE_CONTROLS);
    expect(failing(out)).toEqual(["RDS.26 not met", "RDS.46 depends"]);
    expect(out.summary).toEqual({ met: INSTANCE_CONTROLS.length - 2, notMet: 1, depends: 1 });
    expect(out.controls.find((c) => c.id === "RDS.3")!.settings).toEqual({ storageEncrypted: true, kmsKeyId: KEY });
  });

  test.each([
    ["RDS.2", { publiclyAccessible: true }],
    ["RDS.3", { storage: { encrypted: false, kmsKeyArn: null } }],
    ["RDS.5", { multiAz: false }],
    ["RDS.6", { enhancedMonitoringSeconds: 0 }],
    ["RDS.8", { deletionProtection: false }],
    ["RDS.10", { iamAuthentication: false }],
    ["RDS.11", { backups: { retentionDays: 1, window: null, finalSnapshot: true, copyTagsToSnapshot: true } }],
    ["RDS.13", { autoMinorVersionUpgrade: false }],
    ["RDS.17", { backups: { retentionDays: 14, window: null, finalSnapshot: true, copyTagsToSnapshot: false } }],
    ["RDS.23", { endpoint: { address: "db.example", port: 5432 } }],
    ["RDS.25", { masterUser: { username: "postgres" } }],
    ["RDS.38", { tlsEnforced: false }],
  ])("%s is not met when its setting is off", (id, override) => {
    expect(status(securityHubControls(instance(override), evidence(), CTX), id)).toBe("not met");
  });

  test("a replica that breaks a control fails it, and is named in the settings", () => {
    const replica = { ...hardenedMember("db-replica-1"), publiclyAccessible: true };
    const control = securityHubControls(instance({ readReplicas: [replica] }), evidence(), CTX).controls.find((c) => c.id === "RDS.2")!;
    expect(control.status).toBe("not met");
    expect(control.settings).toEqual({ publiclyAccessible: false, "db-replica-1.publiclyAccessible": true });
  });

  test("logs: without the upgrade log RDS.9 fails and RDS.36 (postgresql only) is met", () => {
    const out = securityHubControls(instance({ logExports: ["postgresql"] }), evidence(), CTX);
    expect([status(out, "RDS.9"), status(out, "RDS.36")]).toEqual(["not met", "met"]);
  });

  test("events, tags and subnet group come from the evidence", () => {
    const out = securityHubControls(instance(), evidence({ tags: {}, subnetGroup: null, eventSubscriptions: [] }), CTX);
    for (const id of ["RDS.18", "RDS.20", "RDS.21", "RDS.22", "RDS.30", "RDS.33"]) expect(status(out, id), id).toBe("not met");
    const partial = evidence({ eventSubscriptions: [{ sourceType: "db-instance", eventCategories: ["failure"], enabled: true }] });
    expect(status(securityHubControls(instance(), partial, CTX), "RDS.20")).toBe("not met");
  });
});

describe("an Aurora cluster", () => {
  test("hardened: every control met but the backup plan and the subnets' routes", () => {
    const out = securityHubControls(cluster(), evidence(), CTX);
    expect(out.controls.map((c) => c.id)).toEqual(CLUSTER_CONTROLS);
    expect(failing(out)).toEqual(["RDS.26 not met", "RDS.46 depends"]);
  });

  test("members all in one AZ fail RDS.5 and RDS.15", () => {
    const out = securityHubControls(cluster(["eu-west-1a", "eu-west-1a"]), evidence(), CTX);
    expect([status(out, "RDS.5"), status(out, "RDS.15")]).toEqual(["not met", "not met"]);
  });

  test("a member without enhanced monitoring fails RDS.6, named", () => {
    const c = cluster();
    (c.members as Record<string, unknown>[])[1]!.enhancedMonitoringSeconds = 0;
    const control = securityHubControls(c, evidence(), CTX).controls.find((x) => x.id === "RDS.6")!;
    expect(control.status).toBe("not met");
    expect(control.settings["db-2.monitoringInterval"]).toBe(0);
  });
});

test("an existing server (the local stack): the controls do not apply", () => {
  const out = securityHubControls({ kind: "existing PostgreSQL (not managed by this stack)", endpoint: { address: "127.0.0.1", port: 5432 } }, undefined, {
    stack: "local",
    environment: "local",
  });
  expect(out).toMatchObject({ applies: false, controls: [], summary: { met: 0, notMet: 0, depends: 0 } });
  expect(out.scope).toMatch(/creates none/);
});

describe("docs/stacks.md's Security Hub table says what the module computes", () => {
  const HEADING = "## AWS Security Hub controls for RDS";
  const docs = readFileSync(path.join(ROOT, "docs/stacks.md"), "utf8");
  const start = docs.indexOf(`\n${HEADING}\n`);
  if (start < 0) throw new Error(`docs/stacks.md has no "${HEADING}" section`);
  const end = docs.indexOf("\n## ", start + HEADING.length + 1);
  const rows = docs
    .slice(start, end < 0 ? undefined : end)
    .split("\n")
    .filter((l) => /^\| RDS\.\d+ \|/.test(l))
    .map((l) =>
      l
        .split("|")
        .slice(1, -1)
        .map((c) => c.trim()),
    );
  /** A table cell as a status, or undefined where the control does not apply. */
  const cellStatus = (cell: string) =>
    cell === "—" || cell === "not applicable" ? undefined : cell.includes("not met") ? "not met" : cell.startsWith("depends") ? "depends" : "met";

  test("same controls per column, same titles, same status for a hardened prod database", () => {
    expect(rows.length).toBeGreaterThan(30);
    const inst = securityHubControls(instance(), evidence(), CTX);
    const clus = securityHubControls(cluster(["eu-west-1a", "eu-west-1b", "eu-west-1c"]), evidence(), CTX);
    for (const [id, title, instanceCell, clusterCell] of rows as [string, string, string, string][]) {
      const computed = (out: ControlsOutput) => out.controls.find((c) => c.id === id)?.status;
      expect(computed(inst), `${id} instance`).toBe(cellStatus(instanceCell));
      expect(computed(clus), `${id} cluster`).toBe(cellStatus(clusterCell));
      if (cellStatus(instanceCell) || cellStatus(clusterCell)) expect(CONTROL_TITLES[id], id).toBe(title);
    }
  });
});
