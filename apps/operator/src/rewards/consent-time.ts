/**
 * Which consents were active for the whole of an epoch: each such consent is one unit of the
 * pooled rewards (pooled.ts).
 *
 * Only public facts and the steward's enrolment go in: consent events as the chain mirror
 * stored them (IndexedEvent, with their block timestamps), the datasets registered on chain and
 * the epoch's window. Nothing about queries is read, so a payment, which is public once
 * claimed, says nothing about which patients a query matched. The enrolment only picks, among
 * the whole-epoch consents everybody can count, the ones that are paid.
 */
import type { Prisma } from "@opencohort/db";

type Tx = Prisma.TransactionClient;

/** One ConsentSet of a (patient, dataset) pair: `granted` from block time `at` (unix s). */
export interface ConsentChange {
  at: bigint;
  granted: boolean;
}

/** An epoch's window in unix seconds, [start, end]. */
export interface EpochWindow {
  start: bigint;
  end: bigint;
}

/**
 * The window of an epoch that started at `startedAt` and closes at `closedAt`, in whole
 * seconds (block timestamps are whole seconds; the fraction of a second at each end is
 * dropped).
 */
export function epochWindow(startedAt: Date, closedAt: Date): EpochWindow {
  const start = BigInt(Math.floor(startedAt.getTime() / 1000));
  const end = BigInt(Math.floor(closedAt.getTime() / 1000));
  if (end < start) {
    throw new RangeError(
      `an epoch cannot close (${closedAt.toISOString()}) before it started (${startedAt.toISOString()})`,
    );
  }
  return { start, end };
}

/**
 * Seconds within `window` during which the consent was granted, given the pair's changes in
 * chain order. Consent is absent (not granted) before the first change; a grant lasts until
 * the next revocation, or to the end of the window. Changes after the window's end are
 * ignored, so a close that reads late events pays what it would have paid without them.
 * A grant that repeats a grant changes nothing (the consent was already active).
 */
export function consentSecondsIn(changes: readonly ConsentChange[], window: EpochWindow): bigint {
  const overlap = (from: bigint, to: bigint): bigint => {
    const start = from > window.start ? from : window.start;
    const end = to < window.end ? to : window.end;
    return end > start ? end - start : 0n;
  };
  let seconds = 0n;
  let activeSince: bigint | null = null;
  let previous: bigint | null = null;
  for (const change of changes) {
    // Block timestamps never decrease along the chain: anything else is not chain order,
    // and a split computed from it would pay the wrong people, irreversibly.
    if (previous !== null && change.at < previous) {
      throw new RangeError(
        `consent changes are not in chain order: ${change.at} comes after ${previous}`,
      );
    }
    previous = change.at;
    if (change.at > window.end) break;
    if (change.granted && activeSince === null) activeSince = change.at;
    if (!change.granted && activeSince !== null) {
      seconds += overlap(activeSince, change.at);
      activeSince = null;
    }
  }
  if (activeSince !== null) seconds += overlap(activeSince, window.end);
  return seconds;
}

/** Consent events read per page: bounds the memory of a close, whatever the chain's history. */
const EVENTS_PER_READ = 5_000;

export interface WholeEpochConsentsScope {
  /** The chain and indexer stream whose mirrored events are read. */
  chainId: number;
  stream: string;
  window: EpochWindow;
}

/** A consent identity of a dataset, bound to an enrolment there, active for the whole epoch. */
export interface EnrolledConsent {
  datasetId: string;
  identityAddress: string;
}

export interface WholeEpochConsents {
  /**
   * Every (address, registered dataset) pair whose consent was active for the whole window,
   * enrolled or not: a function of the chain alone, so anybody can count it too.
   */
  publicCount: bigint;
  /** Of those, the identities bound to an enrolment in that dataset (private). */
  enrolled: EnrolledConsent[];
}

