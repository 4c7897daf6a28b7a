#!/usr/bin/env bash
# Builds (refreshing nothing: it checks the committed artifacts) and runs every forge test.
# Extra arguments go to `forge test` (e.g. ./test.sh --match-contract Portal -vvv).
set -euo pipefail
cd "$(dirname "$0")"
./build.sh --check
. tools/env.sh
"$FORGE" test --offline --use "$SOLC" "$@"
