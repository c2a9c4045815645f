/**
 * CONFIG_KEYS (the registry the unknown-key check, docs/stacks.md and its test rely on) and the
 * keys the readers actually read are two lists; this keeps them one. The configuration is
 * wrapped in a Proxy that records every key read from it, for each environment and engine.
 */
import { describe, expect, test } from "vitest";
import { CONFIG_KEYS, parseStackSettings, type Environment, type RawConfig } from "../stacks/index.js";
import { readStackFile } from "./support/pulumi.js";

const PROJECT = "pg-migrations";
const SECRETS = { [`${PROJECT}:migratorPassword`]: "a-migrator-password-long-enough", [`${PROJECT}:localPassword`]: "pw" };

/** Parses `raw` and returns every key the parse read from it, accepted or not. */
function keysRead(raw: RawConfig, stack: string): string[] {
  const read = new Set<string>();
  const recorder = new Proxy(raw, {
    get(target, key, receiver) {
      if (typeof key === "string") read.add(key);
      return Reflect.get(target, key, receiver);
    },
  });
  try {
    parseStackSettings(recorder, { project: PROJECT, stack });
  } catch {
    // A rejected configuration is read in full too; which keys were read is all that matters here.
  }
  return [...read].sort();
}

const applies = (environment: Environment) =>
  Object.entries(CONFIG_KEYS)
    .filter(([, scope]) => scope === "all" || (scope === "aws" ? environment !== "local" : environment === "local"))
    .map(([key]) => `${PROJECT}:${key}`)
    .sort();

const VARIANTS: { name: string; stack: string; environment: Environment; extra?: Record<string, string> }[] = [
  { name: "dev, instance", stack: "dev", environment: "dev" },
  { name: "dev, Aurora Serverless v2", stack: "dev", environment: "dev", extra: { engine: "aurora-postgresql", serverlessMinAcu: "0.5", serverlessMaxAcu: "4" } },
  { name: "prod, instance", stack: "prod", environment: "prod" },
  { name: "prod, Aurora provisioned", stack: "prod-aurora", environment: "prod" },
  { name: "local", stack: "local", environment: "local" },
];

describe("the readers read exactly the keys CONFIG_KEYS registers for the environment", () => {
  test.each(VARIANTS)("$name", ({ stack, environment, extra }) => {
    const raw: RawConfig = {
      ...readStackFile(stack).config,
      ...SECRETS,
      ...Object.fromEntries(Object.entries(extra ?? {}).map(([k, v]) => [`${PROJECT}:${k}`, v])),
    };
    const read = keysRead(raw, stack);
    expect(read.filter((k) => k.startsWith(`${PROJECT}:`))).toEqual(applies(environment));
    // The one key of another namespace: the provider's region, which the database goes into.
    expect(read.filter((k) => !k.startsWith(`${PROJECT}:`))).toEqual(environment === "local" ? [] : ["aws:region"]);
  });
});
