#!/usr/bin/env bash
# Deploys the contracts to a fresh anvil (Cancun) with script/Deploy.s.sol and deploy/devnet.json,
# then checks with cast that they are wired: roles and parameters read back, a deposit emits
# TransactionDeposited with the documented encoding, and the proposer can propose. Kills anvil
# (only the one it started) on exit.
set -euo pipefail
cd "$(dirname "$0")"
./build.sh >/dev/null
. tools/env.sh

port=$(node -e 'const s=require("net").createServer();s.listen(0,"127.0.0.1",()=>{console.log(s.address().port);s.close()})')
rpc="http://127.0.0.1:$port"
"$ANVIL" --hardfork cancun --port "$port" --silent &
anvil_pid=$!
workdir=$(mktemp -d)
cleanup() { kill "$anvil_pid" 2>/dev/null || true; wait "$anvil_pid" 2>/dev/null || true; rm -rf "$workdir"; }
trap cleanup EXIT
for _ in $(seq 100); do "$CAST" chain-id --rpc-url "$rpc" >/dev/null 2>&1 && break; sleep 0.1; done

fail() { echo "deploy-test: FAIL: $*" >&2; exit 1; }
cfg=deploy/devnet.json
jq_() { node -e 'const o=JSON.parse(require("fs").readFileSync(process.argv[1]));console.log(o[process.argv[2]])' "$1" "$2"; }
deployer=$("$CAST" rpc eth_accounts --rpc-url "$rpc" | node -e 'console.log(JSON.parse(require("fs").readFileSync(0))[0])')

mkdir -p deployments
out="deployments/deploy-test-$port.json"
DEPLOY_CONFIG=$cfg DEPLOY_OUT=$out "$FORGE" script script/Deploy.s.sol --offline --use "$SOLC" \
  --rpc-url "$rpc" --broadcast --unlocked --sender "$deployer" --slow >"$workdir/deploy.log" 2>&1 \
  || { cat "$workdir/deploy.log"; fail "forge script"; }
echo "deployed: $(cat "$out")"
config=$(jq_ "$out" systemConfig)
oracle=$(jq_ "$out" outputOracle)
portal=$(jq_ "$out" portal)
factory=$(jq_ "$out" disputeGameFactory)
verifier=$(jq_ "$out" stepVerifier)
proposer=$(jq_ "$cfg" proposer)
batcher=$(jq_ "$cfg" batcher)
admin=$(jq_ "$cfg" admin)
rm -f "$out"

call() { "$CAST" call --rpc-url "$rpc" "$@"; }
lower() { tr 'A-F' 'a-f'; }
[ "$(call "$oracle" 'proposalInterval()(uint256)')" = "$(jq_ "$cfg" proposalInterval)" ] || fail "proposalInterval"
[ "$(call "$oracle" 'challengeWindow()(uint256)')" = "$(jq_ "$cfg" challengeWindow)" ] || fail "challengeWindow"
[ "$(call "$config" 'batcher()(address)' | lower)" = "$(echo "$batcher" | lower)" ] || fail "batcher"
[ "$(call "$config" 'proposer()(address)' | lower)" = "$(echo "$proposer" | lower)" ] || fail "proposer"
[ "$(call "$portal" 'oracle()(address)' | lower)" = "$(echo "$oracle" | lower)" ] || fail "portal.oracle"
[ "$(call "$oracle" 'systemConfig()(address)' | lower)" = "$(echo "$config" | lower)" ] || fail "oracle.systemConfig"
# The upgrade key sees only the proxy's admin interface.
[ "$("$CAST" call --rpc-url "$rpc" --from "$admin" "$portal" 'admin()(address)' | lower)" = "$(echo "$admin" | lower)" ] || fail "proxy admin"
[ "$(call "$config" 'startBlock()(uint256)')" -gt 0 ] || fail "startBlock"
[ "$(call "$oracle" 'disputeGameFactory()(address)' | lower)" = "$(echo "$factory" | lower)" ] || fail "oracle.disputeGameFactory"
[ "$(call "$factory" 'oracle()(address)' | lower)" = "$(echo "$oracle" | lower)" ] || fail "factory.oracle"
[ "$(call "$factory" 'verifier()(address)' | lower)" = "$(echo "$verifier" | lower)" ] || fail "factory.verifier"
[ "$(call "$factory" 'clockSeconds()(uint64)')" = "$(jq_ "$cfg" disputeClockSeconds)" ] || fail "factory.clockSeconds"
[ "$(call "$factory" 'chainId()(uint256)')" = "$(jq_ "$cfg" l2ChainId)" ] || fail "factory.chainId"
echo "wiring ok"

