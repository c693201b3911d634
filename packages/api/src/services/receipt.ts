/**
 * The receipt of an executed query and its hash, the leaf the operator anchors per epoch in
 * QueryLedger (`StandardMerkleTree.of(receiptHashes.map((h) => [h]), ["bytes32"])`).
 *
 * Canonical receipt and hash (version 2; version 1 lacked maxGroupsPerPerson):
 *
 *   receiptHash = keccak256(abi.encode(
 *     bytes32 tag,                  // keccak256("OpenCohort.QueryReceipt/2")
 *     uint256 chainId,
 *     bytes32 queryId,              // keccak256(utf8(Query.id)): two runs of one query differ
 *     address researcher,
 *     bytes32 datasetId,
 *     bytes32 queryHash,            // compute's canonical query hash (sha256)
 *     bytes32 datasetVersionHash,   // manifest content hash of the version queried (on chain)
 *     uint256 consentSnapshotBlock, // indexed block the consented set was read at
 *     bytes32 parametersHash,       // keccak256(utf8(canonicalParameters(...)))
 *     bytes32 resultHash,           // compute's hash of the released result
 *     uint256 includedPersonCount,
 *     uint256 epoch
 *   ))
 *
 * `canonicalParameters` is JSON with the keys sorted and no whitespace:
 * `{"contributionCap":10,"epsilonPerQuery":"100000000000000000","maxGroupsPerPerson":1,"minCellSize":11,"roundingBase":5}`
 * (epsilon as its 18-decimal fixed-point integer, in decimal, so no float formatting enters;
 * maxGroupsPerPerson is compute's contribution bound: 1 for person-level queries, more for
 * event-level ones, whose noise it multiplies).
 * ABI encoding makes the hash reproducible from Solidity as well as from TypeScript.
 */
import { type Address, encodeAbiParameters, type Hex, keccak256, stringToHex } from "viem";

export const RECEIPT_TAG = keccak256(stringToHex("OpenCohort.QueryReceipt/2"));

export interface ReceiptParameters {
  minCellSize: number;
  roundingBase: number;
  /** 18-decimal fixed point, decimal string. */
  epsilonPerQuery: string;
  contributionCap: number;
  /** Groups one person can count in (compute's contribution bound). */
  maxGroupsPerPerson: number;
}

export interface CanonicalReceipt {
  chainId: number;
  queryId: string;
  researcher: Address;
  datasetId: Hex;
  queryHash: Hex;
  datasetVersionHash: Hex;
  consentSnapshotBlock: bigint;
  parameters: ReceiptParameters;
  resultHash: Hex;
  includedPersonCount: number;
  epoch: number;
}

export function canonicalParameters(parameters: ReceiptParameters): string {
  return JSON.stringify({
    contributionCap: parameters.contributionCap,
    epsilonPerQuery: BigInt(parameters.epsilonPerQuery).toString(),
    maxGroupsPerPerson: parameters.maxGroupsPerPerson,
    minCellSize: parameters.minCellSize,
    roundingBase: parameters.roundingBase,
  });
}

export function receiptHash(receipt: CanonicalReceipt): Hex {
  return keccak256(
    encodeAbiParameters(
      [
        { type: "bytes32" },
        { type: "uint256" },
        { type: "bytes32" },
        { type: "address" },
        { type: "bytes32" },
        { type: "bytes32" },
        { type: "bytes32" },
        { type: "uint256" },
        { type: "bytes32" },
        { type: "bytes32" },
        { type: "uint256" },
        { type: "uint256" },
      ],
      [
        RECEIPT_TAG,
        BigInt(receipt.chainId),
        keccak256(stringToHex(receipt.queryId)),
        receipt.researcher,
        receipt.datasetId,
        receipt.queryHash,
        receipt.datasetVersionHash,
        receipt.consentSnapshotBlock,
        keccak256(stringToHex(canonicalParameters(receipt.parameters))),
        receipt.resultHash,
        BigInt(receipt.includedPersonCount),
        BigInt(receipt.epoch),
      ],
    ),
  ).toLowerCase() as Hex;
}
