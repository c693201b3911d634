/**
 * The receipt of an executed query and its hash, the leaf the operator anchors per epoch in
 * QueryLedger (`StandardMerkleTree.of(receiptHashes.map((h) => [h]), ["bytes32"])`).
 *
 * Canonical receipt and hash (version 3; version 2 hashed includedPersonCount in the clear,
 * version 1 also lacked maxGroupsPerPerson):
 *
 *   hiddenCommitment = keccak256(abi.encode(
 *     bytes32 tagHidden,            // keccak256("OpenCohort.QueryReceipt.Hidden/3")
 *     bytes32 salt,                 // 32 random bytes per query, kept server-side only
 *     uint256 includedPersonCount
 *   ))
 *
 *   receiptHash = keccak256(abi.encode(
 *     bytes32 tag,                  // keccak256("OpenCohort.QueryReceipt/3")
 *     uint256 chainId,
 *     bytes32 queryId,              // keccak256(utf8(Query.id)): two runs of one query differ
 *     address researcher,
 *     bytes32 datasetId,
 *     bytes32 queryHash,            // compute's canonical query hash (sha256)
 *     bytes32 datasetVersionHash,   // manifest content hash of the version queried (on chain)
 *     uint256 consentSnapshotBlock, // indexed block the consented set was read at
 *     bytes32 parametersHash,       // keccak256(utf8(canonicalParameters(...)))
 *     bytes32 resultHash,           // compute's hash of the released result
 *     bytes32 hiddenCommitment,     // commits to the fields the researcher must not learn
 *     uint256 epoch
 *   ))
 *
 * Why the salt: the researcher sees every other field, so a hash over the raw count could be
 * opened by trying every count from 0 to the consented population (milliseconds). The salt
 * is 256 random bits the researcher never sees, so no guess can be checked. The owner is
 * shown hiddenCommitment and can recompute receiptHash from the fields shown, then check it
 * against the epoch's anchored root (`query.receiptProof`). An auditor opens the commitment
 * with the salt and count from `discloseReceipt` (services/receipt-disclosure.ts, CLI
 * `pnpm --filter @opencohort/api receipt:disclose <queryId>`), which no procedure exposes.
 *
 * `canonicalParameters` is JSON with the keys sorted and no whitespace:
 * `{"contributionCap":10,"epsilonPerQuery":"100000000000000000","maxGroupsPerPerson":1,"minCellSize":11,"roundingBase":5}`
 * (epsilon as its 18-decimal fixed-point integer, in decimal, so no float formatting enters;
 * maxGroupsPerPerson is compute's contribution bound: 1 for person-level queries, more for
 * event-level ones, whose noise it multiplies).
 * ABI encoding makes the hashes reproducible from Solidity as well as from TypeScript.
 */
import { randomBytes } from "node:crypto";
import {
  type Address,
  bytesToHex,
  encodeAbiParameters,
  type Hex,
  keccak256,
  stringToHex,
} from "viem";

export const RECEIPT_VERSION = 3;
export const RECEIPT_TAG = keccak256(stringToHex("OpenCohort.QueryReceipt/3"));
export const RECEIPT_HIDDEN_TAG = keccak256(stringToHex("OpenCohort.QueryReceipt.Hidden/3"));

/** A fresh receipt salt: 32 random bytes, 0x-hex. */
export function newReceiptSalt(): Hex {
  return bytesToHex(randomBytes(32));
}

/** The commitment to a receipt's hidden fields (today: the included-person count). */
export function hiddenCommitment(salt: Hex, includedPersonCount: number): Hex {
  return keccak256(
    encodeAbiParameters(
      [{ type: "bytes32" }, { type: "bytes32" }, { type: "uint256" }],
      [RECEIPT_HIDDEN_TAG, salt, BigInt(includedPersonCount)],
    ),
  ).toLowerCase() as Hex;
}

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
  /** `hiddenCommitment(salt, includedPersonCount)`. */
  hiddenCommitment: Hex;
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
        { type: "bytes32" },
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
        receipt.hiddenCommitment,
        BigInt(receipt.epoch),
      ],
    ),
  ).toLowerCase() as Hex;
}
