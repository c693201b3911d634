"use client";
/**
 * The patient's consent identities in the browser. Each is derived from one wallet signature
 * naming the dataset (chain/identity.ts) and kept in this tab's memory only: never stored,
 * never sent to the server (only the identity's address and its signatures are). A reload
 * asks the wallet again; the wallet signs the same message the same way, so it is the same
 * identity.
 */
import {
  type ConsentIdentity,
  deriveConsentIdentity,
  identityBindingTypedData,
  payoutAddressTypedData,
} from "@opencohort/chain/identity";
import { getAddress, type Hex } from "viem";
import { privateKeyToAccount } from "viem/accounts";
import type { Wallet } from "~/wallet/connect";

const derived = new Map<string, ConsentIdentity>();

/**
 * The wallet's identity for `datasetId`, asking the wallet to sign only the first time in this
 * tab. With `expected` (the identity the enrolment is bound to) a different result is refused:
 * a wallet that signs the same message differently each time cannot keep an identity.
 */
export async function identityFor(
  wallet: Wallet,
  chainId: number,
  datasetId: Hex,
  expected: string | null,
): Promise<ConsentIdentity> {
  const key = `${chainId}:${wallet.address.toLowerCase()}:${datasetId.toLowerCase()}`;
  let identity = derived.get(key);
  if (!identity) {
    identity = await deriveConsentIdentity(
      { signTypedData: (definition) => wallet.signTypedData(definition) },
      chainId,
      datasetId,
    );
    derived.set(key, identity);
  }
  if (expected && identity.address !== expected.toLowerCase()) {
    derived.delete(key);
    throw new Error(
      "Your wallet derived a different consent identity than the one your enrolment is bound to. Sign in with the wallet you first opted in with (some smart-contract wallets sign differently each time and cannot keep an identity).",
    );
  }
  return identity;
}

/** The identity's signature binding it to `wallet`'s enrolment (for consent.bindIdentity). */
export function signBinding(
  identity: ConsentIdentity,
  chainId: number,
  wallet: string,
  datasetId: Hex,
) {
  const signer = privateKeyToAccount(identity.privateKey);
  return signer.signTypedData(
    identityBindingTypedData(chainId, {
      identity: signer.address,
      wallet: getAddress(wallet),
      datasetId,
    }),
  );
}

/** The identity's signed instruction to pay its rewards to `payout` (for reward.registerPayout). */
export async function signPayout(identity: ConsentIdentity, chainId: number, payout: string) {
  const signer = privateKeyToAccount(identity.privateKey);
  const issuedAt = BigInt(Math.floor(Date.now() / 1000));
  const signature = await signer.signTypedData(
    payoutAddressTypedData(chainId, {
      identity: signer.address,
      payout: getAddress(payout),
      issuedAt,
    }),
  );
  return { identity: signer.address, payout: getAddress(payout), issuedAt, signature };
}

/** The identity's signature of a Consent message from `consent.typedData`. */
export function signConsent<T extends { message: object }>(
  identity: ConsentIdentity,
  typed: T,
): Promise<Hex> {
  return privateKeyToAccount(identity.privateKey).signTypedData({
    ...(typed as object),
    message: { ...typed.message },
  } as never);
}
