/**
 * The public observer of issue 16: someone who reads every block, transaction and event of the
 * chain and knows one patient's wallet address, and tries to learn which datasets that patient
 * consented to. Used by the dev-stack test against a real run; every link it can compute from
 * chain data alone is tried, and each dataset it can attribute is reported with the link.
 *
 * Links tried:
 * - consent: a ConsentSet/ConsentSkipped naming the wallet as patient;
 * - sender: a transaction the wallet sent that carries a dataset id (e.g. setConsent);
 * - co-occurrence: a transaction whose input or logs name the wallet and a consenting identity
 *   or a dataset id (a relayer batching the wallet's claim with an identity's consent);
 * - transfer: ETH or token transfers between the wallet and a consenting identity (funding an
 *   identity's gas, sweeping its tokens) attribute that identity's datasets;
 * - amount: the wallet's payouts per epoch against the published rule (every paid consent active
 *   for the whole epoch earns the epoch's unit, the pool divided by every whole-epoch consent on
 *   chain; apps/operator rewards/pooled.ts): a payout of k units is consistent with any k
 *   datasets that had a consenting identity; a dataset in every consistent set is attributed.
 * Not computable from one run: whether the number of units changes when few identities change
 * consent in the same epoch (see the README's privacy section).
 */
import {
  type ContractAddresses,
  consentRegistryAbi,
  datasetRegistryAbi,
  rewardDistributorAbi,
} from "@opencohort/chain";
import {
  type Abi,
  type Address,
  decodeEventLog,
  decodeFunctionData,
  erc20Abi,
  type Hex,
  type Log,
  type PublicClient,
} from "viem";

export interface ObservedLink {
  kind: "consent" | "sender" | "co-occurrence" | "transfer" | "amount";
  datasetId: Hex;
  detail: string;
}

export interface Observation {
  /** Datasets the observer could attribute to the wallet, each with the links that did. */
  found: Map<Hex, ObservedLink[]>;
  /** How much was read: the observer's whole view. */
  read: {
    blocks: number;
    transactions: number;
    logs: number;
    datasets: number;
    identities: number;
  };
  /** The wallet's payouts, for the amount link. */
  payouts: { epoch: bigint; amount: bigint }[];
}

interface DecodedLog {
  log: Log;
  eventName: string;
  args: Record<string, unknown>;
}

const lower = (value: string) => value.toLowerCase();

function decodeAny(log: Log, abis: Abi[]): DecodedLog | null {
  for (const abi of abis) {
    try {
      const decoded = decodeEventLog({ abi, data: log.data, topics: log.topics, strict: true });
      if (decoded.eventName) {
        return {
          log,
          eventName: decoded.eventName,
          args: decoded.args as unknown as Record<string, unknown>,
        };
      }
    } catch {
      // Not this contract's event.
    }
  }
  return null;
}

