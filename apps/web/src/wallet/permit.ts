import { marketplaceAbi } from "@opencohort/chain/generated/abis";
import { type Address, type Hex, parseSignature, type TypedData } from "viem";
import type { TxResult, Wallet } from "./connect";

/** The API's purchase terms: the ERC-2612 permit's typed data, but for its deadline. */
export interface PermitTerms {
  datasetId: string;
  marketplace: Address;
  /** The expiry the terms give (unix seconds): the purchase reverts if it would be earlier. */
  minExpiresAt: string;
  permit: {
    domain: { name: string; version: string; chainId: number; verifyingContract: Address };
    types: TypedData;
    primaryType: "Permit";
    message: { owner: Address; spender: Address; value: string; nonce: string };
  };
}

/** How long a signed permit stays usable: long enough to confirm in a wallet, no longer. */
const PERMIT_LIFETIME_SECONDS = 60 * 60;

/**
 * Buys access in one signature and one transaction: signs the token's permit for the
 * Marketplace and sends Marketplace.purchaseAccessWithPermit (no separate approval).
 */
export async function purchaseWithPermit(
  wallet: Wallet,
  terms: PermitTerms,
  onSent: (hash: Hex) => void,
): Promise<TxResult> {
  const deadline = BigInt(Math.floor(Date.now() / 1000) + PERMIT_LIFETIME_SECONDS);
  const value = BigInt(terms.permit.message.value);
  const signature = await wallet.signTypedData({
    domain: terms.permit.domain,
    types: terms.permit.types,
    primaryType: terms.permit.primaryType,
    message: {
      owner: terms.permit.message.owner,
      spender: terms.permit.message.spender,
      value,
      nonce: BigInt(terms.permit.message.nonce),
      deadline,
    },
  });
  const { r, s, v, yParity } = parseSignature(signature);
  return wallet.send(
    {
      address: terms.marketplace,
      abi: marketplaceAbi,
      functionName: "purchaseAccessWithPermit",
      args: [
        terms.datasetId as Hex,
        value,
        BigInt(terms.minExpiresAt),
        deadline,
        Number(v ?? BigInt(27 + yParity)),
        r,
        s,
      ],
    },
    onSent,
  );
}
