/**
 * A patient's side: the datasets they are enrolled in and their consent for each, binding the
 * consent identity of each dataset to the enrolment, the EIP-712 message that identity signs
 * to opt in or out (gasless: the operator's relayer submits it), the relay queue, and which
 * studies used their records.
 *
 * The patient signs in with their wallet, but consents under one identity per dataset
 * (chain/identity.ts), so the chain never shows the wallet next to a dataset. The server
 * learns wallet ↔ identity only from the patient's own binding, and it stays in the steward's
 * enrolment table. Person ids never leave the server, not even the patient's own.
 */
import {
  consentRegistryAbi,
  consentTypedData,
  identityBindingTypedData,
  MAX_CONSENT_NONCE_JUMP,
} from "@opencohort/chain";
import {
  backfillPatientQueryUses,
  queriesThatUsedPatient,
  sqlDialectOf,
  toDbUint,
} from "@opencohort/db";
import {
  bindIdentityInputSchema,
  consentRelayInputSchema,
  consentTypedDataInputSchema,
  whoUsedMyDataInputSchema,
} from "@opencohort/validators";
import type { TRPCRouterRecord } from "@trpc/server";
import { getAddress, type Hex } from "viem";
import type { ApiContext } from "../context";
import { refusal } from "../services/refusal";
import { protectedProcedure, roleProcedure } from "../trpc";

const patientProcedure = roleProcedure("patient");

/** How long a signed consent message may wait for the relayer. */
const CONSENT_DEADLINE_SECONDS = 24n * 60n * 60n;

/** Relay requests shown per dataset in `myEnrolments` (newest first). */
const REQUESTS_SHOWN = 10;

type Ctx = Pick<ApiContext, "db" | "chain"> & { session: { address: string } };

/**
 * The consent identity bound to the signed-in wallet's enrolment in `datasetId`: the address
 * that signs its consent messages and that the chain records.
 */
async function boundIdentity(ctx: Ctx, datasetId: string): Promise<string> {
  const enrolment = await ctx.db.enrolment.findUnique({
    where: {
      datasetId_patientAddress: { datasetId, patientAddress: ctx.session.address.toLowerCase() },
    },
    select: { identityAddress: true },
  });
  if (!enrolment) {
    throw refusal(
      "FORBIDDEN",
      "enrolment",
      "You are not enrolled in this dataset, so there is no consent of yours to set (rule enrolment).",
    );
  }
  if (!enrolment.identityAddress) {
    throw refusal(
      "PRECONDITION_FAILED",
      "identity-unbound",
      "Create your consent identity for this dataset first (one signature of your wallet): consent is given under it, never under your wallet (rule identity-unbound).",
    );
  }
  return enrolment.identityAddress;
}

function onChainNonce(ctx: Ctx, identity: string, datasetId: string): Promise<bigint> {
  return ctx.chain.client.readContract({
    address: ctx.chain.manifest.contracts.ConsentRegistry,
    abi: consentRegistryAbi,
    functionName: "nonceOf",
    args: [getAddress(identity), datasetId as Hex],
  });
}

/**
 * The nonce of the identity's next action on (identity, dataset): above the chain's and above
 * every message already queued for the relayer, so the new action is the latest whatever
 * order things are mined in ("latest action wins").
 */
