-- AlterTable: existing enrolments are numbered in the order they were made (ties by id), per
-- dataset, before the column becomes required.
ALTER TABLE "Enrolment" ADD COLUMN     "ordinal" INTEGER;
UPDATE "Enrolment" SET "ordinal" = numbered."ordinal"
FROM (
    SELECT "id", ROW_NUMBER() OVER (PARTITION BY "datasetId" ORDER BY "createdAt", "id") AS "ordinal"
    FROM "Enrolment"
) AS numbered
WHERE "Enrolment"."id" = numbered."id";
ALTER TABLE "Enrolment" ALTER COLUMN "ordinal" SET NOT NULL;

-- CreateIndex
CREATE UNIQUE INDEX "Enrolment_datasetId_ordinal_key" ON "Enrolment"("datasetId", "ordinal");