/** Reads the whole chain as anybody can, and tries every link from `wallet` to a dataset. */
export async function observeWallet(
  reader: PublicClient,
  contracts: ContractAddresses,
  wallet: Address,
): Promise<Observation> {
  const target = lower(wallet);
  const latest = await reader.getBlockNumber();
  const logs = await reader.getLogs({ fromBlock: 0n, toBlock: latest });
  const abis: Abi[] = [consentRegistryAbi, datasetRegistryAbi, rewardDistributorAbi, erc20Abi];
  const decoded = logs.flatMap((log) => decodeAny(log, abis) ?? []);

  const datasetIds = new Set(
    decoded
      .filter((entry) => entry.eventName === "DatasetListed")
      .map((entry) => lower(String(entry.args.datasetId)) as Hex),
  );
  // Every consenting address (an identity, or a wallet that consented itself) -> datasets.
  const datasetsOf = new Map<string, Set<Hex>>();
  const consentEvents = decoded.filter(
    (entry) =>
      (entry.eventName === "ConsentSet" || entry.eventName === "ConsentSkipped") &&
      lower(entry.log.address) === lower(contracts.ConsentRegistry),
  );
  for (const entry of consentEvents) {
    const patient = lower(String(entry.args.patient));
    const datasetId = lower(String(entry.args.datasetId)) as Hex;
    datasetsOf.set(patient, (datasetsOf.get(patient) ?? new Set()).add(datasetId));
  }

  const found = new Map<Hex, ObservedLink[]>();
  const attribute = (link: ObservedLink) =>
    found.set(link.datasetId, [...(found.get(link.datasetId) ?? []), link]);

  // consent: the wallet itself consented.
  for (const datasetId of datasetsOf.get(target) ?? []) {
    attribute({ kind: "consent", datasetId, detail: "ConsentSet names the wallet as patient" });
  }

  // Every transaction, as a block explorer shows it.
  let transactions = 0;
  const txsByHash = new Map<
    string,
    { from: string; to: string | null; input: Hex; value: bigint }
  >();
  for (let number = 0n; number <= latest; number++) {
    const block = await reader.getBlock({ blockNumber: number, includeTransactions: true });
    for (const tx of block.transactions) {
      transactions += 1;
      txsByHash.set(lower(tx.hash), {
        from: lower(tx.from),
        to: tx.to ? lower(tx.to) : null,
        input: tx.input,
        value: tx.value,
      });
    }
  }
  const bare = target.slice(2);
  // Each transaction's logs, grouped once (not filtered out of every log per transaction).
  const logsByTx = new Map<string, Log[]>();
  for (const log of logs) {
    const hash = lower(log.transactionHash ?? "");
    logsByTx.set(hash, [...(logsByTx.get(hash) ?? []), log]);
  }
  for (const [hash, tx] of txsByHash) {
    const rawLogs = logsByTx.get(hash) ?? [];
    const mentionsWallet =
      tx.from === target ||
      tx.to === target ||
      lower(tx.input).includes(bare) ||
      rawLogs.some(
        (log) =>
          log.topics.some((topic) => topic && lower(topic).includes(bare)) ||
          lower(log.data).includes(bare),
      );
    if (!mentionsWallet) continue;
    // sender: a call by the wallet that names a dataset.
    if (tx.from === target && tx.to === lower(contracts.ConsentRegistry)) {
      try {
        const call = decodeFunctionData({ abi: consentRegistryAbi, data: tx.input });
        const datasetId = call.args?.find(
          (arg) => typeof arg === "string" && datasetIds.has(lower(arg) as Hex),
        );
        if (typeof datasetId === "string") {
          attribute({
            kind: "sender",
            datasetId: lower(datasetId) as Hex,
            detail: `tx ${hash} ${call.functionName}`,
          });
        }
      } catch {
        // Not a ConsentRegistry call.
      }
    }
    // co-occurrence: the same transaction names the wallet and a dataset or a consenting identity.
    const text = `${lower(tx.input)} ${rawLogs
      .map((log) => `${log.topics.join(" ")} ${log.data}`)
      .join(" ")
      .toLowerCase()}`;
    for (const datasetId of datasetIds) {
      if (text.includes(datasetId.slice(2))) {
        attribute({
          kind: "co-occurrence",
          datasetId,
          detail: `tx ${hash} names the wallet and the dataset`,
        });
      }
    }
    for (const [identity, datasets] of datasetsOf) {
      if (identity === target || !text.includes(identity.slice(2))) continue;
      for (const datasetId of datasets) {
        attribute({
          kind: "co-occurrence",
          datasetId,
          detail: `tx ${hash} names the wallet and identity ${identity}`,
        });
      }
    }
  }

  // transfer: ETH or tokens between the wallet and a consenting identity.
  const counterparties = new Set<string>();
  for (const tx of txsByHash.values()) {
    if (tx.value > 0n && tx.from === target && tx.to) counterparties.add(tx.to);
    if (tx.value > 0n && tx.to === target) counterparties.add(tx.from);
  }
  for (const entry of decoded.filter((e) => e.eventName === "Transfer")) {
    const from = lower(String(entry.args.from));
    const to = lower(String(entry.args.to));
    if (from === target) counterparties.add(to);
    if (to === target) counterparties.add(from);
  }
  for (const counterparty of counterparties) {
    for (const datasetId of datasetsOf.get(counterparty) ?? []) {
      if (counterparty === target) continue;
      attribute({ kind: "transfer", datasetId, detail: `transfer with identity ${counterparty}` });
    }
  }

  // amount: payouts against the published rule.
  const claimed = decoded.filter(
    (entry) =>
      entry.eventName === "Claimed" &&
      lower(entry.log.address) === lower(contracts.RewardDistributor),
  );
  const payouts = claimed
    .filter((entry) => lower(String(entry.args.account)) === target)
    .map((entry) => ({
      epoch: BigInt(String(entry.args.epoch)),
      amount: BigInt(String(entry.args.amount)),
    }));
  const consentingDatasets = new Set([...datasetsOf.values()].flatMap((set) => [...set]));
  for (const payout of payouts) {
    // The epoch's unit: the greatest common divisor of every payout of the epoch.
    const gcd = (a: bigint, b: bigint): bigint => (b === 0n ? a : gcd(b, a % b));
    const unit = claimed
      .filter((entry) => BigInt(String(entry.args.epoch)) === payout.epoch)
      .map((entry) => BigInt(String(entry.args.amount)))
      .reduce(gcd, 0n);
    if (unit === 0n || payout.amount % unit !== 0n) continue;
    const units = Number(payout.amount / unit);
    // Consistent sets: any `units` datasets with a consenting identity. A dataset is in every
    // consistent set only when there are exactly that many such datasets.
    if (units === consentingDatasets.size) {
      for (const datasetId of consentingDatasets) {
        attribute({
          kind: "amount",
          datasetId,
          detail: `epoch ${payout.epoch}: ${units} unit(s) = every consenting dataset`,
        });
      }
    }
  }

  return {
    found,
    read: {
      blocks: Number(latest) + 1,
      transactions,
      logs: logs.length,
      datasets: datasetIds.size,
      identities: datasetsOf.size,
    },
    payouts,
  };
}
