#!/usr/bin/env node
// A `solc` look-alike for forge, backed by solc-js (there is no native solc binary here).
//
// forge runs the compiler in two ways, and this wrapper answers both:
//   solc --version
//       -> the version banner; forge parses the *second* line, `Version: <full version>`.
//   solc --standard-json [--base-path P] [--include-path P]... [--allow-paths P[,P]...] [other flags]
//       -> reads Standard JSON input on stdin and writes Standard JSON output on stdout.
//
// Imports are resolved in solc-js's import callback: a source unit name is looked up as given,
// then relative to the base path and every include path. Only files under the base path, an
// include path or an allowed path are readable (like native solc's --allow-paths check).
'use strict';

const fs = require('fs');
const path = require('path');
const solc = require('solc');

// The version forge expects to find (it must match `solc_version` in foundry.toml).
const FULL_VERSION = '0.8.30+commit.73712a01.Linux.g++';

function parseArgs(argv) {
  const opts = { version: false, standardJson: false, basePath: null, includePaths: [], allowPaths: [] };
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    const takeValue = () => {
      const eq = arg.indexOf('=');
      if (eq >= 0) return arg.slice(eq + 1);
      i += 1;
      return argv[i];
    };
    if (arg === '--version') opts.version = true;
    else if (arg === '--standard-json') opts.standardJson = true;
    else if (arg.startsWith('--base-path')) opts.basePath = takeValue();
    else if (arg.startsWith('--include-path')) opts.includePaths.push(takeValue());
    else if (arg.startsWith('--allow-paths')) opts.allowPaths.push(...takeValue().split(',').filter(Boolean));
    // Other flags (e.g. --no-import-callback) do not change what solc-js does here.
  }
  return opts;
}

function isUnder(file, dir) {
  const rel = path.relative(dir, file);
  return rel === '' || (!rel.startsWith('..') && !path.isAbsolute(rel));
}

function makeImportCallback(opts) {
  const roots = [opts.basePath, ...opts.includePaths].filter(Boolean).map((p) => path.resolve(p));
  const allowed = [...roots, ...opts.allowPaths.map((p) => path.resolve(p))];
  if (allowed.length === 0) allowed.push(process.cwd());
  return (unitName) => {
    const candidates = path.isAbsolute(unitName)
      ? [unitName]
      : (roots.length ? roots : [process.cwd()]).map((root) => path.join(root, unitName));
    for (const file of candidates) {
      const resolved = path.resolve(file);
      if (!allowed.some((dir) => isUnder(resolved, dir))) continue;
      if (fs.existsSync(resolved) && fs.statSync(resolved).isFile()) {
        return { contents: fs.readFileSync(resolved, 'utf8') };
      }
    }
    return { error: `File not found (or outside the allowed paths): ${unitName}` };
  };
}

function main() {
  const opts = parseArgs(process.argv.slice(2));
  if (opts.version) {
    process.stdout.write(`solc, the solidity compiler commandline interface (solc-js wrapper)\nVersion: ${FULL_VERSION}\n`);
    return;
  }
  if (!opts.standardJson) {
    process.stderr.write('solc-wrapper: only --version and --standard-json are supported\n');
    process.exit(2);
  }
  const loaded = solc.version();
  if (!loaded.startsWith(FULL_VERSION.split('.Linux')[0])) {
    process.stderr.write(`solc-wrapper: solc-js is ${loaded}, expected ${FULL_VERSION}\n`);
    process.exit(2);
  }
  const input = fs.readFileSync(0, 'utf8');
  const output = solc.compile(input, { import: makeImportCallback(opts) });
  process.stdout.write(output);
}

main();
