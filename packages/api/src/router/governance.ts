/**
 * Steward governance: proposals with their live state and votes (mirrored from
 * StewardGovernor; the state read from the chain, because ACTIVE / DEFEATED / SUCCEEDED
 * change with the block), the governed standards (mirrored snapshot and on-chain values), and
 * the calldata of a standards change for the steward's wallet (propose, queue, execute).
 * Reads are public; building a proposal is for stewards. Proposing and voting happen in the
 * wallet, not here.
 */
import {
  researcherCredentialAbi,
  standardsRegistryAbi,
  stewardBadgeAbi,
  stewardGovernorAbi,
} from "@opencohort/chain";
import { fromDbUint, type Prisma } from "@opencohort/db";
import {
  BPS,
  buildProposalInputSchema,
  MAX_CONTRIBUTION_CAP,
  MAX_EPSILON_BUDGET,
  MAX_ROUNDING_BASE,
  MIN_CELL_SIZE_CEILING,
  MIN_CELL_SIZE_FLOOR,
  proposalIdInputSchema,
  proposalListInputSchema,
} from "@opencohort/validators";
import { TRPCError, type TRPCRouterRecord } from "@trpc/server";
import { type Address, formatUnits, type Hex, parseAbi } from "viem";
import type { ApiContext } from "../context";
import { checkCredentialChange, listCredentials } from "../services/accreditation";
import {
  describeCall,
  descriptionHashOf,
  liveProposalState,
  proposalCall,
  proposalIdOf,
} from "../services/governance";
import { syncIndexer } from "../services/indexer-sync";
import { refusal } from "../services/refusal";
import { publicProcedure, roleProcedure } from "../trpc";

const proposalColumns = {
  id: true,
  proposer: true,
  description: true,
  targets: true,
  values: true,
  calldatas: true,
  voteStart: true,
  voteEnd: true,
  state: true,
  forVotes: true,
  againstVotes: true,
  abstainVotes: true,
  eta: true,
  createdBlock: true,
  createdTxHash: true,
  updatedBlock: true,
  _count: { select: { votes: true } },
} as const satisfies Prisma.ProposalSelect;
type ProposalRow = Prisma.ProposalGetPayload<{ select: typeof proposalColumns }>;

const supportNames = ["against", "for", "abstain"] as const;
const timelockAbi = parseAbi(["function getMinDelay() view returns (uint256)"]);

const asStrings = (value: Prisma.JsonValue): string[] =>
  Array.isArray(value) ? value.map(String) : [];

async function viewOf(ctx: ApiContext, row: ProposalRow) {
  const { contracts } = ctx.chain.manifest;
  const live = await liveProposalState(ctx.chain.client, contracts.StewardGovernor, row.id);
  const targets = asStrings(row.targets);
  const calldatas = asStrings(row.calldatas);
  const descriptionHash = descriptionHashOf(row.description);
  return {
    id: row.id,
    proposer: row.proposer,
    description: row.description,
    /** Live state from StewardGovernor.state (the mirror's, if the chain does not know it). */
    state: live ?? row.state,
    stateSource: live ? ("chain" as const) : ("mirror" as const),
    voteStart: row.voteStart,
    voteEnd: row.voteEnd,
    eta: row.eta,
    votes: {
      for: fromDbUint(row.forVotes).toString(),
      against: fromDbUint(row.againstVotes).toString(),
      abstain: fromDbUint(row.abstainVotes).toString(),
      count: row._count.votes,
    },
    changes: targets.map((target, i) => describeCall(contracts, target, calldatas[i] ?? "0x")),
    /** Arguments of Governor.queue / Governor.execute. */
    actions: {
      targets: targets as Address[],
      values: asStrings(row.values).map((value) => BigInt(value)),
      calldatas: calldatas as Hex[],
      descriptionHash,
    },
    createdBlock: row.createdBlock,
    createdTxHash: row.createdTxHash,
  };
}

