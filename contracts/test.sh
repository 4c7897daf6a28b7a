#!/usr/bin/env bash
# Builds (refreshing nothing: it checks the committed artifacts are current), checks formatting,
# and runs every forge test.
# Extra arguments go to `forge test` (e.g. ./test.sh --match-contract Portal -vvv).
set -euo pipefail
cd "$(dirname "$0")"
./build.sh --check
. tools/env.sh
"$FORGE" fmt --check >/dev/null || { echo "test.sh: run 'forge fmt' (node_modules/@foundry-rs/forge-linux-amd64/bin/forge fmt)" >&2; exit 1; }
"$FORGE" test --offline --use "$SOLC" "$@"
