/**
 * The accreditation rule ("safe people"): only a researcher whose ResearcherCredential is
 * valid on chain right now (issued through governance, not suspended, revoked or expired)
 * may run feasibility counts or queries. Read live, like Marketplace.hasAccess, so a
 * suspension refuses the very next request, before any indexer catches up.
 */
import { researcherCredentialAbi } from "@opencohort/chain";
import type { CredentialAddressStatus } from "@opencohort/db";
import type { ProposalChange } from "@opencohort/validators";
import { type Address, getAddress } from "viem";
import type { ApiContext } from "../context";
import { syncIndexer } from "./indexer-sync";
import { refusal } from "./refusal";

export const ACCREDITATION_RULE = "accreditation";

export async function requireAccreditation(
  ctx: Pick<ApiContext, "chain">,
  researcher: Address,
): Promise<void> {
  const accredited = await ctx.chain.client.readContract({
    address: ctx.chain.manifest.contracts.ResearcherCredential,
    abi: researcherCredentialAbi,
    functionName: "isAccredited",
    args: [researcher],
  });
  if (!accredited) {
    throw refusal(
      "FORBIDDEN",
      ACCREDITATION_RULE,
      `${await whyNotAccredited(ctx.chain, researcher)}, so no count or query can run (rule accreditation). Ask the stewards who accredit researchers.`,
    );
  }
}

/** Why `researcher` is not accredited, read on chain (only on the refusal path). */
async function whyNotAccredited(
  chain: Pick<ApiContext["chain"], "client" | "manifest">,
  researcher: Address,
): Promise<string> {
  const contract = {
    address: chain.manifest.contracts.ResearcherCredential,
    abi: researcherCredentialAbi,
  } as const;
  const [credentialId] = await chain.client.readContract({
    ...contract,
    functionName: "bindingOf",
    args: [researcher],
  });
  if (credentialId === 0n) return "No researcher credential was issued to this address";
  const record = await chain.client.readContract({
    ...contract,
    functionName: "getCredential",
    args: [credentialId],
  });
  const yours = `Your researcher credential #${credentialId}`;
  if (record.revoked) return `${yours} was revoked by the stewards`;
  if (record.suspended) return `${yours} is suspended by the stewards`;
  if (!record.addresses.some((address) => address.toLowerCase() === researcher.toLowerCase())) {
    return `This address was removed from ${yours.toLowerCase()}`;
  }
  return `${yours} has expired`;
}

/** Statuses of an address bound to a credential for good (a removed one stays bound). */
const BOUND: CredentialAddressStatus[] = ["ACTIVE", "REMOVED"];

export async function mirroredCredentialAddresses(
  db: ApiContext["db"],
  address: string,
): Promise<string[] | undefined> {
  const binding = await db.credentialAddress.findFirst({
    where: { address, status: { in: BOUND } },
    select: {
      credential: {
        select: { addresses: { where: { status: { in: BOUND } }, select: { address: true } } },
      },
    },
  });
  return binding?.credential.addresses.map((row) => row.address);
}

/**
 * Every address that ever acted for `researcher`'s credential (added ones, and removed ones,
 * which stay bound to it), lowercased, `researcher` included: the privacy budget is kept per
 * credential, so a second wallet or a rotated one spends from the same budget. Read from the
 * mirrored credentials (the indexer's ResearcherCredential tables), one database read; an
 * address without a credential is on its own.
 *
 * An address the mirror does not know may be one the indexer has not reached yet (approved a
 * block ago): the chain's binding decides (one eth_call), and a bound one waits for the
 * indexer, so a new wallet never starts with a fresh budget. An address is bound to one
 * credential for ever, so a mirrored binding cannot be out of date; the addresses that spent
 * under it are mirrored too, since each of them passed through here before spending.
 */
