import type { Address, Hex, PublicClient } from "viem";
import type { SigningClient } from "./clients";
import { consentRegistryAbi } from "./generated/abis";

export interface SignedConsent {
  patient: Address;
  datasetId: Hex;
  granted: boolean;
  nonce: bigint;
  deadline: bigint;
  signature: Hex;
}

/** Relayed consents per transaction: ~35k gas each keeps a batch far below the block limit. */
export const CONSENT_BATCH_SIZE = 100;

/**
 * Submits one batch of signed consents (gas paid by the relayer) and waits for it to be
 * mined. Entries the contract skips (expired, stale nonce, bad signature) do not fail the
 * batch; the indexer settles each entry from ConsentSet / ConsentSkipped.
 */
export async function submitConsentBatch(
  signer: SigningClient,
  reader: PublicClient,
  consentRegistry: Address,
  consents: readonly SignedConsent[],
): Promise<{ txHash: Hex; blockNumber: bigint }> {
  const txHash = await signer.writeContract({
    address: consentRegistry,
    abi: consentRegistryAbi,
    functionName: "submitConsents",
    args: [consents.map((consent) => ({ ...consent }))],
  });
  const receipt = await reader.waitForTransactionReceipt({ hash: txHash });
  if (receipt.status !== "success") throw new Error(`Consent batch ${txHash} reverted.`);
  return { txHash, blockNumber: receipt.blockNumber };
}