export const governanceRouter = {
  /** Proposals, newest first, with live state and vote tallies. */
  proposals: publicProcedure.input(proposalListInputSchema).query(async ({ ctx, input }) => {
    const rows = await ctx.db.proposal.findMany({
      orderBy: [{ createdBlock: "desc" }, { id: "desc" }],
      take: input.limit + 1,
      ...(input.cursor ? { cursor: { id: input.cursor }, skip: 1 } : {}),
      select: proposalColumns,
    });
    const page = rows.slice(0, input.limit);
    return {
      items: await Promise.all(page.map((row) => viewOf(ctx, row))),
      nextCursor: rows.length > input.limit ? (page.at(-1)?.id ?? null) : null,
    };
  }),

  /** One proposal with its votes. */
  proposal: publicProcedure.input(proposalIdInputSchema).query(async ({ ctx, input }) => {
    const row = await ctx.db.proposal.findUnique({
      where: { id: input.id },
      select: {
        ...proposalColumns,
        votes: {
          orderBy: [{ block: "asc" }, { logIndex: "asc" }],
          select: {
            voter: true,
            support: true,
            weight: true,
            reason: true,
            block: true,
            txHash: true,
          },
        },
      },
    });
    if (!row) throw new TRPCError({ code: "NOT_FOUND", message: "No such proposal." });
    return {
      ...(await viewOf(ctx, row)),
      voteList: row.votes.map((vote) => ({
        voter: vote.voter,
        support: supportNames[vote.support] ?? "abstain",
        weight: fromDbUint(vote.weight).toString(),
        reason: vote.reason,
        block: vote.block,
        txHash: vote.txHash,
      })),
    };
  }),

  /** The standards in force: the mirrored snapshot compute runs with, and the chain's values. */
  standards: publicProcedure.query(async ({ ctx }) => {
    const { client, manifest } = ctx.chain;
    const registry = { address: manifest.contracts.StandardsRegistry, abi: standardsRegistryAbi };
    const governor = { address: manifest.contracts.StewardGovernor, abi: stewardGovernorAbi };
    const [snapshot, k, base, cap, perQuery, budget, fees, delay, period, threshold, minDelay] =
      await Promise.all([
        ctx.db.standardsSnapshot.findFirst({
          where: { chainId: ctx.chain.chainId },
          orderBy: { block: "desc" },
          select: {
            block: true,
            minCellSize: true,
            roundingBase: true,
            contributionCap: true,
            epsilonPerQuery: true,
            epsilonBudget: true,
            patientsBps: true,
            stewardBps: true,
            treasuryBps: true,
            treasury: true,
            acceptedSchemaVersions: true,
          },
        }),
        client.readContract({ ...registry, functionName: "minCellSize" }),
        client.readContract({ ...registry, functionName: "roundingBase" }),
        client.readContract({ ...registry, functionName: "contributionCap" }),
        client.readContract({ ...registry, functionName: "epsilonPerQuery" }),
        client.readContract({ ...registry, functionName: "epsilonBudget" }),
        client.readContract({ ...registry, functionName: "feeSplit" }),
        client.readContract({ ...governor, functionName: "votingDelay" }),
        client.readContract({ ...governor, functionName: "votingPeriod" }),
        client.readContract({ ...governor, functionName: "proposalThreshold" }),
        client.readContract({
          address: manifest.contracts.TimelockController,
          abi: timelockAbi,
          functionName: "getMinDelay",
        }),
      ]);
    const onChain = {
      minCellSize: Number(k),
      roundingBase: Number(base),
      contributionCap: Number(cap),
      epsilonPerQuery: formatUnits(perQuery, 18),
      epsilonBudget: formatUnits(budget, 18),
      patientsBps: Number(fees[0]),
      stewardBps: Number(fees[1]),
      treasuryBps: Number(fees[2]),
      treasury: fees[3].toLowerCase(),
    };
    const mirrored = snapshot
      ? {
          block: snapshot.block,
          minCellSize: snapshot.minCellSize,
          roundingBase: snapshot.roundingBase,
          contributionCap: snapshot.contributionCap,
          epsilonPerQuery: formatUnits(fromDbUint(snapshot.epsilonPerQuery), 18),
          epsilonBudget: formatUnits(fromDbUint(snapshot.epsilonBudget), 18),
          patientsBps: snapshot.patientsBps,
          stewardBps: snapshot.stewardBps,
          treasuryBps: snapshot.treasuryBps,
          treasury: snapshot.treasury.toLowerCase(),
          acceptedSchemaVersions: asStrings(snapshot.acceptedSchemaVersions),
        }
      : null;
    const { block: _block, acceptedSchemaVersions: _schemas, ...mirroredValues } = mirrored ?? {};
    return {
      /** What queries run with (the indexer's latest snapshot); null before the first sync. */
      snapshot: mirrored,
      onChain,
      /** False while an executed change is not indexed yet. */
      inSync: mirrored !== null && JSON.stringify(mirroredValues) === JSON.stringify(onChain),
      governance: {
        /** The governor counts votes by timestamp (ERC-6372 mode=timestamp). */
        votingDelaySeconds: Number(delay),
        votingPeriodSeconds: Number(period),
        proposalThreshold: threshold.toString(),
        timelockDelaySeconds: Number(minDelay),
        governor: manifest.contracts.StewardGovernor,
        standardsRegistry: manifest.contracts.StandardsRegistry,
      },
      /** StandardsRegistry's bounds; buildProposal refuses anything outside them. */
      limits: {
        minCellSize: { min: MIN_CELL_SIZE_FLOOR, max: MIN_CELL_SIZE_CEILING },
        roundingBase: { min: 1, max: MAX_ROUNDING_BASE },
        contributionCap: { min: 1, max: MAX_CONTRIBUTION_CAP },
        epsilonBudgetMax: MAX_EPSILON_BUDGET,
        bps: BPS,
      },
    };
  }),

  /**
   * The admitted stewards (StewardBadge holders, mirrored from StewardAdmitted /
   * StewardRemoved), oldest first, with the datasets each lists. One badge is one vote.
   */
  stewards: publicProcedure.query(async ({ ctx }) => {
    const rows = await ctx.db.accountRole.findMany({
      where: { role: "STEWARD" },
      orderBy: [{ sinceBlock: "asc" }, { address: "asc" }],
      select: { address: true, sinceBlock: true },
    });
    const listed = await ctx.db.dataset.groupBy({
      by: ["steward"],
      where: { steward: { in: rows.map((row) => row.address) }, listed: true },
      _count: { _all: true },
    });
    const datasets = new Map(listed.map((row) => [row.steward, row._count._all]));
    return rows.map((row) => ({
      address: row.address,
      sinceBlock: row.sinceBlock,
      listedDatasets: datasets.get(row.address) ?? 0,
    }));
  }),

  /**
   * Every researcher credential (mirrored from ResearcherCredential), newest first, with its
   * addresses: acting (ACTIVE), asked for by the holder (REQUESTED, awaiting a proposal) and
   * removed. For the stewards who approve addresses, suspend and revoke.
   */
  credentials: roleProcedure("steward").query(async ({ ctx }) => {
    await syncIndexer(ctx.chain);
    return listCredentials(ctx.db);
  }),

  /**
   * Governor.propose arguments for one change (a StandardsRegistry setter or a StewardBadge
   * mint/burn, through the timelock), with the descriptionHash queue/execute need and the id
   * the proposal will get. A membership change that could only revert at execution (admit a
   * steward, remove a non-steward) is refused now.
   */
  buildProposal: roleProcedure("steward")
    .input(buildProposalInputSchema)
    .mutation(async ({ ctx, input }) => {
      const { contracts } = ctx.chain.manifest;
      const { change } = input;
      if (change.kind === "admitSteward" || change.kind === "removeSteward") {
        const isSteward = await ctx.chain.client.readContract({
          address: contracts.StewardBadge,
          abi: stewardBadgeAbi,
          functionName: "isSteward",
          args: [change.steward as Address],
        });
        if (change.kind === "admitSteward" && isSteward) {
          throw refusal(
            "CONFLICT",
            "steward-membership",
            `${change.steward} is already a steward (rule steward-membership).`,
          );
        }
        if (change.kind === "removeSteward" && !isSteward) {
          throw refusal(
            "CONFLICT",
            "steward-membership",
            `${change.steward} is not a steward (rule steward-membership).`,
          );
        }
      }
      if (change.kind === "accreditResearcher") {
        const accredited = await ctx.chain.client.readContract({
          address: contracts.ResearcherCredential,
          abi: researcherCredentialAbi,
          functionName: "bindingOf",
          args: [change.researcher as Address],
        });
        if (accredited[0] !== 0n) {
          throw refusal(
            "CONFLICT",
            "researcher-credential",
            `${change.researcher} already belongs to a researcher credential (rule researcher-credential).`,
          );
        }
      }
      if (
        change.kind === "approveCredentialAddress" ||
        change.kind === "suspendCredential" ||
        change.kind === "revokeCredential"
      ) {
        await checkCredentialChange(ctx.chain, change);
      }
      const call = proposalCall(change, contracts);
      const targets: Address[] = [call.target];
      const values: bigint[] = [0n];
      const calldatas: Hex[] = [call.calldata];
      const descriptionHash = descriptionHashOf(input.description);
      const proposalId = proposalIdOf(targets, values, calldatas, descriptionHash);
      const existing = await ctx.db.proposal.findUnique({
        where: { id: proposalId },
        select: { id: true },
      });
      if (existing) {
        throw refusal(
          "CONFLICT",
          "proposal-exists",
          "The same change with the same description was already proposed; change the description.",
        );
      }
      return {
        governor: contracts.StewardGovernor,
        targets,
        values,
        calldatas,
        description: input.description,
        descriptionHash,
        proposalId,
        change: describeCall(contracts, call.target, call.calldata),
      };
    }),
} satisfies TRPCRouterRecord;
