-- migrate:no-transaction
-- Per-category benchmark leaderboard: WHERE "category" = $1 ORDER BY "score" DESC.
-- CONCURRENTLY: writes to the table go on during the build; it cannot run in a
-- transaction block, so this file runs in autocommit and holds this one statement.

-- CreateIndex
CREATE INDEX CONCURRENTLY IF NOT EXISTS "BenchmarkSubmission_category_score_idx" ON "BenchmarkSubmission"("category", "score" DESC);
