-- DropForeignKey
ALTER TABLE "RewardEpoch" DROP CONSTRAINT "RewardEpoch_datasetId_fkey";

-- DropForeignKey
ALTER TABLE "RewardAllocation" DROP CONSTRAINT "RewardAllocation_rewardEpochId_fkey";

-- DropIndex
DROP INDEX "RewardEpoch_datasetId_epoch_key";

-- AlterTable
ALTER TABLE "Enrolment" ADD COLUMN     "boundAt" TIMESTAMP(3),
ADD COLUMN     "identityAddress" TEXT,
ALTER COLUMN "patientAddress" DROP NOT NULL;

-- Reward roots were per (dataset, epoch) on the previous RewardDistributor, the new one pays
-- one root per epoch, so the old rows (and their proofs) cannot be carried over.
DELETE FROM "RewardAllocation";
DELETE FROM "RewardEpoch";

-- AlterTable
ALTER TABLE "RewardEpoch" DROP CONSTRAINT "RewardEpoch_pkey",
DROP COLUMN "datasetId",
DROP COLUMN "id",
ADD COLUMN     "unit" TEXT NOT NULL,
ADD CONSTRAINT "RewardEpoch_pkey" PRIMARY KEY ("epoch");

-- DropTable
DROP TABLE "RewardAllocation";

-- CreateTable
CREATE TABLE "PayoutRegistration" (
    "identityAddress" TEXT NOT NULL,
    "payoutAddress" TEXT NOT NULL,
    "signature" TEXT NOT NULL,
    "issuedAt" BIGINT NOT NULL,
    "updatedAt" TIMESTAMP(3) NOT NULL,

    CONSTRAINT "PayoutRegistration_pkey" PRIMARY KEY ("identityAddress")
);

-- CreateTable
CREATE TABLE "RewardPayout" (
    "epoch" INTEGER NOT NULL,
    "payoutAddress" TEXT NOT NULL,
    "amount" TEXT NOT NULL,
    "proof" JSONB NOT NULL,
    "claimedTxHash" TEXT,
    "claimedBlock" BIGINT,

    CONSTRAINT "RewardPayout_pkey" PRIMARY KEY ("epoch","payoutAddress")
);

-- CreateTable
CREATE TABLE "RewardShare" (
    "epoch" INTEGER NOT NULL,
    "datasetId" TEXT NOT NULL,
    "identityAddress" TEXT NOT NULL,
    "payoutAddress" TEXT NOT NULL,
    "amount" TEXT NOT NULL,

    CONSTRAINT "RewardShare_pkey" PRIMARY KEY ("epoch","datasetId","identityAddress")
);

-- CreateTable
CREATE TABLE "ClaimRelayRequest" (
    "id" TEXT NOT NULL,
    "payoutAddress" TEXT NOT NULL,
    "epochs" JSONB NOT NULL,
    "status" "ConsentRelayStatus" NOT NULL DEFAULT 'PENDING',
    "txHash" TEXT,
    "error" TEXT,
    "attempts" INTEGER NOT NULL DEFAULT 0,
    "createdAt" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "updatedAt" TIMESTAMP(3) NOT NULL,

    CONSTRAINT "ClaimRelayRequest_pkey" PRIMARY KEY ("id")
);

-- CreateIndex
CREATE INDEX "PayoutRegistration_payoutAddress_idx" ON "PayoutRegistration"("payoutAddress");

-- CreateIndex
CREATE INDEX "RewardPayout_payoutAddress_idx" ON "RewardPayout"("payoutAddress");

-- CreateIndex
CREATE INDEX "RewardShare_identityAddress_idx" ON "RewardShare"("identityAddress");

-- CreateIndex
CREATE INDEX "ClaimRelayRequest_status_createdAt_idx" ON "ClaimRelayRequest"("status", "createdAt");

-- CreateIndex
CREATE INDEX "ClaimRelayRequest_payoutAddress_idx" ON "ClaimRelayRequest"("payoutAddress");

-- CreateIndex
CREATE INDEX "Enrolment_identityAddress_idx" ON "Enrolment"("identityAddress");

-- CreateIndex
CREATE UNIQUE INDEX "Enrolment_datasetId_identityAddress_key" ON "Enrolment"("datasetId", "identityAddress");

-- AddForeignKey
ALTER TABLE "RewardPayout" ADD CONSTRAINT "RewardPayout_epoch_fkey" FOREIGN KEY ("epoch") REFERENCES "RewardEpoch"("epoch") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "RewardShare" ADD CONSTRAINT "RewardShare_epoch_fkey" FOREIGN KEY ("epoch") REFERENCES "RewardEpoch"("epoch") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "RewardShare" ADD CONSTRAINT "RewardShare_datasetId_fkey" FOREIGN KEY ("datasetId") REFERENCES "Dataset"("id") ON DELETE RESTRICT ON UPDATE CASCADE;
