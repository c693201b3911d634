import type { DuckDBConnection } from "@duckdb/node-api";
import { queryScalar } from "./database";

/** The tables an output query reads persons and their conditions from. */
export interface PersonSource {
  base: string;
  conditions: string;
}

export const WHOLE_COHORT: PersonSource = { base: "person_base", conditions: "person_condition" };
const CURRENT_SLICE: PersonSource = {
  base: "slice_person_base",
  conditions: "slice_person_condition",
};

/**
 * Numbers the persons into slices of slicePersons consecutive person_ids and returns how many
 * slices there are. Every output file is sorted by person_id first, so writing it a slice at a
 * time, in slice order, gives the same rows in the same order while the sorts and joins of
 * one slice need only that slice's memory (10M persons in one go outgrew 13 GiB).
 */
export async function createPersonSlices(
  connection: DuckDBConnection,
  slicePersons: number,
): Promise<number> {
  await connection.run(
    `CREATE OR REPLACE TEMP TABLE person_slice AS
     SELECT person_index, (row_number() OVER (ORDER BY person_id) - 1) // $slice_persons AS slice
     FROM person_base`,
    { slice_persons: slicePersons },
  );
  return Number(await queryScalar(connection, "SELECT count(DISTINCT slice) FROM person_slice"));
}

/** Fills the slice tables with one slice's persons and conditions. */
export async function selectSlice(
  connection: DuckDBConnection,
  slice: number,
): Promise<PersonSource> {
  await connection.run(
    `CREATE OR REPLACE TEMP TABLE ${CURRENT_SLICE.base} AS
     SELECT p.* FROM ${WHOLE_COHORT.base} p
     SEMI JOIN (SELECT person_index FROM person_slice WHERE slice = $slice) s USING (person_index)`,
    { slice },
  );
  await connection.run(
    `CREATE OR REPLACE TEMP TABLE ${CURRENT_SLICE.conditions} AS
     SELECT pc.* FROM ${WHOLE_COHORT.conditions} pc
     SEMI JOIN ${CURRENT_SLICE.base} p USING (person_index)`,
  );
  return CURRENT_SLICE;
}
