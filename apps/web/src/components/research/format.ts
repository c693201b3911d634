import { TRPCClientError } from "@trpc/client";

/** The rule that refused (if the API named one) and the message. */
export function refusalOf(error: unknown): { rule: string | null; message: string } {
  if (error instanceof TRPCClientError) {
    const data = error.data as { rule?: string; code?: string } | undefined;
    return { rule: data?.rule ?? null, message: error.message };
  }
  return { rule: null, message: error instanceof Error ? error.message : String(error) };
}

export const number = (value: number) => new Intl.NumberFormat("en-US").format(value);

const utc = new Intl.DateTimeFormat("en-GB", {
  dateStyle: "medium",
  timeStyle: "short",
  timeZone: "UTC",
});
export const dateTime = (value: Date | string) => `${utc.format(new Date(value))} UTC`;

export function duration(seconds: number): string {
  const days = seconds / 86_400;
  if (days >= 1 && Number.isInteger(days)) return `${days} day${days === 1 ? "" : "s"}`;
  const hours = seconds / 3600;
  if (hours >= 1 && Number.isInteger(hours)) return `${hours} hour${hours === 1 ? "" : "s"}`;
  return `${Math.round(seconds / 60)} min`;
}

export const epsilon = (value: number) => `ε ${Number(value.toFixed(4))}`;

/** A zCDP rho, to three significant digits (0.00771, 0.385). */
export const formatRho = (value: number) => String(Number(Math.max(0, value).toPrecision(3)));
