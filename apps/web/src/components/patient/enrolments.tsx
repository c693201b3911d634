"use client";
import { useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import { useState } from "react";
import type { Hex } from "viem";
import { useTRPC, useTRPCClient } from "~/trpc/react";
import { type ChainInfo, connectWallet, walletErrorMessage } from "~/wallet/connect";
import { shortAddress } from "~/wallet/signers";
import { identityFor, signBinding, signConsent, signPayout } from "./identities";
import styles from "./patient.module.css";

const dateTime = (value: Date | string | null) =>
  value === null
    ? "—"
    : new Date(value).toLocaleString("en-GB", { dateStyle: "medium", timeStyle: "short" });

type Phase =
  | { step: "identity" | "binding" | "payout" | "signing" | "relaying"; granted: boolean }
  | { step: "error"; message: string };

const phaseLabel: Record<Exclude<Phase["step"], "error">, string> = {
  identity: "Your wallet signs once to create your identity for this dataset…",
  binding: "Binding the identity to your enrolment…",
  payout: "Naming where this identity's rewards are paid…",
  signing: "Your identity signs the consent…",
  relaying: "Signed; handing it to the relayer…",
};

/**
 * My datasets and my consent for each. Consent is signed by my consent identity for the
 * dataset (derived from one wallet signature the first time), never by my wallet, and relayed
 * without gas.
 */
export function Enrolments({ chain, address }: { chain: ChainInfo; address: string }) {
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
  const rewards = useQuery(trpc.reward.myRewards.queryOptions());

  const toggle = useMutation({
    mutationFn: async ({
      datasetId,
      granted,
      boundIdentity,
    }: {
      datasetId: Hex;
      granted: boolean;
      boundIdentity: string | null;
    }) => {
      const step = (name: Exclude<Phase["step"], "error">) =>
        setPhase((p) => ({ ...p, [datasetId]: { step: name, granted } }));
      step("identity");
      const wallet = await connectWallet(chain, address);
      const identity = await identityFor(wallet, chain.chainId, datasetId, boundIdentity);
      if (!boundIdentity) {
        step("binding");
        await client.consent.bindIdentity.mutate({
          datasetId,
          identity: identity.address,
          signature: await signBinding(identity, chain.chainId, address, datasetId),
        });
      }
      const identities = rewards.data?.identities ?? [];
      const mine = identities.find((entry) => entry.identity === identity.address);
      if (granted && !mine?.payout) {
        // One payout address for all my datasets: the one my other identities use, else my wallet.
        step("payout");
        const payout = identities.find((entry) => entry.payout)?.payout ?? address;
        await client.reward.registerPayout.mutate({
          datasetId,
          ...(await signPayout(identity, chain.chainId, payout)),
        });
      }
      step("signing");
      const typed = await client.consent.typedData.query({ datasetId, granted });
      const signature = await signConsent(identity, typed);
      step("relaying");
      return client.consent.relay.mutate({
        datasetId,
        granted,
        nonce: typed.message.nonce,
        deadline: typed.message.deadline,
        signature,
      });
    },
    onSuccess: async (_data, { datasetId }) => {
      await Promise.all([
        queryClient.invalidateQueries({ queryKey: trpc.consent.myEnrolments.queryKey() }),
        queryClient.invalidateQueries({ queryKey: trpc.reward.myRewards.queryKey() }),
      ]);
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
        You consent to each dataset under an identity of its own, created from one signature of your
        wallet the first time (nothing to back up, the same on any device). The chain records that
        identity's consent, never your wallet, and a relayer submits it, so you pay no gas. Queries
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
          const busy = (local !== undefined && local.step !== "error") || enrolment.pending;
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
                <p className="muted small" data-testid="consent-identity">
                  {enrolment.identity ? (
                    <>
                      Consent identity{" "}
                      <code title={enrolment.identity}>{shortAddress(enrolment.identity)}</code>{" "}
                      (this dataset only)
                    </>
                  ) : (
                    "No consent identity yet: opting in creates it (one signature of your wallet)."
                  )}
                </p>
                {enrolment.legacyWalletConsent && (
                  <p className="small" data-testid="legacy-consent">
                    Your wallet itself consented to this dataset before consent identities; that
                    record stays public on chain but no longer counts. Opt in again to consent under
                    your identity.
                  </p>
                )}
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
                  disabled={busy || waitingForMirror || rewards.isPending}
                  onClick={() =>
                    toggle.mutate({
                      datasetId: enrolment.datasetId as Hex,
                      granted: !enrolment.consent.granted,
                      boundIdentity: enrolment.identity,
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
  if (local !== undefined) {
    reached = local.step === "relaying" ? 1 : 0;
    label = `Opt ${local.granted ? "in" : "out"}: ${phaseLabel[local.step]}`;
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
