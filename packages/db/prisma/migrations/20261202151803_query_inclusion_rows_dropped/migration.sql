-- The per-person rows go only once every query that has some also has its bitmap: migrate()
-- of @opencohort/db converts them just before this migration (src/inclusions-conversion.ts).
-- Applied without that step (prisma migrate deploy alone on a database holding rows), the
-- CHECK below fails, the migration stops and nothing is lost.
CREATE TEMP TABLE "_unconverted_query_inclusions" (
    "queries" INTEGER NOT NULL CONSTRAINT "QueryInclusion rows not converted, run migrate() of @opencohort/db" CHECK ("queries" = 0)
);
INSERT INTO "_unconverted_query_inclusions"
SELECT COUNT(DISTINCT "queryId") FROM "QueryInclusion"
WHERE "queryId" NOT IN (SELECT "queryId" FROM "QueryInclusionSet");
DROP TABLE "_unconverted_query_inclusions";

-- DropTable
PRAGMA foreign_keys=off;
DROP TABLE "QueryInclusion";
PRAGMA foreign_keys=on;
