import { TRPCError } from "@trpc/server";
import { RuleError } from "../trpc";

type RefusalCode = "FORBIDDEN" | "PRECONDITION_FAILED" | "CONFLICT" | "BAD_REQUEST";

/** A tRPC error whose cause names the rule that refused (shown as `data.rule` over HTTP). */
export function refusal(code: RefusalCode, rule: string, message: string): TRPCError {
  return new TRPCError({ code, message, cause: new RuleError(rule, message) });
}
