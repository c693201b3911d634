-- AlterTable
ALTER TABLE "StandardsSnapshot" ADD COLUMN     "contributionCap" INTEGER NOT NULL DEFAULT 10;
