-- CreateTable
CREATE TABLE "QueryInclusionSet" (
    "queryId" TEXT NOT NULL PRIMARY KEY,
    "datasetId" TEXT NOT NULL,
    "epoch" INTEGER NOT NULL,
    "bitmap" BLOB NOT NULL,
    CONSTRAINT "QueryInclusionSet_queryId_fkey" FOREIGN KEY ("queryId") REFERENCES "Query" ("id") ON DELETE CASCADE ON UPDATE CASCADE
);

-- CreateTable
CREATE TABLE "PatientQueryUse" (
    "datasetId" TEXT NOT NULL,
    "personId" BIGINT NOT NULL,
    "queryId" TEXT NOT NULL,

    PRIMARY KEY ("datasetId", "personId", "queryId"),
    CONSTRAINT "PatientQueryUse_datasetId_personId_fkey" FOREIGN KEY ("datasetId", "personId") REFERENCES "Enrolment" ("datasetId", "personId") ON DELETE CASCADE ON UPDATE CASCADE,
    CONSTRAINT "PatientQueryUse_queryId_fkey" FOREIGN KEY ("queryId") REFERENCES "Query" ("id") ON DELETE CASCADE ON UPDATE CASCADE
);

-- CreateIndex
CREATE INDEX "QueryInclusionSet_datasetId_queryId_idx" ON "QueryInclusionSet"("datasetId", "queryId");
