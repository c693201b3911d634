import { type ChainEnv, devAccountKey, LOCAL_CHAIN_ID, parseChainEnv } from "@opencohort/chain";
import { loadDbEnv } from "@opencohort/db";
import type { Hex } from "viem";
import { z } from "zod";

const operatorEnvSchema = z.object({
  OPERATOR_POLL_INTERVAL_MS: z.coerce
    .number({ error: "OPERATOR_POLL_INTERVAL_MS must be a number of milliseconds" })
    .int()
    .min(100, "OPERATOR_POLL_INTERVAL_MS must be at least 100")
    .default(1_000),
});

export interface OperatorEnv {
  chain: ChainEnv;
  databaseUrl: string;
  operatorKey: Hex;
  pollIntervalMs: number;
}

/** Everything the operator reads from the environment, validated once at start. */
export function loadOperatorEnv(
  source: Record<string, string | undefined> = process.env,
): OperatorEnv {
  const chain = parseChainEnv(source);
  const { databaseUrl } = loadDbEnv(source);
  const parsed = operatorEnvSchema.safeParse(source);
  if (!parsed.success) throw new Error(`${parsed.error.issues[0]?.message}.`);
  return {
    chain,
    databaseUrl,
    // Dev keys only on the local chain: parseChainEnv already requires a key elsewhere.
    operatorKey: chain.operatorKey ?? devAccountKey(LOCAL_CHAIN_ID, 9),
    pollIntervalMs: parsed.data.OPERATOR_POLL_INTERVAL_MS,
  };
}
