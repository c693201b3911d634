/**
 * The two Merkle trees the operator publishes, encoded exactly as the contracts verify them
 * (contracts/README.md, "Off-chain encodings").
 */
import { StandardMerkleTree } from "@openzeppelin/merkle-tree";
import type { Hex } from "viem";
import type { PatientShare } from "./split";

export const rewardLeafEncoding = ["address", "uint256"];
export const receiptLeafEncoding = ["bytes32"];

export interface RewardTree {
  root: Hex;
  /** Proof of each share's leaf, by lower-case patient address. */
  proofs: Map<string, Hex[]>;
}

/** RewardDistributor's tree for one (dataset, epoch): leaves (patient, amount). */
export function buildRewardTree(shares: readonly PatientShare[]): RewardTree {
  if (shares.length === 0) throw new Error("A reward tree needs at least one share.");
  // Amounts as decimal strings: exact, and the values stay JSON-serialisable.
  const tree = StandardMerkleTree.of(
    shares.map((share) => [share.patientAddress.toLowerCase(), share.amount.toString()]),
    rewardLeafEncoding,
  );
  const proofs = new Map<string, Hex[]>();
  for (const [index, [patientAddress]] of tree.entries()) {
    proofs.set(String(patientAddress), tree.getProof(index) as Hex[]);
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
