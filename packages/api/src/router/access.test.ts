import { devAccountKey, LOCAL_CHAIN_ID, marketplaceAbi } from "@opencohort/chain";
import { type Hex, parseSignature } from "viem";
import { privateKeyToAccount } from "viem/accounts";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startTestSystem, type TestSystem, writeAs } from "../testing/harness";
import { type ListedDataset, listOnChain } from "../testing/listing";

let system: TestSystem;
let dataset: ListedDataset;

beforeAll(async () => {
  system = await startTestSystem();
  // Access needs only the on-chain listing: no files.
  dataset = await listOnChain(system, {
    slug: "access-terms",
    contentHash: `0x${"5a".repeat(32)}`,
    metadata: { title: "Terms", description: "", conditions: [], schemaVersion: "omop-lite/2" },
    price: 250n * 10n ** 18n,
    accessDays: 30,
  });
});
afterAll(async () => {
  await system?.stop();
});

describe("access", () => {
  it("needs a session", async () => {
    await expect(system.anonymous().access.myPasses()).rejects.toMatchObject({
      code: "UNAUTHORIZED",
    });
    await expect(
      system.anonymous().access.purchaseTerms({ datasetId: dataset.datasetId }),
    ).rejects.toMatchObject({ code: "UNAUTHORIZED" });
  });

  it("shows a researcher their credential and what it allows", async () => {
    const { caller, address } = await system.signIn(4);
    const mine = await caller.access.myCredential();
    expect(mine).toMatchObject({
      accredited: true,
      credential: { suspended: false, revoked: false, expiresAt: null, addresses: [address] },
    });
    const { caller: patient } = await system.signIn(6);
    expect(await patient.access.myCredential()).toMatchObject({
      accredited: false,
      credential: null,
    });
  });

  it("gives purchase terms whose permit buys a pass in one transaction", async () => {
    const { caller, address } = await system.signIn(4);
    const researcher = privateKeyToAccount(devAccountKey(LOCAL_CHAIN_ID, 4));
    expect(await caller.access.myPasses()).toEqual([]);
    await expect(
      caller.access.purchaseTerms({ datasetId: `0x${"ee".repeat(32)}` }),
    ).rejects.toMatchObject({ code: "NOT_FOUND" });
    await expect(caller.access.purchaseTerms({ datasetId: "nope" })).rejects.toMatchObject({
      code: "BAD_REQUEST",
      message: expect.stringMatching(/^datasetId: /),
    });

    const terms = await caller.access.purchaseTerms({ datasetId: dataset.datasetId });
    expect(terms).toMatchObject({
      listed: true,
      price: (250n * 10n ** 18n).toString(),
      priceFormatted: "250",
      accessDurationSeconds: 30 * 24 * 60 * 60,
      token: { name: "OpenCohort", symbol: "COHORT", decimals: 18 },
      balanceFormatted: "1000000",
      canAfford: true,
      currentExpiry: null,
      active: false,
      marketplace: system.manifest.contracts.Marketplace,
      permit: {
        domain: {
          name: "OpenCohort",
          version: "1",
          chainId: LOCAL_CHAIN_ID,
          verifyingContract: system.manifest.contracts.CohortToken,
        },
        primaryType: "Permit",
        message: {
          owner: researcher.address,
          spender: system.manifest.contracts.Marketplace,
          value: terms.price,
          nonce: "0",
        },
      },
    });

    // What the web app does: sign the permit with a deadline, then buy with it.
    const deadline = BigInt(Math.floor(Date.now() / 1000) + 3_600);
    const signature = await researcher.signTypedData({
      domain: terms.permit.domain,
      types: terms.permit.types,
      primaryType: "Permit",
      message: {
        ...terms.permit.message,
        value: BigInt(terms.permit.message.value),
        nonce: BigInt(terms.permit.message.nonce),
        deadline,
      },
    });
    const { v, r, s } = parseSignature(signature);
    await writeAs(system, 4, {
      address: terms.marketplace,
      abi: marketplaceAbi,
      functionName: "purchaseAccessWithPermit",
      args: [
        dataset.datasetId,
        BigInt(terms.price),
        BigInt(terms.minExpiresAt),
        deadline,
        Number(v),
        r as Hex,
        s as Hex,
      ],
    });
    await system.services.chain.indexer.syncOnce();

    const passes = await caller.access.myPasses();
    expect(passes).toEqual([
      {
        datasetId: dataset.datasetId,
        // The steward has not supplied metadata: the pass is shown by id.
        title: "",
        listed: true,
        expiresAt: expect.any(Date),
        active: true,
        txHash: expect.stringMatching(/^0x[0-9a-f]{64}$/),
      },
    ]);
    const after = await caller.access.purchaseTerms({ datasetId: dataset.datasetId });
    expect(after).toMatchObject({
      active: true,
      balanceFormatted: "999750",
      permit: { message: { nonce: "1" } },
    });
    expect(after.currentExpiry?.getTime()).toBe(passes[0]?.expiresAt.getTime());
    // Nobody else sees this pass.
    const { caller: other } = await system.signIn(5);
    expect(await other.access.myPasses()).toEqual([]);
    expect(address).toBe(researcher.address.toLowerCase());
  });
});
