import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import {
  createChainPublicClient,
  createSigningClient,
  datasetRegistryAbi,
  devAccountKey,
} from "@opencohort/chain";
import { type RunningAnvil, startAnvil } from "@opencohort/chain/anvil";
import { contractsDir, deployContracts } from "@opencohort/chain/deploy";
import { createIndexer } from "@opencohort/chain/indexer/indexer";
import { createDb, migrate } from "@opencohort/db";
import { keccak256, parseEther, stringToHex } from "viem";
import { afterAll, beforeAll, describe, expect, it } from "vitest";

const workDir = mkdtempSync(join(tmpdir(), "oc-web-"));
const manifestPath = join(contractsDir, "deployments", `test-web-${process.pid}.json`);
let anvil: RunningAnvil;

beforeAll(async () => {
  anvil = await startAnvil();
  const manifest = await deployContracts({
    rpcUrl: anvil.rpcUrl,
    deployerKey: devAccountKey(31337, 0),
    manifestPath,
  });
  const databaseUrl = `file:${join(workDir, "web.db")}`;
  await migrate(databaseUrl);
  const steward = createSigningClient(
    { chainId: 31337, rpcUrl: anvil.rpcUrl },
    devAccountKey(31337, 1),
  );
  const datasetId = keccak256(stringToHex("web-overview"));
  const hash = await steward.writeContract({
    address: manifest.contracts.DatasetRegistry,
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
  const client = createChainPublicClient({ chainId: 31337, rpcUrl: anvil.rpcUrl });
  await client.waitForTransactionReceipt({ hash });
  const db = createDb(databaseUrl);
  await createIndexer({ db, client, manifest }).syncOnce();
  await db.dataset.update({
    where: { id: datasetId },
    data: { title: "Web test cohort" },
    select: { id: true },
  });
  await db.$disconnect();
  Object.assign(process.env, {
    OPENCOHORT_RPC_URL: anvil.rpcUrl,
    OPENCOHORT_DEPLOYMENT: manifestPath,
    DATABASE_URL: databaseUrl,
  });
});

afterAll(async () => {
  await anvil?.stop();
  rmSync(workDir, { recursive: true, force: true });
  rmSync(manifestPath, { force: true });
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
