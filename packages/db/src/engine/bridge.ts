/**
 * A stand-in for Prisma's native `schema-engine` binary, backed by the WebAssembly engine.
 *
 * The Prisma CLI (7.x) starts the binary named by PRISMA_SCHEMA_ENGINE_BINARY in two ways:
 *   schema-engine --datamodels <file>... --datasource <json>      JSON-RPC over stdin/stdout
 *   schema-engine --datasource <json> cli can-connect-to-database|create-database
 *   schema-engine --version
 * (read from prisma/build/cli.js: the `SchemaEngineCLI` class and the `canConnectToDatabase`
 * helpers). Requests are single JSON lines `{id, jsonrpc, method, params}`; answers are JSON
 * lines on stdout; logs are JSON lines on stderr, where the CLI looks for `level: "ERROR"`.
 * The wasm engine exposes the same method names with the same parameter shapes, so most
 * requests are forwarded untouched; the few the wasm engine lacks are answered here.
 */
import { readFileSync } from "node:fs";
import { createInterface } from "node:readline";
import type {
  CreateMigrationInput,
  DiffParams,
  EvaluateDataLossInput,
} from "@prisma/schema-engine-wasm/schema_engine_bg";
import { type DatabaseTarget, parseDatabaseUrl } from "../url";
import { type MigrationAdapter, migrationAdapter } from "./adapter";
import { createMigrationViaDiff, evaluateDataLossViaDiff } from "./create-migration";
import { createDatabase, probeDatabase } from "./database";
import { type EngineErrorData, engineErrorData } from "./errors";
import { resetSqliteDatabase } from "./sqlite-reset";
import { loadSchemaEngine, type SchemaEngine } from "./wasm";

type Args = { datamodels: string[]; datasource?: { url?: string }; cli?: string; version: boolean };

function parseArgs(argv: string[]): Args {
  const args: Args = { datamodels: [], version: false };
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    const value = argv[i + 1];
    if (arg === "--datamodels" && value !== undefined) {
      args.datamodels.push(value);
      i++;
    } else if (arg === "--datasource" && value !== undefined) {
      args.datasource = JSON.parse(value) as { url?: string };
      i++;
    } else if (arg === "--version" || arg === "-V") {
      args.version = true;
    } else if (arg === "cli") {
      args.cli = argv[i + 1];
      i++;
    } else if (arg === "--enabled-preview-features" || arg === "--extension-types") {
      i++; // accepted for compatibility; the wasm engine takes neither
    }
  }
  return args;
}

/** One stderr line in the native engine's tracing format, which the CLI parses. */
function logLine(level: "INFO" | "ERROR", fields: Record<string, unknown>): void {
  process.stderr.write(
    `${JSON.stringify({ timestamp: new Date().toISOString(), level, fields, target: "schema_engine::logger" })}\n`,
  );
}

/**
 * The database a request talks to. With a config datasource it is that URL; without one
 * (e.g. `migrate diff --from-empty --to-schema`) the engine still needs an adapter of the
 * schema's provider, which it will not connect through.
 */
function targetFor(args: Args, datamodels: [string, string][]): DatabaseTarget {
  const url = args.datasource?.url;
  if (url !== undefined && url !== "") return parseDatabaseUrl(url);
  const provider = datamodels
    .map(([, text]) => /provider\s*=\s*"(\w+)"/.exec(text.replace(/\/\/.*$/gm, ""))?.[1])
    .find((p) => p !== undefined && p !== "prisma-client" && p !== "prisma-client-js");
  return provider === "postgresql" || provider === "postgres"
    ? { provider: "postgresql", url: "postgresql://localhost/unused" }
    : { provider: "sqlite", file: ":memory:" };
}

async function runCli(args: Args): Promise<number> {
  // The CLI drops the first stderr line of a `cli` run (the native engine's start-up log)
  // before it looks for the ERROR line, so there must be one.
  logLine("INFO", { message: `Starting schema engine (wasm bridge) for cli ${args.cli}` });
  const url = args.datasource?.url;
  if (url === undefined) {
    logLine("ERROR", { message: "--datasource with a url is required", error_code: "P1012" });
    return 1;
  }
  try {
    const target = parseDatabaseUrl(url);
    if (args.cli === "can-connect-to-database") {
      const problem = await probeDatabase(target);
      if (problem === undefined) return 0;
      logLine("ERROR", { message: problem.message, error_code: problem.code });
      return 1;
    }
    if (args.cli === "create-database") {
      const name = await createDatabase(target);
      logLine("INFO", { message: `Database '${name}' was successfully created.` });
      return 0;
    }
    logLine("ERROR", {
      message: `The wasm schema engine bridge does not support \`cli ${args.cli}\``,
    });
    return 1;
  } catch (error) {
    logLine("ERROR", { message: (error as Error).message });
    return 1;
  }
}

type Request = { id?: number | string; method?: string; params?: Record<string, unknown> };

