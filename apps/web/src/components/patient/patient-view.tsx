"use client";
import { rewardDistributorAbi } from "@opencohort/chain/generated/abis";
import { useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import { useState } from "react";
import { erc20Abi, formatUnits, type Hex } from "viem";
import { useTRPC, useTRPCClient } from "~/trpc/react";
import { type ChainInfo, connectWallet, walletErrorMessage } from "~/wallet/connect";
import { shortAddress } from "~/wallet/signers";
import { formatConsentTime } from "./consent-time";
import styles from "./patient.module.css";

const dateTime = (value: Date | string | null) =>
  value === null
    ? "—"
    : new Date(value).toLocaleString("en-GB", { dateStyle: "medium", timeStyle: "short" });

/** The patient's home: enrolments with consent, who used my data, rewards. */
export function PatientView({ chain }: { chain: ChainInfo }) {
  const trpc = useTRPC();
  const session = useQuery(trpc.auth.session.queryOptions());
  if (session.isPending) return <p className="muted">Loading your session…</p>;
  if (session.error) return <p className="error">{session.error.message}</p>;
  if (!session.data) {
    return (
      <p className={styles.notice} data-testid="patient-sign-in">
        Sign in with the wallet your hospital or registry enrolled (demo: #6 Maria, #7 Jonas or #8
        Priya) to see your datasets, your consent and your rewards.
      </p>
    );
  }
  if (!session.data.roles.patient) {
    return (
      <p className={styles.notice}>
        {shortAddress(session.data.address)} is not enrolled in any dataset. A steward enrols
        patients; once you are enrolled, your consent and rewards appear here.
      </p>
    );
  }
  return (
    <>
      <Enrolments chain={chain} address={session.data.address} />
      <WhoUsedMyData />
      <Rewards chain={chain} address={session.data.address} />
    </>
  );
}

type Phase =
  | { step: "signing" | "relaying"; granted: boolean }
  | { step: "error"; message: string };

function Enrolments({ chain, address }: { chain: ChainInfo; address: string }) {
  const trpc = useTRPC();
  const client = useTRPCClient();
  const queryClient = useQueryClient();
  const [phase, setPhase] = useState<Record<string, Phase>>({});
  const enrolments = useQuery({
    ...trpc.consent.myEnrolments.queryOptions(),
    // Poll while a signed message is on its way to the chain.
    refetchInterval: (query) =>
      query.state.data?.some(
        (e) =>
          e.pending ||
          (e.requests[0]?.granted !== undefined &&
            e.requests[0].granted !== e.consent.granted &&
            e.requests[0].status === "APPLIED"),
      )
        ? 1_500
        : false,
  });

  const toggle = useMutation({
    mutationFn: async ({ datasetId, granted }: { datasetId: Hex; granted: boolean }) => {
      setPhase((p) => ({ ...p, [datasetId]: { step: "signing", granted } }));
      const wallet = await connectWallet(chain, address);
      const typed = await client.consent.typedData.query({ datasetId, granted });
      const signature = await wallet.signTypedData({ ...typed, message: { ...typed.message } });
      setPhase((p) => ({ ...p, [datasetId]: { step: "relaying", granted } }));
      return client.consent.relay.mutate({
        datasetId,
        granted,
        nonce: typed.message.nonce,
        deadline: typed.message.deadline,
        signature,
      });
    },
    onSuccess: async (_data, { datasetId }) => {
      await queryClient.invalidateQueries({ queryKey: trpc.consent.myEnrolments.queryKey() });
      setPhase(({ [datasetId]: _done, ...rest }) => rest);
    },
    onError: (error, { datasetId }) =>
      setPhase((p) => ({
        ...p,
        [datasetId]: { step: "error", message: walletErrorMessage(error) },
      })),
  });

  return (
    <section className={styles.section} aria-labelledby="enrolments-heading">
      <h2 id="enrolments-heading">My datasets and consent</h2>
      <p className="muted small">
        Your consent is an on-chain record you sign (no gas): the relayer submits it, and queries
        run only over records whose consent is active. You can change it at any time.
      </p>
      {enrolments.isPending && <p className="muted">Loading your enrolments…</p>}
      {enrolments.error && <p className="error">{enrolments.error.message}</p>}
      {enrolments.data?.length === 0 && (
        <p className="muted">You are not enrolled in any dataset.</p>
      )}
      <ul className={styles.list}>
        {enrolments.data?.map((enrolment) => {
          const local = phase[enrolment.datasetId];
          const latest = enrolment.requests[0];
          const busy = local?.step === "signing" || local?.step === "relaying" || enrolment.pending;
          const waitingForMirror =
            latest?.status === "APPLIED" && latest.granted !== enrolment.consent.granted;
          return (
            <li key={enrolment.datasetId} className={styles.enrolment} data-testid="enrolment">
              <div>
                <h3>{enrolment.title ?? "Untitled dataset"}</h3>
                <p className="muted small">
                  Steward {shortAddress(enrolment.steward)} · enrolled{" "}
                  {dateTime(enrolment.enrolledAt)}
                  {!enrolment.listed && " · delisted"}
                </p>
                <ConsentSteps
                  local={local}
                  latest={latest}
                  granted={enrolment.consent.granted}
                  waitingForMirror={waitingForMirror}
                />
              </div>
              <div className={styles.toggleBox}>
                <button
                  type="button"
                  role="switch"
                  aria-checked={enrolment.consent.granted}
                  aria-label={`Consent for ${enrolment.title ?? enrolment.datasetId}`}
                  data-testid="consent-toggle"
                  className={`${styles.switch} ${enrolment.consent.granted ? styles.on : ""}`}
                  disabled={busy || waitingForMirror}
                  onClick={() =>
                    toggle.mutate({
                      datasetId: enrolment.datasetId as Hex,
                      granted: !enrolment.consent.granted,
                    })
                  }
                >
                  <span className={styles.knob} />
                </button>
                <span className="small" data-testid="consent-state">
                  {enrolment.consent.granted ? "Opted in" : "Opted out"}
                </span>
              </div>
            </li>
          );
        })}
      </ul>
    </section>
  );
}

function ConsentSteps({
  local,
  latest,
  granted,
  waitingForMirror,
}: {
  local: Phase | undefined;
  latest:
    | { granted: boolean; status: string; error: string | null; txHash: string | null }
    | undefined;
  granted: boolean;
  waitingForMirror: boolean;
}) {
  if (local?.step === "error") {
    return (
      <p className="error small" role="alert" data-testid="consent-progress">
        {local.message}
      </p>
    );
  }
  let reached = 0;
  let label = "";
  if (local?.step === "signing") {
    reached = 1;
    label = `Signing: opt ${local.granted ? "in" : "out"}…`;
  } else if (local?.step === "relaying") {
    reached = 1;
    label = "Signed; handing it to the relayer…";
  } else if (latest && (latest.status === "PENDING" || latest.status === "SUBMITTED")) {
    reached = 2;
    label = `Relayed (${latest.status}): opt ${latest.granted ? "in" : "out"} waits for the chain`;
  } else if (latest?.status === "APPLIED" && waitingForMirror) {
    reached = 2;
    label = "Applied on chain; updating…";
  } else if (latest?.status === "APPLIED") {
    reached = 3;
    label = `Confirmed: opted ${granted ? "in" : "out"} on chain`;
  } else if (latest?.status === "FAILED") {
    return (
      <p className="error small" role="alert" data-testid="consent-progress">
        The relayer could not apply your last message: {latest.error ?? "unknown reason"}. Toggle
        again to sign a new one.
      </p>
    );
  } else {
    return (
      <p className="muted small" data-testid="consent-progress">
        {granted ? "Your records may be used in aggregate queries." : "Your records are excluded."}
      </p>
    );
  }
  return (
    <div className={styles.steps} data-testid="consent-progress" data-step={reached}>
      <ol>
        {["Signed", "Relayed", "Confirmed"].map((name, i) => (
          <li key={name} className={i < reached ? styles.done : ""}>
            {name}
          </li>
        ))}
      </ol>
      <span className="small">{label}</span>
    </div>
  );
}

function WhoUsedMyData() {
  const trpc = useTRPC();
  const used = useQuery(trpc.consent.whoUsedMyData.queryOptions());
  return (
    <section className={styles.section} aria-labelledby="used-heading">
      <h2 id="used-heading">Who used my data</h2>
      <p className="muted small">
        Studies whose aggregate queries included your records. They saw only counts and statistics
        over many people, never your record. Only you see this list, and it has no bearing on your
        rewards.
      </p>
      {used.isPending && <p className="muted">Loading…</p>}
      {used.error && <p className="error">{used.error.message}</p>}
      {used.data?.length === 0 && (
        <p className="muted" data-testid="used-empty">
          No query has included your records yet.
        </p>
      )}
      {used.data && used.data.length > 0 && (
        <table className={styles.table} data-testid="used-table">
          <thead>
            <tr>
              <th>Dataset</th>
              <th>Researcher</th>
              <th>Kind</th>
              <th>Date</th>
            </tr>
          </thead>
          <tbody>
            {used.data.map((row) => (
              <tr key={row.queryId}>
                <td>{row.datasetTitle ?? "Untitled dataset"}</td>
                <td title={row.researcher}>{shortAddress(row.researcher)}</td>
                <td>{row.kind.toLowerCase()}</td>
                <td>{dateTime(row.finishedAt ?? row.createdAt)}</td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
    </section>
  );
}

interface ClaimOutcome {
  hash: Hex;
  block: bigint;
  before: bigint;
  after: bigint;
}

function Rewards({ chain, address }: { chain: ChainInfo; address: string }) {
  const trpc = useTRPC();
  const queryClient = useQueryClient();
  const rewards = useQuery({
    ...trpc.reward.myAllocations.queryOptions(),
    refetchInterval: 10_000,
  });
  const [outcome, setOutcome] = useState<ClaimOutcome | null>(null);
  const fmt = (amount: bigint) =>
    `${Number(formatUnits(amount, 18)).toLocaleString("en-GB", { maximumFractionDigits: 4 })} ${chain.tokenSymbol}`;

  type Call = NonNullable<NonNullable<typeof rewards.data>["claimBatch"]>;
  type One = NonNullable<NonNullable<typeof rewards.data>["allocations"][number]["claim"]>;
  const claim = useMutation({
    mutationFn: async (call: Call | One): Promise<ClaimOutcome> => {
      setOutcome(null);
      const wallet = await connectWallet(chain, address);
      const balance = () =>
        wallet.publicClient.readContract({
          address: chain.token,
          abi: erc20Abi,
          functionName: "balanceOf",
          args: [wallet.address],
        });
      const before = await balance();
      const { hash, receipt } =
        call.functionName === "claimBatch"
          ? await wallet.send({
              address: call.address,
              abi: rewardDistributorAbi,
              functionName: "claimBatch",
              args: call.args,
            })
          : await wallet.send({
              address: call.address,
              abi: rewardDistributorAbi,
              functionName: "claim",
              args: call.args,
            });
      return { hash, block: receipt.blockNumber, before, after: await balance() };
    },
    onSuccess: async (result) => {
      setOutcome(result);
      await queryClient.invalidateQueries({ queryKey: trpc.reward.myAllocations.queryKey() });
    },
  });

  const data = rewards.data;
  const perEpoch = new Map<number, bigint>();
  for (const a of data?.allocations ?? [])
    perEpoch.set(a.epoch, (perEpoch.get(a.epoch) ?? 0n) + a.amount);

  return (
    <section className={styles.section} aria-labelledby="rewards-heading">
      <h2 id="rewards-heading">Rewards</h2>
      <p className="muted small">
        Each purchase of a dataset funds its patients. At the end of an epoch the rewards are split
        among the dataset&apos;s enrolled patients by how long each consented during the epoch, and
        you claim yours. Never by which queries used your records: payments are public, and a reward
        that followed a query would tell its researcher whose records it matched.
      </p>
      {rewards.isPending && <p className="muted">Loading your rewards…</p>}
      {rewards.error && <p className="error">{rewards.error.message}</p>}
      {data && (
        <>
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
              disabled={!data.claimBatch || claim.isPending}
              onClick={() => data.claimBatch && claim.mutate(data.claimBatch)}
            >
              {claim.isPending ? "Claiming…" : "Claim all"}
            </button>
          </div>
          {perEpoch.size > 0 && <EpochChart perEpoch={perEpoch} format={fmt} />}
          {claim.error && (
            <p className="error small" role="alert">
              {walletErrorMessage(claim.error)}
            </p>
          )}
          {outcome && (
            <p className={styles.success} role="status" data-testid="claim-result">
              Claimed in block {outcome.block.toString()} (tx{" "}
              <code title={outcome.hash}>{outcome.hash.slice(0, 10)}…</code>). Balance{" "}
              {fmt(outcome.before)} → {fmt(outcome.after)} (+{fmt(outcome.after - outcome.before)}).
            </p>
          )}
          {data.allocations.length === 0 ? (
            <p className="muted" data-testid="rewards-empty">
              No rewards yet: they appear after an epoch in which a dataset you consented to was
              purchased.
            </p>
          ) : (
            <table className={styles.table} data-testid="rewards-table">
              <thead>
                <tr>
                  <th>Epoch</th>
                  <th>Dataset</th>
                  <th>Consent</th>
                  <th>Amount</th>
                  <th>Status</th>
                  <th />
                </tr>
              </thead>
              <tbody>
                {data.allocations.map((a) => (
                  <tr key={`${a.datasetId}-${a.epoch}`}>
                    <td>{a.epoch}</td>
                    <td>{a.datasetTitle ?? "Untitled dataset"}</td>
                    <td data-testid="reward-consent-time">
                      {a.consentSeconds === null
                        ? "—"
                        : `consented ${formatConsentTime(a.consentSeconds)} of this epoch`}
                    </td>
                    <td>{fmt(a.amount)}</td>
                    <td>
                      {a.claimed
                        ? "Claimed"
                        : a.epochStatus === "POSTED"
                          ? "Claimable"
                          : "Root not posted yet"}
                    </td>
                    <td>
                      {a.claim && (
                        <button
                          type="button"
                          className="secondary"
                          disabled={claim.isPending}
                          onClick={() => a.claim && claim.mutate(a.claim)}
                        >
                          Claim
                        </button>
                      )}
                    </td>
                  </tr>
                ))}
              </tbody>
            </table>
          )}
        </>
      )}
    </section>
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
