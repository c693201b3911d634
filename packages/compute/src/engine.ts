import { createHash, createHmac, randomUUID } from "node:crypto";
import {
  type CohortDefinitionInput,
  type DisclosureParams,
  type DisclosureParamsInput,
  disclosureParamsSchema,
  type QueryError,
  type QueryReceipt,
  type ResearcherResult,
} from "@opencohort/validators";
import type { PrivacyBudgetLedger } from "./budget";
import {
  codeBoundsClause,
  type DatasetCatalogue,
  openDataset,
  publicCatalogue,
  verifyDeclaredDomains,
} from "./catalogue/dataset";
import { cohortToSql, parseCohortDefinition } from "./cohort/compile";
import { queryAccounting } from "./disclosure/accounting";
import { contributionBounds } from "./disclosure/bounds";
import { discloseGroups, type GroupAggregate, releaseThreshold } from "./disclosure/control";
import { checkGroupStructure } from "./disclosure/group-limit";
import { fillPartitions, publicPartitions } from "./disclosure/partitions";
import { canonicalHash, canonicalText, sha256Hex } from "./query/canonical";
import { type ConsentSource, compileGuarded, tablesJoined, valueInputs } from "./query/compile";
import { columnKey, dimensionKey, measureKey, type QueryPlan } from "./query/plan";
import {
  positionText,
  type QueryPosition,
  QueryRejection,
  type RuleId,
  rejectionPosition,
  ruleMessages,
} from "./query/rules";
import { MAX_SQL_LENGTH, planFromParseTree } from "./query/validate";
import { type RowsResult, SandboxError, SandboxHost, type TableStorage } from "./sandbox/host";

/** Where DuckDB's own error messages go: the server log, never the researcher. */
export interface EngineLogger {
  warn(message: string, detail: Record<string, unknown>): void;
  error(message: string, detail: Record<string, unknown>): void;
}

export interface ComputeEngineOptions {
  logger: EngineLogger;
  limits: {
    /** DuckDB memory limit of the sandbox, per opened dataset. */
    memoryMb: number;
    threads: number;
    /** Wall-clock limit of one query. */
    timeoutMs: number;
    /**
     * A query whose dimensions could produce more groups than this (judged from declared
     * domains and table sizes, never from the data) is refused before it runs.
     */
    maxGroups?: number;
    maxTempMb?: number;
    /**
     * Sandbox worker processes (default 2): one researcher's long query delays only that
     * researcher while another worker is free. Each worker loads every dataset it serves
     * into memory, so memory grows with this number.
     */
    workers?: number;
    /** Workers one researcher may hold at once (default 1). */
    maxWorkersPerResearcher?: number;
    /**
     * Memory per sandbox worker for each consent snapshot's consented subsets, built by the
     * snapshot's first query and reused by later ones (default half of memoryMb; 0: off,
     * every query filters through the consent set).
     */
    materialiseMb?: number;
  };
  /** Keys the sticky noise. Keep it secret and stable: changing it re-draws every answer. */
  noiseSecret: string | Uint8Array;
  /**
   * "memory" (default) loads each dataset into the sandbox once, the fastest per query;
   * "parquet" reads the files on every query, for datasets larger than the memory limit.
   */
  tableStorage?: TableStorage;
  /** Where `sandbox/worker.mjs` is, when this module was bundled away from it (Next.js). */
  sandboxWorkerPath?: string;
}

export type QueryInput = { sql: string } | { cohort: CohortDefinitionInput };

export interface RunRequest {
  dataset: DatasetCatalogue;
  query: QueryInput;
  /** Persons whose consent is active at `snapshotBlock`; nobody else is visible. */
  consentedPersonIds: BigInt64Array | Iterable<bigint>;
  snapshotBlock: bigint | number | string;
  params: DisclosureParamsInput;
  budget: { ledger: PrivacyBudgetLedger; researcher: string; datasetId: string };
}

/** The private side of a run: for the reward epoch, never for the researcher. */
export interface PrivateInclusions {
  /** Distinct persons behind the released rows. */
  personIds: BigInt64Array;
}

export type RunOutcome =
  | {
      ok: true;
      researcherResult: ResearcherResult;
      receipt: QueryReceipt;
      privateInclusions: PrivateInclusions;
      /**
       * Names this exact answer (budget.ts QueryCharge.repeatKey), for the caller's ledger to
       * recognise a repeat. Server-side only.
       */
      repeatKey: string;
    }
  | { ok: false; error: QueryError };

export type ValidationOutcome =
  | { ok: true; queryHash: `0x${string}`; canonical: string; plan: QueryPlan }
  /** position: where in the SQL the rule applies, when the parser or the rule knows it. */
  | { ok: false; rule: RuleId; message: string; position?: QueryPosition };

