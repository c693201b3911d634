import { readFile } from "node:fs/promises";
import { resolve } from "node:path";
import { parseArgs } from "node:util";
import { createProgressReporter } from "@opencohort/synth";
import { z } from "zod";
import type { ImportReport } from "./build";
import { ImportError } from "./errors";
import { importFhir } from "./fhir-import";
import { importOmop } from "./omop-import";
import { verifyDataset } from "./verify";

export const USAGE = `Usage:
  opencohort-dataset import omop <csv folder | file.duckdb | postgres://...> --out <dir> [options]
  opencohort-dataset import fhir <ndjson folder> --out <dir> [--vocabulary <omop folder>] [options]
  opencohort-dataset verify <dir>

Options for import:
  --out DIR            the dataset folder to create (must not exist, or be empty)
  --title TEXT         manifest title (default: the source folder's name)
  --secret-file FILE   the steward secret that keys person pseudonyms (or env OPENCOHORT_STEWARD_SECRET);
                       keep it, and use the same one for every version of a dataset
  --config FILE        JSON steward config: {"bounds": {"value_as_number": {"min": 0, "max": 500}, ...},
                       "codeBounds": {"LOINC:14749-6": {"min": 0.5, "max": 60, "unit": "mmol/L"}, ...}}
  --schema NAME        schema of the CDM tables (DuckDB: main, PostgreSQL: public)
  --skip-orphans       drop rows about persons missing from person (reported) instead of failing
  --vocabulary DIR     FHIR: an OMOP vocabulary (concept.csv, concept_ancestor.csv) to map codings to`;

