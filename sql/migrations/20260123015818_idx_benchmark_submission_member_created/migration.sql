-- migrate:no-transaction
-- A member's benchmark submissions, newest first; also serves the foreign key
-- to "Member" (ON DELETE CASCADE finds the rows by "memberId").
-- CONCURRENTLY: writes to the table go on during the build; it cannot run in a
-- transaction block, so this file runs in autocommit and holds this one statement.

-- CreateIndex
CREATE INDEX CONCURRENTLY IF NOT EXISTS "BenchmarkSubmission_memberId_createdAt_idx" ON "BenchmarkSubmission"("memberId", "createdAt");