export async function credentialAddresses(
  services: Pick<ApiContext, "db" | "chain">,
  researcher: Address,
): Promise<string[]> {
  const own = researcher.toLowerCase();
  const mirrored = await mirroredCredentialAddresses(services.db, own);
  if (mirrored) return mirrored;
  const [credentialId] = await services.chain.client.readContract({
    address: services.chain.manifest.contracts.ResearcherCredential,
    abi: researcherCredentialAbi,
    functionName: "bindingOf",
    args: [researcher],
  });
  if (credentialId === 0n) return [own];
  await syncIndexer(services.chain);
  const caughtUp = await mirroredCredentialAddresses(services.db, own);
  if (caughtUp) return caughtUp;
  // Bound on chain yet unknown after a sync (indexer held back by confirmations): a budget
  // of its own would be a fresh budget, so refuse until the mirror has it.
  throw refusal(
    "PRECONDITION_FAILED",
    ACCREDITATION_RULE,
    "Your address was added to your researcher credential moments ago and is not recorded here yet, so its shared privacy budget cannot be checked (rule accreditation). Try again in a minute.",
  );
}

/** The rule a credential proposal that could only revert at execution is refused under. */
export const CREDENTIAL_PROPOSAL_RULE = "researcher-credential";

type CredentialChange = Extract<
  ProposalChange,
  { kind: "approveCredentialAddress" | "suspendCredential" | "revokeCredential" }
>;

/**
 * Refuses a credential proposal the contract would revert at execution (read live: the
 * mirror may lag): an address nobody asked for or already bound, an unknown or revoked
 * credential, a suspension that changes nothing.
 */
export async function checkCredentialChange(
  chain: Pick<ApiContext["chain"], "client" | "manifest">,
  change: CredentialChange,
): Promise<void> {
  const contract = {
    address: chain.manifest.contracts.ResearcherCredential,
    abi: researcherCredentialAbi,
  } as const;
  const credentialId = BigInt(change.credentialId);
  const refuse = (message: string) =>
    refusal("CONFLICT", CREDENTIAL_PROPOSAL_RULE, `${message} (rule researcher-credential).`);
  const count = await chain.client.readContract({ ...contract, functionName: "credentialCount" });
  if (credentialId > count) throw refuse(`There is no credential #${credentialId}`);
  const record = await chain.client.readContract({
    ...contract,
    functionName: "getCredential",
    args: [credentialId],
  });
  if (record.revoked) throw refuse(`Credential #${credentialId} is revoked; nothing can change it`);
  if (change.kind === "suspendCredential" && record.suspended === change.suspended) {
    throw refuse(
      `Credential #${credentialId} is ${record.suspended ? "already suspended" : "not suspended"}`,
    );
  }
  if (change.kind === "approveCredentialAddress") {
    const account = getAddress(change.account);
    const [requested, [boundTo]] = await Promise.all([
      chain.client.readContract({
        ...contract,
        functionName: "isRequested",
        args: [credentialId, account],
      }),
      chain.client.readContract({ ...contract, functionName: "bindingOf", args: [account] }),
    ]);
    if (boundTo !== 0n) throw refuse(`${account} already belongs to credential #${boundTo}`);
    if (!requested) {
      throw refuse(`The holder of credential #${credentialId} has not asked to add ${account}`);
    }
    const most = await chain.client.readContract({ ...contract, functionName: "MAX_ADDRESSES" });
    if (BigInt(record.addresses.length) >= most) {
      throw refuse(
        `Credential #${credentialId} names the most addresses a credential may (${most})`,
      );
    }
  }
}

/**
 * Every credential (mirrored), newest first, with its addresses and their status, for the
 * stewards who accredit, suspend and revoke.
 */
export async function listCredentials(db: ApiContext["db"]) {
  const rows = await db.researcherCredential.findMany({
    orderBy: { id: "desc" },
    select: {
      id: true,
      holder: true,
      metadataHash: true,
      expiresAt: true,
      suspended: true,
      revoked: true,
      issuedBlock: true,
      addresses: {
        orderBy: [{ block: "asc" }, { address: "asc" }],
        select: { address: true, status: true },
      },
    },
  });
  return rows.map((row) => ({
    id: String(row.id),
    holder: row.holder,
    referenceHash: row.metadataHash,
    expiresAt: row.expiresAt,
    suspended: row.suspended,
    revoked: row.revoked,
    issuedBlock: row.issuedBlock.toString(),
    addresses: row.addresses,
  }));
}
