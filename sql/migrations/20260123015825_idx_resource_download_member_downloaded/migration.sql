-- migrate:no-transaction
-- A member's download history; serves the foreign key to "Member".
-- CONCURRENTLY: writes to the table go on during the build; it cannot run in a
-- transaction block, so this file runs in autocommit and holds this one statement.

-- CreateIndex
CREATE INDEX CONCURRENTLY IF NOT EXISTS "ResourceDownload_memberId_downloadedAt_idx" ON "ResourceDownload"("memberId", "downloadedAt");
