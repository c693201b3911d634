import { spawn } from "node:child_process";
import { existsSync } from "node:fs";
import { dirname, join, relative } from "node:path";
import { fileURLToPath } from "node:url";
import type { Hex } from "viem";
import { createChainPublicClient } from "./clients";
import { LOCAL_CHAIN_ID } from "./dev-accounts";
import { type DeploymentManifest, isManifestLive, readDeploymentManifest } from "./manifest";

export const contractsDir = join(
  dirname(fileURLToPath(import.meta.url)),
  "..",
  "..",
  "..",
  "contracts",
);

export interface DeployOptions {
  rpcUrl: string;
  deployerKey: Hex;
  /** Deploy parameters read by Deploy.s.sol (INITIAL_STEWARDS, TOKEN_RECIPIENTS, ...). */
  parameters?: Record<string, string>;
  /** Must lie in contracts/deployments/ (the only folder the script may write). */
  manifestPath?: string;
  onLine?: (line: string) => void;
}

/**
 * Runs contracts/script/Deploy.s.sol (the one deploy script of the system) with forge and
 * returns the manifest it wrote, after checking that every address holds code.
 */
export async function deployContracts(options: DeployOptions): Promise<DeploymentManifest> {
  const manifestPath =
    options.manifestPath ?? join(contractsDir, "deployments", `${LOCAL_CHAIN_ID}.json`);
  const forge = join(contractsDir, "node_modules", ".bin", "forge");
  if (!existsSync(forge)) throw new Error(`forge is not installed at ${forge}: run pnpm install.`);
  const args = [
    "script",
    "script/Deploy.s.sol:Deploy",
    "--rpc-url",
    options.rpcUrl,
    "--broadcast",
    "--private-key",
    options.deployerKey,
  ];
  const output: string[] = [];
  const code = await new Promise<number | null>((resolve, reject) => {
    const child = spawn(forge, args, {
      cwd: contractsDir,
      env: {
        ...process.env,
        ...options.parameters,
        MANIFEST_PATH: relative(contractsDir, manifestPath),
        FOUNDRY_DISABLE_NIGHTLY_WARNING: "1",
      },
      stdio: ["ignore", "pipe", "pipe"],
    });
    const collect = (chunk: Buffer) => {
      for (const line of chunk.toString().split("\n")) {
        if (!line.trim()) continue;
        output.push(line);
        options.onLine?.(line);
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
  const client = createChainPublicClient({ chainId: manifest.chainId, rpcUrl: options.rpcUrl });
  if (!(await isManifestLive(client, manifest))) {
    throw new Error(`The deploy script wrote ${manifestPath}, but its addresses hold no code.`);
  }
  return manifest;
}
