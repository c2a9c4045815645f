import { describe, expect, test } from "vitest";
import { applyCommandLine } from "../infra/migrations.js";
import { StackConfigError } from "../stacks/index.js";
import { stackSettingsOf } from "./support/stack-settings.js";

// failOnDrift: on by default in prod only, and what it does to the apply command's line (the
// refusal itself, under a real PostgreSQL: test/e2e-stack-drift.test.ts and
// test/migrator-fail-on-drift.test.ts).

const settingsOf = stackSettingsOf;

describe("failOnDrift", () => {
  test("defaults: true in prod (and prod-aurora), false in dev and local", () => {
    expect(settingsOf("prod").migrations.failOnDrift).toBe(true);
    expect(settingsOf("prod-aurora").migrations.failOnDrift).toBe(true);
    expect(settingsOf("dev").migrations.failOnDrift).toBe(false);
    expect(settingsOf("local").migrations.failOnDrift).toBe(false);
  });

  test("on, the apply command passes --fail-on-drift; off, it does not", () => {
    expect(applyCommandLine(settingsOf("prod"))).toMatch(/ apply .* --fail-on-drift /);
    expect(applyCommandLine(settingsOf("prod", { "pg-migrations:failOnDrift": "false" }))).not.toMatch(/--fail-on-drift/);
    expect(applyCommandLine(settingsOf("dev"))).not.toMatch(/--fail-on-drift/);
    expect(applyCommandLine(settingsOf("local", { "pg-migrations:failOnDrift": "true" }))).toMatch(/--fail-on-drift/);
  });

  test("a value that is not true or false is refused, naming the key", () => {
    let problems: { key: string; message: string }[] = [];
    try {
      settingsOf("dev", { "pg-migrations:failOnDrift": "sometimes" });
    } catch (error) {
      expect(error).toBeInstanceOf(StackConfigError);
      problems = (error as StackConfigError).problems;
    }
    expect(problems.map((p) => p.key)).toContain("pg-migrations:failOnDrift");
  });
});
