import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { contractsBuildId, resetIfContractsChanged } from "./deploy";

const dirs: string[] = [];
afterEach(() => {
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

/** A state folder as a dev stack leaves it: chain state, manifest, database, dataset files. */
function stateFolder(buildId: string | null) {
  const stateDir = mkdtempSync(join(tmpdir(), "oc-devstack-build-"));
  dirs.push(stateDir);
  const files = {
    chain: join(stateDir, "anvil-state.json"),
    manifest: join(stateDir, "manifest.json"),
    database: join(stateDir, "opencohort.db"),
    dataset: join(stateDir, "datasets-manifest.json"),
  };
  for (const file of Object.values(files)) writeFileSync(file, "{}");
  if (buildId) writeFileSync(join(stateDir, "contracts-build-id"), `${buildId}\n`);
  return { stateDir, files };
}

describe("the contract build the local chain was deployed from", () => {
  it("fingerprints the compiled contracts", () => {
    const id = contractsBuildId();
    expect(id).toMatch(/^[0-9a-f]{64}$/);
    expect(contractsBuildId()).toBe(id);
  });

  it("keeps the chain when the build is the same, and notes a first build", () => {
    const { stateDir, files } = stateFolder("same");
    const options = { stateDir, manifestPath: files.manifest, databaseFile: files.database };
    expect(resetIfContractsChanged({ ...options, buildId: "same" })).toBe(false);
    expect(existsSync(files.chain) && existsSync(files.manifest)).toBe(true);

    const fresh = mkdtempSync(join(tmpdir(), "oc-devstack-build-"));
    dirs.push(fresh);
    const first = { stateDir: fresh, manifestPath: join(fresh, "m.json"), databaseFile: null };
    expect(resetIfContractsChanged({ ...first, buildId: "b1" })).toBe(false);
    expect(readFileSync(join(fresh, "contracts-build-id"), "utf8").trim()).toBe("b1");
  });

  it("removes chain state, manifest and the default database when the build changed", () => {
    for (const recorded of ["older", null]) {
      const { stateDir, files } = stateFolder(recorded);
      const reset = resetIfContractsChanged({
        stateDir,
        manifestPath: files.manifest,
        databaseFile: files.database,
        buildId: "newer",
      });
      expect(reset).toBe(true);
      expect([files.chain, files.manifest, files.database].filter(existsSync)).toEqual([]);
      expect(existsSync(files.dataset)).toBe(true);
      expect(readFileSync(join(stateDir, "contracts-build-id"), "utf8").trim()).toBe("newer");
    }
  });

  it("leaves a database named by DATABASE_URL alone", () => {
    const { stateDir, files } = stateFolder("older");
    resetIfContractsChanged({
      stateDir,
      manifestPath: files.manifest,
      databaseFile: null,
      buildId: "newer",
    });
    expect(existsSync(files.database)).toBe(true);
  });
});
