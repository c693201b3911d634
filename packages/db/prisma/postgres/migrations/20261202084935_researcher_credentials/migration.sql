-- CreateEnum
CREATE TYPE "CredentialAddressStatus" AS ENUM ('REQUESTED', 'ACTIVE', 'REMOVED');

-- CreateTable
CREATE TABLE "ResearcherCredential" (
    "id" INTEGER NOT NULL,
    "holder" TEXT NOT NULL,
    "metadataHash" TEXT NOT NULL,
    "expiresAt" TIMESTAMP(3),
    "suspended" BOOLEAN NOT NULL DEFAULT false,
    "revoked" BOOLEAN NOT NULL DEFAULT false,
    "issuedBlock" BIGINT NOT NULL,
    "issuedTxHash" TEXT NOT NULL,
    "updatedBlock" BIGINT NOT NULL,

    CONSTRAINT "ResearcherCredential_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "CredentialAddress" (
    "credentialId" INTEGER NOT NULL,
    "address" TEXT NOT NULL,
    "status" "CredentialAddressStatus" NOT NULL,
    "block" BIGINT NOT NULL,

    CONSTRAINT "CredentialAddress_pkey" PRIMARY KEY ("credentialId","address")
);

-- CreateIndex
CREATE INDEX "CredentialAddress_address_idx" ON "CredentialAddress"("address");

-- AddForeignKey
ALTER TABLE "CredentialAddress" ADD CONSTRAINT "CredentialAddress_credentialId_fkey" FOREIGN KEY ("credentialId") REFERENCES "ResearcherCredential"("id") ON DELETE CASCADE ON UPDATE CASCADE;
