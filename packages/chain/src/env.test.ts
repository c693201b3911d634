import { bytesToHex } from "viem";
import { mnemonicToAccount } from "viem/accounts";
import { describe, expect, it } from "vitest";
import { devAccountKey } from "./dev-accounts";
import { ChainEnvError, parseChainEnv } from "./env";

describe("parseChainEnv", () => {
  it("defaults to the local anvil chain", () => {
    const env = parseChainEnv({});
    expect(env.rpcUrl).toBe("http://127.0.0.1:8545");
    expect(env.chainId).toBe(31337);
    expect(env.deploymentPath).toMatch(/contracts\/deployments\/31337\.json$/);
  });

  it("names a malformed RPC URL in one sentence", () => {
    expect(() => parseChainEnv({ OPENCOHORT_RPC_URL: "localhost:8545" })).toThrow(ChainEnvError);
    expect(() => parseChainEnv({ OPENCOHORT_RPC_URL: "ftp://x" })).toThrow(
      /^OPENCOHORT_RPC_URL must be/,
    );
  });

  it("requires an operator key on any chain but the local one", () => {
    expect(() => parseChainEnv({ OPENCOHORT_CHAIN_ID: "11155111" })).toThrow(
      /OPENCOHORT_OPERATOR_KEY is required/,
    );
  });
});

describe("devAccountKey", () => {
  it("gives anvil's keys on the local chain only", () => {
    for (const index of [0, 1, 2, 3, 4, 5, 6, 7, 8, 9] as const) {
      const derived = mnemonicToAccount(
        "test test test test test test test test test test test junk",
        {
          addressIndex: index,
        },
      ).getHdKey().privateKey;
      expect(devAccountKey(31337, index)).toBe(derived && bytesToHex(derived));
    }
    expect(() => devAccountKey(1, 0)).toThrow(/only on the local chain/);
  });
});
