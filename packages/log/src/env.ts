import { z } from "zod";

export const LOG_FORMATS = ["human", "json"] as const;
export type LogFormat = (typeof LOG_FORMATS)[number];
export const LOG_LEVELS = ["debug", "info", "warn", "error"] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];

const logEnvSchema = z.object({
  /** human (default: the dev stack's readable lines) or json (one JSON object per line). */
  LOG_FORMAT: z.enum(LOG_FORMATS, { error: "LOG_FORMAT must be human or json" }).default("human"),
  LOG_LEVEL: z
    .enum(LOG_LEVELS, { error: "LOG_LEVEL must be debug, info, warn or error" })
    .default("info"),
});

export interface LogEnv {
  format: LogFormat;
  level: LogLevel;
}

/** How a process logs, from its environment; a bad value fails with one sentence naming it. */
export function loadLogEnv(source: Record<string, string | undefined>): LogEnv {
  const parsed = logEnvSchema.safeParse(source);
  if (!parsed.success) throw new Error(`${parsed.error.issues[0]?.message}.`);
  return { format: parsed.data.LOG_FORMAT, level: parsed.data.LOG_LEVEL };
}
