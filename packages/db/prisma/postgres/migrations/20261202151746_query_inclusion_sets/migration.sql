-- CreateTable
CREATE TABLE "QueryInclusionSet" (
    "queryId" TEXT NOT NULL,
    "datasetId" TEXT NOT NULL,
    "epoch" INTEGER NOT NULL,
    "bitmap" BYTEA NOT NULL,

    CONSTRAINT "QueryInclusionSet_pkey" PRIMARY KEY ("queryId")
);

-- CreateTable
CREATE TABLE "PatientQueryUse" (
    "datasetId" TEXT NOT NULL,
    "personId" BIGINT NOT NULL,
    "queryId" TEXT NOT NULL,

    CONSTRAINT "PatientQueryUse_pkey" PRIMARY KEY ("datasetId","personId","queryId")
);

-- CreateIndex
CREATE INDEX "QueryInclusionSet_datasetId_queryId_idx" ON "QueryInclusionSet"("datasetId", "queryId");

-- AddForeignKey
ALTER TABLE "QueryInclusionSet" ADD CONSTRAINT "QueryInclusionSet_queryId_fkey" FOREIGN KEY ("queryId") REFERENCES "Query"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "PatientQueryUse" ADD CONSTRAINT "PatientQueryUse_datasetId_personId_fkey" FOREIGN KEY ("datasetId", "personId") REFERENCES "Enrolment"("datasetId", "personId") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "PatientQueryUse" ADD CONSTRAINT "PatientQueryUse_queryId_fkey" FOREIGN KEY ("queryId") REFERENCES "Query"("id") ON DELETE CASCADE ON UPDATE CASCADE;
