/**
 * Enrolments and their ordinals. Every enrolment gets the next ordinal of its dataset (1, 2,
 * 3… in the order persons were enrolled): a dense numbering of the dataset's persons that
 * inclusion sets are kept over (src/inclusion-bitmap.ts), because `person_id`s may be spread
 * over 64 bits. Ordinals are never reused (enrolments are deleted only with their dataset),
 * so a new enrolment is in no stored set; they are never shown or published and, like the
 * enrolment, stay in this database.
 */
import { type SqlDialect, tableName } from "./bulk";
import type { Db } from "./client";
import type { Prisma } from "./generated/sqlite/client";

type Client = Db | Prisma.TransactionClient;

export interface NewEnrolment {
  personId: bigint;
  patientAddress?: string | null;
  identityAddress?: string | null;
  boundAt?: Date | null;
}

/** Rows per insert statement (SQLite binds at most 32,766 values; an enrolment binds 7). */
const ENROLMENTS_PER_STATEMENT = 1_000;
/** Person ids per `IN` list when ordinals are looked up. */
const IDS_PER_LOOKUP = 10_000;

/**
 * Enrols `enrolments` in `datasetId` with the next ordinals, in their order, inside the
 * caller's transaction (other writes can stand or fall with it). Throws on a duplicate person,
 * wallet or identity (the unique indexes); the transaction then writes nothing.
 */
export async function createEnrolments(
  tx: Prisma.TransactionClient,
  dialect: SqlDialect,
  datasetId: string,
  enrolments: readonly NewEnrolment[],
): Promise<void> {
  if (enrolments.length === 0) return;
  // Two imports into one dataset at once would read the same highest ordinal. On PostgreSQL
  // they queue on a per-dataset lock. On SQLite one writer at a time: an import whose read
  // went stale fails on its first insert rather than write. The unique index (datasetId,
  // ordinal) turns any race left into an error, never into two enrolments with one ordinal.
  if (dialect.provider === "postgresql") {
    const key = `opencohort enrolments ${datasetId}`;
    await tx.$executeRaw`SELECT pg_advisory_xact_lock(hashtextextended(${key}, 0))`;
  }
  const highest = await tx.enrolment.aggregate({
    where: { datasetId },
    _max: { ordinal: true },
  });
  const first = (highest._max.ordinal ?? 0) + 1;
  for (let start = 0; start < enrolments.length; start += ENROLMENTS_PER_STATEMENT) {
    await tx.enrolment.createMany({
      data: enrolments.slice(start, start + ENROLMENTS_PER_STATEMENT).map((enrolment, offset) => ({
        datasetId,
        personId: enrolment.personId,
        patientAddress: enrolment.patientAddress ?? null,
        identityAddress: enrolment.identityAddress ?? null,
        boundAt: enrolment.boundAt ?? null,
        ordinal: first + start + offset,
      })),
    });
  }
}

/**
 * Person ids with their enrolment ordinals, ascending by person id (a consent snapshot, or a
 * dataset's enrolments): what `ordinalsOf` maps through.
 */
export interface PersonOrdinals {
  /** Ascending. */
  personIds: BigInt64Array;
  /** ordinals[i] is the ordinal of personIds[i]. */
  ordinals: Uint32Array;
}

/**
 * `rows` sorted by person id into PersonOrdinals. Rows that come sorted (ORDER BY) cost one
 * pass; others are sorted natively (a comparator over 900k bigints took ~0.9 s, the typed
 * array's own sort 6 ms) and their ordinals found again by id.
 */
export function toPersonOrdinals(
  rows: readonly { personId: bigint | number; ordinal: number }[],
): PersonOrdinals {
  // One plain loop over the rows: Array.from with a mapper, and reading the ids back out of
  // the typed array (each read allocates a BigInt), each took longer than the whole loop.
  const personIds = new BigInt64Array(rows.length);
  const ordinals = new Uint32Array(rows.length);
  let sorted = true;
  let previous: bigint | undefined;
  for (let index = 0; index < rows.length; index++) {
    const row = rows[index] as { personId: bigint | number; ordinal: number };
    const personId = typeof row.personId === "bigint" ? row.personId : BigInt(row.personId);
    if (previous !== undefined && personId <= previous) sorted = false;
    previous = personId;
    personIds[index] = personId;
    ordinals[index] = row.ordinal;
  }
  if (sorted) return { personIds, ordinals };
  const ordinalOf = new Map<bigint, number>();
  personIds.forEach((personId, index) => {
    ordinalOf.set(personId, ordinals[index] as number);
  });
  personIds.sort();
  return {
    personIds,
    ordinals: Uint32Array.from(personIds, (personId) => ordinalOf.get(personId) as number),
  };
}

/**
 * The ordinals of `personIds`, in their order, looked up in `known` (binary search). A person
 * not in `known` throws, unless `missing` is "skip" (then it is left out): a query can only
 * include persons of its consent snapshot, so one outside it is a bug, not data to drop.
 */
