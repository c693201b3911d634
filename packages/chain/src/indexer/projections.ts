/**
 * Mirrored state as a function of the event log. Every mirrored event belongs to one entity
 * (a dataset, a consent pair, a proposal, ...) named by its key; the state of an entity is
 * rebuilt from all of its events still in the log. Applying a new batch and rolling back a
 * reorged range are the same operation — rebuild the touched keys — so a replayed range
 * changes nothing and a rollback leaves exactly what the surviving events say.
 */
import { type CredentialAddressStatus, findOpenEpoch, type Prisma, toDbUint } from "@opencohort/db";
import type { EventArgs } from "./events";

export interface StoredEvent {
  blockNumber: bigint;
  logIndex: number;
  txHash: string;
  blockTimestamp: bigint;
  eventName: string;
  args: EventArgs;
}

type Tx = Prisma.TransactionClient;

const str = (args: EventArgs, name: string): string => String(args[name]);
const bool = (args: EventArgs, name: string): boolean => args[name] === true;
const seconds = (value: bigint | string): Date => new Date(Number(value) * 1000);

export const mirroredEvents = {
  dataset: [
    "DatasetListed",
    "DatasetVersionPublished",
    "DatasetPriceUpdated",
    "DatasetAccessDurationUpdated",
    "DatasetMetadataUpdated",
    "DatasetDelisted",
    "DatasetRelisted",
  ],
  consent: ["ConsentSet", "ConsentSkipped"],
  access: ["AccessPurchased"],
  steward: ["StewardAdmitted", "StewardRemoved"],
  standards: [
    "MinCellSizeUpdated",
    "RoundingBaseUpdated",
    "ContributionCapUpdated",
    "EpsilonUpdated",
    "FeeSplitUpdated",
    "TreasuryUpdated",
    "SchemaVersionSet",
  ],
  proposal: [
    "ProposalCreated",
    "VoteCast",
    "ProposalQueued",
    "ProposalExecuted",
    "ProposalCanceled",
  ],
  reward: ["RootPosted", "Claimed"],
  anchor: ["ReceiptsAnchored"],
  credential: [
    "CredentialIssued",
    "CredentialRevokedBy",
    "CredentialSuspended",
    "CredentialUpdated",
    "AddressRequested",
    "AddressAdded",
    "AddressRemoved",
  ],
} as const;
type EntityKind = keyof typeof mirroredEvents;

const kindOfEvent = new Map<string, EntityKind>(
  Object.entries(mirroredEvents).flatMap(([kind, names]) =>
    names.map((name): [string, EntityKind] => [name, kind as EntityKind]),
  ),
);
export const mirroredEventNames: ReadonlySet<string> = new Set(kindOfEvent.keys());

/** The entity an event belongs to, e.g. `consent:0xpatient:0xdataset`. */
export function entityKeyOf(eventName: string, args: EventArgs): string {
  const kind = kindOfEvent.get(eventName);
  switch (kind) {
    case "dataset":
      return `dataset:${str(args, "datasetId")}`;
    case "consent":
      return `consent:${str(args, "patient")}:${str(args, "datasetId")}`;
    case "access":
      return `access:${str(args, "researcher")}:${str(args, "datasetId")}`;
    case "steward":
      return `steward:${str(args, "steward")}`;
    case "standards":
      return "standards";
    case "proposal":
      return `proposal:${str(args, "proposalId")}`;
    case "reward":
      return `reward:${str(args, "epoch")}`;
    case "anchor":
      return `anchor:${str(args, "epoch")}`;
    case "credential":
      return `credential:${str(args, "credentialId")}`;
    default:
      throw new Error(`No projection for event ${eventName}`);
  }
}

/** Rebuilds the mirrored rows of one entity from its events, given in chain order. */
export interface RebuildOptions {
  /** False when no signed consent waits in the relay queue: its bookkeeping is skipped. */
  relayQueue: boolean;
}

