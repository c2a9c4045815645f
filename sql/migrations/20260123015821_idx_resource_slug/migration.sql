-- migrate:no-transaction
-- Resources are addressed by slug: unique. Built before the application writes
-- slugs that could collide; if duplicates exist the build fails and leaves an
-- INVALID index, which the migrator drops before the retry.
-- CONCURRENTLY: writes to the table go on during the build; it cannot run in a
-- transaction block, so this file runs in autocommit and holds this one statement.

-- CreateIndex
CREATE UNIQUE INDEX CONCURRENTLY IF NOT EXISTS "Resource_slug_key" ON "Resource"("slug");
