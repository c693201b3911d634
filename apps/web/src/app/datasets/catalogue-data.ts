/**
 * The catalogue's data, read in-process through the API's own procedures (the same code the
 * browser's /api/trpc requests run), for the server-rendered page.
 */
import "server-only";
import { type AppRouter, createCaller, createContextInner } from "@opencohort/api";
import { type CatalogueView, catalogueListInput } from "@opencohort/validators";
import type { inferRouterOutputs } from "@trpc/server";
import { getServices, tokenSymbol } from "~/server/services";
import { devAccounts, shortAddress } from "~/wallet/signers";

export const CATALOGUE_PAGE_SIZE = 12;

type Outputs = inferRouterOutputs<AppRouter>["dataset"];
export type CatalogueList = Outputs["list"];
export type CatalogueFacets = Outputs["facets"];

export interface CatalogueData {
  list: CatalogueList;
  facets: CatalogueFacets;
  tokenSymbol: string;
  /** What each steward on the page is called: a demo name on the local chain, else short. */
  stewardNames: Record<string, string>;
}

export async function loadCatalogue(view: CatalogueView): Promise<CatalogueData> {
  const services = await getServices();
  const { dataset } = createCaller(createContextInner({ services }));
  const [list, facets, token] = await Promise.all([
    dataset.list(catalogueListInput(view, CATALOGUE_PAGE_SIZE)),
    dataset.facets(),
    tokenSymbol(),
  ]);
  const demoNames = new Map(
    devAccounts(services.chain.chainId).map((account) => [
      account.address.toLowerCase(),
      /^steward \((.+)\)$/.exec(account.role)?.[1],
    ]),
  );
  const stewardNames = Object.fromEntries(
    list.items.map((item) => [
      item.steward,
      demoNames.get(item.steward.toLowerCase()) ?? shortAddress(item.steward),
    ]),
  );
  return { list, facets, tokenSymbol: token, stewardNames };
}
