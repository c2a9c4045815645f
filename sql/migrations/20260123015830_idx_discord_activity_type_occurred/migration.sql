-- migrate:no-transaction
-- Activity of one type over a time window (level-ups this week).
-- CONCURRENTLY: writes to the table go on during the build; it cannot run in a
-- transaction block, so this file runs in autocommit and holds this one statement.

-- CreateIndex
CREATE INDEX CONCURRENTLY IF NOT EXISTS "DiscordActivity_type_occurredAt_idx" ON "DiscordActivity"("type", "occurredAt");
