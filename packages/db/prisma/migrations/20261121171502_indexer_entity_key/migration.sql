-- RedefineTables
PRAGMA defer_foreign_keys=ON;
PRAGMA foreign_keys=OFF;
CREATE TABLE "new_IndexedEvent" (
    "id" TEXT NOT NULL PRIMARY KEY,
    "chainId" INTEGER NOT NULL,
    "stream" TEXT NOT NULL,
    "blockNumber" BIGINT NOT NULL,
    "blockHash" TEXT NOT NULL,
    "blockTimestamp" BIGINT NOT NULL,
    "txHash" TEXT NOT NULL,
    "logIndex" INTEGER NOT NULL,
    "entityKey" TEXT NOT NULL,
    "address" TEXT NOT NULL,
    "eventName" TEXT NOT NULL,
    "args" JSONB NOT NULL,
    "createdAt" DATETIME NOT NULL DEFAULT CURRENT_TIMESTAMP
);
INSERT INTO "new_IndexedEvent" ("address", "args", "blockHash", "blockNumber", "chainId", "createdAt", "eventName", "id", "logIndex", "stream", "txHash") SELECT "address", "args", "blockHash", "blockNumber", "chainId", "createdAt", "eventName", "id", "logIndex", "stream", "txHash" FROM "IndexedEvent";
DROP TABLE "IndexedEvent";
ALTER TABLE "new_IndexedEvent" RENAME TO "IndexedEvent";
CREATE INDEX "IndexedEvent_chainId_stream_entityKey_blockNumber_logIndex_idx" ON "IndexedEvent"("chainId", "stream", "entityKey", "blockNumber", "logIndex");
CREATE INDEX "IndexedEvent_chainId_stream_blockNumber_idx" ON "IndexedEvent"("chainId", "stream", "blockNumber");
CREATE INDEX "IndexedEvent_txHash_idx" ON "IndexedEvent"("txHash");
CREATE UNIQUE INDEX "IndexedEvent_chainId_blockHash_logIndex_key" ON "IndexedEvent"("chainId", "blockHash", "logIndex");
PRAGMA foreign_keys=ON;
PRAGMA defer_foreign_keys=OFF;
