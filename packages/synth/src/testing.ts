import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { type DuckDBConnection, DuckDBInstance } from "@duckdb/node-api";
import { OUTPUT_TABLES, VOCABULARY_TABLES } from "./output-tables";

/** Test-only helpers: a temporary folder and an in-memory DuckDB over a dataset folder. */
export async function makeTemporaryDirectory(prefix: string) {
  const path = await mkdtemp(join(tmpdir(), `synth-test-${prefix}-`));
  return { path, remove: () => rm(path, { recursive: true, force: true }) };
}

export interface DatasetQueries {
  connection: DuckDBConnection;
  rows(
    sql: string,
    parameters?: Record<string, string | number>,
  ): Promise<Record<string, unknown>[]>;
  scalar(sql: string, parameters?: Record<string, string | number>): Promise<unknown>;
  close(): void;
}

/** Views named after the tables, so plausibility checks read like the queries researchers write. */
export async function openDatasetQueries(dir: string): Promise<DatasetQueries> {
  const instance = await DuckDBInstance.create(":memory:", { threads: "2" });
  const connection = await instance.connect();
  for (const table of [...OUTPUT_TABLES, ...VOCABULARY_TABLES]) {
    // CREATE VIEW cannot take parameters; the path is a test temp dir without quotes.
    if (dir.includes("'")) throw new Error("unexpected quote in temp dir");
    await connection.run(
      `CREATE VIEW ${table.name} AS SELECT * FROM read_parquet('${join(dir, table.file)}')`,
    );
  }
  const rows = async (sql: string, parameters?: Record<string, string | number>) =>
    (await connection.runAndReadAll(sql, parameters)).getRowObjectsJS();
  return {
    connection,
    rows,
    async scalar(sql, parameters) {
      const [first] = await rows(sql, parameters);
      return first ? Object.values(first)[0] : undefined;
    },
    close() {
      connection.closeSync();
      instance.closeSync();
    },
  };
}
