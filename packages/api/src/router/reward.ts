/**
 * A patient's rewards. RewardDistributor pays every dataset from one Merkle root per epoch,
 * one leaf per payout address: the sum of the shares of every consent identity that named
 * that address. So the chain shows that an address earned from OpenCohort in an epoch, never
 * from which dataset; which datasets the amount came from is shown here, to the patient only.
 *
 * Each identity names its payout address with its own signature (stored here, never on
 * chain), and claims are sent by the operator's relayer: neither the identities nor the
 * payout address need gas, and the claim transaction comes from the relayer, not the wallet.
 * Shares follow consent (a whole epoch of active consent earns one unit, whichever dataset),
 * never which queries used the records.
 */
import { payoutAddressTypedData } from "@opencohort/chain";
import { fromDbUint } from "@opencohort/db";
import { payoutRegistrationInputSchema } from "@opencohort/validators";
import type { TRPCRouterRecord } from "@trpc/server";
import { getAddress, type Hex } from "viem";
import type { ApiContext } from "../context";
import { refusal } from "../services/refusal";
import { roleProcedure } from "../trpc";

const patientProcedure = roleProcedure("patient");

/** Claim requests shown in `myRewards` (newest first). */
const CLAIM_REQUESTS_SHOWN = 10;

/** How far ahead of the server's clock a signed registration may be dated (clock skew). */
const ISSUED_AT_SKEW_SECONDS = 300n;

type Ctx = Pick<ApiContext, "db" | "chain"> & { session: { address: string } };

/** The signed-in wallet's bound identities, by dataset, and the payout address each named. */
async function myIdentities(ctx: Ctx) {
  const enrolments = await ctx.db.enrolment.findMany({
    where: { patientAddress: ctx.session.address.toLowerCase(), identityAddress: { not: null } },
    select: { datasetId: true, identityAddress: true, dataset: { select: { title: true } } },
  });
  const identities = enrolments.flatMap((e) => (e.identityAddress ? [e.identityAddress] : []));
  const registrations = await ctx.db.payoutRegistration.findMany({
    where: { identityAddress: { in: identities } },
    select: { identityAddress: true, payoutAddress: true, issuedAt: true },
  });
  const payoutOf = new Map(registrations.map((r) => [r.identityAddress, r]));
  return enrolments.flatMap((enrolment) =>
    enrolment.identityAddress
      ? [
          {
            datasetId: enrolment.datasetId,
            datasetTitle: enrolment.dataset.title,
            identity: enrolment.identityAddress,
            payout: payoutOf.get(enrolment.identityAddress)?.payoutAddress ?? null,
          },
        ]
      : [],
  );
}

/** The shares of my identities, newest epoch first (private: they name datasets). */
function mySharesOf(ctx: Ctx, identities: { identity: string }[]) {
  return ctx.db.rewardShare.findMany({
    where: { identityAddress: { in: identities.map((identity) => identity.identity) } },
    orderBy: [{ epoch: "desc" }, { datasetId: "asc" }],
    select: {
      epoch: true,
      datasetId: true,
      payoutAddress: true,
      amount: true,
      dataset: { select: { title: true } },
    },
  });
}

/**
 * My payout leaves: the (epoch, payout address) pairs that a share of one of my identities was
 * paid to. Payouts are found through them rather than through my current payout addresses: a
 * leaf stays mine after I name another address (it is still claimable), and an address I gave
 * up may later be another patient's, whose leaves are none of my business.
 */
function leavesOf(shares: { epoch: number; payoutAddress: string }[]) {
  const keys = new Set(shares.map((share) => leafKey(share.epoch, share.payoutAddress)));
  return {
    addresses: [...new Set(shares.map((share) => share.payoutAddress))],
    has: (epoch: number, payoutAddress: string) => keys.has(leafKey(epoch, payoutAddress)),
  };
}
type Leaves = ReturnType<typeof leavesOf>;

const leafKey = (epoch: number, payoutAddress: string) => `${epoch}:${payoutAddress}`;

/** Claim requests for my leaves, newest first. */
async function myClaimRequests(ctx: Ctx, leaves: Leaves) {
  const requests = await ctx.db.claimRelayRequest.findMany({
    where: { payoutAddress: { in: leaves.addresses } },
    orderBy: { createdAt: "desc" },
    select: {
      id: true,
      payoutAddress: true,
      epochs: true,
      status: true,
      txHash: true,
      error: true,
      createdAt: true,
    },
  });
  return requests
    .filter((request) =>
      epochsOf(request.epochs).some((epoch) => leaves.has(epoch, request.payoutAddress)),
    )
    .map(({ epochs: _epochs, ...request }) => request);
}

