import type { OmopTableName } from "@opencohort/validators";
import {
  type CatalogueColumn,
  columnDomain,
  type DatasetCatalogue,
  PERSON_ID,
} from "../catalogue/dataset";
import { MAX_EXPANDED_CONCEPTS } from "../catalogue/vocabulary";
import { canonicalDimensionKey, membershipKey } from "./canonical";
import {
  type ColumnConstraint,
  type ComparisonOp,
  complement,
  intersect,
  isNotNullOnly,
  isUnsatisfiable,
  numericComparison,
  numericHull,
  numericPoints,
  restrictToDomain,
  type StringPattern,
  stringMatch,
  union,
} from "./constraints";
import {
  type ColumnRef,
  columnKey,
  type DatePart,
  type Dimension,
  dimensionKey,
  type Filter,
  type Measure,
  type Membership,
  measureKey,
  type OutputRef,
  type QueryPlan,
} from "./plan";
import { QueryRejection, reject } from "./rules";

/**
 * Turns DuckDB's own parse tree (json_serialize_sql) into a QueryPlan, on an allow-list: any
 * node kind not handled here is refused. Nothing the researcher wrote is executed; the plan
 * is compiled to the engine's own SQL later.
 */

// biome-ignore lint/suspicious/noExplicitAny: DuckDB's JSON parse tree is untyped and checked field by field here.
type Node = Record<string, any>;

export const MAX_SQL_LENGTH = 20_000;

/** WHERE descendant_of(condition_concept_id, 192671): the concept and its descendants. */
export const CONCEPT_SET_FUNCTION = "descendant_of";

interface TableInScope {
  table: OmopTableName;
  /** The name the query uses for it: its alias, or its own name. */
  reference: string;
  columns: CatalogueColumn[];
}

/** Identifiers are the researcher's own words, not data; still, keep them short and plain. */
function ident(value: unknown): string {
  return String(value)
    .replace(/[^A-Za-z0-9_.]/g, "?")
    .slice(0, 64);
}

export function planFromParseTree(parseTree: Node, catalogue: DatasetCatalogue): QueryPlan {
  if (parseTree.error) {
    const message = String(parseTree.error_message ?? "");
    if (/only select statements/i.test(message)) reject("single-select");
    // The parser's own position (a character offset); its message is never passed on.
    const position = Number(parseTree.position);
    const rejection = new QueryRejection("syntax");
    if (Number.isInteger(position) && position >= 0) rejection.charOffset = position;
    throw rejection;
  }
  const statements: Node[] = Array.isArray(parseTree.statements) ? parseTree.statements : [];
  if (statements.length !== 1) reject("single-select", `${statements.length} statements`);
  const node: Node = statements[0]?.node ?? {};
  if (node.type === "SET_OPERATION_NODE") reject("single-select", "set operation");
  if (node.type === "RECURSIVE_CTE_NODE" || node.type === "CTE_NODE") reject("no-subqueries");
  if (node.type !== "SELECT_NODE") reject("single-select");
  const builder = new PlanBuilder(catalogue);
  try {
    return builder.build(node);
  } catch (error) {
    // Where in the query the rule applies (a byte offset of DuckDB's parse tree), if known.
    if (error instanceof QueryRejection && error.byteOffset === undefined)
      error.byteOffset = builder.at;
    throw error;
  }
}

class PlanBuilder {
  private scope: TableInScope[] = [];
  /** Byte offset of the SELECT item, GROUP BY expression or WHERE predicate being checked. */
  at: number | undefined;

  /** The start of `node`: the smallest location in it (an operator's own is its symbol). */
  private locate(node: Node | undefined) {
    let start: number | undefined;
    const visit = (value: unknown, depth: number) => {
      if (depth > 8 || value === null || typeof value !== "object") return;
      if (Array.isArray(value)) {
        for (const item of value) visit(item, depth + 1);
        return;
      }
      const location = (value as Node).query_location;
      if (
        Number.isSafeInteger(location) &&
        location >= 0 &&
        (start === undefined || location < start)
      )
        start = location;
      for (const child of Object.values(value)) visit(child, depth + 1);
    };
    visit(node, 0);
    this.at = start;
  }
  private readonly catalogueTables: Map<string, CatalogueColumn[]>;

  constructor(private readonly catalogue: DatasetCatalogue) {
    this.catalogueTables = new Map(catalogue.tables.map((t) => [t.name, t.columns]));
  }

