import { type ChildProcess, spawn } from "node:child_process";
import { existsSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { freePort } from "@opencohort/chain/anvil";
import { afterAll, describe, expect, it } from "vitest";
import { manifestPathFor } from "./deploy";
import { assertPortFree } from "./ports";

// The whole `npm start` path, twice, in a state folder of its own: chain, contracts,
// database, demo data, operator and web; Ctrl-C; and a second start that seeds nothing.
const stateDir = mkdtempSync(join(tmpdir(), "oc-stack-"));
afterAll(() => {
  rmSync(stateDir, { recursive: true, force: true });
  rmSync(manifestPathFor(stateDir), { force: true });
});

interface RunningStack {
  child: ChildProcess;
  output: () => string;
  exited: Promise<number | null>;
}

function startStack(env: Record<string, string>): Promise<RunningStack> {
  const child = spawn(process.execPath, ["--import", "tsx", "src/main.ts"], {
    cwd: join(import.meta.dirname, ".."),
    env: { ...process.env, OPENCOHORT_STATE_DIR: stateDir, OPENCOHORT_DEMO_PERSONS: "300", ...env },
    stdio: ["ignore", "pipe", "pipe"],
  });
  let output = "";
  const exited = new Promise<number | null>((resolve) =>
    child.once("exit", (code) => resolve(code)),
  );
  return new Promise((resolve, reject) => {
    const collect = (chunk: Buffer) => {
      output += chunk.toString();
      if (output.includes("OpenCohort is running."))
        resolve({ child, output: () => output, exited });
    };
    child.stdout.on("data", collect);
    child.stderr.on("data", collect);
    void exited.then((code) =>
      reject(new Error(`the dev stack exited (${code}) before it was up:\n${output}`)),
    );
  });
}

async function pageText(url: string): Promise<string> {
  const html = await (await fetch(url)).text();
  return html.replace(/<[^>]+>/g, " ").replace(/\s+/g, " ");
}

describe("npm start (the dev stack)", () => {
  it("brings up everything, stops everything on Ctrl-C, and starts again without seeding twice", async () => {
    const ports = { anvil: await freePort(), web: await freePort() };
    const env = {
      OPENCOHORT_ANVIL_PORT: String(ports.anvil),
      OPENCOHORT_WEB_PORT: String(ports.web),
    };
    const url = `http://127.0.0.1:${ports.web}`;

    const first = await startStack(env);
    const firstPage = await pageText(url);
    expect(firstPage).toContain("k = 11");
    for (const title of [
      "Northbridge Cardiometabolic Cohort",
      "Lakeside Respiratory Registry",
      "Coastal Primary Care Panel",
    ]) {
      expect(firstPage).toContain(title);
    }
    const consented = [...firstPage.matchAll(/300 persons · (\d+) consented/g)].map((match) =>
      Number(match[1]),
    );
    expect(consented).toHaveLength(3);
    for (const count of consented) expect(count).toBeGreaterThan(240);
    // The fourth: the vendored Eunomia export, imported with the steward's importer.
    expect(firstPage).toContain("Eunomia GiBleed (OMOP CDM)");
    const eunomia = /2,694 persons · ([\d,]+) consented/.exec(firstPage);
    expect(Number(eunomia?.[1]?.replaceAll(",", ""))).toBeGreaterThan(2_200);
    expect(first.output()).toContain("Signing and relaying consents");
    expect(first.output()).toContain("Importing Eunomia GiBleed (OMOP CDM)");
    // ...and its source sits in the import root, for a steward to import from the web.
    expect(existsSync(join(stateDir, "imports", "eunomia-gibleed", "person.csv.gz"))).toBe(true);

    first.child.kill("SIGINT");
    expect(await first.exited).toBe(0);
    // Every service is gone: their ports are free again.
    await assertPortFree(ports.anvil, "anvil");
    await assertPortFree(ports.web, "web");

    const second = await startStack(env);
    expect(second.output()).toContain("Contracts already deployed");
    expect(second.output()).not.toContain("Signing and relaying consents");
    expect(second.output()).not.toContain("Generating");
    expect(second.output()).not.toContain("Importing");
    const secondPage = await pageText(url);
    expect(
      [...secondPage.matchAll(/300 persons · (\d+) consented/g)].map((match) => Number(match[1])),
    ).toEqual(consented);
    second.child.kill("SIGINT");
    expect(await second.exited).toBe(0);
  }, 400_000);
});
