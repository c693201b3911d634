"use client";
import { researcherCredentialAbi } from "@opencohort/chain/generated/abis";
import { addressSchema } from "@opencohort/validators";
import { useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import { type FormEvent, useState } from "react";
import { type Address, getAddress } from "viem";
import { type RouterOutputs, useTRPC } from "~/trpc/react";
import { type ChainInfo, connectWallet, walletErrorMessage } from "~/wallet/connect";
import { shortAddress } from "~/wallet/signers";

type Mine = RouterOutputs["access"]["myCredential"];
type Held = NonNullable<Mine["credential"]>;

const dateOf = (value: Date | string) => new Date(value).toISOString().slice(0, 10);

/** The signed-in researcher's credential, its addresses, and asking for another address. */
export function CredentialView({ chain }: { chain: ChainInfo }) {
  const trpc = useTRPC();
  const session = useQuery(trpc.auth.session.queryOptions());
  const mine = useQuery({
    ...trpc.access.myCredential.queryOptions(),
    enabled: Boolean(session.data),
  });
  if (session.isPending) return <p className="muted">Loading your session…</p>;
  if (session.error) return <p className="error">{session.error.message}</p>;
  if (!session.data)
    return <p className="muted">Sign in with your wallet to see your credential.</p>;
  if (mine.isPending) return <p className="muted">Reading your credential…</p>;
  if (mine.error) return <p className="error">{mine.error.message}</p>;
  const { credential } = mine.data;
  return (
    <section className="card" data-testid="my-credential">
      {credential ? (
        <Credential
          chain={chain}
          address={session.data.address}
          contract={mine.data.contract}
          accredited={mine.data.accredited}
          credential={credential}
        />
      ) : (
        <p data-testid="credential-none">
          {mine.data.requestedBy.length > 0
            ? `This address (${shortAddress(session.data.address)}) was asked for by researcher credential #${mine.data.requestedBy.join(", #")}; it acts for it once the stewards approve.`
            : `This address (${shortAddress(session.data.address)}) holds no researcher credential.`}
        </p>
      )}
      <p className="muted small">Allows: {mine.data.allows}</p>
    </section>
  );
}

function statusText(accredited: boolean, credential: Held, address: string): string {
  if (credential.revoked) return "revoked";
  if (credential.suspended) return "suspended by the stewards";
  if (credential.removedAddresses.includes(address.toLowerCase())) {
    return "this address was removed from it";
  }
  if (!accredited) return "not valid now (expired)";
  return credential.expiresAt ? `valid until ${dateOf(credential.expiresAt)}` : "valid";
}

function Credential({
  chain,
  address,
  contract,
  accredited,
  credential,
}: {
  chain: ChainInfo;
  address: string;
  contract: Address;
  accredited: boolean;
  credential: Held;
}) {
  const rows = [
    ...credential.addresses.map((a) => ({ address: a, note: "acts for it" })),
    ...credential.pendingAddresses.map((a) => ({
      address: a,
      note: "asked for, awaiting the stewards' approval",
    })),
    ...credential.removedAddresses.map((a) => ({
      address: a,
      note: "removed (its past spending still counts)",
    })),
  ];
  const live = !credential.revoked;
  return (
    <>
      <h2>Credential #{credential.id}</h2>
      <p
        className={accredited ? undefined : "error"}
        data-testid="credential-validity"
      >{`Status: ${statusText(accredited, credential, address)}.`}</p>
      <p className="muted small" title={credential.referenceHash}>
        Accrediting body's reference (hash): {credential.referenceHash.slice(0, 18)}…
      </p>
      <h3>Addresses</h3>
      <ul data-testid="credential-addresses">
        {rows.map((row) => (
          <li
            key={row.address}
            title={row.address}
            data-testid={`credential-address-${row.address}`}
          >
            {shortAddress(row.address)}
            {row.address === address.toLowerCase() ? " (you)" : ""}: {row.note}
          </li>
        ))}
      </ul>
      {live && credential.addresses.includes(address.toLowerCase()) && (
        <RequestAddress
          chain={chain}
          address={address}
          contract={contract}
          known={rows.map((row) => row.address)}
          full={credential.addresses.length + credential.pendingAddresses.length >= 4}
        />
      )}
    </>
  );
}

/** ResearcherCredential.requestAddress, sent by an address that acts for the credential. */
function RequestAddress({
  chain,
  address,
  contract,
  known,
  full,
}: {
  chain: ChainInfo;
  address: string;
  contract: Address;
  known: string[];
  full: boolean;
}) {
  const trpc = useTRPC();
  const queryClient = useQueryClient();
  const [input, setInput] = useState("");
  const [invalid, setInvalid] = useState<string | null>(null);
  const request = useMutation({
    mutationFn: async (account: Address) => {
      const wallet = await connectWallet(chain, address);
      return wallet.send({
        address: contract,
        abi: researcherCredentialAbi,
        functionName: "requestAddress",
        args: [account],
      });
    },
    onSuccess: async () => {
      setInput("");
      await queryClient.invalidateQueries({ queryKey: trpc.access.myCredential.queryKey() });
    },
  });
  const submit = (event: FormEvent) => {
    event.preventDefault();
    const parsed = addressSchema.safeParse(input.trim());
    if (!parsed.success) {
      setInvalid("Enter the other wallet's 0x address (42 characters).");
      return;
    }
    if (known.includes(parsed.data.toLowerCase())) {
      setInvalid("That address is already on your credential.");
      return;
    }
    setInvalid(null);
    request.mutate(getAddress(parsed.data));
  };
  return (
    <form onSubmit={submit} data-testid="request-address">
      <h3>Add another address</h3>
      <p className="muted small">
        A second wallet (or the new one of a rotation) joins your credential once the stewards
        approve it by proposal; it shares your budgets, never a fresh one. At most four addresses.
      </p>
      <label>
        Address
        <input
          data-testid="request-address-input"
          placeholder="0x…"
          spellCheck={false}
          value={input}
          onChange={(event) => setInput(event.target.value)}
          disabled={full}
        />
      </label>{" "}
      <button
        type="submit"
        data-testid="request-address-submit"
        disabled={request.isPending || full}
      >
        {request.isPending ? "Asking…" : "Ask the stewards to add it"}
      </button>
      {full && <p className="muted small">Your credential names the most addresses it may.</p>}
      {invalid && (
        <p className="error small" role="alert">
          {invalid}
        </p>
      )}
      {request.error && (
        <p className="error small" role="alert" data-testid="request-address-error">
          {walletErrorMessage(request.error)}
        </p>
      )}
      {request.data && !request.isPending && (
        <p className="small" role="status" data-testid="request-address-sent">
          Asked in block {request.data.receipt.blockNumber.toString()}: the stewards now vote on
          approving it.
        </p>
      )}
    </form>
  );
}
