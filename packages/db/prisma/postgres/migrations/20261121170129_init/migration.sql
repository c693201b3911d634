-- CreateSchema
CREATE SCHEMA IF NOT EXISTS "public";

-- CreateEnum
CREATE TYPE "Role" AS ENUM ('RESEARCHER', 'PATIENT', 'STEWARD');

-- CreateEnum
CREATE TYPE "ConsentRelayStatus" AS ENUM ('PENDING', 'SUBMITTED', 'APPLIED', 'FAILED');

-- CreateEnum
CREATE TYPE "QueryKind" AS ENUM ('SQL', 'COHORT', 'FEASIBILITY');

-- CreateEnum
CREATE TYPE "QueryStatus" AS ENUM ('PENDING', 'RUNNING', 'SUCCEEDED', 'REJECTED', 'FAILED');

-- CreateEnum
CREATE TYPE "EpochStatus" AS ENUM ('OPEN', 'CLOSING', 'CLOSED');

-- CreateEnum
CREATE TYPE "RewardEpochStatus" AS ENUM ('OPEN', 'CLOSING', 'POSTED');

-- CreateEnum
CREATE TYPE "AnchorStatus" AS ENUM ('PENDING', 'ANCHORED');

-- CreateEnum
CREATE TYPE "ProposalState" AS ENUM ('PENDING', 'ACTIVE', 'CANCELED', 'DEFEATED', 'SUCCEEDED', 'QUEUED', 'EXPIRED', 'EXECUTED');

-- CreateTable
CREATE TABLE "Account" (
    "address" TEXT NOT NULL,
    "createdAt" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "updatedAt" TIMESTAMP(3) NOT NULL,

    CONSTRAINT "Account_pkey" PRIMARY KEY ("address")
);

-- CreateTable
CREATE TABLE "AccountRole" (
    "address" TEXT NOT NULL,
    "role" "Role" NOT NULL,
    "sinceBlock" BIGINT,
    "createdAt" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "AccountRole_pkey" PRIMARY KEY ("address","role")
);

-- CreateTable
CREATE TABLE "SiweNonce" (
    "nonce" TEXT NOT NULL,
    "createdAt" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "expiresAt" TIMESTAMP(3) NOT NULL,
    "consumedAt" TIMESTAMP(3),

    CONSTRAINT "SiweNonce_pkey" PRIMARY KEY ("nonce")
);

-- CreateTable
CREATE TABLE "Session" (
    "id" TEXT NOT NULL,
    "address" TEXT NOT NULL,
    "nonce" TEXT NOT NULL,
    "chainId" INTEGER NOT NULL,
    "createdAt" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "expiresAt" TIMESTAMP(3) NOT NULL,
    "revokedAt" TIMESTAMP(3),

    CONSTRAINT "Session_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "Dataset" (
    "id" TEXT NOT NULL,
    "steward" TEXT NOT NULL,
    "price" TEXT NOT NULL,
    "accessDurationSeconds" INTEGER NOT NULL,
    "metadataHash" TEXT NOT NULL,
    "latestVersion" INTEGER NOT NULL DEFAULT 0,
    "listed" BOOLEAN NOT NULL DEFAULT true,
    "delistedByGovernance" BOOLEAN NOT NULL DEFAULT false,
    "title" TEXT NOT NULL DEFAULT '',
    "description" TEXT NOT NULL DEFAULT '',
    "metadata" JSONB,
    "searchText" TEXT NOT NULL DEFAULT '',
    "listedBlock" BIGINT NOT NULL,
    "listedTxHash" TEXT NOT NULL,
    "updatedBlock" BIGINT NOT NULL,
    "createdAt" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "updatedAt" TIMESTAMP(3) NOT NULL,

    CONSTRAINT "Dataset_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "DatasetVersion" (
    "id" TEXT NOT NULL,
    "datasetId" TEXT NOT NULL,
    "version" INTEGER NOT NULL,
    "manifestHash" TEXT NOT NULL,
    "schemaVersion" TEXT NOT NULL,
    "location" TEXT,
    "manifest" JSONB,
    "personCount" INTEGER,
    "publishedAt" TIMESTAMP(3) NOT NULL,
    "publishedBlock" BIGINT NOT NULL,
    "publishedTxHash" TEXT NOT NULL,
    "registeredAt" TIMESTAMP(3),
    "createdAt" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "DatasetVersion_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "DatasetCondition" (
    "datasetId" TEXT NOT NULL,
    "code" TEXT NOT NULL,
    "label" TEXT NOT NULL DEFAULT '',

    CONSTRAINT "DatasetCondition_pkey" PRIMARY KEY ("datasetId","code")
);

