-- Validate the five foreign keys to "Member" added NOT VALID by the previous
-- migration. VALIDATE CONSTRAINT scans the referencing table under a SHARE
-- UPDATE EXCLUSIVE lock (reads and writes go on) and takes only ROW SHARE on
-- "Member". It runs in its own migration, after the NOT VALID one has
-- committed, so the ACCESS EXCLUSIVE lock of that one is long released.

-- ValidateForeignKey
ALTER TABLE "BenchmarkSubmission" VALIDATE CONSTRAINT "BenchmarkSubmission_memberId_fkey";

-- ValidateForeignKey
ALTER TABLE "Resource" VALIDATE CONSTRAINT "Resource_memberId_fkey";

-- ValidateForeignKey
ALTER TABLE "ResourceDownload" VALIDATE CONSTRAINT "ResourceDownload_memberId_fkey";

-- ValidateForeignKey
ALTER TABLE "PointTransaction" VALIDATE CONSTRAINT "PointTransaction_memberId_fkey";

-- ValidateForeignKey
ALTER TABLE "DiscordActivity" VALIDATE CONSTRAINT "DiscordActivity_memberId_fkey";
