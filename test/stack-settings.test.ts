import { inspect } from "node:util";
import { describe, expect, test } from "vitest";
import { parseStackSettings, PROD_RULES, StackConfigError, type AwsStackSettings, type RawConfig } from "../stacks/index.js";
import { readStackFile } from "./support/pulumi.js";

const ctx = (stack: string) => ({ project: "pg-migrations", stack });
const PASSWORD = "a-migrator-password-long-enough";

function problemsOf(raw: RawConfig, stack: string): { key: string; message: string }[] {
  try {
    parseStackSettings(raw, ctx(stack));
  } catch (error) {
    expect(error).toBeInstanceOf(StackConfigError);
    return (error as StackConfigError).problems;
  }
  throw new Error("expected the configuration to be rejected");
}

const withSecrets = (stack: string, extra: Record<string, string> = {}) => ({
  ...readStackFile(stack).config,
  "pg-migrations:migratorPassword": PASSWORD,
  ...(stack === "local" ? { "pg-migrations:localPassword": "pw" } : {}),
  ...extra,
});

describe("the committed stack files validate", () => {
  test.each(["dev", "prod", "local"])("Pulumi.%s.yaml, plus its secrets", (stack) => {
    const settings = parseStackSettings(withSecrets(stack), ctx(stack));
    expect(settings.environment).toBe(stack);
  });

  test("the stack files hold no password in clear", () => {
    for (const stack of ["dev", "prod", "local"]) {
      const { config } = readStackFile(stack);
      expect(
        Object.keys(config).filter((k) => /password/i.test(k)),
        stack,
      ).toEqual([]);
    }
  });
});

describe("defaults per environment", () => {
  test("dev is small and disposable; prod is hardened", () => {
    const dev = parseStackSettings(withSecrets("dev"), ctx("dev")) as AwsStackSettings;
    const prod = parseStackSettings(withSecrets("prod"), ctx("prod")) as AwsStackSettings;
    expect(dev.rds).toMatchObject({ multiAz: false, deletionProtection: false, finalSnapshot: false, backupRetentionDays: 1, port: 5432, ownKmsKey: false });
    expect(prod.rds).toMatchObject({
      multiAz: true,
      deletionProtection: true,
      finalSnapshot: true,
      performanceInsights: true,
      monitoringIntervalSeconds: 60,
      iamAuthentication: true,
      logExports: ["postgresql", "upgrade"],
      autoMinorVersionUpgrade: true,
      ownKmsKey: true,
      eventSubscriptions: true,
    });
    expect(prod.rds.backupRetentionDays).toBeGreaterThanOrEqual(14);
    expect(prod.rds.port).not.toBe(5432);
    expect(prod.rds.masterUsername).not.toBe("postgres");
    expect(prod.rds.maxAllocatedStorageGb).toBeGreaterThan(prod.rds.allocatedStorageGb);
    expect(dev.migrations.lintErrors).toBe("warn");
    expect(prod.migrations.lintErrors).toBe("fail");
    expect(prod.connection.sslMode).toBe("verify-full");
  });

  test("the environment comes from the stack name, or from `environment` for other stack names", () => {
    const raw = { ...withSecrets("prod"), "pg-migrations:environment": "prod" };
    expect(parseStackSettings(raw, ctx("prod-eu")).environment).toBe("prod");
    expect(problemsOf(withSecrets("dev"), "staging")).toContainEqual({
      key: "pg-migrations:environment",
      message: expect.stringContaining("allowed: dev, prod, local"),
    });
  });
});

