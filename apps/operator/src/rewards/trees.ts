/**
 * The two Merkle trees the operator publishes, encoded exactly as the contracts verify them
 * (contracts/README.md, "Off-chain encodings").
 */
import { StandardMerkleTree } from "@openzeppelin/merkle-tree";
import type { Hex } from "viem";
import type { PayoutLeaf } from "./pooled";

export const rewardLeafEncoding = ["address", "uint256"];
export const receiptLeafEncoding = ["bytes32"];

export interface RewardTree {
  root: Hex;
  /** Proof of each leaf, by lower-case payout address. */
  proofs: Map<string, Hex[]>;
}

/** RewardDistributor's tree for one epoch (all datasets): leaves (payout address, amount). */
export function buildRewardTree(leaves: readonly PayoutLeaf[]): RewardTree {
  if (leaves.length === 0) throw new Error("A reward tree needs at least one leaf.");
  // Amounts as decimal strings: exact, and the values stay JSON-serialisable.
  const tree = StandardMerkleTree.of(
    leaves.map((leaf) => [leaf.payoutAddress.toLowerCase(), leaf.amount.toString()]),
    rewardLeafEncoding,
  );
  const proofs = new Map<string, Hex[]>();
  for (const [index, [payoutAddress]] of tree.entries()) {
    proofs.set(String(payoutAddress), tree.getProof(index) as Hex[]);
  }
  return { root: tree.root as Hex, proofs };
}

/**
 * QueryLedger's tree of one epoch's receipt hashes. Sorted first, so the same set of receipts
 * always gives the same tree (and proofs can be rebuilt from the database later).
 */
export function buildReceiptTree(receiptHashes: readonly string[]) {
  if (receiptHashes.length === 0) throw new Error("A receipt tree needs at least one receipt.");
  const sorted = [...new Set(receiptHashes.map((hash) => hash.toLowerCase()))].sort();
  return StandardMerkleTree.of(
    sorted.map((hash) => [hash]),
    receiptLeafEncoding,
  );
}

/** The proof of `receiptHash` in the tree of `receiptHashes`, or null if it is not a leaf. */
export function receiptProofIn(receiptHashes: readonly string[], receiptHash: string) {
  const tree = buildReceiptTree(receiptHashes);
  const wanted = receiptHash.toLowerCase();
  for (const [index, [hash]] of tree.entries()) {
    if (hash === wanted) return { root: tree.root as Hex, proof: tree.getProof(index) as Hex[] };
  }
  return null;
}