-- CreateTable
CREATE TABLE "Enrolment" (
    "id" TEXT NOT NULL,
    "datasetId" TEXT NOT NULL,
    "personId" BIGINT NOT NULL,
    "patientAddress" TEXT NOT NULL,
    "createdAt" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "Enrolment_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "ConsentState" (
    "patientAddress" TEXT NOT NULL,
    "datasetId" TEXT NOT NULL,
    "granted" BOOLEAN NOT NULL,
    "nonce" TEXT NOT NULL,
    "lastBlock" BIGINT NOT NULL,
    "lastLogIndex" INTEGER NOT NULL,
    "lastTxHash" TEXT NOT NULL,
    "updatedAt" TIMESTAMP(3) NOT NULL,

    CONSTRAINT "ConsentState_pkey" PRIMARY KEY ("patientAddress","datasetId")
);

-- CreateTable
CREATE TABLE "ConsentRelayRequest" (
    "id" TEXT NOT NULL,
    "patientAddress" TEXT NOT NULL,
    "datasetId" TEXT NOT NULL,
    "granted" BOOLEAN NOT NULL,
    "nonce" TEXT NOT NULL,
    "deadline" TEXT NOT NULL,
    "signature" TEXT NOT NULL,
    "status" "ConsentRelayStatus" NOT NULL DEFAULT 'PENDING',
    "txHash" TEXT,
    "error" TEXT,
    "attempts" INTEGER NOT NULL DEFAULT 0,
    "createdAt" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "updatedAt" TIMESTAMP(3) NOT NULL,

    CONSTRAINT "ConsentRelayRequest_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "AccessPass" (
    "researcherAddress" TEXT NOT NULL,
    "datasetId" TEXT NOT NULL,
    "expiresAt" TIMESTAMP(3) NOT NULL,
    "txHash" TEXT NOT NULL,
    "block" BIGINT NOT NULL,
    "logIndex" INTEGER NOT NULL,
    "updatedAt" TIMESTAMP(3) NOT NULL,

    CONSTRAINT "AccessPass_pkey" PRIMARY KEY ("researcherAddress","datasetId")
);

-- CreateTable
CREATE TABLE "Purchase" (
    "id" TEXT NOT NULL,
    "chainId" INTEGER NOT NULL,
    "txHash" TEXT NOT NULL,
    "logIndex" INTEGER NOT NULL,
    "block" BIGINT NOT NULL,
    "datasetId" TEXT NOT NULL,
    "researcherAddress" TEXT NOT NULL,
    "steward" TEXT NOT NULL,
    "price" TEXT NOT NULL,
    "patientsShare" TEXT NOT NULL,
    "stewardShare" TEXT NOT NULL,
    "treasuryShare" TEXT NOT NULL,
    "treasury" TEXT NOT NULL,
    "expiresAt" TIMESTAMP(3) NOT NULL,
    "epoch" INTEGER,
    "createdAt" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "Purchase_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "Query" (
    "id" TEXT NOT NULL,
    "researcherAddress" TEXT NOT NULL,
    "datasetId" TEXT NOT NULL,
    "datasetVersionId" TEXT NOT NULL,
    "kind" "QueryKind" NOT NULL,
    "sql" TEXT NOT NULL,
    "cohortDefinition" JSONB,
    "status" "QueryStatus" NOT NULL DEFAULT 'PENDING',
    "result" JSONB,
    "errorRule" TEXT,
    "errorMessage" TEXT,
    "epsilonSpent" TEXT,
    "queryHash" TEXT,
    "datasetVersionHash" TEXT,
    "consentSnapshotBlock" BIGINT,
    "parameters" JSONB,
    "resultHash" TEXT,
    "includedPersonCount" INTEGER,
    "receiptHash" TEXT,
    "epoch" INTEGER,
    "createdAt" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "startedAt" TIMESTAMP(3),
    "finishedAt" TIMESTAMP(3),

    CONSTRAINT "Query_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "QueryInclusion" (
    "queryId" TEXT NOT NULL,
    "personId" BIGINT NOT NULL,
    "datasetId" TEXT NOT NULL,
    "epoch" INTEGER NOT NULL,

    CONSTRAINT "QueryInclusion_pkey" PRIMARY KEY ("queryId","personId")
);

