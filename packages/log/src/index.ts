/**
 * One logger for every process (web/API, operator, workers): pino, writing one JSON object per
 * line with LOG_FORMAT=json, or the familiar `name: message key=value` lines by default so the
 * dev stack's output reads as before. Both formats come from the same pino records, so what a
 * line carries does not depend on the format.
 */
import { pino } from "pino";
import type { LogFormat, LogLevel } from "./env";

export { type LogEnv, type LogFormat, type LogLevel, loadLogEnv } from "./env";

export type Logger = pino.Logger;

/** Where formatted lines go; tests collect them, processes write to stdout/stderr. */
export interface LogSink {
  write(line: string): void;
}

export interface LoggerOptions {
  /** The process or component ("web", "operator"), `name` in every record. */
  name: string;
  format: LogFormat;
  level?: LogLevel;
  /** Default: stdout, and for human lines at warn and above stderr. */
  sink?: LogSink;
}

/** Fields pino adds itself; human lines leave them out. */
const RECORD_FIELDS = new Set(["level", "time", "pid", "hostname", "name", "msg"]);
const STDERR_LEVELS = new Set(["warn", "error", "fatal"]);

function humanLine(record: Record<string, unknown>): string {
  const fields = Object.entries(record)
    .filter(([key]) => !RECORD_FIELDS.has(key))
    .map(([key, value]) => ` ${key}=${typeof value === "string" ? value : JSON.stringify(value)}`)
    .join("");
  return `${String(record.name)}: ${String(record.msg ?? "")}${fields}\n`;
}

function humanSink(sink: LogSink | undefined): LogSink {
  return {
    write(json) {
      const record = JSON.parse(json) as Record<string, unknown>;
      const line = humanLine(record);
      if (sink) sink.write(line);
      else if (STDERR_LEVELS.has(String(record.level))) process.stderr.write(line);
      else process.stdout.write(line);
    },
  };
}

export function createLogger(options: LoggerOptions): Logger {
  const destination =
    options.format === "human"
      ? humanSink(options.sink)
      : (options.sink ?? pino.destination({ dest: 1, sync: true }));
  return pino(
    {
      name: options.name,
      level: options.level ?? "info",
      timestamp: pino.stdTimeFunctions.isoTime,
      // Level names, not numbers: what log search tools filter on.
      formatters: { level: (label) => ({ level: label }) },
    },
    destination,
  );
}

/**
 * What may be logged of an unexpected error: its class, its code (Prisma's P2002, a DuckDB
 * error type) and where it was thrown, never its message. Messages of database and DuckDB
 * errors can carry the SQL they ran and the values they failed on (a failed cast prints the
 * string), and logs are read by more people than the data may be.
 */
export function describeError(error: unknown): {
  type: string;
  code?: string;
  frames?: string[];
} {
  if (!(error instanceof Error)) return { type: typeof error };
  const code = (error as { code?: unknown }).code;
  const frames = (error.stack ?? "")
    .split("\n")
    .filter((line) => line.startsWith("    at "))
    .slice(0, 8)
    .map((line) => line.trim());
  const messageType = errorTypeOfMessage(error.message);
  return {
    type: error.name,
    ...(typeof code === "string" || typeof code === "number"
      ? { code: String(code) }
      : messageType
        ? { code: messageType }
        : {}),
    ...(frames.length > 0 ? { frames } : {}),
  };
}

/**
 * The error class a message starts with, as DuckDB writes them ("Conversion Error: ...",
 * "Out of Memory Error: ..."): the part of a message that is safe to log.
 */
export function errorTypeOfMessage(message: string): string | undefined {
  return /^([A-Z][A-Za-z ]{0,40} Error):/.exec(message)?.[1];
}
