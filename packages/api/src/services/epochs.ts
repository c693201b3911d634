/**
 * The epoch a query belongs to: the OPEN Epoch (the operator's clock, apps/operator
 * src/epochs/clock.ts). The operator opens the next epoch in the same transaction that
 * closes one, so one is always open once it has run; before that, the first query opens
 * epoch 1 (as the operator's `ensureOpenEpoch` would).
 */
import type { Prisma } from "@opencohort/db";

export async function openEpochNumber(tx: Prisma.TransactionClient): Promise<number> {
  // The oldest open one, like the operator: it is the one closed first.
  const open = await tx.epoch.findFirst({
    where: { status: "OPEN" },
    orderBy: { number: "asc" },
    select: { number: true },
  });
  if (open) return open.number;
  const latest = await tx.epoch.findFirst({
    orderBy: { number: "desc" },
    select: { number: true },
  });
  const created = await tx.epoch.create({
    data: { number: (latest?.number ?? 0) + 1 },
    select: { number: true },
  });
  return created.number;
}
