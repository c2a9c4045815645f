-- migrate:no-transaction
-- The all-time leaderboard: ORDER BY "totalPoints" DESC LIMIT n.
-- CONCURRENTLY: writes to the table go on during the build; it cannot run in a
-- transaction block, so this file runs in autocommit and holds this one statement.

-- CreateIndex
CREATE INDEX CONCURRENTLY IF NOT EXISTS "Member_totalPoints_idx" ON "Member"("totalPoints" DESC);
