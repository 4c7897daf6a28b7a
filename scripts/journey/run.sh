#!/usr/bin/env bash
# The user journey end to end, against a real `parallax devnet` (anvil as L1, sequencer, replica,
# batcher + proposer, challenger), once per DA backend:
#
#   scripts/journey/run.sh                       every backend: calldata blobs auto celestia
#   scripts/journey/run.sh --da blobs [--da ...]  only these
#
# For each backend: starts `parallax devnet --fresh` on free loopback ports with a temporary
# datadir (250 ms L2 blocks, 1 s L1 blocks, a 10 s challenge window), waits for its devnet.json,
# then: deposits ETH on L1 through the Portal to a new account and waits for it on L2; sends cast
# transfers (EIP-1559 and legacy) from it; deploys and transfers an ERC-20 with viem (erc20.mjs);
# starts a withdrawal through the L2ToL1MessagePasser; waits until the batcher's data on L1 has
# made it safe and the replica (deriving from L1 alone) has the same block hash; checks the batches
# on L1 used the backend (with celestia: every batcher transaction is a 41-byte Celestia pointer,
# none carries frames, and each pointed-to blob is on the devnet's Celestia server, read back with
# blob.Get, holding frames); waits for the proposer's output covering it and checks the output root
# from its preimage (eth_getProof of the message passer) against the oracle, the sequencer and the
# replica; proves the withdrawal on L1, checks it cannot finalize early, waits out the challenge
# window, finalizes it and checks the recipient's L1 balance rose by exactly the amount; last,
# opens the sequencer's status page in headless Chromium (status-page.mjs) and checks what it
# rendered and a screenshot of it, kept as status-<backend>.png under $PARALLAX_SCREENSHOTS
# (default: the cargo target dir's journey/).
#
# Every check prints one line; the first failure prints the devnet logs' tails and exits 1. The
# devnet is always stopped (SIGTERM, as Ctrl-C), also on Ctrl-C of this script.
# Uses PARALLAX_BIN if set (scripts/test.sh sets it), else builds it with `cargo build -p
# parallax-cli`. Installs viem (npm ci, lockfile) into scripts/journey/node_modules and the pinned
# forge/cast/anvil/solc-js into contracts/node_modules, and Debian's chromium (root or sudo),
# when missing; PARALLAX_CHROMIUM names another Chromium. Needs Node 20+.
set -euo pipefail
cd "$(dirname "$0")"
journey=$PWD
root=$(cd ../.. && pwd)
export CARGO_BUILD_JOBS="${CARGO_BUILD_JOBS:-2}"

# The DA backends `parallax devnet --da` offers; every one is run by default.
all_backends=(calldata blobs auto celestia)
backends=()
while [ $# -gt 0 ]; do
  case "$1" in
    --da) [ $# -ge 2 ] || { echo "usage: $0 [--da BACKEND]..." >&2; exit 2; }; backends+=("$2"); shift 2 ;;
    --da=*) backends+=("${1#--da=}"); shift ;;
    *) echo "usage: $0 [--da BACKEND]...  (backends: ${all_backends[*]})" >&2; exit 2 ;;
  esac
