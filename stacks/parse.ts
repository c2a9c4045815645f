import { ConfigReader, type RawConfig } from "./config-reader.js";
import { StackConfigError } from "./errors.js";
import {
  checkKeysInScope,
  PROD_RULES,
  readAccess,
  readConnection,
  readEnvironment,
  readLocal,
  readMigrations,
  readNamePrefix,
  readNetwork,
  readRds,
  readTags,
} from "./rules.js";
import type { AwsStackSettings, StackSettings } from "./types.js";

export interface ParseContext {
  project: string;
  stack: string;
}

/**
 * Validates the whole stack configuration at once: every problem (unknown key, wrong type,
 * value outside what the environment allows) is collected and thrown together as a
 * StackConfigError whose lines name the key and the allowed values.
 */
export function parseStackSettings(raw: RawConfig, context: ParseContext): StackSettings {
  const { project, stack } = context;
  const r = new ConfigReader(raw, project);
  const environment = readEnvironment(r, stack);
  checkKeysInScope(r, environment);
  const namePrefix = readNamePrefix(r, project, stack);
  const tags = readTags(r);

  const env = environment ?? "dev";
  const migrations = readMigrations(r, env);
  const connection = readConnection(r, env);

  if (env === "local") {
    const local = readLocal(r, connection.sslMode);
    const access = readAccess(r, env, local.user);
    if (r.problems.length > 0) throw new StackConfigError(stack, r.problems);
    return { project, stack, environment: "local", namePrefix, tags, migrations, connection, access, local };
  }

  const network = readNetwork(r, env);
  const rds = readRds(r, env, namePrefix);
  const access = readAccess(r, env, rds.masterUsername);
  const settings: AwsStackSettings = { project, stack, environment: env, namePrefix, tags, migrations, connection, access, network, rds };
  if (env === "prod") {
    for (const rule of PROD_RULES) {
      if (!rule.holds(settings)) r.problem(rule.key, `not allowed in prod (${rule.why}); allowed: ${rule.allowed}`);
    }
  }
  // An environment that could not be read was parsed as dev only to find the other problems.
  if (r.problems.length > 0 || environment === undefined) throw new StackConfigError(stack, r.problems);
  return settings;
}
