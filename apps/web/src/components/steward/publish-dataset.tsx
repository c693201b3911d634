"use client";
/**
 * Publishing, for a steward: pick a verified folder from the server's dataset root, then
 * either list it as a new dataset (listDataset on chain, then its files and metadata off
 * chain) or publish it as the next version of one of my datasets (publishVersion, then its
 * files). Each step shows its state; a step that fails can be retried without redoing the
 * steps before it (an on-chain listing is never sent twice).
 */
import { datasetRegistryAbi } from "@opencohort/chain/generated/abis";
import { datasetMetadataHash } from "@opencohort/chain/metadata";
import {
  type DatasetMetadataInput,
  datasetMetadataSchema,
  tokenAmountSchema,
} from "@opencohort/validators";
import { useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import { type FormEvent, useState } from "react";
import { type Address, bytesToHex, type Hex, parseEventLogs, parseUnits } from "viem";
import { useTRPC, useTRPCClient } from "~/trpc/react";
import { type ChainInfo, connectWallet, walletErrorMessage } from "~/wallet/connect";
import styles from "./steward.module.css";

const MAX_PRICE = 2n ** 96n - 1n;
const DAY = 86_400;

type StepState = "waiting" | "running" | "done" | "failed";
interface Step {
  label: string;
  state: StepState;
  detail?: string;
}

/** "ICD10:E11 Type 2 diabetes mellitus" per line → conditions. */
export function parseConditions(text: string): { code: string; label: string }[] {
  return text
    .split("\n")
    .map((line) => line.trim())
    .filter(Boolean)
    .map((line) => {
      const [code = "", ...label] = line.split(/\s+/);
      return { code, label: label.join(" ") };
    });
}

function zodMessage(error: { issues: { path: PropertyKey[]; message: string }[] }): string {
  const issue = error.issues[0];
  return issue ? `${issue.path.map(String).join(".") || "value"}: ${issue.message}` : "invalid";
}

function randomDatasetId(): Hex {
  return bytesToHex(crypto.getRandomValues(new Uint8Array(32)));
}

export function PublishDataset({
  chain,
  address,
  registry,
}: {
  chain: ChainInfo;
  address: string;
  registry: Address;
}) {
  const trpc = useTRPC();
  const client = useTRPCClient();
  const queryClient = useQueryClient();
  const folders = useQuery(trpc.steward.datasetFolders.queryOptions());
  const mine = useQuery(trpc.steward.myDatasets.queryOptions());
  const [folder, setFolder] = useState("");
  const [target, setTarget] = useState<"new" | Hex>("new");
  const [form, setForm] = useState({
    title: "",
    description: "",
    conditions: "",
    price: "100",
    accessDays: "30",
  });
  const [steps, setSteps] = useState<Step[]>([]);
  /** What the steps so far established, so a retry resumes after them. */
  const [progress, setProgress] = useState<{ datasetId?: Hex; version?: number; done: number }>({
    done: 0,
  });
  const [formError, setFormError] = useState<string | null>(null);

  const inspect = useMutation({
    mutationFn: (name: string) => client.steward.inspectFolder.mutate({ folder: name }),
    onSuccess: (inspected) =>
      setForm((f) => ({
        ...f,
        title: f.title || inspected.title,
        description: f.description || inspected.description,
      })),
  });
  const inspected = inspect.data?.folder === folder ? inspect.data : undefined;

  const choose = (name: string) => {
    setFolder(name);
    setSteps([]);
    setProgress({ done: 0 });
    setFormError(null);
    if (name) inspect.mutate(name);
    else inspect.reset();
  };

  const metadataInput = (): DatasetMetadataInput => ({
    title: form.title,
    description: form.description,
    conditions: parseConditions(form.conditions),
    schemaVersion: inspected?.schemaVersion ?? "",
  });

  const publish = useMutation({
    mutationFn: async () => {
      if (!inspected) throw new Error("Choose and verify a folder first.");
      const isNew = target === "new";
      const plan: string[] = isNew
        ? ["List the dataset on chain", "Register its files", "Publish its metadata"]
        : ["Publish the new version on chain", "Register its files"];
      let state = progress;
      const mark = (index: number, step: Partial<Step>) =>
        setSteps((all) => all.map((s, i) => (i === index ? { ...s, ...step } : s)));
      setSteps(
        plan.map((label, i) => ({ label, state: i < state.done ? "done" : "waiting" }) as Step),
      );

      const metadata = isNew ? datasetMetadataSchema.parse(metadataInput()) : undefined;
      for (let index = state.done; index < plan.length; index++) {
        mark(index, { state: "running", detail: undefined });
        try {
          let detail: string;
          if (index === 0) {
            const wallet = await connectWallet(chain, address);
            if (isNew && metadata) {
              const datasetId = randomDatasetId();
              const { receipt } = await wallet.send({
                address: registry,
                abi: datasetRegistryAbi,
                functionName: "listDataset",
                args: [
                  datasetId,
                  datasetMetadataHash(metadata),
                  inspected.schemaVersionHash as Hex,
                  inspected.contentHash as Hex,
                  parseUnits(form.price, 18),
                  BigInt(Number(form.accessDays) * DAY),
                ],
              });
              state = { ...state, datasetId, version: 1 };
              detail = `Listed in block ${receipt.blockNumber}.`;
            } else {
              const datasetId = target as Hex;
              const { receipt } = await wallet.send({
                address: registry,
                abi: datasetRegistryAbi,
                functionName: "publishVersion",
                args: [datasetId, inspected.contentHash as Hex, inspected.schemaVersionHash as Hex],
              });
              const [published] = parseEventLogs({
                abi: datasetRegistryAbi,
                logs: receipt.logs,
                eventName: "DatasetVersionPublished",
              });
              const version = Number(published?.args.version ?? 0);
              state = { ...state, datasetId, version };
              detail = `Version ${version} published in block ${receipt.blockNumber}.`;
            }
          } else if (index === 1) {
            const registered = await client.steward.registerVersion.mutate({
              datasetId: state.datasetId as Hex,
              version: state.version ?? 1,
              folder: inspected.folder,
            });
            detail = `${registered.persons.toLocaleString("en-US")} persons in ${registered.tables.length} tables.`;
          } else {
            await client.steward.updateMetadata.mutate({
              datasetId: state.datasetId as Hex,
              ...(metadata as NonNullable<typeof metadata>),
            });
            detail = "In the catalogue.";
          }
          state = { ...state, done: index + 1 };
          setProgress(state);
          mark(index, { state: "done", detail });
        } catch (error) {
          setProgress(state);
          mark(index, { state: "failed", detail: walletErrorMessage(error) });
          throw error;
        }
      }
      return state;
    },
    onSettled: async () => {
      await queryClient.invalidateQueries({ queryKey: trpc.steward.pathKey() });
      await queryClient.invalidateQueries({ queryKey: trpc.dataset.pathKey() });
    },
  });

  const submit = (event: FormEvent) => {
    event.preventDefault();
    setFormError(null);
    if (target === "new" && progress.done === 0) {
      const metadata = datasetMetadataSchema.safeParse(metadataInput());
      if (!metadata.success) return setFormError(zodMessage(metadata.error));
      const price = tokenAmountSchema.safeParse(form.price);
      if (!price.success || parseUnits(form.price, 18) > MAX_PRICE) {
        return setFormError("price: must be a token amount such as 250 or 0.5");
      }
      const days = Number(form.accessDays);
      if (!Number.isInteger(days) || days < 1 || days > 3_650) {
        return setFormError("access: must be a whole number of days from 1 to 3650");
      }
    }
    publish.mutate();
  };

  const available = (folders.data ?? []).filter((entry) => entry.registeredAs === null);
  const finished = steps.length > 0 && steps.every((step) => step.state === "done");
  const started = progress.done > 0;
  const field = (name: keyof typeof form) => ({
    value: form[name],
    disabled: started,
    onChange: (event: { target: { value: string } }) =>
      setForm((f) => ({ ...f, [name]: event.target.value })),
  });

  return (
    <section className={styles.section} aria-labelledby="publish-heading">
      <h2 id="publish-heading">Publish a dataset or a new version</h2>
      <p className="muted small">
        Place the folder (manifest.json and Parquet files, e.g. from the synth CLI) in the
        server&apos;s dataset root. Its content hash is recomputed from the bytes before anything is
        committed on chain; only aggregates of it ever reach a researcher.
      </p>
      {folders.isPending && <p className="muted">Looking for dataset folders…</p>}
      {folders.error && (
        <p className="error" role="alert">
          {folders.error.message}
        </p>
      )}
      {folders.data && available.length === 0 && (
        <p className="muted" data-testid="no-folders">
          Every folder in the dataset root is already registered. Add a new one to publish it.
        </p>
      )}
      {available.length > 0 && (
        <form className={styles.form} onSubmit={submit} data-testid="publish-form">
          <label className={styles.wide}>
            Folder
            <select
              data-testid="publish-folder"
              value={folder}
              disabled={publish.isPending || (started && !finished)}
              onChange={(event) => choose(event.target.value)}
            >
              <option value="">Choose a folder…</option>
              {available.map((entry) => (
                <option key={entry.folder} value={entry.folder} disabled={entry.problem !== null}>
                  {entry.folder}
                  {entry.persons !== null
                    ? ` · ${entry.persons.toLocaleString("en-US")} persons · ${entry.schemaVersion}`
                    : ` · ${entry.problem}`}
                </option>
              ))}
            </select>
          </label>
          <label>
            Publish as
            <select
              data-testid="publish-target"
              value={target}
              disabled={started}
              onChange={(event) => setTarget(event.target.value as "new" | Hex)}
            >
              <option value="new">A new dataset</option>
              {(mine.data ?? []).map((dataset) => (
                <option key={dataset.id} value={dataset.id}>
                  Version {dataset.latestVersion + 1} of {dataset.title || dataset.id.slice(0, 10)}
                </option>
              ))}
            </select>
          </label>
          {inspect.isPending && (
            <p className={`muted small ${styles.full}`}>Verifying the folder’s content hash…</p>
          )}
          {inspect.error && (
            <p className={`error small ${styles.full}`} role="alert" data-testid="inspect-error">
              {inspect.error.message}
            </p>
          )}
          {inspected && (
            <p className={`small ${styles.full}`} data-testid="inspected">
              Verified: {inspected.persons.toLocaleString("en-US")} persons,{" "}
              {inspected.tables.map((table) => table.name).join(", ")}; schema{" "}
              {inspected.schemaVersion}; content hash{" "}
              <code title={inspected.contentHash}>{inspected.contentHash.slice(0, 18)}…</code>
            </p>
          )}
          {inspected && target === "new" && (
            <>
              <label className={styles.wide}>
                Title
                <input data-testid="publish-title" {...field("title")} />
              </label>
              <label>
                Price per pass (tokens)
                <input data-testid="publish-price" inputMode="decimal" {...field("price")} />
              </label>
              <label>
                Access (days)
                <input data-testid="publish-days" inputMode="numeric" {...field("accessDays")} />
              </label>
              <label className={styles.full}>
                Description
                <textarea rows={3} data-testid="publish-description" {...field("description")} />
              </label>
              <label className={styles.full}>
                Conditions covered, one per line: code, then label
                <textarea
                  rows={3}
                  data-testid="publish-conditions"
                  placeholder={
                    "ICD10:E11 Type 2 diabetes mellitus\nICD10:I10 Essential hypertension"
                  }
                  {...field("conditions")}
                />
              </label>
            </>
          )}
          {inspected && (
            <button
              type="submit"
              data-testid="publish"
              disabled={publish.isPending || finished || inspect.isPending}
            >
              {publish.isPending
                ? "Publishing…"
                : started && !finished
                  ? "Retry the remaining steps"
                  : target === "new"
                    ? "List and publish"
                    : "Publish the version"}
            </button>
          )}
        </form>
      )}
      {formError && (
        <p className="error small" role="alert" data-testid="publish-error">
          {formError}
        </p>
      )}
      {steps.length > 0 && (
        <ol className={styles.steps} data-testid="publish-steps">
          {steps.map((step) => (
            <li key={step.label} data-state={step.state}>
              <strong>{step.label}</strong>{" "}
              <span className={step.state === "failed" ? styles.stepFailed : "muted"}>
                {step.state === "running"
                  ? "in progress…"
                  : step.state === "waiting"
                    ? "waiting"
                    : (step.detail ?? "")}
              </span>
            </li>
          ))}
        </ol>
      )}
      {finished && progress.datasetId && (
        <p className="small" role="status" data-testid="publish-result">
          Published. <a href={`/datasets/${progress.datasetId}`}>Open its page</a>; import its
          enrolments below so patients can opt in.
        </p>
      )}
    </section>
  );
}
