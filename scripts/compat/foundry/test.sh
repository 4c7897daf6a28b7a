#!/usr/bin/env bash
# Foundry (the npm-pinned cast and forge, see contracts/package.json) against a running Parallax
# dev sequencer. Started by scripts/compat/run.sh, which sets:
#   PARALLAX_RPC_URL  http://host:port of the sequencer
#   COMPAT_KEY        a funded dev key (this suite's own account, so suites do not share nonces)
# Every check prints one line; the first failure stops the suite with a message and exit 1.
set -euo pipefail
cd "$(dirname "$0")"
. ../../../contracts/tools/env.sh

rpc="${PARALLAX_RPC_URL:?set by scripts/compat/run.sh}"
key="${COMPAT_KEY:?set by scripts/compat/run.sh}"
passed=0
fail() {
  echo "FAIL: $*" >&2
  echo "foundry: $passed passed, 1 failed"
  exit 1
}
ok() {
  passed=$((passed + 1))
  echo "ok   $*"
}
# Runs a cast command; on error prints what failed (cast's own message is on stderr).
c() { "$CAST" "$@" --rpc-url "$rpc" || fail "cast $*"; }
# Evaluates a JavaScript expression over the JSON document on stdin (bound to `j`).
js() { node -e 'const j = JSON.parse(require("fs").readFileSync(0, "utf8")); const v = eval(process.argv[1]); console.log(typeof v === "object" ? JSON.stringify(v) : String(v))' "$1"; }
lower() { tr 'A-F' 'a-f'; }
# A fresh address nobody has used: the address of a random key.
fresh_address() { "$CAST" wallet address --private-key "$("$CAST" keccak "compat-$1-$$-$(date +%s%N)")"; }

me=$("$CAST" wallet address --private-key "$key")

