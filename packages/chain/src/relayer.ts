import type { Address, Hex, PublicClient } from "viem";
import { privateKeyToAccount } from "viem/accounts";
import type { SigningClient } from "./clients";
import { consentTypedData } from "./consent";
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

export interface ConsentToSign {
  /** The patient's own key: consent is a signature only the patient can give. */
  patientKey: Hex;
  datasetId: Hex;
  granted: boolean;
  nonce: bigint;
}

/**
 * Signs each consent with its patient's key and relays them in batches. For the places that
 * play patients and relayer at once: the dev stack's demo seed, tests and benchmarks.
 */
export async function signAndRelayConsents(options: {
  signer: SigningClient;
  reader: PublicClient;
  chainId: number;
  consentRegistry: Address;
  consents: readonly ConsentToSign[];
  deadline: bigint;
  onBatch?: (relayed: number) => void;
}): Promise<void> {
  const { consents, consentRegistry, chainId } = options;
  let relayed = 0;
  for (let start = 0; start < consents.length; start += CONSENT_BATCH_SIZE) {
    const batch: SignedConsent[] = [];
    for (const consent of consents.slice(start, start + CONSENT_BATCH_SIZE)) {
      const patient = privateKeyToAccount(consent.patientKey);
      const message = {
        patient: patient.address,
        datasetId: consent.datasetId,
        granted: consent.granted,
        nonce: consent.nonce,
        deadline: options.deadline,
      };
      const signature = await patient.signTypedData(
        consentTypedData(chainId, consentRegistry, message),
      );
      batch.push({ ...message, signature });
    }
    await submitConsentBatch(options.signer, options.reader, consentRegistry, batch);
    relayed += batch.length;
    options.onBatch?.(relayed);
  }
}
