/**
 * The public catalogue: listed datasets with search, filters and pagination; one dataset's
 * data card and the privacy parameters that apply to it; and free feasibility counts for any
 * signed-in researcher.
 */
import { schemaVersionHash } from "@opencohort/chain";
import { feasibilityParams, searchConcepts } from "@opencohort/compute";
import { type Db, Prisma, toDbUint } from "@opencohort/db";
import {
  conceptSearchInputSchema,
  type DatasetListQuery,
  type DatasetManifest,
  type DatasetSort,
  datasetIdInputSchema,
  datasetListInputSchema,
  datasetManifestSchema,
  feasibilityInputSchema,
} from "@opencohort/validators";
import { TRPCError, type TRPCRouterRecord } from "@trpc/server";
import { formatUnits, parseUnits } from "viem";
import { latestRegisteredVersion } from "../services/condition-concepts";
import { consentedCounts } from "../services/consent-set";
import { feasibilityBudgetOf, runFeasibility } from "../services/feasibility";
import { disclosureParams, governedStandards } from "../services/standards";
import { protectedProcedure, publicProcedure, rateLimited } from "../trpc";

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

/**
 * The label stewards give a schema version hash in their metadata (checked against the
 * chain when stored); a few datasets of that version are enough to find it.
 */
async function schemaVersionLabel(db: Db, hash: string, datasetIds: readonly string[]) {
  const rows = await db.dataset.findMany({
    where: { id: { in: datasetIds.slice(0, 50) }, metadata: { not: Prisma.AnyNull } },
    select: { metadata: true },
  });
  for (const row of rows) {
    const label = schemaLabel(row.metadata);
    if (label !== null && schemaVersionHash(label) === hash) return label;
  }
  return null;
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
  throw badCursor();
}

const badCursor = () =>
  new TRPCError({
    code: "BAD_REQUEST",
    message: "cursor: must be a cursor returned by the previous page with the same sort",
  });

// ─── Listing ─────────────────────────────────────────────────────────────────────────

type ListInput = DatasetListQuery;
/** Ids bound in one statement (SQLite allows 999 bound values: P2029). */
const BIND_CHUNK = 300;
type ListPage = { ids: string[]; total: number; start: number; lastKey: SortKey | undefined };

/** Text, conditions and price: the filters that are columns of Dataset. */
function columnFilters(input: ListInput): Prisma.DatasetWhereInput {
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
  return { listed: true, AND: and };
}

/**
 * The latest version's size and schema hash of each dataset of `latestVersionOf` (id ->
 * latest version number). Many datasets: one query over every listed dataset's versions
 * (binding thousands of ids would take dozens of statements); a few: by id.
 */
async function latestVersions(db: Db, latestVersionOf: ReadonlyMap<string, number>) {
  const ids = [...latestVersionOf.keys()];
  const rows = await db.datasetVersion.findMany({
    where: ids.length <= BIND_CHUNK ? { datasetId: { in: ids } } : { dataset: { listed: true } },
    select: { datasetId: true, version: true, personCount: true, schemaVersion: true },
  });
  const latest = new Map<string, { persons: number | null; schemaVersion: string }>();
  for (const row of rows) {
    if (latestVersionOf.get(row.datasetId) === row.version) {
      latest.set(row.datasetId, { persons: row.personCount, schemaVersion: row.schemaVersion });
    }
  }
  return latest;
}

/**
 * Sorts that are one column of Dataset, ordered and paged by the database when no filter
 * needs the latest version. Each key part is the column as stored: padded digits, so the
 * string order of `sortKeys` is the column's order.
 */
const columnSorts = {
  newest: { column: "listedBlock", descending: true },
  oldest: { column: "listedBlock", descending: false },
  "price-asc": { column: "price", descending: false },
  "price-desc": { column: "price", descending: true },
} as const satisfies Partial<
  Record<DatasetSort, { column: "listedBlock" | "price"; descending: boolean }>
>;
type ColumnSort = keyof typeof columnSorts;
const isColumnSort = (sort: DatasetSort): sort is ColumnSort => sort in columnSorts;

