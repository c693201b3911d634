"use client";
import { useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import { type RouterOutputs, useTRPC, useTRPCClient } from "~/trpc/react";
import { type ChainInfo, walletErrorMessage } from "~/wallet/connect";
import { shortAddress } from "~/wallet/signers";
import { proposeChange } from "./propose";
import styles from "./steward.module.css";

type Credential = RouterOutputs["governance"]["credentials"][number];
type Change = RouterOutputs["governance"]["proposals"]["items"][number]["changes"][number];
type CredentialChange = Extract<
  Change,
  { kind: "approveCredentialAddress" | "suspendCredential" | "revokeCredential" }
>;

/** How the proposal list names a credential change. */
export function describeCredentialChange(change: CredentialChange): string {
  switch (change.kind) {
    case "approveCredentialAddress":
      return `Add ${shortAddress(change.account)} to researcher credential #${change.credentialId}`;
    case "suspendCredential":
      return `${change.suspended ? "Suspend" : "Reinstate"} researcher credential #${change.credentialId}`;
    case "revokeCredential":
      return `Revoke researcher credential #${change.credentialId} for good`;
  }
}

type Action =
  | { kind: "approveCredentialAddress"; credentialId: number; account: string }
  | { kind: "suspendCredential"; credentialId: number; suspended: boolean }
  | { kind: "revokeCredential"; credentialId: number };

/** A description unique to this moment: the same change may be proposed again later. */
function descriptionOf(action: Action): string {
  const when = new Date().toISOString().slice(0, 16).replace("T", " ");
  const what =
    action.kind === "approveCredentialAddress"
      ? `Add ${action.account} to researcher credential #${action.credentialId}`
      : action.kind === "suspendCredential"
        ? `${action.suspended ? "Suspend" : "Reinstate"} researcher credential #${action.credentialId}`
        : `Revoke researcher credential #${action.credentialId}`;
  return `${what} (proposed ${when} UTC)`;
}

function statusOf(credential: Credential): string {
  if (credential.revoked) return "revoked";
  if (credential.suspended) return "suspended";
  if (credential.expiresAt && new Date(credential.expiresAt) <= new Date()) return "expired";
  return credential.expiresAt
    ? `valid until ${new Date(credential.expiresAt).toISOString().slice(0, 10)}`
    : "valid";
}

/**
 * The researcher credentials, for stewards: each with its addresses (acting, asked for by
 * the holder, removed) and proposals to approve an asked-for address, suspend or reinstate,
 * and revoke, through the same governance path as "Accredit a researcher".
 */
export function ResearcherCredentials({ chain }: { chain: ChainInfo }) {
  const trpc = useTRPC();
  const session = useQuery(trpc.auth.session.queryOptions());
  if (!session.data?.roles.steward) return null;
  return <CredentialList chain={chain} address={session.data.address} />;
}

function CredentialList({ chain, address }: { chain: ChainInfo; address: string }) {
  const trpc = useTRPC();
  const client = useTRPCClient();
  const queryClient = useQueryClient();
  const credentials = useQuery({
    ...trpc.governance.credentials.queryOptions(),
    refetchInterval: 10_000,
  });
  const propose = useMutation({
    mutationFn: (action: Action) =>
      proposeChange(client, chain, address, {
        change: action,
        description: descriptionOf(action),
      }),
    onSuccess: () => queryClient.invalidateQueries({ queryKey: trpc.governance.pathKey() }),
  });
  const busy = propose.isPending;
  const act = (action: Action) => () => propose.mutate(action);

  return (
    <section className={styles.section} aria-labelledby="credentials-heading">
      <h2 id="credentials-heading">Researcher credentials</h2>
      <p className="muted small">
        Only accredited researchers buy access and run counts and queries; each credential keeps one
        privacy budget for all its addresses. Its holder asks for another address from their
        credential page; a proposal here approves it. A suspension refuses their next query at once;
        a revocation is final.
      </p>
      {credentials.isPending && <p className="muted">Loading the credentials…</p>}
      {credentials.error && <p className="error">{credentials.error.message}</p>}
      {credentials.data?.length === 0 && (
        <p className="muted">No researcher is accredited yet: propose “Accredit a researcher”.</p>
      )}
      {credentials.data && credentials.data.length > 0 && (
        <table className={styles.table} data-testid="credentials">
          <thead>
            <tr>
              <th>#</th>
              <th>Status</th>
              <th>Addresses</th>
              <th>Propose</th>
            </tr>
          </thead>
          <tbody>
            {credentials.data.map((credential) => {
              const id = Number(credential.id);
              return (
                <tr key={credential.id} data-testid={`credential-${credential.id}`}>
                  <td title={`accrediting body's reference ${credential.referenceHash}`}>
                    {credential.id}
                  </td>
                  <td data-testid="credential-status">{statusOf(credential)}</td>
                  <td>
                    <ul className="small">
                      {credential.addresses.map((row) => (
                        <li key={row.address} title={row.address}>
                          {shortAddress(row.address)}{" "}
                          {row.status === "ACTIVE"
                            ? ""
                            : row.status === "REMOVED"
                              ? "(removed)"
                              : "(asked for by the holder)"}
                          {row.status === "REQUESTED" && !credential.revoked && (
                            <button
                              type="button"
                              className="secondary"
                              data-testid={`credential-approve-${row.address}`}
                              disabled={busy}
                              onClick={act({
                                kind: "approveCredentialAddress",
                                credentialId: id,
                                account: row.address,
                              })}
                            >
                              Approve
                            </button>
                          )}
                        </li>
                      ))}
                    </ul>
                  </td>
                  <td>
                    {!credential.revoked && (
                      <>
                        <button
                          type="button"
                          className="secondary"
                          data-testid={`credential-suspend-${credential.id}`}
                          disabled={busy}
                          onClick={act({
                            kind: "suspendCredential",
                            credentialId: id,
                            suspended: !credential.suspended,
                          })}
                        >
                          {credential.suspended ? "Reinstate" : "Suspend"}
                        </button>{" "}
                        <button
                          type="button"
                          className="secondary"
                          data-testid={`credential-revoke-${credential.id}`}
                          disabled={busy}
                          onClick={act({ kind: "revokeCredential", credentialId: id })}
                        >
                          Revoke
                        </button>
                      </>
                    )}
                  </td>
                </tr>
              );
            })}
          </tbody>
        </table>
      )}
      {busy && (
        <p className="muted small" role="status">
          Building the proposal and sending it from your wallet…
        </p>
      )}
      {propose.error && (
        <p className="error small" role="alert" data-testid="credential-propose-error">
          {walletErrorMessage(propose.error)}
        </p>
      )}
      {propose.data && !busy && (
        <p className="small" role="status" data-testid="credential-proposed">
          Proposed in block {propose.data.block.toString()}: vote on it in the proposals above.
        </p>
      )}
    </section>
  );
}
