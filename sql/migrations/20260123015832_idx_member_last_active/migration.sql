-- migrate:no-transaction
-- Recently active members: WHERE "lastActiveAt" > $1 (and ORDER BY it, either way).
-- CONCURRENTLY: writes to the table go on during the build; it cannot run in a
-- transaction block, so this file runs in autocommit and holds this one statement.

-- CreateIndex
CREATE INDEX CONCURRENTLY IF NOT EXISTS "Member_lastActiveAt_idx" ON "Member"("lastActiveAt");
