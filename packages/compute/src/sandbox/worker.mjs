// @ts-check
/**
 * The sandbox: a child process that owns every DuckDB instance. It runs only SQL the engine
 * compiled (never a researcher's text) plus json_serialize_sql for parsing. If a query
 * exhausts memory or crashes DuckDB, this process dies and the host starts another.
 *
 * Plain JavaScript on purpose: it is forked with a bare `node`, whatever the host runs under
 * (tsx, vitest, a bundler), and it keeps no logic worth type-checking beyond the protocol.
 */
import { mkdirSync } from "node:fs";
import { join } from "node:path";
import { BIGINT, DuckDBDataChunk, DuckDBInstance, INTEGER, listValue } from "@duckdb/node-api";

/** @typedef {{ name: string, rows: number, types: string[] }} TableStats */
/** @typedef {{ connection: import("@duckdb/node-api").DuckDBConnection, instance: DuckDBInstance, consentTables: string[], personTableUnique?: boolean, tables?: TableStats[] }} Database */

/** @type {Map<string, Database>} */
const databases = new Map();
/** @type {Map<number, import("@duckdb/node-api").DuckDBConnection>} */
const running = new Map();
/** @type {Promise<Database> | undefined} */
let parserDatabase;
/** Test holds (see the host's holdForTest), by request id: their end. @type {Map<number, () => void>} */
const holds = new Map();

/** @param {string} value */
function quoteLiteral(value) {
  return `'${value.replaceAll("'", "''")}'`;
}

/**
 * Security settings in the order DuckDB needs them: the directory allow-list and the temp
 * directory before external access is switched off, the lock last.
 * @param {import("@duckdb/node-api").DuckDBConnection} connection
 * @param {{ allowedDirectories: string[], tempDirectory: string, memoryMb: number, threads: number, maxTempMb: number }} settings
 */
async function lockDown(connection, settings) {
  mkdirSync(settings.tempDirectory, { recursive: true });
  const list = settings.allowedDirectories.map(quoteLiteral).join(", ");
  const statements = [
    `SET allowed_directories = [${list}]`,
    `SET temp_directory = ${quoteLiteral(settings.tempDirectory)}`,
    "SET enable_external_access = false",
    "SET autoinstall_known_extensions = false",
    "SET autoload_known_extensions = false",
    "SET allow_community_extensions = false",
    "SET allow_persistent_secrets = false",
    `SET memory_limit = '${Math.floor(settings.memoryMb)}MB'`,
    `SET threads = ${Math.floor(settings.threads)}`,
    `SET max_temp_directory_size = '${Math.floor(settings.maxTempMb)}MB'`,
    "SET TimeZone = 'UTC'",
    "SET lock_configuration = true",
  ];
  for (const statement of statements) await connection.run(statement);
}

/** @param {any} message */
async function openDataset(message) {
  const previous = databases.get(message.key);
  // Asked again (another spelling of the same folder): the answer found when it was opened.
  if (previous) {
    return {
      opened: false,
      personTableUnique: previous.personTableUnique,
      tables: previous.tables,
    };
  }
  const instance = await DuckDBInstance.create(":memory:");
  const connection = await instance.connect();
  await lockDown(connection, {
    allowedDirectories: [message.dir.endsWith("/") ? message.dir : `${message.dir}/`],
    tempDirectory: join(message.tempRoot, message.key),
    memoryMb: message.limits.memoryMb,
    threads: message.limits.threads,
    maxTempMb: message.limits.maxTempMb,
  });
  for (const table of message.tables) {
    const source = `read_parquet(${quoteLiteral(join(message.dir, table.file))})`;
    const target = `dataset_${table.name}`;
    const select = `SELECT * ${table.replace ?? ""} FROM ${source}`;
    await connection.run(
      message.storage === "memory"
        ? `CREATE TABLE ${target} AS ${select}`
        : `CREATE VIEW ${target} AS ${select}`,
    );
  }
  // Row counts and column types: the host estimates a consented subset's memory from them
  // before it materialises one.
  /** @type {TableStats[]} */
  const tables = [];
  for (const table of message.tables) {
    const target = `dataset_${table.name}`;
    const described = await connection.runAndReadAll(`DESCRIBE ${target}`);
    const counted = await connection.runAndReadAll(`SELECT count(*) FROM ${target}`);
    tables.push({
      name: table.name,
      rows: Number(counted.getRows()[0]?.[0] ?? 0),
      types: described.getRows().map((row) => String(row[1])),
    });
  }
  const entry = { connection, instance, consentTables: [], personTableUnique: false, tables };
  databases.set(message.key, entry);
  // Lets the engine skip the per-person aggregation on the person table, but only when it is
  // really one row per person (a duplicated person must never count as several).
  const unique = await connection.runAndReadAll(
    "SELECT count(*) = count(DISTINCT person_id) AND count(person_id) = count(*) FROM dataset_person",
  );
  entry.personTableUnique = unique.getRows()[0]?.[0] === true;
  return { opened: true, personTableUnique: entry.personTableUnique, tables };
}

