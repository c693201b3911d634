/**
 * The conditions a dataset's metadata declares are concepts of the dataset's shipped
 * vocabulary (omop-lite/2 concept table), spelled VOCABULARY:CODE as that table spells them.
 * The catalogue names them from it, never from the label a steward typed. The vocabulary is
 * public reference data shipped whole (the same whatever the patients), so neither the check
 * nor the names depend on which concepts occur in the data, and no count is read.
 */
import { conceptsByCode } from "@opencohort/compute";
import type { Db } from "@opencohort/db";
import {
  type DatasetManifest,
  datasetManifestSchema,
  datasetSearchText,
  parseConceptCode,
} from "@opencohort/validators";
import { refusal } from "./refusal";

/**
 * The vocabulary's concept name of each code (code -> name). No vocabulary shipped
 * (omop-lite/1): an empty map, nothing to check against. A code the vocabulary lacks is
 * refused (rule condition-vocabulary), naming the code and how codes are spelled.
 */
export async function conditionNames(
  location: string,
  manifest: Pick<DatasetManifest, "vocabulary">,
  codes: readonly string[],
): Promise<Map<string, string>> {
  const concepts = await conceptsByCode(location, manifest, codes.map(parseConceptCode));
  if (!concepts) return new Map();
  const missing = codes.findIndex((code) => !concepts.has(code));
  if (missing !== -1) {
    const { vocabulary, code } = parseConceptCode(codes[missing] as string);
    throw refusal(
      "BAD_REQUEST",
      "condition-vocabulary",
      `conditions.${missing}.code: ${codes[missing]} is not a concept of the dataset's vocabulary (its concept table has no vocabulary_id "${vocabulary}" with concept_code "${code}"); write a condition as VOCABULARY:CODE exactly as the concept table spells them, e.g. ICD10CM:K92.2 or SNOMED:74474003 (rule condition-vocabulary).`,
    );
  }
  return new Map(codes.map((code) => [code, concepts.get(code)?.name ?? ""]));
}

/** The latest version of a dataset whose files are registered, with its manifest. */
export async function latestRegisteredVersion(db: Db, datasetId: string) {
  const row = await db.datasetVersion.findFirst({
    where: { datasetId, location: { not: null }, registeredAt: { not: null } },
    orderBy: { version: "desc" },
    select: { version: true, location: true, manifest: true },
  });
  const manifest = datasetManifestSchema.safeParse(row?.manifest);
  if (!row?.location || !manifest.success) return null;
  return { version: row.version, location: row.location, manifest: manifest.data };
}

type Tx = Parameters<Parameters<Db["$transaction"]>[0]>[0];

/**
 * Stores the declared conditions with their vocabulary names ("" until files with a
 * vocabulary are registered) and the search text that matches those names.
 */
export async function writeDatasetConditions(
  tx: Tx,
  datasetId: string,
  metadata: { title: string; description: string; conditions: readonly { code: string }[] },
  names: ReadonlyMap<string, string>,
) {
  const conditions = metadata.conditions.map(({ code }) => ({
    code,
    label: names.get(code) ?? "",
  }));
  await tx.dataset.update({
    where: { id: datasetId },
    data: { searchText: datasetSearchText({ ...metadata, conditions }) },
    select: { id: true },
  });
  await tx.datasetCondition.deleteMany({
    where: { datasetId, code: { notIn: conditions.map((c) => c.code) } },
  });
  for (const condition of conditions) {
    await tx.datasetCondition.upsert({
      where: { datasetId_code: { datasetId, code: condition.code } },
      create: { datasetId, ...condition },
      update: { label: condition.label },
      select: { code: true },
    });
  }
}
