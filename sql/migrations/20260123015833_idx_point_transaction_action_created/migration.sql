-- migrate:no-transaction
-- Points by action over a time window (how many daily-login awards this week).
-- CONCURRENTLY: writes to the table go on during the build; it cannot run in a
-- transaction block, so this file runs in autocommit and holds this one statement.

-- CreateIndex
CREATE INDEX CONCURRENTLY IF NOT EXISTS "PointTransaction_action_createdAt_idx" ON "PointTransaction"("action", "createdAt");
