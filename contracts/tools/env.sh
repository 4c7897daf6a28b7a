# Sourced by the scripts in contracts/: installs the pinned npm tools if they are missing and
# exports the paths of forge, cast, anvil and the solc-js wrapper.
_contracts_dir="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
if [ ! -x "$_contracts_dir/node_modules/@foundry-rs/forge-linux-amd64/bin/forge" ] \
  || [ ! -x "$_contracts_dir/node_modules/@foundry-rs/anvil-linux-amd64/bin/anvil" ] \
  || [ ! -x "$_contracts_dir/node_modules/@foundry-rs/cast-linux-amd64/bin/cast" ] \
  || [ ! -d "$_contracts_dir/node_modules/solc" ]; then
  command -v npm >/dev/null || { echo "npm is required (Node.js 20+)" >&2; exit 1; }
  (cd "$_contracts_dir" && npm ci --no-audit --no-fund --loglevel=error)
fi
export FORGE="$_contracts_dir/node_modules/@foundry-rs/forge-linux-amd64/bin/forge"
export CAST="$_contracts_dir/node_modules/@foundry-rs/cast-linux-amd64/bin/cast"
export ANVIL="$_contracts_dir/node_modules/@foundry-rs/anvil-linux-amd64/bin/anvil"
export SOLC="$_contracts_dir/tools/solc-wrapper"
# Telemetry / update checks would need the network; forge honours this.
export FOUNDRY_DISABLE_NIGHTLY_WARNING=1
unset _contracts_dir
