import { isWasmTrap } from "./wasm";

/** The `data` of a JSON-RPC error, shaped like the native engine's (the CLI reads it). */
export type EngineErrorData = {
  is_panic: boolean;
  message: string;
  error_code?: string;
  meta?: unknown;
};

/**
 * Turns an error thrown by the wasm engine into the native engine's error data. The wasm
 * engine throws `Error`s whose `code` is the Prisma error code (P3006, ...) and whose
 * message ends in a span trace ("   0: schema_engine_wasm::..."); the native engine's
 * message has no trace, so it is cut. A WebAssembly trap is a panic.
 */
export function engineErrorData(error: unknown): EngineErrorData {
  const e = error as { code?: unknown; meta?: unknown; message?: unknown };
  const raw = typeof e?.message === "string" ? e.message : String(error);
  const message = cutSpanTrace(raw);
  const isPanic = isWasmTrap(error);
  const data: EngineErrorData = { is_panic: isPanic, message };
  if (typeof e?.code === "string") data.error_code = e.code;
  if (e?.meta !== undefined) data.meta = e.meta;
  return data;
}

export function cutSpanTrace(message: string): string {
  const at = message.search(/\n\s+0: \w+::/);
  return (at === -1 ? message : message.slice(0, at)).trimEnd();
}