export async function rebuildEntity(
  tx: Tx,
  chainId: number,
  key: string,
  events: StoredEvent[],
  options: RebuildOptions = { relayQueue: true },
): Promise<void> {
  const [kind, ...parts] = key.split(":");
  switch (kind as EntityKind) {
    case "dataset":
      return rebuildDataset(tx, parts[0] as string, events);
    case "consent":
      return rebuildConsent(tx, parts[0] as string, parts[1] as string, events, options.relayQueue);
    case "access":
      return rebuildAccess(tx, chainId, parts[0] as string, parts[1] as string, events);
    case "steward":
      return rebuildSteward(tx, parts[0] as string, events);
    case "standards":
      return rebuildStandards(tx, chainId, events);
    case "proposal":
      return rebuildProposal(tx, parts[0] as string, events);
    case "reward":
      return rebuildReward(tx, Number(parts[0]), events);
    case "anchor":
      return rebuildAnchor(tx, Number(parts[0]), events);
    case "credential":
      return rebuildCredential(tx, Number(parts[0]), events);
    default:
      throw new Error(`Unknown entity key ${key}`);
  }
}

async function rebuildDataset(tx: Tx, datasetId: string, events: StoredEvent[]): Promise<void> {
  const listing = events.find((event) => event.eventName === "DatasetListed");
  if (!listing) {
    // The listing itself was rolled back: nothing on chain says the dataset exists. Rows the
    // app attached to it (enrolments, queries) keep it, unlisted; otherwise it goes.
    await tx.datasetVersion.deleteMany({ where: { datasetId, queries: { none: {} } } });
    await tx.dataset.deleteMany({
      where: {
        id: datasetId,
        enrolments: { none: {} },
        queries: { none: {} },
        rewardShares: { none: {} },
      },
    });
    await tx.dataset.updateMany({ where: { id: datasetId }, data: { listed: false } });
    return;
  }
  const state = {
    steward: str(listing.args, "steward"),
    price: toDbUint(str(listing.args, "price")),
    accessDurationSeconds: Number(listing.args.accessDuration),
    metadataHash: str(listing.args, "metadataHash"),
    latestVersion: 0,
    listed: true,
    delistedByGovernance: false,
    listedBlock: listing.blockNumber,
    listedTxHash: listing.txHash,
    updatedBlock: listing.blockNumber,
  };
  const versions: StoredEvent[] = [];
  for (const event of events) {
    state.updatedBlock = event.blockNumber;
    switch (event.eventName) {
      case "DatasetVersionPublished":
        versions.push(event);
        state.latestVersion = Math.max(state.latestVersion, Number(event.args.version));
        break;
      case "DatasetPriceUpdated":
        state.price = toDbUint(str(event.args, "price"));
        break;
      case "DatasetAccessDurationUpdated":
        state.accessDurationSeconds = Number(event.args.accessDuration);
        break;
      case "DatasetMetadataUpdated":
        state.metadataHash = str(event.args, "metadataHash");
        break;
      case "DatasetDelisted":
        state.listed = false;
        state.delistedByGovernance = bool(event.args, "byGovernance");
        break;
      case "DatasetRelisted":
        state.listed = true;
        state.delistedByGovernance = false;
        break;
    }
  }
  await tx.dataset.upsert({
    where: { id: datasetId },
    create: { id: datasetId, ...state },
    update: state,
    select: { id: true },
  });
  for (const event of versions) {
    const version = Number(event.args.version);
    const onChain = {
      manifestHash: str(event.args, "contentHash"),
      schemaVersion: str(event.args, "schemaVersion"),
      publishedAt: seconds(event.blockTimestamp),
      publishedBlock: event.blockNumber,
      publishedTxHash: event.txHash,
    };
    await tx.datasetVersion.upsert({
      where: { datasetId_version: { datasetId, version } },
      create: { datasetId, version, ...onChain },
      update: onChain,
      select: { id: true },
    });
  }
  // Versions whose publication was rolled back, unless queries already ran on them.
  await tx.datasetVersion.deleteMany({
    where: { datasetId, version: { gt: state.latestVersion }, queries: { none: {} } },
  });
}