# A deposit from an EOA: 1 ether minted, 0.25 ether value, 100000 gas, calldata 0xc0ffee.
user=$("$CAST" rpc eth_accounts --rpc-url "$rpc" | node -e 'console.log(JSON.parse(require("fs").readFileSync(0))[7])')
receipt=$("$CAST" send --rpc-url "$rpc" --unlocked --from "$user" --value 1ether --json "$portal" \
  'depositTransaction(address,uint256,uint64,bool,bytes)' 0x00000000000000000000000000000000000000aa 250000000000000000 100000 false 0xc0ffee)
deposit_gas=$(echo "$receipt" | node -e 'console.log(BigInt(JSON.parse(require("fs").readFileSync(0)).gasUsed).toString())')
echo "$receipt" | node -e '
  const r = JSON.parse(require("fs").readFileSync(0));
  const [portal, user] = process.argv.slice(1).map((a) => a.toLowerCase());
  const topic0 = "0xb3813568d9991fc951961fcb4c784893574240a28925604d09fc577c55bb7c32";
  const log = r.logs.find((l) => l.address.toLowerCase() === portal);
  if (!log) throw new Error("no log from the portal");
  const t = log.topics;
  if (t[0] !== topic0) throw new Error("not TransactionDeposited: " + t[0]);
  if ("0x" + t[1].slice(26) !== user) throw new Error("from is not the EOA");
  if (!t[2].endsWith("aa")) throw new Error("to");
  if (BigInt(t[3]) !== 0n) throw new Error("version");
  const data = log.data.slice(2);
  const len = parseInt(data.slice(64, 128), 16);
  const opaque = data.slice(128, 128 + 2 * len);
  const expect = (1e18).toString(16).padStart(64, "0") + (25e16).toString(16).padStart(64, "0")
    + (100000).toString(16).padStart(16, "0") + "00" + "c0ffee";
  if (opaque !== expect) throw new Error("opaqueData " + opaque + " != " + expect);
  console.log("deposit event ok: opaqueData = 0x" + opaque);
' "$portal" "$user" || fail "deposit event"
[ "$("$CAST" balance --rpc-url "$rpc" "$portal")" = "1000000000000000000" ] || fail "portal balance"

# The proposer proposes block 10 once its timestamp has passed.
"$CAST" rpc --rpc-url "$rpc" evm_increaseTime 30 >/dev/null
"$CAST" rpc --rpc-url "$rpc" evm_mine >/dev/null
next=$(call "$oracle" 'nextBlockNumber()(uint256)')
"$CAST" send --rpc-url "$rpc" --unlocked --from "$proposer" --value 1ether "$oracle" \
  'propose(uint256,bytes32)' "$next" 0x1111111111111111111111111111111111111111111111111111111111111111 >/dev/null \
  || fail "propose"
[ "$(call "$oracle" 'outputCount()(uint256)')" = "1" ] || fail "outputCount"
# Anyone else is refused.
if "$CAST" send --rpc-url "$rpc" --unlocked --from "$user" --value 1ether "$oracle" \
  'propose(uint256,bytes32)' 20 0x22 >/dev/null 2>&1; then fail "non-proposer could propose"; fi
echo "proposal ok"

