-- migrate:no-transaction
-- JSONB containment on the submission payload: WHERE "data" @> '{"gpu": "..."}'.
-- jsonb_path_ops indexes only @> (and jsonpath @?, @@), and is smaller and
-- faster for it than the default jsonb_ops.
-- CONCURRENTLY: writes to the table go on during the build; it cannot run in a
-- transaction block, so this file runs in autocommit and holds this one statement.

-- CreateIndex
CREATE INDEX CONCURRENTLY IF NOT EXISTS "BenchmarkSubmission_data_idx" ON "BenchmarkSubmission" USING GIN ("data" jsonb_path_ops);
