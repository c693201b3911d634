-- CreateTable
CREATE TABLE "Job" (
    "id" TEXT NOT NULL PRIMARY KEY,
    "queue" TEXT NOT NULL,
    "payload" JSONB NOT NULL,
    "state" TEXT NOT NULL DEFAULT 'queued',
    "attempts" INTEGER NOT NULL DEFAULT 0,
    "lockedBy" TEXT,
    "lockedUntil" DATETIME,
    "lastError" TEXT,
    "createdAt" DATETIME NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "finishedAt" DATETIME
);

-- RedefineTables
PRAGMA defer_foreign_keys=ON;
PRAGMA foreign_keys=OFF;
CREATE TABLE "new_Query" (
    "id" TEXT NOT NULL PRIMARY KEY,
    "researcherAddress" TEXT NOT NULL,
    "datasetId" TEXT NOT NULL,
    "datasetVersionId" TEXT NOT NULL,
    "kind" TEXT NOT NULL,
    "sql" TEXT NOT NULL,
    "cohortDefinition" JSONB,
    "status" TEXT NOT NULL DEFAULT 'PENDING',
    "result" JSONB,
    "errorRule" TEXT,
    "errorMessage" TEXT,
    "epsilonSpent" TEXT,
    "queryHash" TEXT,
    "datasetVersionHash" TEXT,
    "consentSnapshotBlock" BIGINT,
    "parameters" JSONB,
    "resultHash" TEXT,
    "includedPersonCount" INTEGER,
    "receiptSalt" TEXT,
    "hiddenCommitment" TEXT,
    "receiptHash" TEXT,
    "epoch" INTEGER,
    "runAttempt" INTEGER NOT NULL DEFAULT 0,
    "createdAt" DATETIME NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "startedAt" DATETIME,
    "finishedAt" DATETIME,
    CONSTRAINT "Query_datasetId_fkey" FOREIGN KEY ("datasetId") REFERENCES "Dataset" ("id") ON DELETE RESTRICT ON UPDATE CASCADE,
    CONSTRAINT "Query_datasetVersionId_fkey" FOREIGN KEY ("datasetVersionId") REFERENCES "DatasetVersion" ("id") ON DELETE RESTRICT ON UPDATE CASCADE
);
INSERT INTO "new_Query" ("cohortDefinition", "consentSnapshotBlock", "createdAt", "datasetId", "datasetVersionHash", "datasetVersionId", "epoch", "epsilonSpent", "errorMessage", "errorRule", "finishedAt", "hiddenCommitment", "id", "includedPersonCount", "kind", "parameters", "queryHash", "receiptHash", "receiptSalt", "researcherAddress", "result", "resultHash", "sql", "startedAt", "status") SELECT "cohortDefinition", "consentSnapshotBlock", "createdAt", "datasetId", "datasetVersionHash", "datasetVersionId", "epoch", "epsilonSpent", "errorMessage", "errorRule", "finishedAt", "hiddenCommitment", "id", "includedPersonCount", "kind", "parameters", "queryHash", "receiptHash", "receiptSalt", "researcherAddress", "result", "resultHash", "sql", "startedAt", "status" FROM "Query";
DROP TABLE "Query";
ALTER TABLE "new_Query" RENAME TO "Query";
CREATE UNIQUE INDEX "Query_receiptHash_key" ON "Query"("receiptHash");
CREATE INDEX "Query_researcherAddress_createdAt_idx" ON "Query"("researcherAddress", "createdAt");
CREATE INDEX "Query_datasetId_status_idx" ON "Query"("datasetId", "status");
CREATE INDEX "Query_epoch_status_idx" ON "Query"("epoch", "status");
CREATE INDEX "Query_status_createdAt_idx" ON "Query"("status", "createdAt");
CREATE INDEX "Query_datasetVersionId_queryHash_idx" ON "Query"("datasetVersionId", "queryHash");
PRAGMA foreign_keys=ON;
PRAGMA defer_foreign_keys=OFF;

-- CreateIndex
CREATE INDEX "Job_queue_state_createdAt_idx" ON "Job"("queue", "state", "createdAt");

-- Queries left in flight by the old in-request runner have no job and would block their
-- epoch from closing: they end as interrupted (their researchers can run them again).
UPDATE "Query" SET "status" = 'FAILED', "errorRule" = 'query-interrupted', "errorMessage" = 'The query was interrupted by an upgrade of the service. Run it again.', "finishedAt" = CURRENT_TIMESTAMP WHERE "status" IN ('PENDING', 'RUNNING');
