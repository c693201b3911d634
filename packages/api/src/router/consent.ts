/**
 * A patient's side: the datasets they are enrolled in and their consent for each, the
 * EIP-712 message to sign to opt in or out (gasless: the operator's relayer submits it), the
 * relay queue, and which studies used their records.
 *
 * Everything here is about the signed-in patient only. Person ids never leave the server,
 * not even the patient's own: the enrolment is shown by dataset.
 */
import { consentRegistryAbi, consentTypedData, MAX_CONSENT_NONCE_JUMP } from "@opencohort/chain";
import { toDbUint } from "@opencohort/db";
import { consentRelayInputSchema, consentTypedDataInputSchema } from "@opencohort/validators";
import type { TRPCRouterRecord } from "@trpc/server";
import { getAddress, type Hex } from "viem";
import type { ApiContext } from "../context";
import { refusal } from "../services/refusal";
import { roleProcedure } from "../trpc";

const patientProcedure = roleProcedure("patient");

/** How long a signed consent message may wait for the relayer. */
const CONSENT_DEADLINE_SECONDS = 24n * 60n * 60n;

/** Relay requests shown per dataset in `myEnrolments` (newest first). */
const REQUESTS_SHOWN = 10;

type Ctx = Pick<ApiContext, "db" | "chain"> & { session: { address: string } };

async function requireEnrolment(ctx: Ctx, datasetId: string): Promise<void> {
  const enrolment = await ctx.db.enrolment.findUnique({
    where: {
      datasetId_patientAddress: { datasetId, patientAddress: ctx.session.address.toLowerCase() },
    },
    select: { id: true },
  });
  if (!enrolment) {
    throw refusal(
      "FORBIDDEN",
      "enrolment",
      "You are not enrolled in this dataset, so there is no consent of yours to set (rule enrolment).",
    );
  }
}

function onChainNonce(ctx: Ctx, datasetId: string): Promise<bigint> {
  return ctx.chain.client.readContract({
    address: ctx.chain.manifest.contracts.ConsentRegistry,
    abi: consentRegistryAbi,
    functionName: "nonceOf",
    args: [getAddress(ctx.session.address), datasetId as Hex],
  });
}

/**
 * The nonce of the patient's next action on (patient, dataset): above the chain's and above
 * every message already queued for the relayer, so the new action is the latest whatever
 * order things are mined in ("latest action wins"). A direct `setConsent` with this nonce
 * also voids every queued message.
 */
async function nextNonce(ctx: Ctx, datasetId: string): Promise<bigint> {
  const [chainNonce, queued] = await Promise.all([
    onChainNonce(ctx, datasetId),
    ctx.db.consentRelayRequest.findFirst({
      where: { patientAddress: ctx.session.address.toLowerCase(), datasetId },
      orderBy: { nonce: "desc" },
      select: { nonce: true },
    }),
  ]);
  const queuedNonce = queued ? BigInt(queued.nonce) : 0n;
  return (chainNonce > queuedNonce ? chainNonce : queuedNonce) + 1n;
}

const requestSelect = {
  id: true,
  datasetId: true,
  granted: true,
  nonce: true,
  deadline: true,
  status: true,
  txHash: true,
  error: true,
  createdAt: true,
  updatedAt: true,
} as const;

function toRequest(row: {
  id: string;
  granted: boolean;
  nonce: string;
  deadline: string;
  status: string;
  txHash: string | null;
  error: string | null;
  createdAt: Date;
  updatedAt: Date;
}) {
  return {
    id: row.id,
    granted: row.granted,
    nonce: BigInt(row.nonce).toString(),
    deadline: new Date(Number(BigInt(row.deadline)) * 1000),
    status: row.status,
    txHash: row.txHash,
    error: row.error,
    createdAt: row.createdAt,
    updatedAt: row.updatedAt,
  };
}

