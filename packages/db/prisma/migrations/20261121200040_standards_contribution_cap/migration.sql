-- RedefineTables
PRAGMA defer_foreign_keys=ON;
PRAGMA foreign_keys=OFF;
CREATE TABLE "new_StandardsSnapshot" (
    "id" TEXT NOT NULL PRIMARY KEY,
    "chainId" INTEGER NOT NULL,
    "block" BIGINT NOT NULL,
    "minCellSize" INTEGER NOT NULL,
    "roundingBase" INTEGER NOT NULL,
    "contributionCap" INTEGER NOT NULL DEFAULT 10,
    "epsilonPerQuery" TEXT NOT NULL,
    "epsilonBudget" TEXT NOT NULL,
    "patientsBps" INTEGER NOT NULL,
    "stewardBps" INTEGER NOT NULL,
    "treasuryBps" INTEGER NOT NULL,
    "treasury" TEXT NOT NULL,
    "acceptedSchemaVersions" JSONB NOT NULL,
    "createdAt" DATETIME NOT NULL DEFAULT CURRENT_TIMESTAMP
);
INSERT INTO "new_StandardsSnapshot" ("acceptedSchemaVersions", "block", "chainId", "createdAt", "epsilonBudget", "epsilonPerQuery", "id", "minCellSize", "patientsBps", "roundingBase", "stewardBps", "treasury", "treasuryBps") SELECT "acceptedSchemaVersions", "block", "chainId", "createdAt", "epsilonBudget", "epsilonPerQuery", "id", "minCellSize", "patientsBps", "roundingBase", "stewardBps", "treasury", "treasuryBps" FROM "StandardsSnapshot";
DROP TABLE "StandardsSnapshot";
ALTER TABLE "new_StandardsSnapshot" RENAME TO "StandardsSnapshot";
CREATE UNIQUE INDEX "StandardsSnapshot_chainId_block_key" ON "StandardsSnapshot"("chainId", "block");
PRAGMA foreign_keys=ON;
PRAGMA defer_foreign_keys=OFF;
