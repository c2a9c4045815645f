import * as pulumi from "@pulumi/pulumi";
import { StackConfigError } from "./errors.js";
import { parseStackSettings } from "./parse.js";
import type { StackSettings } from "./types.js";

export { StackConfigError, type ConfigProblem } from "./errors.js";
export { type RawConfig } from "./config-reader.js";
export { parseStackSettings } from "./parse.js";
export { CONFIG_KEYS, PROD_RULES, SECRET_KEYS } from "./rules.js";
export { SecretText } from "./secret.js";
export * from "./types.js";

/**
 * Reads and validates this stack's configuration once, at the start of the program.
 * An invalid configuration stops the program with one message that lists every problem;
 * it is a RunError so Pulumi prints the message without a stack trace.
 */
export function loadStackSettings(): StackSettings {
  try {
    return parseStackSettings(pulumi.runtime.allConfig(), { project: pulumi.getProject(), stack: pulumi.getStack() });
  } catch (error) {
    if (error instanceof StackConfigError) throw new pulumi.RunError(error.message);
    throw error;
  }
}
