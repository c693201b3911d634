import { existsSync } from "node:fs";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { type DuckDBConnection, DuckDBInstance } from "@duckdb/node-api";

/**
 * The shared real-world samples (../shared/data from the repository root, the same place in
 * CI). Tests skip with this reason only when the folder is absent.
 */
export const SHARED_DATA = resolve(import.meta.dirname, "../../../../shared/data");
export const EUNOMIA = join(SHARED_DATA, "eunomia-gibleed-omop");
export const FHIR_SAMPLE = join(SHARED_DATA, "fhir-bulk-10-patients");
export const sharedDataMissing =
  existsSync(EUNOMIA) && existsSync(FHIR_SAMPLE)
    ? undefined
    : `the shared samples are not at ${SHARED_DATA} (../shared/data from the repository root)`;

/** A test secret: fixed, so imports are reproducible. */
export const TEST_SECRET = "test-steward-secret-0123456789";

export async function temporaryDirectory(prefix: string) {
  const path = await mkdtemp(join(tmpdir(), `dataset-test-${prefix}-`));
  return { path, remove: () => rm(path, { recursive: true, force: true }) };
}

/** An in-memory DuckDB for the tests' own reading of source files and output folders. */
export async function openQueries() {
  const instance = await DuckDBInstance.create(":memory:", { threads: "2" });
  const connection: DuckDBConnection = await instance.connect();
  await connection.run("SET TimeZone = 'UTC'");
  const rows = async (sql: string, parameters?: Record<string, string | number>) =>
    (await connection.runAndReadAll(sql, parameters)).getRowObjectsJS();
  return {
    connection,
    rows,
    async number(sql: string, parameters?: Record<string, string | number>) {
      const [first] = await rows(sql, parameters);
      return Number(first ? Object.values(first)[0] : Number.NaN);
    },
    close() {
      connection.closeSync();
      instance.closeSync();
    },
  };
}

/** `path` as a SQL string literal (test temp paths and the shared samples only). */
export const literal = (path: string) => `'${path.replaceAll("'", "''")}'`;