async function parser() {
  parserDatabase ??= (async () => {
    const instance = await DuckDBInstance.create(":memory:");
    const connection = await instance.connect();
    await lockDown(connection, {
      allowedDirectories: [],
      tempDirectory: join(process.env.OC_SANDBOX_TMP ?? "/tmp", "parser"),
      memoryMb: 256,
      threads: 1,
      maxTempMb: 0,
    });
    return { connection, instance, consentTables: [] };
  })();
  return parserDatabase;
}

/** @param {string} key */
function database(key) {
  const db = databases.get(key);
  if (!db) throw new Error(`dataset ${key} is not open in this sandbox`);
  return db;
}

/**
 * Loads a consented person set as a temp table. Only the newest few sets are kept: a new
 * snapshot usually replaces the previous one.
 * @param {any} message
 */
async function loadConsent(message) {
  const db = database(message.key);
  const table = `consent_${message.consentKey}`;
  if (db.consentTables.includes(table)) return { loaded: false };
  // idx is the position in the host's array: inclusions come back as a bitmap over it.
  const staging = `${table}_load`;
  await db.connection.run(
    `CREATE OR REPLACE TEMP TABLE ${staging} (person_id BIGINT, idx INTEGER)`,
  );
  const appender = await db.connection.createAppender(staging, "main", "temp");
  /** @type {BigInt64Array} */
  const ids = message.ids;
  // Whole vectors at a time: a million ids go in well under a second.
  const vectorSize = 2048;
  for (let start = 0; start < ids.length; start += vectorSize) {
    const slice = Array.from(ids.subarray(start, start + vectorSize));
    const positions = slice.map((_, i) => start + i);
    const chunk = DuckDBDataChunk.create([BIGINT, INTEGER], slice.length);
    chunk.setColumnValues(0, slice);
    chunk.setColumnValues(1, positions);
    appender.appendDataChunk(chunk);
  }
  appender.closeSync();
  // One row per person (the first position of a repeated id): queries join this table on
  // person_id, which must not multiply a person's rows.
  await db.connection.run(
    `CREATE OR REPLACE TEMP TABLE ${table} AS SELECT person_id, min(idx) AS idx FROM ${staging} GROUP BY person_id`,
  );
  await db.connection.run(`DROP TABLE ${staging}`);
  // Order-independent digest of the set: it keys the sticky noise, so the same set gives
  // the same answer and a changed set does not give the same noise over a different count.
  const reader = await db.connection.runAndReadAll(
    `SELECT count(DISTINCT person_id)::BIGINT, coalesce(bit_xor(DISTINCT hash(person_id)), 0)::UBIGINT::VARCHAR FROM ${table}`,
  );
  const row = reader.getRows()[0] ?? [0n, "0"];
  db.consentTables.push(table);
  while (db.consentTables.length > 3) {
    const dropped = db.consentTables.shift();
    await db.connection.run(`DROP TABLE IF EXISTS ${dropped}`);
  }
  return { loaded: true, distinctPersons: Number(row[0]), digest: String(row[1]) };
}

/**
 * Reads the first column of a BIGINT result straight from DuckDB's vectors: a million person
 * ids would otherwise become a million row arrays.
 * @param {import("@duckdb/node-api").DuckDBConnection} connection
 * @param {{ sql: string, params?: any }} step
 */
async function readBigIntColumn(connection, step) {
  const result = await connection.run(step.sql, step.params);
  /** @type {BigInt64Array[]} */
  const parts = [];
  let total = 0;
  for (;;) {
    const chunk = await result.fetchChunk();
    if (!chunk || chunk.rowCount === 0) break;
    const vector = /** @type {any} */ (chunk.getColumnVector(0));
    const count = chunk.rowCount;
    const part = new BigInt64Array(count);
    if (vector.items instanceof BigInt64Array) {
      part.set(vector.items.subarray(0, count));
    } else {
      for (let i = 0; i < count; i++) part[i] = BigInt(vector.getItem(i) ?? 0);
    }
    parts.push(part);
    total += count;
  }
  const ids = new BigInt64Array(total);
  let offset = 0;
  for (const part of parts) {
    ids.set(part, offset);
    offset += part.length;
  }
  return ids;
}

/**
 * Arrays become DuckDB LIST values (the host sends them for `list_contains($1::T[], x)`).
 * @param {unknown} params
 */
function bindable(params) {
  if (!Array.isArray(params)) return params;
  return params.map((p) => (Array.isArray(p) ? listValue(p) : p));
}

/**
 * Reads a BIT value (the query's one result, e.g. bitstring_agg of positions) into a bitmap of
 * `bitmapSize` bits, LSB first: a few hundred KB instead of millions of ids crossing the
 * process boundary, built by DuckDB itself (about ten times faster than reading positions).
 * @param {import("@duckdb/node-api").DuckDBConnection} connection
 * @param {{ sql: string, params?: any, bitmapSize: number }} step
 */
