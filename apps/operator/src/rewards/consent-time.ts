/**
 * How long each enrolled patient's consent (under their consent identity for the dataset) was
 * active during an epoch: a consent active for the whole epoch earns one unit of the pooled
 * rewards (pooled.ts).
 *
 * Only public facts and the steward's enrolment go in: consent events as the chain mirror
 * stored them (IndexedEvent, with their block timestamps) and the epoch's window. Nothing
 * about queries is read, so a payment, which is public once claimed, says nothing about
 * which patients a query matched.
 */
import type { Prisma } from "@opencohort/db";

/** A bound consent identity of a dataset and how long its consent was active in the epoch. */
export interface ConsentWeight {
  identityAddress: string;
  consentSeconds: bigint;
}

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

/** Entity keys bound in one event read (the indexer reads in chunks of the same size). */
const KEYS_PER_READ = 500;

export interface ConsentWeightsScope {
  /** The chain and indexer stream whose mirrored events are read. */
  chainId: number;
  stream: string;
  datasetId: string;
  window: EpochWindow;
}

/**
 * The consent of one dataset in an epoch: every identity bound to an enrolment in the dataset
 * whose consent was active for some of the window, with those seconds. An address that consented
 * without an enrolment is not read at all: it is not in the weights, so it neither earns nor
 * shrinks anybody's share (anybody can consent to any dataset on chain, for free).
 *
 * Consent history comes from the mirrored ConsentSet events up to the window's end; events
 * not indexed yet when the epoch closes count as if they had not happened (the state before
 * them lasts to the close). The close stores its result, so indexing them later changes
 * nothing that was paid.
 */
export async function consentWeights(tx: Tx, scope: ConsentWeightsScope): Promise<ConsentWeight[]> {
  // Consent counts only under the identity bound to the enrolment (a wallet's own consent,
  // from before identities, does not: it is not what queries run over either).
  const enrolments = (
    await tx.enrolment.findMany({
      where: { datasetId: scope.datasetId, identityAddress: { not: null } },
      select: { identityAddress: true },
    })
  ).flatMap((enrolment) => (enrolment.identityAddress ? [enrolment.identityAddress] : []));
  const keyOf = (address: string) => `consent:${address.toLowerCase()}:${scope.datasetId}`;
  const keys = enrolments.map(keyOf);
  const changesByKey = new Map<string, ConsentChange[]>();
  for (let start = 0; start < keys.length; start += KEYS_PER_READ) {
    const events = await tx.indexedEvent.findMany({
      where: {
        chainId: scope.chainId,
        stream: scope.stream,
        entityKey: { in: keys.slice(start, start + KEYS_PER_READ) },
        eventName: "ConsentSet",
        blockTimestamp: { lte: scope.window.end },
      },
      // Chain order: the index (chainId, stream, entityKey, blockNumber, logIndex) serves it.
      orderBy: [{ entityKey: "asc" }, { blockNumber: "asc" }, { logIndex: "asc" }],
      select: { entityKey: true, blockTimestamp: true, args: true },
    });
    for (const event of events) {
      const changes = changesByKey.get(event.entityKey) ?? [];
      changes.push({ at: event.blockTimestamp, granted: grantedOf(event.args) });
      changesByKey.set(event.entityKey, changes);
    }
  }
  const weights: ConsentWeight[] = [];
  for (const identity of enrolments) {
    const seconds = consentSecondsIn(changesByKey.get(keyOf(identity)) ?? [], scope.window);
    if (seconds > 0n) {
      weights.push({ identityAddress: identity.toLowerCase(), consentSeconds: seconds });
    }
  }
  return weights;
}

/** `granted` of a stored ConsentSet's decoded arguments (a JSON boolean, see chain/indexer). */
function grantedOf(args: Prisma.JsonValue): boolean {
  const granted =
    typeof args === "object" && args !== null && !Array.isArray(args) ? args.granted : undefined;
  if (typeof granted !== "boolean") {
    throw new Error(`A stored ConsentSet event has no boolean 'granted': ${JSON.stringify(args)}`);
  }
  return granted;
}