  build(node: Node): QueryPlan {
    this.checkSelectShape(node, "outer");
    this.scope = this.fromClause(node.from_table);

    const selectList: Node[] = node.select_list ?? [];
    if (selectList.length === 0) reject("aggregate-outputs");

    // GROUP BY first: select items that are not aggregates must match one of these.
    const groupExpressions: Node[] = node.group_expressions ?? [];
    const groupSets: unknown[] = node.group_sets ?? [];
    if (node.aggregate_handling !== "STANDARD_HANDLING") reject("group-by", "GROUP BY ALL");
    if (groupExpressions.length > 0) {
      const onlySet = groupSets[0];
      const isPlain =
        groupSets.length === 1 &&
        Array.isArray(onlySet) &&
        onlySet.length === groupExpressions.length &&
        onlySet.every((v, i) => v === i);
      if (!isPlain) reject("group-by", "grouping sets");
    } else if (groupSets.length > 1) {
      reject("group-by", "grouping sets");
    }
    const aliases = new Map<string, Node>();
    for (const item of selectList) {
      if (typeof item.alias === "string" && item.alias !== "")
        aliases.set(item.alias.toLowerCase(), item);
    }
    const groupDimensions = new Map<string, Dimension>();
    for (const expression of groupExpressions) {
      this.locate(expression);
      const resolved = this.resolveGroupReference(expression, selectList, aliases);
      const dimension = this.dimension(resolved);
      groupDimensions.set(dimensionKey(dimension), dimension);
    }

    const dimensions: Dimension[] = [];
    const measures: Measure[] = [];
    const outputRefs: Array<{ name: string; key: string; isMeasure: boolean }> = [];
    const names = new OutputNames(selectList);
    for (const item of selectList) {
      this.locate(item);
      const alias = typeof item.alias === "string" && item.alias !== "" ? item.alias : undefined;
      const measure = this.measure(item);
      if (measure) {
        const key = measureKey(measure);
        if (!measures.some((m) => measureKey(m) === key)) measures.push(measure);
        outputRefs.push({
          name: names.take(alias ?? measureName(measure), alias !== undefined),
          key,
          isMeasure: true,
        });
        continue;
      }
      if (item.class === "STAR" || item.class === "COLUMNS")
        reject("aggregate-outputs", "SELECT *");
      if (containsAggregate(item))
        reject("aggregate-outputs", "arithmetic or functions over aggregates");
      if (item.class === "WINDOW") reject("aggregate-outputs", "window function");
      if (item.class === "CONSTANT") reject("aggregate-outputs", "constant output");
      const dimension = this.dimensionOrReject(item, "aggregate-outputs");
      const key = dimensionKey(dimension);
      if (!groupDimensions.has(key))
        reject("aggregate-outputs", "a selected column is not in GROUP BY");
      if (!dimensions.some((d) => dimensionKey(d) === key)) dimensions.push(dimension);
      outputRefs.push({
        name: names.take(alias ?? dimensionName(dimension), alias !== undefined),
        key,
        isMeasure: false,
      });
    }
    this.at = undefined;
    if (measures.length === 0) reject("aggregate-outputs", "no aggregate selected");
    for (const key of groupDimensions.keys()) {
      if (!dimensions.some((d) => dimensionKey(d) === key)) {
        reject("group-by", "every GROUP BY dimension must be selected");
      }
    }

    const written = this.whereClause(node.where_clause, this.scope);
    this.at = undefined;
    const where = this.canonicalWhere(written);
    const filters = where.matchesNothing ? [] : where.filters;
    const memberships = where.matchesNothing ? [] : where.memberships;
    for (const [i, d] of dimensions.entries()) dimensions[i] = this.withDomain(d, filters);

    // Canonical order first (equivalent dimensions sort alike), the written form breaks ties.
    dimensions.sort(
      (a, b) =>
        compare(canonicalDimensionKey(a), canonicalDimensionKey(b)) ||
        compare(dimensionKey(a), dimensionKey(b)),
    );
    measures.sort((a, b) => compare(measureKey(a), measureKey(b)));
    const dimensionIndex = new Map(dimensions.map((d, i) => [dimensionKey(d), i]));
    const measureIndex = new Map(measures.map((m, i) => [measureKey(m), i]));
    const outputs = outputRefs.map(({ name, key, isMeasure }) => {
      const ref: OutputRef = isMeasure
        ? { measure: measureIndex.get(key) ?? 0 }
        : { dimension: dimensionIndex.get(key) ?? 0 };
      return { name, ref };
    });
    return {
      tables: this.scope.map((t) => t.table).sort(),
      filters,
      memberships,
      dimensions,
      measures,
      ...(where.matchesNothing ? { matchesNothing: true } : {}),
      outputs,
    };
  }

  // ------------------------------------------------------------------ declared domains

  private spec(ref: ColumnRef): CatalogueColumn | undefined {
    const table = this.catalogue.tables.find((t) => t.name === ref.table);
    return table?.columns.find((c) => c.name === ref.column);
  }

  /**
   * Filters in their canonical form within the declared domains: a filter that keeps the
   * whole domain of a column declared non-nullable is TRUE and drops out; an impossible one
   * makes the WHERE FALSE ("nothing matches", one form whatever was written).
   */
  private canonicalFilters(filters: Filter[]): { filters: Filter[]; impossible: boolean } {
    const kept: Filter[] = [];
    for (const f of filters) {
      const spec = this.spec(f.column);
      const domain = spec ? columnDomain(spec) : { nullable: true };
      const constraint = restrictToDomain(f.constraint, domain);
      if (isUnsatisfiable(constraint)) return { filters: [], impossible: true };
      if (isNotNullOnly(constraint) && !domain.nullable) continue;
      kept.push({ column: f.column, constraint });
    }
    return { filters: kept, impossible: false };
  }

  /**
   * Memberships with canonical inner filters: NOT IN an empty set excludes nobody and is
   * dropped; IN an empty set makes the WHERE FALSE. This is what makes a cohort exclusion of
   * a code that cannot occur the same query as the cohort without it.
   */
  private canonicalWhere(where: { filters: Filter[]; memberships: Membership[] }): {
    filters: Filter[];
    memberships: Membership[];
    matchesNothing: boolean;
  } {
    const outer = this.canonicalFilters(where.filters);
    const none = { filters: [], memberships: [], matchesNothing: true };
    if (outer.impossible) return none;
    const unique = new Map<string, Membership>();
    for (const m of where.memberships) {
      const inner = this.canonicalFilters(m.filters);
      if (inner.impossible) {
        if (m.negated) continue;
        return none;
      }
      const membership = { negated: m.negated, table: m.table, filters: inner.filters };
      unique.set(membershipKey(membership), membership);
    }
    const memberships = [...unique.values()].sort((a, b) =>
      compare(membershipKey(a), membershipKey(b)),
    );
    return { filters: outer.filters, memberships, matchesNothing: false };
  }

