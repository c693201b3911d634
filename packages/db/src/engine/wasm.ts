import { readFile } from "node:fs/promises";
import { createRequire } from "node:module";
import type * as SchemaEngineBindings from "@prisma/schema-engine-wasm/schema_engine_bg";

export type { SchemaEngine } from "@prisma/schema-engine-wasm/schema_engine_bg";
export type Bindings = typeof SchemaEngineBindings;

/**
 * The slice of the WebAssembly global used here. Node has it, but this package's lib
 * (ES2023, no DOM) and @types/node 20 do not declare it.
 */
type WebAssemblyApi = {
  instantiate(
    bytes: Uint8Array,
    imports: Record<string, unknown>,
  ): Promise<{ instance: { exports: Record<string, unknown> } }>;
  RuntimeError: new (...args: never[]) => Error;
};

export const webAssembly = (globalThis as unknown as { WebAssembly: WebAssemblyApi }).WebAssembly;

/** A trap inside the engine (a Rust panic): the instance must not be used again. */
export function isWasmTrap(error: unknown): boolean {
  return error instanceof webAssembly.RuntimeError;
}

let loading: Promise<Bindings> | undefined;

/**
 * Loads Prisma's WebAssembly schema engine once per process.
 *
 * The package's entry file does `import * as wasm from "./schema_engine_bg.wasm"`, which
 * Node 20 rejects (no ESM integration for WebAssembly). The wasm-bindgen glue module is
 * importable on its own, so we instantiate the .wasm ourselves and hand the instance to
 * the glue, exactly what the entry file would have done.
 */
export function loadSchemaEngine(): Promise<Bindings> {
  loading ??= (async () => {
    const require = createRequire(import.meta.url);
    const gluePath = require.resolve("@prisma/schema-engine-wasm/schema_engine_bg");
    const bindings = (await import(
      /* webpackIgnore: true */ /* turbopackIgnore: true */ gluePath
    )) as Bindings;
    const bytes = await readFile(gluePath.replace(/\.js$/, ".wasm"));
    const { instance } = await webAssembly.instantiate(bytes, {
      "./schema_engine_bg.js": bindings,
    });
    bindings.__wbg_set_wasm(instance.exports);
    (instance.exports.__wbindgen_start as () => void)();
    return bindings;
  })();
  return loading;
}