async function rebuildConsent(
  tx: Tx,
  patientAddress: string,
  datasetId: string,
  events: StoredEvent[],
  relayQueue: boolean,
): Promise<void> {
  const applied = events.filter((event) => event.eventName === "ConsentSet");
  const latest = applied.at(-1);
  const where = { patientAddress_datasetId: { patientAddress, datasetId } };
  if (latest) {
    const state = {
      granted: bool(latest.args, "granted"),
      nonce: toDbUint(str(latest.args, "nonce")),
      lastBlock: latest.blockNumber,
      lastLogIndex: latest.logIndex,
      lastTxHash: latest.txHash,
    };
    await tx.consentState.upsert({
      where,
      create: { patientAddress, datasetId, ...state },
      update: state,
      select: { patientAddress: true },
    });
  } else {
    await tx.consentState.deleteMany({ where: { patientAddress, datasetId } });
  }

  if (!relayQueue) return;
  // The relay queue follows the chain: applied and skipped messages are settled, and a
  // message whose application was rolled back goes back to the relayer.
  const appliedNonces = applied.map((event) => toDbUint(str(event.args, "nonce")));
  await tx.consentRelayRequest.updateMany({
    where: { patientAddress, datasetId, status: "APPLIED", nonce: { notIn: appliedNonces } },
    data: { status: "PENDING", txHash: null },
  });
  for (const event of applied) {
    await tx.consentRelayRequest.updateMany({
      where: { patientAddress, datasetId, nonce: toDbUint(str(event.args, "nonce")) },
      data: { status: "APPLIED", txHash: event.txHash, error: null },
    });
  }
  const skipReasons = [
    "the signature expired",
    "a newer consent was already applied",
    "the signature is invalid",
  ];
  for (const event of events.filter((e) => e.eventName === "ConsentSkipped")) {
    await tx.consentRelayRequest.updateMany({
      where: {
        patientAddress,
        datasetId,
        nonce: toDbUint(str(event.args, "nonce")),
        status: { not: "APPLIED" },
      },
      data: {
        status: "FAILED",
        txHash: event.txHash,
        error: `Skipped on chain: ${skipReasons[Number(event.args.reason)] ?? "unknown reason"}.`,
      },
    });
  }
}

async function rebuildAccess(
  tx: Tx,
  chainId: number,
  researcherAddress: string,
  datasetId: string,
  events: StoredEvent[],
): Promise<void> {
  const openEpoch = await findOpenEpoch(tx);
  for (const event of events) {
    const expiresAt = seconds(str(event.args, "expiresAt"));
    await tx.purchase.upsert({
      where: {
        chainId_txHash_logIndex: { chainId, txHash: event.txHash, logIndex: event.logIndex },
      },
      // The epoch is fixed when the purchase is first seen: a rebuild never moves money
      // between epochs that may already be paid out.
      create: {
        chainId,
        txHash: event.txHash,
        logIndex: event.logIndex,
        block: event.blockNumber,
        datasetId,
        researcherAddress,
        steward: str(event.args, "steward"),
        price: toDbUint(str(event.args, "price")),
        patientsShare: toDbUint(str(event.args, "patientsShare")),
        stewardShare: toDbUint(str(event.args, "stewardShare")),
        treasuryShare: toDbUint(str(event.args, "treasuryShare")),
        treasury: str(event.args, "treasury"),
        expiresAt,
        epoch: openEpoch?.number ?? null,
      },
      update: { block: event.blockNumber, expiresAt },
      select: { id: true },
    });
  }
  await tx.purchase.deleteMany({
    where: {
      chainId,
      researcherAddress,
      datasetId,
      NOT: events.map((event) => ({ txHash: event.txHash, logIndex: event.logIndex })),
    },
  });
  const latest = events.at(-1);
  if (!latest) {
    await tx.accessPass.deleteMany({ where: { researcherAddress, datasetId } });
    return;
  }
  const pass = {
    expiresAt: seconds(str(latest.args, "expiresAt")),
    txHash: latest.txHash,
    block: latest.blockNumber,
    logIndex: latest.logIndex,
  };
  await tx.accessPass.upsert({
    where: { researcherAddress_datasetId: { researcherAddress, datasetId } },
    create: { researcherAddress, datasetId, ...pass },
    update: pass,
    select: { researcherAddress: true },
  });
}

async function rebuildSteward(tx: Tx, address: string, events: StoredEvent[]): Promise<void> {
  const latest = events.at(-1);
  if (latest?.eventName === "StewardAdmitted") {
    await tx.account.upsert({
      where: { address },
      create: { address },
      update: {},
      select: { address: true },
    });
    await tx.accountRole.upsert({
      where: { address_role: { address, role: "STEWARD" } },
      create: { address, role: "STEWARD", sinceBlock: latest.blockNumber },
      update: { sinceBlock: latest.blockNumber },
      select: { address: true },
    });
  } else {
    await tx.accountRole.deleteMany({ where: { address, role: "STEWARD" } });
  }
}

