-- CreateTable
CREATE TABLE "ResearcherCredential" (
    "id" INTEGER NOT NULL PRIMARY KEY AUTOINCREMENT,
    "holder" TEXT NOT NULL,
    "metadataHash" TEXT NOT NULL,
    "expiresAt" DATETIME,
    "suspended" BOOLEAN NOT NULL DEFAULT false,
    "revoked" BOOLEAN NOT NULL DEFAULT false,
    "issuedBlock" BIGINT NOT NULL,
    "issuedTxHash" TEXT NOT NULL,
    "updatedBlock" BIGINT NOT NULL
);

-- CreateTable
CREATE TABLE "CredentialAddress" (
    "credentialId" INTEGER NOT NULL,
    "address" TEXT NOT NULL,
    "status" TEXT NOT NULL,
    "block" BIGINT NOT NULL,

    PRIMARY KEY ("credentialId", "address"),
    CONSTRAINT "CredentialAddress_credentialId_fkey" FOREIGN KEY ("credentialId") REFERENCES "ResearcherCredential" ("id") ON DELETE CASCADE ON UPDATE CASCADE
);

-- CreateIndex
CREATE INDEX "CredentialAddress_address_idx" ON "CredentialAddress"("address");
