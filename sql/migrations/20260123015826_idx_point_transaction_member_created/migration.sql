-- migrate:no-transaction
-- Recent points activity per member (ORDER BY "createdAt" DESC scans it
-- backwards); serves the foreign key to "Member".
-- CONCURRENTLY: writes to the table go on during the build; it cannot run in a
-- transaction block, so this file runs in autocommit and holds this one statement.

-- CreateIndex
CREATE INDEX CONCURRENTLY IF NOT EXISTS "PointTransaction_memberId_createdAt_idx" ON "PointTransaction"("memberId", "createdAt");
