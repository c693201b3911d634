-- AlterTable
ALTER TABLE "IndexedEvent" ADD COLUMN     "blockTimestamp" BIGINT NOT NULL,
ADD COLUMN     "entityKey" TEXT NOT NULL;

-- CreateIndex
CREATE INDEX "IndexedEvent_chainId_stream_entityKey_blockNumber_logIndex_idx" ON "IndexedEvent"("chainId", "stream", "entityKey", "blockNumber", "logIndex");
