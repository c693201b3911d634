/**
 * Which of a list of person ids are not in a dataset version's person table. Used when a
 * steward imports enrolments: an enrolment for a person the files do not hold could never
 * be included in a query, and is almost certainly a mapping error.
 */
import { join } from "node:path";
import { DuckDBInstance } from "@duckdb/node-api";

/**
 * The ids among `personIds` that `dir/personFile` (Parquet, column person_id) lacks,
 * ascending. Fixed SQL over one file the steward registered; the ids travel as one
 * parameter, never as SQL text.
 */
export async function personIdsMissingFrom(
  dir: string,
  personFile: string,
  personIds: readonly bigint[],
): Promise<bigint[]> {
  if (personIds.length === 0) return [];
  const instance = await DuckDBInstance.create(":memory:", {
    threads: "1",
    autoinstall_known_extensions: "false",
    autoload_known_extensions: "false",
  });
  const connection = await instance.connect();
  try {
    const reader = await connection.runAndReadAll(
      `SELECT CAST(unnest(string_split($ids, ',')) AS BIGINT) AS person_id
       EXCEPT
       SELECT person_id FROM read_parquet($path)
       ORDER BY person_id`,
      { ids: personIds.join(","), path: join(dir, personFile) },
    );
    return reader.getRows().map((row) => BigInt(row[0] as bigint));
  } finally {
    connection.closeSync();
    instance.closeSync();
  }
}
