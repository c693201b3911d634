import { type Hex, keccak256, stringToHex } from "viem";

/**
 * A dataset's off-chain metadata, whose hash the steward puts on chain (listDataset /
 * setMetadata). The API accepts metadata for a dataset only if it hashes to the mirrored
 * on-chain `metadataHash`, so the catalogue shows what the steward committed to.
 */
export type DatasetMetadata = {
  title: string;
  description: string;
  /** Condition codes the dataset covers, e.g. { code: "ICD10:E11", label: "Type 2 diabetes mellitus" }. */
  conditions: readonly { code: string; label: string }[];
  /** Schema version label, e.g. "omop-lite/1" (its keccak256 is the on-chain schemaVersion). */
  schemaVersion: string;
};

/**
 * The canonical form that is hashed: exactly these keys in this order — title, description,
 * conditions (each { code, label }, in the steward's order), schemaVersion — with nothing
 * else, serialised by `JSON.stringify` without whitespace.
 */
export function canonicalDatasetMetadata(metadata: DatasetMetadata): DatasetMetadata {
  return {
    title: metadata.title,
    description: metadata.description,
    conditions: metadata.conditions.map(({ code, label }) => ({ code, label })),
    schemaVersion: metadata.schemaVersion,
  };
}

/** keccak256 of the UTF-8 bytes of `JSON.stringify(canonicalDatasetMetadata(metadata))`. */
export function datasetMetadataHash(metadata: DatasetMetadata): Hex {
  return keccak256(stringToHex(JSON.stringify(canonicalDatasetMetadata(metadata))));
}

/** keccak256 of a schema version label ("omop-lite/1"): how the chain names schema versions. */
export function schemaVersionHash(label: string): Hex {
  return keccak256(stringToHex(label));
}
