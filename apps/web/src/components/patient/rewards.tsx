"use client";
import { useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import { useState } from "react";
import { erc20Abi, formatUnits, type Hex, isAddress } from "viem";
import { useTRPC, useTRPCClient } from "~/trpc/react";
import { type ChainInfo, connectWallet, walletErrorMessage } from "~/wallet/connect";
import { shortAddress } from "~/wallet/signers";
import { identityFor, signPayout } from "./identities";
import styles from "./patient.module.css";

interface ClaimOutcome {
  payout: string;
  txHash: string | null;
  before: bigint;
  after: bigint;
}

/**
 * Rewards: where they are paid, what each dataset earned me (only I see this), the payouts the
 * chain shows (by payout address, never by dataset), and claims the relayer sends for me.
 */
export function Rewards({ chain, address }: { chain: ChainInfo; address: string }) {
  const trpc = useTRPC();
  const client = useTRPCClient();
  const queryClient = useQueryClient();
  const rewards = useQuery({
    ...trpc.reward.myRewards.queryOptions(),
    refetchInterval: (query) => (query.state.data?.claimPending ? 1_500 : 10_000),
  });
  const [outcome, setOutcome] = useState<ClaimOutcome | null>(null);
  const fmt = (amount: bigint) =>
    `${Number(formatUnits(amount, 18)).toLocaleString("en-GB", { maximumFractionDigits: 6 })} ${chain.tokenSymbol}`;
  const invalidate = () =>
    queryClient.invalidateQueries({ queryKey: trpc.reward.myRewards.queryKey() });

  const claim = useMutation({
    mutationFn: async (payout: string): Promise<ClaimOutcome> => {
      setOutcome(null);
      const wallet = await connectWallet(chain, address);
      const balance = () =>
        wallet.publicClient.readContract({
          address: chain.token,
          abi: erc20Abi,
          functionName: "balanceOf",
          args: [payout as Hex],
        });
      const before = await balance();
      const { requests } = await client.reward.requestClaim.mutate();
      const ids = new Set(requests.map((request) => request.id));
      // The relayer sends the claim; wait until it settles.
      for (let attempt = 0; attempt < 120; attempt++) {
        const mine = (await client.reward.myRewards.query()).claimRequests.filter((request) =>
          ids.has(request.id),
        );
        const failed = mine.find((request) => request.status === "FAILED");
        if (failed)
          throw new Error(`The relayer could not claim: ${failed.error ?? "unknown reason"}`);
        if (mine.length === ids.size && mine.every((request) => request.status === "APPLIED")) {
          return { payout, txHash: mine[0]?.txHash ?? null, before, after: await balance() };
        }
        await new Promise((resolve) => setTimeout(resolve, 1_000));
      }
      throw new Error(
        "The relayer has not sent the claim yet; it stays queued, check again later.",
      );
    },
    onSuccess: async (result) => {
      setOutcome(result);
      await invalidate();
    },
    onError: invalidate,
  });

  const data = rewards.data;
  const payouts = [...new Set(data?.identities.flatMap((i) => (i.payout ? [i.payout] : [])))];
  const perEpoch = new Map<number, bigint>();
  for (const payout of data?.payouts ?? [])
    perEpoch.set(payout.epoch, (perEpoch.get(payout.epoch) ?? 0n) + payout.amount);

  return (
    <section className={styles.section} aria-labelledby="rewards-heading">
      <h2 id="rewards-heading">Rewards</h2>
      <p className="muted small">
        Every purchase funds one pool for all datasets. At the end of an epoch each consent that was
        active for the whole epoch earns the same share, whichever dataset, and all your shares are
        paid together to your payout address. The chain shows that this address was paid by
        OpenCohort, never for which dataset; only you see the breakdown below. Rewards never depend
        on which queries used your records.
      </p>
      {rewards.isPending && <p className="muted">Loading your rewards…</p>}
      {rewards.error && <p className="error">{rewards.error.message}</p>}
      {data && (
        <>
          <PayoutAddress
            chain={chain}
            address={address}
            current={payouts}
            identities={data.identities}
            onChanged={invalidate}
          />
          <div className={styles.totals}>
            <div>
              <span className="muted small">Claimable</span>
              <strong data-testid="claimable-total">{fmt(data.totals.claimable)}</strong>
            </div>
            <div>
              <span className="muted small">Claimed</span>
              <strong>{fmt(data.totals.claimed)}</strong>
            </div>
            <button
              type="button"
              data-testid="claim-all"
              disabled={data.totals.claimable === 0n || claim.isPending || data.claimPending}
              onClick={() => payouts[0] && claim.mutate(payouts[0])}
            >
              {claim.isPending || data.claimPending ? "Claiming…" : "Claim all"}
            </button>
          </div>
          <p className="muted small">
            The relayer sends the claim and pays its gas; the tokens go to your payout address.
          </p>
          {perEpoch.size > 0 && <EpochChart perEpoch={perEpoch} format={fmt} />}
          {claim.error && (
            <p className="error small" role="alert">
              {walletErrorMessage(claim.error)}
            </p>
          )}
          {outcome && (
            <p className={styles.success} role="status" data-testid="claim-result">
              Claimed by the relayer
              {outcome.txHash && (
                <>
                  {" "}
                  (tx <code title={outcome.txHash}>{outcome.txHash.slice(0, 10)}…</code>)
                </>
              )}
              . Balance of {shortAddress(outcome.payout)} {fmt(outcome.before)} →{" "}
              {fmt(outcome.after)} (+{fmt(outcome.after - outcome.before)}).
            </p>
          )}
          {data.shares.length === 0 ? (
            <p className="muted" data-testid="rewards-empty">
              No rewards yet: they appear after an epoch during which your consent was active from
              start to end and some dataset was purchased.
            </p>
          ) : (
            <>
              <h3 className="small">What each dataset earned you (only you see this)</h3>
              <table className={styles.table} data-testid="rewards-table">
                <thead>
                  <tr>
                    <th>Epoch</th>
                    <th>Dataset</th>
                    <th>Amount</th>
                    <th>Paid to</th>
                  </tr>
                </thead>
                <tbody>
                  {data.shares.map((share) => (
                    <tr key={`${share.epoch}-${share.datasetId}`}>
                      <td>{share.epoch}</td>
                      <td>{share.datasetTitle ?? "Untitled dataset"}</td>
                      <td>{fmt(share.amount)}</td>
                      <td title={share.payoutAddress}>{shortAddress(share.payoutAddress)}</td>
                    </tr>
                  ))}
                </tbody>
              </table>
              <h3 className="small">Payouts (what the chain shows)</h3>
              <table className={styles.table} data-testid="payouts-table">
                <thead>
                  <tr>
                    <th>Epoch</th>
                    <th>Payout address</th>
                    <th>Amount</th>
                    <th>Status</th>
                  </tr>
                </thead>
                <tbody>
                  {data.payouts.map((payout) => (
                    <tr key={`${payout.epoch}-${payout.payoutAddress}`}>
                      <td>{payout.epoch}</td>
                      <td title={payout.payoutAddress}>{shortAddress(payout.payoutAddress)}</td>
                      <td>{fmt(payout.amount)}</td>
                      <td>
                        {payout.claimed
                          ? "Claimed"
                          : payout.epochStatus === "POSTED"
                            ? "Claimable"
                            : "Root not posted yet"}
                      </td>
                    </tr>
                  ))}
                </tbody>
              </table>
            </>
          )}
        </>
      )}
    </section>
  );
}

/** Shows and changes where my identities' rewards are paid (each identity signs the change). */
function PayoutAddress({
  chain,
  address,
  current,
  identities,
  onChanged,
}: {
  chain: ChainInfo;
  address: string;
  current: string[];
  identities: { datasetId: string; identity: string; payout: string | null }[];
  onChanged: () => Promise<void>;
}) {
  const client = useTRPCClient();
  const [draft, setDraft] = useState("");
  const [editing, setEditing] = useState(false);
  const change = useMutation({
    mutationFn: async (payout: string) => {
      if (!isAddress(payout, { strict: false })) throw new Error("That is not an address.");
      const wallet = await connectWallet(chain, address);
      for (const entry of identities) {
        const identity = await identityFor(
          wallet,
          chain.chainId,
          entry.datasetId as Hex,
          entry.identity,
        );
        await client.reward.registerPayout.mutate({
          datasetId: entry.datasetId,
          ...(await signPayout(identity, chain.chainId, payout)),
        });
      }
    },
    onSuccess: async () => {
      setEditing(false);
      await onChanged();
    },
  });
  const isWallet = current.length === 1 && current[0] === address.toLowerCase();
  return (
    <div className={styles.payout} data-testid="payout-address">
      <p className="small">
        Payout address:{" "}
        {current.length === 0 ? (
          <span className="muted">not set yet (opting in sets it to your wallet)</span>
        ) : (
          current.map((payout) => (
            <code key={payout} title={payout}>
              {shortAddress(payout)}
            </code>
          ))
        )}
        {isWallet && " (your wallet)"}{" "}
        {identities.length > 0 && !editing && (
          <button type="button" className="secondary" onClick={() => setEditing(true)}>
            Change
          </button>
        )}
      </p>
      {isWallet && (
        <p className="muted small">
          Paid to your wallet, the chain shows that your wallet earned from OpenCohort and how many
          of your consents each payout sums, not which datasets. If few patients change their
          consent in the same epoch as you, a change in that number can hint at one. An address
          nobody knows as yours (a fresh account) avoids both.
        </p>
      )}
      {editing && (
        <form
          className={styles.payoutForm}
          onSubmit={(event) => {
            event.preventDefault();
            change.mutate(draft.trim());
          }}
        >
          <input
            aria-label="New payout address"
            placeholder="0x…"
            value={draft}
            onChange={(event) => setDraft(event.target.value)}
          />
          <button type="submit" disabled={change.isPending}>
            {change.isPending ? "Signing with each identity…" : "Save"}
          </button>
          <button type="button" className="secondary" onClick={() => setEditing(false)}>
            Cancel
          </button>
          {change.error && (
            <p className="error small" role="alert">
              {walletErrorMessage(change.error)}
            </p>
          )}
        </form>
      )}
    </div>
  );
}

function EpochChart({
  perEpoch,
  format,
}: {
  perEpoch: Map<number, bigint>;
  format: (amount: bigint) => string;
}) {
  const entries = [...perEpoch.entries()].sort((a, b) => a[0] - b[0]).slice(-12);
  let max = 1n;
  for (const [, amount] of entries) if (amount > max) max = amount;
  const width = 560;
  const height = 110;
  const bar = Math.min(96, (width - 20) / entries.length - 8);
  return (
    <svg
      className={styles.chart}
      viewBox={`0 0 ${width} ${height + 24}`}
      role="img"
      aria-label="Rewards per epoch"
    >
      {entries.map(([epoch, amount], i) => {
        const h = Math.max(2, Number((amount * BigInt(height - 24)) / max));
        const x = 10 + i * (bar + 8);
        return (
          <g key={epoch}>
            <title>{`Epoch ${epoch}: ${format(amount)}`}</title>
            <rect x={x} y={height - h} width={bar} height={h} rx={3} className={styles.bar} />
            {bar >= 60 && (
              <text x={x + bar / 2} y={height - h - 4} textAnchor="middle" className={styles.axis}>
                {format(amount)}
              </text>
            )}
            <text x={x + bar / 2} y={height + 16} textAnchor="middle" className={styles.axis}>
              epoch {epoch}
            </text>
          </g>
        );
      })}
    </svg>
  );
}