export function ordinalsOf(
  known: PersonOrdinals,
  personIds: ArrayLike<bigint>,
  missing: "throw" | "skip" = "throw",
): Uint32Array {
  // Searched as (signed high, unsigned low) 32-bit halves: reading a BigInt64Array allocates a
  // BigInt per element, ~20 per lookup, and a query at 1M persons looks up 900k.
  const knownHalves = halvesOf(known.personIds);
  const askedHalves = personIds instanceof BigInt64Array ? halvesOf(personIds) : undefined;
  const found = new Uint32Array(personIds.length);
  let filled = 0;
  for (let index = 0; index < personIds.length; index++) {
    let high: number;
    let low: number;
    if (askedHalves) {
      low = askedHalves.low(index);
      high = askedHalves.high(index);
    } else {
      const personId = personIds[index] as bigint;
      low = Number(BigInt.asUintN(32, personId));
      high = Number(BigInt.asIntN(32, personId >> 32n));
    }
    let from = 0;
    let to = known.personIds.length - 1;
    let at = -1;
    while (from <= to) {
      const middle = (from + to) >>> 1;
      const middleHigh = knownHalves.high(middle);
      const middleLow = knownHalves.low(middle);
      if (middleHigh === high && middleLow === low) {
        at = middle;
        break;
      }
      if (middleHigh < high || (middleHigh === high && middleLow < low)) from = middle + 1;
      else to = middle - 1;
    }
    if (at === -1) {
      if (missing === "skip") continue;
      throw new Error("A person outside the set being mapped has no ordinal here.");
    }
    found[filled++] = known.ordinals[at] as number;
  }
  return filled === found.length ? found : found.slice(0, filled);
}

/** The 32-bit halves of little-endian int64s (every platform Node ships for). */
function halvesOf(ids: BigInt64Array) {
  const unsigned = new Uint32Array(ids.buffer, ids.byteOffset, ids.length * 2);
  const signed = new Int32Array(ids.buffer, ids.byteOffset, ids.length * 2);
  return {
    low: (index: number) => unsigned[index * 2] as number,
    high: (index: number) => signed[index * 2 + 1] as number,
  };
}

/** The ordinals of every enrolment of `datasetId`, by person id. */
export async function datasetPersonOrdinals(
  client: Client,
  dialect: SqlDialect,
  datasetId: string,
): Promise<PersonOrdinals> {
  // Raw: Prisma maps each of up to millions of rows into an object first.
  const rows = await client.$queryRaw<{ personId: bigint | number; ordinal: number }[]>`
    SELECT "personId", "ordinal" FROM ${tableName(dialect, "Enrolment")}
    WHERE "datasetId" = ${datasetId} ORDER BY "personId"`;
  return toPersonOrdinals(rows);
}

/** The ordinals of the enrolments of `personIds` in `datasetId` (persons not enrolled are absent). */
export async function enrolmentOrdinals(
  client: Client,
  datasetId: string,
  personIds: readonly bigint[],
): Promise<PersonOrdinals> {
  const rows: { personId: bigint; ordinal: number }[] = [];
  for (let start = 0; start < personIds.length; start += IDS_PER_LOOKUP) {
    rows.push(
      ...(await client.enrolment.findMany({
        where: { datasetId, personId: { in: personIds.slice(start, start + IDS_PER_LOOKUP) } },
        select: { personId: true, ordinal: true },
      })),
    );
  }
  return toPersonOrdinals(rows);
}

/**
 * The `personId`s (ascending) and enrolment ordinals of the patients enrolled in `datasetId`
 * whose mirrored consent for it is granted: Enrolment ⋈ ConsentState on (consent identity,
 * datasetId). Consent counts only under the identity bound to the enrolment: an enrolment
 * whose patient has not bound one yet (e.g. enrolled before identities, when consent was
 * signed by the wallet) is excluded until they do. The two tables have no relation in the
 * schema (consent is mirrored from the chain and may precede an enrolment), hence one raw
 * join. Only person ids and ordinals are read; addresses stay in the database.
 */
export async function selectConsentedEnrolments(
  client: Client,
  dialect: SqlDialect,
  datasetId: string,
): Promise<PersonOrdinals> {
  const rows = await client.$queryRaw<{ personId: bigint | number; ordinal: number }[]>`
    SELECT enrolment."personId" AS "personId", enrolment."ordinal" AS "ordinal"
    FROM ${tableName(dialect, "Enrolment")} AS enrolment
    JOIN ${tableName(dialect, "ConsentState")} AS consent
      ON consent."patientAddress" = enrolment."identityAddress"
     AND consent."datasetId" = enrolment."datasetId"
    WHERE enrolment."datasetId" = ${datasetId} AND consent."granted" = TRUE
    ORDER BY enrolment."personId"`;
  return toPersonOrdinals(rows);
}
