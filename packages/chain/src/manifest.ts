import { existsSync, readFileSync } from "node:fs";
import { type Address, getAddress, type PublicClient } from "viem";
import { z } from "zod";

export const deployedContractNames = [
  "CohortToken",
  "StewardBadge",
  "TimelockController",
  "StewardGovernor",
  "StandardsRegistry",
  "DatasetRegistry",
  "Marketplace",
  "ConsentRegistry",
  "RewardDistributor",
  "QueryLedger",
  "ResearcherCredential",
] as const;
export type DeployedContractName = (typeof deployedContractNames)[number];

const addressSchema = z
  .string()
  .regex(/^0x[0-9a-fA-F]{40}$/)
  .transform((value) => getAddress(value));

/** Written by contracts/script/Deploy.s.sol; read by everything that talks to the chain. */
export const deploymentManifestSchema = z.object({
  chainId: z.number().int().positive(),
  startBlock: z.number().int().nonnegative(),
  contracts: z.object(
    Object.fromEntries(deployedContractNames.map((name) => [name, addressSchema])) as Record<
      DeployedContractName,
      typeof addressSchema
    >,
  ),
});
export type DeploymentManifest = z.infer<typeof deploymentManifestSchema>;
export type ContractAddresses = Record<DeployedContractName, Address>;

export class DeploymentManifestError extends Error {
  override name = "DeploymentManifestError";
}

export function readDeploymentManifest(path: string): DeploymentManifest {
  if (!existsSync(path)) {
    throw new DeploymentManifestError(
      `No deployment manifest at ${path}: deploy the contracts first (the dev stack does this).`,
    );
  }
  let raw: unknown;
  try {
    raw = JSON.parse(readFileSync(path, "utf8"));
  } catch {
    throw new DeploymentManifestError(`The deployment manifest at ${path} is not valid JSON.`);
  }
  const parsed = deploymentManifestSchema.safeParse(raw);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw new DeploymentManifestError(
      `The deployment manifest at ${path} is malformed at "${issue?.path.join(".")}": ${issue?.message}.`,
    );
  }
  return parsed.data;
}

/**
 * A manifest is stale when the chain it describes is gone (anvil restarted without its
 * state, or another chain behind the same URL): then some address has no code.
 */
export async function isManifestLive(
  client: PublicClient,
  manifest: DeploymentManifest,
): Promise<boolean> {
  if ((await client.getChainId()) !== manifest.chainId) return false;
  const codes = await Promise.all(
    deployedContractNames.map((name) => client.getCode({ address: manifest.contracts[name] })),
  );
  return codes.every((code) => code !== undefined && code !== "0x");
}