async function rebuildStandards(tx: Tx, chainId: number, events: StoredEvent[]): Promise<void> {
  await tx.standardsSnapshot.deleteMany({ where: { chainId } });
  const state = {
    minCellSize: 0,
    roundingBase: 0,
    // Registries deployed before the cap was governed never emit it: compute's former constant.
    contributionCap: 10,
    epsilonPerQuery: toDbUint(0),
    epsilonBudget: toDbUint(0),
    patientsBps: 0,
    stewardBps: 0,
    treasuryBps: 0,
    treasury: "0x0000000000000000000000000000000000000000",
    acceptedSchemaVersions: new Set<string>(),
  };
  for (const [index, event] of events.entries()) {
    const { args } = event;
    switch (event.eventName) {
      case "MinCellSizeUpdated":
        state.minCellSize = Number(args.current);
        break;
      case "RoundingBaseUpdated":
        state.roundingBase = Number(args.current);
        break;
      case "ContributionCapUpdated":
        state.contributionCap = Number(args.current);
        break;
      case "EpsilonUpdated":
        state.epsilonPerQuery = toDbUint(str(args, "epsilonPerQuery"));
        state.epsilonBudget = toDbUint(str(args, "epsilonBudget"));
        break;
      case "FeeSplitUpdated":
        state.patientsBps = Number(args.patientsBps);
        state.stewardBps = Number(args.stewardBps);
        state.treasuryBps = Number(args.treasuryBps);
        break;
      case "TreasuryUpdated":
        state.treasury = str(args, "current");
        break;
      case "SchemaVersionSet":
        if (bool(args, "accepted")) state.acceptedSchemaVersions.add(str(args, "schemaVersion"));
        else state.acceptedSchemaVersions.delete(str(args, "schemaVersion"));
        break;
    }
    // One snapshot per block: the state after the block's last standards event.
    if (events[index + 1]?.blockNumber === event.blockNumber) continue;
    const { acceptedSchemaVersions, ...scalars } = state;
    await tx.standardsSnapshot.create({
      data: {
        chainId,
        block: event.blockNumber,
        ...scalars,
        acceptedSchemaVersions: [...acceptedSchemaVersions],
      },
      select: { id: true },
    });
  }
}

async function rebuildProposal(tx: Tx, proposalId: string, events: StoredEvent[]): Promise<void> {
  const created = events.find((event) => event.eventName === "ProposalCreated");
  if (!created) {
    await tx.proposal.deleteMany({ where: { id: proposalId } });
    return;
  }
  const tallies = [0n, 0n, 0n];
  let state: "PENDING" | "QUEUED" | "EXECUTED" | "CANCELED" = "PENDING";
  let eta: bigint | null = null;
  let updatedBlock = created.blockNumber;
  const votes = events.filter((event) => event.eventName === "VoteCast");
  for (const event of events) {
    updatedBlock = event.blockNumber;
    if (event.eventName === "VoteCast") {
      const support = Number(event.args.support);
      tallies[support] = (tallies[support] ?? 0n) + BigInt(str(event.args, "weight"));
    } else if (event.eventName === "ProposalQueued") {
      state = "QUEUED";
      eta = BigInt(str(event.args, "etaSeconds"));
    } else if (event.eventName === "ProposalExecuted") {
      state = "EXECUTED";
    } else if (event.eventName === "ProposalCanceled") {
      state = "CANCELED";
    }
  }
  const { args } = created;
  const mirrored = {
    proposer: str(args, "proposer"),
    description: str(args, "description"),
    descriptionHash: "",
    targets: args.targets as string[],
    values: args.values as string[],
    calldatas: args.calldatas as string[],
    voteStart: BigInt(str(args, "voteStart")),
    voteEnd: BigInt(str(args, "voteEnd")),
    state,
    againstVotes: toDbUint(tallies[0] ?? 0n),
    forVotes: toDbUint(tallies[1] ?? 0n),
    abstainVotes: toDbUint(tallies[2] ?? 0n),
    eta,
    createdBlock: created.blockNumber,
    createdTxHash: created.txHash,
    updatedBlock,
  };
  await tx.proposal.upsert({
    where: { id: proposalId },
    create: { id: proposalId, ...mirrored },
    update: mirrored,
    select: { id: true },
  });
  await tx.vote.deleteMany({ where: { proposalId } });
  for (const vote of votes) {
    await tx.vote.create({
      data: {
        proposalId,
        voter: str(vote.args, "voter"),
        support: Number(vote.args.support),
        weight: toDbUint(str(vote.args, "weight")),
        reason: str(vote.args, "reason"),
        block: vote.blockNumber,
        txHash: vote.txHash,
        logIndex: vote.logIndex,
      },
      select: { proposalId: true },
    });
  }
}

