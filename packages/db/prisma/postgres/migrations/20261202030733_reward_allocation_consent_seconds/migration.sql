-- AlterTable
ALTER TABLE "RewardAllocation" DROP COLUMN "inclusions",
ADD COLUMN     "consentSeconds" INTEGER;
