import {
  CONSENT_BATCH_SIZE,
  type DeploymentManifest,
  rewardDistributorAbi,
  type SignedConsent,
  type SigningClient,
  submitConsentBatch,
} from "@opencohort/chain";
import type { Db } from "@opencohort/db";
import {
  type Address,
  BaseError,
  ContractFunctionRevertedError,
  type Hex,
  type PublicClient,
} from "viem";
import { ensureOnChainOnce, NotOnChainError } from "./epochs/transactions";

/**
 * Sends the oldest pending signed consents in one batch. The row is marked SUBMITTED with
 * the transaction before the indexer settles it (APPLIED or FAILED from the chain's events),
 * so a crash between sending and indexing never sends a message twice: a stale nonce would
 * be skipped on chain anyway.
 *
 * A batch carries the consent of at most one identity per patient: two identities of one
 * wallet in one transaction would tell an observer that they belong together (the others wait
 * for the next turn). The wallet is known here only from the steward's enrolment table.
 */
export async function relayPendingConsents(
  db: Db,
  signer: SigningClient,
  reader: PublicClient,
  manifest: DeploymentManifest,
): Promise<number> {
  const pending = await db.consentRelayRequest.findMany({
    where: { status: "PENDING" },
    orderBy: { createdAt: "asc" },
    take: CONSENT_BATCH_SIZE,
    select: {
      id: true,
      patientAddress: true,
      datasetId: true,
      granted: true,
      nonce: true,
      deadline: true,
      signature: true,
    },
  });
  if (pending.length === 0) return 0;
  const now = BigInt(Math.floor(Date.now() / 1000));
  const expired = pending.filter((request) => BigInt(request.deadline) < now);
  if (expired.length > 0) {
    await db.consentRelayRequest.updateMany({
      where: { id: { in: expired.map((request) => request.id) } },
      data: {
        status: "FAILED",
        error: "The signature expired before it could be relayed; sign again.",
      },
    });
  }
  const sendable = await oneIdentityPerPatient(
    db,
    pending.filter((request) => BigInt(request.deadline) >= now),
  );
  if (sendable.length === 0) return 0;
  const batch: SignedConsent[] = sendable.map((request) => ({
    patient: request.patientAddress as Address,
    datasetId: request.datasetId as Hex,
    granted: request.granted,
    nonce: BigInt(request.nonce),
    deadline: BigInt(request.deadline),
    signature: request.signature as Hex,
  }));
  const ids = sendable.map((request) => request.id);
  try {
    const { txHash } = await submitConsentBatch(
      signer,
      reader,
      manifest.contracts.ConsentRegistry,
      batch,
    );
    await db.consentRelayRequest.updateMany({
      where: { id: { in: ids }, status: "PENDING" },
      data: { status: "SUBMITTED", txHash: txHash.toLowerCase(), attempts: { increment: 1 } },
    });
  } catch (error) {
    await db.consentRelayRequest.updateMany({
      where: { id: { in: ids } },
      data: {
        attempts: { increment: 1 },
        error: (error as Error).message.split("\n")[0] ?? "relay failed",
      },
    });
    throw error;
  }
  return sendable.length;
}

/**
 * The requests whose identity is the first of its patient's in `requests` (oldest first); an
 * identity with no enrolment known here stands alone.
 */
async function oneIdentityPerPatient<T extends { patientAddress: string }>(
  db: Db,
  requests: T[],
): Promise<T[]> {
  const identities = [...new Set(requests.map((request) => request.patientAddress.toLowerCase()))];
  const enrolments = await db.enrolment.findMany({
    where: { identityAddress: { in: identities }, patientAddress: { not: null } },
    select: { identityAddress: true, patientAddress: true },
  });
  const walletOf = new Map(enrolments.map((row) => [row.identityAddress, row.patientAddress]));
  const chosenOf = new Map<string, string>();
  return requests.filter((request) => {
    const identity = request.patientAddress.toLowerCase();
    const patient = walletOf.get(identity) ?? identity;
    const chosen = chosenOf.get(patient);
    if (chosen === undefined) chosenOf.set(patient, identity);
    return chosen === undefined || chosen === identity;
  });
}

/** Claim requests handled per loop turn (each is one `claimBatch` transaction). */
const CLAIMS_PER_TURN = 20;

/** The contract's refusal inside a viem error (a simulation or call that reverted), if any. */
function revertOf(error: unknown): ContractFunctionRevertedError | null {
  if (!(error instanceof BaseError)) return null;
  const reverted = error.walk((cause) => cause instanceof ContractFunctionRevertedError);
  return reverted instanceof ContractFunctionRevertedError ? reverted : null;
}

