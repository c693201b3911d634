-- AlterTable
ALTER TABLE "Query" ADD COLUMN     "hiddenCommitment" TEXT,
ADD COLUMN     "receiptSalt" TEXT;

-- AlterTable
ALTER TABLE "PrivacyBudgetEntry" ADD COLUMN     "delta" TEXT;

-- DropTable
DROP TABLE "SiweNonce";

-- CreateIndex
CREATE INDEX "Query_datasetVersionId_queryHash_idx" ON "Query"("datasetVersionId", "queryHash");

-- CreateIndex
CREATE INDEX "PrivacyBudgetEntry_datasetId_idx" ON "PrivacyBudgetEntry"("datasetId");
