import { type DuckDBConnection, DuckDBInstance } from "@duckdb/node-api";
import type { DatasetCatalogue } from "../src/catalogue/dataset";
import type { QueryPlan } from "../src/query/plan";
import { QueryRejection } from "../src/query/rules";
import { planFromParseTree } from "../src/query/validate";
import { fixtureColumn } from "./fixtures";

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
          fixtureColumn("person", "person_id", "BIGINT"),
          fixtureColumn("person", "year_of_birth", "INTEGER"),
          fixtureColumn("person", "sex", "VARCHAR"),
          fixtureColumn("person", "region", "VARCHAR"),
        ],
      },
      {
        name: "condition_occurrence",
        file: "condition_occurrence.parquet",
        rowCount: 0,
        columns: [
          fixtureColumn("condition_occurrence", "person_id", "BIGINT"),
          fixtureColumn("condition_occurrence", "condition_code", "VARCHAR"),
          fixtureColumn("condition_occurrence", "condition_start_date", "DATE"),
        ],
      },
      {
        name: "drug_exposure",
        file: "drug_exposure.parquet",
        rowCount: 0,
        columns: [
          fixtureColumn("drug_exposure", "person_id", "BIGINT"),
          fixtureColumn("drug_exposure", "drug_code", "VARCHAR"),
          fixtureColumn("drug_exposure", "drug_exposure_start_date", "DATE"),
          fixtureColumn("drug_exposure", "days_supply", "INTEGER"),
        ],
      },
      {
        name: "measurement",
        file: "measurement.parquet",
        rowCount: 0,
        columns: [
          fixtureColumn("measurement", "person_id", "BIGINT"),
          fixtureColumn("measurement", "measurement_code", "VARCHAR"),
          fixtureColumn("measurement", "value_as_number", "DOUBLE"),
          fixtureColumn("measurement", "unit", "VARCHAR"),
          fixtureColumn("measurement", "measurement_date", "DATE"),
        ],
      },
      {
        name: "visit_occurrence",
        file: "visit_occurrence.parquet",
        rowCount: 0,
        columns: [
          fixtureColumn("visit_occurrence", "person_id", "BIGINT"),
          fixtureColumn("visit_occurrence", "visit_type", "VARCHAR"),
          fixtureColumn("visit_occurrence", "visit_start_date", "DATE"),
          fixtureColumn("visit_occurrence", "visit_end_date", "DATE"),
        ],
      },
    ],
  };
}
