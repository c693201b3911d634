import type { Address, Hex, TypedDataDomain } from "viem";

/**
 * The EIP-712 consent message of ConsentRegistry, defined once for the web app (which asks
 * the wallet to sign it) and the relayer (which submits it). Must match the contract's
 * CONSENT_TYPEHASH: `Consent(address patient,bytes32 datasetId,bool granted,uint64 nonce,uint64 deadline)`.
 */
export const consentTypes = {
  Consent: [
    { name: "patient", type: "address" },
    { name: "datasetId", type: "bytes32" },
    { name: "granted", type: "bool" },
    { name: "nonce", type: "uint64" },
    { name: "deadline", type: "uint64" },
  ],
} as const;

/**
 * ConsentRegistry.MAX_NONCE_JUMP: a message or direct call may take a nonce at most this far
 * above the stored one (checked against the contract by the chain tests).
 */
export const MAX_CONSENT_NONCE_JUMP = 1_000_000n;

export interface ConsentMessage {
  patient: Address;
  datasetId: Hex;
  granted: boolean;
  nonce: bigint;
  deadline: bigint;
}

export function consentDomain(chainId: number, consentRegistry: Address): TypedDataDomain {
  return { name: "OpenCohort Consent", version: "1", chainId, verifyingContract: consentRegistry };
}

/** Everything `signTypedData` needs for one consent message. */
export function consentTypedData(
  chainId: number,
  consentRegistry: Address,
  message: ConsentMessage,
) {
  return {
    domain: consentDomain(chainId, consentRegistry),
    types: consentTypes,
    primaryType: "Consent" as const,
    message,
  };
}