/**
 * The consents active for the whole epoch, on every dataset registered on chain.
 *
 * Consent history comes from the mirrored ConsentSet events up to the window's end; events
 * not indexed yet when the epoch closes count as if they had not happened (the state before
 * them lasts to the close). The close stores its result, so indexing them later changes
 * nothing that was paid. A consent to a dataset id nobody registered is not counted: anyone
 * can send one, and it is no dataset anybody could be paid for.
 */
export async function wholeEpochConsents(
  tx: Tx,
  scope: WholeEpochConsentsScope,
): Promise<WholeEpochConsents> {
  const { window } = scope;
  const result: WholeEpochConsents = { publicCount: 0n, enrolled: [] };
  const windowSeconds = window.end - window.start;
  if (windowSeconds <= 0n) return result;
  const registered = new Set(
    (await tx.dataset.findMany({ select: { id: true } })).map((dataset) =>
      dataset.id.toLowerCase(),
    ),
  );
  // Consent counts for pay only under the identity bound to the enrolment (a wallet's own
  // consent, from before identities, is not what queries run over). It is public all the same.
  const bound = await tx.enrolment.findMany({
    where: { identityAddress: { not: null } },
    select: { datasetId: true, identityAddress: true },
  });
  const enrolledKeys = new Set(
    bound.map((row) => consentKey(row.identityAddress ?? "", row.datasetId)),
  );

  const settle = (entityKey: string, changes: readonly ConsentChange[]) => {
    const [, address, datasetId] = entityKey.split(":");
    if (address === undefined || datasetId === undefined) return;
    if (!registered.has(datasetId.toLowerCase())) return;
    if (consentSecondsIn(changes, window) !== windowSeconds) return;
    result.publicCount += 1n;
    if (enrolledKeys.has(entityKey.toLowerCase())) {
      result.enrolled.push({
        datasetId: datasetId.toLowerCase(),
        identityAddress: address.toLowerCase(),
      });
    }
  };

  let current: { entityKey: string; changes: ConsentChange[] } | null = null;
  let cursor: string | null = null;
  for (;;) {
    const page: StoredConsentEvent[] = await tx.indexedEvent.findMany({
      where: {
        chainId: scope.chainId,
        stream: scope.stream,
        entityKey: { startsWith: "consent:" },
        eventName: "ConsentSet",
        blockTimestamp: { lte: window.end },
      },
      // Chain order within each pair; the index (chainId, stream, entityKey, blockNumber,
      // logIndex) serves it, `id` only makes the order total for the cursor.
      orderBy: [{ entityKey: "asc" }, { blockNumber: "asc" }, { logIndex: "asc" }, { id: "asc" }],
      select: { id: true, entityKey: true, blockTimestamp: true, args: true },
      take: EVENTS_PER_READ,
      ...(cursor === null ? {} : { cursor: { id: cursor }, skip: 1 }),
    });
    for (const event of page) {
      if (current === null || current.entityKey !== event.entityKey) {
        if (current !== null) settle(current.entityKey, current.changes);
        current = { entityKey: event.entityKey, changes: [] };
      }
      current.changes.push({ at: event.blockTimestamp, granted: grantedOf(event.args) });
    }
    const last = page.at(-1);
    if (page.length < EVENTS_PER_READ || last === undefined) break;
    cursor = last.id;
  }
  if (current !== null) settle(current.entityKey, current.changes);
  return result;
}

interface StoredConsentEvent {
  id: string;
  entityKey: string;
  blockTimestamp: bigint;
  args: Prisma.JsonValue;
}

/** The indexer's entity key of a consent pair (chain/indexer projections), lower-cased. */
const consentKey = (address: string, datasetId: string) =>
  `consent:${address}:${datasetId}`.toLowerCase();

/** `granted` of a stored ConsentSet's decoded arguments (a JSON boolean, see chain/indexer). */
function grantedOf(args: Prisma.JsonValue): boolean {
  const granted =
    typeof args === "object" && args !== null && !Array.isArray(args) ? args.granted : undefined;
  if (typeof granted !== "boolean") {
    throw new Error(`A stored ConsentSet event has no boolean 'granted': ${JSON.stringify(args)}`);
  }
  return granted;
}
