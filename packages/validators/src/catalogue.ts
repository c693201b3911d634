import { z } from "zod";
import { type CatalogueView, catalogueParamNames } from "./catalogue-url";
import { cohortDefinitionSchema } from "./cohort";
import { hex32Schema } from "./dataset";
import { KNOWN_VOCABULARIES } from "./omop-lite";

/**
 * Inputs of the API's `dataset` (catalogue) and `access` routers, and the shape of a
 * dataset's off-chain metadata (whose canonical hash is on chain: see
 * @opencohort/chain `datasetMetadataHash`).
 */

/** A dataset's opaque on-chain id (bytes32, lower-case hex like every stored id). */
export const datasetIdSchema = hex32Schema;
export const datasetIdInputSchema = z.object({ datasetId: datasetIdSchema });

/**
 * The one spelling of a code, everywhere (catalogue metadata and filters, cohort builder,
 * compute, the data): `VOCABULARY:CODE`, the OMOP vocabulary_id and the concept_code exactly
 * as the dataset's concept table (and an event's `*_vocabulary` and `*_code` columns) spell
 * them: ICD10:E11, ICD10CM:K92.2, SNOMED:74474003, RxNorm:1118084, ATC:M01AE01. A concept is
 * otherwise named by its OMOP concept id (a number).
 */
export const conditionCodeSchema = z
  .string()
  .max(64, "is too long")
  .regex(
    /^[A-Za-z0-9][A-Za-z0-9 ._-]*:[A-Za-z0-9][A-Za-z0-9._-]*$/,
    "must be VOCABULARY:CODE, e.g. ICD10:E11",
  )
  .refine(
    (code) => (KNOWN_VOCABULARIES as readonly string[]).includes(parseConceptCode(code).vocabulary),
    `must name an OMOP vocabulary as OMOP spells it (${KNOWN_VOCABULARIES.join(", ")})`,
  );

/** `VOCABULARY:CODE` split at its first colon. */
export function parseConceptCode(code: string): { vocabulary: string; code: string } {
  const colon = code.indexOf(":");
  return colon < 0
    ? { vocabulary: "", code }
    : { vocabulary: code.slice(0, colon), code: code.slice(colon + 1) };
}

/**
 * A condition the dataset covers: a concept of its shipped vocabulary. The catalogue shows
 * the concept's name from that vocabulary, never `label`: the label is the steward's own note,
 * kept because it is part of the metadata whose hash is on chain.
 */
export const datasetConditionSchema = z.object({
  code: conditionCodeSchema,
  label: z.string().max(200, "is too long"),
});

export const schemaVersionLabelSchema = z
  .string()
  .min(1, "is required")
  .max(64, "is too long")
  .regex(/^[A-Za-z0-9._/-]+$/, "must be a schema version label such as omop-lite/1");

/**
 * The fields of a dataset's off-chain metadata document. Strings are taken as they are (not
 * trimmed): the on-chain hash is over the exact text.
 */
export const datasetMetadataFields = z.object({
  title: z
    .string()
    .max(200, "is too long")
    .refine((title) => title.trim().length > 0, "is required"),
  description: z.string().max(5_000, "is too long"),
  conditions: z.array(datasetConditionSchema).max(100, "at most 100 conditions"),
  schemaVersion: schemaVersionLabelSchema.default("omop-lite/1"),
});

/** Each condition code at most once. */
export function checkDistinctConditions(
  metadata: { conditions: readonly { code: string }[] },
  ctx: z.RefinementCtx,
): void {
  const seen = new Set<string>();
  metadata.conditions.forEach((condition, index) => {
    if (seen.has(condition.code)) {
      ctx.addIssue({
        code: "custom",
        path: ["conditions", index, "code"],
        message: "is listed twice",
      });
    }
    seen.add(condition.code);
  });
}

/** The off-chain metadata document of a dataset (hashed on chain in canonical form). */
export const datasetMetadataSchema = datasetMetadataFields.superRefine(checkDistinctConditions);
export type DatasetMetadataInput = z.input<typeof datasetMetadataSchema>;

/**
 * The text the catalogue's search matches: title, description and each condition's code and
 * label, lower-cased (so `contains` is case-insensitive on SQLite and PostgreSQL alike).
 */