/** The rows after `cursor` in the order of a column sort (ties by ascending id). */
function afterCursor(sort: ColumnSort, cursor: Cursor): Prisma.DatasetWhereInput {
  const { column, descending: desc } = columnSorts[sort];
  const part = cursor.key[0];
  if (typeof part !== "string" || !/^\d+$/.test(part)) throw badCursor();
  const digits = desc ? descending(part) : part;
  const value = column === "listedBlock" ? { listedBlock: BigInt(digits) } : { price: digits };
  const beyond =
    column === "listedBlock"
      ? { listedBlock: desc ? { lt: BigInt(digits) } : { gt: BigInt(digits) } }
      : { price: desc ? { lt: digits } : { gt: digits } };
  return { OR: [beyond, { ...value, id: { gt: cursor.id } }] };
}

/** A column sort with column filters only: count, order and page in SQL. */
async function pageInDatabase(db: Db, input: ListInput & { sort: ColumnSort }): Promise<ListPage> {
  const { column, descending: desc } = columnSorts[input.sort];
  const where = columnFilters(input);
  const cursor = input.cursor === undefined ? undefined : decodeCursor(input.cursor, input.sort);
  const after = cursor ? afterCursor(input.sort, cursor) : undefined;
  const [total, remaining] = await Promise.all([
    db.dataset.count({ where }),
    after ? db.dataset.count({ where: { AND: [where, after] } }) : undefined,
  ]);
  const start = remaining !== undefined ? total - remaining : ((input.page ?? 1) - 1) * input.limit;
  const rows = await db.dataset.findMany({
    where: after ? { AND: [where, after] } : where,
    orderBy: [{ [column]: desc ? "desc" : "asc" }, { id: "asc" }],
    ...(after ? {} : { skip: start }),
    take: input.limit,
    select: { id: true, title: true, price: true, listedBlock: true },
  });
  const last = rows.at(-1);
  const keyOf = sortKeys[input.sort];
  return {
    ids: rows.map((row) => row.id),
    total,
    start,
    lastKey: last
      ? keyOf({ ...last, listedBlock: toDbUint(last.listedBlock), persons: null })
      : undefined,
  };
}

/**
 * Any sort and filter: the matching rows' keys are loaded and ordered in memory (the size and
 * schema version belong to the latest version; titles order by JavaScript's lower case).
 */
