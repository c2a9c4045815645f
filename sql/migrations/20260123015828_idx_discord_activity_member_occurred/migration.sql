-- migrate:no-transaction
-- Recent Discord activity per member; serves the foreign key to "Member".
-- CONCURRENTLY: writes to the table go on during the build; it cannot run in a
-- transaction block, so this file runs in autocommit and holds this one statement.

-- CreateIndex
CREATE INDEX CONCURRENTLY IF NOT EXISTS "DiscordActivity_memberId_occurredAt_idx" ON "DiscordActivity"("memberId", "occurredAt");
