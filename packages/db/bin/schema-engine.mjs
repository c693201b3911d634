#!/usr/bin/env node
// Prisma's native schema engine, replaced by the WebAssembly one (see src/engine/bridge.ts).
// The Prisma CLI starts this file when PRISMA_SCHEMA_ENGINE_BINARY names it; the bridge is
// TypeScript, loaded through tsx, scoped to this import only.
import { tsImport } from "tsx/esm/api";

const { main } = await tsImport("../src/engine/bridge.ts", import.meta.url);
await main(process.argv.slice(2));