/**
 * Why the chain refused a claim, for the patient's reward page: the contract's error name
 * (e.g. ClaimWindowOver), not viem's multi-line message, whose first line only says that the
 * call reverted. Null when the chain did not answer at all (node unreachable, relayer out of
 * gas, receipt timed out): that is no reason to give up the patient's request.
 */
function refusalReason(error: unknown): string | null {
  if (error instanceof NotOnChainError) return error.message;
  const reverted = revertOf(error);
  if (!reverted) return null;
  const name = reverted.data?.errorName ?? reverted.reason;
  return name ? `The chain refused the claim: ${name}.` : "The chain refused the claim.";
}

/**
 * Sends the patients' claim requests (reward.requestClaim): one `claimBatch` per payout
 * address, paid by the relayer, with the stored proofs. The tokens go to the payout address in
 * the leaves, whoever sends. Epochs claimed meanwhile (e.g. by the patient directly) are left
 * out; a request whose epochs are all claimed is APPLIED without a transaction. A request the
 * chain refuses (e.g. its claim window ended) is FAILED with the reason; one the relayer could
 * not get an answer for (node unreachable, no gas) stays as it is, to be tried next turn, and
 * the error is thrown for the loop to report.
 *
 * A request left SUBMITTED (the process died after sending) is taken up again with its
 * transaction: waited for if still pending, APPLIED if it was mined, sent again if dropped.
 * Otherwise it would stay SUBMITTED for good, and reward.requestClaim refuses new claims
 * while one is on its way.
 */
export async function relayPendingClaims(
  db: Db,
  signer: SigningClient,
  reader: PublicClient,
  manifest: DeploymentManifest,
  log: (line: string) => void,
): Promise<number> {
  const pending = await db.claimRelayRequest.findMany({
    where: { status: { in: ["PENDING", "SUBMITTED"] } },
    orderBy: { createdAt: "asc" },
    take: CLAIMS_PER_TURN,
    select: { id: true, payoutAddress: true, epochs: true, txHash: true },
  });
  let sent = 0;
  for (const request of pending) {
    const epochs = (Array.isArray(request.epochs) ? request.epochs : []).map(Number);
    const payout = request.payoutAddress as Address;
    const isClaimed = (epoch: number) =>
      reader.readContract({
        address: manifest.contracts.RewardDistributor,
        abi: rewardDistributorAbi,
        functionName: "isClaimed",
        args: [BigInt(epoch), payout],
      });
    const rows = await db.rewardPayout.findMany({
      where: { payoutAddress: request.payoutAddress, epoch: { in: epochs } },
      orderBy: { epoch: "asc" },
      select: { epoch: true, amount: true, proof: true },
    });
    const open: typeof rows = [];
    for (const row of rows) if (!(await isClaimed(row.epoch))) open.push(row);
    const settle = (data: { status: "APPLIED" | "FAILED"; error?: string; txHash?: string }) =>
      db.claimRelayRequest.update({
        where: { id: request.id },
        data: { error: null, ...data, attempts: { increment: 1 } },
        select: { id: true },
      });
    if (open.length === 0) {
      await settle({ status: "APPLIED" });
      continue;
    }
    const claims = open.map((row) => ({
      epoch: BigInt(row.epoch),
      amount: BigInt(row.amount),
      proof: (Array.isArray(row.proof) ? row.proof.map(String) : []) as Hex[],
    }));
    try {
      const outcome = await ensureOnChainOnce(reader, {
        label: `claim of ${open.length} epoch(s) for a payout address`,
        previousTxHash: request.txHash,
        log,
        isDone: async () => {
          for (const row of open) if (!(await isClaimed(row.epoch))) return false;
          return true;
        },
        send: async () => {
          const { request: call } = await reader.simulateContract({
            account: signer.account,
            address: manifest.contracts.RewardDistributor,
            abi: rewardDistributorAbi,
            functionName: "claimBatch",
            args: [payout, claims],
          });
          return signer.writeContract(call);
        },
        recordSent: async (txHash) => {
          await db.claimRelayRequest.update({
            where: { id: request.id },
            data: { status: "SUBMITTED", txHash: txHash.toLowerCase() },
            select: { id: true },
          });
        },
      });
      await settle({ status: "APPLIED" });
      if (outcome === "mined") sent += 1;
    } catch (error) {
      const refusal = refusalReason(error);
      if (refusal === null) {
        await db.claimRelayRequest.update({
          where: { id: request.id },
          data: {
            attempts: { increment: 1 },
            error: "The relayer could not reach the chain; it will try again.",
          },
          select: { id: true },
        });
        throw error;
      }
      await settle({ status: "FAILED", error: refusal });
    }
  }
  return sent;
}
