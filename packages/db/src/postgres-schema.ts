/**
 * prisma/postgres/schema.prisma is prisma/schema.prisma with two lines changed: the
 * datasource provider, and the client output (each provider gets its own generated client,
 * because Prisma Client refuses an adapter of another provider than it was generated for).
 */
export const POSTGRES_SCHEMA_HEADER =
  "// GENERATED from ../schema.prisma by `pnpm --filter @opencohort/db schema:sync`. Do not edit.\n";

const REPLACEMENTS: [RegExp, string][] = [
  [/^(\s*provider\s*=\s*)"sqlite"/m, '$1"postgresql"'],
  [/^(\s*output\s*=\s*)"\.\.\/src\/generated\/sqlite"/m, '$1"../../src/generated/postgres"'],
];

export function postgresSchemaFrom(sqliteSchema: string): string {
  let text = sqliteSchema;
  for (const [pattern, replacement] of REPLACEMENTS) {
    if (!pattern.test(text)) {
      throw new Error(
        `prisma/schema.prisma: expected a line matching ${pattern} to rewrite for PostgreSQL`,
      );
    }
    text = text.replace(pattern, replacement);
  }
  return POSTGRES_SCHEMA_HEADER + text;
}