-- CreateTable
CREATE TABLE "PrivacyBudgetEntry" (
    "id" TEXT NOT NULL,
    "researcherAddress" TEXT NOT NULL,
    "datasetId" TEXT NOT NULL,
    "epsilon" TEXT NOT NULL,
    "queryId" TEXT,
    "createdAt" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "PrivacyBudgetEntry_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "Epoch" (
    "number" INTEGER NOT NULL,
    "status" "EpochStatus" NOT NULL DEFAULT 'OPEN',
    "startedAt" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "closedAt" TIMESTAMP(3),

    CONSTRAINT "Epoch_pkey" PRIMARY KEY ("number")
);

-- CreateTable
CREATE TABLE "RewardEpoch" (
    "id" TEXT NOT NULL,
    "datasetId" TEXT NOT NULL,
    "epoch" INTEGER NOT NULL,
    "status" "RewardEpochStatus" NOT NULL DEFAULT 'OPEN',
    "pool" TEXT NOT NULL,
    "total" TEXT,
    "merkleRoot" TEXT,
    "postTxHash" TEXT,
    "postedBlock" BIGINT,
    "createdAt" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "updatedAt" TIMESTAMP(3) NOT NULL,

    CONSTRAINT "RewardEpoch_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "RewardAllocation" (
    "rewardEpochId" TEXT NOT NULL,
    "patientAddress" TEXT NOT NULL,
    "amount" TEXT NOT NULL,
    "inclusions" INTEGER NOT NULL,
    "proof" JSONB NOT NULL,
    "claimedTxHash" TEXT,
    "claimedBlock" BIGINT,

    CONSTRAINT "RewardAllocation_pkey" PRIMARY KEY ("rewardEpochId","patientAddress")
);

-- CreateTable
CREATE TABLE "ReceiptAnchor" (
    "epoch" INTEGER NOT NULL,
    "root" TEXT NOT NULL,
    "receiptCount" INTEGER NOT NULL,
    "status" "AnchorStatus" NOT NULL DEFAULT 'PENDING',
    "txHash" TEXT,
    "block" BIGINT,
    "createdAt" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "updatedAt" TIMESTAMP(3) NOT NULL,

    CONSTRAINT "ReceiptAnchor_pkey" PRIMARY KEY ("epoch")
);

-- CreateTable
CREATE TABLE "Proposal" (
    "id" TEXT NOT NULL,
    "proposer" TEXT NOT NULL,
    "description" TEXT NOT NULL,
    "descriptionHash" TEXT NOT NULL,
    "targets" JSONB NOT NULL,
    "values" JSONB NOT NULL,
    "calldatas" JSONB NOT NULL,
    "voteStart" BIGINT NOT NULL,
    "voteEnd" BIGINT NOT NULL,
    "state" "ProposalState" NOT NULL DEFAULT 'PENDING',
    "forVotes" TEXT NOT NULL,
    "againstVotes" TEXT NOT NULL,
    "abstainVotes" TEXT NOT NULL,
    "eta" BIGINT,
    "createdBlock" BIGINT NOT NULL,
    "createdTxHash" TEXT NOT NULL,
    "updatedBlock" BIGINT NOT NULL,
    "createdAt" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "updatedAt" TIMESTAMP(3) NOT NULL,

    CONSTRAINT "Proposal_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "Vote" (
    "proposalId" TEXT NOT NULL,
    "voter" TEXT NOT NULL,
    "support" INTEGER NOT NULL,
    "weight" TEXT NOT NULL,
    "reason" TEXT NOT NULL DEFAULT '',
    "block" BIGINT NOT NULL,
    "txHash" TEXT NOT NULL,
    "logIndex" INTEGER NOT NULL,

    CONSTRAINT "Vote_pkey" PRIMARY KEY ("proposalId","voter")
);

-- CreateTable
CREATE TABLE "StandardsSnapshot" (
    "id" TEXT NOT NULL,
    "chainId" INTEGER NOT NULL,
    "block" BIGINT NOT NULL,
    "minCellSize" INTEGER NOT NULL,
    "roundingBase" INTEGER NOT NULL,
    "epsilonPerQuery" TEXT NOT NULL,
    "epsilonBudget" TEXT NOT NULL,
    "patientsBps" INTEGER NOT NULL,
    "stewardBps" INTEGER NOT NULL,
    "treasuryBps" INTEGER NOT NULL,
    "treasury" TEXT NOT NULL,
    "acceptedSchemaVersions" JSONB NOT NULL,
    "createdAt" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "StandardsSnapshot_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "IndexerCursor" (
    "chainId" INTEGER NOT NULL,
    "stream" TEXT NOT NULL,
    "block" BIGINT NOT NULL,
    "blockHash" TEXT NOT NULL,
    "updatedAt" TIMESTAMP(3) NOT NULL,

    CONSTRAINT "IndexerCursor_pkey" PRIMARY KEY ("chainId","stream")
);

