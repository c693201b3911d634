import { z } from "zod";
import { hex32Schema } from "./dataset";

/**
 * Personal API tokens (the API's `token` router): a researcher's scripts and notebooks send
 * `Authorization: Bearer oc_…` and act as the researcher, narrowed to the token's scopes.
 */

/** Every token starts with this, so a leaked one is recognisable (secret scanners, logs). */
export const API_TOKEN_PREFIX = "oc_";
/** `oc_` + 43 base64url characters (32 random bytes). */
export const apiTokenSchema = z.string().regex(/^oc_[A-Za-z0-9_-]{43}$/, "must be an oc_ token");

export const MAX_TOKEN_DAYS = 365;
export const MAX_TOKEN_DATASETS = 50;

/**
 * What a token may do. `catalogue`: list and read datasets. `query`: "none", "all" (every
 * dataset the owner holds a pass for), or a list of dataset ids (only those).
 */
export const tokenScopesSchema = z.object({
  catalogue: z.boolean(),
  query: z.union([
    z.enum(["none", "all"]),
    z.array(hex32Schema).min(1, "name at least one dataset").max(MAX_TOKEN_DATASETS),
  ]),
});
export type TokenScopes = z.output<typeof tokenScopesSchema>;

export const tokenCreateInputSchema = z
  .object({
    name: z.string().trim().min(1, "must not be empty").max(80),
    /** Days until the token stops working. */
    expiresInDays: z.number().int().min(1).max(MAX_TOKEN_DAYS),
    scopes: tokenScopesSchema,
  })
  .refine((input) => input.scopes.catalogue || input.scopes.query !== "none", {
    path: ["scopes"],
    message: "give the token at least one scope",
  });
export type TokenCreateInput = z.input<typeof tokenCreateInputSchema>;

/** A token's id is the SHA-256 of its secret (hex), never the secret. */
export const tokenIdInputSchema = z.object({
  id: z.string().regex(/^[0-9a-f]{64}$/, "must be a token id"),
});
