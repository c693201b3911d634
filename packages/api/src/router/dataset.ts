/**
 * The public catalogue: listed datasets with search, filters and pagination; one dataset's
 * data card and the privacy parameters that apply to it; and free feasibility counts for any
 * signed-in researcher.
 */
import { feasibilityParams } from "@opencohort/compute";
import { type Db, type Prisma, toDbUint } from "@opencohort/db";
import {
  type DatasetManifest,
  type DatasetSort,
  datasetIdInputSchema,
  datasetListInputSchema,
  datasetManifestSchema,
  feasibilityInputSchema,
} from "@opencohort/validators";
import { TRPCError, type TRPCRouterRecord } from "@trpc/server";
import { formatUnits, keccak256, parseUnits, stringToHex } from "viem";
import { FEASIBILITY_EPSILON_BUDGET } from "../services/budget-ledger";
import { runFeasibility } from "../services/feasibility";
import { disclosureParams, governedStandards } from "../services/standards";
import { protectedProcedure, publicProcedure } from "../trpc";

/** CohortToken is an OpenZeppelin ERC20: 18 decimals. Prices are shown in whole tokens. */
export const TOKEN_DECIMALS = 18;

const notFound = () =>
  new TRPCError({ code: "NOT_FOUND", message: "There is no dataset with this id." });

const cardSelect = {
  id: true,
  steward: true,
  title: true,
  description: true,
  metadata: true,
  price: true,
  accessDurationSeconds: true,
  latestVersion: true,
  listed: true,
  listedBlock: true,
  conditions: { select: { code: true, label: true }, orderBy: { code: "asc" } },
  versions: {
    orderBy: { version: "desc" },
    select: { version: true, personCount: true, schemaVersion: true },
  },
} satisfies Prisma.DatasetSelect;

type CardRow = Prisma.DatasetGetPayload<{ select: typeof cardSelect }>;

/** The schema version label the steward's metadata names (its hash is on chain). */
function schemaLabel(metadata: Prisma.JsonValue | null): string | null {
  if (metadata && typeof metadata === "object" && !Array.isArray(metadata)) {
    const label = metadata.schemaVersion;
    if (typeof label === "string") return label;
  }
  return null;
}

/** What a catalogue card shows. Prices are uint strings: base units and whole tokens. */
function toCard(row: CardRow, consented: number) {
  const latest = row.versions.find((version) => version.version === row.latestVersion);
  const price = BigInt(row.price);
  return {
    id: row.id,
    title: row.title || `Dataset ${row.id.slice(0, 10)}…`,
    description: row.description,
    steward: row.steward,
    /** Price of one pass in token base units (decimal string). */
    price: price.toString(),
    /** The same in whole tokens, e.g. "250" or "0.5". */
    priceFormatted: formatUnits(price, TOKEN_DECIMALS),
    accessDurationSeconds: row.accessDurationSeconds,
    /** Persons in the latest version; null until its files are registered. */
    persons: latest?.personCount ?? null,
    /** Patients whose consent for this dataset is currently granted on chain. */
    consented,
    conditions: row.conditions,
    latestVersion: row.latestVersion,
    schemaVersion: schemaLabel(row.metadata),
    schemaVersionHash: latest?.schemaVersion ?? null,
    listed: row.listed,
  };
}

async function consentedCounts(db: Db, datasetIds: string[]) {
  if (datasetIds.length === 0) return new Map<string, number>();
  const rows = await db.consentState.groupBy({
    by: ["datasetId"],
    where: { datasetId: { in: datasetIds }, granted: true },
    _count: { _all: true },
  });
  return new Map(rows.map((row) => [row.datasetId, row._count._all]));
}

// ─── Sorting and cursors ──────────────────────────────────────────────────────────────

/** One candidate of the list, with what filters and sorts need. */
interface Candidate {
  id: string;
  title: string;
  /** Padded uint strings: string order is numeric order. */
  price: string;
  listedBlock: string;
  persons: number | null;
}

type SortKey = (string | number)[];

/** Descending order on a fixed-width digit string is ascending order on its 9-complement. */
const descending = (digits: string) =>
  [...digits].map((digit) => String(9 - Number(digit))).join("");

/** Every key compares ascending; ties go by id. */
const sortKeys: Record<DatasetSort, (c: Candidate) => SortKey> = {
  newest: (c) => [descending(c.listedBlock)],
  oldest: (c) => [c.listedBlock],
  "price-asc": (c) => [c.price],
  "price-desc": (c) => [descending(c.price)],
  // Datasets without registered files (no size) last.
  "persons-desc": (c) => [-(c.persons ?? -1)],
  title: (c) => [c.title.toLowerCase()],
};