done
[ ${#backends[@]} -gt 0 ] || backends=("${all_backends[@]}")

# Devnet timing: short enough to finish in about a minute per backend.
L2_BLOCK_MS=250
L1_BLOCK_S=1
CHALLENGE_WINDOW_S=10
# Generous limits for a loaded 2-core machine; polls stop as soon as the condition holds.
WAIT_UP_S=240
WAIT_STEP_S=180

say() { echo "== journey: $* ($(date +%T))"; }
command -v node >/dev/null && command -v npm >/dev/null || { echo "journey: node and npm (Node 20+) are required" >&2; exit 1; }

# --- tools, viem, the ERC-20 ----------------------------------------------------------------
. "$root/contracts/tools/env.sh"
if ! { [ -f node_modules/.journey-installed ] && cmp -s package-lock.json node_modules/.journey-installed; }; then
  npm ci --no-audit --no-fund --loglevel=error
  cp package-lock.json node_modules/.journey-installed
fi
"$FORGE" build --offline --use "$SOLC" >/dev/null
export TOKEN_ARTIFACT="$journey/out/JourneyToken.sol/JourneyToken.json"

# Headless Chromium for the status page check (Debian's package when none is installed).
if [ -z "${PARALLAX_CHROMIUM:-}" ] && ! command -v chromium >/dev/null && ! command -v chromium-browser >/dev/null && ! command -v google-chrome >/dev/null; then
  sudo=""
  [ "$(id -u)" -eq 0 ] || sudo=sudo
  say "installing chromium from Debian (for the status page screenshot)"
  { $sudo apt-get update -qq && DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq chromium; } >&2 \
    || { echo "journey: could not install chromium; install it or set PARALLAX_CHROMIUM" >&2; exit 1; }
fi
# Where the status page screenshots are kept for a human to look at.
screenshots="${PARALLAX_SCREENSHOTS:-${CARGO_TARGET_DIR:-$root/target}/journey}"

if [ -n "${PARALLAX_BIN:-}" ]; then
  bin=$PARALLAX_BIN
else
  say "cargo build -p parallax-cli"
  bin=$(cd "$root" && cargo build -p parallax-cli --bin parallax --message-format=json-render-diagnostics |
    node -e 'for (const line of require("fs").readFileSync(0, "utf8").split("\n")) {
      if (!line) continue;
      const m = JSON.parse(line);
      if (m.reason === "compiler-artifact" && m.executable && m.target.name === "parallax") console.log(m.executable);
    }')
fi
[ -x "$bin" ] || { echo "journey: no parallax binary at '$bin'" >&2; exit 1; }

# --- helpers ----------------------------------------------------------------------------------
workdir=""
devnet=""
stop_devnet() {
  if [ -n "$devnet" ]; then
    kill -TERM "$devnet" 2>/dev/null || true
    # The devnet stops its children (anvil, batcher, challenger) itself; give it time to.
    for _ in $(seq 150); do kill -0 "$devnet" 2>/dev/null || break; sleep 0.1; done
    kill -KILL "$devnet" 2>/dev/null || true
    wait "$devnet" 2>/dev/null || true
    devnet=""
  fi
  if [ -n "$workdir" ]; then rm -rf "$workdir"; workdir=""; fi
}
trap stop_devnet EXIT
trap 'exit 130' INT TERM

fail() {
  echo "FAIL ($da): $*" >&2
  if [ -n "$workdir" ]; then
    for log in devnet.log data/batcher.log data/challenger.log data/celestia.log data/anvil.log; do
      [ -f "$workdir/$log" ] || continue
      echo "== journey: last lines of $log" >&2
      tail -n 25 "$workdir/$log" >&2
    done
  fi
  exit 1
}
ok() { echo "ok   [$da $(($(date +%s) - started)) s] $*"; }
# Evaluates a JavaScript expression over the JSON document on stdin (bound to `j`).
js() { node -e 'const j = JSON.parse(require("fs").readFileSync(0, "utf8")); const v = eval(process.argv[1]); console.log(typeof v === "object" ? JSON.stringify(v) : String(v))' "$1"; }
lower() { tr 'A-F' 'a-f'; }
# cast against L1 / the sequencer / the replica; a failure stops the journey.
l1() { "$CAST" "$@" --rpc-url "$L1_RPC" || fail "cast $* (L1)"; }
l2() { "$CAST" "$@" --rpc-url "$L2_RPC" || fail "cast $* (L2)"; }
replica() { "$CAST" "$@" --rpc-url "$REPLICA_RPC" || fail "cast $* (replica)"; }
# Polls `condition` (a shell command) every 0.5 s for up to `seconds`; fails with `what`.
wait_for() {
  local seconds=$1 what=$2
  shift 2
  local deadline=$(($(date +%s) + seconds))
  until "$@"; do
    kill -0 "$devnet" 2>/dev/null || fail "the devnet exited while waiting for $what"
    [ "$(date +%s)" -lt "$deadline" ] || fail "no $what after $seconds s"
    sleep 0.5
  done
}
new_key() { "$CAST" keccak "journey-$1-$$-$(date +%s%N)"; }
safe_head() { "$CAST" rpc rollup_syncStatus --rpc-url "$1" | js 'Number(j.safe_l2.number)'; }

free_ports() {
  node -e '
    const net = require("net");
    const servers = Array.from({ length: Number(process.argv[1]) }, () => net.createServer());
    Promise.all(servers.map((s) => new Promise((ok) => s.listen(0, "127.0.0.1", () => ok(s.address().port)))))
      .then((ports) => { console.log(ports.join(" ")); servers.forEach((s) => s.close()); });
  ' "$1"
}

# --- one journey ------------------------------------------------------------------------------
journey() {
  da=$1
  started=$(date +%s)
  workdir=$(mktemp -d /tmp/parallax-journey.XXXXXX)
  read -r p_l1 p_l2 p_replica p_metrics p_batcher p_challenger p_celestia <<<"$(free_ports 7)"
  say "$da: starting $bin devnet --da $da (L1 :$p_l1, L2 :$p_l2, replica :$p_replica)"
  "$bin" devnet --fresh --datadir "$workdir/data" --anvil "$ANVIL" --da "$da" \
    --l1-port "$p_l1" --l2-port "$p_l2" --replica-port "$p_replica" --metrics-port "$p_metrics" \
    --batcher-metrics-port "$p_batcher" --challenger-metrics-port "$p_challenger" \
    --celestia-port "$p_celestia" \
    --block-time "$L2_BLOCK_MS" --l1-block-time "$L1_BLOCK_S" --challenge-window "$CHALLENGE_WINDOW_S" \
    >"$workdir/devnet.log" 2>&1 &
  devnet=$!
  info="$workdir/data/devnet.json"
  devnet_json_ready() { [ -s "$info" ] && node -e 'JSON.parse(require("fs").readFileSync(process.argv[1]))' "$info" 2>/dev/null; }
  wait_for "$WAIT_UP_S" "devnet.json" devnet_json_ready
  get() { js "$1" <"$info"; }
  L1_RPC=$(get j.l1Rpc)
  L2_RPC=$(get j.l2Rpc)
  REPLICA_RPC=$(get j.replicaRpc)
  portal=$(get j.contracts.Portal)
  oracle=$(get j.contracts.OutputOracle)
  inbox=$(get j.contracts.BatchInbox)
  [ "$(get j.da)" = "$da" ] || fail "devnet.json says da $(get j.da)"
  [ "$(l1 call "$oracle" 'challengeWindow()(uint256)')" = "$CHALLENGE_WINDOW_S" ] || fail "challenge window"
  ok "devnet up: devnet.json read (Portal $portal, OutputOracle $oracle), challenge window ${CHALLENGE_WINDOW_S} s"

  # Dev account 7 has ETH on L1 (0, 3, 4 and 6 deploy, batch, propose and challenge). Alice is
  # new: her L2 ETH comes from the deposit. Bob receives on L2; Carol receives the withdrawal on L1.
  user_key=$(get 'j.accounts[7].privateKey')
  user=$(get 'j.accounts[7].address')
  alice_key=$(new_key alice)
  alice=$("$CAST" wallet address --private-key "$alice_key")
  bob=$("$CAST" wallet address --private-key "$(new_key bob)")
  carol=$("$CAST" wallet address --private-key "$(new_key carol)")

  # 1. Deposit: 2 ETH locked in the Portal on L1, minted to the user's L2 account and sent on to
  #    Alice by the deposit transaction derivation puts in the L2 block of that L1 block's epoch.
  deposit=2000000000000000000
  portal_before=$(l1 balance "$portal")
  r=$(l1 send --private-key "$user_key" --json --value "$deposit" "$portal" \
    'depositTransaction(address,uint256,uint64,bool,bytes)' "$alice" "$deposit" 100000 false 0x)
  [ "$(echo "$r" | js j.status)" = 0x1 ] || fail "deposit reverted: $r"
  portal_after=$(l1 balance "$portal")
  [ "$(node -e 'console.log(String(BigInt(process.argv[1]) - BigInt(process.argv[2])))' "$portal_after" "$portal_before")" = "$deposit" ] \
    || fail "the Portal's balance went from $portal_before to $portal_after, not up by $deposit"
  alice_funded() { [ "$("$CAST" balance --rpc-url "$L2_RPC" "$alice")" = "$deposit" ]; }
  wait_for "$WAIT_STEP_S" "deposit on L2" alice_funded
  ok "deposit of 2 ETH through the Portal (L1 block $(echo "$r" | js 'BigInt(j.blockNumber)')): Alice has exactly 2 ETH on L2"

  # 2. Transfers with cast: EIP-1559 and legacy; balances, nonce, and fees paid by the sender.
  r=$(l2 send --private-key "$alice_key" --json "$bob" --value 0.25ether)
  [ "$(echo "$r" | js j.status)" = 0x1 ] && [ "$(echo "$r" | js j.type)" = 0x2 ] || fail "EIP-1559 transfer: $r"
  fee1=$(echo "$r" | js 'BigInt(j.gasUsed) * BigInt(j.effectiveGasPrice)')
  r=$(l2 send --private-key "$alice_key" --json --legacy "$bob" --value 0.5ether)
  [ "$(echo "$r" | js j.status)" = 0x1 ] && [ "$(echo "$r" | js j.type)" = 0x0 ] || fail "legacy transfer: $r"
  fee2=$(echo "$r" | js 'BigInt(j.gasUsed) * BigInt(j.effectiveGasPrice)')
  [ "$(l2 balance "$bob")" = 750000000000000000 ] || fail "Bob's L2 balance $(l2 balance "$bob")"
  [ "$(l2 nonce "$alice")" = 2 ] || fail "Alice's nonce"
  # What Alice paid beyond value and execution gas is the L1 data fee: positive and small.
  l1_fees=$(node -e 'console.log(String(BigInt(process.argv[1]) - 750000000000000000n - BigInt(process.argv[2]) - BigInt(process.argv[3]) - BigInt(process.argv[4])))' \
    "$deposit" "$(l2 balance "$alice")" "$fee1" "$fee2")
  node -e 'const f = BigInt(process.argv[1]); process.exit(f > 0n && f < 10n ** 15n ? 0 : 1)' "$l1_fees" \
    || fail "L1 data fees of the two transfers: $l1_fees wei"
  ok "cast send (EIP-1559 and legacy): Bob has 0.75 ETH, Alice paid gas + $l1_fees wei of L1 data fees"

  # 3. An ERC-20 with viem: deploy, transfer, receipts, events, balances.
  out=$(cd "$journey" && L2_RPC=$L2_RPC KEY=$alice_key TO=$bob node erc20.mjs 2>&1) || { echo "$out"; fail "erc20.mjs (viem)"; }
  echo "$out" | grep '^ok' | sed "s/^ok   /ok   [$da $(($(date +%s) - started)) s] viem: /"
  token=$(echo "$out" | sed -n 's/^token //p')
  [ "$(l2 call "$token" 'balanceOf(address)(uint256)' "$bob" | cut -d' ' -f1)" = 1234500000000000000000 ] || fail "cast reads Bob's JRN balance"
  ok "cast call agrees: Bob holds 1234.5 JRN of $token"

  # 4. A withdrawal of 0.5 ETH to Carol on L1, started on L2 through the message passer.
  passer=0x4200000000000000000000000000000000000016
  amount=500000000000000000
  w_gas=100000
  r=$(l2 send --private-key "$alice_key" --json --value "$amount" "$passer" \
    'initiateWithdrawal(address,uint256,bytes)' "$carol" "$w_gas" 0x)
  [ "$(echo "$r" | js j.status)" = 0x1 ] || fail "initiateWithdrawal: $r"
  w_block=$(echo "$r" | js 'BigInt(j.blockNumber)')
  topic=$("$CAST" keccak 'MessagePassed(uint256,address,address,uint256,uint256,bytes,bytes32)')
  log=$(echo "$r" | js "j.logs.find((l) => l.topics[0] === '$topic')")
  [ "$log" != undefined ] || fail "no MessagePassed event: $r"
  w_nonce=$(echo "$log" | js 'BigInt(j.topics[1])')
  w_hash=$(echo "$log" | js '"0x" + j.data.slice(2 + 3 * 64, 2 + 4 * 64)')
  [ "$(l2 call "$passer" 'sentMessages(bytes32)(bool)' "$w_hash")" = true ] || fail "sentMessages[$w_hash]"
  w_tuple="($w_nonce,$alice,$carol,$amount,$w_gas,0x)"
  [ "$("$CAST" keccak "$("$CAST" abi-encode 'f(uint256,address,address,uint256,uint256,bytes)' "$w_nonce" "$alice" "$carol" "$amount" "$w_gas" 0x)")" = "$w_hash" ] \
    || fail "withdrawal hash is not keccak256(abi.encode(nonce, sender, target, value, gasLimit, data))"
  ok "withdrawal of 0.5 ETH to Carol started in L2 block $w_block (nonce $w_nonce, hash $w_hash)"

  # 5. Batches on L1: the sequencer's safe head (derived from L1) covers the withdrawal, and the
  #    replica, which reads nothing but L1, built the same block.
  covered() { [ "$(safe_head "$L2_RPC")" -ge "$w_block" ] && [ "$(safe_head "$REPLICA_RPC")" -ge "$w_block" ]; }
  wait_for "$WAIT_STEP_S" "safe head at L2 block $w_block" covered
  seq_hash=$(l2 block "$w_block" -f hash)
  [ "$(replica block "$w_block" -f hash)" = "$seq_hash" ] || fail "replica's block $w_block differs from the sequencer's"
  [ "$(replica balance "$bob")" = 750000000000000000 ] || fail "the replica's Bob balance"
  [ "$(replica call "$passer" 'sentMessages(bytes32)(bool)' "$w_hash")" = true ] || fail "the replica's sentMessages"
  ok "safe head $(safe_head "$L2_RPC") >= $w_block on both; replica block $w_block = sequencer's ($seq_hash)"
  # The batcher's transactions to the inbox, by kind: what the backend posted. Calldata is
  # either frames (version byte 0x00) or a Celestia pointer (0x01 ‖ height:u64 ‖ commitment:32).
  posts=$(node -e '
    const [rpc, inbox] = process.argv.slice(1);
    const call = async (method, params) => {
      const res = await fetch(rpc, { method: "POST", headers: { "content-type": "application/json" },
        body: JSON.stringify({ jsonrpc: "2.0", id: 1, method, params }) });
      const body = await res.json();
      if (body.error) throw new Error(method + ": " + JSON.stringify(body.error));
      return body.result;
    };
    (async () => {
      const head = Number(await call("eth_blockNumber", []));
      const out = { calldata: 0, frames: 0, pointers: [], other: 0, blobs: 0, blobCount: 0 };
      for (let n = 0; n <= head; n++) {
        const block = await call("eth_getBlockByNumber", ["0x" + n.toString(16), true]);
        for (const tx of block.transactions) {
          if (!tx.to || tx.to.toLowerCase() !== inbox.toLowerCase()) continue;
          if (tx.type === "0x3") { out.blobs++; out.blobCount += tx.blobVersionedHashes.length; continue; }
          out.calldata++;
          const data = Buffer.from(tx.input.slice(2), "hex");
          if (data[0] === 0) out.frames++;
          else if (data[0] === 1 && data.length === 41)
            out.pointers.push({ height: Number(data.readBigUInt64BE(1)), commitment: data.subarray(9).toString("base64") });
          else out.other++;
        }
      }
      console.log(JSON.stringify(out));
    })().catch((e) => { console.error(e); process.exit(1); });
  ' "$L1_RPC" "$inbox") || fail "reading the batch inbox on L1"
  calldata_posts=$(echo "$posts" | js j.calldata)
  blob_posts=$(echo "$posts" | js j.blobs)
  blob_count=$(echo "$posts" | js j.blobCount)
  frame_posts=$(echo "$posts" | js j.frames)
  pointer_posts=$(echo "$posts" | js j.pointers.length)
  case "$da" in
    calldata) [ "$frame_posts" -gt 0 ] && [ "$frame_posts" = "$calldata_posts" ] && [ "$blob_posts" = 0 ] || fail "calldata backend posted: $posts" ;;
    blobs) [ "$blob_posts" -gt 0 ] && [ "$calldata_posts" = 0 ] || fail "blobs backend posted: $posts" ;;
    celestia) [ "$pointer_posts" -gt 0 ] && [ "$pointer_posts" = "$calldata_posts" ] && [ "$blob_posts" = 0 ] \
      || fail "celestia backend posted other than Celestia pointers: $posts" ;;
    *) [ $((calldata_posts + blob_posts)) -gt 0 ] || fail "$da backend posted nothing" ;;
  esac
  if [ "$da" = celestia ]; then
    # Every pointer resolves on the devnet's Celestia server (blob.Get in the rollup's
    # namespace, with the devnet's auth token) to a blob of frames with that commitment.
    fetched=$(node -e '
      const [rpc, tokenFile, namespaceHex, posts] = process.argv.slice(1);
      const token = require("fs").readFileSync(tokenFile, "utf8").trim();
      const namespace = Buffer.from(namespaceHex.replace(/^0x/, ""), "hex").toString("base64");
      (async () => {
        let bytes = 0;
        for (const { height, commitment } of JSON.parse(posts).pointers) {
          const res = await fetch(rpc, { method: "POST",
            headers: { "content-type": "application/json", authorization: "Bearer " + token },
            body: JSON.stringify({ jsonrpc: "2.0", id: 1, method: "blob.Get", params: [height, namespace, commitment] }) });
          const body = await res.json();
          if (body.error) throw new Error(`blob.Get at height ${height}: ${JSON.stringify(body.error)}`);
          const blob = body.result, data = Buffer.from(blob.data, "base64");
          if (blob.commitment !== commitment || blob.namespace !== namespace)
            throw new Error(`blob at height ${height} is not the pointed-to one: ${JSON.stringify(blob).slice(0, 200)}`);
          if (data.length < 2 || data[0] !== 0) throw new Error(`blob at height ${height} holds no frames`);
          bytes += data.length;
        }
        console.log(bytes);
      })().catch((e) => { console.error(e.message); process.exit(1); });
    ' "$(get j.celestiaRpc)" "$workdir/data/celestia.token" "$(get j.celestiaNamespace)" "$posts" 2>&1) \
      || fail "Celestia pointers: $fetched"
    ok "batches on L1 (BatchInbox $inbox): $pointer_posts Celestia pointers, no frames and no blobs on L1; blob.Get returns all $pointer_posts blobs of frames ($fetched bytes) from $(get j.celestiaRpc)"
  else
    ok "batches on L1 (BatchInbox $inbox): $calldata_posts calldata transactions, $blob_posts blob transactions ($blob_count blobs)"
  fi

  # 6. The proposer's output covering the withdrawal block, checked from its preimage.
  proposed() { [ "$("$CAST" call --rpc-url "$L1_RPC" "$oracle" 'latestBlockNumber()(uint256)' | cut -d' ' -f1)" -ge "$w_block" ]; }
  wait_for "$WAIT_STEP_S" "output proposal covering L2 block $w_block" proposed
  count=$(l1 call "$oracle" 'outputCount()(uint256)' | cut -d' ' -f1)
  index=""
  for ((i = count - 1; i >= 0; i--)); do
    # Proposal = (outputRoot, proposer, l2BlockNumber, ...): all static, so word 3 of the ABI.
    raw=$(l1 call "$oracle" 'getOutput(uint256)' "$i")
    b=$(node -e 'console.log(String(BigInt("0x" + process.argv[1].slice(2 + 128, 2 + 192))))' "$raw")
    [ "$b" -ge "$w_block" ] || break
    index=$i
    out_block=$b
  done
  [ -n "$index" ] || fail "no proposal at or after block $w_block among $count"
  out_root=$(l1 call "$oracle" 'outputRootAt(uint256)(bytes32)' "$index")
  block=$(l2 block "$out_block" --json)
  state_root=$(echo "$block" | js j.stateRoot)
  block_hash=$(echo "$block" | js j.hash)
  slot=$("$CAST" index bytes32 "$w_hash" 0)
  proof=$(l2 proof "$passer" "$slot" --block "$out_block")
  storage_root=$(echo "$proof" | js j.storageHash)
  storage_proof=$(echo "$proof" | js '"[" + j.storageProof[0].proof.join(",") + "]"')
  [ "$(echo "$proof" | js 'BigInt(j.storageProof[0].value)')" = 1 ] || fail "the proof does not show sentMessages = 1"
  zero=0x0000000000000000000000000000000000000000000000000000000000000000
  root=$("$CAST" keccak "$("$CAST" concat-hex "$zero" "$state_root" "$storage_root" "$block_hash")")
  [ "$root" = "$out_root" ] || fail "keccak(0 ‖ stateRoot ‖ passer storage root ‖ block hash) = $root, the oracle has $out_root"
  [ "$(l2 rpc rollup_outputAtBlock "$(printf '0x%x' "$out_block")" | js j.outputRoot)" = "$root" ] || fail "rollup_outputAtBlock disagrees"
  [ "$(replica proof "$passer" "$slot" --block "$out_block" | js j.storageHash)" = "$storage_root" ] || fail "the replica's message passer storage root"
  [ "$(replica block "$out_block" -f hash)" = "$block_hash" ] || fail "the replica's block $out_block"
  ok "output $index (L2 block $out_block) = keccak of its preimage from eth_getProof; sequencer, replica and oracle agree"

  # 7. Prove on L1 (anyone may: the user pays), then finalize after the challenge window.
  carol_before=$(l1 balance "$carol")
  r=$(l1 send --private-key "$user_key" --json "$portal" \
    'proveWithdrawal((uint256,address,address,uint256,uint256,bytes),uint256,(bytes32,bytes32,bytes32,bytes32),bytes[])' \
    "$w_tuple" "$index" "($zero,$state_root,$storage_root,$block_hash)" "$storage_proof")
  [ "$(echo "$r" | js j.status)" = 0x1 ] || fail "proveWithdrawal: $r"
  proven_topic=$("$CAST" keccak 'WithdrawalProven(bytes32,address,address,uint256)')
  [ "$(echo "$r" | js "j.logs.filter((l) => l.topics[0] === '$proven_topic' && l.topics[1] === '$w_hash').length")" = 1 ] \
    || fail "no WithdrawalProven event"
  ok "proveWithdrawal against output $index with a $(echo "$proof" | js 'j.storageProof[0].proof.length')-node storage proof (gas $(echo "$r" | js 'BigInt(j.gasUsed)'))"
  finalize_sig='finalizeWithdrawal((uint256,address,address,uint256,uint256,bytes))'
  if early=$("$CAST" call --rpc-url "$L1_RPC" --from "$user" "$portal" "$finalize_sig" "$w_tuple" 2>&1); then
    fail "finalizeWithdrawal succeeded inside the challenge window"
  fi
  [[ "$early" == *"$("$CAST" sig 'ProofNotMatured(uint256)')"* || "$early" == *"$("$CAST" sig 'OutputNotFinalized(uint256)')"* ]] \
    || fail "early finalize failed for another reason: $early"
  ok "finalizing early is refused (proof not matured)"
  waited_from=$(date +%s)
  finalizable() { "$CAST" call --rpc-url "$L1_RPC" --from "$user" "$portal" "$finalize_sig" "$w_tuple" >/dev/null 2>&1; }
  wait_for "$WAIT_STEP_S" "the end of the challenge window" finalizable
  r=$(l1 send --private-key "$user_key" --json "$portal" "$finalize_sig" "$w_tuple")
  [ "$(echo "$r" | js j.status)" = 0x1 ] || fail "finalizeWithdrawal: $r"
  [ "$(l1 call "$portal" 'finalizedWithdrawals(bytes32)(bool)' "$w_hash")" = true ] || fail "finalizedWithdrawals"
  carol_after=$(l1 balance "$carol")
  [ "$(node -e 'console.log(String(BigInt(process.argv[1]) - BigInt(process.argv[2])))' "$carol_after" "$carol_before")" = "$amount" ] \
    || fail "Carol's L1 balance went from $carol_before to $carol_after, not up by $amount"
  if "$CAST" send --rpc-url "$L1_RPC" --private-key "$user_key" "$portal" "$finalize_sig" "$w_tuple" >/dev/null 2>&1; then
    fail "the withdrawal was finalized twice"
  fi
  ok "finalized after $(($(date +%s) - waited_from)) s of waiting: Carol's L1 balance rose by exactly 0.5 ETH; a replay is refused"

  # 8. The operator's status page in headless Chromium: the rendered heads, batches (on this
  #    backend) and proposals, and a screenshot whose pixels show every table drawn and styled.
  shot="$screenshots/status-$da.png"
  out=$(node "$journey/status-page.mjs" "$(get j.status)" "$da" "$w_block" "$shot" 2>&1) || { echo "$out"; fail "status page"; }
  echo "$out" | sed "s/^ok   /ok   [$da $(($(date +%s) - started)) s] /"

  stop_devnet
  say "$da: journey passed in $(($(date +%s) - started)) s"
  timings+=("$(printf '%-9s %4d s' "$da" $(($(date +%s) - started)))")
}

timings=()
for da in "${backends[@]}"; do
  journey "$da"
done
echo "== journey: results"
printf '   %s\n' "${timings[@]}"
echo "journey: ${#backends[@]} backends passed"
