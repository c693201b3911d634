import {
  ColumnTypeEnum,
  DriverAdapterError,
  type SqlDriverAdapter,
  type SqlMigrationAwareDriverAdapterFactory,
  type SqlQuery,
  type SqlResultSet,
} from "@prisma/driver-adapter-utils";

/**
 * A PostgreSQL "connection" with no server behind it, for datamodel-to-datamodel diffs.
 *
 * Such a diff touches no database, but the wasm engine's PostgreSQL connector still runs
 * its connection handshake (does the schema exist, which server version) before diffing.
 * This adapter answers that one query as a current PostgreSQL would and refuses anything
 * else, so a stray real query fails loudly instead of being answered wrongly. Migrations
 * made this way are checked against a real server by the PostgreSQL drift test.
 */
export function offlinePostgresFactory(): SqlMigrationAwareDriverAdapterFactory {
  const connect = async (): Promise<SqlDriverAdapter> => offlineAdapter();
  return {
    provider: "postgres",
    adapterName: "@prisma/adapter-pg",
    connect,
    connectToShadowDb: connect,
  };
}

const HANDSHAKE = /current_setting\('server_version_num'\)/;

function offlineAdapter(): SqlDriverAdapter {
  const refuse = (what: string): never => {
    throw new DriverAdapterError({
      kind: "GenericJs",
      id: 0,
      message: `offline PostgreSQL adapter: no database to run ${what}`,
    } as never);
  };
  return {
    provider: "postgres",
    adapterName: "@prisma/adapter-pg",
    async queryRaw(query: SqlQuery): Promise<SqlResultSet> {
      if (!HANDSHAKE.test(query.sql)) return refuse(query.sql);
      return {
        columnNames: ["exists", "version", "numeric_version"],
        columnTypes: [ColumnTypeEnum.Boolean, ColumnTypeEnum.Text, ColumnTypeEnum.Int32],
        rows: [[true, "PostgreSQL 16.0 (offline)", 160000]],
      };
    },
    async executeRaw(query: SqlQuery): Promise<number> {
      return refuse(query.sql);
    },
    async executeScript(script: string): Promise<void> {
      refuse(script);
    },
    async startTransaction() {
      return refuse("a transaction");
    },
    getConnectionInfo: () => ({ schemaName: "public", supportsRelationJoins: true }),
    async dispose() {},
  };
}
