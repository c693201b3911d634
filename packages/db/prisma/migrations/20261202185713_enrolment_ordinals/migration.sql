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
    "ordinal" INTEGER NOT NULL,
    "createdAt" DATETIME NOT NULL DEFAULT CURRENT_TIMESTAMP,
    CONSTRAINT "Enrolment_datasetId_fkey" FOREIGN KEY ("datasetId") REFERENCES "Dataset" ("id") ON DELETE CASCADE ON UPDATE CASCADE
);
-- Existing enrolments are numbered in the order they were made (ties by id), per dataset.
INSERT INTO "new_Enrolment" ("boundAt", "createdAt", "datasetId", "id", "identityAddress", "patientAddress", "personId", "ordinal") SELECT "boundAt", "createdAt", "datasetId", "id", "identityAddress", "patientAddress", "personId", ROW_NUMBER() OVER (PARTITION BY "datasetId" ORDER BY "createdAt", "id") FROM "Enrolment";
DROP TABLE "Enrolment";
ALTER TABLE "new_Enrolment" RENAME TO "Enrolment";
CREATE INDEX "Enrolment_patientAddress_idx" ON "Enrolment"("patientAddress");
CREATE INDEX "Enrolment_identityAddress_idx" ON "Enrolment"("identityAddress");
CREATE UNIQUE INDEX "Enrolment_datasetId_personId_key" ON "Enrolment"("datasetId", "personId");
CREATE UNIQUE INDEX "Enrolment_datasetId_patientAddress_key" ON "Enrolment"("datasetId", "patientAddress");
CREATE UNIQUE INDEX "Enrolment_datasetId_identityAddress_key" ON "Enrolment"("datasetId", "identityAddress");
CREATE UNIQUE INDEX "Enrolment_datasetId_ordinal_key" ON "Enrolment"("datasetId", "ordinal");
PRAGMA foreign_keys=ON;
PRAGMA defer_foreign_keys=OFF;
