/**
 * The auditor's path to a receipt's hidden fields: the salt and the included-person count
 * that open its `hiddenCommitment` (services/receipt.ts, version 3). No tRPC procedure calls
 * this; it is reached only from the server (`pnpm --filter @opencohort/api receipt:disclose
 * <queryId>`, scripts/receipt-disclose.ts) by whoever can read the application database.
 */
import type { Db } from "@opencohort/db";
import type { Hex } from "viem";
import { hiddenCommitment } from "./receipt";

export interface ReceiptDisclosure {
  queryId: string;
  receiptHash: Hex;
  hiddenCommitment: Hex;
  salt: Hex;
  includedPersonCount: number;
  /** hiddenCommitment(salt, includedPersonCount) equals the stored commitment. */
  commitmentOpens: boolean;
}

/** Null for an unknown query, one without a receipt, or a version 2 receipt (no salt). */
export async function discloseReceipt(db: Db, queryId: string): Promise<ReceiptDisclosure | null> {
  const row = await db.query.findUnique({
    where: { id: queryId },
    select: {
      receiptHash: true,
      hiddenCommitment: true,
      receiptSalt: true,
      includedPersonCount: true,
    },
  });
  if (!row?.receiptHash || !row.hiddenCommitment || !row.receiptSalt) return null;
  if (row.includedPersonCount === null) return null;
  const salt = row.receiptSalt as Hex;
  return {
    queryId,
    receiptHash: row.receiptHash as Hex,
    hiddenCommitment: row.hiddenCommitment as Hex,
    salt,
    includedPersonCount: row.includedPersonCount,
    commitmentOpens:
      hiddenCommitment(salt, row.includedPersonCount) === row.hiddenCommitment.toLowerCase(),
  };
}
