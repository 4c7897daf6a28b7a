#!/usr/bin/env bash
# Wallet and tool compatibility: real Ethereum clients against a real dev sequencer.
#
#   scripts/compat/run.sh                 all suites: foundry, viem, web3py
#   scripts/compat/run.sh viem web3py     only these
#
# Builds the parallax binary (`cargo build -p parallax-cli`) unless PARALLAX_BIN names one,
# starts `parallax sequencer --dev` on a free loopback port with a temporary datadir and 250 ms
# blocks, runs the suites against it (each with its own funded dev account) and always stops it.
# Installs what is missing, never globally: forge/cast/solc-js into contracts/node_modules (npm ci),
# viem into scripts/compat/js/node_modules (npm ci, lockfile), web3.py into
# scripts/compat/python/.venv (pip, pinned requirements.txt). Needs Node 20+ and Python 3.10+.
# Ends with "compat: N passed, N failed" (suites); exit status 1 if any suite failed.
set -euo pipefail
cd "$(dirname "$0")"
compat=$PWD
root=$(cd ../.. && pwd)
export CARGO_BUILD_JOBS="${CARGO_BUILD_JOBS:-2}"

all=(foundry viem web3py)
suites=("$@")
[ ${#suites[@]} -gt 0 ] || suites=("${all[@]}")
for suite in "${suites[@]}"; do
  [[ " ${all[*]} " == *" $suite "* ]] || { echo "usage: $0 [${all[*]}]..." >&2; exit 2; }
done

step() { echo "== compat: $* ($(date +%T))"; }
command -v node >/dev/null && command -v npm >/dev/null || { echo "compat: node and npm (Node 20+) are required" >&2; exit 1; }
command -v python3 >/dev/null || { echo "compat: python3 (3.10+) is required" >&2; exit 1; }

# --- tools and client libraries (cached: reinstalled only when their pins change) ----------------
. "$root/contracts/tools/env.sh"

# Runs `install` in `dir` unless `stamp` holds a copy of `pins` from the last successful install.
install_once() {
  local pins=$1 stamp=$2
  shift 2
  if [ -f "$stamp" ] && cmp -s "$pins" "$stamp"; then return; fi
  "$@"
  cp "$pins" "$stamp"
}
needs() { [[ " ${suites[*]} " == *" $1 "* ]]; }
if needs viem; then
  install_once js/package-lock.json js/node_modules/.compat-installed \
    bash -c 'cd js && npm ci --no-audit --no-fund --loglevel=error'
fi
if needs web3py; then
  install_once python/requirements.txt python/.venv/.compat-installed bash -c '
    rm -rf python/.venv && python3 -m venv python/.venv &&
    python/.venv/bin/pip install --quiet --disable-pip-version-check -r python/requirements.txt'
fi

step "forge build of the test contract (foundry/src/Counter.sol)"
(cd foundry && "$FORGE" build --offline --use "$SOLC" >/dev/null)
export COUNTER_ARTIFACT="$compat/foundry/out/Counter.sol/Counter.json"

# --- the sequencer ----------------------------------------------------------------------------
if [ -n "${PARALLAX_BIN:-}" ]; then
  bin=$PARALLAX_BIN
else
  step "cargo build -p parallax-cli"
  bin=$(cd "$root" && cargo build -p parallax-cli --bin parallax --message-format=json-render-diagnostics |
    node -e 'for (const line of require("fs").readFileSync(0, "utf8").split("\n")) {
      if (!line) continue;
      const m = JSON.parse(line);
      if (m.reason === "compiler-artifact" && m.executable && m.target.name === "parallax") console.log(m.executable);
    }')
fi
[ -x "$bin" ] || { echo "compat: no parallax binary at '$bin'" >&2; exit 1; }

port=$(node -e 'const s = require("net").createServer(); s.listen(0, "127.0.0.1", () => { console.log(s.address().port); s.close(); })')
workdir=$(mktemp -d /tmp/parallax-compat.XXXXXX)
step "starting $bin sequencer --dev on 127.0.0.1:$port"
"$bin" sequencer --dev --http-addr 127.0.0.1 --http-port "$port" --datadir "$workdir/data" \
  --block-time 250 --metrics-port 0 >"$workdir/sequencer.log" 2>&1 &
sequencer=$!
stop() {
  kill "$sequencer" 2>/dev/null || true
  wait "$sequencer" 2>/dev/null || true
  rm -rf "$workdir"
}
trap stop EXIT
trap 'exit 130' INT TERM

export PARALLAX_RPC_URL="http://127.0.0.1:$port" PARALLAX_WS_URL="ws://127.0.0.1:$port"
for _ in $(seq 100); do
  kill -0 "$sequencer" 2>/dev/null || { cat "$workdir/sequencer.log" >&2; echo "compat: the sequencer exited" >&2; exit 1; }
  [ "$("$CAST" block-number --rpc-url "$PARALLAX_RPC_URL" 2>/dev/null || echo 0)" -gt 0 ] && break
  sleep 0.1
done
[ "$("$CAST" block-number --rpc-url "$PARALLAX_RPC_URL")" -gt 0 ] || { echo "compat: no block after 10 s" >&2; exit 1; }

# --- the suites ---------------------------------------------------------------------------------
# Dev accounts 0-9 of the `test … junk` mnemonic (printed by the sequencer at start).
declare -A key=(
  [foundry]=0xac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80
  [viem]=0x59c6995e998f97a5a0044966f0945389dc9e86dae88c7a8412f4603b6b78690d
  [web3py]=0x5de4111afa1a4b94908f83103eb1f1706367c2e68ca870fc3fb9a804cdab365a
)
run_suite() {
  case "$1" in
    foundry) foundry/test.sh ;;
    viem) (cd js && node --test --test-reporter=spec viem.test.mjs) ;;
    web3py) python/.venv/bin/python python/web3_suite.py ;;
  esac
}
passed=0
failed=0
summary=()
for suite in "${suites[@]}"; do
  step "$suite"
  start=$(date +%s%N)
  if COMPAT_KEY=${key[$suite]} run_suite "$suite"; then
    result=ok
    passed=$((passed + 1))
  else
    result=FAILED
    failed=$((failed + 1))
  fi
  ms=$((($(date +%s%N) - start) / 1000000))
  summary+=("$(printf '%-8s %-6s %3d.%d s' "$suite" "$result" $((ms / 1000)) $((ms % 1000 / 100)))")
done

if [ "$failed" -gt 0 ]; then
  echo "== compat: last lines of the sequencer's log"
  tail -n 30 "$workdir/sequencer.log"
fi
echo "== compat: results"
printf '   %s\n' "${summary[@]}"
echo "compat: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
