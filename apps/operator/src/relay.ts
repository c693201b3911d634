import {
  CONSENT_BATCH_SIZE,
  type DeploymentManifest,
  type SignedConsent,
  type SigningClient,
  submitConsentBatch,
} from "@opencohort/chain";
import type { Db } from "@opencohort/db";
import type { Address, Hex, PublicClient } from "viem";

/**
 * Sends the oldest pending signed consents in one batch. The row is marked SUBMITTED with
 * the transaction before the indexer settles it (APPLIED or FAILED from the chain's events),
 * so a crash between sending and indexing never sends a message twice: a stale nonce would
 * be skipped on chain anyway.
 */
export async function relayPendingConsents(
  db: Db,
  signer: SigningClient,
  reader: PublicClient,
  manifest: DeploymentManifest,
): Promise<number> {
  const pending = await db.consentRelayRequest.findMany({
    where: { status: "PENDING" },
    orderBy: { createdAt: "asc" },
    take: CONSENT_BATCH_SIZE,
    select: {
      id: true,
      patientAddress: true,
      datasetId: true,
      granted: true,
      nonce: true,
      deadline: true,
      signature: true,
    },
  });
  if (pending.length === 0) return 0;
  const now = BigInt(Math.floor(Date.now() / 1000));
  const expired = pending.filter((request) => BigInt(request.deadline) < now);
  if (expired.length > 0) {
    await db.consentRelayRequest.updateMany({
      where: { id: { in: expired.map((request) => request.id) } },
      data: {
        status: "FAILED",
        error: "The signature expired before it could be relayed; sign again.",
      },
    });
  }
  const sendable = pending.filter((request) => BigInt(request.deadline) >= now);
  if (sendable.length === 0) return 0;
  const batch: SignedConsent[] = sendable.map((request) => ({
    patient: request.patientAddress as Address,
    datasetId: request.datasetId as Hex,
    granted: request.granted,
    nonce: BigInt(request.nonce),
    deadline: BigInt(request.deadline),
    signature: request.signature as Hex,
  }));
  const ids = sendable.map((request) => request.id);
  try {
    const { txHash } = await submitConsentBatch(
      signer,
      reader,
      manifest.contracts.ConsentRegistry,
      batch,
    );
    await db.consentRelayRequest.updateMany({
      where: { id: { in: ids }, status: "PENDING" },
      data: { status: "SUBMITTED", txHash: txHash.toLowerCase(), attempts: { increment: 1 } },
    });
  } catch (error) {
    await db.consentRelayRequest.updateMany({
      where: { id: { in: ids } },
      data: {
        attempts: { increment: 1 },
        error: (error as Error).message.split("\n")[0] ?? "relay failed",
      },
    });
    throw error;
  }
  return sendable.length;
}