async function runRpc(args: Args): Promise<void> {
  const { SchemaEngine: Engine } = await loadSchemaEngine();
  const datamodels = args.datamodels.map((path): [string, string] => [
    path,
    readFileSync(path, "utf8"),
  ]);
  const target = targetFor(args, datamodels);
  let engine: SchemaEngine | undefined;
  /** Ids of our own requests to the CLI (`print`), apart from the CLI's small numbers. */
  let printId = 1_000_000;
  let adapter: MigrationAdapter | undefined;
  const getEngine = async (): Promise<SchemaEngine> => {
    if (engine === undefined) {
      adapter = migrationAdapter(target);
      engine = await Engine.new(
        { datamodels: datamodels.length > 0 ? datamodels : undefined },
        (line: string) => process.stderr.write(line.endsWith("\n") ? line : `${line}\n`),
        adapter.factory,
      );
    }
    return engine;
  };
  const closeEngine = async (): Promise<void> => {
    engine?.free();
    engine = undefined;
    await adapter?.close();
    adapter = undefined;
  };

  const handle = async (
    method: string,
    params: Record<string, unknown> | undefined,
  ): Promise<unknown> => {
    switch (method) {
      // Not in the wasm API: version() is the same query under a newer name.
      case "getDatabaseVersion":
        return (await getEngine()).version();
      case "createDatabase":
        return { databaseName: await createDatabase(target) };
      // See create-migration.ts: both need a shadow database the wasm engine cannot open.
      case "createMigration":
        return createMigrationViaDiff(
          await getEngine(),
          params as unknown as CreateMigrationInput,
          target.provider,
        );
      case "evaluateDataLoss":
        return evaluateDataLossViaDiff(
          await getEngine(),
          params as unknown as EvaluateDataLossInput,
        );
      case "diff": {
        // The native engine prints the diff to the CLI with a `print` request and returns no
        // stdout; the CLI ignores `stdout` in the answer, so without this nothing shows.
        const result = await (await getEngine()).diff(params as unknown as DiffParams);
        if (result.stdout) {
          printId += 1;
          reply({
            id: printId,
            method: "print",
            params: { content: result.stdout.replace(/\n$/, "") },
          });
        }
        return { ...result, stdout: null };
      }
      case "reset":
        if (target.provider === "sqlite") {
          // See resetSqliteDatabase: the engine's connection must be closed first, it may
          // hold SQLite's exclusive lock.
          await closeEngine();
          resetSqliteDatabase(target.file);
          return null;
        }
        return (await getEngine()).reset(params as unknown as Parameters<SchemaEngine["reset"]>[0]);
      default: {
        const e = await getEngine();
        const fn = (e as unknown as Record<string, unknown>)[method];
        if (typeof fn !== "function" || method === "free" || method.startsWith("_")) {
          throw Object.assign(new Error(`Method not found: ${method}`), { rpcCode: -32601 });
        }
        const call = () => (fn as (p: unknown) => Promise<unknown>).call(e, params ?? {});
        try {
          return await call();
        } catch (error) {
          if (!(await initialisedMissingMigrationsTable(e, error, params))) throw error;
          return await call();
        }
      }
    }
  };

  const reply = (message: object) =>
    process.stdout.write(`${JSON.stringify({ jsonrpc: "2.0", ...message })}\n`);
  // The CLI sends one request at a time, but nothing forbids more; the engine is not
  // re-entrant, so requests are queued.
  let queue = Promise.resolve();
  const lines = createInterface({ input: process.stdin, crlfDelay: Number.POSITIVE_INFINITY });
  lines.on("line", (line) => {
    if (line.trim() === "") return;
    let request: Request;
    try {
      request = JSON.parse(line) as Request;
    } catch {
      reply({ id: null, error: { code: -32700, message: "Parse error" } });
      return;
    }
    // Notifications, and the CLI's answers to our `print` requests, need no reply.
    const { method } = request;
    if (request.id === undefined || method === undefined) return;
    queue = queue.then(async () => {
      try {
        const result = await handle(method, request.params);
        reply({ id: request.id, result: result ?? null });
      } catch (error) {
        const rpcCode = (error as { rpcCode?: number }).rpcCode;
        if (rpcCode !== undefined) {
          reply({ id: request.id, error: { code: rpcCode, message: (error as Error).message } });
          return;
        }
        const data: EngineErrorData = engineErrorData(error);
        if (adapter !== undefined) data.message = adapter.explain(data.message);
        reply({
          id: request.id,
          error: {
            code: 4466,
            message: "An error happened. Check the data field for details.",
            data,
          },
        });
        // After a panic the wasm instance is unusable, like a crashed native engine.
        if (data.is_panic) process.exit(101);
      }
    });
  });
  lines.on("close", () => {
    void queue.then(async () => {
      await closeEngine();
      process.exit(0);
    });
  });
}

/**
 * Works around a gap in the wasm engine's SQLite connector: reading `_prisma_migrations`
 * before it exists is reported as P1014 instead of "not initialised" (the native engine
 * recognises SQLite's "no such table" error; the adapter build has no such check), which
 * breaks `migrate dev` and `migrate status` on a fresh database. Applying an empty list of
 * migrations makes the engine create its table with its own DDL; the request is then
 * retried. Returns whether it did so.
 */
async function initialisedMissingMigrationsTable(
  engine: SchemaEngine,
  error: unknown,
  params: Record<string, unknown> | undefined,
): Promise<boolean> {
  const { code, message } = error as { code?: string; message?: string };
  const list = params?.migrationsList as { migrationDirectories?: unknown[] } | undefined;
  if (code !== "P1014" || !message?.includes("_prisma_migrations") || list === undefined)
    return false;
  await engine.applyMigrations({
    migrationsList: {
      ...(list as Parameters<SchemaEngine["applyMigrations"]>[0]["migrationsList"]),
      migrationDirectories: [],
    },
    filters: (params?.filters as Parameters<SchemaEngine["applyMigrations"]>[0]["filters"]) ?? {
      externalTables: [],
      externalEnums: [],
    },
  });
  return true;
}

export async function main(argv: string[]): Promise<void> {
  const args = parseArgs(argv);
  if (args.version) {
    const { version } = await loadSchemaEngine();
    process.stdout.write(`schema-engine-cli ${version()}\n`);
    return;
  }
  if (args.cli !== undefined) {
    process.exitCode = await runCli(args);
    return;
  }
  await runRpc(args);
}