export function datasetSearchText(metadata: {
  title: string;
  description: string;
  conditions: readonly { code: string; label: string }[];
}): string {
  return [
    metadata.title,
    metadata.description,
    ...metadata.conditions.map((condition) => `${condition.code} ${condition.label}`),
  ]
    .join(" ")
    .toLowerCase();
}

/** A token amount in whole-token units as a decimal string ("250", "0.5"); 18 decimals at most. */
export const tokenAmountSchema = z
  .string()
  .regex(/^\d{1,30}(\.\d{1,18})?$/, "must be a decimal token amount such as 250 or 0.5");

export const datasetSortSchema = z.enum([
  /** Most recently listed first (default). */
  "newest",
  "oldest",
  "price-asc",
  "price-desc",
  /** Largest latest version first. */
  "persons-desc",
  "title",
]);
export type DatasetSort = z.infer<typeof datasetSortSchema>;

export const datasetListInputSchema = z
  .object({
    /** Words matched (all of them, case-insensitive) against title, description and conditions. */
    search: z.string().trim().max(200, "is too long").optional(),
    /** Datasets covering at least one of these condition codes. */
    conditions: z.array(conditionCodeSchema).max(50, "at most 50 codes").optional(),
    /** Persons in the latest version. */
    minPersons: z.number().int().nonnegative().optional(),
    maxPersons: z.number().int().nonnegative().optional(),
    /** Price of a pass in whole tokens. */
    minPrice: tokenAmountSchema.optional(),
    maxPrice: tokenAmountSchema.optional(),
    /** A schema version label ("omop-lite/1") or its keccak256 (bytes32). */
    schemaVersion: z.union([hex32Schema, schemaVersionLabelSchema]).optional(),
    sort: datasetSortSchema.default("newest"),
    limit: z.number().int().min(1).max(100).default(20),
    /** `nextCursor` of the previous page; takes precedence over `page`. */
    cursor: z
      .string()
      .regex(/^[A-Za-z0-9_-]{1,512}$/, "must be a cursor returned by the previous page")
      .optional(),
    /** 1-based page number, for numbered pagination. */
    page: z.number().int().min(1).max(100_000).optional(),
  })
  .superRefine((input, ctx) => {
    if (
      input.minPersons !== undefined &&
      input.maxPersons !== undefined &&
      input.minPersons > input.maxPersons
    ) {
      ctx.addIssue({ code: "custom", path: ["maxPersons"], message: "is below minPersons" });
    }
    if (
      input.minPrice !== undefined &&
      input.maxPrice !== undefined &&
      Number(input.minPrice) > Number(input.maxPrice)
    ) {
      ctx.addIssue({ code: "custom", path: ["maxPrice"], message: "is below minPrice" });
    }
  })
  .default({ sort: "newest", limit: 20 });
export type DatasetListInput = z.input<typeof datasetListInputSchema>;
/** A list request after parsing (defaults applied). */
export type DatasetListQuery = z.output<typeof datasetListInputSchema>;

/**
 * A page of a dataset's shipped vocabulary (its concept table): what the workspace's schema
 * panel searches to write descendant_of(...) queries and cohorts. Bounded: a page holds at
 * most 50 concepts, and paging stops at 10,000.
 */
export const conceptSearchInputSchema = z.object({
  datasetId: datasetIdSchema,
  /** Words of the concept name, a code, VOCABULARY:CODE or a concept id; empty: every concept. */
  // Coerced: a concept id in a URL's query (?search=192671) arrives as a number.
  search: z.coerce.string().trim().max(100, "is too long").default(""),
  vocabulary: z.enum(KNOWN_VOCABULARIES).optional(),
  /** OMOP domain_id, e.g. Condition, Drug, Measurement. */
  domain: z
    .string()
    .regex(/^[A-Za-z][A-Za-z /]{0,39}$/, "must be an OMOP domain such as Condition")
    .optional(),
  offset: z.number().int().min(0).max(10_000, "page further by narrowing the search").default(0),
  limit: z.number().int().min(1).max(50).default(20),
});
export type ConceptSearchInput = z.input<typeof conceptSearchInputSchema>;

/** Free, noisy feasibility counts of a cohort definition on a dataset. */
export const feasibilityInputSchema = z.object({
  datasetId: datasetIdSchema,
  cohort: cohortDefinitionSchema,
});
export type FeasibilityInput = z.input<typeof feasibilityInputSchema>;

// ─── The catalogue page's URL ───────────────────────────────────────────────────────────

