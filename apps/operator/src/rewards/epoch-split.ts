/**
 * An epoch's split as the close computes it, from the database: the whole-epoch consents the
 * chain mirror shows (consent-time.ts), the payout addresses of the enrolled ones, and the
 * pooled arithmetic (pooled.ts). The one path from stored facts to what goes on chain.
 */
import type { Prisma } from "@opencohort/db";
import { type WholeEpochConsentsScope, wholeEpochConsents } from "./consent-time";
import { type PooledSplit, splitPooled } from "./pooled";

/** Payout registrations bound in one read. */
const IDENTITIES_PER_READ = 500;

export async function splitEpoch(
  tx: Prisma.TransactionClient,
  scope: WholeEpochConsentsScope,
  pool: bigint,
): Promise<PooledSplit> {
  const consents = await wholeEpochConsents(tx, scope);
  const identities = [...new Set(consents.enrolled.map((consent) => consent.identityAddress))];
  const payoutOf = new Map<string, string>();
  for (let start = 0; start < identities.length; start += IDENTITIES_PER_READ) {
    const rows = await tx.payoutRegistration.findMany({
      where: { identityAddress: { in: identities.slice(start, start + IDENTITIES_PER_READ) } },
      select: { identityAddress: true, payoutAddress: true },
    });
    for (const row of rows) payoutOf.set(row.identityAddress.toLowerCase(), row.payoutAddress);
  }
  return splitPooled(pool, consents, payoutOf);
}
