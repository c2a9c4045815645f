-- migrate:no-transaction
-- Points over a time window for everyone (weekly and monthly leaderboards).
-- CONCURRENTLY: writes to the table go on during the build; it cannot run in a
-- transaction block, so this file runs in autocommit and holds this one statement.

-- CreateIndex
CREATE INDEX CONCURRENTLY IF NOT EXISTS "PointTransaction_createdAt_idx" ON "PointTransaction"("createdAt");
