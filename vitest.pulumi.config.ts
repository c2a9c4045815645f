import { defineConfig } from "vitest/config";

/**
 * `npm run test:pulumi`: the local stack under the real Pulumi engine (test/engine). Its own
 * config because it needs the tools scripts/build-pulumi.sh builds, and its files are named
 * *.engine.ts so the `npm test` include (test/**\/*.test.ts) never picks them up.
 */
export default defineConfig({
  test: {
    include: ["test/engine/**/*.engine.ts"],
    // Each step is a real `pulumi preview/up/destroy`: node, the engine and the providers start for every one.
    testTimeout: 600_000,
    hookTimeout: 300_000,
    fileParallelism: false,
  },
});
