import { rm } from "node:fs/promises";
import type { DisclosureParamsInput } from "@opencohort/validators";
import { expect } from "vitest";
import { InMemoryBudgetLedger } from "../src/budget";
import type { DatasetCatalogue } from "../src/catalogue/dataset";
import {
  type ComputeEngine,
  createComputeEngine,
  type QueryInput,
  type RunOutcome,
} from "../src/engine";
import { standardPersonIds, writeStandardFixture } from "./fixtures";

export const GOVERNED: DisclosureParamsInput = {
  minCellSize: 11,
  roundingBase: 5,
  epsilonPerQuery: 0.5,
};

export interface Harness {
  engine: ComputeEngine;
  dataset: DatasetCatalogue;
  dir: string;
  ids: bigint[];
  logs: Array<{ message: string; detail: Record<string, unknown> }>;
  ledger: InMemoryBudgetLedger;
  run(
    query: string | QueryInput,
    options?: {
      params?: DisclosureParamsInput;
      ids?: Iterable<bigint>;
      researcher?: string;
      ledger?: InMemoryBudgetLedger;
    },
  ): Promise<RunOutcome>;
  close(): Promise<void>;
}

export async function createHarness(
  options: {
    dir?: string;
    timeoutMs?: number;
    memoryMb?: number;
    tableStorage?: "memory" | "parquet";
    ids?: bigint[];
    /** Sandbox workers (the engine's default when absent). */
    workers?: number;
    /** Memory for materialised consent snapshots (the engine's default when absent; 0: off). */
    materialiseMb?: number;
  } = {},
): Promise<Harness> {
  const dir = options.dir ?? (await writeStandardFixture());
  const logs: Harness["logs"] = [];
  const engine = createComputeEngine({
    logger: {
      warn: (message, detail) => logs.push({ message, detail }),
      error: (message, detail) => logs.push({ message, detail }),
    },
    limits: {
      memoryMb: options.memoryMb ?? 512,
      threads: 2,
      timeoutMs: options.timeoutMs ?? 10_000,
      ...(options.workers !== undefined ? { workers: options.workers } : {}),
      ...(options.materialiseMb !== undefined ? { materialiseMb: options.materialiseMb } : {}),
    },
    noiseSecret: "test-secret-0123456789abcdef",
    ...(options.tableStorage ? { tableStorage: options.tableStorage } : {}),
  });
  const dataset = await engine.catalogue(dir);
  const ledger = new InMemoryBudgetLedger(1_000_000);
  const ids = options.ids ?? standardPersonIds();
  return {
    engine,
    dataset,
    dir,
    ids,
    logs,
    ledger,
    run(query, runOptions = {}) {
      return engine.run({
        dataset,
        query: typeof query === "string" ? { sql: query } : query,
        consentedPersonIds: runOptions.ids ?? ids,
        snapshotBlock: 1234n,
        params: runOptions.params ?? GOVERNED,
        budget: {
          ledger: runOptions.ledger ?? ledger,
          researcher: runOptions.researcher ?? "0xresearcher",
          datasetId: "dataset-1",
        },
      });
    },
    async close() {
      await engine.close();
      if (!options.dir) await rm(dir, { recursive: true, force: true });
    },
  };
}

/** What the researcher gets to see, minus the hex ids that could contain digits by chance. */
export function researcherView(outcome: RunOutcome): string {
  if (!outcome.ok) {
    const { referenceId: _id, ...error } = outcome.error;
    return JSON.stringify(error);
  }
  const { queryHash: _q, referenceId: _r, ...result } = outcome.researcherResult;
  return JSON.stringify(result);
}

export function expectRejected(outcome: RunOutcome, rule?: string) {
  expect(outcome.ok).toBe(false);
  if (outcome.ok) return;
  expect(outcome.error.code).toBe("rejected");
  if (rule) expect(outcome.error.rule).toBe(rule);
}

export function expectOk(outcome: RunOutcome) {
  if (!outcome.ok) throw new Error(`expected success, got ${JSON.stringify(outcome.error)}`);
  return outcome;
}

/** The engine still answers an ordinary question correctly after whatever came before. */
export async function expectStillServing(h: Harness) {
  const outcome = expectOk(
    await h.run("SELECT sex, count(DISTINCT person_id) AS n FROM person GROUP BY sex"),
  );
  expect(outcome.researcherResult.rows.map((r) => r[0])).toEqual(["F", "M"]);
}
