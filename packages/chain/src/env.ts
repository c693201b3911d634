import { existsSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { z } from "zod";
import { LOCAL_CHAIN_ID } from "./dev-accounts";

/** The folder holding pnpm-workspace.yaml, found from the working directory upwards. */
function findRepoRoot(from: string): string {
  let dir = resolve(from);
  while (!existsSync(join(dir, "pnpm-workspace.yaml"))) {
    const parent = dirname(dir);
    if (parent === dir) return resolve(from);
    dir = parent;
  }
  return dir;
}

const privateKeySchema = z
  .string()
  .regex(/^0x[0-9a-fA-F]{64}$/, "must be a 0x-prefixed 32-byte hex private key");

const chainEnvSchema = z
  .object({
    OPENCOHORT_RPC_URL: z
      .string()
      .default("http://127.0.0.1:8545")
      .pipe(z.url({ protocol: /^(https?|wss?)$/, error: "must be an http(s) or ws(s) URL" })),
    OPENCOHORT_CHAIN_ID: z.coerce.number().int().positive().default(LOCAL_CHAIN_ID),
    OPENCOHORT_DEPLOYMENT: z.string().optional(),
    /** Signs relayed consents, reward roots and receipt anchors. Defaults to anvil #9 locally. */
    OPENCOHORT_OPERATOR_KEY: privateKeySchema.optional(),
    OPENCOHORT_CONFIRMATIONS: z.coerce.number().int().nonnegative().default(0),
  })
  .superRefine((env, ctx) => {
    if (env.OPENCOHORT_CHAIN_ID !== LOCAL_CHAIN_ID && !env.OPENCOHORT_OPERATOR_KEY) {
      ctx.addIssue({
        code: "custom",
        path: ["OPENCOHORT_OPERATOR_KEY"],
        message: "is required on any chain but the local one (dev keys exist only locally)",
      });
    }
  });

export interface ChainEnv {
  rpcUrl: string;
  chainId: number;
  deploymentPath: string;
  operatorKey: `0x${string}` | undefined;
  confirmations: number;
}

export class ChainEnvError extends Error {
  override name = "ChainEnvError";
}

export function parseChainEnv(source: Record<string, string | undefined>): ChainEnv {
  const parsed = chainEnvSchema.safeParse(source);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw new ChainEnvError(`${String(issue?.path[0])} ${issue?.message}.`);
  }
  const env = parsed.data;
  return {
    rpcUrl: env.OPENCOHORT_RPC_URL,
    chainId: env.OPENCOHORT_CHAIN_ID,
    deploymentPath:
      env.OPENCOHORT_DEPLOYMENT ??
      join(
        findRepoRoot(process.cwd()),
        "contracts",
        "deployments",
        `${env.OPENCOHORT_CHAIN_ID}.json`,
      ),
    operatorKey: env.OPENCOHORT_OPERATOR_KEY as `0x${string}` | undefined,
    confirmations: env.OPENCOHORT_CONFIRMATIONS,
  };
}

/** The chain configuration of this process, validated once. */
export const chainEnv = (): ChainEnv => parseChainEnv(process.env);