# A withdrawal end to end, on chain. The same anvil stands in for L2: deploy the message passer,
# send a withdrawal, build the output root from that block (state root, the passer's storage root
# from eth_getProof, block hash), propose it, prove it with the real storage proof, wait out the
# challenge window, finalize, and check the recipient got the value.
js() { node -e "const o=JSON.parse(require('fs').readFileSync(0));const v=($1);console.log(typeof v==='object'?JSON.stringify(v):v)"; }
passer_code=$(js 'o.bytecode' <artifacts/L2ToL1MessagePasser.json)
passer=$("$CAST" send --rpc-url "$rpc" --unlocked --from "$user" --json --create "$passer_code" | js 'o.contractAddress')
recipient=0x00000000000000000000000000000000000bee77
w_value=500000000000000000
w_gas=100000
receipt=$("$CAST" send --rpc-url "$rpc" --unlocked --from "$user" --value "$w_value" --json "$passer" \
  'initiateWithdrawal(address,uint256,bytes)' "$recipient" "$w_gas" 0x)
w_nonce=$(echo "$receipt" | js 'BigInt(o.logs[0].topics[1]).toString()')
w_hash=$(echo "$receipt" | js '"0x"+o.logs[0].data.slice(2+3*64, 2+4*64)')
slot=$("$CAST" index bytes32 "$w_hash" 0)
block=$("$CAST" block --rpc-url "$rpc" latest --json)
state_root=$(echo "$block" | js 'o.stateRoot')
block_hash=$(echo "$block" | js 'o.hash')
proof=$("$CAST" proof --rpc-url "$rpc" "$passer" "$slot" --block "$(echo "$block" | js 'BigInt(o.number).toString()')")
storage_root=$(echo "$proof" | js 'o.storageHash')
storage_proof=$(echo "$proof" | js '"["+o.storageProof[0].proof.join(",")+"]"')
[ "$(echo "$proof" | js 'BigInt(o.storageProof[0].value).toString()')" = "1" ] || fail "sentMessages not set"
zero=0x0000000000000000000000000000000000000000000000000000000000000000
output_root=$("$CAST" keccak "$("$CAST" concat-hex "$zero" "$state_root" "$storage_root" "$block_hash")")
"$CAST" rpc --rpc-url "$rpc" evm_increaseTime 30 >/dev/null
"$CAST" rpc --rpc-url "$rpc" evm_mine >/dev/null
next=$(call "$oracle" 'nextBlockNumber()(uint256)')
index=$(call "$oracle" 'outputCount()(uint256)')
propose_gas=$("$CAST" send --rpc-url "$rpc" --unlocked --from "$proposer" --value 1ether --json "$oracle" \
  'propose(uint256,bytes32)' "$next" "$output_root" | js 'BigInt(o.gasUsed).toString()')
w_tuple="($w_nonce,$user,$recipient,$w_value,$w_gas,0x)"
prove_gas=$("$CAST" send --rpc-url "$rpc" --unlocked --from "$user" --json "$portal" \
  'proveWithdrawal((uint256,address,address,uint256,uint256,bytes),uint256,(bytes32,bytes32,bytes32,bytes32),bytes[])' \
  "$w_tuple" "$index" "($zero,$state_root,$storage_root,$block_hash)" "$storage_proof" | js 'BigInt(o.gasUsed).toString()') \
  || fail "proveWithdrawal"
# Too early: the window has not passed.
if "$CAST" send --rpc-url "$rpc" --unlocked --from "$user" "$portal" \
  'finalizeWithdrawal((uint256,address,address,uint256,uint256,bytes))' "$w_tuple" >/dev/null 2>&1; then
  fail "finalized before the challenge window"
fi
"$CAST" rpc --rpc-url "$rpc" evm_increaseTime "$(( $(jq_ "$cfg" challengeWindow) + 1 ))" >/dev/null
"$CAST" rpc --rpc-url "$rpc" evm_mine >/dev/null
finalize_gas=$("$CAST" send --rpc-url "$rpc" --unlocked --from "$user" --json "$portal" \
  'finalizeWithdrawal((uint256,address,address,uint256,uint256,bytes))' "$w_tuple" | js 'BigInt(o.gasUsed).toString()') \
  || fail "finalizeWithdrawal"
