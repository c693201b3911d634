-- AlterTable
ALTER TABLE "Query" ADD COLUMN     "runAttempt" INTEGER NOT NULL DEFAULT 0;

-- CreateTable
CREATE TABLE "Job" (
    "id" TEXT NOT NULL,
    "queue" TEXT NOT NULL,
    "payload" JSONB NOT NULL,
    "state" TEXT NOT NULL DEFAULT 'queued',
    "attempts" INTEGER NOT NULL DEFAULT 0,
    "lockedBy" TEXT,
    "lockedUntil" TIMESTAMP(3),
    "lastError" TEXT,
    "createdAt" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "finishedAt" TIMESTAMP(3),

    CONSTRAINT "Job_pkey" PRIMARY KEY ("id")
);

-- CreateIndex
CREATE INDEX "Job_queue_state_createdAt_idx" ON "Job"("queue", "state", "createdAt");

-- Queries left in flight by the old in-request runner have no job and would block their
-- epoch from closing: they end as interrupted (their researchers can run them again).
UPDATE "Query" SET "status" = 'FAILED', "errorRule" = 'query-interrupted', "errorMessage" = 'The query was interrupted by an upgrade of the service. Run it again.', "finishedAt" = CURRENT_TIMESTAMP WHERE "status" IN ('PENDING', 'RUNNING');
