#!/usr/bin/env node
// forge cannot download a compiler on these machines, so foundry.toml points `solc` here:
// a thin wrapper around the pinned solc-js (npm `solc`) that speaks the two things forge asks
// of a solc binary: `--version`, and standard-JSON on stdin.
"use strict";
const fs = require("node:fs");
const path = require("node:path");
const solc = require("solc");

if (process.argv.includes("--version")) {
  const version = solc.version().replace(/\.Emscripten\.clang$/, "");
  process.stdout.write(`solc, the solidity compiler commandline interface\nVersion: ${version}\n`);
  process.exit(0);
}

const projectRoot = path.resolve(__dirname, "..");
const allowedRoots = [projectRoot, path.resolve(projectRoot, "..", "node_modules")];
const basePathArg = process.argv.indexOf("--base-path");
if (basePathArg !== -1 && process.argv[basePathArg + 1])
  allowedRoots.push(path.resolve(process.argv[basePathArg + 1]));

function readImport(importPath) {
  for (const root of allowedRoots) {
    const candidate = path.resolve(root, importPath);
    if (fs.existsSync(candidate)) return { contents: fs.readFileSync(candidate, "utf8") };
  }
  if (path.isAbsolute(importPath) && fs.existsSync(importPath)) {
    return { contents: fs.readFileSync(importPath, "utf8") };
  }
  return { error: `File not found: ${importPath}` };
}

const input = fs.readFileSync(0, "utf8");
process.stdout.write(solc.compile(input, { import: readImport }));
