-- migrate:no-transaction
-- A member's resources; serves the foreign key to "Member" (ON DELETE RESTRICT
-- checks for referencing rows by "memberId").
-- CONCURRENTLY: writes to the table go on during the build; it cannot run in a
-- transaction block, so this file runs in autocommit and holds this one statement.

-- CreateIndex
CREATE INDEX CONCURRENTLY IF NOT EXISTS "Resource_memberId_idx" ON "Resource"("memberId");