  /**
   * Attaches what the canonical form and the compiler need to know of the column's declared
   * domain: the effective numeric range (declared bounds narrowed by this query's filter on
   * the column; groups use the value clamped into it), the reference year of age bands, and
   * the longest declared value of a text column.
   */
  private withDomain(d: Dimension, filters: Filter[]): Dimension {
    const spec = this.spec(d.column);
    if (!spec) return d;
    if (d.kind === "prefix") {
      if (!spec.values) return d;
      const longest = Math.max(...spec.values.map((v) => [...v].length));
      return { ...d, longest };
    }
    const withYear: Dimension =
      d.kind === "age_band" ? { ...d, referenceYear: this.catalogue.referenceYear } : d;
    if (d.kind !== "column" && d.kind !== "bin" && d.kind !== "age_band") return withYear;
    if (d.column.type === "DATE" || d.column.type === "VARCHAR" || !spec.bounds) return withYear;
    const filter = filters.find((f) => columnKey(f.column) === columnKey(d.column))?.constraint;
    let domain = { lo: spec.bounds.min, hi: spec.bounds.max };
    if (filter?.kind === "numeric") {
      domain = numericHull(filter, spec.bounds.min, spec.bounds.max) ?? domain;
    }
    return { ...withYear, domain } as Dimension;
  }

  /** Things a SELECT may not carry, whether outer or a membership subquery. */
  private checkSelectShape(node: Node, where: "outer" | "membership") {
    if ((node.cte_map?.map ?? []).length > 0) reject("no-subqueries", "WITH");
    for (const modifier of node.modifiers ?? []) {
      // ORDER BY on the outer query is harmless and ignored: results come sorted by dimension.
      if (modifier.type === "ORDER_MODIFIER" && where === "outer") continue;
      reject("no-modifiers", String(modifier.type ?? "").replace("_MODIFIER", ""));
    }
    if (node.having) reject("no-having");
    if (node.qualify) reject("no-modifiers", "QUALIFY");
    if (node.sample) reject("no-modifiers", "SAMPLE");
  }

  // ------------------------------------------------------------------ FROM

  private fromClause(from: Node | undefined): TableInScope[] {
    if (!from || from.type === "EMPTY") reject("allowed-tables", "no FROM");
    const tables: TableInScope[] = [];
    const visit = (ref: Node) => {
      switch (ref.type) {
        case "BASE_TABLE": {
          tables.push(this.baseTable(ref));
          return;
        }
        case "JOIN": {
          visit(ref.left);
          const before = tables.length;
          visit(ref.right);
          const right = tables.slice(before);
          if (right.length !== 1) reject("join-on-person-id", "join a table, not a nested join");
          this.checkJoin(ref, tables.slice(0, before), right[0] as TableInScope);
          return;
        }
        case "SUBQUERY":
          reject("no-subqueries", "subquery in FROM");
          break;
        case "TABLE_FUNCTION":
          reject("allowed-tables", `table function ${ident(ref.function?.function_name)}`);
          break;
        default:
          reject("allowed-tables", ident(ref.type));
      }
    };
    visit(from as Node);
    const seen = new Set<string>();
    for (const t of tables) {
      if (seen.has(t.table)) reject("duplicate-table", t.table);
      seen.add(t.table);
    }
    const references = new Set<string>();
    for (const t of tables) {
      if (references.has(t.reference)) reject("duplicate-table", t.reference);
      references.add(t.reference);
    }
    return tables;
  }

  private baseTable(ref: Node): TableInScope {
    if ((ref.schema_name ?? "") !== "" || (ref.catalog_name ?? "") !== "") {
      reject("allowed-tables", "qualified table name");
    }
    if (ref.sample || ref.at_clause || (ref.column_name_alias ?? []).length > 0) {
      reject("allowed-tables", "table modifiers");
    }
    const name = String(ref.table_name ?? "").toLowerCase();
    const columns = this.catalogueTables.get(name);
    if (!columns) reject("allowed-tables", ident(ref.table_name));
    const alias =
      typeof ref.alias === "string" && ref.alias !== "" ? ref.alias.toLowerCase() : name;
    return { table: name as OmopTableName, reference: alias, columns };
  }

  private checkJoin(join: Node, left: TableInScope[], right: TableInScope) {
    if (join.join_type !== "INNER" || join.ref_type !== "REGULAR") {
      reject("join-on-person-id", `${ident(join.ref_type)} ${ident(join.join_type)} join`);
    }
    const using: string[] = join.using_columns ?? [];
    if (using.length > 0) {
      if (using.length !== 1 || String(using[0]).toLowerCase() !== PERSON_ID || join.condition) {
        reject("join-on-person-id");
      }
      return;
    }
    const condition: Node | undefined = join.condition;
    if (condition?.class !== "COMPARISON" || condition.type !== "COMPARE_EQUAL") {
      reject("join-on-person-id");
    }
    const scope = [...left, right];
    const a = this.personIdSide(condition.left, scope);
    const b = this.personIdSide(condition.right, scope);
    const joinsRight = (a === right.reference) !== (b === right.reference);
    if (!joinsRight) reject("join-on-person-id", "the condition must link the joined table");
  }

