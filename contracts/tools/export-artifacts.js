#!/usr/bin/env node
// Copies the ABI and bytecode of each contract the Rust side needs from forge's `out/` into
// compact, stable JSON files: <dest>/<Name>.json = {"abi":[...],"bytecode":"0x..","deployedBytecode":"0x.."}.
// Interfaces get an empty bytecode. Usage: export-artifacts.js <out dir> <dest dir>
'use strict';

const fs = require('fs');
const path = require('path');

// Source file -> contracts exported from it (keep in sync with contracts/README.md).
const EXPORTS = [
  ['SystemConfig.sol', 'SystemConfig'],
  ['OutputOracle.sol', 'OutputOracle'],
  ['Portal.sol', 'Portal'],
  ['Proxy.sol', 'Proxy'],
  ['Proxy.sol', 'IProxyAdmin'],
  ['L2ToL1MessagePasser.sol', 'L2ToL1MessagePasser'],
  ['L1Block.sol', 'L1Block'],
  ['IDisputeGame.sol', 'IDisputeGame'],
  ['IDisputeGameFactory.sol', 'IDisputeGameFactory'],
  ['IStepVerifier.sol', 'IStepVerifier'],
  ['DisputeGame.sol', 'DisputeGame'],
  ['DisputeGameFactory.sol', 'DisputeGameFactory'],
  ['EvmInterpreter.sol', 'EvmInterpreter'],
  ['EvmPrecompiles.sol', 'EvmPrecompiles'],
  ['EvmStepVerifier.sol', 'EvmStepVerifier'],
];

// Test-only harnesses the Rust tests run in revm, exported to <dest>/test/ so they are never
// mistaken for deployable contracts: source path under test/ -> contract.
const TEST_EXPORTS = [
  ['harness/TrieHarness.sol', 'TrieHarness'],
  ['harness/EvmSamples.sol', 'EvmSamples'],
  ['harness/MptHarness.sol', 'MptHarness'],
];

// Contracts whose storage layouts others depend on: those deployed behind proxies (layouts must
// stay compatible across upgrades) and the L2 predeploy whose slots the node reads directly.
const LAYOUTS = [
  ['SystemConfig.sol', 'SystemConfig'],
  ['OutputOracle.sol', 'OutputOracle'],
  ['Portal.sol', 'Portal'],
  ['L1Block.sol', 'L1Block'],
  // Not a proxy, but every game is a clone of it and its NatSpec documents the layout.
  ['DisputeGame.sol', 'DisputeGame'],
];

// Writes forge artifact `src` as {"abi","bytecode","deployedBytecode"} to `dest`.
function exportOne(src, dest) {
  if (!fs.existsSync(src)) {
    process.stderr.write(`export-artifacts: missing ${src} (did forge build succeed?)\n`);
    process.exit(1);
  }
  const artifact = JSON.parse(fs.readFileSync(src, 'utf8'));
  const compact = {
    abi: artifact.abi,
    bytecode: artifact.bytecode.object,
    deployedBytecode: artifact.deployedBytecode.object,
  };
  fs.writeFileSync(dest, JSON.stringify(compact) + '\n');
}

function main() {
  const [outDir, destDir] = process.argv.slice(2);
  if (!outDir || !destDir) {
    process.stderr.write('usage: export-artifacts.js <forge out dir> <dest dir>\n');
    process.exit(2);
  }
  fs.mkdirSync(destDir, { recursive: true });
  for (const [file, name] of EXPORTS) {
    exportOne(path.join(outDir, file, `${name}.json`), path.join(destDir, `${name}.json`));
  }
  fs.mkdirSync(path.join(destDir, 'test'), { recursive: true });
  for (const [file, name] of TEST_EXPORTS) {
    // forge names output folders after the source file's base name.
    const src = path.join(outDir, path.basename(file), `${name}.json`);
    exportOne(src, path.join(destDir, 'test', `${name}.json`));
  }
  // Normalized storage layouts (no AST ids, so the file only changes when a layout does).
  const layouts = {};
  for (const [file, name] of LAYOUTS) {
    const artifact = JSON.parse(fs.readFileSync(path.join(outDir, file, `${name}.json`), 'utf8'));
    const layout = artifact.storageLayout;
    if (!layout) {
      process.stderr.write(`export-artifacts: no storageLayout in ${name} (extra_output in foundry.toml?)\n`);
      process.exit(1);
    }
    layouts[name] = layout.storage.map((s) => ({
      label: s.label, slot: Number(s.slot), offset: s.offset, type: layout.types[s.type].label,
    }));
  }
  const text = '{\n' + Object.entries(layouts).map(([name, entries]) =>
    `  ${JSON.stringify(name)}: [\n` + entries.map((e) => `    ${JSON.stringify(e)}`).join(',\n') + '\n  ]',
  ).join(',\n') + '\n}\n';
  fs.writeFileSync(path.join(destDir, 'storage-layout.json'), text);
}

main();