export const consentRouter = {
  /** The datasets I am enrolled in, my consent for each (as on chain) and my relay requests. */
  myEnrolments: patientProcedure.query(async ({ ctx }) => {
    const patientAddress = ctx.session.address.toLowerCase();
    const enrolments = await ctx.db.enrolment.findMany({
      where: { patientAddress },
      orderBy: { createdAt: "asc" },
      select: {
        datasetId: true,
        createdAt: true,
        dataset: { select: { title: true, steward: true, listed: true } },
      },
    });
    const datasetIds = enrolments.map((enrolment) => enrolment.datasetId);
    const [states, requests] = await Promise.all([
      ctx.db.consentState.findMany({
        where: { patientAddress, datasetId: { in: datasetIds } },
        select: { datasetId: true, granted: true, nonce: true, lastBlock: true, updatedAt: true },
      }),
      ctx.db.consentRelayRequest.findMany({
        where: { patientAddress, datasetId: { in: datasetIds } },
        orderBy: { createdAt: "desc" },
        take: REQUESTS_SHOWN * Math.max(datasetIds.length, 1),
        select: requestSelect,
      }),
    ]);
    const stateOf = new Map(states.map((state) => [state.datasetId, state]));
    return enrolments.map((enrolment) => {
      const state = stateOf.get(enrolment.datasetId);
      const mine = requests.filter((request) => request.datasetId === enrolment.datasetId);
      return {
        datasetId: enrolment.datasetId,
        title: enrolment.dataset.title,
        steward: enrolment.dataset.steward,
        listed: enrolment.dataset.listed,
        enrolledAt: enrolment.createdAt,
        consent: {
          /** Opt-in: no consent on chain counts as not granted. */
          granted: state?.granted ?? false,
          setOnChain: state !== undefined,
          nonce: state ? BigInt(state.nonce).toString() : "0",
          sinceBlock: state?.lastBlock ?? null,
        },
        /** Signed messages waiting for (or settled by) the relayer, newest first. */
        requests: mine.slice(0, REQUESTS_SHOWN).map(toRequest),
        pending: mine.some(
          (request) => request.status === "PENDING" || request.status === "SUBMITTED",
        ),
      };
    });
  }),

  /**
   * The EIP-712 Consent message to sign for opting in (granted) or out of a dataset, from
   * chain's `consentTypedData`. Its nonce follows both the chain and messages already queued
   * (max(nonceOf, highest queued nonce) + 1), so it applies after them; its deadline is one
   * day after the chain's current time.
   */
  typedData: patientProcedure.input(consentTypedDataInputSchema).query(async ({ ctx, input }) => {
    await requireEnrolment(ctx, input.datasetId);
    const patientAddress = ctx.session.address.toLowerCase();
    const [nonce, block] = await Promise.all([
      nextNonce(ctx, input.datasetId),
      ctx.chain.client.getBlock({ blockTag: "latest" }),
    ]);
    return consentTypedData(ctx.chain.chainId, ctx.chain.manifest.contracts.ConsentRegistry, {
      patient: getAddress(patientAddress),
      datasetId: input.datasetId as Hex,
      granted: input.granted,
      nonce,
      deadline: block.timestamp + CONSENT_DEADLINE_SECONDS,
    });
  }),

  /**
   * The transaction for a patient who sends their decision from their own wallet (paying the
   * gas) instead of through the relayer: ConsentRegistry.setConsent(datasetId, granted,
   * nonce) with a nonce above every message still queued, so none of them can override it.
   */
  directCall: patientProcedure.input(consentTypedDataInputSchema).query(async ({ ctx, input }) => {
    await requireEnrolment(ctx, input.datasetId);
    const nonce = await nextNonce(ctx, input.datasetId);
    return {
      address: ctx.chain.manifest.contracts.ConsentRegistry,
      functionName: "setConsent" as const,
      args: [input.datasetId as Hex, input.granted, nonce] as const,
    };
  }),

  /**
   * Queues a signed Consent message for the relayer (PENDING). The signature is verified here
   * (EOA or ERC-1271 wallet) for the signed-in patient, who must be enrolled in the dataset.
   * Posting the same signed message again returns the same request.
   */
  relay: patientProcedure.input(consentRelayInputSchema).mutation(async ({ ctx, input }) => {
    await requireEnrolment(ctx, input.datasetId);
    const patientAddress = ctx.session.address.toLowerCase();
    const signature = input.signature.toLowerCase() as Hex;
    const nonce = toDbUint(input.nonce);
    const key = { patientAddress, datasetId: input.datasetId, nonce };
    const findExisting = () =>
      ctx.db.consentRelayRequest.findUnique({
        where: { patientAddress_datasetId_nonce: key },
        select: { ...requestSelect, signature: true },
      });
    const sameMessage = (row: { granted: boolean; deadline: string; signature: string }) =>
      row.granted === input.granted &&
      BigInt(row.deadline) === input.deadline &&
      row.signature === signature;
    const alreadyQueued = (row: NonNullable<Awaited<ReturnType<typeof findExisting>>>) => {
      if (!sameMessage(row)) {
        throw refusal(
          "CONFLICT",
          "consent-nonce",
          "Another consent message with this nonce was already submitted; ask for new typed data and sign again.",
        );
      }
      return toRequest(row);
    };

    const existing = await findExisting();
    if (existing) return alreadyQueued(existing);

    const { client, manifest, chainId } = ctx.chain;
    const message = {
      patient: getAddress(patientAddress),
      datasetId: input.datasetId as Hex,
      granted: input.granted,
      nonce: input.nonce,
      deadline: input.deadline,
    };
    const valid = await client
      .verifyTypedData({
        address: message.patient,
        ...consentTypedData(chainId, manifest.contracts.ConsentRegistry, message),
        // A fresh object literal: viem wants an indexable record, not the ConsentMessage interface.
        message: { ...message },
        signature,
      })
      .catch(() => false);
    if (!valid) {
      throw refusal(
        "BAD_REQUEST",
        "consent-signature",
        "The signature is not your signature of this consent message (rule consent-signature).",
      );
    }
    const [chainNonce, block] = await Promise.all([
      onChainNonce(ctx, input.datasetId),
      client.getBlock({ blockTag: "latest" }),
    ]);
    if (input.deadline < block.timestamp) {
      throw refusal(
        "BAD_REQUEST",
        "consent-expired",
        "The signed message's deadline has passed; sign a new one (rule consent-expired).",
      );
    }
    if (input.nonce - chainNonce > MAX_CONSENT_NONCE_JUMP) {
      throw refusal(
        "BAD_REQUEST",
        "consent-nonce",
        "The message's nonce is too far ahead of your consent on chain, so the chain would skip it; ask for new typed data and sign again (rule consent-nonce).",
      );
    }
    if (input.nonce <= chainNonce) {
      throw refusal(
        "BAD_REQUEST",
        "consent-nonce",
        "A newer consent of yours is already on chain; ask for new typed data and sign again (rule consent-nonce).",
      );
    }
    try {
      const created = await ctx.db.consentRelayRequest.create({
        data: {
          ...key,
          granted: input.granted,
          deadline: toDbUint(input.deadline),
          signature,
        },
        select: requestSelect,
      });
      return toRequest(created);
    } catch (error) {
      // The same message posted twice at once: the other insert won.
      const raced = (error as { code?: unknown }).code === "P2002" ? await findExisting() : null;
      if (raced) return alreadyQueued(raced);
      throw error;
    }
  }),

  /**
   * The studies that used my records: executed queries whose private inclusion list holds
   * one of my enrolled persons. Dataset, researcher, kind and dates; never the SQL or a result.
   */
  whoUsedMyData: patientProcedure.query(async ({ ctx }) => {
    const enrolments = await ctx.db.enrolment.findMany({
      where: { patientAddress: ctx.session.address.toLowerCase() },
      select: { datasetId: true, personId: true },
    });
    if (enrolments.length === 0) return [];
    const queries = await ctx.db.query.findMany({
      where: {
        status: "SUCCEEDED",
        inclusions: {
          some: {
            OR: enrolments.map((enrolment) => ({
              datasetId: enrolment.datasetId,
              personId: enrolment.personId,
            })),
          },
        },
      },
      orderBy: [{ finishedAt: "desc" }, { id: "desc" }],
      select: {
        id: true,
        datasetId: true,
        researcherAddress: true,
        kind: true,
        createdAt: true,
        finishedAt: true,
        dataset: { select: { title: true } },
      },
    });
    return queries.map((query) => ({
      queryId: query.id,
      datasetId: query.datasetId,
      datasetTitle: query.dataset.title,
      researcher: query.researcherAddress,
      kind: query.kind,
      createdAt: query.createdAt,
      finishedAt: query.finishedAt,
    }));
  }),
} satisfies TRPCRouterRecord;
