import { join } from "node:path";
import { DuckDBInstance } from "@duckdb/node-api";
import type { DatasetManifest } from "@opencohort/validators";

/**
 * The concept hierarchy a dataset version ships (omop-lite/2 concept_ancestor), held in
 * memory so that "this concept and its descendants" expands when a query is planned, the way
 * ATLAS expands a concept set. The importers ship the source's vocabulary whole (never only
 * the concepts in use, which would make an expansion reveal whether a concept occurs), so the
 * map is the size of that vocabulary.
 */
export interface ConceptHierarchy {
  /** The concept and every concept below it (sorted, unique). */
  selfAndDescendants(conceptId: number): number[];
}

/** Most concept ids one expansion may produce (the plan keeps them as intervals). */
export const MAX_EXPANDED_CONCEPTS = 50_000;

export async function loadConceptHierarchy(
  dir: string,
  manifest: Pick<DatasetManifest, "vocabulary">,
): Promise<ConceptHierarchy | undefined> {
  const table = manifest.vocabulary?.find((t) => t.name === "concept_ancestor");
  if (!table) return undefined;
  const instance = await DuckDBInstance.create(":memory:", {
    threads: "1",
    autoinstall_known_extensions: "false",
    autoload_known_extensions: "false",
  });
  const connection = await instance.connect();
  const below = new Map<number, number[]>();
  try {
    const reader = await connection.runAndReadAll(
      `SELECT ancestor_concept_id, list(DISTINCT descendant_concept_id ORDER BY descendant_concept_id)
       FROM read_parquet($path) GROUP BY 1`,
      { path: join(dir, table.file) },
    );
    for (const [ancestor, descendants] of reader.getRowsJS()) {
      below.set(Number(ancestor), (descendants as unknown[]).map(Number));
    }
  } finally {
    connection.closeSync();
    instance.closeSync();
  }
  return {
    selfAndDescendants(conceptId) {
      const descendants = below.get(conceptId) ?? [];
      return descendants.includes(conceptId)
        ? descendants
        : [...descendants, conceptId].sort((a, b) => a - b);
    },
  };
}