  /** A join side must be a bare person_id of a table in scope; returns that table's reference. */
  private personIdSide(node: Node | undefined, scope: TableInScope[]): string {
    if (node?.class !== "COLUMN_REF") reject("join-on-person-id", "expression in join");
    const { table, column } = this.resolveColumnIn(node, scope);
    if (column.column !== PERSON_ID) reject("join-on-person-id");
    return table.reference;
  }

  // ------------------------------------------------------------------ columns

  private resolveColumnIn(
    node: Node,
    scope: TableInScope[],
  ): { table: TableInScope; column: ColumnRef } {
    const names: string[] = (node.column_names ?? []).map((n: unknown) => String(n).toLowerCase());
    if (names.length === 0 || names.length > 2) reject("unknown-column");
    const columnName = names[names.length - 1] as string;
    let candidates = scope;
    if (names.length === 2) {
      candidates = scope.filter((t) => t.reference === names[0]);
      if (candidates.length === 0) reject("unknown-column", ident(names.join(".")));
    }
    const matches = candidates.filter((t) => t.columns.some((c) => c.name === columnName));
    if (matches.length === 0) reject("unknown-column", ident(names.join(".")));
    // person_id is equal across joined tables, so any of them will do; others must be unique.
    if (matches.length > 1 && columnName !== PERSON_ID)
      reject("unknown-column", `ambiguous ${ident(columnName)}`);
    const table = matches[0] as TableInScope;
    const spec = table.columns.find((c) => c.name === columnName) as CatalogueColumn;
    return { table, column: { table: table.table, column: spec.name, type: spec.type } };
  }

  private column(node: Node): ColumnRef {
    return this.resolveColumnIn(node, this.scope).column;
  }

  private bounds(ref: ColumnRef) {
    return this.spec(ref)?.bounds;
  }

  // ------------------------------------------------------------------ SELECT items

  /** An allowed aggregate, undefined if the item is not an aggregate at all. */
  private measure(item: Node): Measure | undefined {
    if (item.class !== "FUNCTION") return undefined;
    const name = String(item.function_name ?? "").toLowerCase();
    if (!aggregateNames.has(name)) return undefined;
    if (item.filter) reject("allowed-aggregates", "FILTER");
    if ((item.order_bys?.orders ?? []).length > 0)
      reject("allowed-aggregates", "ORDER BY in aggregate");
    if ((item.schema ?? "") !== "" || (item.catalog ?? "") !== "") reject("allowed-functions");
    const args: Node[] = item.children ?? [];
    if (name === "count_star" && args.length === 0 && !item.distinct) return { kind: "count_rows" };
    if (name === "count" && args.length === 1 && item.distinct) {
      const arg = args[0] as Node;
      if (arg.class === "COLUMN_REF" && this.column(arg).column === PERSON_ID)
        return { kind: "count_persons" };
      reject("allowed-aggregates", "count(DISTINCT ...) only of person_id");
    }
    if ((name === "sum" || name === "avg") && args.length === 1 && !item.distinct) {
      return this.clampedMeasure(name, args[0] as Node);
    }
    reject("allowed-aggregates", ident(name));
  }

  private clampedMeasure(kind: "sum" | "avg", arg: Node): Measure {
    let lo = Number.NEGATIVE_INFINITY;
    let hi = Number.POSITIVE_INFINITY;
    let node = arg;
    // Accept least(greatest(x, lo), hi) and greatest(least(x, hi), lo), in any nesting order.
    for (let depth = 0; depth < 2 && node.class === "FUNCTION"; depth++) {
      const fn = String(node.function_name ?? "").toLowerCase();
      const children: Node[] = node.children ?? [];
      if ((fn !== "least" && fn !== "greatest") || children.length !== 2) break;
      const value = numericLiteral(children[1] as Node);
      if (value === undefined) reject("numeric-bounds", "clamp bounds must be numeric literals");
      if (fn === "least") hi = Math.min(hi, value);
      else lo = Math.max(lo, value);
      node = children[0] as Node;
    }
    if (node.class !== "COLUMN_REF") {
      if (node.class === "FUNCTION" || node.class === "CAST" || node.class === "CASE") {
        reject("allowed-aggregates", "sum and avg take a column, optionally clamped");
      }
      reject("allowed-aggregates");
    }
    const column = this.column(node);
    if (column.column === PERSON_ID) reject("person-id-usage", "aggregate over person_id");
    if (column.type !== "INTEGER" && column.type !== "BIGINT" && column.type !== "DOUBLE") {
      reject("numeric-bounds", "not a numeric column");
    }
    const declared = this.bounds(column);
    if (declared) {
      lo = Math.max(lo, declared.min);
      hi = Math.min(hi, declared.max);
    }
    if (!Number.isFinite(lo) || !Number.isFinite(hi)) reject("numeric-bounds", "no bounds");
    if (lo > hi) reject("numeric-bounds", "empty clamp range");
    return { kind, column, lo, hi };
  }

  private resolveGroupReference(
    expression: Node,
    selectList: Node[],
    aliases: Map<string, Node>,
  ): Node {
    if (expression.class === "CONSTANT") {
      const position = expression.value?.value;
      const item = Number.isInteger(position) ? selectList[position - 1] : undefined;
      if (!item) reject("group-by", "GROUP BY position out of range");
      return item;
    }
    if (expression.class === "COLUMN_REF" && (expression.column_names ?? []).length === 1) {
      const name = String(expression.column_names[0]).toLowerCase();
      const aliased = aliases.get(name);
      const isColumn = this.scope.some((t) => t.columns.some((c) => c.name === name));
      if (aliased && !isColumn) return aliased;
    }
    return expression;
  }

