import { type Hex, keccak256, stringToHex, verifyTypedData } from "viem";
import { privateKeyToAccount } from "viem/accounts";
import { describe, expect, it } from "vitest";
import {
  consentIdentityTypedData,
  deriveConsentIdentity,
  identityBindingTypedData,
  identityFromSignature,
  payoutAddressTypedData,
} from "./identity";

const wallet = privateKeyToAccount(keccak256(stringToHex("identity-test-wallet")));
const otherWallet = privateKeyToAccount(keccak256(stringToHex("identity-test-other")));
const datasetA = keccak256(stringToHex("dataset-a"));
const datasetB = keccak256(stringToHex("dataset-b"));
const chainId = 31337;

describe("consent identities", () => {
  it("gives a wallet the same identity for a dataset every time, and another per dataset", async () => {
    const first = await deriveConsentIdentity(wallet, chainId, datasetA);
    const again = await deriveConsentIdentity(wallet, chainId, datasetA);
    const otherDataset = await deriveConsentIdentity(wallet, chainId, datasetB);
    const otherChain = await deriveConsentIdentity(wallet, 8453, datasetA);
    const otherOwner = await deriveConsentIdentity(otherWallet, chainId, datasetA);
    expect(again).toEqual(first);
    const addresses = [first, otherDataset, otherChain, otherOwner].map((id) => id.address);
    expect(new Set(addresses).size).toBe(4);
    expect(addresses).not.toContain(wallet.address.toLowerCase());
    // The key is the identity's: it signs as that address.
    expect(privateKeyToAccount(first.privateKey).address.toLowerCase()).toBe(first.address);
  });

  it("derives from the signature of the fixed message naming the dataset, not the raw hash", async () => {
    const signature = await wallet.signTypedData(consentIdentityTypedData(chainId, datasetA));
    const identity = identityFromSignature(signature);
    expect(identity).toEqual(await deriveConsentIdentity(wallet, chainId, datasetA));
    expect(identity.privateKey).not.toBe(keccak256(signature));
  });

  it("refuses anything but a 65-byte signature", () => {
    expect(() => identityFromSignature("0x1234")).toThrow(/65-byte/);
    expect(() => identityFromSignature(`0x${"zz".repeat(65)}` as Hex)).toThrow(/65-byte/);
  });

  it("binds and names a payout address with the identity's own signatures", async () => {
    const identity = await deriveConsentIdentity(wallet, chainId, datasetA);
    const signer = privateKeyToAccount(identity.privateKey);
    const binding = identityBindingTypedData(chainId, {
      identity: signer.address,
      wallet: wallet.address,
      datasetId: datasetA,
    });
    const bound = await signer.signTypedData(binding);
    expect(await verifyTypedData({ ...binding, address: signer.address, signature: bound })).toBe(
      true,
    );
    // The wallet's own signature is not the identity's.
    const forged = await wallet.signTypedData(binding);
    expect(await verifyTypedData({ ...binding, address: signer.address, signature: forged })).toBe(
      false,
    );
    const payout = payoutAddressTypedData(chainId, {
      identity: signer.address,
      payout: wallet.address,
      issuedAt: 1_700_000_000n,
    });
    const named = await signer.signTypedData(payout);
    expect(await verifyTypedData({ ...payout, address: signer.address, signature: named })).toBe(
      true,
    );
  });
});