async function nextNonce(ctx: Ctx, identity: string, datasetId: string): Promise<bigint> {
  const [chainNonce, queued] = await Promise.all([
    onChainNonce(ctx, identity, datasetId),
    ctx.db.consentRelayRequest.findFirst({
      where: { patientAddress: identity, datasetId },
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
  /**
   * The datasets I am enrolled in, the consent identity bound to each (mine: only I see it),
   * my consent for each (as on chain, under that identity) and my relay requests.
   */
  myEnrolments: patientProcedure.query(async ({ ctx }) => {
    const wallet = ctx.session.address.toLowerCase();
    const enrolments = await ctx.db.enrolment.findMany({
      where: { patientAddress: wallet },
      orderBy: { createdAt: "asc" },
      select: {
        datasetId: true,
        identityAddress: true,
        createdAt: true,
        dataset: { select: { title: true, steward: true, listed: true } },
      },
    });
    const identities = enrolments.flatMap((enrolment) =>
      enrolment.identityAddress ? [enrolment.identityAddress] : [],
    );
    const datasetIds = enrolments.map((enrolment) => enrolment.datasetId);
    const [states, walletStates, requests] = await Promise.all([
      ctx.db.consentState.findMany({
        where: { patientAddress: { in: identities }, datasetId: { in: datasetIds } },
        select: {
          patientAddress: true,
          datasetId: true,
          granted: true,
          nonce: true,
          lastBlock: true,
        },
      }),
      // Consent signed by the wallet itself, before identities: public, and no longer counted.
      ctx.db.consentState.findMany({
        where: { patientAddress: wallet, datasetId: { in: datasetIds }, granted: true },
        select: { datasetId: true },
      }),
      ctx.db.consentRelayRequest.findMany({
        where: { patientAddress: { in: identities }, datasetId: { in: datasetIds } },
        orderBy: { createdAt: "desc" },
        take: REQUESTS_SHOWN * Math.max(datasetIds.length, 1),
        select: { ...requestSelect, patientAddress: true },
      }),
    ]);
    const stateOf = new Map(
      states.map((state) => [`${state.patientAddress}:${state.datasetId}`, state]),
    );
    const walletConsented = new Set(walletStates.map((state) => state.datasetId));
    return enrolments.map((enrolment) => {
      const identity = enrolment.identityAddress;
      const state = identity ? stateOf.get(`${identity}:${enrolment.datasetId}`) : undefined;
      const mine = requests.filter(
        (request) =>
          request.datasetId === enrolment.datasetId && request.patientAddress === identity,
      );
      return {
        datasetId: enrolment.datasetId,
        title: enrolment.dataset.title,
        steward: enrolment.dataset.steward,
        listed: enrolment.dataset.listed,
        enrolledAt: enrolment.createdAt,
        /** My consent identity for this dataset, or null until I bind one. */
        identity,
        /** A consent my wallet signed itself before identities; it no longer counts. */
        legacyWalletConsent: walletConsented.has(enrolment.datasetId),
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
   * Binds my consent identity for a dataset to my enrolment in it, from the identity's own
   * signature of `BindIdentity(identity, my wallet, dataset)`. Either the steward enrolled my
   * wallet (the identity is filled in) or they enrolled the identity itself (my wallet is
   * filled in). Binding again with the same identity changes nothing; another identity is
   * refused: the enrolment's consent and rewards live under the first one.
   */
  bindIdentity: protectedProcedure
    .input(bindIdentityInputSchema)
    .mutation(async ({ ctx, input }) => {
      const wallet = ctx.session.address.toLowerCase();
      const identity = input.identity.toLowerCase();
      if (identity === wallet) {
        throw refusal(
          "BAD_REQUEST",
          "identity-is-wallet",
          "A consent identity must not be your wallet: the chain would show your wallet next to the dataset (rule identity-is-wallet).",
        );
      }
      const typed = identityBindingTypedData(ctx.chain.chainId, {
        identity: getAddress(identity),
        wallet: getAddress(wallet),
        datasetId: input.datasetId as Hex,
      });
      const valid = await ctx.chain.client
        .verifyTypedData({
          address: getAddress(identity),
          ...typed,
          message: { ...typed.message },
          signature: input.signature as Hex,
        })
        .catch(() => false);
      if (!valid) {
        throw refusal(
          "BAD_REQUEST",
          "identity-signature",
          "The signature is not this identity's signature of the binding to your wallet (rule identity-signature).",
        );
      }
      const elsewhere = await ctx.db.enrolment.count({
        where: { identityAddress: identity, datasetId: { not: input.datasetId } },
      });
      if (elsewhere > 0) {
        throw refusal(
          "BAD_REQUEST",
          "identity-reused",
          "This identity is already bound in another dataset; one identity per dataset keeps your datasets unlinkable on chain (rule identity-reused).",
        );
      }
      const [byWallet, byIdentity] = await Promise.all([
        ctx.db.enrolment.findUnique({
          where: {
            datasetId_patientAddress: { datasetId: input.datasetId, patientAddress: wallet },
          },
          select: { id: true, identityAddress: true },
        }),
        ctx.db.enrolment.findUnique({
          where: {
            datasetId_identityAddress: { datasetId: input.datasetId, identityAddress: identity },
          },
          select: { id: true, personId: true, patientAddress: true },
        }),
      ]);
      const bound = { datasetId: input.datasetId, identity, bound: true as const };
      if (byWallet?.identityAddress === identity) return bound;
      if (byWallet?.identityAddress) {
        throw refusal(
          "CONFLICT",
          "identity-mismatch",
          "Your enrolment is bound to another consent identity. Wallets that sign the same message differently each time cannot derive a stable identity; sign with the wallet you bound with (rule identity-mismatch).",
        );
      }
      if (byWallet && !byIdentity) {
        const updated = await ctx.db.enrolment.updateMany({
          where: { id: byWallet.id, identityAddress: null },
          data: { identityAddress: identity, boundAt: new Date() },
        });
        if (updated.count === 1) return bound;
      }
      if (!byWallet && byIdentity && byIdentity.patientAddress === null) {
        // The enrolment gains a wallet: the queries that already included its person join
        // this patient's "who used my data" in the same transaction.
        const updated = await ctx.db.$transaction(
          async (tx) => {
            const result = await tx.enrolment.updateMany({
              where: { id: byIdentity.id, patientAddress: null },
              data: { patientAddress: wallet, boundAt: new Date() },
            });
            if (result.count === 1) {
              await backfillPatientQueryUses(tx, sqlDialectOf(ctx.db), input.datasetId, [
                byIdentity.personId,
              ]);
            }
            return result;
          },
          { timeout: 120_000 },
        );
        if (updated.count === 1) return bound;
      }
      throw refusal(
        "FORBIDDEN",
        "enrolment",
        "There is no enrolment of yours in this dataset that this identity can be bound to (rule enrolment).",
      );
    }),

  /**
   * The EIP-712 Consent message my consent identity for the dataset signs (in my browser) for
   * opting in (granted) or out, from
   * chain's `consentTypedData`. Its nonce follows both the chain and messages already queued
   * (max(nonceOf, highest queued nonce) + 1), so it applies after them; its deadline is one
   * day after the chain's current time.
   */
  typedData: patientProcedure.input(consentTypedDataInputSchema).query(async ({ ctx, input }) => {
    const identity = await boundIdentity(ctx, input.datasetId);
    const [nonce, block] = await Promise.all([
      nextNonce(ctx, identity, input.datasetId),
      ctx.chain.client.getBlock({ blockTag: "latest" }),
    ]);
    return consentTypedData(ctx.chain.chainId, ctx.chain.manifest.contracts.ConsentRegistry, {
      patient: getAddress(identity),
      datasetId: input.datasetId as Hex,
      granted: input.granted,
      nonce,
      deadline: block.timestamp + CONSENT_DEADLINE_SECONDS,
    });
  }),

  /**
   * Queues a signed Consent message for the relayer (PENDING). The signature is verified here
   * for the consent identity bound to the signed-in patient's enrolment. Posting the same
   * signed message again returns the same request. There is deliberately no way to send it
   * from the wallet itself: that transaction would put the wallet next to the dataset.
   */
  relay: patientProcedure.input(consentRelayInputSchema).mutation(async ({ ctx, input }) => {
    const patientAddress = await boundIdentity(ctx, input.datasetId);
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
        "The signature is not your consent identity's signature of this consent message (rule consent-signature).",
      );
    }
    const [chainNonce, block] = await Promise.all([
      onChainNonce(ctx, patientAddress, input.datasetId),
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
   * The studies that used my records: executed queries whose private inclusion set holds one
   * of my enrolled persons, read from the per-patient index (@opencohort/db inclusions.ts),
   * newest first, a page at a time. Dataset, researcher, kind and dates; never the SQL or a
   * result.
   */
  whoUsedMyData: patientProcedure.input(whoUsedMyDataInputSchema).query(async ({ ctx, input }) => {
    const page = await queriesThatUsedPatient(ctx.db, ctx.session.address.toLowerCase(), {
      after: input.cursor,
      limit: input.limit,
    });
    return {
      items: page.queries.map((query) => ({
        queryId: query.id,
        datasetId: query.datasetId,
        datasetTitle: query.dataset.title,
        researcher: query.researcherAddress,
        kind: query.kind,
        createdAt: query.createdAt,
        finishedAt: query.finishedAt,
      })),
      nextCursor: page.nextCursor,
    };
  }),
} satisfies TRPCRouterRecord;