  private dimensionOrReject(node: Node, rule: "aggregate-outputs" | "group-by"): Dimension {
    if (node.class === "COLUMN_REF" || node.class === "FUNCTION") return this.dimension(node);
    reject(rule, ident(node.class));
  }

  /** A GROUP BY dimension: a column, or one of the allowed binning shapes over a column. */
  private dimension(node: Node): Dimension {
    if (node.class === "COLUMN_REF") {
      const column = this.column(node);
      if (column.column === PERSON_ID) reject("person-id-usage", "GROUP BY person_id");
      return { kind: "column", column };
    }
    if (node.class === "SUBQUERY") reject("no-subqueries");
    if (node.class !== "FUNCTION") reject("group-by", ident(node.class));
    if (measureLike(node)) reject("group-by", "aggregate in GROUP BY");
    const name = String(node.function_name ?? "").toLowerCase();
    const args: Node[] = node.children ?? [];
    if ((node.schema ?? "") !== "" || (node.catalog ?? "") !== "") reject("allowed-functions");
    const columnArg = (arg: Node | undefined, types: string[]): ColumnRef => {
      if (arg?.class !== "COLUMN_REF")
        reject("allowed-functions", `${ident(name)} of an expression`);
      const column = this.column(arg);
      if (column.column === PERSON_ID) reject("person-id-usage", "function of person_id");
      if (!types.includes(column.type))
        reject("allowed-functions", `${ident(name)} of ${column.type}`);
      return column;
    };
    const numeric = ["INTEGER", "BIGINT", "DOUBLE"];
    switch (name) {
      case "*": {
        // floor(x / w) * w
        const [floorCall, widthNode] = args;
        const width = widthNode ? numericLiteral(widthNode) : undefined;
        const floorName = String(floorCall?.function_name ?? "").toLowerCase();
        const division = floorCall?.children?.[0] as Node | undefined;
        if (
          width === undefined ||
          !(width > 0) ||
          floorCall?.class !== "FUNCTION" ||
          floorName !== "floor" ||
          floorCall.children?.length !== 1 ||
          division?.class !== "FUNCTION" ||
          division.function_name !== "/" ||
          division.children?.length !== 2 ||
          numericLiteral(division.children[1]) !== width
        ) {
          reject("allowed-functions", "arithmetic is only allowed as floor(x / n) * n");
        }
        return { kind: "bin", column: columnArg(division.children[0], numeric), width };
      }
      case "age_band": {
        const width = args[1] ? numericLiteral(args[1]) : undefined;
        if (
          args.length !== 2 ||
          width === undefined ||
          !Number.isInteger(width) ||
          width < 1 ||
          width > 100
        ) {
          reject("allowed-functions", "age_band(year_of_birth, width)");
        }
        const column = columnArg(args[0], ["INTEGER", "BIGINT"]);
        if (column.column !== "year_of_birth")
          reject("allowed-functions", "age_band takes year_of_birth");
        return { kind: "age_band", column, width };
      }
      case "year":
      case "month":
      case "quarter":
        if (args.length !== 1) reject("allowed-functions", name);
        return { kind: "date_part", part: name, column: columnArg(args[0], ["DATE"]) };
      case "date_part":
      case "datepart":
      case "date_trunc":
      case "datetrunc": {
        const part = String(args[0]?.value?.value ?? "").toLowerCase();
        if (args.length !== 2 || args[0]?.class !== "CONSTANT" || !datePartNames.has(part)) {
          reject("allowed-functions", `${ident(name)}: year, month or quarter`);
        }
        const column = columnArg(args[1], ["DATE"]);
        return name.startsWith("date_part") || name === "datepart"
          ? { kind: "date_part", part: part as DatePart, column }
          : { kind: "date_trunc", unit: part as DatePart, column };
      }
      case "left":
      case "substr":
      case "substring":
      case "prefix_of": {
        const lengthNode = name === "left" ? args[1] : args[2];
        const length = lengthNode ? numericLiteral(lengthNode) : undefined;
        const startsAtOne = name === "left" || (args[1] && numericLiteral(args[1]) === 1);
        const arity = name === "left" ? 2 : 3;
        if (
          args.length !== arity ||
          !startsAtOne ||
          length === undefined ||
          !Number.isInteger(length) ||
          length < 1 ||
          length > 20
        ) {
          reject("allowed-functions", "left(text, n) or substr(text, 1, n)");
        }
        return { kind: "prefix", column: columnArg(args[0], ["VARCHAR"]), length };
      }
      default:
        reject("allowed-functions", ident(name));
    }
  }

  // ------------------------------------------------------------------ WHERE

  private whereClause(where: Node | null | undefined, scope: TableInScope[]) {
    const constraints = new Map<string, Filter>();
    const memberships: Membership[] = [];
    const add = (column: ColumnRef, constraint: ColumnConstraint) => {
      const key = columnKey(column);
      const existing = constraints.get(key);
      constraints.set(key, {
        column,
        constraint: existing ? intersect(existing.constraint, constraint) : constraint,
      });
    };
    const visit = (node: Node) => {
      if (node.class === "CONJUNCTION" && node.type === "CONJUNCTION_AND") {
        for (const child of node.children ?? []) visit(child);
        return;
      }
      this.locate(node);
      const membership = this.membership(node, scope);
      if (membership) {
        memberships.push(membership);
        return;
      }
      const { column, constraint } = this.columnPredicate(node, scope);
      add(column, constraint);
    };
    if (where) visit(where);
    const filters = [...constraints.values()].sort((a, b) =>
      compare(columnKey(a.column), columnKey(b.column)),
    );
    const unique = new Map<string, Membership>();
    for (const m of memberships) unique.set(membershipKey(m), m);
    return {
      filters,
      memberships: [...unique.values()].sort((a, b) => compare(membershipKey(a), membershipKey(b))),
    };
  }