describe("every problem is reported together, naming the key and the allowed values", () => {
  test("a bad prod configuration", () => {
    const problems = problemsOf(
      withSecrets("prod", {
        "pg-migrations:multiAz": "false",
        "pg-migrations:port": "5432",
        "pg-migrations:backupRetentionDays": "7",
        "pg-migrations:masterUsername": "postgres",
        "pg-migrations:monitoringIntervalSeconds": "45",
        "pg-migrations:allowedCidrs": JSON.stringify(["0.0.0.0/0"]),
        "pg-migrations:deletionProtection": "yes",
        "pg-migrations:instanceClas": "db.r7g.large",
      }),
      "prod",
    );
    const byKey = Object.fromEntries(problems.map((p) => [p.key, p.message]));
    expect(byKey["pg-migrations:multiAz"]).toMatch(/RDS\.5.*allowed: true/);
    expect(byKey["pg-migrations:port"]).toMatch(/RDS\.23.*allowed: 1150 to 65535 except 5432/);
    expect(byKey["pg-migrations:backupRetentionDays"]).toMatch(/allowed: 14 to 35/);
    expect(byKey["pg-migrations:masterUsername"]).toMatch(/RDS\.25/);
    expect(byKey["pg-migrations:monitoringIntervalSeconds"]).toMatch(/"45" is not allowed; allowed: 0, 1, 5, 10, 15, 30, 60/);
    expect(byKey["pg-migrations:allowedCidrs"]).toMatch(/whole internet/);
    expect(byKey["pg-migrations:deletionProtection"]).toMatch(/allowed: true, false/);
    expect(byKey["pg-migrations:instanceClas"]).toMatch(/unknown key; did you mean pg-migrations:instanceClass\?/);
    expect(problems.length).toBeGreaterThanOrEqual(8);
  });

  test("the error message lists them all and says how to set a value", () => {
    try {
      parseStackSettings({ "pg-migrations:port": "x" }, ctx("dev"));
      throw new Error("not rejected");
    } catch (error) {
      const message = (error as Error).message;
      expect(message).toContain('stack "dev" has');
      expect(message).toContain("pg-migrations:port:");
      expect(message).toContain("pg-migrations:migratorPassword: required");
      expect(message).toContain("aws:region: required");
      expect(message).toContain("pg-migrations:allowedCidrs: required");
      expect(message).toContain("pulumi config set");
    }
  });

  test("keys of another environment are refused", () => {
    const local = problemsOf(withSecrets("local", { "pg-migrations:instanceClass": "db.t4g.micro", "pg-migrations:migrationHost": "bastion" }), "local");
    expect(local.map((p) => p.key)).toEqual(["pg-migrations:instanceClass", "pg-migrations:migrationHost"]);
    expect(local[0]!.message).toMatch(/dev and prod stacks only/);
    const dev = problemsOf(withSecrets("dev", { "pg-migrations:localHost": "127.0.0.1" }), "dev");
    expect(dev).toEqual([{ key: "pg-migrations:localHost", message: expect.stringMatching(/local stack only/) }]);
  });

  test("prod needs its own network; verify-full does not go with a tunnel", () => {
    const raw = { ...withSecrets("prod"), "pg-migrations:migrationHost": "127.0.0.1" };
    delete (raw as Record<string, string>)["pg-migrations:vpcId"];
    const problems = problemsOf(raw, "prod");
    expect(problems.map((p) => p.key)).toEqual(expect.arrayContaining(["pg-migrations:vpcId", "pg-migrations:sslMode"]));
    expect(problems.find((p) => p.key === "pg-migrations:sslMode")!.message).toMatch(/allowed with migrationHost: require, verify-ca/);
  });

  test("every prod rule is enforced", () => {
    const prod = parseStackSettings(withSecrets("prod"), ctx("prod")) as AwsStackSettings;
    for (const rule of PROD_RULES) expect(rule.holds(prod), rule.key).toBe(true);
  });

  test("role names must differ from each other and from the administrator", () => {
    const problems = problemsOf(withSecrets("dev", { "pg-migrations:appRole": "migrator", "pg-migrations:auditorRole": "dbadmin" }), "dev");
    expect(problems).toEqual([
      { key: "pg-migrations:appRole", message: expect.stringMatching(/also migratorRole/) },
      { key: "pg-migrations:auditorRole", message: expect.stringMatching(/administrator/) },
    ]);
  });
});

describe("secrets", () => {
  test("never printed by the settings, even when inspected or serialised", () => {
    const settings = parseStackSettings(withSecrets("dev"), ctx("dev"));
    expect(JSON.stringify(settings)).not.toContain(PASSWORD);
    expect(inspect(settings, { depth: 10 })).not.toContain(PASSWORD);
    expect(`${settings.access.migratorPassword}`).toBe("[secret]");
    expect(settings.access.migratorPassword.reveal()).toBe(PASSWORD);
  });

  test("a short migrator password is refused without being shown", () => {
    const problems = problemsOf(withSecrets("dev", { "pg-migrations:migratorPassword": "short-pw" }), "dev");
    expect(problems).toEqual([{ key: "pg-migrations:migratorPassword", message: expect.stringMatching(/at least 16/) }]);
    expect(JSON.stringify(problems)).not.toContain("short-pw");
  });
});
