import { readdir, stat } from "node:fs/promises";
import { parseArgs } from "node:util";
import { z } from "zod";
import { MAX_PERSONS } from "./generate-cohort";

export const USAGE = `Usage: synth --persons N --out DIR [--seed S] [--title TEXT] [--force]

Generates a deterministic synthetic OMOP-lite dataset (Parquet files and manifest.json).
  --persons N   number of persons, 1 to ${MAX_PERSONS.toLocaleString("en-US")}
  --out DIR     output directory; must be empty or absent unless --force
  --seed S      whole number >= 0 (default 1); same seed and persons give identical files
  --title TEXT  dataset title for the manifest
  --force       write into a non-empty directory, replacing the dataset files there
  --help        show this text`;

const wholeNumber = (flag: string, min: number, max: number) =>
  z
    .string()
    .regex(
      /^\d+$/,
      `${flag} must be a whole number between ${min} and ${max.toLocaleString("en-US")}`,
    )
    .transform(Number)
    .refine(
      (value) => value >= min && value <= max,
      `${flag} must be a whole number between ${min} and ${max.toLocaleString("en-US")}`,
    );

const cliOptionsSchema = z.object({
  persons: z
    .string({
      error: "Missing --persons: give the number of persons to generate, e.g. --persons 100000",
    })
    .pipe(wholeNumber("--persons", 1, MAX_PERSONS)),
  seed: z
    .string()
    .default("1")
    .pipe(wholeNumber("--seed", 0, Number.MAX_SAFE_INTEGER)),
  out: z
    .string({
      error: "Missing --out: give the directory to write the dataset to, e.g. --out ./data",
    })
    .min(1, "--out must not be empty"),
  title: z.string().trim().min(1, "--title must not be empty").optional(),
  force: z.boolean().default(false),
  help: z.boolean().default(false),
});

export type CliOptions = z.output<typeof cliOptionsSchema>;

export type CliParseResult = { ok: true; options: CliOptions } | { ok: false; error: string };

/** Turns argv into options or a one-sentence error; never throws. */
export function parseCliArguments(argv: readonly string[]): CliParseResult {
  // `pnpm run synth -- --persons 5` passes the separator through.
  const args = argv[0] === "--" ? argv.slice(1) : [...argv];
  let values: Record<string, unknown>;
  try {
    ({ values } = parseArgs({
      args,
      strict: true,
      allowPositionals: false,
      options: {
        persons: { type: "string" },
        seed: { type: "string" },
        out: { type: "string" },
        title: { type: "string" },
        force: { type: "boolean" },
        help: { type: "boolean", short: "h" },
      },
    }));
  } catch (error) {
    return { ok: false, error: describeParseArgsError(error) };
  }
  if (values.help === true) {
    return {
      ok: true,
      options: { persons: 0, seed: 1, out: "", force: false, help: true, title: undefined },
    };
  }
  const parsed = cliOptionsSchema.safeParse(values);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    const received = issue ? values[String(issue.path[0])] : undefined;
    const suffix = typeof received === "string" && received !== "" ? ` (got "${received}")` : "";
    return { ok: false, error: `${issue?.message ?? "invalid arguments"}${suffix}.` };
  }
  return { ok: true, options: parsed.data };
}

function describeParseArgsError(error: unknown): string {
  const code = (error as { code?: string }).code;
  const message = (error as Error).message ?? "";
  const option = /'([^']+)'/.exec(message)?.[1]?.split(" ")[0];
  switch (code) {
    case "ERR_PARSE_ARGS_UNKNOWN_OPTION":
      return `Unknown option ${option ?? ""}; run with --help to see the options.`;
    case "ERR_PARSE_ARGS_INVALID_OPTION_VALUE":
      return `Option ${option ?? ""} needs a value, written ${option ?? "--name"} <value>.`;
    case "ERR_PARSE_ARGS_UNEXPECTED_POSITIONAL":
      return `Unexpected argument ${option ? `"${option}"` : ""}; options are written --name value.`;
    default:
      return "Could not read the arguments; run with --help to see the options.";
  }
}

/** Refuses to mix a new dataset into an unrelated folder unless asked to. */
export async function checkOutputDirectory(
  dir: string,
  force: boolean,
): Promise<string | undefined> {
  let info: Awaited<ReturnType<typeof stat>>;
  try {
    info = await stat(dir);
  } catch {
    return undefined;
  }
  if (!info.isDirectory()) return `--out ${dir} exists and is not a directory.`;
  const entries = await readdir(dir);
  if (entries.length > 0 && !force) {
    return `Output directory ${dir} is not empty; pass --force to write into it anyway.`;
  }
  return undefined;
}
