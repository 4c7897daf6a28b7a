#!/usr/bin/env bash
# Builds the contracts and exports their ABI + bytecode to artifacts/ (committed, so the Rust
# workspace can use them with alloy's `sol!` without Node).
#   ./build.sh          install the pinned tools if needed, build, refresh artifacts/
#   ./build.sh --check  build, and fail if the committed artifacts/ differ from a fresh build
# Other scripts source tools/env.sh for $FORGE, $CAST, $ANVIL and $SOLC.
set -euo pipefail
cd "$(dirname "$0")"

check=false
case "${1:-}" in
  --check) check=true ;;
  "") ;;
  *) echo "usage: $0 [--check]" >&2; exit 2 ;;
esac

. tools/env.sh

"$FORGE" build --offline --use "$SOLC"

fresh=$(mktemp -d)
trap 'rm -rf "$fresh"' EXIT
node tools/export-artifacts.js out "$fresh"
if $check; then
  if ! diff -r artifacts "$fresh" >/dev/null; then
    echo "build.sh --check: contracts/artifacts/ is out of date; run contracts/build.sh and commit it" >&2
    diff -rq artifacts "$fresh" >&2 || true
    exit 1
  fi
  echo "artifacts/ is up to date"
else
  # Only files whose content changed are rewritten: the Rust bindings (`sol!`) recompile when an
  # artifact's mtime moves, so rewriting identical files would rebuild half the workspace.
  mkdir -p artifacts
  (cd artifacts && find . -type f) | while read -r f; do
    [ -e "$fresh/$f" ] || rm -f "artifacts/$f"
  done
  (cd "$fresh" && find . -type f) | while read -r f; do
    if ! cmp -s "$fresh/$f" "artifacts/$f"; then
      mkdir -p "$(dirname "artifacts/$f")"
      cp "$fresh/$f" "artifacts/$f"
    fi
  done
  echo "artifacts/ written"
fi