/**
 * The catalogue view and its URL (no zod there: the browser bundle loads it); the parser with
 * its schemas is below.
 */
export {
  type CatalogueView,
  catalogueParamNames,
  catalogueSearchParams,
} from "./catalogue-url";

const wholeNumberParam = z
  .string()
  .regex(/^\d{1,9}$/, "must be a whole number such as 1000")
  .transform(Number);

const catalogueParamSchemas = {
  search: z.string().trim().max(200, "is too long"),
  minPersons: wholeNumberParam,
  maxPersons: wholeNumberParam,
  minPrice: tokenAmountSchema,
  maxPrice: tokenAmountSchema,
  schemaVersion: z.union([hex32Schema, schemaVersionLabelSchema], {
    error: "must be a schema version label such as omop-lite/1",
  }),
  sort: z.enum(datasetSortSchema.options, {
    error: `must be one of ${datasetSortSchema.options.join(", ")}`,
  }),
  page: z
    .string()
    .regex(/^\d{1,6}$/, "must be a page number such as 2")
    .transform(Number)
    .pipe(z.number().min(1, "must be a page number such as 2").max(100_000, "is too large")),
};

/**
 * Reads a catalogue view from URL search parameters. A parameter that does not parse is left
 * out and named in `problems` (e.g. `minPersons: must be a whole number such as 1000`), so a
 * mistyped link still shows the catalogue, with a message saying what was ignored.
 */
export function parseCatalogueParams(params: Record<string, string | string[] | undefined>): {
  view: CatalogueView;
  problems: string[];
} {
  const problems: string[] = [];
  const all = (name: string) => {
    const value = params[name];
    return value === undefined ? [] : Array.isArray(value) ? value : [value];
  };
  const read = <K extends keyof typeof catalogueParamSchemas>(key: K) => {
    const name = catalogueParamNames[key];
    const raw = all(name)[0];
    if (raw === undefined || raw.trim() === "") return undefined;
    const parsed = catalogueParamSchemas[key].safeParse(raw);
    if (parsed.success) return parsed.data as z.output<(typeof catalogueParamSchemas)[K]>;
    problems.push(`${name}: ${parsed.error.issues[0]?.message ?? "is not valid"}`);
    return undefined;
  };

  const conditions: string[] = [];
  for (const raw of all(catalogueParamNames.conditions)) {
    for (const code of raw.split(",").filter(Boolean)) {
      const parsed = conditionCodeSchema.safeParse(code);
      if (!parsed.success) {
        problems.push(`condition: "${code}" ${parsed.error.issues[0]?.message ?? "is not valid"}`);
      } else if (conditions.length >= 50) {
        problems.push("condition: at most 50 codes");
        break;
      } else if (!conditions.includes(parsed.data)) {
        conditions.push(parsed.data);
      }
    }
  }

  const search = read("search");
  let minPersons = read("minPersons");
  let maxPersons = read("maxPersons");
  let minPrice = read("minPrice");
  let maxPrice = read("maxPrice");
  if (minPersons !== undefined && maxPersons !== undefined && minPersons > maxPersons) {
    problems.push("maxPersons: is below minPersons");
    minPersons = undefined;
    maxPersons = undefined;
  }
  if (minPrice !== undefined && maxPrice !== undefined && Number(minPrice) > Number(maxPrice)) {
    problems.push("maxPrice: is below minPrice");
    minPrice = undefined;
    maxPrice = undefined;
  }
  const schemaVersion = read("schemaVersion");
  const view: CatalogueView = {
    ...(search ? { search } : {}),
    conditions,
    ...(minPersons !== undefined ? { minPersons } : {}),
    ...(maxPersons !== undefined ? { maxPersons } : {}),
    ...(minPrice !== undefined ? { minPrice } : {}),
    ...(maxPrice !== undefined ? { maxPrice } : {}),
    ...(schemaVersion !== undefined ? { schemaVersion } : {}),
    sort: read("sort") ?? "newest",
    page: read("page") ?? 1,
  };
  return { view, problems };
}

/** The `dataset.list` request of a view, `pageSize` datasets a page. */
export function catalogueListInput(view: CatalogueView, pageSize: number): DatasetListInput {
  const { conditions, ...filters } = view;
  return { ...filters, ...(conditions.length > 0 ? { conditions } : {}), limit: pageSize };
}
