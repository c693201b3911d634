"use client";
import { stewardGovernorAbi } from "@opencohort/chain/generated/abis";
import { useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import { type FormEvent, useState } from "react";
import type { Address } from "viem";
import { type RouterOutputs, useTRPC, useTRPCClient } from "~/trpc/react";
import { type ChainInfo, connectWallet, walletErrorMessage } from "~/wallet/connect";
import { shortAddress } from "~/wallet/signers";
import { PrecisionTable } from "../privacy/precision-table";
import { describeCredentialChange } from "./credentials";
import { ImportEnrolments } from "./import-enrolments";
import { proposeChange } from "./propose";
import { PublishDataset } from "./publish-dataset";
import styles from "./steward.module.css";

type Session = {
  address: string;
  roles: { researcher: boolean; patient: boolean; steward: boolean };
} | null;

/** Governance for everyone to read; proposing, voting and datasets for stewards. */
export function StewardView({ chain, registry }: { chain: ChainInfo; registry: Address }) {
  const trpc = useTRPC();
  const session = useQuery(trpc.auth.session.queryOptions());
  const data: Session | undefined = session.data;
  const steward = data?.roles.steward === true;
  return (
    <>
      <Standards />
      <Membership session={data} pending={session.isPending} />
      <Proposals chain={chain} session={data} />
      {steward && data && <NewProposal chain={chain} address={data.address} />}
      {steward && data && (
        <PublishDataset chain={chain} address={data.address} registry={registry} />
      )}
      {steward && <MyDatasets />}
    </>
  );
}

function Standards() {
  const trpc = useTRPC();
  const standards = useQuery({
    ...trpc.governance.standards.queryOptions(),
    // Each read is ten contract calls: poll only while an executed change awaits indexing
    // (actions invalidate it, and focusing the window refetches it).
    refetchInterval: (query) => (query.state.data?.inSync === false ? 2_000 : false),
  });
  const s = standards.data;
  return (
    <section className={styles.section} aria-labelledby="standards-heading">
      <h2 id="standards-heading">Standards in force</h2>
      <p className="muted small">
        Governed on chain by the stewards; the compute engine applies them to every query.
      </p>
      {standards.isPending && <p className="muted">Loading the standards…</p>}
      {standards.error && <p className="error">{standards.error.message}</p>}
      {s && (
        <>
          <dl className={styles.standards}>
            <div>
              <dt>Minimum cell size</dt>
              <dd data-testid="standard-k">k = {s.onChain.minCellSize}</dd>
            </div>
            <div>
              <dt>Rounding base</dt>
              <dd>{s.onChain.roundingBase}</dd>
            </div>
            <div>
              <dt>Contribution cap</dt>
              <dd data-testid="standard-cap">{s.onChain.contributionCap} rows</dd>
            </div>
            <div>
              <dt>ε per query</dt>
              <dd>{s.onChain.epsilonPerQuery}</dd>
            </div>
            <div>
              <dt>ε budget (researcher × dataset)</dt>
              <dd>{s.onChain.epsilonBudget}</dd>
            </div>
          </dl>
          <FeeSplit
            patients={s.onChain.patientsBps}
            steward={s.onChain.stewardBps}
            treasury={s.onChain.treasuryBps}
          />
          <p className="muted small">
            Accepted schema versions (keccak256 of the label):{" "}
            {s.snapshot?.acceptedSchemaVersions.length
              ? s.snapshot.acceptedSchemaVersions.map((hash) => (
                  <code key={hash} title={hash} className={styles.hash}>
                    {hash.slice(0, 10)}…
                  </code>
                ))
              : "none mirrored yet"}
          </p>
          <p className="muted small">
            Voting opens {s.governance.votingDelaySeconds} second(s) after a proposal and lasts{" "}
            {s.governance.votingPeriodSeconds} seconds (longer if quorum comes late); a passed
            change waits {s.governance.timelockDelaySeconds} s in the timelock.{" "}
            {s.inSync ? (
              <span data-testid="standards-sync">Queries run with these values.</span>
            ) : (
              <span className="error" data-testid="standards-sync">
                A change on chain is not indexed yet; queries still use the previous values.
              </span>
            )}
          </p>
        </>
      )}
    </section>
  );
}

function FeeSplit({
  patients,
  steward,
  treasury,
}: {
  patients: number;
  steward: number;
  treasury: number;
}) {
  const parts = [
    { name: "Patients", bps: patients, className: styles.patients },
    { name: "Steward", bps: steward, className: styles.steward },
    { name: "Treasury", bps: treasury, className: styles.treasury },
  ];
  return (
    <figure className={styles.fees}>
      <figcaption className="small muted">Fee split of every purchase</figcaption>
      <div
        className={styles.feeBar}
        role="img"
        aria-label={parts.map((p) => `${p.name} ${p.bps / 100}%`).join(", ")}
      >
        {parts.map((p) =>
          p.bps > 0 ? (
            <span key={p.name} className={p.className} style={{ width: `${p.bps / 100}%` }}>
              {p.name} {p.bps / 100}%
            </span>
          ) : null,
        )}
      </div>
    </figure>
  );
}

function Membership({ session, pending }: { session: Session | undefined; pending: boolean }) {
  const trpc = useTRPC();
  const stewards = useQuery({
    ...trpc.governance.stewards.queryOptions(),
    refetchInterval: 15_000,
  });
  const me = session?.address.toLowerCase();
  return (
    <section className={styles.section} aria-labelledby="membership-heading">
      <h2 id="membership-heading">Steward membership</h2>
      <p className="muted small">
        One steward, one vote: a non-transferable StewardBadge that only governance (through the
        timelock) mints or burns. Propose “Admit a steward” below to add one.
      </p>
      {pending ? (
        <p className="muted">…</p>
      ) : !session ? (
        <p>Sign in with a steward&apos;s wallet (demo: #1–#3) to propose and vote.</p>
      ) : session.roles.steward ? (
        <p data-testid="membership">
          {shortAddress(session.address)} holds a StewardBadge: you may list datasets, propose and
          vote.
        </p>
      ) : (
        <p data-testid="membership">
          {shortAddress(session.address)} holds no StewardBadge. Stewards are admitted by a
          governance proposal.
        </p>
      )}
      {stewards.isPending && <p className="muted">Loading the stewards…</p>}
      {stewards.error && <p className="error">{stewards.error.message}</p>}
      {stewards.data && (
        <table className={styles.table} data-testid="stewards">
          <caption className="small muted">
            {stewards.data.length} steward{stewards.data.length === 1 ? "" : "s"}, so a proposal
            needs their votes to reach quorum
          </caption>
          <thead>
            <tr>
              <th>Steward</th>
              <th>Admitted in block</th>
              <th>Listed datasets</th>
            </tr>
          </thead>
          <tbody>
            {stewards.data.map((member) => (
              <tr key={member.address} data-testid="steward-row">
                <td title={member.address}>
                  {shortAddress(member.address)}
                  {member.address === me ? " (you)" : ""}
                </td>
                <td>{member.sinceBlock === null ? "—" : String(member.sinceBlock)}</td>
                <td>{member.listedDatasets}</td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
    </section>
  );
}

/** Proposal states no block or vote changes any more. */
const finalStates = new Set(["CANCELED", "DEFEATED", "EXPIRED", "EXECUTED"]);

const stateNames: Record<string, string> = {
  PENDING: "Pending: voting not open yet",
  ACTIVE: "Voting",
  CANCELED: "Canceled",
  DEFEATED: "Defeated",
  SUCCEEDED: "Passed: ready to queue",
  QUEUED: "Queued in the timelock",
  EXPIRED: "Expired",
  EXECUTED: "Executed",
};

type Change = RouterOutputs["governance"]["proposals"]["items"][number]["changes"][number];

function describe(change: Change): string {
  switch (change.kind) {
    case "minCellSize":
      return `Minimum cell size k → ${change.value}`;
    case "roundingBase":
      return `Rounding base → ${change.value}`;
    case "contributionCap":
      return `Contribution cap → ${change.value} rows per person`;
    case "epsilon":
      return `ε per query → ${change.perQuery}, budget → ${change.budget}`;
    case "feeSplit":
      return `Fee split → patients ${change.patientsBps / 100}%, steward ${change.stewardBps / 100}%, treasury ${change.treasuryBps / 100}%`;
    case "treasury":
      return `Treasury → ${shortAddress(change.treasury)}`;
    case "schemaVersion":
      return `${change.accepted ? "Accept" : "Retire"} schema version ${change.schemaVersion.slice(0, 10)}…`;
    case "admitSteward":
      return `Admit ${shortAddress(change.steward)} as a steward`;
    case "removeSteward":
      return `Remove steward ${shortAddress(change.steward)}`;
    case "accreditResearcher":
      return `Accredit ${shortAddress(change.researcher)} as a researcher`;
    case "approveCredentialAddress":
    case "suspendCredential":
    case "revokeCredential":
      return describeCredentialChange(change);
    case "other":
      return `A call to ${shortAddress(change.target)}`;
  }
}

function Proposals({ chain, session }: { chain: ChainInfo; session: Session | undefined }) {
  const trpc = useTRPC();
  const queryClient = useQueryClient();
  const proposals = useQuery({
    ...trpc.governance.proposals.queryOptions({ limit: 20 }),
    // One StewardGovernor.state call per proposal: often only while one can still change.
    refetchInterval: (query) => {
      const items = query.state.data?.items;
      const moving = !items?.length || items.some((item) => !finalStates.has(item.state));
      return moving ? 3_000 : 15_000;
    },
  });
  const [status, setStatus] = useState<
    Record<string, { busy?: string; done?: string; error?: string }>
  >({});
  const steward = session?.roles.steward === true;

  type Item = NonNullable<typeof proposals.data>["items"][number];
  const act = useMutation({
    mutationFn: async ({
      item,
      action,
    }: {
      item: Item;
      action: "for" | "against" | "abstain" | "queue" | "execute";
    }) => {
      if (!session) throw new Error("Sign in first.");
      setStatus((s) => ({ ...s, [item.id]: { busy: action } }));
      const wallet = await connectWallet(chain, session.address);
      const governor = {
        address: (await queryClient.fetchQuery(trpc.governance.standards.queryOptions())).governance
          .governor,
        abi: stewardGovernorAbi,
      };
      const { targets, values, calldatas, descriptionHash } = item.actions;
      if (action === "queue" || action === "execute") {
        const { receipt } = await wallet.send({
          ...governor,
          functionName: action,
          args: [targets, values, calldatas, descriptionHash],
        });
        return `${action === "queue" ? "Queued" : "Executed"} in block ${receipt.blockNumber}.`;
      }
      const support = action === "against" ? 0 : action === "for" ? 1 : 2;
      const { receipt } = await wallet.send({
        ...governor,
        functionName: "castVote",
        args: [BigInt(item.id), support],
      });
      return `You voted ${action} in block ${receipt.blockNumber}.`;
    },
    onSuccess: async (done, { item }) => {
      setStatus((s) => ({ ...s, [item.id]: { done } }));
      await queryClient.invalidateQueries({ queryKey: trpc.governance.pathKey() });
    },
    onError: (error, { item }) =>
      setStatus((s) => ({ ...s, [item.id]: { error: walletErrorMessage(error) } })),
  });

  return (
    <section className={styles.section} aria-labelledby="proposals-heading">
      <h2 id="proposals-heading">Proposals</h2>
      {proposals.isPending && <p className="muted">Loading proposals…</p>}
      {proposals.error && <p className="error">{proposals.error.message}</p>}
      {proposals.data?.items.length === 0 && <p className="muted">No proposals yet.</p>}
      <ul className={styles.proposals}>
        {proposals.data?.items.map((item) => {
          const votes = {
            for: Number(item.votes.for),
            against: Number(item.votes.against),
            abstain: Number(item.votes.abstain),
          };
          const total = votes.for + votes.against + votes.abstain;
          const mine = status[item.id];
          return (
            <li
              key={item.id}
              className={styles.proposal}
              data-testid="proposal"
              data-state={item.state}
            >
              <div className={styles.proposalHead}>
                <h3>{item.description}</h3>
                <span
                  className={`${styles.state} ${styles[`state${item.state}`] ?? ""}`}
                  data-testid="proposal-state"
                >
                  {item.state}
                </span>
              </div>
              <p className="small muted">
                {stateNames[item.state] ?? item.state} · by {shortAddress(item.proposer)} · voting{" "}
                {new Date(Number(item.voteStart) * 1000).toLocaleTimeString("en-GB")}–
                {new Date(Number(item.voteEnd) * 1000).toLocaleTimeString("en-GB")}
                {item.eta
                  ? ` · executable after ${new Date(Number(item.eta) * 1000).toLocaleTimeString("en-GB")}`
                  : ""}
              </p>
              <ul className={styles.changes}>
                {item.changes.map((change, i) => (
                  <li key={i}>
                    {describe(change)}
                    {change.kind === "epsilon" && (
                      <ProposedPrecision perQuery={change.perQuery} budget={change.budget} />
                    )}
                  </li>
                ))}
              </ul>
              <div className={styles.tally} data-testid="tally">
                <div
                  className={styles.tallyBar}
                  role="img"
                  aria-label={`For ${votes.for}, against ${votes.against}, abstain ${votes.abstain}`}
                >
                  {total > 0 && (
                    <>
                      <span
                        className={styles.for}
                        style={{ width: `${(100 * votes.for) / total}%` }}
                      />
                      <span
                        className={styles.against}
                        style={{ width: `${(100 * votes.against) / total}%` }}
                      />
                      <span
                        className={styles.abstain}
                        style={{ width: `${(100 * votes.abstain) / total}%` }}
                      />
                    </>
                  )}
                </div>
                <span className="small">
                  For {votes.for} · Against {votes.against} · Abstain {votes.abstain}
                </span>
              </div>
              {steward && (
                <div className={styles.actions}>
                  {item.state === "ACTIVE" &&
                    (["for", "against", "abstain"] as const).map((support) => (
                      <button
                        key={support}
                        type="button"
                        className={support === "for" ? undefined : "secondary"}
                        disabled={act.isPending}
                        onClick={() => act.mutate({ item, action: support })}
                      >
                        Vote {support}
                      </button>
                    ))}
                  {item.state === "SUCCEEDED" && (
                    <button
                      type="button"
                      disabled={act.isPending}
                      onClick={() => act.mutate({ item, action: "queue" })}
                    >
                      Queue
                    </button>
                  )}
                  {item.state === "QUEUED" && (
                    <button
                      type="button"
                      disabled={act.isPending}
                      onClick={() => act.mutate({ item, action: "execute" })}
                    >
                      Execute
                    </button>
                  )}
                  {mine?.busy && <span className="small muted">Sending {mine.busy}…</span>}
                  {mine?.done && (
                    <span className="small" role="status" data-testid="proposal-result">
                      {mine.done}
                    </span>
                  )}
                  {mine?.error && (
                    <span className="small error" role="alert">
                      {mine.error}
                    </span>
                  )}
                </div>
              )}
            </li>
          );
        })}
      </ul>
    </section>
  );
}

type Kind =
  | "minCellSize"
  | "roundingBase"
  | "contributionCap"
  | "epsilon"
  | "feeSplit"
  | "schemaVersion"
  | "admitSteward"
  | "removeSteward"
  | "accreditResearcher";

/**
 * What researchers would get from proposed ε values: the precision of counts under them
 * beside the standards in force (the rounding base stays as it is).
 */
function ProposedPrecision({ perQuery, budget }: { perQuery: string; budget: string }) {
  const trpc = useTRPC();
  const standards = useQuery(trpc.governance.standards.queryOptions());
  const now = standards.data?.onChain;
  if (!now) return null;
  const roundingBase = Number(now.roundingBase);
  return (
    <div className="small" data-testid="proposal-precision">
      <p className="muted">Proposed:</p>
      <PrecisionTable
        testId="precision-proposed"
        standards={{
          epsilonPerQuery: Number(perQuery),
          epsilonBudget: Number(budget),
          roundingBase,
        }}
      />
      <p className="muted">In force now:</p>
      <PrecisionTable
        testId="precision-now"
        standards={{
          epsilonPerQuery: Number(now.epsilonPerQuery),
          epsilonBudget: Number(now.epsilonBudget),
          roundingBase,
        }}
      />
    </div>
  );
}

function NewProposal({ chain, address }: { chain: ChainInfo; address: string }) {
  const trpc = useTRPC();
  const client = useTRPCClient();
  const queryClient = useQueryClient();
  const [kind, setKind] = useState<Kind>("minCellSize");
  const [fields, setFields] = useState<Record<string, string>>({
    value: "20",
    perQuery: "0.5",
    budget: "5",
    patientsBps: "5000",
    stewardBps: "4000",
    treasuryBps: "1000",
    label: "omop-lite/3",
    accepted: "true",
    steward: "",
    researcher: "",
    reference: "",
  });
  const [description, setDescription] = useState("");
  const set = (name: string) => (event: { target: { value: string } }) =>
    setFields((f) => ({ ...f, [name]: event.target.value }));

  const change = () => {
    switch (kind) {
      case "minCellSize":
      case "roundingBase":
      case "contributionCap":
        return { kind, value: Number(fields.value) };
      case "epsilon":
        return { kind, perQuery: fields.perQuery ?? "", budget: fields.budget ?? "" };
      case "feeSplit":
        return {
          kind,
          patientsBps: Number(fields.patientsBps),
          stewardBps: Number(fields.stewardBps),
          treasuryBps: Number(fields.treasuryBps),
        };
      case "schemaVersion":
        return { kind, label: fields.label ?? "", accepted: fields.accepted === "true" };
      case "admitSteward":
      case "removeSteward":
        return { kind, steward: (fields.steward ?? "").trim() };
      case "accreditResearcher":
        return {
          kind,
          researcher: (fields.researcher ?? "").trim(),
          reference: (fields.reference ?? "").trim(),
        };
    }
  };
  const defaultDescription = () => {
    const c = change();
    switch (c.kind) {
      case "minCellSize":
        return `Set the minimum cell size k to ${c.value}`;
      case "roundingBase":
        return `Set the rounding base to ${c.value}`;
      case "contributionCap":
        return `Cap each person's contribution to a cell at ${c.value} rows`;
      case "epsilon":
        return `Set epsilon to ${c.perQuery} per query and ${c.budget} per budget`;
      case "feeSplit":
        return `Set the fee split to ${c.patientsBps}/${c.stewardBps}/${c.treasuryBps} bps`;
      case "schemaVersion":
        return `${c.accepted ? "Accept" : "Retire"} schema version ${c.label}`;
      case "admitSteward":
        return `Admit ${c.steward || "a new steward"} as a steward`;
      case "removeSteward":
        return `Remove steward ${c.steward || "…"}`;
      case "accreditResearcher":
        return `Accredit ${c.researcher || "a researcher"} (${c.reference || "accrediting body's reference"})`;
    }
  };

  const propose = useMutation({
    mutationFn: () =>
      proposeChange(client, chain, address, {
        change: change(),
        description: description.trim() || defaultDescription(),
      }),
    onSuccess: async () => {
      setDescription("");
      await queryClient.invalidateQueries({ queryKey: trpc.governance.pathKey() });
    },
  });

  const submit = (event: FormEvent) => {
    event.preventDefault();
    propose.mutate();
  };

  return (
    <section className={styles.section} aria-labelledby="new-proposal-heading">
      <h2 id="new-proposal-heading">Propose a change</h2>
      <form className={styles.form} onSubmit={submit}>
        <label>
          Change
          <select
            data-testid="proposal-kind"
            value={kind}
            onChange={(e) => setKind(e.target.value as Kind)}
          >
            <option value="minCellSize">Minimum cell size k</option>
            <option value="roundingBase">Rounding base</option>
            <option value="contributionCap">Contribution cap (rows per person)</option>
            <option value="epsilon">Epsilon (per query, budget)</option>
            <option value="feeSplit">Fee split (bps)</option>
            <option value="schemaVersion">Schema version</option>
            <option value="admitSteward">Admit a steward</option>
            <option value="removeSteward">Remove a steward</option>
            <option value="accreditResearcher">Accredit a researcher</option>
          </select>
        </label>
        {(kind === "minCellSize" || kind === "roundingBase" || kind === "contributionCap") && (
          <label>
            New value
            <input
              data-testid="proposal-value"
              type="number"
              min={1}
              value={fields.value}
              onChange={set("value")}
            />
          </label>
        )}
        {kind === "epsilon" && (
          <>
            <label>
              ε per query
              <input value={fields.perQuery} onChange={set("perQuery")} inputMode="decimal" />
            </label>
            <label>
              ε budget
              <input value={fields.budget} onChange={set("budget")} inputMode="decimal" />
            </label>
            <ProposedPrecision perQuery={fields.perQuery ?? ""} budget={fields.budget ?? ""} />
          </>
        )}
        {kind === "feeSplit" && (
          <>
            <label>
              Patients (bps)
              <input type="number" value={fields.patientsBps} onChange={set("patientsBps")} />
            </label>
            <label>
              Steward (bps)
              <input type="number" value={fields.stewardBps} onChange={set("stewardBps")} />
            </label>
            <label>
              Treasury (bps)
              <input type="number" value={fields.treasuryBps} onChange={set("treasuryBps")} />
            </label>
          </>
        )}
        {kind === "schemaVersion" && (
          <>
            <label>
              Schema label
              <input value={fields.label} onChange={set("label")} />
            </label>
            <label>
              Decision
              <select value={fields.accepted} onChange={set("accepted")}>
                <option value="true">Accept</option>
                <option value="false">Retire</option>
              </select>
            </label>
          </>
        )}
        {(kind === "admitSteward" || kind === "removeSteward") && (
          <label className={styles.wide}>
            Steward address
            <input
              data-testid="proposal-steward"
              placeholder="0x…"
              spellCheck={false}
              value={fields.steward}
              onChange={set("steward")}
            />
          </label>
        )}
        {kind === "accreditResearcher" && (
          <>
            <label className={styles.wide}>
              Researcher address
              <input
                data-testid="proposal-researcher"
                placeholder="0x…"
                spellCheck={false}
                value={fields.researcher}
                onChange={set("researcher")}
              />
            </label>
            <label className={styles.wide}>
              Accrediting body's reference (e.g. certificate number; its hash goes on chain)
              <input
                data-testid="proposal-reference"
                value={fields.reference}
                onChange={set("reference")}
              />
            </label>
          </>
        )}
        <label className={styles.wide}>
          Description
          <input
            data-testid="proposal-description"
            placeholder={defaultDescription()}
            value={description}
            onChange={(e) => setDescription(e.target.value)}
          />
        </label>
        <button type="submit" data-testid="propose" disabled={propose.isPending}>
          {propose.isPending ? "Proposing…" : "Propose"}
        </button>
      </form>
      {propose.error && (
        <p className="error small" role="alert" data-testid="propose-error">
          {walletErrorMessage(propose.error)}
        </p>
      )}
      {propose.data && (
        <p className="small" role="status" data-testid="propose-result">
          Proposed in block {propose.data.block.toString()}; it appears above once indexed.
        </p>
      )}
    </section>
  );
}

function MyDatasets() {
  const trpc = useTRPC();
  const datasets = useQuery(trpc.steward.myDatasets.queryOptions());
  return (
    <section className={styles.section} aria-labelledby="my-datasets-heading">
      <h2 id="my-datasets-heading">My datasets</h2>
      {datasets.isPending && <p className="muted">Loading your datasets…</p>}
      {datasets.error && <p className="error">{datasets.error.message}</p>}
      {datasets.data?.length === 0 && <p className="muted">You have not listed a dataset yet.</p>}
      {datasets.data && datasets.data.length > 0 && (
        <table className={styles.table} data-testid="my-datasets">
          <thead>
            <tr>
              <th>Dataset</th>
              <th>Version</th>
              <th>Persons</th>
              <th>Enrolled</th>
              <th>Consenting</th>
              <th>Status</th>
            </tr>
          </thead>
          <tbody>
            {datasets.data.map((d) => {
              const share = d.enrolments > 0 ? d.consented / d.enrolments : 0;
              return (
                <tr key={d.id}>
                  <td>{d.title ?? "Untitled"}</td>
                  <td>v{d.latestVersion}</td>
                  <td>{d.versions[0]?.persons ?? "—"}</td>
                  <td>{d.enrolments}</td>
                  <td>
                    <span className={styles.consentCell}>
                      <span className={styles.meter}>
                        <span style={{ width: `${Math.round(share * 100)}%` }} />
                      </span>
                      {d.consented} ({Math.round(share * 100)}%)
                    </span>
                  </td>
                  <td>
                    {d.delistedByGovernance
                      ? "Delisted by governance"
                      : d.listed
                        ? "Listed"
                        : "Delisted"}
                    {!d.hasMetadata && " · metadata missing"}
                    {d.versions.some((version) => version.registered) ? (
                      <ImportEnrolments datasetId={d.id} />
                    ) : (
                      <span className="small muted"> · files not registered</span>
                    )}
                  </td>
                </tr>
              );
            })}
          </tbody>
        </table>
      )}
    </section>
  );
}
