import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type RunningAnvil, startAnvil } from "./anvil";
import { createChainPublicClient } from "./clients";
import { deployedContractNames, isManifestLive, readDeploymentManifest } from "./manifest";

const dir = mkdtempSync(join(tmpdir(), "oc-manifest-"));
const someAddress = "0x5FbDB2315678afecb367f032d93F642f64180aa3";
const manifestJson = {
  chainId: 31337,
  startBlock: 1,
  contracts: Object.fromEntries(deployedContractNames.map((name) => [name, someAddress])),
};

function writeManifest(name: string, content: string): string {
  const path = join(dir, name);
  writeFileSync(path, content);
  return path;
}

afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe("readDeploymentManifest", () => {
  it("reads a well-formed manifest and checksums its addresses", () => {
    const path = writeManifest(
      "ok.json",
      JSON.stringify(manifestJson).replaceAll(someAddress, someAddress.toLowerCase()),
    );
    const manifest = readDeploymentManifest(path);
    expect(manifest.contracts.CohortToken).toBe(someAddress);
  });

  it("names the missing file", () => {
    expect(() => readDeploymentManifest(join(dir, "absent.json"))).toThrow(
      /No deployment manifest at .*absent\.json/,
    );
  });

  it("names the malformed field", () => {
    const broken = {
      ...manifestJson,
      contracts: { ...manifestJson.contracts, QueryLedger: "0x12" },
    };
    const path = writeManifest("bad.json", JSON.stringify(broken));
    expect(() => readDeploymentManifest(path)).toThrow(/malformed at "contracts\.QueryLedger"/);
  });

  it("rejects a file that is not JSON", () => {
    const path = writeManifest("garbage.json", "{ not json");
    expect(() => readDeploymentManifest(path)).toThrow(/not valid JSON/);
  });
});

describe("isManifestLive against a real anvil", () => {
  let anvil: RunningAnvil;
  beforeAll(async () => {
    anvil = await startAnvil();
  });
  afterAll(async () => {
    await anvil.stop();
  });

  it("is false when the addresses hold no code (a fresh chain)", async () => {
    const client = createChainPublicClient({ chainId: 31337, rpcUrl: anvil.rpcUrl });
    const manifest = readDeploymentManifest(
      writeManifest("live.json", JSON.stringify(manifestJson)),
    );
    expect(await isManifestLive(client, manifest)).toBe(false);
  });

  it("is true once every address holds code", async () => {
    const client = createChainPublicClient({ chainId: 31337, rpcUrl: anvil.rpcUrl });
    const manifest = readDeploymentManifest(
      writeManifest("live2.json", JSON.stringify(manifestJson)),
    );
    await client.request({
      method: "anvil_setCode" as never,
      params: [someAddress, "0x6001600055"] as never,
    });
    expect(await isManifestLive(client, manifest)).toBe(true);
  });
});
