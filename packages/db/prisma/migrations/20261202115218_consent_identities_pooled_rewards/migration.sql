-- DropIndex
DROP INDEX "RewardAllocation_patientAddress_idx";

-- DropTable
PRAGMA foreign_keys=off;
DROP TABLE "RewardAllocation";
PRAGMA foreign_keys=on;

-- CreateTable
CREATE TABLE "PayoutRegistration" (
    "identityAddress" TEXT NOT NULL PRIMARY KEY,
    "payoutAddress" TEXT NOT NULL,
    "signature" TEXT NOT NULL,
    "issuedAt" BIGINT NOT NULL,
    "updatedAt" DATETIME NOT NULL
);

-- CreateTable
CREATE TABLE "RewardPayout" (
    "epoch" INTEGER NOT NULL,
    "payoutAddress" TEXT NOT NULL,
    "amount" TEXT NOT NULL,
    "proof" JSONB NOT NULL,
    "claimedTxHash" TEXT,
    "claimedBlock" BIGINT,

    PRIMARY KEY ("epoch", "payoutAddress"),
    CONSTRAINT "RewardPayout_epoch_fkey" FOREIGN KEY ("epoch") REFERENCES "RewardEpoch" ("epoch") ON DELETE CASCADE ON UPDATE CASCADE
);

-- CreateTable
CREATE TABLE "RewardShare" (
    "epoch" INTEGER NOT NULL,
    "datasetId" TEXT NOT NULL,
    "identityAddress" TEXT NOT NULL,
    "payoutAddress" TEXT NOT NULL,
    "amount" TEXT NOT NULL,

    PRIMARY KEY ("epoch", "datasetId", "identityAddress"),
    CONSTRAINT "RewardShare_epoch_fkey" FOREIGN KEY ("epoch") REFERENCES "RewardEpoch" ("epoch") ON DELETE CASCADE ON UPDATE CASCADE,
    CONSTRAINT "RewardShare_datasetId_fkey" FOREIGN KEY ("datasetId") REFERENCES "Dataset" ("id") ON DELETE RESTRICT ON UPDATE CASCADE
);

-- CreateTable
CREATE TABLE "ClaimRelayRequest" (
    "id" TEXT NOT NULL PRIMARY KEY,
    "payoutAddress" TEXT NOT NULL,
    "epochs" JSONB NOT NULL,
    "status" TEXT NOT NULL DEFAULT 'PENDING',
    "txHash" TEXT,
    "error" TEXT,
    "attempts" INTEGER NOT NULL DEFAULT 0,
    "createdAt" DATETIME NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "updatedAt" DATETIME NOT NULL
);

-- RedefineTables
PRAGMA defer_foreign_keys=ON;
PRAGMA foreign_keys=OFF;
CREATE TABLE "new_Enrolment" (
    "id" TEXT NOT NULL PRIMARY KEY,
    "datasetId" TEXT NOT NULL,
    "personId" BIGINT NOT NULL,
    "patientAddress" TEXT,
    "identityAddress" TEXT,
    "boundAt" DATETIME,
    "createdAt" DATETIME NOT NULL DEFAULT CURRENT_TIMESTAMP,
    CONSTRAINT "Enrolment_datasetId_fkey" FOREIGN KEY ("datasetId") REFERENCES "Dataset" ("id") ON DELETE CASCADE ON UPDATE CASCADE
);
INSERT INTO "new_Enrolment" ("createdAt", "datasetId", "id", "patientAddress", "personId") SELECT "createdAt", "datasetId", "id", "patientAddress", "personId" FROM "Enrolment";
DROP TABLE "Enrolment";
ALTER TABLE "new_Enrolment" RENAME TO "Enrolment";
CREATE INDEX "Enrolment_patientAddress_idx" ON "Enrolment"("patientAddress");
CREATE INDEX "Enrolment_identityAddress_idx" ON "Enrolment"("identityAddress");
CREATE UNIQUE INDEX "Enrolment_datasetId_personId_key" ON "Enrolment"("datasetId", "personId");
CREATE UNIQUE INDEX "Enrolment_datasetId_patientAddress_key" ON "Enrolment"("datasetId", "patientAddress");
CREATE UNIQUE INDEX "Enrolment_datasetId_identityAddress_key" ON "Enrolment"("datasetId", "identityAddress");
CREATE TABLE "new_RewardEpoch" (
    "epoch" INTEGER NOT NULL PRIMARY KEY AUTOINCREMENT,
    "status" TEXT NOT NULL DEFAULT 'OPEN',
    "pool" TEXT NOT NULL,
    "unit" TEXT NOT NULL,
    "total" TEXT,
    "merkleRoot" TEXT,
    "postTxHash" TEXT,
    "postedBlock" BIGINT,
    "createdAt" DATETIME NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "updatedAt" DATETIME NOT NULL
);
-- Reward roots were per (dataset, epoch) on the previous RewardDistributor, the new one pays
-- one root per epoch, so the old rows (and their proofs) cannot be carried over.
DROP TABLE "RewardEpoch";
ALTER TABLE "new_RewardEpoch" RENAME TO "RewardEpoch";
CREATE INDEX "RewardEpoch_status_idx" ON "RewardEpoch"("status");
PRAGMA foreign_keys=ON;
PRAGMA defer_foreign_keys=OFF;

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
