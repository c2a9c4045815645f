import { describe, expect, test } from "vitest";
import { applyCommandLine } from "../infra/migrations.js";
import { StackConfigError } from "../stacks/index.js";
import { stackSettingsOf } from "./support/stack-settings.js";

// prismaHistory: `ignore` by default everywhere, `mirror` passes --prisma-history mirror to the
// apply command (what mirror mode writes, against a real PostgreSQL: test/migrator-prisma-adopt.test.ts).

const settingsOf = stackSettingsOf;

describe("prismaHistory", () => {
  test("defaults to ignore in every stack, and then the apply command has no --prisma-history", () => {
    for (const stack of ["dev", "prod", "prod-aurora", "local"]) {
      expect(settingsOf(stack).migrations.prismaHistory, stack).toBe("ignore");
      expect(applyCommandLine(settingsOf(stack)), stack).not.toMatch(/--prisma-history/);
    }
  });

  test("mirror passes --prisma-history mirror to apply", () => {
    expect(applyCommandLine(settingsOf("local", { "pg-migrations:prismaHistory": "mirror" }))).toMatch(/ apply .* --prisma-history mirror( |$)/);
    expect(applyCommandLine(settingsOf("prod", { "pg-migrations:prismaHistory": "mirror" }))).toMatch(/--prisma-history mirror/);
  });

  test("any other value is refused, naming the key and the allowed values", () => {
    let problems: { key: string; message: string }[] = [];
    try {
      settingsOf("dev", { "pg-migrations:prismaHistory": "copy" });
    } catch (error) {
      expect(error).toBeInstanceOf(StackConfigError);
      problems = (error as StackConfigError).problems;
    }
    const problem = problems.find((p) => p.key === "pg-migrations:prismaHistory");
    expect(problem?.message).toMatch(/ignore/);
    expect(problem?.message).toMatch(/mirror/);
  });
});
