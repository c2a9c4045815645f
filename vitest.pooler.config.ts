import { defineConfig } from "vitest/config";

/**
 * `npm run test:pooler`: the migrator behind a real PgBouncer (test/pooler). Its own config
 * because it needs Debian's `pgbouncer` package, which `npm test` must not (it needs only Node);
 * its files are named *.pooler.ts so the `npm test` include (test/**\/*.test.ts) never picks them
 * up. The first global setup stops the run, saying what to install, when PgBouncer is missing;
 * the second is `npm test`'s own (dist/ built, one embedded PostgreSQL 17 for the run).
 */
export default defineConfig({
  test: {
    include: ["test/pooler/**/*.pooler.ts"],
    globalSetup: ["test/pooler/require-pgbouncer.ts", "test/support/global-setup.ts"],
    testTimeout: 60_000,
    hookTimeout: 120_000,
    maxWorkers: 2,
    minWorkers: 1,
  },
});
