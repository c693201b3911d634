import { spawn } from "node:child_process";
import { join } from "node:path";
import {
  createChainPublicClient,
  type DeploymentManifest,
  devAccountKey,
  isManifestLive,
  LOCAL_CHAIN_ID,
  readDeploymentManifest,
} from "@opencohort/chain";
import { type Address, parseEther } from "viem";
import { privateKeyToAddress } from "viem/accounts";
import { repoRoot } from "./env";

const contractsDir = join(repoRoot, "contracts");
export const manifestPath = join(contractsDir, "deployments", `${LOCAL_CHAIN_ID}.json`);

const devAddress = (index: Parameters<typeof devAccountKey>[1]): Address =>
  privateKeyToAddress(devAccountKey(LOCAL_CHAIN_ID, index));

/** Who gets what at deployment on the local chain: the cast of the demo. */
export const demoCast = {
  deployer: devAddress(0),
  stewards: [devAddress(1), devAddress(2), devAddress(3)],
  researchers: [devAddress(4), devAddress(5)],
  patients: [devAddress(6), devAddress(7), devAddress(8)],
  operator: devAddress(9),
} as const;

/** The manifest of the contracts already on this chain, or undefined when they must be deployed. */
export async function liveDeployment(rpcUrl: string): Promise<DeploymentManifest | undefined> {
  try {
    const manifest = readDeploymentManifest(manifestPath);
    const client = createChainPublicClient({ chainId: LOCAL_CHAIN_ID, rpcUrl });
    return (await isManifestLive(client, manifest)) ? manifest : undefined;
  } catch {
    return undefined;
  }
}

/** Runs contracts/script/Deploy.s.sol against the local chain and returns the fresh manifest. */
export async function deployContracts(
  rpcUrl: string,
  log: (line: string) => void,
): Promise<DeploymentManifest> {
  // Researchers need tokens to buy access; everybody else starts with a little.
  const allocations: [Address, bigint][] = [
    ...demoCast.researchers.map((address): [Address, bigint] => [address, parseEther("100000")]),
    ...[...demoCast.stewards, ...demoCast.patients].map((address): [Address, bigint] => [
      address,
      parseEther("1000"),
    ]),
  ];
  const env = {
    ...process.env,
    INITIAL_STEWARDS: demoCast.stewards.join(","),
    TOKEN_RECIPIENTS: allocations.map(([address]) => address).join(","),
    TOKEN_AMOUNTS: allocations.map(([, amount]) => amount.toString()).join(","),
    OPERATOR: demoCast.operator,
    TREASURY: demoCast.deployer,
    FOUNDRY_DISABLE_NIGHTLY_WARNING: "1",
  };
  const args = [
    "script",
    "script/Deploy.s.sol:Deploy",
    "--rpc-url",
    rpcUrl,
    "--broadcast",
    "--private-key",
    devAccountKey(LOCAL_CHAIN_ID, 0),
    "--slow",
  ];
  const output: string[] = [];
  const code = await new Promise<number | null>((resolve, reject) => {
    const child = spawn(join(contractsDir, "node_modules", ".bin", "forge"), args, {
      cwd: contractsDir,
      env,
      stdio: ["ignore", "pipe", "pipe"],
    });
    const collect = (chunk: Buffer) => {
      for (const line of chunk.toString().split("\n")) {
        if (!line.trim()) continue;
        output.push(line);
        if (/Contract Address|ONCHAIN EXECUTION|Error/i.test(line)) log(line.trim());
      }
    };
    child.stdout.on("data", collect);
    child.stderr.on("data", collect);
    child.once("error", reject);
    child.once("exit", resolve);
  });
  if (code !== 0) {
    throw new Error(`Deploying the contracts failed:\n${output.slice(-15).join("\n")}`);
  }
  const manifest = readDeploymentManifest(manifestPath);
  const client = createChainPublicClient({ chainId: LOCAL_CHAIN_ID, rpcUrl });
  if (!(await isManifestLive(client, manifest))) {
    throw new Error(`The deploy script wrote ${manifestPath}, but its addresses hold no code.`);
  }
  return manifest;
}