const epochsOf = (json: unknown): number[] =>
  Array.isArray(json) ? json.filter((epoch): epoch is number => typeof epoch === "number") : [];

const inFlight = (request: { status: string }) =>
  request.status === "PENDING" || request.status === "SUBMITTED";

export const rewardRouter = {
  /**
   * My identities' payout addresses, my shares per dataset and epoch (private), the payouts my
   * shares were paid in (what the chain shows; also those at an address I have since replaced),
   * and my claim requests.
   */
  myRewards: patientProcedure.query(async ({ ctx }) => {
    const identities = await myIdentities(ctx);
    const shares = await mySharesOf(ctx, identities);
    const leaves = leavesOf(shares);
    const [payouts, requests] = await Promise.all([
      ctx.db.rewardPayout.findMany({
        where: { payoutAddress: { in: leaves.addresses } },
        orderBy: [{ epoch: "desc" }, { payoutAddress: "asc" }],
        select: {
          epoch: true,
          payoutAddress: true,
          amount: true,
          claimedTxHash: true,
          claimedBlock: true,
          rewardEpoch: { select: { status: true } },
        },
      }),
      myClaimRequests(ctx, leaves),
    ]);
    const payoutRows = payouts
      .filter((payout) => leaves.has(payout.epoch, payout.payoutAddress))
      .map((payout) => {
        const claimed = payout.claimedTxHash !== null;
        const posted = payout.rewardEpoch.status === "POSTED";
        return {
          epoch: payout.epoch,
          payoutAddress: payout.payoutAddress,
          amount: fromDbUint(payout.amount),
          /** OPEN / CLOSING (root not yet on chain) / POSTED (claimable). */
          epochStatus: payout.rewardEpoch.status,
          claimed,
          claimedTxHash: payout.claimedTxHash,
          claimedBlock: payout.claimedBlock,
          claimable: posted && !claimed,
        };
      });
    const sum = (rows: { amount: bigint }[]) => rows.reduce((total, row) => total + row.amount, 0n);
    return {
      chainId: ctx.chain.chainId,
      distributor: ctx.chain.manifest.contracts.RewardDistributor,
      identities,
      shares: shares.map((share) => ({
        epoch: share.epoch,
        datasetId: share.datasetId,
        datasetTitle: share.dataset.title,
        payoutAddress: share.payoutAddress,
        amount: fromDbUint(share.amount),
      })),
      payouts: payoutRows,
      totals: {
        claimable: sum(payoutRows.filter((row) => row.claimable)),
        claimed: sum(payoutRows.filter((row) => row.claimed)),
      },
      claimRequests: requests.slice(0, CLAIM_REQUESTS_SHOWN),
      claimPending: requests.some(inFlight),
    };
  }),

  /**
   * Stores where my consent identity for a dataset is paid, from the identity's signature of
   * `PayoutAddress(identity, payout, issuedAt)`. Off chain only. A later registration replaces
   * an earlier one; an older or equally old one is ignored. The payout address must not be my
   * identity (it would be paid under the name the chain shows next to the dataset) and must not
   * already be another patient's (their payouts would be summed with mine).
   */
  registerPayout: patientProcedure
    .input(payoutRegistrationInputSchema)
    .mutation(async ({ ctx, input }) => {
      const wallet = ctx.session.address.toLowerCase();
      const identity = input.identity.toLowerCase();
      const payout = input.payout.toLowerCase();
      const enrolment = await ctx.db.enrolment.findUnique({
        where: { datasetId_patientAddress: { datasetId: input.datasetId, patientAddress: wallet } },
        select: { identityAddress: true },
      });
      if (!enrolment || enrolment.identityAddress !== identity) {
        throw refusal(
          "FORBIDDEN",
          "identity-unbound",
          "This identity is not bound to your enrolment in this dataset; bind it first (rule identity-unbound).",
        );
      }
      // Only my own identities are checked: asking about anybody's would tell a caller which
      // consenting addresses are enrolled.
      const mineAsIdentity = await ctx.db.enrolment.count({
        where: { patientAddress: wallet, identityAddress: payout },
      });
      if (payout === identity || mineAsIdentity > 0) {
        throw refusal(
          "BAD_REQUEST",
          "payout-is-identity",
          "A payout address must not be a consent identity: the chain would show the payment next to the dataset (rule payout-is-identity).",
        );
      }
      const block = await ctx.chain.client.getBlock({ blockTag: "latest" });
      const now = BigInt(Math.floor(Date.now() / 1000));
      const latest = block.timestamp > now ? block.timestamp : now;
      if (input.issuedAt > latest + ISSUED_AT_SKEW_SECONDS) {
        throw refusal(
          "BAD_REQUEST",
          "payout-issued-at",
          "The registration is dated in the future; sign it again (rule payout-issued-at).",
        );
      }
      const typed = payoutAddressTypedData(ctx.chain.chainId, {
        identity: getAddress(identity),
        payout: getAddress(payout),
        issuedAt: input.issuedAt,
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
          "payout-signature",
          "The signature is not this identity's signature of the payout address (rule payout-signature).",
        );
      }
      const othersUsingIt = await ctx.db.payoutRegistration.findMany({
        where: { payoutAddress: payout, identityAddress: { not: identity } },
        select: { identityAddress: true },
      });
      if (othersUsingIt.length > 0) {
        const mine = await ctx.db.enrolment.count({
          where: {
            patientAddress: wallet,
            identityAddress: { in: othersUsingIt.map((row) => row.identityAddress) },
          },
        });
        if (mine !== othersUsingIt.length) {
          throw refusal(
            "CONFLICT",
            "payout-shared",
            "Another patient is paid at this address; choose an address of your own (rule payout-shared).",
          );
        }
      }
      const existing = await ctx.db.payoutRegistration.findUnique({
        where: { identityAddress: identity },
        select: { issuedAt: true },
      });
      if (existing && existing.issuedAt >= input.issuedAt) {
        return { identity, payout: null, replaced: false };
      }
      const data = {
        payoutAddress: payout,
        signature: input.signature.toLowerCase(),
        issuedAt: input.issuedAt,
      };
      await ctx.db.payoutRegistration.upsert({
        where: { identityAddress: identity },
        create: { identityAddress: identity, ...data },
        update: data,
        select: { identityAddress: true },
      });
      return { identity, payout, replaced: existing !== null };
    }),

  /**
   * Asks the relayer to claim every posted, unclaimed payout my shares were paid in, at
   * whichever address (one `claimBatch` per address). Refused while a request of mine is still on its way.
   */
  requestClaim: patientProcedure.mutation(async ({ ctx }) => {
    const leaves = leavesOf(await mySharesOf(ctx, await myIdentities(ctx)));
    if ((await myClaimRequests(ctx, leaves)).some(inFlight)) {
      throw refusal(
        "CONFLICT",
        "claim-pending",
        "Your last claim is still on its way to the chain; wait for it (rule claim-pending).",
      );
    }
    const claimable = (
      await ctx.db.rewardPayout.findMany({
        where: {
          payoutAddress: { in: leaves.addresses },
          claimedTxHash: null,
          rewardEpoch: { status: "POSTED" },
        },
        orderBy: { epoch: "asc" },
        select: { epoch: true, payoutAddress: true, amount: true },
      })
    ).filter((payout) => leaves.has(payout.epoch, payout.payoutAddress));
    if (claimable.length === 0) {
      throw refusal(
        "BAD_REQUEST",
        "nothing-to-claim",
        "Nothing is claimable yet (rule nothing-to-claim).",
      );
    }
    const epochsByPayout = new Map<string, number[]>();
    for (const payout of claimable) {
      epochsByPayout.set(payout.payoutAddress, [
        ...(epochsByPayout.get(payout.payoutAddress) ?? []),
        payout.epoch,
      ]);
    }
    const created = await ctx.db.$transaction(
      [...epochsByPayout].map(([payoutAddress, epochs]) =>
        ctx.db.claimRelayRequest.create({
          data: { payoutAddress, epochs },
          select: { id: true, payoutAddress: true, status: true },
        }),
      ),
    );
    return {
      requests: created,
      amount: claimable.reduce((total, payout) => total + fromDbUint(payout.amount), 0n),
    };
  }),
} satisfies TRPCRouterRecord;
