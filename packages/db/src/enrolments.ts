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

/** `rows` sorted by person id into PersonOrdinals. */
export function toPersonOrdinals(
  rows: readonly { personId: bigint | number; ordinal: number }[],
): PersonOrdinals {
  const order = rows.map((row) => BigInt(row.personId));
  const indexes = Uint32Array.from(rows, (_, index) => index).sort((a, b) => {
    const left = order[a] as bigint;
    const right = order[b] as bigint;
    return left < right ? -1 : left > right ? 1 : 0;
  });
  const personIds = new BigInt64Array(rows.length);
  const ordinals = new Uint32Array(rows.length);
  indexes.forEach((index, position) => {
    personIds[position] = order[index] as bigint;
    ordinals[position] = (rows[index] as { ordinal: number }).ordinal;
  });
  return { personIds, ordinals };
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
  const found = new Uint32Array(personIds.length);
  let filled = 0;
  for (let index = 0; index < personIds.length; index++) {
    const personId = personIds[index] as bigint;
    let low = 0;
    let high = known.personIds.length - 1;
    let at = -1;
    while (low <= high) {
      const middle = (low + high) >>> 1;
      const candidate = known.personIds[middle] as bigint;
      if (candidate === personId) {
        at = middle;
        break;
      }
      if (candidate < personId) low = middle + 1;
      else high = middle - 1;
    }
    if (at === -1) {
      if (missing === "skip") continue;
      throw new Error("A person outside the set being mapped has no ordinal here.");
    }
    found[filled++] = known.ordinals[at] as number;
  }
  return filled === found.length ? found : found.slice(0, filled);
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
    WHERE "datasetId" = ${datasetId}`;
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
    WHERE enrolment."datasetId" = ${datasetId} AND consent."granted" = TRUE`;
  // Sorted here rather than by ORDER BY: one numeric order whatever the provider.
  return toPersonOrdinals(rows);
}
