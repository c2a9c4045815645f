-- migrate:no-transaction
-- Browsing the taxonomy: by category, then by type within it.
-- CONCURRENTLY: writes to the table go on during the build; it cannot run in a
-- transaction block, so this file runs in autocommit and holds this one statement.

-- CreateIndex
CREATE INDEX CONCURRENTLY IF NOT EXISTS "Resource_category_type_idx" ON "Resource"("category", "type");
