import { randomUUID } from "node:crypto";
import { PrismaPg } from "@prisma/adapter-pg";
import type {
  SqlDriverAdapter,
  SqlMigrationAwareDriverAdapterFactory,
} from "@prisma/driver-adapter-utils";
import pg from "pg";
import { pgConfigFromUrl } from "../pg-config";
import { withOverrides } from "./overrides";

/** PostgreSQL's internal one-byte `"char"` type, and `text`. */
const CHAR_OID = 18;
const TEXT_OID = 25;

type QueryResultLike = { fields?: { dataTypeID: number }[] };

/**
 * A pool that reports `"char"` result columns as `text`. The schema engine describes a
 * database by reading pg_catalog, whose flag columns (relkind, contype, ...) are `"char"`;
 * @prisma/adapter-pg 7.10 has no mapping for that type and fails every such query
 * ("Column type 'char' could not be deserialized"), which broke `migrate dev`, `db push`
 * and drift checks on PostgreSQL. The values arrive as one-character strings either way.
 */
class CatalogFriendlyPool extends pg.Pool {
  // biome-ignore lint/suspicious/noExplicitAny: pg's overloads cannot be forwarded typed.
  override query(...args: any[]): any {
    // biome-ignore lint/suspicious/noExplicitAny: see above.
    const result = (super.query as (...a: any[]) => any)(...args);
    if (result === undefined || typeof result.then !== "function") return result;
    return (result as Promise<QueryResultLike>).then((value) => {
      for (const field of value.fields ?? []) {
        if (field.dataTypeID === CHAR_OID) field.dataTypeID = TEXT_OID;
      }
      return value;
    });
  }
}

/**
 * The migration adapter for PostgreSQL: PrismaPg over a CatalogFriendlyPool, and a shadow
 * database done in the right order. PrismaPg's own shadow database is dropped while its
 * pool still holds a connection to it, which PostgreSQL refuses ("being accessed by other
 * users"); here the pool is closed first, then the database dropped.
 */
export function postgresMigrationFactory(
  url: string,
  schema: string | undefined,
): SqlMigrationAwareDriverAdapterFactory {
  const config = pgConfigFromUrl(url);
  const options = schema === undefined ? {} : { schema };
  const connectTo = (database?: string): Promise<SqlDriverAdapter> =>
    new PrismaPg(
      new CatalogFriendlyPool(database === undefined ? config : { ...config, database }),
      {
        ...options,
        disposeExternalPool: true,
      },
    ).connect();
  return {
    provider: "postgres",
    adapterName: "@prisma/adapter-pg",
    connect: () => connectTo(),
    async connectToShadowDb() {
      const admin = new pg.Client(config);
      admin.on("error", () => {});
      await admin.connect();
      const database = `prisma_migrate_shadow_db_${randomUUID()}`;
      let shadow: SqlDriverAdapter;
      try {
        await admin.query(`CREATE DATABASE "${database}"`);
        shadow = await connectTo(database);
      } catch (error) {
        await admin.end().catch(() => {});
        throw error;
      }
      let disposed: Promise<void> | undefined;
      const dispose = () => {
        disposed ??= (async () => {
          await shadow.dispose().catch(() => {});
          await admin.query(`DROP DATABASE IF EXISTS "${database}"`).catch(() => {});
          await admin.end().catch(() => {});
        })();
        return disposed;
      };
      return withOverrides(shadow, { dispose });
    },
  };
}