function compareKeys(a: SortKey, b: SortKey): number {
  for (let i = 0; i < Math.max(a.length, b.length); i++) {
    const x = a[i];
    const y = b[i];
    if (x === y) continue;
    if (x === undefined) return -1;
    if (y === undefined) return 1;
    return x < y ? -1 : 1;
  }
  return 0;
}

interface Cursor {
  sort: DatasetSort;
  key: SortKey;
  id: string;
}

const encodeCursor = (cursor: Cursor) =>
  Buffer.from(JSON.stringify([cursor.sort, cursor.key, cursor.id])).toString("base64url");

function decodeCursor(text: string, sort: DatasetSort): Cursor {
  try {
    const [cursorSort, key, id] = JSON.parse(Buffer.from(text, "base64url").toString("utf8"));
    if (
      cursorSort === sort &&
      Array.isArray(key) &&
      key.every((part) => typeof part === "string" || typeof part === "number") &&
      typeof id === "string"
    ) {
      return { sort, key, id };
    }
  } catch {
    // fall through
  }
  throw new TRPCError({
    code: "BAD_REQUEST",
    message: "cursor: must be a cursor returned by the previous page with the same sort",
  });
}

// ─── The router ──────────────────────────────────────────────────────────────────────

export const datasetRouter = {
  /**
   * Listed datasets matching every filter given. Text, conditions and price filter in SQL;
   * size and schema version (properties of the latest version), sorting and paging are
   * applied to the matching rows' keys in memory, so this stays exact for a catalogue of
   * thousands of datasets (the card fields are loaded for one page only).
   */
  list: publicProcedure.input(datasetListInputSchema).query(async ({ ctx, input }) => {
    const and: Prisma.DatasetWhereInput[] = [];
    for (const word of (input.search ?? "").toLowerCase().split(/\s+/).filter(Boolean)) {
      and.push({ searchText: { contains: word } });
    }
    if (input.conditions?.length) {
      and.push({ conditions: { some: { code: { in: input.conditions } } } });
    }
    const toBase = (amount: string) => toDbUint(parseUnits(amount, TOKEN_DECIMALS));
    if (input.minPrice !== undefined) and.push({ price: { gte: toBase(input.minPrice) } });
    if (input.maxPrice !== undefined) and.push({ price: { lte: toBase(input.maxPrice) } });

    const rows = await ctx.db.dataset.findMany({
      where: { listed: true, AND: and },
      select: {
        id: true,
        title: true,
        price: true,
        listedBlock: true,
        latestVersion: true,
        versions: { select: { version: true, personCount: true, schemaVersion: true } },
      },
    });

    const schemaHash =
      input.schemaVersion === undefined
        ? undefined
        : /^0x[0-9a-f]{64}$/.test(input.schemaVersion)
          ? input.schemaVersion
          : keccak256(stringToHex(input.schemaVersion));
    const sizeFiltered = input.minPersons !== undefined || input.maxPersons !== undefined;
    const candidates: Candidate[] = [];
    for (const row of rows) {
      const latest = row.versions.find((version) => version.version === row.latestVersion);
      const persons = latest?.personCount ?? null;
      if (schemaHash !== undefined && latest?.schemaVersion !== schemaHash) continue;
      if (sizeFiltered) {
        if (persons === null) continue;
        if (input.minPersons !== undefined && persons < input.minPersons) continue;
        if (input.maxPersons !== undefined && persons > input.maxPersons) continue;
      }
      candidates.push({
        id: row.id,
        title: row.title,
        price: row.price,
        listedBlock: toDbUint(row.listedBlock),
        persons,
      });
    }

    const keyOf = sortKeys[input.sort];
    const ordered = candidates
      .map((candidate) => ({ candidate, key: keyOf(candidate) }))
      .sort((a, b) => compareKeys(a.key, b.key) || (a.candidate.id < b.candidate.id ? -1 : 1));

    let start = 0;
    if (input.cursor !== undefined) {
      const cursor = decodeCursor(input.cursor, input.sort);
      const after = ordered.findIndex(
        ({ candidate, key }) =>
          (compareKeys(key, cursor.key) || (candidate.id <= cursor.id ? -1 : 1)) > 0,
      );
      start = after === -1 ? ordered.length : after;
    } else if (input.page !== undefined) {
      start = (input.page - 1) * input.limit;
    }
    const page = ordered.slice(start, start + input.limit);
    const ids = page.map(({ candidate }) => candidate.id);

    const [cards, consented] = await Promise.all([
      ctx.db.dataset.findMany({ where: { id: { in: ids } }, select: cardSelect }),
      consentedCounts(ctx.db, ids),
    ]);
    const byId = new Map(cards.map((card) => [card.id, card]));
    const last = page.at(-1);
    return {
      items: ids.flatMap((id) => {
        const card = byId.get(id);
        return card ? [toCard(card, consented.get(id) ?? 0)] : [];
      }),
      total: ordered.length,
      /** Pass as `cursor` for the next page; null on the last page. */
      nextCursor:
        last && start + page.length < ordered.length
          ? encodeCursor({ sort: input.sort, key: last.key, id: last.candidate.id })
          : null,
      /** 1-based page of the first item (numbered pagination). */
      page: Math.floor(start / input.limit) + 1,
      pageCount: Math.max(1, Math.ceil(ordered.length / input.limit)),
    };
  }),

  /**
   * One dataset (listed or not: a pass holder still needs its card) with the data card of
   * its latest registered version and the governed privacy parameters in force.
   */
  byId: publicProcedure.input(datasetIdInputSchema).query(async ({ ctx, input }) => {
    const row = await ctx.db.dataset.findUnique({
      where: { id: input.datasetId },
      select: {
        ...cardSelect,
        metadataHash: true,
        delistedByGovernance: true,
        versions: {
          orderBy: { version: "desc" },
          select: {
            version: true,
            personCount: true,
            schemaVersion: true,
            manifestHash: true,
            manifest: true,
            publishedAt: true,
            registeredAt: true,
          },
        },
      },
    });
    if (!row) throw notFound();
    const [consented, standards] = await Promise.all([
      consentedCounts(ctx.db, [row.id]),
      governedStandards(ctx.db, ctx.chain.chainId),
    ]);
    const registered = row.versions.find((version) => version.registeredAt && version.manifest);
    const parsed = registered ? datasetManifestSchema.safeParse(registered.manifest) : undefined;
    const manifest: DatasetManifest | undefined = parsed?.success ? parsed.data : undefined;
    const feasibility = feasibilityParams(disclosureParams(standards));
    return {
      ...toCard(row, consented.get(row.id) ?? 0),
      metadataHash: row.metadataHash,
      delistedByGovernance: row.delistedByGovernance,
      versions: row.versions.map((version) => ({
        version: version.version,
        contentHash: version.manifestHash,
        schemaVersionHash: version.schemaVersion,
        publishedAt: version.publishedAt,
        registered: version.registeredAt !== null,
        persons: version.personCount,
      })),
      /** Tables, columns, types, declared bounds and row counts; null until files are registered. */
      dataCard:
        registered && manifest
          ? {
              version: registered.version,
              contentHash: manifest.contentHash,
              schemaVersion: manifest.schemaVersion,
              persons: manifest.personCount,
              createdAt: manifest.createdAt,
              tables: manifest.tables.map((table) => ({
                name: table.name,
                rowCount: table.rowCount,
                columns: table.columns.map((column) => ({
                  name: column.name,
                  type: column.type,
                  ...(column.description !== undefined ? { description: column.description } : {}),
                  ...(column.bounds !== undefined ? { bounds: column.bounds } : {}),
                })),
              })),
            }
          : null,
      /** The governed standards every query on this dataset runs with (StandardsRegistry). */
      privacy: {
        asOfBlock: standards.block,
        minCellSize: standards.minCellSize,
        roundingBase: standards.roundingBase,
        epsilonPerQuery: standards.epsilonPerQuery,
        epsilonBudget: standards.epsilonBudget,
        /** Feasibility counts: coarser, with a budget of their own. */
        feasibility: {
          minCellSize: feasibility.minCellSize,
          roundingBase: feasibility.roundingBase,
          epsilonPerQuery: feasibility.epsilonPerQuery,
          epsilonBudget: FEASIBILITY_EPSILON_BUDGET,
        },
      },
    };
  }),

  /**
   * Noisy, coarse counts of a cohort definition over the consented persons, for any
   * signed-in researcher (no pass needed). Each call spends the researcher's small
   * feasibility budget for the dataset (see services/feasibility.ts); once it is spent the
   * call is refused with rule "feasibility-budget".
   */
  feasibility: protectedProcedure
    .input(feasibilityInputSchema)
    .mutation(({ ctx, input }) =>
      runFeasibility(ctx, ctx.session.address, input.datasetId, input.cohort),
    ),
} satisfies TRPCRouterRecord;
