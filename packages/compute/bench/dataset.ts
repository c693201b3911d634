import { existsSync } from "node:fs";
import { join } from "node:path";
import { generateCohort } from "@opencohort/synth";

/** Where the benchmark keeps its synthetic dataset between runs (gitignored). */
export function benchDatasetDir(persons: number, seed: number): string {
  return join(import.meta.dirname, "..", ".bench-data", `persons-${persons}-seed-${seed}`);
}

/** Generates the dataset with @opencohort/synth unless a complete one is already cached. */
export async function ensureBenchDataset(persons: number, seed: number): Promise<string> {
  const dir = benchDatasetDir(persons, seed);
  if (existsSync(join(dir, "manifest.json"))) return dir;
  const started = Date.now();
  let lastStage = "";
  await generateCohort({
    persons,
    seed,
    outDir: dir,
    // Bounded (it spills to disk beyond): DuckDB's default of 80% of RAM made a 10M-person
    // run grow to 18 GB and crawl.
    memoryLimitMb: Number(process.env.BENCH_SYNTH_MEMORY_MB ?? 8_192),
    onProgress: (p) => {
      if (p.stage !== lastStage) {
        lastStage = p.stage;
        process.stderr.write(`  synth: ${p.stage} (${p.done}/${p.total})\n`);
      }
    },
  });
  process.stderr.write(
    `  synth: ${persons} persons in ${((Date.now() - started) / 1000).toFixed(1)} s\n`,
  );
  return dir;
}

if (process.argv[1] === import.meta.filename) {
  const persons = Number(process.argv[2] ?? 1_000_000);
  console.log(await ensureBenchDataset(persons, 42));
}