  /** person_id [NOT] IN (SELECT person_id FROM table WHERE ...), or undefined. */
  private membership(node: Node, scope: TableInScope[]): Membership | undefined {
    let negated = false;
    let subquery = node;
    if (
      node.class === "OPERATOR" &&
      node.type === "OPERATOR_NOT" &&
      node.children?.[0]?.class === "SUBQUERY"
    ) {
      negated = true;
      subquery = node.children[0];
    }
    if (subquery.class !== "SUBQUERY") {
      if (containsSubquery(node)) reject("no-subqueries");
      return undefined;
    }
    const child: Node | undefined = subquery.child;
    if (
      subquery.subquery_type !== "ANY" ||
      subquery.comparison_type !== "COMPARE_EQUAL" ||
      child?.class !== "COLUMN_REF" ||
      this.resolveColumnIn(child, scope).column.column !== PERSON_ID
    ) {
      reject("no-subqueries");
    }
    const inner: Node = subquery.subquery?.node ?? {};
    if (inner.type !== "SELECT_NODE") reject("no-subqueries");
    this.checkSelectShape(inner, "membership");
    if ((inner.group_expressions ?? []).length > 0) reject("no-subqueries", "GROUP BY in subquery");
    if (inner.from_table?.type !== "BASE_TABLE")
      reject("no-subqueries", "subquery reads one table");
    const table = this.baseTable(inner.from_table);
    const selected: Node[] = inner.select_list ?? [];
    const only = selected[0];
    if (
      selected.length !== 1 ||
      only?.class !== "COLUMN_REF" ||
      this.resolveColumnIn(only, [table]).column.column !== PERSON_ID
    ) {
      reject("no-subqueries", "the subquery must select person_id only");
    }
    const { filters, memberships } = this.whereClause(inner.where_clause, [table]);
    if (memberships.length > 0) reject("no-subqueries", "nested subquery");
    return { negated, table: table.table, filters };
  }

  /** One predicate on one column (a same-column OR counts as one). */
  private columnPredicate(
    node: Node,
    scope: TableInScope[],
  ): { column: ColumnRef; constraint: ColumnConstraint } {
    if (node.class === "CONJUNCTION" && node.type === "CONJUNCTION_OR") {
      const parts = flattenOr(node).map((child) => {
        if (child.class === "CONJUNCTION" || containsSubquery(child)) reject("no-or");
        return this.columnPredicate(child, scope);
      });
      const first = parts[0];
      if (!first) reject("no-or");
      let constraint: ColumnConstraint | undefined = first.constraint;
      for (const part of parts.slice(1)) {
        if (columnKey(part.column) !== columnKey(first.column)) reject("no-or");
        constraint = constraint && union(constraint, part.constraint);
      }
      if (!constraint) reject("no-or", "combine text conditions with IN instead");
      return { column: first.column, constraint };
    }
    if (node.class === "OPERATOR" && node.type === "OPERATOR_NOT") {
      const inner = node.children?.[0] as Node | undefined;
      if (!inner || inner.class === "CONJUNCTION")
        reject("where-predicates", "NOT of a combination");
      const predicate = this.columnPredicate(inner, scope);
      const negated = complement(predicate.constraint);
      if (!negated) reject("where-predicates", "this NOT cannot be expressed");
      return { column: predicate.column, constraint: negated };
    }
    if (node.class === "COMPARISON") {
      const op = comparisonOps[String(node.type)];
      if (!op) reject("where-predicates", ident(node.type));
      const leftIsColumn = node.left?.class === "COLUMN_REF";
      const rightIsColumn = node.right?.class === "COLUMN_REF";
      if (leftIsColumn === rightIsColumn) {
        reject(
          "where-predicates",
          leftIsColumn ? "column compared with column" : "compare a bare column",
        );
      }
      const columnNode = leftIsColumn ? node.left : node.right;
      const literalNode = leftIsColumn ? node.right : node.left;
      const column = this.filterColumn(columnNode, scope);
      const effectiveOp = leftIsColumn ? op : mirrored[op];
      return { column, constraint: this.comparison(column, effectiveOp, literalNode) };
    }
    if (node.class === "BETWEEN") {
      const column = this.filterColumn(node.input, scope);
      const low = this.comparison(column, ">=", node.lower);
      const high = this.comparison(column, "<=", node.upper);
      return { column, constraint: intersect(low, high) };
    }
    if (
      node.class === "OPERATOR" &&
      (node.type === "COMPARE_IN" || node.type === "COMPARE_NOT_IN")
    ) {
      const [columnNode, ...valueNodes] = (node.children ?? []) as Node[];
      const column = this.filterColumn(columnNode, scope);
      if (valueNodes.length === 0 || valueNodes.length > 1000)
        reject("where-predicates", "IN list size");
      let constraint: ColumnConstraint;
      if (column.type === "VARCHAR") {
        const values = valueNodes.map((v) => stringLiteral(v));
        constraint = stringMatch({ exact: values, prefixes: [] }, false);
      } else {
        const values = valueNodes.map((v) => this.numericValue(column, v));
        constraint = numericPoints(values, column.type !== "DOUBLE");
      }
      if (node.type === "COMPARE_NOT_IN") {
        const negated = complement(constraint);
        if (!negated) reject("where-predicates");
        constraint = negated;
      }
      return { column, constraint };
    }
    if (node.class === "FUNCTION" && node.function_name === CONCEPT_SET_FUNCTION) {
      return this.conceptSet(node, scope);
    }
    if (
      node.class === "FUNCTION" &&
      (node.function_name === "~~" || node.function_name === "!~~")
    ) {
      const [columnNode, patternNode] = (node.children ?? []) as Node[];
      if ((node.children ?? []).length !== 2) reject("where-predicates");
      const column = this.filterColumn(columnNode, scope);
      if (column.type !== "VARCHAR") reject("literal-types");
      const pattern = patternNode ? stringLiteral(patternNode) : "";
      // Only "starts with": no other wildcards, no escapes.
      if (!/^[^%_\\]+%$/.test(pattern)) reject("where-predicates", "LIKE accepts 'prefix%' only");
      const prefix: StringPattern = { exact: [], prefixes: [pattern.slice(0, -1)] };
      return { column, constraint: stringMatch(prefix, node.function_name === "!~~") };
    }
    if (node.class === "SUBQUERY" || containsSubquery(node)) reject("no-subqueries");
    if (node.class === "FUNCTION")
      reject("where-predicates", `function ${ident(node.function_name)}`);
    reject("where-predicates", ident(node.type));
  }