async function readIndexBitmap(connection, step) {
  const size = step.bitmapSize;
  if (!Number.isSafeInteger(size) || size < 0) throw new Error("bad bitmap size");
  const bitmap = new Uint8Array(Math.ceil(size / 8));
  const reader = await connection.runAndReadAll(step.sql, step.params);
  const bits = /** @type {any} */ (reader.getColumns()[0]?.[0]);
  if (bits === null || bits === undefined) return bitmap;
  // DuckDB's BIT: byte 0 counts the padding bits that open byte 1; then bits MSB first.
  /** @type {Uint8Array} */
  const data = bits.data;
  if (data.length !== 1 + Math.ceil(size / 8)) throw new Error("bitmap of another size");
  const padding = /** @type {number} */ (data[0]);
  // A byte at a time (a bit at a time cost up to 50 ms for 900,000 positions): output byte j
  // holds input bits padding + 8j .. + 7, which straddle two input bytes; past the end of
  // the input every bit is 0.
  for (let j = 0; j < bitmap.length; j++) {
    const bit = padding + 8 * j;
    const at = 1 + (bit >>> 3);
    const window = ((data[at] ?? 0) << 8) | (data[at + 1] ?? 0);
    bitmap[j] = /** @type {number} */ (REVERSED_BITS[(window >>> (8 - (bit & 7))) & 0xff]);
  }
  return bitmap;
}

/** Each byte with its bits in reverse order: DuckDB's BIT is MSB first, the bitmap LSB first. */
const REVERSED_BITS = Uint8Array.from({ length: 256 }, (_, byte) => {
  let reversed = 0;
  for (let i = 0; i < 8; i++) reversed |= ((byte >>> i) & 1) << (7 - i);
  return reversed;
});

/** @param {unknown} value */
function plain(value) {
  if (value === null || typeof value === "number" || typeof value === "string") return value;
  if (typeof value === "bigint") return value;
  if (typeof value === "boolean") return value;
  return String(value);
}

/**
 * Runs a sequence of statements on one dataset connection. Each step says what to read back:
 * nothing, rows (as arrays of plain values), or one BIGINT column as a BigInt64Array.
 * @param {any} message
 */
async function execute(message) {
  const db = message.key === null ? await parser() : database(message.key);
  running.set(message.id, db.connection);
  try {
    /** @type {unknown[]} */
    const results = [];
    for (const rawStep of message.steps) {
      const step = { ...rawStep, params: bindable(rawStep.params) };
      if (step.read === "none") {
        await db.connection.run(step.sql, step.params);
        results.push(null);
      } else if (step.read === "rows") {
        const reader = await db.connection.runAndReadAll(step.sql, step.params);
        results.push({
          columns: reader.columnNames(),
          rows: reader.getRows().map((row) => row.map(plain)),
        });
      } else if (step.read === "index-bitmap") {
        results.push(await readIndexBitmap(db.connection, step));
      } else {
        results.push(await readBigIntColumn(db.connection, step));
      }
    }
    return results;
  } finally {
    running.delete(message.id);
  }
}

/** @param {any} message */
async function handle(message) {
  switch (message.op) {
    case "open":
      return openDataset(message);
    case "consent":
      return loadConsent(message);
    case "exec":
      return execute(message);
    case "close": {
      const db = databases.get(message.key);
      if (db) {
        db.connection.closeSync();
        db.instance.closeSync();
        databases.delete(message.key);
      }
      return null;
    }
    case "hold":
      // Test hook: a request that keeps this worker busy until the host ends it, like a
      // runaway query; it obeys interrupts unless told not to (then the host has to kill).
      return new Promise((resolve, reject) => {
        holds.set(message.id, () => {
          holds.delete(message.id);
          running.delete(message.id);
          resolve(null);
        });
        if (!message.ignoreInterrupts) {
          running.set(
            message.id,
            /** @type {any} */ ({
              interrupt() {
                holds.delete(message.id);
                running.delete(message.id);
                reject(new Error("INTERRUPT Error: Interrupted!"));
              },
            }),
          );
        }
      });
    case "crash":
      // Test hook: lets the host's tests prove a dying sandbox is replaced.
      process.exit(70);
      return null;
    default:
      throw new Error(`unknown op ${message.op}`);
  }
}

process.on("message", (/** @type {any} */ message) => {
  if (message.op === "interrupt") {
    running.get(message.target)?.interrupt();
    return;
  }
  if (message.op === "unhold") {
    holds.get(message.target)?.();
    return;
  }
  handle(message).then(
    (result) => process.send?.({ id: message.id, ok: true, result }),
    (/** @type {unknown} */ error) =>
      process.send?.({
        id: message.id,
        ok: false,
        error: error instanceof Error ? error.message : String(error),
      }),
  );
});

process.on("disconnect", () => process.exit(0));
process.send?.({ ready: true });