# --- chain basics ---------------------------------------------------------------------------
[ "$(c chain-id)" = 901 ] || fail "chain-id"
[[ "$(c client)" == parallax/* ]] || fail "client version: $(c client)"
gas_price=$(c gas-price)
[ "$gas_price" -gt 0 ] || fail "gas-price $gas_price"
base_fee=$(c base-fee)
[ "$base_fee" -gt 0 ] || fail "base-fee $base_fee"
ok "chain-id 901, client $(c client), gas-price $gas_price wei, base-fee $base_fee wei"

# --- transfers: EIP-1559 and legacy ---------------------------------------------------------
nonce0=$(c nonce "$me")
to=$(fresh_address 1559)
[ "$(c estimate --from "$me" "$to" --value 1ether)" = 21000 ] || fail "estimate of a transfer"
r=$(c send --private-key "$key" --json "$to" --value 1.5ether)
[ "$(echo "$r" | js j.status)" = 0x1 ] || fail "1559 transfer status: $r"
[ "$(echo "$r" | js j.type)" = 0x2 ] || fail "1559 transfer type: $r"
[ "$(c balance "$to")" = 1500000000000000000 ] || fail "balance after the 1559 transfer"
[ "$(c nonce "$me")" = $((nonce0 + 1)) ] || fail "nonce after the 1559 transfer"
tx=$(c tx "$(echo "$r" | js j.transactionHash)" --json)
[ "$(echo "$tx" | js 'BigInt(j.chainId)')" = 901 ] || fail "chainId of the signed tx: $tx"
ok "cast send (EIP-1559): type 0x2, balance, nonce $nonce0 -> $((nonce0 + 1)), estimate 21000"

to=$(fresh_address legacy)
r=$(c send --private-key "$key" --legacy --json "$to" --value 0.25ether)
[ "$(echo "$r" | js j.status)" = 0x1 ] || fail "legacy transfer status: $r"
[ "$(echo "$r" | js j.type)" = 0x0 ] || fail "legacy transfer type: $r"
[ "$(c balance "$to" --ether)" = 0.250000000000000000 ] || fail "balance after the legacy transfer: $(c balance "$to" --ether)"
[ "$(c nonce "$me")" = $((nonce0 + 2)) ] || fail "nonce after the legacy transfer"
ok "cast send --legacy: type 0x0, balance, nonce"

# --- a contract: forge create, cast call / send, receipt logs, cast logs ---------------------
created=$("$FORGE" create --offline --use "$SOLC" --rpc-url "$rpc" --private-key "$key" --broadcast --json \
  src/Counter.sol:Counter --constructor-args 5) || fail "forge create"
counter=$(echo "$created" | js j.deployedTo)
deploy_tx=$(echo "$created" | js j.transactionHash)
deploy_block=$(c receipt "$deploy_tx" blockNumber)
[ "$(c code "$counter")" != 0x ] || fail "no code at $counter"
[ "$(c call "$counter" 'count()(uint256)')" = 5 ] || fail "count() after deploy"
[ "$(c call "$counter" 'deployer()(address)')" = "$me" ] || fail "deployer()"
ok "forge create Counter(5) at $counter (block $deploy_block), cast call count() = 5"

gas=$(c estimate --from "$me" "$counter" 'add(uint256)' 3)
[ "$gas" -gt 21000 ] && [ "$gas" -lt 100000 ] || fail "estimate add(3) = $gas"
r=$(c send --private-key "$key" --json "$counter" 'add(uint256)' 3)
hash=$(echo "$r" | js j.transactionHash)
[ "$(echo "$r" | js j.status)" = 0x1 ] || fail "add(3) status: $r"
[ "$(c call "$counter" 'count()(uint256)')" = 8 ] || fail "count() after add(3)"
topic0=$("$CAST" keccak 'Incremented(address,uint256,uint256)')
logs=$(c receipt "$hash" logs --json)
[ "$(echo "$logs" | js j.length)" = 1 ] || fail "receipt logs: $logs"
[ "$(echo "$logs" | js 'j[0].address' | lower)" = "$(echo "$counter" | lower)" ] || fail "log address"
[ "$(echo "$logs" | js 'j[0].topics[0]')" = "$topic0" ] || fail "log topic0"
[ "$(echo "$logs" | js 'j[0].topics[1]')" = "$("$CAST" abi-encode 'f(address)' "$me")" ] || fail "log topic1 (indexed sender)"
decoded=$("$CAST" decode-abi 'f()(uint256,uint256)' "$(echo "$logs" | js 'j[0].data')" | tr '\n' ' ')
[ "$decoded" = "3 8 " ] || fail "log data decodes to '$decoded', want '3 8'"
[ "$(c receipt "$hash" --json | js j.status)" = 0x1 ] || fail "cast receipt status"
ok "cast estimate add(3) = $gas, cast send add(3), cast receipt logs: Incremented(by, 3, 8)"

c send --private-key "$key" --json "$counter" 'increment()' >/dev/null
found=$(c logs --json --from-block "$deploy_block" --address "$counter" \
  'Incremented(address indexed by, uint256 amount, uint256 newCount)' "$me")
[ "$(echo "$found" | js j.length)" = 2 ] || fail "cast logs by event + indexed sender: $found"
[ "$(echo "$found" | js 'j[0].transactionHash')" = "$hash" ] || fail "cast logs: first log's tx"
none=$(c logs --json --from-block "$deploy_block" --address "$counter" \
  'Incremented(address indexed by, uint256 amount, uint256 newCount)' 0x4200000000000000000000000000000000000015)
[ "$(echo "$none" | js j.length)" = 0 ] || fail "cast logs for another sender: $none"
ok "cast logs: filtered by event and indexed sender (2 logs; none for another sender)"

# A custom-error revert: cast shows the revert data (selector of Nope(uint256), argument 42).
if out=$("$CAST" call --rpc-url "$rpc" "$counter" 'fail(uint256)' 42 2>&1); then fail "fail(42) did not revert"; fi
selector=$("$CAST" sig 'Nope(uint256)')
[[ "$out" == *"execution reverted"* && "$out" == *"${selector}000000000000000000000000000000000000000000000000000000000000002a"* ]] \
  || fail "revert of fail(42): $out"
if out=$("$CAST" estimate --rpc-url "$rpc" "$counter" 'fail(uint256)' 42 2>&1); then fail "estimate of fail(42) succeeded"; fi
[[ "$out" == *"$selector"* ]] || fail "estimate revert data: $out"
ok "cast call / estimate of a revert: 'execution reverted' with Nope(42) data"

# --- state: storage and proofs --------------------------------------------------------------
[ "$(c storage "$counter" 0)" = 0x0000000000000000000000000000000000000000000000000000000000000009 ] \
  || fail "cast storage slot 0"
p=$(c proof "$counter" 0)
[ "$(echo "$p" | js j.nonce)" = 0x1 ] || fail "proof nonce: $p"
[ "$(echo "$p" | js 'j.storageProof[0].value')" = 0x9 ] || fail "proof storage value: $p"
[ "$(echo "$p" | js 'j.accountProof.length > 0 && j.storageProof[0].proof.length > 0')" = true ] || fail "empty proof"
p=$(c proof "$me")
[ "$(echo "$p" | js 'BigInt(j.balance)')" = "$(c balance "$me")" ] || fail "proof balance of $me"
[ "$(echo "$p" | js 'BigInt(j.nonce)')" = "$(c nonce "$me")" ] || fail "proof nonce of $me"
ok "cast storage, cast proof (contract with a slot, EOA balance/nonce)"

# --- blocks with the 0x7e L1-info deposit ---------------------------------------------------
block=$(c block latest --full --json)
[ "$(echo "$block" | js 'j.transactions[0].type')" = 0x7e ] || fail "first tx of a full block is not the deposit"
[ "$(echo "$block" | js 'j.transactions[0].from')" = 0xdeaddeaddeaddeaddeaddeaddeaddeaddead0001 ] || fail "deposit sender"
[ "$(echo "$block" | js 'j.transactions[0].sourceHash.length')" = 66 ] || fail "deposit sourceHash"
c block latest --full >/dev/null
deposit=$(echo "$block" | js 'j.transactions[0].hash')
[ "$(c tx "$deposit" --json | js j.type)" = 0x7e ] || fail "cast tx of the deposit"
c tx "$deposit" >/dev/null
[ "$(c receipt "$deposit" --json | js j.status)" = 0x1 ] || fail "cast receipt of the deposit"
for tag in safe finalized; do
  n=$(c block "$tag" -f number)
  [ "$n" -le "$(echo "$block" | js 'BigInt(j.number)')" ] || fail "$tag block $n is ahead of latest"
done
[ "$(c block earliest -f number)" = 0 ] || fail "earliest"
ok "cast block latest --full (json and text) with the 0x7e deposit, cast tx/receipt of it, safe/finalized/earliest"

history=$(c rpc eth_feeHistory 4 latest '[25,75]')
[ "$(echo "$history" | js 'j.baseFeePerGas.length')" = 5 ] || fail "eth_feeHistory: $history"
ok "cast rpc eth_feeHistory"

echo "foundry: $passed passed, 0 failed"
