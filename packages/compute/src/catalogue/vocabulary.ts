import { join } from "node:path";
import {
  type DuckDBConnection,
  DuckDBInstance,
  INTEGER,
  LIST,
  listValue,
  VARCHAR,
} from "@duckdb/node-api";
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

type ShippedVocabulary = Pick<DatasetManifest, "vocabulary">;

/** A short-lived, single-threaded in-memory DuckDB for reading a shipped vocabulary file. */
async function withVocabularyDb<T>(run: (connection: DuckDBConnection) => Promise<T>): Promise<T> {
  const instance = await DuckDBInstance.create(":memory:", {
    threads: "1",
    autoinstall_known_extensions: "false",
    autoload_known_extensions: "false",
  });
  const connection = await instance.connect();
  try {
    return await run(connection);
  } finally {
    connection.closeSync();
    instance.closeSync();
  }
}

const shippedFile = (
  dir: string,
  manifest: ShippedVocabulary,
  name: "concept" | "concept_ancestor",
) => {
  const table = manifest.vocabulary?.find((t) => t.name === name);
  return table ? join(dir, table.file) : undefined;
};

export async function loadConceptHierarchy(
  dir: string,
  manifest: ShippedVocabulary,
): Promise<ConceptHierarchy | undefined> {
  const path = shippedFile(dir, manifest, "concept_ancestor");
  if (!path) return undefined;
  const below = new Map<number, number[]>();
  await withVocabularyDb(async (connection) => {
    const reader = await connection.runAndReadAll(
      `SELECT ancestor_concept_id, list(DISTINCT descendant_concept_id ORDER BY descendant_concept_id)
       FROM read_parquet($path) GROUP BY 1`,
      { path },
    );
    for (const [ancestor, descendants] of reader.getRowsJS()) {
      below.set(Number(ancestor), (descendants as unknown[]).map(Number));
    }
  });
  return {
    selfAndDescendants(conceptId) {
      const descendants = below.get(conceptId) ?? [];
      return descendants.includes(conceptId)
        ? descendants
        : [...descendants, conceptId].sort((a, b) => a - b);
    },
  };
}

/**
 * A concept of the shipped vocabulary (omop-lite/2 concept table). The vocabulary is public
 * reference data, the same whatever the patients: the importers ship the source's vocabulary
 * whole and the generator its own, so reading it says nothing about which concepts occur.
 */
export interface VocabularyConcept {
  conceptId: number;
  name: string;
  /** OMOP vocabulary_id, e.g. ICD10CM, SNOMED, RxNorm. */
  vocabulary: string;
  /** concept_code as the vocabulary spells it, e.g. K92.2. */
  code: string;
  domain: string;
}

const CONCEPT_COLUMNS = "concept_id::INTEGER, concept_name, vocabulary_id, concept_code, domain_id";

const toConcept = (row: unknown[]): VocabularyConcept => ({
  conceptId: Number(row[0]),
  name: String(row[1]),
  vocabulary: String(row[2]),
  code: String(row[3]),
  domain: String(row[4]),
});

/**
 * The shipped concepts named by (vocabulary, code), keyed `VOCABULARY:CODE` (the catalogue's
 * spelling). A code the vocabulary lacks is absent from the map. Undefined: no vocabulary is
 * shipped (omop-lite/1).
 */
export async function conceptsByCode(
  dir: string,
  manifest: ShippedVocabulary,
  codes: readonly { vocabulary: string; code: string }[],
): Promise<Map<string, VocabularyConcept> | undefined> {
  const path = shippedFile(dir, manifest, "concept");
  if (!path) return undefined;
  const found = new Map<string, VocabularyConcept>();
  if (codes.length === 0) return found;
  await withVocabularyDb(async (connection) => {
    const reader = await connection.runAndReadAll(
      `SELECT ${CONCEPT_COLUMNS} FROM read_parquet($path)
       WHERE vocabulary_id || ':' || concept_code IN (SELECT unnest($keys))
       ORDER BY concept_id`,
      { path, keys: listValue(codes.map(({ vocabulary, code }) => `${vocabulary}:${code}`)) },
      { path: VARCHAR, keys: LIST(VARCHAR) },
    );
    for (const row of reader.getRowsJS()) {
      const concept = toConcept(row);
      const key = `${concept.vocabulary}:${concept.code}`;
      if (!found.has(key)) found.set(key, concept);
    }
  });
  return found;
}

/** Most concepts one search page returns. */
export const MAX_CONCEPT_PAGE = 50;

export interface ConceptSearch {
  /** Words of the name (case-insensitive), a code, VOCABULARY:CODE or a concept id. */
  text: string;
  vocabulary?: string;
  domain?: string;
  offset: number;
  limit: number;
}

/**
 * One page of the shipped concepts matching `search`: exact id or code matches first, then
 * names containing every word (shorter names first). Never reads a person table, and returns
 * no total (only whether another page follows).
 */
export async function searchConcepts(
  dir: string,
  manifest: ShippedVocabulary,
  search: ConceptSearch,
): Promise<{ concepts: VocabularyConcept[]; more: boolean } | undefined> {
  const path = shippedFile(dir, manifest, "concept");
  if (!path) return undefined;
  const limit = Math.min(Math.max(1, Math.floor(search.limit)), MAX_CONCEPT_PAGE);
  const words = search.text.toLowerCase().split(/\s+/).filter(Boolean).slice(0, 8);
  const text = search.text.trim();
  return withVocabularyDb(async (connection) => {
    const reader = await connection.runAndReadAll(
      `SELECT ${CONCEPT_COLUMNS} FROM read_parquet($path)
       WHERE ($vocabulary IS NULL OR vocabulary_id = $vocabulary)
         AND ($domain IS NULL OR domain_id = $domain)
         AND (concept_code = $text OR vocabulary_id || ':' || concept_code = $text
              OR concept_id::VARCHAR = $text
              OR list_bool_and(list_transform($words, w -> contains(lower(concept_name), w))))
       ORDER BY (concept_code = $text OR vocabulary_id || ':' || concept_code = $text
                 OR concept_id::VARCHAR = $text) DESC,
         length(concept_name), concept_name, concept_id
       LIMIT $limit OFFSET $offset`,
      {
        path,
        text,
        words: listValue(words.length > 0 ? words : [""]),
        vocabulary: search.vocabulary ?? null,
        domain: search.domain ?? null,
        limit: limit + 1,
        offset: Math.max(0, Math.floor(search.offset)),
      },
      {
        path: VARCHAR,
        text: VARCHAR,
        words: LIST(VARCHAR),
        vocabulary: VARCHAR,
        domain: VARCHAR,
        limit: INTEGER,
        offset: INTEGER,
      },
    );
    const rows = reader.getRowsJS().map(toConcept);
    return { concepts: rows.slice(0, limit), more: rows.length > limit };
  });
}