-- CreateTable
CREATE TABLE "IndexedEvent" (
    "id" TEXT NOT NULL,
    "chainId" INTEGER NOT NULL,
    "stream" TEXT NOT NULL,
    "blockNumber" BIGINT NOT NULL,
    "blockHash" TEXT NOT NULL,
    "txHash" TEXT NOT NULL,
    "logIndex" INTEGER NOT NULL,
    "address" TEXT NOT NULL,
    "eventName" TEXT NOT NULL,
    "args" JSONB NOT NULL,
    "createdAt" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "IndexedEvent_pkey" PRIMARY KEY ("id")
);

-- CreateIndex
CREATE INDEX "AccountRole_role_idx" ON "AccountRole"("role");

-- CreateIndex
CREATE INDEX "SiweNonce_expiresAt_idx" ON "SiweNonce"("expiresAt");

-- CreateIndex
CREATE UNIQUE INDEX "Session_nonce_key" ON "Session"("nonce");

-- CreateIndex
CREATE INDEX "Session_address_idx" ON "Session"("address");

-- CreateIndex
CREATE INDEX "Session_expiresAt_idx" ON "Session"("expiresAt");

-- CreateIndex
CREATE INDEX "Dataset_steward_idx" ON "Dataset"("steward");

-- CreateIndex
CREATE INDEX "Dataset_listed_idx" ON "Dataset"("listed");

-- CreateIndex
CREATE INDEX "DatasetVersion_manifestHash_idx" ON "DatasetVersion"("manifestHash");

-- CreateIndex
CREATE UNIQUE INDEX "DatasetVersion_datasetId_version_key" ON "DatasetVersion"("datasetId", "version");

-- CreateIndex
CREATE INDEX "DatasetCondition_code_idx" ON "DatasetCondition"("code");

-- CreateIndex
CREATE INDEX "Enrolment_patientAddress_idx" ON "Enrolment"("patientAddress");

-- CreateIndex
CREATE UNIQUE INDEX "Enrolment_datasetId_personId_key" ON "Enrolment"("datasetId", "personId");

-- CreateIndex
CREATE UNIQUE INDEX "Enrolment_datasetId_patientAddress_key" ON "Enrolment"("datasetId", "patientAddress");

-- CreateIndex
CREATE INDEX "ConsentState_datasetId_granted_idx" ON "ConsentState"("datasetId", "granted");

-- CreateIndex
CREATE INDEX "ConsentRelayRequest_status_createdAt_idx" ON "ConsentRelayRequest"("status", "createdAt");

-- CreateIndex
CREATE INDEX "ConsentRelayRequest_txHash_idx" ON "ConsentRelayRequest"("txHash");

-- CreateIndex
CREATE UNIQUE INDEX "ConsentRelayRequest_patientAddress_datasetId_nonce_key" ON "ConsentRelayRequest"("patientAddress", "datasetId", "nonce");

-- CreateIndex
CREATE INDEX "AccessPass_datasetId_idx" ON "AccessPass"("datasetId");

-- CreateIndex
CREATE INDEX "Purchase_datasetId_epoch_idx" ON "Purchase"("datasetId", "epoch");

-- CreateIndex
CREATE INDEX "Purchase_researcherAddress_idx" ON "Purchase"("researcherAddress");

-- CreateIndex
CREATE UNIQUE INDEX "Purchase_chainId_txHash_logIndex_key" ON "Purchase"("chainId", "txHash", "logIndex");

-- CreateIndex
CREATE UNIQUE INDEX "Query_receiptHash_key" ON "Query"("receiptHash");

-- CreateIndex
CREATE INDEX "Query_researcherAddress_createdAt_idx" ON "Query"("researcherAddress", "createdAt");

-- CreateIndex
CREATE INDEX "Query_datasetId_status_idx" ON "Query"("datasetId", "status");

-- CreateIndex
CREATE INDEX "Query_epoch_status_idx" ON "Query"("epoch", "status");

