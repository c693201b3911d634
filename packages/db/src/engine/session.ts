import type { DatabaseTarget } from "../url";
import { migrationAdapter } from "./adapter";
import { cutSpanTrace } from "./errors";
import { loadSchemaEngine, type SchemaEngine } from "./wasm";

export type EngineOptions = {
  /** Prisma schema files ([path, text]) for commands that read the datamodel. */
  datamodels?: [string, string][];
  /** Receives the engine's JSON log lines. Quiet by default. */
  log?: (line: string) => void;
};

/**
 * Runs `fn` with a WebAssembly schema engine connected to `target`, then frees the engine
 * and closes its connections (even when `fn` throws). Engine errors are rethrown with the
 * Rust span trace cut from the message and the Prisma error code kept in `code`.
 */
export async function withSchemaEngine<T>(
  target: DatabaseTarget,
  fn: (engine: SchemaEngine) => Promise<T>,
  options: EngineOptions = {},
): Promise<T> {
  const { SchemaEngine: Engine } = await loadSchemaEngine();
  const adapter = migrationAdapter(target);
  const log = options.log ?? (() => {});
  let engine: SchemaEngine | undefined;
  try {
    engine = await Engine.new(
      { datamodels: options.datamodels },
      (line: string) => log(line.trimEnd()),
      adapter.factory,
    );
    return await fn(engine);
  } catch (error) {
    throw tidy(error, adapter.explain);
  } finally {
    engine?.free();
    await adapter.close();
  }
}

function tidy(error: unknown, explain: (message: string) => string): unknown {
  if (!(error instanceof Error)) return error;
  const message = explain(cutSpanTrace(error.message));
  if (message === error.message) return error;
  const tidied = new Error(message, { cause: error });
  const code = (error as { code?: unknown }).code;
  if (code !== undefined) Object.assign(tidied, { code });
  return tidied;
}
