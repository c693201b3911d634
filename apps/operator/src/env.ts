import { type ChainEnv, devAccountKey, LOCAL_CHAIN_ID, parseChainEnv } from "@opencohort/chain";
import { loadDbEnv } from "@opencohort/db";
import { type LogEnv, loadLogEnv } from "@opencohort/log";
import type { Hex } from "viem";
import { z } from "zod";

const operatorEnvSchema = z.object({
  OPERATOR_POLL_INTERVAL_MS: z.coerce
    .number({ error: "OPERATOR_POLL_INTERVAL_MS must be a number of milliseconds" })
    .int()
    .min(100, "OPERATOR_POLL_INTERVAL_MS must be at least 100")
    .default(1_000),
  OPERATOR_EPOCH_SECONDS: z.coerce
    .number({ error: "OPERATOR_EPOCH_SECONDS must be a number of seconds" })
    .int("OPERATOR_EPOCH_SECONDS must be a whole number of seconds")
    .min(1, "OPERATOR_EPOCH_SECONDS must be at least 1")
    .default(300),
  OPERATOR_EPOCH_SETTLE_SECONDS: z.coerce
    .number({ error: "OPERATOR_EPOCH_SETTLE_SECONDS must be a number of seconds" })
    .int("OPERATOR_EPOCH_SETTLE_SECONDS must be a whole number of seconds")
    .min(0, "OPERATOR_EPOCH_SETTLE_SECONDS must not be negative")
    .default(60),
  /** Serves /health and /ready on this port (src/health.ts); unset: no health server. */
  OPERATOR_HEALTH_PORT: z.coerce
    .number({ error: "OPERATOR_HEALTH_PORT must be a port number" })
    .int("OPERATOR_HEALTH_PORT must be a port number")
    .min(1, "OPERATOR_HEALTH_PORT must be between 1 and 65535")
    .max(65_535, "OPERATOR_HEALTH_PORT must be between 1 and 65535")
    .optional(),
});

export interface OperatorEnv {
  chain: ChainEnv;
  databaseUrl: string;
  operatorKey: Hex;
  pollIntervalMs: number;
  /** How long an epoch stays open before the operator closes it. */
  epochSeconds: number;
  /**
   * How long a due epoch may wait for its in-flight (PENDING/RUNNING) queries to finish, so
   * that their receipts are not left out of its anchor; after that it closes regardless.
   */
  epochSettleSeconds: number;
  /** Null: no health server. */
  healthPort: number | null;
  /** LOG_FORMAT (human lines by default, json for production) and LOG_LEVEL. */
  log: LogEnv;
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
    epochSeconds: parsed.data.OPERATOR_EPOCH_SECONDS,
    epochSettleSeconds: parsed.data.OPERATOR_EPOCH_SETTLE_SECONDS,
    healthPort: parsed.data.OPERATOR_HEALTH_PORT ?? null,
    log: loadLogEnv(source),
  };
}