export interface ComputeEngine {
  /** Opens (and verifies) a dataset version folder; cached per folder. */
  catalogue(datasetDir: string): Promise<DatasetCatalogue>;
  validate(sql: string, catalogue: DatasetCatalogue): Promise<ValidationOutcome>;
  run(request: RunRequest): Promise<RunOutcome>;
  close(): Promise<void>;
  /** The sandbox, for tests and the benchmark (crash hooks, worker pid). */
  readonly sandbox: SandboxHost;
}

/** Parameters for free feasibility counts: coarser and stricter than the governed ones. */
export function feasibilityParams(governed: DisclosureParamsInput): DisclosureParams {
  const base = disclosureParamsSchema.parse(governed);
  return {
    ...base,
    minCellSize: Math.max(base.minCellSize * 2, 20),
    roundingBase: Math.max(base.roundingBase, 10),
    epsilonPerQuery: Math.min(base.epsilonPerQuery, 0.1),
  };
}

export function createComputeEngine(options: ComputeEngineOptions): ComputeEngine {
  const secret =
    typeof options.noiseSecret === "string"
      ? Buffer.from(options.noiseSecret, "utf8")
      : options.noiseSecret;
  if (secret.length < 16) throw new Error("noiseSecret must have at least 16 bytes");
  const sandbox = new SandboxHost(
    {
      memoryMb: options.limits.memoryMb,
      threads: options.limits.threads,
      timeoutMs: options.limits.timeoutMs,
      ...(options.limits.maxTempMb !== undefined ? { maxTempMb: options.limits.maxTempMb } : {}),
      ...(options.limits.workers !== undefined ? { workers: options.limits.workers } : {}),
      ...(options.limits.maxWorkersPerResearcher !== undefined
        ? { maxLeasesPerTenant: options.limits.maxWorkersPerResearcher }
        : {}),
      ...(options.limits.materialiseMb !== undefined
        ? { materialiseMb: options.limits.materialiseMb }
        : {}),
    },
    options.sandboxWorkerPath,
  );
  const maxGroups = options.limits.maxGroups ?? 10_000;
  const storage = options.tableStorage ?? "memory";
  const catalogues = new Map<string, Promise<DatasetCatalogue>>();
  const sandboxKeys = new WeakMap<DatasetCatalogue, string>();
  /** Datasets whose person table was checked to hold exactly one row per person. */
  const onePersonPerRow = new WeakSet<DatasetCatalogue>();
  /** consent key -> order-independent digest of the set (keys the noise). */
  const consentDigests = new Map<string, string>();
  let runCounter = 0;

  async function catalogue(datasetDir: string): Promise<DatasetCatalogue> {
    let pending = catalogues.get(datasetDir);
    if (!pending) {
      pending = (async () => {
        const opened = await openDataset(datasetDir);
        const key = `d${createHash("sha256").update(`${opened.dir}\u0000${opened.contentHash}`).digest("hex").slice(0, 16)}`;
        const { personTableUnique } = await sandbox.openDataset({
          key,
          dir: opened.dir,
          tables: opened.tables.map((t) => ({
            name: t.name,
            file: t.file,
            replace: codeBoundsClause(t),
          })),
          storage,
        });
        try {
          // The declared domains (value sets, non-null, date ranges) must hold of the data.
          await verifyDeclaredDomains(opened, async (checks) => {
            const steps = checks.map((c) => ({
              sql: c.sql,
              params: c.params,
              read: "rows" as const,
            }));
            // Checked once, on whichever worker is free: the files are the same for all.
            const lease = await sandbox.acquire("(catalogue)");
            try {
              const results = (await lease.exec(key, steps)) as RowsResult[];
              return results.map((r) => Number(r.rows[0]?.[0] ?? 1));
            } finally {
              lease.release();
            }
          });
        } catch (error) {
          await sandbox.closeDataset(key).catch(() => undefined);
          throw error;
        }
        sandboxKeys.set(opened, key);
        if (personTableUnique) onePersonPerRow.add(opened);
        return opened;
      })();
      catalogues.set(datasetDir, pending);
      pending.catch(() => catalogues.delete(datasetDir));
    }
    return pending;
  }

  async function validate(sql: string, dataset: DatasetCatalogue): Promise<ValidationOutcome> {
    try {
      if (sql.length > MAX_SQL_LENGTH) throw new QueryRejection("query-too-long");
      const [parsed] = (await sandbox.exec(null, [
        { sql: "SELECT json_serialize_sql($1::VARCHAR)", params: [sql], read: "rows" },
      ])) as [RowsResult];
      const json = parsed.rows[0]?.[0];
      if (typeof json !== "string") throw new QueryRejection("syntax");
      const plan = planFromParseTree(JSON.parse(json), dataset);
      return { ok: true, queryHash: canonicalHash(plan), canonical: canonicalText(plan), plan };
    } catch (error) {
      if (error instanceof QueryRejection) {
        const position = rejectionPosition(error, sql);
        return position
          ? {
              ok: false,
              rule: error.rule,
              message: error.message + positionText(position),
              position,
            }
          : { ok: false, rule: error.rule, message: error.message };
      }
      if (error instanceof SandboxError && error.kind === "failed") {
        // The parser itself threw (e.g. a syntax error it could not serialise).
        return { ok: false, rule: "syntax", message: ruleMessages.syntax };
      }
      throw error;
    }
  }

  async function run(request: RunRequest): Promise<RunOutcome> {
    const referenceId = randomUUID();
    const params = disclosureParamsSchema.parse(request.params);
    const dataset = request.dataset;
    const datasetKey = sandboxKeys.get(dataset);
    if (!datasetKey) throw new Error("dataset was not opened through engine.catalogue()");
    const fail = (error: Omit<QueryError, "referenceId">): RunOutcome => ({
      ok: false,
      error: { ...error, referenceId },
    });

    let sql: string;
    if ("cohort" in request.query) {
      try {
        sql = cohortToSql(parseCohortDefinition(request.query.cohort), dataset);
      } catch {
        return fail({
          code: "rejected",
          rule: "cohort-definition",
          message: "The cohort definition is invalid.",
        });
      }
    } else {
      sql = request.query.sql;
    }

    let validation: ValidationOutcome;
    try {
      validation = await validate(sql, dataset);
    } catch (error) {
      return failed(error, referenceId, "validate");
    }
    if (!validation.ok)
      return fail({
        code: "rejected",
        rule: validation.rule,
        message: validation.message,
        ...(validation.position ? { position: validation.position } : {}),
      });
    const { plan, queryHash } = validation;
    const bounds = contributionBounds(plan, {
      personTableVerified: onePersonPerRow.has(dataset),
      contributionCap: params.contributionCap,
      catalogue: dataset,
    });
    try {
      checkGroupStructure(plan, dataset, maxGroups);
    } catch (error) {
      if (!(error instanceof QueryRejection)) throw error;
      return fail({ code: "rejected", rule: error.rule, message: error.message });
    }
    // Candidate groups from declarations alone when possible: then no delta is spent.
    const partitions = publicPartitions(plan, dataset, maxGroups);
    const { threshold, delta } = releaseThreshold(
      plan,
      valueInputs(plan),
      params,
      bounds,
      partitions ? "public" : "data",
    );

    const accounting = queryAccounting(params);
    const ids = toBigInt64Array(request.consentedPersonIds);
    const consentKey = createHash("sha256")
      .update(new Uint8Array(ids.buffer, ids.byteOffset, ids.byteLength))
      .digest("hex")
      .slice(0, 24);
    // The same question over the same data by the same researcher: the sticky noise makes it
    // the same answer, so a ledger that has charged this key before charges nothing.
    const repeatKey = createHmac("sha256", secret)
      .update(
        JSON.stringify([
          "repeat",
          request.budget.researcher.toLowerCase(),
          request.budget.datasetId,
          queryHash,
          dataset.contentHash,
          consentKey,
          paramsKey(params),
        ]),
      )
      .digest("hex");
    const spend = await request.budget.ledger.spend(
      request.budget.researcher,
      request.budget.datasetId,
      params.epsilonPerQuery,
      delta,
      { rho: accounting.rho, repeatKey, queryHash },
    );
    if (!spend.ok) {
      return fail({
        code: "budget-exhausted",
        message: `The privacy budget for this dataset is spent (remaining ${spend.remaining.toFixed(3)}, this query needs ${params.epsilonPerQuery}).`,
        budgetRemaining: spend.remaining,
      });
    }

    const repeated = spend.repeated === true;
    const cost = repeated
      ? { epsilonSpent: 0, rho: 0 }
      : { epsilonSpent: params.epsilonPerQuery, rho: accounting.rho };
    const runTable = `run_${++runCounter}`;
    const lease = await sandbox.acquire(request.budget.researcher);
    try {
      const loaded = await lease.ensureConsent(datasetKey, consentKey, () => ids);
      if (loaded) consentDigests.set(consentKey, loaded.digest);
      // The snapshot's consented subsets of the tables that fit; the rest read filtered.
      const consent: ConsentSource = {
        consentTable: `consent_${consentKey}`,
        materialised: await lease.materialise(datasetKey, consentKey, tablesJoined(plan)),
      };
      const consentDigest = consentDigests.get(consentKey) ?? consentKey;

      const noiseKeyPrefix = [
        queryHash,
        dataset.contentHash,
        consentDigest,
        paramsKey(params),
      ].join("|");
      const compiled = compileGuarded(plan, dataset, {
        consent,
        runTable,
        consentedCount: ids.length,
        contributionCap: params.contributionCap,
        rowsArePersons: bounds.rowsArePersons,
        // A bound from declared domains needs no enforcing: verified declarations and public
        // partitions (groups outside the domains are never released) keep every person in
        // at most that many groups. Otherwise the pick drops the rest.
        ...(bounds.level === "event" && (bounds.enforceGroupsPerPerson || !partitions)
          ? {
              groupsPerPerson: {
                max: bounds.maxGroupsPerPerson,
                // Sticky like the noise: the same question keeps the same groups per person.
                salt: createHmac("sha256", secret)
                  .update(`${noiseKeyPrefix}|groups-per-person`)
                  .digest("hex"),
              },
            }
          : {}),
      });
      const setup = [compiled.perPerson, compiled.boundGroupsPerPerson, compiled.groups];
      const aggregated = await lease.exec(datasetKey, [
        ...setup.flatMap((step) => (step ? [{ ...step, read: "none" as const }] : [])),
        { ...compiled.groupRows, read: "rows" },
      ]);
      const dataGroups = toGroups(
        aggregated.at(-1) as RowsResult,
        compiled.dimensionCount,
        compiled.inputs.length,
      );
      // checkGroupStructure bounded this from declarations; more means a declaration the
      // dataset check missed. Fail closed (the reason goes to the log, not the researcher).
      if (dataGroups.length > maxGroups) throw new Error("more groups than the structural bound");
      let groups = dataGroups;
      if (partitions) {
        const filled = fillPartitions(partitions, dataGroups, compiled.inputs.length);
        if (filled.outside > 0) {
          options.logger.warn("groups outside the declared domains were left out", {
            referenceId,
            queryHash,
            datasetKey,
          });
        }
        groups = filled.groups;
      }
      const disclosed = discloseGroups(plan, compiled.inputs, groups, {
        secret,
        noiseKeyPrefix,
        params,
        bounds,
        threshold,
      });
      const steps =
        disclosed.releasedHashes.length === 0
          ? []
          : [
              {
                ...compiled.inclusions(
                  disclosed.releasedHashes.length === dataGroups.length
                    ? "all"
                    : disclosed.releasedHashes,
                ),
                read: "index-bitmap" as const,
                bitmapSize: ids.length,
              },
            ];
      const results = await lease.exec(datasetKey, [
        ...steps,
        ...dropSteps(compiled.dropRunTables),
      ]);
      const personIds =
        steps.length > 0 ? selectByBitmap(ids, results[0] as Uint8Array) : new BigInt64Array(0);

      const columns = plan.outputs.map((o) => ({
        name: o.name,
        kind:
          "dimension" in o.ref
            ? ("dimension" as const)
            : measureKind(plan.measures[o.ref.measure]?.kind ?? "count_rows"),
      }));
      const researcherResult: ResearcherResult = {
        columns,
        rows: disclosed.rows,
        uncertainty: disclosed.uncertainty,
        ...cost,
        mechanism: accounting.mechanism,
        repeated,
        delta,
        releaseThreshold: threshold,
        budgetRemaining: spend.remaining,
        queryHash,
        referenceId,
      };
      const receipt: QueryReceipt = {
        version: 2,
        referenceId,
        queryHash,
        datasetContentHash: dataset.contentHash,
        consentSnapshotBlock: BigInt(request.snapshotBlock).toString(),
        params,
        contributionBounds: {
          level: bounds.level,
          maxGroupsPerPerson: bounds.maxGroupsPerPerson,
          maxRowsPerGroup: bounds.maxRowsPerGroup,
        },
        ...cost,
        mechanism: accounting.mechanism,
        repeated,
        delta,
        releaseThreshold: threshold,
        resultHash: sha256Hex(JSON.stringify({ columns, rows: disclosed.rows })),
        personsIncluded: personIds.length,
        executedAt: new Date().toISOString(),
      };
      return {
        ok: true,
        researcherResult,
        receipt,
        privateInclusions: { personIds },
        repeatKey,
      };
    } catch (error) {
      // Best effort: a half-finished run must not leave its per-person table in the sandbox.
      await lease
        .exec(
          datasetKey,
          dropSteps([
            `DROP TABLE IF EXISTS ${runTable}`,
            `DROP TABLE IF EXISTS ${runTable}_groups`,
          ]),
        )
        .catch(() => undefined);
      return failed(error, referenceId, "run", { queryHash, datasetKey });
    } finally {
      lease.release();
    }
  }

  function failed(
    error: unknown,
    referenceId: string,
    stage: string,
    extra: Record<string, unknown> = {},
  ): RunOutcome {
    const detail =
      error instanceof SandboxError
        ? error.detail
        : error instanceof Error
          ? error.message
          : String(error);
    const kind = error instanceof SandboxError ? error.kind : "failed";
    options.logger.error("compute query failed", { referenceId, stage, kind, detail, ...extra });
    if (kind === "timeout") {
      return {
        ok: false,
        error: { code: "limit-exceeded", message: "The query hit the time limit.", referenceId },
      };
    }
    return {
      ok: false,
      error: { code: "query-failed", message: "The query failed.", referenceId },
    };
  }

  return {
    catalogue,
    validate,
    run,
    sandbox,
    async close() {
      await sandbox.close();
    },
  };
}

