import { type Hex, keccak256, stringToHex } from "viem";

/** The chain id anvil and the dev stack use. Dev keys are refused anywhere else. */
export const LOCAL_CHAIN_ID = 31337;

/**
 * anvil's well-known accounts (mnemonic "test test ... junk"). Public knowledge: they exist
 * only so the local chain can be used without a wallet extension. `devAccountKey` refuses
 * any other chain id so that a misconfigured deployment cannot sign with them.
 */
const anvilPrivateKeys = [
  "0xac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80",
  "0x59c6995e998f97a5a0044966f0945389dc9e86dae88c7a8412f4603b6b78690d",
  "0x5de4111afa1a4b94908f83103eb1f1706367c2e68ca870fc3fb9a804cdab365a",
  "0x7c852118294e51e653712a81e05800f419141751be58f605c371e15141b007a6",
  "0x47e179ec197488593b187f80a00eb0da91f1b9d0b13f8733639f19c30a34926a",
  "0x8b3a350cf5c34c9194ca85829a2df0ec3153be0318b5e2d3348e872092edffba",
  "0x92db14e403b83dfe3df233f83dfa3a0d7096f21ca9b0d6d6b8d88b2b4ec1564e",
  "0x4bbbf85ce3377467afe5d46f804f221813b2bb87f24d81f60f1fcdbf7cbf4356",
  "0xdbda1821b80551c9d65939329250298aa3472ba22feea921c0cf5d620ea67b97",
  "0x2a871d0798f97d79848a013d4936a73bf4cc922c825d33c1cf7073dff6d409c6",
] as const satisfies readonly Hex[];

/** What each dev account plays in the demo; the web app's account picker shows these. */
export const devAccountRoles = [
  "deployer",
  "steward (Northbridge Hospital)",
  "steward (Lakeside Registry)",
  "steward (Coastal Health)",
  "researcher (Dr. Ada Okafor)",
  "researcher (Dr. Lin Wei)",
  "patient (Maria)",
  "patient (Jonas)",
  "patient (Priya)",
  "operator",
] as const;

export type DevAccountIndex = 0 | 1 | 2 | 3 | 4 | 5 | 6 | 7 | 8 | 9;

export function devAccountKey(chainId: number, index: DevAccountIndex): Hex {
  if (chainId !== LOCAL_CHAIN_ID) {
    throw new Error(
      `Dev accounts exist only on the local chain (${LOCAL_CHAIN_ID}); chain ${chainId} needs keys from the environment.`,
    );
  }
  return anvilPrivateKeys[index];
}

/**
 * The key of a synthetic patient of the demo and of tests: derived from the dataset and the
 * person, so a re-run signs with the same wallet. Synthetic people only; real patients hold
 * their own keys.
 */
export function syntheticPatientKey(datasetId: Hex, personId: bigint): Hex {
  return keccak256(stringToHex(`opencohort-demo-patient:${datasetId}:${personId}`));
}
