/**
 * Proof that a query's receipt is in its epoch's anchored root. Receipt proofs are not
 * stored (every receipt of the epoch would need a row); they are rebuilt from the epoch's
 * succeeded queries and checked against the stored root, so a set that changed after the
 * close is reported instead of yielding a proof the chain would reject.
 */
import type { Db } from "@opencohort/db";
import type { Hex } from "viem";
import { receiptProofIn } from "../rewards/trees";
import { epochReceiptHashes } from "./close";

export interface ReceiptProof {
  epoch: number;
  root: Hex;
  proof: Hex[];
}

export async function receiptProof(db: Db, receiptHash: string): Promise<ReceiptProof | null> {
  const query = await db.query.findUnique({
    where: { receiptHash: receiptHash.toLowerCase() },
    select: { epoch: true, status: true },
  });
  if (!query || query.epoch === null || query.status !== "SUCCEEDED") return null;
  const anchor = await db.receiptAnchor.findUnique({
    where: { epoch: query.epoch },
    select: { root: true },
  });
  if (!anchor) return null;
  const found = receiptProofIn(await epochReceiptHashes(db, query.epoch), receiptHash);
  if (!found) return null;
  if (found.root.toLowerCase() !== anchor.root.toLowerCase()) {
    throw new Error(
      `The receipts of epoch ${query.epoch} changed after it was anchored; no proof can be built.`,
    );
  }
  return { epoch: query.epoch, root: found.root, proof: found.proof };
}