function dropSteps(statements: string[]) {
  return statements.map((sql) => ({ sql, read: "none" as const }));
}

function measureKind(kind: string): ResearcherResult["columns"][number]["kind"] {
  if (kind === "count_rows") return "count";
  if (kind === "count_persons") return "persons";
  return kind === "sum" ? "sum" : "avg";
}

function paramsKey(p: DisclosureParams): string {
  // The budget decides the mechanism and the noise; without one the key is as before it.
  const budget = p.epsilonBudget === undefined ? "" : `b${p.epsilonBudget}`;
  return `k${p.minCellSize}r${p.roundingBase}e${p.epsilonPerQuery}c${p.contributionCap}${budget}`;
}

/** The consented ids whose positions are set in the bitmap, in consent order. */
function selectByBitmap(ids: BigInt64Array, bitmap: Uint8Array): BigInt64Array {
  const bytes = Math.min(bitmap.length, Math.ceil(ids.length / 8));
  let count = 0;
  for (let j = 0; j < bytes; j++) count += BITS_SET[bitmap[j] as number] as number;
  const selected = new BigInt64Array(count);
  // Copied as pairs of 32-bit words: reading a BigInt64Array element allocates a BigInt.
  const from = new Int32Array(ids.buffer, ids.byteOffset, ids.length * 2);
  const to = new Int32Array(selected.buffer);
  let next = 0;
  for (let j = 0; j < bytes; ) {
    const byte = bitmap[j] as number;
    if (byte === 0xff) {
      // A run of whole bytes (a query over most of the consented set): one block copy.
      let end = j + 1;
      while (end < bytes && bitmap[end] === 0xff) end++;
      const start = j * 8;
      const stop = Math.min(end * 8, ids.length);
      to.set(from.subarray(2 * start, 2 * stop), 2 * next);
      next += stop - start;
      j = end;
      continue;
    }
    for (let bit = 0; byte >>> bit !== 0; bit++) {
      const i = j * 8 + bit;
      if (((byte >>> bit) & 1) === 0 || i >= ids.length) continue;
      to[2 * next] = from[2 * i] as number;
      to[2 * next + 1] = from[2 * i + 1] as number;
      next++;
    }
    j++;
  }
  return next === count ? selected : selected.subarray(0, next);
}

/** How many bits each byte value has set. */
const BITS_SET = Uint8Array.from({ length: 256 }, (_, byte) => {
  let count = 0;
  for (let b = byte; b !== 0; b &= b - 1) count++;
  return count;
});

function toBigInt64Array(ids: BigInt64Array | Iterable<bigint>): BigInt64Array {
  if (ids instanceof BigInt64Array) return ids;
  return BigInt64Array.from(ids);
}

/** The group rows of a compiled query (`compileGuarded().groupRows`) as aggregates. */
export function toGroups(
  result: Pick<RowsResult, "rows">,
  dimensionCount: number,
  inputCount: number,
) {
  return result.rows.map((row): GroupAggregate => {
    const dims = row.slice(0, dimensionCount);
    let i = dimensionCount;
    const persons = Number(row[i++]);
    const rows = Number(row[i++]);
    const sums: number[] = [];
    const counts: number[] = [];
    for (let j = 0; j < inputCount; j++) {
      sums.push(Number(row[i++] ?? 0));
      counts.push(Number(row[i++] ?? 0));
    }
    return { dims, persons, rows, sums, counts, hash: String(row[i]) };
  });
}

export { columnKey, dimensionKey, measureKey, publicCatalogue };