  /**
   * descendant_of(x_concept_id, id, ...): the concept ids given and every concept below them
   * in the dataset's shipped concept_ancestor, as ATLAS's "include descendants". It is
   * planned as the set of concept ids it stands for, like an IN list.
   */
  private conceptSet(
    node: Node,
    scope: TableInScope[],
  ): { column: ColumnRef; constraint: ColumnConstraint } {
    const [columnNode, ...idNodes] = (node.children ?? []) as Node[];
    const column = this.filterColumn(columnNode, scope);
    if (column.type !== "INTEGER" || !column.column.endsWith("_concept_id")) {
      reject("where-predicates", `${CONCEPT_SET_FUNCTION} takes a *_concept_id column first`);
    }
    const hierarchy = this.catalogue.conceptHierarchy;
    if (!hierarchy) {
      reject(
        "where-predicates",
        `${CONCEPT_SET_FUNCTION} needs a dataset that ships its vocabulary`,
      );
    }
    if (idNodes.length === 0 || idNodes.length > 100) {
      reject("where-predicates", `${CONCEPT_SET_FUNCTION} takes 1 to 100 concept ids`);
    }
    const ids = new Set<number>();
    for (const idNode of idNodes) {
      const id = numericLiteral(idNode);
      if (id === undefined || !Number.isSafeInteger(id))
        reject("literal-types", "concept ids are integers");
      for (const descendant of hierarchy.selfAndDescendants(id)) ids.add(descendant);
    }
    if (ids.size > MAX_EXPANDED_CONCEPTS) {
      reject("where-predicates", `${CONCEPT_SET_FUNCTION} expands to too many concepts`);
    }
    return { column, constraint: numericPoints([...ids], true) };
  }

  private filterColumn(node: Node | undefined, scope: TableInScope[]): ColumnRef {
    if (!node) reject("where-predicates");
    if (node.class !== "COLUMN_REF") {
      if (node.class === "SUBQUERY") reject("no-subqueries");
      reject("where-predicates", "arithmetic or functions on a column");
    }
    const { column } = this.resolveColumnIn(node, scope);
    if (column.column === PERSON_ID) reject("person-id-usage", "person_id in WHERE");
    return column;
  }

  private comparison(
    column: ColumnRef,
    op: ComparisonOp,
    literal: Node | undefined,
  ): ColumnConstraint {
    if (!literal) reject("where-predicates");
    if (column.type === "VARCHAR") {
      const value = stringLiteral(literal);
      if (op === "=") return stringMatch({ exact: [value], prefixes: [] }, false);
      if (op === "<>") return stringMatch({ exact: [value], prefixes: [] }, true);
      reject("where-predicates", "text columns take =, <>, IN or LIKE 'prefix%'");
    }
    return numericComparison(op, this.numericValue(column, literal), column.type !== "DOUBLE");
  }

  /** A literal as a number in the column's domain (dates as days since 1970-01-01). */
  private numericValue(column: ColumnRef, node: Node): number {
    if (column.type === "DATE") {
      let literal = node;
      if (literal.class === "CAST" && literal.cast_type?.id === "DATE" && !literal.try_cast)
        literal = literal.child;
      const text = stringLiteral(literal);
      const days = parseIsoDate(text);
      if (days === undefined) reject("literal-types", "dates are written 'YYYY-MM-DD'");
      return days;
    }
    const value = numericLiteral(node);
    if (value === undefined) reject("literal-types", `${column.type} column`);
    if (column.type !== "DOUBLE" && !Number.isInteger(value))
      reject("literal-types", "integer column");
    return value;
  }
}

// ------------------------------------------------------------------ helpers

const aggregateNames = new Set([
  "count_star",
  "count",
  "sum",
  "avg",
  "mean",
  "min",
  "max",
  "median",
  "mode",
  "quantile",
  "quantile_cont",
  "quantile_disc",
  "list",
  "array_agg",
  "string_agg",
  "group_concat",
  "listagg",
  "first",
  "last",
  "any_value",
  "arg_min",
  "arg_max",
  "argmin",
  "argmax",
  "min_by",
  "max_by",
  "stddev",
  "stddev_pop",
  "stddev_samp",
  "variance",
  "var_pop",
  "var_samp",
  "histogram",
  "approx_count_distinct",
  "approx_quantile",
  "bit_and",
  "bit_or",
  "bit_xor",
  "bool_and",
  "bool_or",
  "product",
  "fsum",
  "sumkahan",
  "kahan_sum",
  "entropy",
  "kurtosis",
  "skewness",
  "corr",
  "covar_pop",
  "covar_samp",
  "reservoir_quantile",
  "bitstring_agg",
  "favg",
  "sum_no_overflow",
]);

