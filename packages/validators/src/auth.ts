import { z } from "zod";

export const siweVerifyInputSchema = z.object({
  /** The EIP-4361 message exactly as the wallet signed it. */
  message: z.string().min(1, "is required").max(4_000, "is too long"),
  signature: z.string().regex(/^0x[0-9a-fA-F]+$/, "must be a 0x-prefixed hex signature"),
});
export type SiweVerifyInput = z.infer<typeof siweVerifyInputSchema>;
