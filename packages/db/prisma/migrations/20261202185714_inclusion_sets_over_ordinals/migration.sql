-- Inclusion sets of person ids (bitmap format version 1) become sets of enrolment ordinals
-- (version 2): migrate() of @opencohort/db converts them just before this migration
-- (src/inclusions-conversion.ts). Applied without that step (prisma migrate deploy alone on
-- a database holding version 1 sets), the CHECK below fails, the migration stops and the
-- sets stay as they were.
CREATE TEMP TABLE "_unconverted_inclusion_sets" (
    "sets" INTEGER NOT NULL CONSTRAINT "Inclusion sets of person ids not converted, run migrate() of @opencohort/db" CHECK ("sets" = 0)
);
INSERT INTO "_unconverted_inclusion_sets"
SELECT COUNT(*) FROM "QueryInclusionSet" WHERE substr("bitmap", 5, 2) = X'0100';
DROP TABLE "_unconverted_inclusion_sets";
