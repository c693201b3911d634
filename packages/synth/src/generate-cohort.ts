import { mkdir, mkdtemp, rename, rm } from "node:fs/promises";
import { availableParallelism, tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { type DatasetManifest, hashedFiles } from "@opencohort/validators";
import { computeContentHash } from "@opencohort/validators/content-hash";
import { z } from "zod";
import { OBSERVATION_END, OBSERVATION_START } from "./catalog";
import { MANIFEST_FILE, writeManifest } from "./manifest";
import {
  OUTPUT_TABLES,
  type OutputTable,
  SCHEMA_VERSION,
  VOCABULARY_TABLES,
} from "./output-tables";
import { loadCatalogTables } from "./sql/catalog-tables";
import { conditionOccurrenceOutputSql, createPersonConditions } from "./sql/conditions";
import {
  type GeneratorDatabase,
  openGeneratorDatabase,
  queryScalar,
  type SqlParameters,
  sqlPathLiteral,
} from "./sql/database";
import { drugExposureOutputSql } from "./sql/drugs";
import { measurementOutputSql } from "./sql/measurements";
import { createPersonBase, observationPeriodOutputSql, personOutputSql } from "./sql/person";
import { installRandomFunctions } from "./sql/random";
import { createPersonSlices, type PersonSource, selectSlice, WHOLE_COHORT } from "./sql/slices";
import { visitOccurrenceOutputSql } from "./sql/visits";

export const GENERATOR_NAME = "@opencohort/synth";
/** Bump when the same seed would produce different data. */
export const GENERATOR_VERSION = "2.0.0";
export const MAX_PERSONS = 10_000_000;
/**
 * Persons written per slice (see createPersonSlices). At 1M persons a table's sort fits in a
 * few GiB; cohorts up to this size are written in one go, as before slicing existed.
 */
export const DEFAULT_SLICE_PERSONS = 1_000_000;

export interface GenerationProgress {
  stage: string;
  done: number;
  total: number;
}

export const generateCohortOptionsSchema = z.object({
  persons: z.number().int().min(1).max(MAX_PERSONS),
  seed: z.number().int().min(0).max(Number.MAX_SAFE_INTEGER),
  outDir: z.string().min(1),
  title: z.string().min(1).optional(),
  onProgress: z
    .custom<(progress: GenerationProgress) => void>((value) => typeof value === "function")
    .optional(),
  /** Only speed depends on it; defaults to the machine's parallelism. */
  threads: z.number().int().min(1).max(256).optional(),
  /**
   * DuckDB's memory limit in MiB; beyond it joins, aggregates and sorts spill to a temporary
   * directory. Only speed and memory depend on it. Defaults to DuckDB's own (80% of RAM),
   * which at 10M persons left too little for the rest of the machine.
   */
  memoryLimitMb: z.number().int().min(256).optional(),
  /** Persons per slice; only speed and memory depend on it. */
  slicePersons: z.number().int().min(1).default(DEFAULT_SLICE_PERSONS),
  /** Fixes manifest.createdAt, for byte-identical manifests in reproducible builds. */
  createdAt: z.date().optional(),
});
export type GenerateCohortOptions = z.input<typeof generateCohortOptionsSchema>;

const TABLE_WRITE_WEIGHTS: Partial<Record<OutputTable["name"], number>> = {
  person: 2,
  condition_occurrence: 3,
  drug_exposure: 25,
  measurement: 45,
  visit_occurrence: 15,
  observation_period: 1,
};

const OUTPUT_SQL: Partial<
  Record<OutputTable["name"], (source: PersonSource) => { sql: string; parameters?: SqlParameters }>
> = {
  person: (source) => ({ sql: personOutputSql(source) }),
  condition_occurrence: (source) => ({ sql: conditionOccurrenceOutputSql(source) }),
  drug_exposure: (source) => ({ sql: drugExposureOutputSql(source) }),
  measurement: (source) => ({ sql: measurementOutputSql(source) }),
  visit_occurrence: (source) => visitOccurrenceOutputSql(source),
  observation_period: (source) => ({ sql: observationPeriodOutputSql(source) }),
};

const VOCABULARY_SQL = {
  concept: "SELECT * FROM synth_concept ORDER BY concept_id",
  concept_ancestor:
    "SELECT * FROM synth_concept_ancestor ORDER BY ancestor_concept_id, descendant_concept_id",
} as const;

/**
 * Generates a synthetic OMOP-lite dataset version into outDir: one Parquet file per table and
 * manifest.json (written last, so a folder without a manifest is an unfinished run). Same
 * persons and seed give byte-identical Parquet files and the same content hash.
 */
export async function generateCohort(options: GenerateCohortOptions): Promise<DatasetManifest> {
  const {
    persons,
    seed,
    outDir,
    title,
    onProgress,
    threads,
    memoryLimitMb,
    slicePersons,
    createdAt,
  } = generateCohortOptionsSchema.parse(options);
  const dir = resolve(outDir);
  // Weights approximate each stage's share of the run time at scale, so the bar moves evenly.
  const stages: readonly { stage: string; weight: number }[] = [
    { stage: "setup", weight: 1 },
    { stage: "person traits", weight: 3 },
    { stage: "conditions", weight: 4 },
    ...OUTPUT_TABLES.map((table) => ({
      stage: `writing ${table.name}`,
      weight: TABLE_WRITE_WEIGHTS[table.name] ?? 1,
    })),
    { stage: "writing vocabulary", weight: 1 },
    { stage: "content hash", weight: 2 },
  ];
  const total = stages.reduce((sum, entry) => sum + entry.weight, 0);
  let done = 0;
  let current: { stage: string; weight: number } | undefined;
  const startStage = (stage: string) => {
    done += current?.weight ?? 0;
    current = stages.find((entry) => entry.stage === stage);
    onProgress?.({ stage, done, total });
  };

  startStage("setup");
  await mkdir(dir, { recursive: true });
  // A stale manifest must not vouch for files that are about to be replaced.
  await rm(join(dir, MANIFEST_FILE), { force: true });
  const temporaryDirectory = await mkdtemp(join(tmpdir(), "opencohort-synth-"));
  let database: GeneratorDatabase | undefined;
  try {
    database = await openGeneratorDatabase({
      threads: threads ?? Math.max(1, availableParallelism()),
      memoryLimitMb,
      temporaryDirectory,
    });
    const { connection } = database;
    await installRandomFunctions(connection, seed);
    await loadCatalogTables(connection);

    startStage("person traits");
    await createPersonBase(connection, persons);
    startStage("conditions");
    await createPersonConditions(connection);

    const copyToParquet = async (path: string, sql: string, parameters?: SqlParameters) =>
      Number(
        await queryScalar(
          connection,
          `COPY (${sql}) TO ${sqlPathLiteral(path)}
             (FORMAT parquet, COMPRESSION zstd, ROW_GROUP_SIZE 122880)`,
          parameters,
        ),
      );
    // Written under a temporary name so that a crash never leaves a truncated file that
    // looks finished.
    const partialPathOf = (file: string) => join(dir, `.${file}.partial`);
    const publish = (file: string) => rename(partialPathOf(file), join(dir, file));

    const sliceCount = await createPersonSlices(connection, slicePersons);
    const tables: DatasetManifest["tables"] = [];
    for (const table of OUTPUT_TABLES) {
      const stage = `writing ${table.name}`;
      startStage(stage);
      const output = OUTPUT_SQL[table.name];
      if (!output) throw new Error(`no output SQL for ${table.name}`);
      let rowCount: number;
      if (sliceCount === 1) {
        const { sql, parameters } = output(WHOLE_COHORT);
        rowCount = await copyToParquet(partialPathOf(table.file), sql, parameters);
      } else {
        const slicePaths: string[] = [];
        for (let slice = 0; slice < sliceCount; slice++) {
          const weight = TABLE_WRITE_WEIGHTS[table.name] ?? 1;
          onProgress?.({
            stage: `${stage} (slice ${slice + 1}/${sliceCount})`,
            done: done + Math.floor((weight * slice) / sliceCount),
            total,
          });
          const { sql, parameters } = output(await selectSlice(connection, slice));
          const slicePath = join(temporaryDirectory, `${table.name}.${slice}.parquet`);
          await copyToParquet(slicePath, sql, parameters);
          slicePaths.push(slicePath);
        }
        // Slices hold consecutive person_id ranges, each sorted; read in slice order they are
        // the whole table in order, streamed into one file.
        rowCount = await copyToParquet(
          partialPathOf(table.file),
          `SELECT * FROM read_parquet([${slicePaths.map(sqlPathLiteral).join(", ")}])`,
        );
        await Promise.all(slicePaths.map((path) => rm(path)));
      }
      await publish(table.file);
      tables.push({ name: table.name, file: table.file, rowCount, columns: table.columns });
    }
    startStage("writing vocabulary");
    const vocabulary: NonNullable<DatasetManifest["vocabulary"]> = [];
    for (const table of VOCABULARY_TABLES) {
      const rowCount = await copyToParquet(partialPathOf(table.file), VOCABULARY_SQL[table.name]);
      await publish(table.file);
      vocabulary.push({ name: table.name, file: table.file, rowCount, columns: table.columns });
    }

    startStage("content hash");
    const contentHash = await computeContentHash(dir, hashedFiles({ tables, vocabulary }));
    const manifest: DatasetManifest = {
      format: "opencohort-dataset/1",
      schemaVersion: SCHEMA_VERSION,
      title:
        title ?? `Synthetic cohort of ${persons.toLocaleString("en-US")} persons (seed ${seed})`,
      description:
        `Synthetic OMOP-lite data generated by ${GENERATOR_NAME} ${GENERATOR_VERSION}: ` +
        `no real person is described. Events fall between ${OBSERVATION_START} and ` +
        `${OBSERVATION_END}; conditions are ICD-10, drugs ATC, measurements LOINC.`,
      personCount: persons,
      tables,
      vocabulary,
      contentHash,
      createdAt: (createdAt ?? new Date()).toISOString(),
      generator: { name: GENERATOR_NAME, seed, version: GENERATOR_VERSION },
    };
    await writeManifest(dir, manifest);
    onProgress?.({ stage: "done", done: total, total });
    return manifest;
  } finally {
    database?.close();
    await rm(temporaryDirectory, { recursive: true, force: true });
  }
}
