"use client";
import { MAX_TOKEN_DAYS, tokenCreateInputSchema } from "@opencohort/validators";
import { useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import { type FormEvent, useState } from "react";
import { type RouterOutputs, useTRPC } from "~/trpc/react";

type Created = RouterOutputs["token"]["create"];
type Listed = RouterOutputs["token"]["list"][number];

const dateOf = (value: Date | string | null) =>
  value === null ? "never" : new Date(value).toISOString().slice(0, 16).replace("T", " ");

function scopeText(scopes: Listed["scopes"]): string {
  const parts = [scopes.catalogue ? "catalogue" : null];
  if (scopes.query === "all") parts.push("queries on all my datasets");
  else if (Array.isArray(scopes.query))
    parts.push(`queries on ${scopes.query.length} dataset${scopes.query.length === 1 ? "" : "s"}`);
  return parts.filter(Boolean).join(", ") || "nothing";
}

/** Create (secret shown once), list and revoke personal API tokens. */
export function TokensView() {
  const trpc = useTRPC();
  const session = useQuery(trpc.auth.session.queryOptions());
  if (session.isPending) return <p className="muted">Loading your session…</p>;
  if (session.error) return <p className="error">{session.error.message}</p>;
  if (!session.data) return <p className="muted">Sign in with your wallet to manage API tokens.</p>;
  return <SignedInTokens />;
}

function SignedInTokens() {
  const trpc = useTRPC();
  const queryClient = useQueryClient();
  const tokens = useQuery(trpc.token.list.queryOptions());
  const [created, setCreated] = useState<Created | null>(null);
  const refresh = () => queryClient.invalidateQueries({ queryKey: trpc.token.list.queryKey() });
  const revoke = useMutation(trpc.token.revoke.mutationOptions({ onSettled: refresh }));

  return (
    <>
      <CreateTokenForm
        onCreated={(token) => {
          setCreated(token);
          void refresh();
        }}
      />
      {created && <ShowOnce token={created} onDone={() => setCreated(null)} />}
      <h2>Your tokens</h2>
      {tokens.isPending && <p className="muted">Loading your tokens…</p>}
      {tokens.error && <p className="error">{tokens.error.message}</p>}
      {tokens.data?.length === 0 && (
        <p className="muted" data-testid="tokens-empty">
          You have no API tokens.
        </p>
      )}
      {revoke.error && (
        <p className="error" role="alert">
          {revoke.error.message}
        </p>
      )}
      {tokens.data && tokens.data.length > 0 && (
        <table data-testid="token-list">
          <thead>
            <tr>
              <th>Name</th>
              <th>Token</th>
              <th>Scopes</th>
              <th>Expires</th>
              <th>Last used</th>
              <th>State</th>
              <th />
            </tr>
          </thead>
          <tbody>
            {tokens.data.map((token) => (
              <tr key={token.id} data-testid="token-row">
                <td>{token.name}</td>
                <td>
                  <code>{token.prefix}…</code>
                </td>
                <td className="small">{scopeText(token.scopes)}</td>
                <td className="small">{dateOf(token.expiresAt)}</td>
                <td className="small">{dateOf(token.lastUsedAt)}</td>
                <td data-testid="token-state">{token.state}</td>
                <td>
                  {token.state === "active" && (
                    <button
                      type="button"
                      className="secondary"
                      disabled={revoke.isPending}
                      onClick={() => {
                        if (
                          window.confirm(`Revoke "${token.name}"? Scripts using it stop at once.`)
                        )
                          revoke.mutate({ id: token.id });
                      }}
                    >
                      Revoke
                    </button>
                  )}
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
    </>
  );
}

function CreateTokenForm({ onCreated }: { onCreated: (token: Created) => void }) {
  const trpc = useTRPC();
  const [name, setName] = useState("");
  const [days, setDays] = useState("90");
  const [catalogue, setCatalogue] = useState(true);
  const [queryScope, setQueryScope] = useState<"all" | "none" | "some">("all");
  const [datasets, setDatasets] = useState("");
  const [inputError, setInputError] = useState<string | null>(null);
  const create = useMutation(trpc.token.create.mutationOptions({ onSuccess: onCreated }));

  const submit = (event: FormEvent) => {
    event.preventDefault();
    const input = {
      name,
      expiresInDays: Number(days),
      scopes: {
        catalogue,
        query:
          queryScope === "some"
            ? datasets
                .split(/[\s,]+/)
                .map((id) => id.trim())
                .filter(Boolean)
            : queryScope,
      },
    };
    // The API's own schema, so the form says what is wrong before a round trip; the form
    // keeps what was typed.
    const parsed = tokenCreateInputSchema.safeParse(input);
    if (!parsed.success) {
      const issue = parsed.error.issues[0];
      setInputError(`${issue?.path.join(".") || "input"}: ${issue?.message}`);
      return;
    }
    setInputError(null);
    create.mutate(parsed.data);
  };

  return (
    <form onSubmit={submit} className="card" data-testid="token-form">
      <h2>New token</h2>
      <label>
        Name{" "}
        <input
          value={name}
          onChange={(event) => setName(event.target.value)}
          placeholder="e.g. laptop notebook"
          maxLength={80}
        />
      </label>{" "}
      <label>
        Expires in (days){" "}
        <input
          type="number"
          min={1}
          max={MAX_TOKEN_DAYS}
          value={days}
          onChange={(event) => setDays(event.target.value)}
        />
      </label>
      <fieldset>
        <legend>Scopes</legend>
        <label>
          <input
            type="checkbox"
            checked={catalogue}
            onChange={(event) => setCatalogue(event.target.checked)}
          />{" "}
          Read the catalogue
        </label>
        <br />
        <label>
          Queries{" "}
          <select
            value={queryScope}
            onChange={(event) => setQueryScope(event.target.value as "all" | "none" | "some")}
          >
            <option value="all">on every dataset I hold a pass for</option>
            <option value="some">only on these datasets</option>
            <option value="none">none</option>
          </select>
        </label>
        {queryScope === "some" && (
          <label>
            {" "}
            Dataset ids{" "}
            <input
              value={datasets}
              onChange={(event) => setDatasets(event.target.value)}
              placeholder="0x…, 0x…"
              size={70}
            />
          </label>
        )}
      </fieldset>
      <button type="submit" disabled={create.isPending}>
        {create.isPending ? "Creating…" : "Create token"}
      </button>
      {(inputError ?? create.error?.message) && (
        <p className="error" role="alert" data-testid="token-error">
          {inputError ?? create.error?.message}
        </p>
      )}
    </form>
  );
}

function ShowOnce({ token, onDone }: { token: Created; onDone: () => void }) {
  const [copied, setCopied] = useState<"yes" | "failed" | null>(null);
  const copy = async () => {
    try {
      await navigator.clipboard.writeText(token.secret);
      setCopied("yes");
    } catch {
      setCopied("failed");
    }
  };
  return (
    <div className="card" role="status" data-testid="token-secret-box">
      <p>
        <strong>Copy your token now.</strong> It is shown this once; OpenCohort keeps only its hash.
      </p>
      <p>
        <code data-testid="token-secret">{token.secret}</code>
      </p>
      <button type="button" onClick={copy}>
        Copy
      </button>{" "}
      <button type="button" className="secondary" onClick={onDone}>
        Done
      </button>{" "}
      {copied === "yes" && <span className="small">Copied.</span>}
      {copied === "failed" && (
        <span className="small error">Copying failed: select the token and copy it by hand.</span>
      )}
    </div>
  );
}
