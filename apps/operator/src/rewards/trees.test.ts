import { StandardMerkleTree } from "@openzeppelin/merkle-tree";
import { keccak256, stringToHex } from "viem";
import { describe, expect, it } from "vitest";
import {
  buildReceiptTree,
  buildRewardTree,
  receiptLeafEncoding,
  receiptProofIn,
  rewardLeafEncoding,
} from "./trees";

const A = "0x70997970c51812dc3a010c7d01b50e0d17dc79c8";
const B = "0x3c44cdddb6a900fa2b585dd299e03d12fa4293bc";

describe("the published Merkle trees", () => {
  it("proves every payout leaf against the root, with the contracts' leaf encoding", () => {
    const tree = buildRewardTree([
      { payoutAddress: A, amount: 5n },
      { payoutAddress: B, amount: 10n ** 30n },
    ]);
    expect(
      StandardMerkleTree.verify(tree.root, rewardLeafEncoding, [A, "5"], tree.proofs.get(A) ?? []),
    ).toBe(true);
    expect(
      StandardMerkleTree.verify(tree.root, rewardLeafEncoding, [A, "6"], tree.proofs.get(A) ?? []),
    ).toBe(false);
    expect(tree.proofs.get(B)).toHaveLength(1);
  });

  it("gives one share a proof-less tree whose root is its leaf", () => {
    const tree = buildRewardTree([{ payoutAddress: A, amount: 7n }]);
    expect(tree.proofs.get(A)).toEqual([]);
  });

  it("builds the same receipt root whatever the order, and proves each receipt", () => {
    const hashes = [1, 2, 3].map((n) => keccak256(stringToHex(`receipt ${n}`)));
    const root = buildReceiptTree(hashes).root;
    expect(buildReceiptTree([...hashes].reverse()).root).toBe(root);
    const found = receiptProofIn(hashes, hashes[1] as string);
    expect(found?.root).toBe(root);
    expect(
      StandardMerkleTree.verify(root, receiptLeafEncoding, [hashes[1]], found?.proof ?? []),
    ).toBe(true);
    expect(receiptProofIn(hashes, keccak256(stringToHex("other")))).toBeNull();
  });

  it("refuses empty trees (the contracts refuse empty roots)", () => {
    expect(() => buildRewardTree([])).toThrow();
    expect(() => buildReceiptTree([])).toThrow();
  });
});
