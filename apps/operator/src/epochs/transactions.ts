/**
 * Sending a transaction whose effect must happen exactly once, across restarts. The chain is
 * the judge of "done" (a view call), never the database alone: the process may have died
 * after the transaction was mined but before anything was recorded.
 */
import {
  type Hex,
  type PublicClient,
  TransactionNotFoundError,
  TransactionReceiptNotFoundError,
} from "viem";

export interface OnceOnChain {
  /** Whether the effect is on chain already (e.g. the root is posted). */
  isDone(): Promise<boolean>;
  /** The transaction sent for it before, if one was recorded. */
  previousTxHash: string | null;
  /** Simulates and sends the transaction; a simulation that reverts throws. */
  send(): Promise<Hex>;
  /** Records a sent transaction before waiting for it, so a restart finds it. */
  recordSent(txHash: Hex): Promise<void>;
  log(line: string): void;
  /** What is sent, for log lines: "reward root of dataset 0x.. epoch 3". */
  label: string;
}

export type OnceOutcome = "already-on-chain" | "mined";

/** The transaction was mined but did not have its effect (it reverted on chain). */
export class NotOnChainError extends Error {
  override name = "NotOnChainError";
}

type TransactionState = "pending" | "mined" | "unknown";

async function transactionState(reader: PublicClient, hash: Hex): Promise<TransactionState> {
  try {
    await reader.getTransactionReceipt({ hash });
    return "mined";
  } catch (error) {
    if (!(error instanceof TransactionReceiptNotFoundError)) throw error;
  }
  try {
    await reader.getTransaction({ hash });
    return "pending";
  } catch (error) {
    if (error instanceof TransactionNotFoundError) return "unknown";
    throw error;
  }
}

/**
 * Makes sure the effect is on chain. A transaction sent before a restart that is still
 * pending is waited for rather than duplicated (a duplicate would only revert, but costs
 * gas); one that was dropped or reverted is replaced. Should two land anyway, the contract
 * refuses the second (roots and anchors are immutable), so the effect happens once.
 */
export async function ensureOnChainOnce(
  reader: PublicClient,
  action: OnceOnChain,
): Promise<OnceOutcome> {
  if (await action.isDone()) return "already-on-chain";

  const previous = action.previousTxHash as Hex | null;
  if (previous && (await transactionState(reader, previous)) === "pending") {
    action.log(`waiting for the ${action.label} sent before (tx ${previous})`);
    await reader.waitForTransactionReceipt({ hash: previous });
    if (await action.isDone()) return "mined";
  }

  let txHash: Hex;
  try {
    txHash = await action.send();
  } catch (error) {
    // The simulation reverts when the effect landed between our check and now.
    if (await action.isDone()) return "already-on-chain";
    throw error;
  }
  await action.recordSent(txHash);
  action.log(`sent the ${action.label} (tx ${txHash})`);
  const receipt = await reader.waitForTransactionReceipt({ hash: txHash });
  if (await action.isDone()) return "mined";
  throw new NotOnChainError(
    `The ${action.label} (tx ${txHash}) was mined with status ${receipt.status} but is not on chain.`,
  );
}
