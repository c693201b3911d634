import { stat } from "node:fs/promises";
import { join, resolve } from "node:path";
import { checkOutputDirectory, parseCliArguments, USAGE } from "./cli-options";
import { generateCohort } from "./generate-cohort";
import { createProgressReporter } from "./progress-reporter";

const EXIT_USAGE = 2;
const EXIT_FAILURE = 1;

const formatCount = (value: number) => value.toLocaleString("en-US");
const formatBytes = (bytes: number) =>
  bytes >= 1024 * 1024
    ? `${(bytes / 1024 / 1024).toFixed(1)} MiB`
    : `${(bytes / 1024).toFixed(1)} KiB`;

async function main(argv: readonly string[]): Promise<number> {
  const parsed = parseCliArguments(argv);
  if (!parsed.ok) {
    process.stderr.write(`synth: ${parsed.error}\n`);
    return EXIT_USAGE;
  }
  const { options } = parsed;
  if (options.help) {
    process.stdout.write(`${USAGE}\n`);
    return 0;
  }
  const outDir = resolve(options.out);
  const directoryProblem = await checkOutputDirectory(outDir, options.force);
  if (directoryProblem) {
    process.stderr.write(`synth: ${directoryProblem}\n`);
    return EXIT_USAGE;
  }

  const startedAt = performance.now();
  const reporter = createProgressReporter(process.stderr);
  let manifest: Awaited<ReturnType<typeof generateCohort>>;
  try {
    manifest = await generateCohort({
      persons: options.persons,
      seed: options.seed,
      outDir,
      title: options.title,
      onProgress: (progress) => reporter.update(progress),
    });
  } catch (error) {
    reporter.finish();
    process.stderr.write(`synth: generation failed: ${(error as Error).message}\n`);
    return EXIT_FAILURE;
  }
  reporter.finish();
  const elapsedSeconds = (performance.now() - startedAt) / 1000;

  const lines = [
    `Generated ${formatCount(manifest.personCount)} persons (seed ${options.seed}) in ${elapsedSeconds.toFixed(1)} s into ${outDir}`,
  ];
  for (const table of manifest.tables) {
    const { size } = await stat(join(outDir, table.file));
    lines.push(
      `  ${table.name.padEnd(22)} ${formatCount(table.rowCount).padStart(12)} rows  ${formatBytes(size).padStart(10)}`,
    );
  }
  // maxRSS is in KiB.
  const peakRssMiB = process.resourceUsage().maxRSS / 1024;
  lines.push(`  content hash ${manifest.contentHash}`);
  lines.push(`  peak memory (RSS) ${peakRssMiB.toFixed(0)} MiB`);
  process.stdout.write(`${lines.join("\n")}\n`);
  return 0;
}

process.exitCode = await main(process.argv.slice(2));