[ "$("$CAST" balance --rpc-url "$rpc" "$recipient")" = "$w_value" ] || fail "recipient balance"
[ "$("$CAST" balance --rpc-url "$rpc" "$portal")" = "500000000000000000" ] || fail "portal balance after withdrawal"
if "$CAST" send --rpc-url "$rpc" --unlocked --from "$user" "$portal" \
  'finalizeWithdrawal((uint256,address,address,uint256,uint256,bytes))' "$w_tuple" >/dev/null 2>&1; then
  fail "withdrawal replayed"
fi
echo "withdrawal ok ($(echo "$storage_proof" | tr -cd , | wc -c | awk '{print $1+1}')-node storage proof)"

# A dispute on chain: a new proposal is challenged (the oracle opens a game through the factory),
# the proposer defends the midpoint, the challenger disagrees, then the proposer lets its clock
# run out: the game and the oracle resolve for the challenger and the proposal is deleted.
next=$(call "$oracle" 'nextBlockNumber()(uint256)')
"$CAST" rpc --rpc-url "$rpc" evm_increaseTime "$next" >/dev/null
"$CAST" rpc --rpc-url "$rpc" evm_mine >/dev/null
index=$(call "$oracle" 'outputCount()(uint256)')
"$CAST" send --rpc-url "$rpc" --unlocked --from "$proposer" --value 1ether "$oracle" \
  'propose(uint256,bytes32)' "$next" 0x3333333333333333333333333333333333333333333333333333333333333333 >/dev/null \
  || fail "propose for the dispute"
challenge_gas=$("$CAST" send --rpc-url "$rpc" --unlocked --from "$user" --value 0.5ether --json "$oracle" \
  'challenge(uint256)' "$index" | js 'BigInt(o.gasUsed).toString()') || fail "challenge"
game=$(call "$factory" 'games(uint256)(address)' 0)
[ "$(call "$oracle" "getOutput(uint256)((bytes32,address,uint64,uint64,uint64,uint96,address,uint96,address))" "$index" | tr -d '()' | tr ',' '\n' | sed -n 7p | tr -d ' ' | lower)" = "$(echo "$game" | lower)" ] \
  || fail "the oracle records the factory's game"
[ "$(call "$game" 'turn()(address)' | lower)" = "$(echo "$proposer" | lower)" ] || fail "the defender moves first"
defend_gas=$("$CAST" send --rpc-url "$rpc" --unlocked --from "$proposer" --json "$game" \
  'defendBlock(bytes32)' 0x4444444444444444444444444444444444444444444444444444444444444444 | js 'BigInt(o.gasUsed).toString()') \
  || fail "defendBlock"
choose_gas=$("$CAST" send --rpc-url "$rpc" --unlocked --from "$user" --json "$game" 'chooseBlock(bool)' false \
  | js 'BigInt(o.gasUsed).toString()') || fail "chooseBlock"
if "$CAST" send --rpc-url "$rpc" --unlocked --from "$user" "$game" 'chooseBlock(bool)' false >/dev/null 2>&1; then
  fail "a move out of turn"
fi
"$CAST" rpc --rpc-url "$rpc" evm_increaseTime "$(( $(jq_ "$cfg" disputeClockSeconds) + 1 ))" >/dev/null
"$CAST" rpc --rpc-url "$rpc" evm_mine >/dev/null
resolve_gas=$("$CAST" send --rpc-url "$rpc" --unlocked --from "$user" --json "$game" 'resolve()' \
  | js 'BigInt(o.gasUsed).toString()') || fail "game resolve"
[ "$(call "$game" 'status()(uint8)')" = "1" ] || fail "challenger wins by timeout"
"$CAST" send --rpc-url "$rpc" --unlocked --from "$user" "$oracle" 'resolve(uint256)' "$index" >/dev/null || fail "oracle resolve"
[ "$(call "$oracle" 'outputCount()(uint256)')" = "$index" ] || fail "the lost proposal is deleted"
echo "dispute ok (game $game)"
echo "transaction gas: deposit $deposit_gas, propose $propose_gas, proveWithdrawal $prove_gas, finalizeWithdrawal $finalize_gas"
echo "dispute gas: challenge (opens the game) $challenge_gas, defendBlock $defend_gas, chooseBlock $choose_gas, resolve (timeout) $resolve_gas"
echo "deploy-test: all checks passed"