const datePartNames = new Set(["year", "month", "quarter"]);

function measureLike(node: Node): boolean {
  return (
    node.class === "FUNCTION" && aggregateNames.has(String(node.function_name ?? "").toLowerCase())
  );
}

const comparisonOps: Record<string, ComparisonOp> = {
  COMPARE_EQUAL: "=",
  COMPARE_NOTEQUAL: "<>",
  COMPARE_LESSTHAN: "<",
  COMPARE_LESSTHANOREQUALTO: "<=",
  COMPARE_GREATERTHAN: ">",
  COMPARE_GREATERTHANOREQUALTO: ">=",
};

const mirrored: Record<ComparisonOp, ComparisonOp> = {
  "=": "=",
  "<>": "<>",
  "<": ">",
  "<=": ">=",
  ">": "<",
  ">=": "<=",
};

function flattenOr(node: Node): Node[] {
  if (node.class === "CONJUNCTION" && node.type === "CONJUNCTION_OR") {
    return (node.children ?? []).flatMap((child: Node) => flattenOr(child));
  }
  return [node];
}

function containsAggregate(node: unknown): boolean {
  if (!node || typeof node !== "object") return false;
  if (Array.isArray(node)) return node.some(containsAggregate);
  if (measureLike(node as Node) || (node as Node).class === "WINDOW") return true;
  return Object.values(node as Node).some((v) => containsAggregate(v));
}

function containsSubquery(node: unknown): boolean {
  if (!node || typeof node !== "object") return false;
  if ((node as Node).class === "SUBQUERY") return true;
  return Object.values(node as Node).some((v) => containsSubquery(v));
}

function compare(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

export { membershipKey };

/** A plain numeric literal (INTEGER, BIGINT, DOUBLE, DECIMAL) within the exact range. */
export function numericLiteral(node: Node): number | undefined {
  if (node.class !== "CONSTANT" || node.value?.is_null) return undefined;
  const typeId = String(node.value?.type?.id ?? "");
  const raw = node.value?.value;
  if (typeof raw !== "number" || !Number.isFinite(raw)) return undefined;
  let value: number;
  if (typeId === "DECIMAL") {
    const scale = Number(node.value?.type?.type_info?.scale ?? 0);
    value = raw / 10 ** scale;
  } else if (
    ["TINYINT", "SMALLINT", "INTEGER", "BIGINT", "HUGEINT", "UBIGINT", "DOUBLE", "FLOAT"].includes(
      typeId,
    )
  ) {
    value = raw;
  } else {
    return undefined;
  }
  return Math.abs(value) <= Number.MAX_SAFE_INTEGER ? value : undefined;
}

function stringLiteral(node: Node): string {
  if (node.class !== "CONSTANT" || node.value?.is_null || node.value?.type?.id !== "VARCHAR") {
    reject("literal-types", "expected a text literal");
  }
  const value = node.value.value;
  if (typeof value !== "string" || value.length > 200) reject("literal-types");
  return value;
}

export function parseIsoDate(text: string): number | undefined {
  if (!/^\d{4}-\d{2}-\d{2}$/.test(text)) return undefined;
  const ms = Date.parse(`${text}T00:00:00Z`);
  if (Number.isNaN(ms)) return undefined;
  const days = ms / 86_400_000;
  // Date.parse rolls 2021-02-30 over to March; refuse instead.
  return formatIsoDate(days) === text ? days : undefined;
}

export function formatIsoDate(days: number): string {
  return new Date(days * 86_400_000).toISOString().slice(0, 10);
}

// ------------------------------------------------------------------ output names

/**
 * Names of the outputs (presentation only, never in the canonical form): the alias when there
 * is one; a bare column (or table.column) keeps its column name; an unaliased function gets a
 * readable default (count, sum_value_as_number, age_band, ...). Names are unique, compared
 * without case: a later clash gets _2, _3, ... (aliases are taken first, so a default never
 * takes an alias's name).
 */
class OutputNames {
  private readonly used = new Set<string>();
  private readonly aliases = new Set<string>();

  constructor(selectList: Node[]) {
    for (const item of selectList) {
      if (typeof item.alias === "string" && item.alias !== "")
        this.aliases.add(item.alias.toLowerCase());
    }
  }

  take(base: string, fromAlias: boolean): string {
    let name = base;
    for (
      let n = 2;
      this.used.has(name.toLowerCase()) || (!fromAlias && this.aliases.has(name.toLowerCase()));
      n++
    ) {
      name = `${base}_${n}`;
    }
    this.used.add(name.toLowerCase());
    return name;
  }
}

function measureName(m: Measure): string {
  switch (m.kind) {
    case "count_rows":
      return "count";
    case "count_persons":
      return "persons";
    default:
      return `${m.kind}_${m.column.column}`;
  }
}

function dimensionName(d: Dimension): string {
  const column = d.column.column;
  switch (d.kind) {
    case "column":
      return column;
    case "bin":
      return `${column}_bin`;
    case "age_band":
      return "age_band";
    case "date_part":
      return `${d.part}_${column}`;
    case "date_trunc":
      return `${column}_${d.unit}`;
    case "prefix":
      return `${column}_prefix`;
  }
}
