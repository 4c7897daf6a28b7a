#!/usr/bin/env bash
# Runs every test of the project: the Solidity contracts (forge, and a deployment on anvil), the
# Rust workspace, with the chain store tested on SQLite and on a throwaway PostgreSQL server, and
# the wallet/tool compatibility suites (Foundry, viem, web3.py against a dev sequencer), then the
# user journey (scripts/journey/run.sh) on a full devnet for each DA backend.
# Installs what is missing: the pinned forge/anvil/cast/solc-js from npm (into contracts/), viem
# (into scripts/compat/js/ and scripts/journey/) and web3.py (into a venv in
# scripts/compat/python/), Debian's postgresql when no server is installed, and Debian's chromium
# (headless, for the status page screenshot in the journey) when no Chromium is. Set
# PARALLAX_TEST_POSTGRES_URL to use your own server instead, or PARALLAX_SKIP_POSTGRES=1 to test
# SQLite only.
set -euo pipefail
cd "$(dirname "$0")/.."
export CARGO_BUILD_JOBS="${CARGO_BUILD_JOBS:-2}"

command -v cargo >/dev/null || { echo "cargo is required (https://rustup.rs)" >&2; exit 1; }
command -v npm >/dev/null || { echo "node and npm (Node 20+) are required" >&2; exit 1; }

step() { echo "== $* ($(date +%T))"; }

step "contracts: forge build, fmt check, forge tests"
contracts/test.sh
step "contracts: deploy to anvil"
contracts/deploy-test.sh

pg_dir=""
if [[ -z "${PARALLAX_TEST_POSTGRES_URL:-}" && -z "${PARALLAX_SKIP_POSTGRES:-}" ]]; then
    pg_dir=$(mktemp -d /tmp/parallax-pg.XXXXXX)
    trap 'scripts/postgres-test-server.sh stop "$pg_dir"; rm -rf "$pg_dir"' EXIT
    step "starting a throwaway PostgreSQL"
    eval "$(scripts/postgres-test-server.sh start "$pg_dir")"
fi
echo "PostgreSQL for the store tests: ${PARALLAX_TEST_POSTGRES_URL:-none (SQLite only)}"

step "cargo test --workspace"
cargo test --workspace

step "compatibility: foundry, viem, web3.py against a dev sequencer"
# `cargo test --workspace` has just built the parallax binary (the cli's integration tests need
# it), so the suites use that one instead of building parallax-cli again with other features.
bin="${CARGO_TARGET_DIR:-target}/debug/parallax"
if [ -x "$bin" ]; then export PARALLAX_BIN="$(cd "$(dirname "$bin")" && pwd)/parallax"; fi
scripts/compat/run.sh

step "user journey on a devnet, once per DA backend (deposit, L2 transfers, ERC-20, withdrawal)"
scripts/journey/run.sh
step "all tests passed"
