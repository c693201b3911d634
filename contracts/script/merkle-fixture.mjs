#!/usr/bin/env node
// Writes test/fixtures/merkle.json: reward and receipt trees built by the real
// @openzeppelin/merkle-tree, so the Solidity tests prove that the contracts accept exactly the
// proofs the off-chain code (StandardMerkleTree) produces. Reward trees are one per epoch for all
// datasets, one leaf (payout address, amount) per payout address: no dataset id anywhere. Deterministic: re-running it gives
// the same file. Usage: `pnpm --filter @opencohort/contracts fixtures`.
import { createHash } from "node:crypto";
import { writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { StandardMerkleTree } from "@openzeppelin/merkle-tree";

const root = join(dirname(fileURLToPath(import.meta.url)), "..");
const target = join(root, "test", "fixtures", "merkle.json");

const hex = (label, bytes) =>
  `0x${createHash("sha256")
    .update(label)
    .digest("hex")
    .slice(0, bytes * 2)}`;
const address = (label) => hex(`address:${label}`, 20);
const bytes32 = (label) => hex(`bytes32:${label}`, 32);

// Small tree (one epoch, five payout addresses): every claim is exercised by the tests.
const smallValues = [1, 2, 3, 4, 5].map((i) => [
  address(`patient-${i}`),
  String(BigInt(i) * 10n ** 18n),
]);
const small = StandardMerkleTree.of(smallValues, ["address", "uint256"]);
const smallTotal = smallValues.reduce((sum, [, amount]) => sum + BigInt(amount), 0n);

// Benchmark trees: 10 epochs of 1024 payout addresses each (proof depth 10), one address in all.
const benchAccount = address("bench-patient");
const benchEpochs = [];
for (let epoch = 1; epoch <= 10; epoch++) {
  const values = [];
  for (let i = 0; i < 1023; i++) {
    values.push([
      address(`bench-${epoch}-${i}`),
      String(BigInt(1 + ((i * 7919) % 1000)) * 10n ** 15n),
    ]);
  }
  const amount = String(BigInt(epoch) * 10n ** 17n);
  values.splice(epoch * 97, 0, [benchAccount, amount]);
  const tree = StandardMerkleTree.of(values, ["address", "uint256"]);
  const index = values.findIndex(([account]) => account === benchAccount);
  benchEpochs.push({
    epoch,
    root: tree.root,
    total: String(values.reduce((sum, [, a]) => sum + BigInt(a), 0n)),
    amount,
    proof: tree.getProof(index),
  });
}

// Query receipts: StandardMerkleTree over ["bytes32"] receipt hashes.
const receiptValues = Array.from({ length: 8 }, (_, i) => [bytes32(`receipt-${i}`)]);
const receipts = StandardMerkleTree.of(receiptValues, ["bytes32"]);

const fixture = {
  generator: "contracts/script/merkle-fixture.mjs (@openzeppelin/merkle-tree StandardMerkleTree)",
  small: {
    root: small.root,
    total: String(smallTotal),
    claims: smallValues.map(([account, amount], i) => ({
      account,
      amount,
      proof: small.getProof(i),
    })),
  },
  bench: { account: benchAccount, epochs: benchEpochs },
  receipts: {
    root: receipts.root,
    count: receiptValues.length,
    items: receiptValues.map(([receiptHash], i) => ({ receiptHash, proof: receipts.getProof(i) })),
  },
};
writeFileSync(target, `${JSON.stringify(fixture, null, 2)}\n`);
console.log(`wrote ${target}`);
