import { createHash } from "node:crypto";
import { join, resolve } from "node:path";
import {
  createChainPublicClient,
  type DeploymentManifest,
  devAccountKey,
  isManifestLive,
  LOCAL_CHAIN_ID,
  readDeploymentManifest,
} from "@opencohort/chain";
import { contractsDir, deployContracts } from "@opencohort/chain/deploy";
import { type Address, parseEther } from "viem";
import { privateKeyToAddress } from "viem/accounts";
import { defaultStateDir } from "./env";

/**
 * The manifest of the dev stack whose state lives in `stateDir`: the usual
 * contracts/deployments/31337.json for the default state folder, a name of its own for any
 * other (tests), so that two stacks never overwrite each other's manifest.
 */
export function manifestPathFor(stateDir: string): string {
  const name =
    resolve(stateDir) === resolve(defaultStateDir)
      ? `${LOCAL_CHAIN_ID}.json`
      : `${LOCAL_CHAIN_ID}-${createHash("sha256").update(resolve(stateDir)).digest("hex").slice(0, 12)}.json`;
  return join(contractsDir, "deployments", name);
}

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
export async function liveDeployment(
  rpcUrl: string,
  manifestPath: string,
): Promise<DeploymentManifest | undefined> {
  try {
    const manifest = readDeploymentManifest(manifestPath);
    const client = createChainPublicClient({ chainId: LOCAL_CHAIN_ID, rpcUrl });
    return (await isManifestLive(client, manifest)) ? manifest : undefined;
  } catch {
    return undefined;
  }
}

/** Deploys the system for the demo: stewards, token allocations and the operator above. */
export async function deployDemoContracts(
  rpcUrl: string,
  manifestPath: string,
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
  return deployContracts({
    rpcUrl,
    deployerKey: devAccountKey(LOCAL_CHAIN_ID, 0),
    manifestPath,
    parameters: {
      INITIAL_STEWARDS: demoCast.stewards.join(","),
      TOKEN_RECIPIENTS: allocations.map(([address]) => address).join(","),
      TOKEN_AMOUNTS: allocations.map(([, amount]) => amount.toString()).join(","),
      OPERATOR: demoCast.operator,
      TREASURY: demoCast.deployer,
    },
    onLine: (line) => {
      if (/Contract Address|ONCHAIN EXECUTION|Error/i.test(line)) log(line.trim());
    },
  });
}
