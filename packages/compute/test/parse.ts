import { type DuckDBConnection, DuckDBInstance } from "@duckdb/node-api";
import type { DatasetCatalogue } from "../src/catalogue/dataset";
import type { QueryPlan } from "../src/query/plan";
import { QueryRejection } from "../src/query/rules";
import { planFromParseTree } from "../src/query/validate";

/**
 * Validation tests parse in-process with a throwaway in-memory DuckDB (no sandbox needed: the
 * parser never executes the text).
 */
export class TestParser {
  private constructor(
    private readonly instance: DuckDBInstance,
    private readonly connection: DuckDBConnection,
  ) {}

  static async create(): Promise<TestParser> {
    const instance = await DuckDBInstance.create(":memory:");
    return new TestParser(instance, await instance.connect());
  }

  async tree(sql: string): Promise<Record<string, unknown>> {
    const reader = await this.connection.runAndReadAll("SELECT json_serialize_sql($1::VARCHAR)", [
      sql,
    ]);
    return JSON.parse(String(reader.getRows()[0]?.[0]));
  }

  async plan(sql: string, catalogue: DatasetCatalogue): Promise<QueryPlan> {
    return planFromParseTree(await this.tree(sql), catalogue);
  }

  /** The rule id the query breaks, or "ok". */
  async rule(sql: string, catalogue: DatasetCatalogue): Promise<string> {
    try {
      await this.plan(sql, catalogue);
      return "ok";
    } catch (error) {
      if (error instanceof QueryRejection) return error.rule;
      throw error;
    }
  }

  close() {
    this.connection.closeSync();
    this.instance.closeSync();
  }
}

/** The standard fixture's catalogue, without touching disk. */
export function fixtureCatalogue(): DatasetCatalogue {
  const col = (
    name: string,
    type: "BIGINT" | "INTEGER" | "DOUBLE" | "VARCHAR" | "DATE",
    bounds?: { min: number; max: number },
  ) => (bounds ? { name, type, bounds } : { name, type });
  return {
    dir: "/nonexistent",
    contentHash: `0x${"ab".repeat(32)}`,
    schemaVersion: "omop-lite/1",
    title: "fixture",
    personCount: 0,
    referenceYear: 2026,
    tables: [
      {
        name: "person",
        file: "person.parquet",
        rowCount: 0,
        columns: [
          col("person_id", "BIGINT"),
          col("year_of_birth", "INTEGER", { min: 1900, max: 2026 }),
          col("sex", "VARCHAR"),
          col("region", "VARCHAR"),
        ],
      },
      {
        name: "condition_occurrence",
        file: "condition_occurrence.parquet",
        rowCount: 0,
        columns: [
          col("person_id", "BIGINT"),
          col("condition_code", "VARCHAR"),
          col("condition_start_date", "DATE"),
        ],
      },
      {
        name: "drug_exposure",
        file: "drug_exposure.parquet",
        rowCount: 0,
        columns: [
          col("person_id", "BIGINT"),
          col("drug_code", "VARCHAR"),
          col("drug_exposure_start_date", "DATE"),
          col("days_supply", "INTEGER", { min: 1, max: 365 }),
        ],
      },
      {
        name: "measurement",
        file: "measurement.parquet",
        rowCount: 0,
        columns: [
          col("person_id", "BIGINT"),
          col("measurement_code", "VARCHAR"),
          col("value_as_number", "DOUBLE", { min: 0, max: 50 }),
          col("unit", "VARCHAR"),
          col("measurement_date", "DATE"),
        ],
      },
      {
        name: "visit_occurrence",
        file: "visit_occurrence.parquet",
        rowCount: 0,
        columns: [
          col("person_id", "BIGINT"),
          col("visit_type", "VARCHAR"),
          col("visit_start_date", "DATE"),
          col("visit_end_date", "DATE"),
        ],
      },
    ],
  };
}
