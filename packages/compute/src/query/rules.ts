/**
 * Stable ids of the validation rules. The API and the web show them; tests assert on them.
 * Messages describe the rule, never the query's data values or literals.
 */
export const ruleMessages = {
  "query-too-long": "The query is too long.",
  syntax: "The query could not be parsed.",
  "single-select": "Exactly one SELECT statement is allowed (no other statements, no UNION).",
  "no-subqueries":
    "Subqueries and CTEs are not allowed, except `person_id [NOT] IN (SELECT person_id FROM <table> WHERE ...)`.",
  "allowed-tables":
    "Only the dataset's tables may be read (no table functions, files, schemas or system tables).",
  "duplicate-table": "Each table may appear at most once.",
  "join-on-person-id": "Tables may only be joined with INNER JOIN on person_id equality.",
  "unknown-column": "The query refers to a column that does not exist.",
  "aggregate-outputs":
    "Every output must be an aggregate (count(*), count(DISTINCT person_id), sum, avg) or a GROUP BY dimension.",
  "allowed-aggregates":
    "Only count(*), count(DISTINCT person_id), sum(column) and avg(column) are allowed, without DISTINCT or FILTER (except count(DISTINCT person_id)).",
  "numeric-bounds":
    "sum and avg need a numeric column with declared bounds, or an explicit least(greatest(column, low), high) clamp.",
  "person-id-usage":
    "person_id may only be used in join conditions, count(DISTINCT person_id) and person_id [NOT] IN (SELECT person_id ...).",
  "group-by":
    "GROUP BY must list dimensions (columns or allowed binning functions) that are also selected; no ROLLUP, CUBE, GROUPING SETS or GROUP BY ALL.",
  "allowed-functions":
    "Only these functions are allowed for dimensions: floor(x / n) * n, age_band(year_of_birth, n), year, month, quarter, date_trunc, left(text, n).",
  "where-predicates":
    "WHERE may only compare a bare column with literals (=, <>, <, <=, >, >=, IN, NOT IN, BETWEEN, LIKE 'prefix%') joined with AND; no arithmetic or functions on columns.",
  "no-or": "OR is only allowed between conditions on the same column (use IN).",
  "literal-types": "A literal does not match the type of the column it is compared with.",
  "no-modifiers": "LIMIT, OFFSET, DISTINCT, QUALIFY, SAMPLE and similar modifiers are not allowed.",
  "no-having": "HAVING is not allowed; small groups are suppressed automatically.",
  "group-limit":
    "The query could produce more groups than allowed, judged from its dimensions' declared domains (not from the data); use coarser dimensions or restrict a dimension's column in WHERE.",
  "bin-width":
    "floor(x / n) * n needs a finite width; a width under 1 needs a column with declared bounds and must keep every bin finite.",
} as const;

export type RuleId = keyof typeof ruleMessages;

/** A refused query: which rule, and an optional detail that contains no data value. */
export class QueryRejection extends Error {
  override name = "QueryRejection";
  /** Where the rule applies: DuckDB's parse error position (characters)... */
  charOffset?: number;
  /** ...or the query_location (UTF-8 bytes) of the parse-tree node that broke the rule. */
  byteOffset?: number;
  constructor(
    readonly rule: RuleId,
    readonly detail?: string,
  ) {
    super(detail ? `${ruleMessages[rule]} (${detail})` : ruleMessages[rule]);
  }
}

export function reject(rule: RuleId, detail?: string): never {
  throw new QueryRejection(rule, detail);
}

/** A place in the researcher's own query: 1-based line and column, 0-based character offset. */
export interface QueryPosition {
  line: number;
  column: number;
  offset: number;
}

/** The line and column of a rejection in `sql`, if the parser or the rule knew where. */
export function rejectionPosition(error: QueryRejection, sql: string): QueryPosition | undefined {
  let offset = error.charOffset;
  if (offset === undefined && error.byteOffset !== undefined) {
    const bytes = Buffer.from(sql, "utf8");
    if (error.byteOffset > bytes.length) return undefined;
    offset = bytes.subarray(0, error.byteOffset).toString("utf8").length;
  }
  if (offset === undefined || offset > sql.length) return undefined;
  const before = sql.slice(0, offset).split("\n");
  return {
    line: before.length,
    column: (before.at(-1)?.length ?? 0) + 1,
    offset,
  };
}

/** " (at line 2, column 8)": appended to a rejection's message; the position holds no data. */
export const positionText = (p: QueryPosition) => ` (at line ${p.line}, column ${p.column})`;
