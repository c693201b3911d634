/**
 * A researcher's access passes, and everything the web app needs to buy one in a single
 * transaction (Marketplace.purchaseAccessWithPermit with an ERC-2612 permit).
 */
import {
  cohortTokenAbi,
  datasetRegistryAbi,
  marketplaceAbi,
  researcherCredentialAbi,
} from "@opencohort/chain";
import { datasetIdInputSchema } from "@opencohort/validators";
import { TRPCError, type TRPCRouterRecord } from "@trpc/server";
import { formatUnits, getAddress, type Hex, zeroAddress } from "viem";
import { syncIndexer } from "../services/indexer-sync";
import { roleProcedure } from "../trpc";

/** The ERC-2612 Permit type (OpenZeppelin ERC20Permit). */
export const permitTypes = {
  Permit: [
    { name: "owner", type: "address" },
    { name: "spender", type: "address" },
    { name: "value", type: "uint256" },
    { name: "nonce", type: "uint256" },
    { name: "deadline", type: "uint256" },
  ],
} as const;

export const accessRouter = {
  /** My passes, newest expiry first, from the mirrored AccessPurchased events. */
  myPasses: roleProcedure("researcher").query(async ({ ctx }) => {
    const passes = await ctx.db.accessPass.findMany({
      where: { researcherAddress: ctx.session.address.toLowerCase() },
      orderBy: { expiresAt: "desc" },
      select: { datasetId: true, expiresAt: true, txHash: true },
    });
    const datasets = await ctx.db.dataset.findMany({
      where: { id: { in: passes.map((pass) => pass.datasetId) } },
      select: { id: true, title: true, listed: true },
    });
    const byId = new Map(datasets.map((dataset) => [dataset.id, dataset]));
    const now = new Date();
    return passes.map((pass) => ({
      datasetId: pass.datasetId,
      title: byId.get(pass.datasetId)?.title ?? "",
      listed: byId.get(pass.datasetId)?.listed ?? false,
      expiresAt: pass.expiresAt,
      active: pass.expiresAt > now,
      txHash: pass.txHash,
    }));
  }),

  /**
   * The signed-in researcher's credential: whether it is valid now (read live on chain), and
   * from the mirrored credential events its expiry (null: none), the accrediting body's
   * reference hash, the addresses acting for it, the ones it asked governance to add
   * (pending) and the removed ones, and what it allows. An address that is no credential's
   * yet sees the credentials that asked for it. Budgets are kept per credential.
   */
  myCredential: roleProcedure("researcher").query(async ({ ctx }) => {
    const own = ctx.session.address.toLowerCase();
    /** Where the holder sends requestAddress. */
    const contract = ctx.chain.manifest.contracts.ResearcherCredential;
    const [accredited] = await Promise.all([
      ctx.chain.client.readContract({
        address: contract,
        abi: researcherCredentialAbi,
        functionName: "isAccredited",
        args: [getAddress(own)],
      }),
      // A request or an approval mined a moment ago must show.
      syncIndexer(ctx.chain),
    ]);
    const rows = await ctx.db.credentialAddress.findMany({
      where: { address: own },
      select: {
        status: true,
        credential: {
          select: {
            id: true,
            metadataHash: true,
            expiresAt: true,
            suspended: true,
            revoked: true,
            addresses: {
              orderBy: [{ block: "asc" }, { address: "asc" }],
              select: { address: true, status: true },
            },
          },
        },
      },
    });
    const bound = rows.find((row) => row.status !== "REQUESTED");
    if (!bound) {
      return {
        accredited: false,
        contract,
        credential: null,
        /** Credentials that asked governance to add this address (not approved yet). */
        requestedBy: rows.map((row) => String(row.credential.id)),
        allows:
          rows.length > 0
            ? "Nothing until the stewards approve adding this address to the credential that asked for it."
            : "Nothing yet: stewards accredit researchers by proposal (README: Accrediting a researcher).",
      };
    }
    const record = bound.credential;
    const addressesIn = (status: string) =>
      record.addresses.filter((row) => row.status === status).map((row) => row.address);
    return {
      accredited,
      contract,
      credential: {
        id: String(record.id),
        referenceHash: record.metadataHash,
        expiresAt: record.expiresAt,
        suspended: record.suspended,
        revoked: record.revoked,
        /** Acting for the credential now. */
        addresses: addressesIn("ACTIVE"),
        /** Asked for by the holder, awaiting a governance approval. */
        pendingAddresses: addressesIn("REQUESTED"),
        /** Removed by the holder: act for nothing, but their spending still counts. */
        removedAddresses: addressesIn("REMOVED"),
      },
      requestedBy: [],
      allows: accredited
        ? "Buying access passes, feasibility counts and queries; one privacy budget per dataset shared by all these addresses."
        : "Nothing while it is suspended, revoked or expired: passes do not work and queries are refused.",
    };
  }),

  /**
   * The terms of buying (or extending) a pass, read live from the chain: price and duration,
   * the token, the researcher's balance, nonce and current expiry, and the EIP-712 permit to
   * sign (value = price, spender = Marketplace; the wallet adds a deadline). Then call
   * Marketplace.purchaseAccessWithPermit(datasetId, maxPrice = value, minExpiresAt, deadline,
   * v, r, s): `minExpiresAt` is the expiry these terms give, so a steward cutting the
   * duration in front of the purchase makes it revert instead of selling less.
   */
  purchaseTerms: roleProcedure("researcher")
    .input(datasetIdInputSchema)
    .query(async ({ ctx, input }) => {
      const { client, manifest, chainId } = ctx.chain;
      const owner = getAddress(ctx.session.address);
      const datasetId = input.datasetId as Hex;
      const token = { address: manifest.contracts.CohortToken, abi: cohortTokenAbi } as const;
      const marketplace = manifest.contracts.Marketplace;
      const [terms, domain, symbol, decimals, nonce, balance, allowance, expiry, accredited, head] =
        await Promise.all([
          client.readContract({
            address: manifest.contracts.DatasetRegistry,
            abi: datasetRegistryAbi,
            functionName: "purchaseTerms",
            args: [datasetId],
          }),
          client.readContract({ ...token, functionName: "eip712Domain" }),
          client.readContract({ ...token, functionName: "symbol" }),
          client.readContract({ ...token, functionName: "decimals" }),
          client.readContract({ ...token, functionName: "nonces", args: [owner] }),
          client.readContract({ ...token, functionName: "balanceOf", args: [owner] }),
          client.readContract({ ...token, functionName: "allowance", args: [owner, marketplace] }),
          client.readContract({
            address: marketplace,
            abi: marketplaceAbi,
            functionName: "accessExpiry",
            args: [owner, datasetId],
          }),
          client.readContract({
            address: manifest.contracts.ResearcherCredential,
            abi: researcherCredentialAbi,
            functionName: "isAccredited",
            args: [owner],
          }),
          client.getBlock({ blockTag: "latest" }),
        ]);
      const [steward, price, accessDuration, listed] = terms;
      if (steward === zeroAddress) {
        throw new TRPCError({ code: "NOT_FOUND", message: "There is no dataset with this id." });
      }
      const [, name, version, , verifyingContract] = domain;
      const expiresAt = expiry === 0n ? null : new Date(Number(expiry) * 1000);
      // A purchase mined later starts no earlier than the latest block's time (bigints: no
      // Math.max).
      let start = head.timestamp;
      if (expiry > start) start = expiry;
      const minExpiresAt = start + accessDuration;
      return {
        datasetId: input.datasetId,
        /** False when delisted: the Marketplace refuses to sell. */
        listed,
        steward: steward.toLowerCase(),
        price: price.toString(),
        priceFormatted: formatUnits(price, decimals),
        accessDurationSeconds: Number(accessDuration),
        /** The expiry these terms give (unix seconds); pass it as `minExpiresAt`. */
        minExpiresAt: minExpiresAt.toString(),
        /** The Marketplace sells only to holders of a valid researcher credential. */
        accredited,
        token: { address: token.address, name, symbol, decimals },
        balance: balance.toString(),
        balanceFormatted: formatUnits(balance, decimals),
        /** Enough tokens for one pass. */
        canAfford: balance >= price,
        /** Existing allowance to the Marketplace (purchaseAccess works without a permit if it covers the price). */
        allowance: allowance.toString(),
        /** Current expiry of my pass (null: never bought); a purchase extends it from here if still active. */
        currentExpiry: expiresAt,
        active: expiresAt !== null && expiresAt > new Date(),
        marketplace,
        /** EIP-712 typed data of the ERC-2612 permit; add `deadline` (unix seconds) to the message. */
        permit: {
          domain: { name, version, chainId, verifyingContract },
          types: permitTypes,
          primaryType: "Permit" as const,
          message: {
            owner,
            spender: marketplace,
            value: price.toString(),
            nonce: nonce.toString(),
          },
        },
      };
    }),
} satisfies TRPCRouterRecord;
