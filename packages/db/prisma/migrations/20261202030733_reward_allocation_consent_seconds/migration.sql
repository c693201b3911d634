-- RedefineTables
PRAGMA defer_foreign_keys=ON;
PRAGMA foreign_keys=OFF;
CREATE TABLE "new_RewardAllocation" (
    "rewardEpochId" TEXT NOT NULL,
    "patientAddress" TEXT NOT NULL,
    "amount" TEXT NOT NULL,
    "consentSeconds" INTEGER,
    "proof" JSONB NOT NULL,
    "claimedTxHash" TEXT,
    "claimedBlock" BIGINT,

    PRIMARY KEY ("rewardEpochId", "patientAddress"),
    CONSTRAINT "RewardAllocation_rewardEpochId_fkey" FOREIGN KEY ("rewardEpochId") REFERENCES "RewardEpoch" ("id") ON DELETE CASCADE ON UPDATE CASCADE
);
INSERT INTO "new_RewardAllocation" ("amount", "claimedBlock", "claimedTxHash", "patientAddress", "proof", "rewardEpochId") SELECT "amount", "claimedBlock", "claimedTxHash", "patientAddress", "proof", "rewardEpochId" FROM "RewardAllocation";
DROP TABLE "RewardAllocation";
ALTER TABLE "new_RewardAllocation" RENAME TO "RewardAllocation";
CREATE INDEX "RewardAllocation_patientAddress_idx" ON "RewardAllocation"("patientAddress");
PRAGMA foreign_keys=ON;
PRAGMA defer_foreign_keys=OFF;
