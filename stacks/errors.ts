/** One thing wrong with the stack configuration: the full config key and what to do about it. */
export interface ConfigProblem {
  /** The key as `pulumi config` names it, e.g. "pg-migrations:multiAz" or "aws:region". */
  key: string;
  message: string;
}

/** The stack configuration is invalid; every problem found is listed, nothing was created. */
export class StackConfigError extends Error {
  constructor(
    readonly stackName: string,
    readonly problems: ConfigProblem[],
  ) {
    super(
      `the configuration of stack "${stackName}" has ${problems.length} problem${problems.length === 1 ? "" : "s"}; nothing was deployed:\n` +
        problems.map((p) => `  ${p.key}: ${p.message}`).join("\n") +
        `\nSet a value with \`pulumi config set <key> <value> -s ${stackName}\` (add --secret for passwords); docs/stacks.md lists every key.`,
    );
    this.name = "StackConfigError";
  }
}