-- CreateIndex
CREATE INDEX "Query_status_createdAt_idx" ON "Query"("status", "createdAt");

-- CreateIndex
CREATE INDEX "QueryInclusion_datasetId_epoch_personId_idx" ON "QueryInclusion"("datasetId", "epoch", "personId");

-- CreateIndex
CREATE INDEX "QueryInclusion_datasetId_personId_idx" ON "QueryInclusion"("datasetId", "personId");

-- CreateIndex
CREATE UNIQUE INDEX "PrivacyBudgetEntry_queryId_key" ON "PrivacyBudgetEntry"("queryId");

-- CreateIndex
CREATE INDEX "PrivacyBudgetEntry_researcherAddress_datasetId_idx" ON "PrivacyBudgetEntry"("researcherAddress", "datasetId");

-- CreateIndex
CREATE INDEX "RewardEpoch_status_idx" ON "RewardEpoch"("status");

-- CreateIndex
CREATE UNIQUE INDEX "RewardEpoch_datasetId_epoch_key" ON "RewardEpoch"("datasetId", "epoch");

-- CreateIndex
CREATE INDEX "RewardAllocation_patientAddress_idx" ON "RewardAllocation"("patientAddress");

-- CreateIndex
CREATE INDEX "Proposal_state_idx" ON "Proposal"("state");

-- CreateIndex
CREATE INDEX "Proposal_proposer_idx" ON "Proposal"("proposer");

-- CreateIndex
CREATE INDEX "Vote_voter_idx" ON "Vote"("voter");

-- CreateIndex
CREATE UNIQUE INDEX "StandardsSnapshot_chainId_block_key" ON "StandardsSnapshot"("chainId", "block");

-- CreateIndex
CREATE INDEX "IndexedEvent_chainId_stream_blockNumber_idx" ON "IndexedEvent"("chainId", "stream", "blockNumber");

-- CreateIndex
CREATE INDEX "IndexedEvent_txHash_idx" ON "IndexedEvent"("txHash");

-- CreateIndex
CREATE UNIQUE INDEX "IndexedEvent_chainId_blockHash_logIndex_key" ON "IndexedEvent"("chainId", "blockHash", "logIndex");

-- AddForeignKey
ALTER TABLE "AccountRole" ADD CONSTRAINT "AccountRole_address_fkey" FOREIGN KEY ("address") REFERENCES "Account"("address") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "Session" ADD CONSTRAINT "Session_address_fkey" FOREIGN KEY ("address") REFERENCES "Account"("address") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "DatasetVersion" ADD CONSTRAINT "DatasetVersion_datasetId_fkey" FOREIGN KEY ("datasetId") REFERENCES "Dataset"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "DatasetCondition" ADD CONSTRAINT "DatasetCondition_datasetId_fkey" FOREIGN KEY ("datasetId") REFERENCES "Dataset"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "Enrolment" ADD CONSTRAINT "Enrolment_datasetId_fkey" FOREIGN KEY ("datasetId") REFERENCES "Dataset"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "Query" ADD CONSTRAINT "Query_datasetId_fkey" FOREIGN KEY ("datasetId") REFERENCES "Dataset"("id") ON DELETE RESTRICT ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "Query" ADD CONSTRAINT "Query_datasetVersionId_fkey" FOREIGN KEY ("datasetVersionId") REFERENCES "DatasetVersion"("id") ON DELETE RESTRICT ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "QueryInclusion" ADD CONSTRAINT "QueryInclusion_queryId_fkey" FOREIGN KEY ("queryId") REFERENCES "Query"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "PrivacyBudgetEntry" ADD CONSTRAINT "PrivacyBudgetEntry_queryId_fkey" FOREIGN KEY ("queryId") REFERENCES "Query"("id") ON DELETE SET NULL ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "RewardEpoch" ADD CONSTRAINT "RewardEpoch_datasetId_fkey" FOREIGN KEY ("datasetId") REFERENCES "Dataset"("id") ON DELETE RESTRICT ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "RewardAllocation" ADD CONSTRAINT "RewardAllocation_rewardEpochId_fkey" FOREIGN KEY ("rewardEpochId") REFERENCES "RewardEpoch"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "Vote" ADD CONSTRAINT "Vote_proposalId_fkey" FOREIGN KEY ("proposalId") REFERENCES "Proposal"("id") ON DELETE CASCADE ON UPDATE CASCADE;
