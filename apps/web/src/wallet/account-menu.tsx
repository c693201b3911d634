"use client";
import type { DevAccountIndex } from "@opencohort/chain/dev-accounts";
import { useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import Link from "next/link";
import { useEffect, useMemo, useState, useSyncExternalStore } from "react";
import { getAddress } from "viem";
import { createSiweMessage } from "viem/siwe";
import { useTRPC, useTRPCClient } from "~/trpc/react";
import { walletErrorMessage } from "./connect";
import {
  type ChainTarget,
  chainName,
  chosenWallet,
  ensureWalletChain,
  injectedWallets,
  serverInjectedWallets,
  subscribeInjectedWallets,
} from "./injected";
import { devAccounts, devSigner, injectedSigner, type Signer, shortAddress } from "./signers";
import { useWalletWatch } from "./use-wallet-watch";
import styles from "./wallet.module.css";

/**
 * Header widget: the signed-in address and roles, or SIWE sign-in with a dev account or an
 * injected wallet; while signed in with a wallet, says when the wallet moved to another
 * account or chain.
 */
export function AccountMenu({ chain }: { chain: ChainTarget }) {
  const { chainId } = chain;
  const trpc = useTRPC();
  const client = useTRPCClient();
  const queryClient = useQueryClient();
  const session = useQuery(trpc.auth.session.queryOptions());
  const accounts = useMemo(() => devAccounts(chainId), [chainId]);
  const wallets = useSyncExternalStore(
    subscribeInjectedWallets,
    injectedWallets,
    serverInjectedWallets,
  );
  const [open, setOpen] = useState(false);
  const [devIndex, setDevIndex] = useState<DevAccountIndex>(4);
  const sessionAddress = session.data ? getAddress(session.data.address) : undefined;
  const signedInWithWallet =
    sessionAddress !== undefined && !accounts.some((a) => a.address === sessionAddress);
  const watched = useWalletWatch(signedInWithWallet);

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
  // An error from an earlier attempt does not belong to the wallet account now in view.
  const resetSignIn = signIn.reset;
  const watchedAccount = watched?.account;
  useEffect(() => {
    if (watchedAccount !== undefined) resetSignIn();
  }, [watchedAccount, resetSignIn]);
  const signOut = useMutation({
    mutationFn: () => client.auth.signOut.mutate(),
    onSettled: refresh,
  });
  const switchChain = useMutation({
    mutationFn: async () => {
      const provider = chosenWallet()?.provider;
      if (provider) await ensureWalletChain(provider, chain);
    },
  });
  const signInWithChosenWallet = () => {
    const wallet = chosenWallet();
    if (wallet) signIn.mutate(() => injectedSigner(wallet, chain));
  };

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
        <Link href="/account/tokens" className="small">
          API tokens
        </Link>
        <button type="button" className="link" onClick={() => signOut.mutate()}>
          Sign out
        </button>
        {watched && watched.account !== sessionAddress && (
          <span className={styles.notice} role="alert" data-testid="wallet-account-mismatch">
            {watched.account
              ? `Your wallet switched to ${shortAddress(watched.account)}: it cannot sign for this session.`
              : "Your wallet is locked or disconnected: it cannot sign for this session."}
            {watched.account && (
              <button
                type="button"
                className="secondary"
                disabled={signIn.isPending}
                onClick={signInWithChosenWallet}
              >
                Sign in as {shortAddress(watched.account)}
              </button>
            )}
            {signIn.error && (
              <span className="error small">{walletErrorMessage(signIn.error)}</span>
            )}
          </span>
        )}
        {watched && watched.account === sessionAddress && watched.chainId !== chainId && (
          <span className={styles.notice} role="status" data-testid="wallet-wrong-chain">
            Your wallet is on chain {watched.chainId}; it will be asked to switch to{" "}
            {chainName(chainId)} before it signs.
            <button
              type="button"
              className="secondary"
              disabled={switchChain.isPending}
              onClick={() => switchChain.mutate()}
            >
              Switch now
            </button>
            {switchChain.error && (
              <span className="error small">{walletErrorMessage(switchChain.error)}</span>
            )}
          </span>
        )}
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
          {wallets.map((wallet) => (
            <button
              key={wallet.id}
              type="button"
              className="secondary"
              disabled={signIn.isPending}
              onClick={() => signIn.mutate(() => injectedSigner(wallet, chain))}
            >
              {wallet.name}
            </button>
          ))}
          {wallets.length === 0 && (
            <button
              type="button"
              className="secondary"
              disabled
              title="No browser wallet (EIP-1193) found"
            >
              Browser wallet
            </button>
          )}
          {signIn.isPending && <p className="muted small">Waiting for the signature…</p>}
          {signIn.error && (
            <p className="error small" role="alert">
              {walletErrorMessage(signIn.error)}
            </p>
          )}
        </div>
      )}
    </div>
  );
}
