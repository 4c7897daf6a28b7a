#!/usr/bin/env bash
# Regenerates test/fixtures/*.json from anvil (see tools/gen-fixtures.js).
set -euo pipefail
cd "$(dirname "$0")/.."
./build.sh >/dev/null
node tools/gen-fixtures.js
