import { datasetRegistryAbi } from "@opencohort/chain";
import { type LocalSystem, startLocalSystem } from "@opencohort/chain/testing/local-system";
import { keccak256, parseEther, stringToHex } from "viem";
import { afterAll, beforeAll, describe, expect, it } from "vitest";

let system: LocalSystem;

beforeAll(async () => {
  system = await startLocalSystem("web");
  const datasetId = keccak256(stringToHex("web-overview"));
  const hash = await system.signer(1).writeContract({
    address: system.manifest.contracts.DatasetRegistry,
    abi: datasetRegistryAbi,
    functionName: "listDataset",
    args: [
      datasetId,
      keccak256(stringToHex("meta")),
      keccak256(stringToHex("omop-lite/1")),
      keccak256(stringToHex("v1")),
      parseEther("42.5"),
      86_400n,
    ],
  });
  await system.reader.waitForTransactionReceipt({ hash });
  await system.sync();
  await system.db.dataset.update({
    where: { id: datasetId },
    data: { title: "Web test cohort" },
    select: { id: true },
  });
  // The module under test builds its services from the environment, as `next start` does.
  Object.assign(process.env, {
    OPENCOHORT_RPC_URL: system.anvil.rpcUrl,
    OPENCOHORT_DEPLOYMENT: system.manifestPath,
    DATABASE_URL: system.databaseUrl,
  });
});

afterAll(async () => {
  await system?.close();
});

describe("readOverview (the home page's data)", () => {
  it("reads the governed standards from the chain and the catalogue from the database", async () => {
    const { readOverview } = await import("./overview");
    const overview = await readOverview();
    expect(overview.chainId).toBe(31337);
    expect(overview.standards).toEqual({ minCellSize: 11, roundingBase: 5 });
    expect(overview.token.symbol).toBe("COHORT");
    expect(overview.datasets).toEqual([
      expect.objectContaining({ title: "Web test cohort", price: "42.5", consented: 0 }),
    ]);
  });
});
