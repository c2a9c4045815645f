// ESLint (flat config): typescript-eslint's recommended rules on every source file, and the
// migrator's boundary. Formatting is Prettier's; `npm run lint` runs both. Not type-aware: the
// type-checked rules took about two minutes here, and `npm run typecheck` covers the types.
import js from "@eslint/js";
import { defineConfig } from "eslint/config";
import tseslint from "typescript-eslint";

/**
 * The two import boundaries of test/engine-boundary.test.ts, for the editor: no-restricted-imports sees
 * specifiers, not resolved paths, so a file at depth d under migrator/ may not climb d+1 levels (out of
 * migrator/), and review/ may climb only into migrator/ or infra/resource-names.ts.
 */
const ENGINE_BOUNDARY = "the migrator engine stands alone: nothing in migrator/ may import @pulumi/* or a file outside migrator/ (test/engine-boundary.test.ts)";
const REVIEW_BOUNDARY = "review/ may import migrator/ and infra/resource-names.ts only, and no @pulumi/* (test/engine-boundary.test.ts)";
const engineRules = (depth) => restrict(["^@pulumi/", `^(\\.\\./){${depth + 1},}`], ENGINE_BOUNDARY);
const REVIEW_OUT_OF_BOUNDS = ["^@pulumi/", "^\\.\\./(?!migrator/|infra/resource-names\\.js$)", "^\\.\\./\\.\\./"];

/** The same patterns for static imports and for import("…"), which no-restricted-imports does not see. */
function restrict(patterns, message) {
  return {
    "@typescript-eslint/no-restricted-imports": ["error", { patterns: patterns.map((regex) => ({ regex, message })) }],
    "no-restricted-syntax": ["error", ...patterns.map((regex) => ({ selector: `ImportExpression[source.value=/${regex.replaceAll("/", "\\/")}/]`, message }))],
  };
}

export default defineConfig(
  {
    ignores: ["node_modules/", "dist/", ".tools/", ".data/", ".pulumi-test/", "audit-report/", "test/artifacts/", "bench/results/"],
  },
  js.configs.recommended,
  tseslint.configs.recommended,
  {
    rules: {
      // `_name` marks a value left unused on purpose; `{ omitted, ...rest }` drops a key.
      "@typescript-eslint/no-unused-vars": ["error", { argsIgnorePattern: "^_", varsIgnorePattern: "^_", ignoreRestSiblings: true }],
    },
  },
  {
    files: ["**/*.mjs"],
    // Plain Node scripts (scripts/bundle.mjs runs at npm ci, before anything is compiled).
    languageOptions: { globals: { process: "readonly", console: "readonly", URL: "readonly" } },
  },
  {
    files: ["migrator/table-locks.ts", "migrator/statements.ts", "migrator/version-rules.ts", "migrator/rehearse-work.ts"],
    // These walk libpg-query's parse tree: untyped JSON whose node shapes vary by statement kind.
    rules: { "@typescript-eslint/no-explicit-any": "off" },
  },
  {
    files: ["test/**/*.ts"],
    // Tests read untyped JSON (--json output, stack exports) and let expect() check its shape.
    rules: { "@typescript-eslint/no-explicit-any": "off" },
  },
  { files: ["migrator/*.ts"], rules: engineRules(0) },
  { files: ["migrator/*/*.ts"], rules: engineRules(1) },
  { files: ["migrator/*/*/*.ts"], rules: engineRules(2) },
  { files: ["review/*.ts"], rules: restrict(REVIEW_OUT_OF_BOUNDS, REVIEW_BOUNDARY) },
);
