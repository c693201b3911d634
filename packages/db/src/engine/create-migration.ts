import type {
  CreateMigrationInput,
  CreateMigrationOutput,
  EvaluateDataLossInput,
  EvaluateDataLossOutput,
  MigrationFeedback,
  MigrationList,
  SchemaContainer,
  SchemaFilter,
} from "@prisma/schema-engine-wasm/schema_engine_bg";
import type { SchemaEngine } from "./wasm";

// The wasm engine's createMigration and evaluateDataLoss replay the migration history on
// a shadow database they open themselves, which the wasm build cannot do ("SQLite/PostgreSQL
// shadow DB must be provided through an external factory"). `diff` from the migrations
// folder does the same replay through the adapter's shadow database and renders the same
// SQL, so both commands are rebuilt on it here (what `prisma migrate dev` needs).

const EMPTY_SCRIPT = /^\s*(-- This is an empty migration\.)?\s*$/;

/** Prisma's migration folder prefix: UTC yyyyMMddHHmmss. */
export function migrationTimestamp(now: Date = new Date()): string {
  return now.toISOString().replace(/[-:T]/g, "").slice(0, 14);
}

async function pendingScript(
  engine: SchemaEngine,
  list: MigrationList,
  files: SchemaContainer[],
  filters: SchemaFilter,
): Promise<string> {
  const { stdout } = await engine.diff({
    // Without migrations the engine would demand a lockfile; the history is just empty.
    from:
      list.migrationDirectories.length === 0 ? { tag: "empty" } : { tag: "migrations", ...list },
    to: { tag: "schemaDatamodel", files },
    script: true,
    exitCode: null,
    filters,
  });
  const script = stdout ?? "";
  return EMPTY_SCRIPT.test(script) ? "" : script;
}

/** Same contract as the engine: no script when nothing changed, unless a draft. */
export async function createMigrationViaDiff(
  engine: SchemaEngine,
  input: CreateMigrationInput,
  connectorType: CreateMigrationOutput["connectorType"],
): Promise<CreateMigrationOutput> {
  const script = await pendingScript(
    engine,
    input.migrationsList,
    input.schema.files,
    input.filters,
  );
  const name = input.migrationName === "" ? "" : `_${input.migrationName}`;
  return {
    connectorType,
    generatedMigrationName: `${migrationTimestamp()}${name}`,
    migrationScript:
      script === "" ? (input.draft ? "-- This is an empty migration." : null) : script,
    extension: "sql",
  };
}

/**
 * The step count of the next migration and its data-loss warnings. The engine's own
 * checker is out of reach (see above), so warnings come from the SQL: dropped tables (not
 * SQLite's drop-and-rename table rebuilds) and dropped columns. `prisma migrate dev` then
 * asks before applying them, as it would with the native engine.
 */
export async function evaluateDataLossViaDiff(
  engine: SchemaEngine,
  input: EvaluateDataLossInput,
): Promise<EvaluateDataLossOutput> {
  const script = await pendingScript(
    engine,
    input.migrationsList,
    input.schema.files,
    input.filters,
  );
  const statements = script
    .split(/;\s*\n/)
    .map((statement) => statement.replace(/^\s*--.*$/gm, "").trim())
    .filter((statement) => statement !== "");
  return {
    migrationSteps: statements.length,
    warnings: dataLossWarnings(statements),
    unexecutableSteps: [],
  };
}

export function dataLossWarnings(statements: string[]): MigrationFeedback[] {
  const rebuilt = new Set(
    statements.flatMap((s) => {
      const match = /^ALTER TABLE "new_([^"]+)" RENAME TO "([^"]+)"/i.exec(s);
      return match && match[1] === match[2] ? [match[1]] : [];
    }),
  );
  const warnings: MigrationFeedback[] = [];
  statements.forEach((statement, stepIndex) => {
    const table = /^DROP TABLE "([^"]+)"/i.exec(statement)?.[1];
    if (table !== undefined && !rebuilt.has(table)) {
      warnings.push({
        stepIndex,
        message: `You are about to drop the \`${table}\` table. All the data in it will be lost.`,
      });
    }
    for (const [, column] of statement.matchAll(/DROP COLUMN "([^"]+)"/gi)) {
      const on = /^ALTER TABLE "([^"]+)"/i.exec(statement)?.[1] ?? "?";
      warnings.push({
        stepIndex,
        message: `You are about to drop the column \`${column}\` on the \`${on}\` table. All the data in the column will be lost.`,
      });
    }
  });
  return warnings;
}
