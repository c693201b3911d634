import type { PoolConfig } from "pg";

/**
 * node-postgres settings from a PostgreSQL URL, as separate fields rather than a
 * `connectionString`. PrismaPg opens its shadow database with `{ ...config, database }`;
 * with a connectionString in the config, pg lets the string's database win, so the
 * "shadow" connection would land on the real database and replay migrations there.
 */
export function pgConfigFromUrl(url: string): PoolConfig {
  const parsed = new URL(url);
  const params = parsed.searchParams;
  const config: PoolConfig = { connectionTimeoutMillis: 10_000 };
  const host =
    decodeURIComponent(parsed.hostname).replace(/^\[(.*)\]$/, "$1") || params.get("host");
  if (host) config.host = host;
  if (parsed.port !== "") config.port = Number(parsed.port);
  else if (params.get("port")) config.port = Number(params.get("port"));
  if (parsed.username !== "") config.user = decodeURIComponent(parsed.username);
  if (parsed.password !== "") config.password = decodeURIComponent(parsed.password);
  const database = decodeURIComponent(parsed.pathname.slice(1));
  if (database !== "") config.database = database;
  const applicationName = params.get("application_name");
  if (applicationName) config.application_name = applicationName;
  const sslmode = params.get("sslmode") ?? (params.get("ssl") === "true" ? "require" : null);
  if (sslmode !== null && sslmode !== "disable" && sslmode !== "prefer" && sslmode !== "allow") {
    // libpq semantics: "require" encrypts without verifying; verify-ca/verify-full verify.
    config.ssl = { rejectUnauthorized: sslmode === "verify-ca" || sslmode === "verify-full" };
  }
  return config;
}
