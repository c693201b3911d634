import { spawn } from "node:child_process";
import { mkdir, readdir, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { parseCliArguments } from "./cli-options";
import { makeTemporaryDirectory } from "./testing";

const packageDir = fileURLToPath(new URL("..", import.meta.url));

function runCli(args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolvePromise, reject) => {
    const child = spawn(process.execPath, ["--import", "tsx", "src/cli.ts", ...args], {
      cwd: packageDir,
      stdio: ["ignore", "pipe", "pipe"],
    });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (chunk) => {
      stdout += chunk;
    });
    child.stderr.on("data", (chunk) => {
      stderr += chunk;
    });
    child.on("error", reject);
    child.on("close", (code) => resolvePromise({ code, stdout, stderr }));
  });
}

describe("parseCliArguments", () => {
  const errorFor = (args: string[]) => {
    const result = parseCliArguments(args);
    return result.ok ? undefined : result.error;
  };

  it("accepts the documented options, with the pnpm separator", () => {
    expect(parseCliArguments(["--", "--persons", "1000", "--seed", "7", "--out", "d"])).toEqual({
      ok: true,
      options: { persons: 1000, seed: 7, out: "d", force: false, help: false },
    });
  });

  it.each([
    [["--persons", "abc", "--out", "d"], /^--persons must be a whole number .* \(got "abc"\)\.$/],
    [["--persons", "1.5", "--out", "d"], /^--persons must be a whole number/],
    [["--persons", "0", "--out", "d"], /^--persons must be a whole number between 1 and/],
    [["--persons", "20000000", "--out", "d"], /between 1 and 10,000,000/],
    [["--persons", "10"], /^Missing --out: /],
    [["--out", "d"], /^Missing --persons: /],
    [["--persons", "10", "--out", "d", "--seed=-3"], /^--seed must be a whole number/],
    [["--persons", "10", "--out", "d", "--colour"], /^Unknown option --colour; /],
    [["--persons"], /^Option --persons needs a value/],
    [["--persons", "10", "--out", "d", "extra"], /^Unexpected argument "extra"/],
  ])("rejects %j with one clear sentence", (args, message) => {
    const error = errorFor(args);
    expect(error).toMatch(message);
    expect(error?.split("\n")).toHaveLength(1);
  });
});

describe("synth CLI", () => {
  let folder: Awaited<ReturnType<typeof makeTemporaryDirectory>>;
  beforeEach(async () => {
    folder = await makeTemporaryDirectory("cli");
  });
  afterEach(async () => {
    await folder.remove();
  });

  it("exits with status 2 and one line on stderr for bad input", async () => {
    const result = await runCli(["--persons", "many", "--out", join(folder.path, "out")]);
    expect(result.code).toBe(2);
    expect(result.stderr).toBe(
      'synth: --persons must be a whole number between 1 and 10,000,000 (got "many").\n',
    );
    expect(await readdir(folder.path)).toEqual([]);
  });

  it("refuses a non-empty output directory unless --force", async () => {
    const out = join(folder.path, "out");
    await mkdir(out);
    await writeFile(join(out, "notes.txt"), "keep me");
    const refused = await runCli(["--persons", "200", "--out", out]);
    expect(refused.code).toBe(2);
    expect(refused.stderr).toMatch(/is not empty; pass --force/);

    const forced = await runCli(["--persons", "200", "--seed", "9", "--out", out, "--force"]);
    expect(forced.code).toBe(0);
    expect(forced.stdout).toMatch(/^Generated 200 persons \(seed 9\) in \d+\.\d s/);
    expect(forced.stdout).toMatch(/person\s+200 rows/);
    // Not a TTY here: progress comes as plain lines, no carriage returns.
    expect(forced.stderr).toMatch(/\[\d+\/\d+\] writing measurement/);
    expect(forced.stderr).not.toContain("\r");
    expect((await readdir(out)).sort()).toEqual([
      "concept.parquet",
      "concept_ancestor.parquet",
      "condition_occurrence.parquet",
      "drug_exposure.parquet",
      "manifest.json",
      "measurement.parquet",
      "notes.txt",
      "observation_period.parquet",
      "person.parquet",
      "visit_occurrence.parquet",
    ]);
  });
});
