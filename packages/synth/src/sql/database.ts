import { type DuckDBConnection, DuckDBInstance, type DuckDBValue } from "@duckdb/node-api";

export type SqlParameters = Record<string, DuckDBValue>;

export interface GeneratorDatabase {
  connection: DuckDBConnection;
  close(): void;
}

/**
 * An in-memory DuckDB for one generation run. Output does not depend on the thread count
 * (every random draw is a hash of the seed and row keys, and every file is written with a
 * total ORDER BY), so threads only change speed.
 */
export async function openGeneratorDatabase(options: {
  threads: number;
  /** Unset: DuckDB's default (80% of RAM). */
  memoryLimitMb?: number;
  temporaryDirectory: string;
}): Promise<GeneratorDatabase> {
  const instance = await DuckDBInstance.create(":memory:", {
    threads: String(options.threads),
    ...(options.memoryLimitMb === undefined ? {} : { memory_limit: `${options.memoryLimitMb}MB` }),
    temp_directory: options.temporaryDirectory,
    autoinstall_known_extensions: "false",
    autoload_known_extensions: "false",
  });
  const connection = await instance.connect();
  await connection.run("SET TimeZone = 'UTC'");
  await connection.run("SET preserve_insertion_order = true");
  return {
    connection,
    close() {
      connection.closeSync();
      instance.closeSync();
    },
  };
}

/**
 * COPY ... TO takes its target as a literal, not a parameter. Only absolute local paths that
 * we built ourselves come here; anything that could change how the literal is read is refused
 * rather than escaped away.
 */
export function sqlPathLiteral(absolutePath: string): string {
  if (
    !absolutePath.startsWith("/") ||
    /[\0\n\r]/.test(absolutePath) ||
    absolutePath.includes("://")
  ) {
    throw new Error(`refusing to use ${JSON.stringify(absolutePath)} as an output path`);
  }
  return `'${absolutePath.replaceAll("'", "''")}'`;
}

/** Identifiers that we generate from our own catalogue; checked so that none can inject SQL. */
export function sqlIdentifier(name: string): string {
  if (!/^[a-z_][a-z0-9_]*$/.test(name)) throw new Error(`not a plain identifier: ${name}`);
  return name;
}

export async function queryScalar(
  connection: DuckDBConnection,
  sql: string,
  parameters?: SqlParameters,
): Promise<DuckDBValue> {
  const reader = await connection.runAndReadAll(sql, parameters);
  return reader.value(0, 0);
}

export async function queryRows(
  connection: DuckDBConnection,
  sql: string,
  parameters?: SqlParameters,
): Promise<Record<string, unknown>[]> {
  const reader = await connection.runAndReadAll(sql, parameters);
  return reader.getRowObjectsJS();
}