/** One epoch's root (all datasets) and the claims of its payout addresses. */
async function rebuildReward(tx: Tx, epoch: number, events: StoredEvent[]): Promise<void> {
  const posted = events.find((event) => event.eventName === "RootPosted");
  const rewardEpoch = await tx.rewardEpoch.findUnique({
    where: { epoch },
    select: { epoch: true },
  });
  if (!rewardEpoch) return; // Posted by another operator: this database holds no payouts.
  await tx.rewardEpoch.update({
    where: { epoch },
    data: posted
      ? {
          status: "POSTED",
          merkleRoot: str(posted.args, "root"),
          total: toDbUint(str(posted.args, "total")),
          postTxHash: posted.txHash,
          postedBlock: posted.blockNumber,
        }
      : { status: "CLOSING", postedBlock: null },
    select: { epoch: true },
  });
  await tx.rewardPayout.updateMany({
    where: { epoch },
    data: { claimedTxHash: null, claimedBlock: null },
  });
  for (const claim of events.filter((event) => event.eventName === "Claimed")) {
    await tx.rewardPayout.updateMany({
      where: { epoch, payoutAddress: str(claim.args, "account") },
      data: { claimedTxHash: claim.txHash, claimedBlock: claim.blockNumber },
    });
  }
}

async function rebuildAnchor(tx: Tx, epoch: number, events: StoredEvent[]): Promise<void> {
  const anchored = events.at(-1);
  if (!anchored) {
    await tx.receiptAnchor.updateMany({
      where: { epoch },
      data: { status: "PENDING", block: null },
    });
    return;
  }
  const onChain = {
    root: str(anchored.args, "root"),
    receiptCount: Number(anchored.args.receiptCount),
    status: "ANCHORED" as const,
    txHash: anchored.txHash,
    block: anchored.blockNumber,
  };
  await tx.receiptAnchor.upsert({
    where: { epoch },
    create: { epoch, ...onChain },
    update: onChain,
    select: { epoch: true },
  });
}

async function rebuildCredential(
  tx: Tx,
  credentialId: number,
  events: StoredEvent[],
): Promise<void> {
  // The addresses are rewritten whole from the events: simpler than diffing, and a credential
  // has a handful of them.
  await tx.credentialAddress.deleteMany({ where: { credentialId } });
  const issued = events.find((event) => event.eventName === "CredentialIssued");
  if (!issued) {
    await tx.researcherCredential.deleteMany({ where: { id: credentialId } });
    return;
  }
  const expiry = (value: string) => (value === "0" ? null : seconds(value));
  const state = {
    holder: str(issued.args, "holder"),
    metadataHash: str(issued.args, "metadataHash"),
    expiresAt: expiry(str(issued.args, "expiresAt")),
    suspended: false,
    revoked: false,
    issuedBlock: issued.blockNumber,
    issuedTxHash: issued.txHash,
    updatedBlock: issued.blockNumber,
  };
  const addresses = new Map<string, { status: CredentialAddressStatus; block: bigint }>();
  for (const event of events) {
    state.updatedBlock = event.blockNumber;
    const { args } = event;
    switch (event.eventName) {
      case "CredentialRevokedBy":
        state.revoked = true;
        break;
      case "CredentialSuspended":
        state.suspended = bool(args, "suspended");
        break;
      case "CredentialUpdated":
        state.metadataHash = str(args, "metadataHash");
        state.expiresAt = expiry(str(args, "expiresAt"));
        break;
      case "AddressRequested":
        // A request for an address already bound changes nothing (the contract refuses it).
        if (!addresses.has(str(args, "account"))) {
          addresses.set(str(args, "account"), { status: "REQUESTED", block: event.blockNumber });
        }
        break;
      case "AddressAdded":
        addresses.set(str(args, "account"), { status: "ACTIVE", block: event.blockNumber });
        break;
      case "AddressRemoved":
        addresses.set(str(args, "account"), { status: "REMOVED", block: event.blockNumber });
        break;
    }
  }
  await tx.researcherCredential.upsert({
    where: { id: credentialId },
    create: { id: credentialId, ...state },
    update: state,
    select: { id: true },
  });
  await tx.credentialAddress.createMany({
    data: [...addresses].map(([address, { status, block }]) => ({
      credentialId,
      address,
      status,
      block,
    })),
  });
}
