-- v2.0: benchmarks, resources, the points ledger and Discord (MEE6) XP sync.
--
-- Zero-downtime rules this file keeps:
-- * New enums and tables first: they lock nothing that exists.
-- * "Member" gains columns with constant defaults or none, so PostgreSQL (11+)
--   records the default in the catalog and never rewrites the table; the
--   ACCESS EXCLUSIVE lock this takes on "Member" is held only for the catalog
--   changes that follow, up to COMMIT.
-- * Each foreign key to "Member" is added NOT VALID: no scan of the referencing
--   table, and new rows are checked from now on. The next migration validates
--   them under a SHARE UPDATE EXCLUSIVE lock that lets reads and writes go on.
-- * No index here beyond the primary keys: the 16 secondary indexes are built
--   CONCURRENTLY, one per migration, outside any transaction.

-- CreateEnum
CREATE TYPE "BenchmarkCategory" AS ENUM ('CPU', 'GPU', 'MEMORY', 'STORAGE', 'NETWORK');

-- CreateEnum
CREATE TYPE "ResourceCategory" AS ENUM ('DEVELOPMENT', 'DESIGN', 'DATA', 'INFRASTRUCTURE', 'CAREER', 'COMMUNITY');

-- CreateEnum
CREATE TYPE "ResourceType" AS ENUM ('ARTICLE', 'VIDEO', 'TEMPLATE', 'TOOL', 'DATASET', 'COURSE', 'LINK');

-- CreateEnum
CREATE TYPE "DiscordActivityType" AS ENUM ('MESSAGE', 'VOICE', 'REACTION', 'LEVEL_UP', 'XP_SYNC');

-- CreateTable
CREATE TABLE "BenchmarkSubmission" (
    "id" TEXT NOT NULL,
    "memberId" TEXT NOT NULL,
    "category" "BenchmarkCategory" NOT NULL,
    "title" TEXT NOT NULL,
    "score" DOUBLE PRECISION NOT NULL,
    "data" JSONB NOT NULL,
    "verified" BOOLEAN NOT NULL DEFAULT false,
    "createdAt" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "updatedAt" TIMESTAMPTZ(3) NOT NULL,

    CONSTRAINT "BenchmarkSubmission_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "Resource" (
    "id" TEXT NOT NULL,
    "memberId" TEXT NOT NULL,
    "slug" TEXT NOT NULL,
    "title" TEXT NOT NULL,
    "description" TEXT,
    "url" TEXT NOT NULL,
    "category" "ResourceCategory" NOT NULL,
    "type" "ResourceType" NOT NULL,
    "published" BOOLEAN NOT NULL DEFAULT false,
    "createdAt" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "updatedAt" TIMESTAMPTZ(3) NOT NULL,

    CONSTRAINT "Resource_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "ResourceDownload" (
    "id" TEXT NOT NULL,
    "resourceId" TEXT NOT NULL,
    "memberId" TEXT NOT NULL,
    "downloadedAt" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "ResourceDownload_pkey" PRIMARY KEY ("id"),
    -- "Resource" and this table are both new and empty in this transaction, so
    -- this foreign key is valid from birth at no cost: no scan, nobody blocked.
    CONSTRAINT "ResourceDownload_resourceId_fkey" FOREIGN KEY ("resourceId") REFERENCES "Resource"("id") ON DELETE CASCADE ON UPDATE CASCADE
);

-- CreateTable
CREATE TABLE "PointTransaction" (
    "id" TEXT NOT NULL,
    "memberId" TEXT NOT NULL,
    "action" TEXT NOT NULL,
    "points" BIGINT NOT NULL,
    "metadata" JSONB,
    "createdAt" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "PointTransaction_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "DiscordActivity" (
    "id" TEXT NOT NULL,
    "memberId" TEXT NOT NULL,
    "discordUserId" TEXT NOT NULL,
    "type" "DiscordActivityType" NOT NULL,
    "xpDelta" BIGINT NOT NULL,
    "xpTotal" BIGINT NOT NULL,
    "level" BIGINT,
    "channelId" TEXT,
    "occurredAt" TIMESTAMPTZ(3) NOT NULL,
    "syncedAt" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "DiscordActivity_pkey" PRIMARY KEY ("id")
);

-- AlterTable
ALTER TABLE "Member" ADD COLUMN "totalPoints" BIGINT NOT NULL DEFAULT 0,
ADD COLUMN "currentStreak" BIGINT NOT NULL DEFAULT 0,
ADD COLUMN "lastActiveAt" TIMESTAMPTZ(3);

-- AddForeignKey
ALTER TABLE "BenchmarkSubmission" ADD CONSTRAINT "BenchmarkSubmission_memberId_fkey" FOREIGN KEY ("memberId") REFERENCES "Member"("id") ON DELETE CASCADE ON UPDATE CASCADE NOT VALID;

-- AddForeignKey
ALTER TABLE "Resource" ADD CONSTRAINT "Resource_memberId_fkey" FOREIGN KEY ("memberId") REFERENCES "Member"("id") ON DELETE RESTRICT ON UPDATE CASCADE NOT VALID;

-- AddForeignKey
ALTER TABLE "ResourceDownload" ADD CONSTRAINT "ResourceDownload_memberId_fkey" FOREIGN KEY ("memberId") REFERENCES "Member"("id") ON DELETE CASCADE ON UPDATE CASCADE NOT VALID;

-- AddForeignKey
ALTER TABLE "PointTransaction" ADD CONSTRAINT "PointTransaction_memberId_fkey" FOREIGN KEY ("memberId") REFERENCES "Member"("id") ON DELETE RESTRICT ON UPDATE RESTRICT NOT VALID;

-- AddForeignKey
ALTER TABLE "DiscordActivity" ADD CONSTRAINT "DiscordActivity_memberId_fkey" FOREIGN KEY ("memberId") REFERENCES "Member"("id") ON DELETE CASCADE ON UPDATE CASCADE NOT VALID;
