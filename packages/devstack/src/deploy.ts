import { createHash } from "node:crypto";
import { existsSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { join, resolve } from "node:path";
import {
  createChainPublicClient,
  type DeploymentManifest,
  deployedContractNames,
  devAccountKey,
  isManifestLive,
  LOCAL_CHAIN_ID,
  readDeploymentManifest,
} from "@opencohort/chain";
import { contractsDir, deployContracts } from "@opencohort/chain/deploy";
import { type Address, keccak256, parseEther, stringToHex } from "viem";
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
  /** May pause purchases and claims and veto reward roots: the first steward in the demo. */
  guardian: devAddress(1),
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
      // The demo researchers hold a credential from the start; anyone else is accredited
      // through a steward proposal (README: "Accrediting a researcher").
      INITIAL_RESEARCHERS: demoCast.researchers.join(","),
      RESEARCHER_METADATA: keccak256(stringToHex("opencohort/dev-accreditation")),
      GUARDIAN: demoCast.guardian,
      // Short dev delays (refused by the deploy script off chain 31337): votes last seconds,
      // the timelock waits one second, reward roots are claimable at once.
      VOTING_DELAY: "1",
      VOTING_PERIOD: "20",
      VOTE_EXTENSION: "5",
      TIMELOCK_DELAY: "1",
      CHALLENGE_WINDOW: "0",
    },
    onLine: (line) => {
      if (/Contract Address|ONCHAIN EXECUTION|Error/i.test(line)) log(line.trim());
    },
  });
}

/** Where the dev stack notes which contract build its local chain was deployed from. */
const buildIdFile = (stateDir: string) => join(stateDir, "contracts-build-id");

/**
 * A fingerprint of the compiled contracts the dev stack deploys (their runtime bytecode in
 * `forge build` output), so a chain deployed from older sources is recognised.
 */
export function contractsBuildId(): string {
  const hash = createHash("sha256");
  for (const name of deployedContractNames) {
    const artifact = join(contractsDir, "out", `${name}.sol`, `${name}.json`);
    const parsed = JSON.parse(readFileSync(artifact, "utf8")) as {
      deployedBytecode?: { object?: string };
    };
    hash.update(`${name}:${parsed.deployedBytecode?.object ?? ""}\n`);
  }
  return hash.digest("hex");
}

/**
 * When the saved local chain was deployed from other contract sources than the current build,
 * its contracts cannot serve this code (a new function, a new event): the chain state, its
 * manifest and the default database mirroring it are removed, so this start deploys afresh.
 * Dataset files are kept. Returns whether it reset.
 */
export function resetIfContractsChanged(options: {
  stateDir: string;
  manifestPath: string;
  buildId: string;
  /** The default SQLite mirror, if the database is the dev stack's own. */
  databaseFile: string | null;
}): boolean {
  const chainState = join(options.stateDir, "anvil-state.json");
  const recorded = existsSync(buildIdFile(options.stateDir))
    ? readFileSync(buildIdFile(options.stateDir), "utf8").trim()
    : null;
  const stale = existsSync(chainState) && recorded !== options.buildId;
  if (stale) {
    for (const file of [chainState, options.manifestPath, options.databaseFile]) {
      if (file) rmSync(file, { force: true });
    }
  }
  writeFileSync(buildIdFile(options.stateDir), `${options.buildId}\n`);
  return stale;
}
