import { parseStackSettings } from "../../stacks/index.js";
import { readStackFile } from "./pulumi.js";

/**
 * A stack's settings as the program parses them: its Pulumi.<stack>.yaml, the secrets every stack
 * needs (set here to stand-ins), and `extra` keys over them.
 */
export const stackSettingsOf = (stack: string, extra: Record<string, string> = {}) =>
  parseStackSettings(
    {
      ...readStackFile(stack).config,
      "pg-migrations:migratorPassword": "a-migrator-password-long-enough",
      ...(stack === "local" ? { "pg-migrations:localPassword": "local-password" } : {}),
      ...extra,
    },
    { project: "pg-migrations", stack },
  );
