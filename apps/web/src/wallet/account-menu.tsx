"use client";
import type { DevAccountIndex } from "@opencohort/chain/dev-accounts";
import { useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import { useMemo, useState } from "react";
import { getAddress } from "viem";
import { createSiweMessage } from "viem/siwe";
import { useTRPC, useTRPCClient } from "~/trpc/react";
import {
  devAccounts,
  devSigner,
  hasInjectedWallet,
  injectedSigner,
  type Signer,
  shortAddress,
} from "./signers";

/** Header widget: the signed-in address and roles, or SIWE sign-in with a dev account or wallet. */
export function AccountMenu({ chainId }: { chainId: number }) {
  const trpc = useTRPC();
  const client = useTRPCClient();
  const queryClient = useQueryClient();
  const session = useQuery(trpc.auth.session.queryOptions());
  const accounts = useMemo(() => devAccounts(chainId), [chainId]);
  const [open, setOpen] = useState(false);
  const [devIndex, setDevIndex] = useState<DevAccountIndex>(4);

  const refresh = () => queryClient.invalidateQueries();

  const signIn = useMutation({
    mutationFn: async (getSigner: () => Promise<Signer>) => {
      const signer = await getSigner();
      const request = await client.auth.nonce.mutate();
      const message = createSiweMessage({
        address: signer.address,
        chainId: request.chainId,
        domain: request.domain,
        uri: request.uri,
        nonce: request.nonce,
        version: request.version,
        statement: request.statement,
        expirationTime: request.expiresAt,
      });
      const signature = await signer.signMessage(message);
      return client.auth.verify.mutate({ message, signature });
    },
    onSuccess: async () => {
      setOpen(false);
      await refresh();
    },
  });
  const signOut = useMutation({
    mutationFn: () => client.auth.signOut.mutate(),
    onSettled: refresh,
  });

  if (session.isPending) return <div className="account muted">…</div>;

  if (session.data) {
    const { address, roles } = session.data;
    const held = (Object.keys(roles) as (keyof typeof roles)[]).filter((role) => roles[role]);
    return (
      <div className="account">
        <span className="address" data-testid="signed-in-address" title={getAddress(address)}>
          {shortAddress(address)}
        </span>
        {held.map((role) => (
          <span key={role} className="badge">
            {role}
          </span>
        ))}
        <button type="button" className="link" onClick={() => signOut.mutate()}>
          Sign out
        </button>
      </div>
    );
  }

  return (
    <div className="account">
      <button type="button" onClick={() => setOpen(!open)} aria-expanded={open}>
        Sign in
      </button>
      {open && (
        <div className="popover" role="dialog" aria-label="Sign in">
          <p className="muted small">
            Sign-In with Ethereum: you sign a message, no transaction and no gas.
          </p>
          {accounts.length > 0 && (
            <fieldset>
              <legend>Local chain: demo accounts</legend>
              <select
                data-testid="dev-account"
                value={devIndex}
                onChange={(event) => setDevIndex(Number(event.target.value) as DevAccountIndex)}
              >
                {accounts.map((account) => (
                  <option key={account.index} value={account.index}>
                    #{account.index} {account.role} · {shortAddress(account.address)}
                  </option>
                ))}
              </select>
              <button
                type="button"
                data-testid="dev-sign-in"
                disabled={signIn.isPending}
                onClick={() => signIn.mutate(async () => devSigner(chainId, devIndex))}
              >
                Sign in as #{devIndex}
              </button>
            </fieldset>
          )}
          <button
            type="button"
            className="secondary"
            disabled={signIn.isPending || !hasInjectedWallet()}
            onClick={() => signIn.mutate(injectedSigner)}
            title={hasInjectedWallet() ? undefined : "No browser wallet (EIP-1193) found"}
          >
            Browser wallet
          </button>
          {signIn.isPending && <p className="muted small">Waiting for the signature…</p>}
          {signIn.error && (
            <p className="error small" role="alert">
              {signIn.error.message}
            </p>
          )}
        </div>
      )}
    </div>
  );
}
