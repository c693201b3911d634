/**
 * Consent identities: a patient consents to each dataset under an address of its own, so that
 * the public record "address A consented to dataset D" names neither their wallet nor their
 * other datasets.
 *
 * The identity's key is derived from the wallet's signature of a fixed EIP-712 message naming
 * the dataset: the same wallet gets the same identity for D on any device, nothing new has to be
 * backed up, and without the wallet nobody can compute it (or link two identities of one
 * wallet). The signature is the secret: it never leaves the patient's browser (the dev stack's
 * seed derives its demo patients' identities the same way, in process).
 *
 * Two more messages are signed by the identity itself, off chain, and stored by the server:
 * binding the identity to the steward's enrolment of the signed-in wallet, and naming the
 * address its rewards are paid to. Neither ever goes on chain.
 */
import {
  type Address,
  concat,
  type Hex,
  hexToBigInt,
  keccak256,
  numberToHex,
  type TypedDataDomain,
  toHex,
} from "viem";
import { privateKeyToAccount } from "viem/accounts";

/** What the wallet is shown when asked to derive an identity (the message is fixed). */
export const CONSENT_IDENTITY_PURPOSE =
  "Create my OpenCohort consent identity for this dataset. Signing moves no funds and shares nothing; keep this signature private.";

export const consentIdentityTypes = {
  ConsentIdentity: [
    { name: "purpose", type: "string" },
    { name: "datasetId", type: "bytes32" },
  ],
} as const;

/** The message a wallet signs to derive its identity for `datasetId` on `chainId`. */
export function consentIdentityTypedData(chainId: number, datasetId: Hex) {
  return {
    domain: { name: "OpenCohort Consent Identity", version: "1", chainId } as TypedDataDomain,
    types: consentIdentityTypes,
    primaryType: "ConsentIdentity" as const,
    message: { purpose: CONSENT_IDENTITY_PURPOSE, datasetId },
  };
}

/** secp256k1's group order: a private key must lie in [1, n - 1]. */
const SECP256K1_ORDER = 0xfffffffffffffffffffffffffffffffebaaedce6af48a03bbfd25e8cd0364141n;
const DERIVATION_TAG = toHex("opencohort/consent-identity/v1");

export interface ConsentIdentity {
  privateKey: Hex;
  address: Address;
}

/**
 * The identity a wallet signature derives. Hashing (tagged, so the key is not the hash of the
 * signature alone) and re-hashing in the 2^-128 case of a value outside the key range.
 */
export function identityFromSignature(signature: Hex): ConsentIdentity {
  if (!/^0x[0-9a-fA-F]{130}$/.test(signature)) {
    throw new Error("A consent identity is derived from a 65-byte wallet signature.");
  }
  let digest = keccak256(concat([DERIVATION_TAG, signature]));
  while (hexToBigInt(digest) === 0n || hexToBigInt(digest) >= SECP256K1_ORDER) {
    digest = keccak256(digest);
  }
  const privateKey = numberToHex(hexToBigInt(digest), { size: 32 });
  return { privateKey, address: privateKeyToAccount(privateKey).address.toLowerCase() as Address };
}

/** Anything that signs EIP-712 as the wallet (a viem account or wallet client). */
export interface TypedDataSigner {
  signTypedData: (parameters: ReturnType<typeof consentIdentityTypedData>) => Promise<Hex> | Hex;
}

/** Asks the wallet for its identity signature for `datasetId` and derives the identity. */
export async function deriveConsentIdentity(
  wallet: TypedDataSigner,
  chainId: number,
  datasetId: Hex,
): Promise<ConsentIdentity> {
  return identityFromSignature(
    await wallet.signTypedData(consentIdentityTypedData(chainId, datasetId)),
  );
}

/** Off-chain messages an identity signs for the server: binding and payout address. */
const offChainDomain = (chainId: number, name: string): TypedDataDomain => ({
  name,
  version: "1",
  chainId,
});

export const identityBindingTypes = {
  BindIdentity: [
    { name: "identity", type: "address" },
    { name: "wallet", type: "address" },
    { name: "datasetId", type: "bytes32" },
  ],
} as const;

export interface IdentityBinding {
  identity: Address;
  wallet: Address;
  datasetId: Hex;
}

/** The identity's statement that it is `wallet`'s identity for `datasetId` (for the server). */
export function identityBindingTypedData(chainId: number, binding: IdentityBinding) {
  return {
    domain: offChainDomain(chainId, "OpenCohort Enrolment"),
    types: identityBindingTypes,
    primaryType: "BindIdentity" as const,
    message: binding,
  };
}

export const payoutAddressTypes = {
  PayoutAddress: [
    { name: "identity", type: "address" },
    { name: "payout", type: "address" },
    { name: "issuedAt", type: "uint64" },
  ],
} as const;

export interface PayoutAddressMessage {
  identity: Address;
  payout: Address;
  /** Unix seconds; a registration replaces only an older one. */
  issuedAt: bigint;
}

/** The identity's instruction to pay its rewards to `payout` (stored off chain only). */
export function payoutAddressTypedData(chainId: number, message: PayoutAddressMessage) {
  return {
    domain: offChainDomain(chainId, "OpenCohort Payout"),
    types: payoutAddressTypes,
    primaryType: "PayoutAddress" as const,
    message,
  };
}
