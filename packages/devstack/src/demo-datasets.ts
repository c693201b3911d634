import type { DatasetMetadata } from "@opencohort/chain";
import { VENDORED_EUNOMIA } from "@opencohort/dataset/vendored-sample";
import { type Hex, keccak256, parseEther, stringToHex } from "viem";

/**
 * Where a demo dataset's files come from: the synthetic generator (a seed), or the OMOP CDM
 * importer (the same code as `opencohort-dataset import omop`) run on a folder of the repository.
 */
export type DemoSource =
  | { kind: "synthetic"; seed: number }
  | { kind: "omop"; folder: string; skipOrphans: boolean };

export interface DemoDataset {
  slug: string;
  /** Index of the steward among the demo cast's stewards. */
  stewardIndex: 0 | 1 | 2;
  source: DemoSource;
  title: string;
  description: string;
  price: bigint;
  accessDays: number;
  conditions: { code: string; label: string }[];
}

/**
 * Three stewards, three synthetic cohorts and one real-world OMOP export (Eunomia GiBleed,
 * imported as a steward would): what a newcomer sees in the catalogue.
 */
export const demoDatasets: DemoDataset[] = [
  {
    slug: "northbridge-cardiometabolic",
    stewardIndex: 0,
    source: { kind: "synthetic", seed: 101 },
    title: "Northbridge Cardiometabolic Cohort",
    description:
      "Adults followed in Northbridge Hospital's outpatient clinics: type 2 diabetes, hypertension and chronic kidney disease with prescriptions, HbA1c, blood pressure and eGFR.",
    price: parseEther("250"),
    accessDays: 30,
    conditions: [
      { code: "ICD10:E11", label: "Type 2 diabetes mellitus" },
      { code: "ICD10:I10", label: "Essential hypertension" },
      { code: "ICD10:N18", label: "Chronic kidney disease" },
    ],
  },
  {
    slug: "lakeside-respiratory",
    stewardIndex: 1,
    source: { kind: "synthetic", seed: 202 },
    title: "Lakeside Respiratory Registry",
    description:
      "Registry of patients with asthma and COPD from the Lakeside region, with inhaler prescriptions and visit history.",
    price: parseEther("180"),
    accessDays: 60,
    conditions: [
      { code: "ICD10:J45", label: "Asthma" },
      { code: "ICD10:J44", label: "Chronic obstructive pulmonary disease" },
    ],
  },
  {
    slug: "coastal-primary-care",
    stewardIndex: 2,
    source: { kind: "synthetic", seed: 303 },
    title: "Coastal Primary Care Panel",
    description:
      "A general-practice panel across coastal communities: depression, anxiety and common chronic conditions, with SSRI exposure and visits.",
    price: parseEther("120"),
    accessDays: 90,
    conditions: [
      { code: "ICD10:F32", label: "Depressive episode" },
      { code: "ICD10:I10", label: "Essential hypertension" },
      { code: "ICD10:E11", label: "Type 2 diabetes mellitus" },
    ],
  },
  {
    slug: "eunomia-gibleed",
    stewardIndex: 1,
    // OMOP's own sample: condition and drug eras with SNOMED/RxNorm concepts (see its README).
    source: { kind: "omop", folder: VENDORED_EUNOMIA, skipOrphans: true },
    title: "Eunomia GiBleed (OMOP CDM)",
    description:
      "OHDSI's Eunomia GiBleed sample, imported from OMOP CDM v5.3: 2,694 synthetic persons with condition and drug eras (SNOMED, RxNorm) and the concept hierarchy, for studies such as gastrointestinal bleeding after NSAID exposure.",
    price: parseEther("90"),
    accessDays: 30,
    conditions: [
      { code: "SNOMED:74474003", label: "Gastrointestinal hemorrhage" },
      { code: "SNOMED:13200003", label: "Peptic ulcer" },
    ],
  },
];

/** The opaque on-chain id of a demo dataset: a hash, so it reveals nothing about the cohort. */
export function demoDatasetId(dataset: DemoDataset): Hex {
  return keccak256(stringToHex(`opencohort-demo:${dataset.slug}`));
}

/** The off-chain metadata document whose hash goes on chain (the API checks the same hash). */
export function demoMetadata(dataset: DemoDataset, schemaVersion: string): DatasetMetadata {
  return {
    title: dataset.title,
    description: dataset.description,
    conditions: dataset.conditions,
    schemaVersion,
  };
}
