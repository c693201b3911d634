import type { DatasetSort } from "./catalogue";

/**
 * A catalogue view as the web app's URL carries it, so a filtered view can be linked,
 * reloaded and navigated back to: `?q=…&condition=ICD10:E11&condition=…&minPersons=…
 * &maxPersons=…&minPrice=…&maxPrice=…&schema=…&sort=…&page=…`.
 */
export interface CatalogueView {
  search?: string;
  conditions: string[];
  minPersons?: number;
  maxPersons?: number;
  minPrice?: string;
  maxPrice?: string;
  schemaVersion?: string;
  sort: DatasetSort;
  page: number;
}

export const catalogueParamNames = {
  search: "q",
  conditions: "condition",
  minPersons: "minPersons",
  maxPersons: "maxPersons",
  minPrice: "minPrice",
  maxPrice: "maxPrice",
  schemaVersion: "schema",
  sort: "sort",
  page: "page",
} as const satisfies Record<keyof CatalogueView, string>;

/** The URL search parameters of a view; defaults (newest, page 1) and empty filters left out. */
export function catalogueSearchParams(view: CatalogueView): URLSearchParams {
  const params = new URLSearchParams();
  const names = catalogueParamNames;
  if (view.search) params.set(names.search, view.search);
  for (const code of view.conditions) params.append(names.conditions, code);
  if (view.minPersons !== undefined) params.set(names.minPersons, String(view.minPersons));
  if (view.maxPersons !== undefined) params.set(names.maxPersons, String(view.maxPersons));
  if (view.minPrice !== undefined) params.set(names.minPrice, view.minPrice);
  if (view.maxPrice !== undefined) params.set(names.maxPrice, view.maxPrice);
  if (view.schemaVersion !== undefined) params.set(names.schemaVersion, view.schemaVersion);
  if (view.sort !== "newest") params.set(names.sort, view.sort);
  if (view.page !== 1) params.set(names.page, String(view.page));
  return params;
}
