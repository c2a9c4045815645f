/** The migration-apply command's URN in the dev stack, as the engine names it. */
export const APPLY_URN = "urn:pulumi:dev::pg-migrations::command:local:Command::migration-apply";

/**
 * A `pulumi preview --json` document in the shape the engine prints (test/engine/review.engine.ts
 * shows the real one): the apply command created with manifest `after`, or updated from `before`,
 * then any `extra` steps.
 */
export function previewJson(before: Record<string, string> | undefined, after: Record<string, string>, extra: object[] = [], diagnostics: object[] = []): string {
  const env = (m: Record<string, string>) => ({ ...m, DATABASE_URL: "[secret]" });
  const step = before
    ? {
        op: "update",
        urn: APPLY_URN,
        type: "command:local:Command",
        oldState: { type: "command:local:Command", inputs: { environment: env(before) } },
        newState: { type: "command:local:Command", inputs: { environment: env(after) } },
        diffs: ["environment"],
      }
    : { op: "create", urn: APPLY_URN, type: "command:local:Command", newState: { type: "command:local:Command", inputs: { environment: env(after) } } };
  return JSON.stringify({ steps: [step, ...extra], diagnostics, changeSummary: {} });
}
