-- migrate:no-transaction
-- Downloads per resource, over a time window; serves the foreign key to
-- "Resource" (ON DELETE CASCADE).
-- CONCURRENTLY: writes to the table go on during the build; it cannot run in a
-- transaction block, so this file runs in autocommit and holds this one statement.

-- CreateIndex
CREATE INDEX CONCURRENTLY IF NOT EXISTS "ResourceDownload_resourceId_downloadedAt_idx" ON "ResourceDownload"("resourceId", "downloadedAt");
