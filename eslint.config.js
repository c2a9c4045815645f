// ESLint (flat config): typescript-eslint's recommended rules on every source file, and the
// migrator's boundary. Formatting is Prettier's; `npm run lint` runs both. Not type-aware: the
// type-checked rules took about two minutes here, and `npm run typecheck` covers the types.
import js from "@eslint/js";
import { defineConfig } from "eslint/config";
import tseslint from "typescript-eslint";

/** The migrator runs without Pulumi (CLI, npm start, the stacks' commands); test/engine-boundary.test.ts checks the same. */
const ENGINE_BOUNDARY = "the migrator engine stands alone: nothing in migrator/ may import @pulumi/*, infra/ or stacks/ (test/engine-boundary.test.ts)";
const OUT_OF_BOUNDS = ["^@pulumi/", "^(\\.\\./)+(infra|stacks)(/|$)"];

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
    files: ["migrator/locks.ts", "migrator/statements.ts", "migrator/version-rules.ts"],
    // These walk libpg-query's parse tree: untyped JSON whose node shapes vary by statement kind.
    rules: { "@typescript-eslint/no-explicit-any": "off" },
  },
  {
    files: ["test/**/*.ts"],
    // Tests read untyped JSON (--json output, stack exports) and let expect() check its shape.
    rules: { "@typescript-eslint/no-explicit-any": "off" },
  },
  {
    files: ["migrator/**/*.ts"],
    rules: {
      "@typescript-eslint/no-restricted-imports": ["error", { patterns: OUT_OF_BOUNDS.map((regex) => ({ regex, message: ENGINE_BOUNDARY })) }],
      // import("…") too, which no-restricted-imports does not see.
      "no-restricted-syntax": [
        "error",
        ...OUT_OF_BOUNDS.map((regex) => ({ selector: `ImportExpression[source.value=/${regex.replaceAll("/", "\\/")}/]`, message: ENGINE_BOUNDARY })),
      ],
    },
  },
);