const boundsSchema = z.object({ min: z.number(), max: z.number() }).refine((b) => b.min <= b.max);
const configSchema = z.object({
  bounds: z
    .object({
      year_of_birth: boundsSchema,
      value_as_number: boundsSchema,
      days_supply: boundsSchema,
      min_levels_of_separation: boundsSchema,
    })
    .partial()
    .optional(),
  /** Bounds of measurement values per VOCABULARY:CODE, over DEFAULT_CODE_BOUNDS. */
  codeBounds: z
    .record(
      z.string().regex(/^[A-Za-z0-9][A-Za-z0-9 ._-]*:[^\s']{1,50}$/, "must be VOCABULARY:CODE"),
      z
        .object({ min: z.number(), max: z.number(), unit: z.string().max(40).optional() })
        .refine((b) => b.min <= b.max, "min > max"),
    )
    .optional(),
});

async function readSecret(file: string | undefined): Promise<string> {
  const secret = file
    ? (await readFile(file, "utf8")).trim()
    : process.env.OPENCOHORT_STEWARD_SECRET?.trim();
  if (!secret) {
    throw new ImportError(
      "no steward secret: pass --secret-file FILE or set OPENCOHORT_STEWARD_SECRET (pseudonyms are keyed by it)",
    );
  }
  return secret;
}

function printReport(report: ImportReport, seconds: number) {
  const lines = [
    `Imported ${report.manifest.personCount.toLocaleString("en-US")} persons in ${seconds.toFixed(1)} s into ${report.outDir}`,
    ...report.tables.map(
      (t) => `  ${t.name.padEnd(22)} ${t.rows.toLocaleString("en-US").padStart(12)} rows`,
    ),
    `  schema ${report.manifest.schemaVersion}, content hash ${report.manifest.contentHash}`,
    `  peak memory (RSS) ${(process.resourceUsage().maxRSS / 1024).toFixed(0)} MiB`,
    "Left out (not in the dataset):",
    ...report.dropped.map(
      (d) =>
        `  - ${d.what}${d.count !== undefined ? ` (${d.count.toLocaleString("en-US")})` : ""}: ${d.reason}`,
    ),
    ...(report.undeclaredBounds.codes.length > 0
      ? [
          `Measurement codes without declared bounds (neither --config codeBounds nor the defaults): their values clamp to value_as_number's [${report.undeclaredBounds.fallback.min}, ${report.undeclaredBounds.fallback.max}]; declare them and import again:`,
          ...report.undeclaredBounds.codes.map(
            (c) => `  - ${c.code} (${c.rows.toLocaleString("en-US")} values)`,
          ),
        ]
      : []),
    ...(report.unmapped.length > 0
      ? [
          "Kept without a standard concept (concept 0; queryable by source vocabulary and code):",
          ...report.unmapped.map(
            (u) =>
              `  - ${u.table}: ${u.rows.toLocaleString("en-US")} rows, ${u.codes.toLocaleString("en-US")} distinct codes`,
          ),
        ]
      : []),
  ];
  process.stdout.write(`${lines.join("\n")}\n`);
}

async function main(argv: readonly string[]): Promise<number> {
  let parsed: ReturnType<typeof parse>;
  const parse = () =>
    parseArgs({
      args: [...argv],
      allowPositionals: true,
      options: {
        out: { type: "string" },
        title: { type: "string" },
        "secret-file": { type: "string" },
        config: { type: "string" },
        schema: { type: "string" },
        vocabulary: { type: "string" },
        "skip-orphans": { type: "boolean" },
        help: { type: "boolean", short: "h" },
      },
    });
  try {
    parsed = parse();
  } catch (error) {
    process.stderr.write(`opencohort-dataset: ${(error as Error).message}\n${USAGE}\n`);
    return 2;
  }
  const { values, positionals } = parsed;
  const [command, kind, source] = positionals;
  if (values.help || command === undefined) {
    process.stdout.write(`${USAGE}\n`);
    return command === undefined && !values.help ? 2 : 0;
  }
  try {
    if (command === "verify") {
      if (!kind) throw new ImportError("verify needs a dataset folder");
      const result = await verifyDataset(resolve(kind));
      if (result.ok) {
        process.stdout.write(
          `${kind}: ok (${result.manifest.schemaVersion}, ${result.manifest.personCount.toLocaleString("en-US")} persons, content hash ${result.manifest.contentHash})\n`,
        );
        return 0;
      }
      process.stderr.write(`${kind}: ${result.problems.join("\n  ")}\n`);
      return 1;
    }
    if (command !== "import" || (kind !== "omop" && kind !== "fhir") || !source || !values.out) {
      process.stderr.write(`opencohort-dataset: unknown or incomplete command\n${USAGE}\n`);
      return 2;
    }
    const config = values.config
      ? configSchema.parse(JSON.parse(await readFile(values.config, "utf8")))
      : {};
    const reporter = createProgressReporter(process.stderr);
    const startedAt = performance.now();
    const isUrl = /^postgres(ql)?:\/\//.test(source);
    const common = {
      outDir: resolve(values.out),
      secret: await readSecret(values["secret-file"]),
      title:
        values.title ??
        (isUrl ? "OMOP CDM import" : (resolve(source).split("/").pop() ?? "import")),
      ...(config.bounds ? { bounds: config.bounds } : {}),
      ...(config.codeBounds ? { codeBounds: config.codeBounds } : {}),
      ...(values["skip-orphans"] ? { skipOrphans: true } : {}),
      ...(values.schema ? { schema: values.schema } : {}),
      onProgress: reporter.update,
    };
    let report: ImportReport;
    try {
      report =
        kind === "omop"
          ? await importOmop(isUrl ? source : resolve(source), common)
          : await importFhir(resolve(source), {
              ...common,
              ...(values.vocabulary ? { vocabulary: resolve(values.vocabulary) } : {}),
            });
    } finally {
      reporter.finish();
    }
    printReport(report, (performance.now() - startedAt) / 1000);
    return 0;
  } catch (error) {
    const message =
      error instanceof ImportError || error instanceof z.ZodError
        ? error.message
        : `import failed: ${(error as Error).message}`;
    process.stderr.write(`opencohort-dataset: ${message}\n`);
    return 1;
  }
}

process.exitCode = await main(process.argv.slice(2));
