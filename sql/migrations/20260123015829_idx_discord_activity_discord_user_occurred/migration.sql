-- migrate:no-transaction
-- MEE6 XP sync: the latest synced activity of a Discord user.
-- CONCURRENTLY: writes to the table go on during the build; it cannot run in a
-- transaction block, so this file runs in autocommit and holds this one statement.

-- CreateIndex
CREATE INDEX CONCURRENTLY IF NOT EXISTS "DiscordActivity_discordUserId_occurredAt_idx" ON "DiscordActivity"("discordUserId", "occurredAt");
