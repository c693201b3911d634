/**
 * The Merkle proof of a receipt in its epoch's anchored root. The tree is the operator's
 * (apps/operator/src/rewards/trees.ts `buildReceiptTree`): the epoch's succeeded receipt
 * hashes, lower-case, deduplicated and sorted, as `StandardMerkleTree.of(h => [h], ["bytes32"])`.
 * Proofs are rebuilt from the database and only handed out when the rebuilt root equals the
 * root QueryLedger confirmed (ReceiptAnchor mirrored by the indexer as ANCHORED), so a proof
 * returned here is one the contract accepts.
 */

import type { Db } from "@opencohort/db";
import { StandardMerkleTree } from "@openzeppelin/merkle-tree";
import type { Hex } from "viem";

export interface ReceiptProof {
  epoch: number;
  root: Hex;
  proof: Hex[];
  anchorTxHash: string | null;
  anchorBlock: bigint | null;
}

export async function receiptProof(
  db: Db,
  epoch: number,
  receiptHash: string,
): Promise<ReceiptProof | null> {
  const anchor = await db.receiptAnchor.findUnique({
    where: { epoch },
    select: { root: true, status: true, txHash: true, block: true },
  });
  if (anchor?.status !== "ANCHORED") return null;
  const rows = await db.query.findMany({
    where: { epoch, status: "SUCCEEDED", receiptHash: { not: null } },
    select: { receiptHash: true },
  });
  const hashes = [
    ...new Set(rows.flatMap((row) => (row.receiptHash ? [row.receiptHash.toLowerCase()] : []))),
  ].sort();
  if (hashes.length === 0) return null;
  const tree = StandardMerkleTree.of(
    hashes.map((hash) => [hash]),
    ["bytes32"],
  );
  if (tree.root.toLowerCase() !== anchor.root.toLowerCase()) {
    // The epoch's receipts changed after the anchor: no proof the chain would accept.
    console.error("receipt set differs from the anchored root", { epoch });
    return null;
  }
  const wanted = receiptHash.toLowerCase();
  for (const [index, [hash]] of tree.entries()) {
    if (hash === wanted) {
      return {
        epoch,
        root: tree.root as Hex,
        proof: tree.getProof(index) as Hex[],
        anchorTxHash: anchor.txHash,
        anchorBlock: anchor.block,
      };
    }
  }
  return null;
}