async function pageInMemory(db: Db, input: ListInput): Promise<ListPage> {
  const schemaHash =
    input.schemaVersion === undefined
      ? undefined
      : /^0x[0-9a-f]{64}$/.test(input.schemaVersion)
        ? input.schemaVersion
        : schemaVersionHash(input.schemaVersion);
  const sizeFiltered = input.minPersons !== undefined || input.maxPersons !== undefined;
  // Some version passing is necessary for the latest one to pass: the database narrows the
  // rows first, and the latest version decides below.
  const somePasses: Prisma.DatasetWhereInput[] = [];
  if (sizeFiltered) {
    somePasses.push({
      versions: { some: { personCount: { gte: input.minPersons ?? 0, lte: input.maxPersons } } },
    });
  }
  if (schemaHash !== undefined) {
    somePasses.push({ versions: { some: { schemaVersion: schemaHash } } });
  }
  const rows = await db.dataset.findMany({
    where: { AND: [columnFilters(input), ...somePasses] },
    select: { id: true, title: true, price: true, listedBlock: true, latestVersion: true },
  });
  const needsVersions = schemaHash !== undefined || sizeFiltered || input.sort === "persons-desc";
  const latest = needsVersions
    ? await latestVersions(db, new Map(rows.map((row) => [row.id, row.latestVersion])))
    : undefined;
  const candidates: Candidate[] = [];
  for (const row of rows) {
    const version = latest?.get(row.id);
    const persons = version?.persons ?? null;
    if (schemaHash !== undefined && version?.schemaVersion !== schemaHash) continue;
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
  return {
    ids: page.map(({ candidate }) => candidate.id),
    total: ordered.length,
    start,
    lastKey: page.at(-1)?.key,
  };
}

// ─── Facets ──────────────────────────────────────────────────────────────────────────

/**
 * Changes whenever the facets can: a dataset row written (the indexer and stored metadata,
 * conditions included, update `updatedAt`), a version published, removed or registered.
 */
async function catalogueFingerprint(db: Db): Promise<string> {
  const [datasets, versions] = await Promise.all([
    db.dataset.aggregate({ _count: { _all: true }, _max: { updatedAt: true } }),
    db.datasetVersion.aggregate({ _count: { _all: true }, _max: { registeredAt: true } }),
  ]);
  return JSON.stringify([
    datasets._count._all,
    datasets._max.updatedAt,
    versions._count._all,
    versions._max.registeredAt,
  ]);
}

type Facets = Awaited<ReturnType<typeof computeFacets>>;
const facetsCache = new WeakMap<Db, { fingerprint: string; facets: Promise<Facets> }>();

async function computeFacets(db: Db) {
  const listed = { listed: true } satisfies Prisma.DatasetWhereInput;

  const [conditionRows, prices, datasets] = await Promise.all([
    db.datasetCondition.groupBy({
      by: ["code", "label"],
      where: { dataset: listed },
      _count: { _all: true },
    }),
    db.dataset.aggregate({ where: listed, _min: { price: true }, _max: { price: true } }),
    db.dataset.findMany({ where: listed, select: { id: true, latestVersion: true } }),
  ]);
  const latest = await latestVersions(
    db,
    new Map(datasets.map((row) => [row.id, row.latestVersion])),
  );

  // A code's label is the one most of its datasets give it.
  const conditions = new Map<
    string,
    { code: string; label: string; datasets: number; votes: number }
  >();
  for (const row of conditionRows) {
    const count = row._count._all;
    const seen = conditions.get(row.code);
    const better = !seen || count > seen.votes || (count === seen.votes && row.label < seen.label);
    conditions.set(row.code, {
      code: row.code,
      label: better ? row.label : (seen?.label ?? row.label),
      datasets: (seen?.datasets ?? 0) + count,
      votes: better ? count : (seen?.votes ?? count),
    });
  }

  let minPersons: number | undefined;
  let maxPersons: number | undefined;
  const bySchema = new Map<string, string[]>();
  for (const [datasetId, version] of latest) {
    const ids = bySchema.get(version.schemaVersion) ?? [];
    ids.push(datasetId);
    bySchema.set(version.schemaVersion, ids);
    if (version.persons === null) continue;
    minPersons = Math.min(minPersons ?? version.persons, version.persons);
    maxPersons = Math.max(maxPersons ?? version.persons, version.persons);
  }
  const schemaVersions = await Promise.all(
    [...bySchema].map(async ([hash, ids]) => ({
      hash,
      label: await schemaVersionLabel(db, hash, ids),
      datasets: ids.length,
    })),
  );

  const price = (column: string | null | undefined) =>
    column ? formatUnits(BigInt(column), TOKEN_DECIMALS) : null;
  const minPrice = price(prices._min.price);
  const maxPrice = price(prices._max.price);
  return {
    /** Listed datasets. */
    total: datasets.length,
    conditions: [...conditions.values()]
      .map(({ code, label, datasets }) => ({ code, label, datasets }))
      .sort((a, b) => a.label.localeCompare(b.label, "en") || (a.code < b.code ? -1 : 1)),
    /** By their keccak256 (as on chain); `label` as the stewards' metadata names it. */
    schemaVersions: schemaVersions.sort(
      (a, b) => b.datasets - a.datasets || (a.hash < b.hash ? -1 : 1),
    ),
    /** Persons in the latest version, over datasets whose files are registered. */
    persons:
      minPersons !== undefined && maxPersons !== undefined
        ? { min: minPersons, max: maxPersons }
        : null,
    /** Datasets whose size is not known yet (no registered files). */
    unsized: datasets.length - [...latest.values()].filter((v) => v.persons !== null).length,
    /** Price of a pass in whole tokens. */
    price: minPrice !== null && maxPrice !== null ? { min: minPrice, max: maxPrice } : null,
  };
}

// ─── The router ──────────────────────────────────────────────────────────────────────

export const datasetRouter = {
  /**
   * Listed datasets matching every filter given. Text, conditions and price filter in SQL;
   * the newest/oldest/price sorts also order and page there unless a size or schema version
   * filter is given. Otherwise (those filters belong to the latest version; the title and
   * size sorts) the matching rows' keys are ordered in memory. Card fields are loaded for
   * one page only.
   */
  list: publicProcedure.input(datasetListInputSchema).query(async ({ ctx, input }) => {
    const versionFiltered =
      input.schemaVersion !== undefined ||
      input.minPersons !== undefined ||
      input.maxPersons !== undefined;
    const { sort } = input;
    const { ids, total, start, lastKey } =
      isColumnSort(sort) && !versionFiltered
        ? await pageInDatabase(ctx.db, { ...input, sort })
        : await pageInMemory(ctx.db, input);

    const [cards, consented] = await Promise.all([
      ctx.db.dataset.findMany({ where: { id: { in: ids } }, select: cardSelect }),
      consentedCounts(ctx.db, ids),
    ]);
    const byId = new Map(cards.map((card) => [card.id, card]));
    const lastId = ids.at(-1);
    return {
      items: ids.flatMap((id) => {
        const card = byId.get(id);
        return card ? [toCard(card, consented.get(id) ?? 0)] : [];
      }),
      total,
      /** Pass as `cursor` for the next page; null on the last page. */
      nextCursor:
        lastId !== undefined && lastKey !== undefined && start + ids.length < total
          ? encodeCursor({ sort, key: lastKey, id: lastId })
          : null,
      /** 1-based page of the first item (numbered pagination). */
      page: Math.floor(start / input.limit) + 1,
      pageCount: Math.max(1, Math.ceil(total / input.limit)),
    };
  }),

  /**
   * What the catalogue's filters offer, over every listed dataset: condition codes and schema
   * versions with how many datasets have each, and the ranges of size and price.
   */
  facets: publicProcedure.query(async ({ ctx }) => {
    // Every page render asks; the answer changes only with the catalogue's fingerprint.
    const fingerprint = await catalogueFingerprint(ctx.db);
    const cached = facetsCache.get(ctx.db);
    if (cached?.fingerprint === fingerprint) return cached.facets;
    const facets = computeFacets(ctx.db);
    facetsCache.set(ctx.db, { fingerprint, facets });
    facets.catch(() => {
      if (facetsCache.get(ctx.db)?.facets === facets) facetsCache.delete(ctx.db);
    });
    return facets;
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
                  /** Declared bounds per code (VOCABULARY:CODE), e.g. of measurement values. */
                  ...(column.codeBounds !== undefined ? { codeBounds: column.codeBounds } : {}),
                })),
              })),
            }
          : null,
      /** The governed standards every query on this dataset runs with (StandardsRegistry). */
      privacy: {
        asOfBlock: standards.block,
        minCellSize: standards.minCellSize,
        roundingBase: standards.roundingBase,
        contributionCap: standards.contributionCap,
        epsilonPerQuery: standards.epsilonPerQuery,
        epsilonBudget: standards.epsilonBudget,
        /** Feasibility counts: coarser, with a budget of their own. */
        feasibility: {
          minCellSize: feasibility.minCellSize,
          roundingBase: feasibility.roundingBase,
          epsilonPerQuery: feasibility.epsilonPerQuery,
          /** One budget per dataset, shared by every researcher. */
          epsilonBudget: feasibilityBudgetOf(ctx.config),
          budgetShared: true,
        },
      },
    };
  }),

  /**
   * A page of the concepts the latest registered version ships (its concept table: id, name,
   * vocabulary, code, domain), searched by name words, code or id: public like the data card,
   * and like it reference data, never read from person tables. The vocabulary ships whole
   * (the same whatever the patients), so a search says nothing about which concepts occur;
   * no count is returned, only whether another page follows. `shipped` is false until files
   * with a vocabulary (omop-lite/2) are registered.
   */
  concepts: publicProcedure.input(conceptSearchInputSchema).query(async ({ ctx, input }) => {
    const exists = await ctx.db.dataset.findUnique({
      where: { id: input.datasetId },
      select: { id: true },
    });
    if (!exists) throw notFound();
    const registered = await latestRegisteredVersion(ctx.db, input.datasetId);
    const page = registered
      ? await searchConcepts(registered.location, registered.manifest, {
          text: input.search,
          ...(input.vocabulary !== undefined ? { vocabulary: input.vocabulary } : {}),
          ...(input.domain !== undefined ? { domain: input.domain } : {}),
          offset: input.offset,
          limit: input.limit,
        })
      : undefined;
    return {
      shipped: page !== undefined,
      concepts: page?.concepts ?? [],
      /** Pass as `offset` for the next page; null on the last one. */
      nextOffset:
        page?.more && input.offset + input.limit <= 10_000 ? input.offset + input.limit : null,
    };
  }),

  /**
   * Noisy, coarse counts of a cohort definition over the consented persons, for any
   * signed-in researcher (no pass needed). Each new count spends the dataset's feasibility
   * budget, shared by all researchers; a count answered before is repeated for free (see
   * services/feasibility.ts). Once the budget is spent the call is refused with rule
   * "feasibility-budget". Rate-limited per researcher and per client IP.
   */
  feasibility: protectedProcedure
    .use(rateLimited("feasibility"))
    .input(feasibilityInputSchema)
    .mutation(({ ctx, input }) =>
      runFeasibility(ctx, ctx.session.address, input.datasetId, input.cohort),
    ),
} satisfies TRPCRouterRecord;
