-- AlterTable
ALTER TABLE "PrivacyBudgetEntry" ADD COLUMN "delta" TEXT;

-- AlterTable
ALTER TABLE "Query" ADD COLUMN "hiddenCommitment" TEXT;
ALTER TABLE "Query" ADD COLUMN "receiptSalt" TEXT;

-- DropTable
PRAGMA foreign_keys=off;
DROP TABLE "SiweNonce";
PRAGMA foreign_keys=on;

-- CreateIndex
CREATE INDEX "PrivacyBudgetEntry_datasetId_idx" ON "PrivacyBudgetEntry"("datasetId");

-- CreateIndex
CREATE INDEX "Query_datasetVersionId_queryHash_idx" ON "Query"("datasetVersionId", "queryHash");
