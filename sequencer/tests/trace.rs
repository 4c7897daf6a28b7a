//! `debug_traceTransaction` / `debug_traceBlockByNumber` with the call tracer, checked against an
//! independent implementation: the same transactions (a creation with value, nested CREATE and
//! CREATE2, a call with value that logs, an inner call reverting with a reason, a static call
//! that tries to log, a precompile call, a transfer to an account, a delegate call, a top-level
//! revert bubbling a reason, and a plain transfer) are sent from the same key, with the same
//! nonces and gas limits, to anvil and to a dev sequencer, and the call trees are compared field
//! by field. Skipped when anvil is not installed (run `contracts/build.sh`), except under
//! `CI=true`.
//!
//! `fixtures/TraceProbe.json` is `fixtures/TraceProbe.sol` compiled by solc-js 0.8.30 (optimizer
//! off) from `contracts/node_modules`.

use std::net::SocketAddr;

use alloy::{
    network::{EthereumWallet, TransactionBuilder},
    node_bindings::Anvil,
    primitives::{keccak256, Address, Bytes, B256, U256},
    providers::{DynProvider, Provider, ProviderBuilder},
    rpc::types::TransactionRequest,
    signers::local::PrivateKeySigner,
};
use parallax_protocol::RollupConfig;
use parallax_sequencer::{
    genesis::{dev_accounts, Genesis},
    node::{self, NodeConfig, Roles},
    origin::FixedOrigin,
};
use parallax_state::store::SqlStore;
use serde_json::{json, Value};

fn selector(signature: &str) -> Vec<u8> {
    keccak256(signature)[..4].to_vec()
}

/// The transactions of the comparison, in order, from a fresh account (nonce 0).
fn transactions() -> Vec<TransactionRequest> {
    let fixture: Value =
        serde_json::from_str(include_str!("fixtures/TraceProbe.json")).expect("fixture");
    let initcode: Bytes = serde_json::from_value(fixture["probe"].clone()).expect("bytecode");
    let sender = dev_accounts().expect("dev accounts")[0].address;
    let probe = sender.create(0);
    let eoa = Address::repeat_byte(0xe0);
    let mut run = selector("run(address)");
    run.extend_from_slice(B256::left_padding_from(eoa.as_slice()).as_slice());
    let base = || {
        TransactionRequest::default()
            .with_gas_limit(3_000_000)
            .with_max_fee_per_gas(100_000_000_000)
            .with_max_priority_fee_per_gas(1_000_000_000)
            .with_chain_id(901)
    };
    vec![
        base().with_deploy_code(initcode).with_value(U256::from(10)),
        base()
            .with_to(probe)
            .with_input(run)
            .with_value(U256::from(5)),
        base().with_to(probe).with_input(selector("boom()")),
        base().with_to(eoa).with_value(U256::from(7)),
    ]
}

/// Sends the transactions one at a time (each mined before the next) and returns their hashes.
async fn send_all(provider: &DynProvider) -> Vec<B256> {
    let mut hashes = Vec::new();
    for (nonce, request) in transactions().into_iter().enumerate() {
        let request = request.with_nonce(nonce as u64);
        let pending = provider
            .send_transaction(request)
            .await
            .expect("transaction accepted");
        let receipt = pending
            .with_timeout(Some(std::time::Duration::from_secs(120)))
            .get_receipt()
            .await
            .expect("mined");
        hashes.push(receipt.transaction_hash);
    }
    hashes
}

fn wallet_provider(url: &str) -> DynProvider {
    let account = &dev_accounts().expect("dev accounts")[0];
    let signer = PrivateKeySigner::from_bytes(&account.private_key).expect("key");
    ProviderBuilder::new()
        .wallet(EthereumWallet::from(signer))
        .connect_http(url.parse().expect("url"))
        .erased()
}

async fn trace(provider: &DynProvider, hash: B256, config: Value) -> Value {
    provider
        .raw_request("debug_traceTransaction".into(), (hash, config))
        .await
        .expect("trace")
}

/// EIP-2028 calldata gas plus the base and, for a creation, EIP-3860's init code charge.
fn intrinsic_gas(request: &TransactionRequest) -> u64 {
    let input = request.input.input().cloned().unwrap_or_default();
    let data: u64 = input.iter().map(|b| if *b == 0 { 4 } else { 16 }).sum();
    let create = request.to.is_none_or(|to| to.is_create());
    21_000
        + data
        + if create {
            32_000 + 2 * (input.len() as u64).div_ceil(32)
        } else {
            0
        }
}

/// revm's names for halts, as anvil prints them, to geth's messages.
fn rename_errors(frame: &mut Value) {
    const NAMES: &[(&str, &str)] = &[
        ("StateChangeDuringStaticCall", "write protection"),
        ("CallNotAllowedInsideStatic", "write protection"),
        ("OutOfGas", "out of gas"),
        ("InvalidJump", "invalid jump destination"),
        ("StackUnderflow", "stack underflow"),
        ("InvalidFEOpcode", "invalid opcode: INVALID"),
    ];
    if let Some(error) = frame["error"].as_str() {
        if let Some((_, geth)) = NAMES.iter().find(|(revm, _)| *revm == error) {
            frame["error"] = json!(geth);
        }
    }
    if let Some(calls) = frame["calls"].as_array_mut() {
        calls.iter_mut().for_each(rename_errors);
    }
}

/// Walks two call trees in parallel and lists every field that differs, by path.
fn differences(path: &str, ours: &Value, reference: &Value, out: &mut Vec<String>) {
    match (ours, reference) {
        (Value::Object(a), Value::Object(b)) => {
            let keys: std::collections::BTreeSet<&String> = a.keys().chain(b.keys()).collect();
            for key in keys {
                let (x, y) = (
                    a.get(key).unwrap_or(&Value::Null),
                    b.get(key).unwrap_or(&Value::Null),
                );
                differences(&format!("{path}.{key}"), x, y, out);
            }
        }
        (Value::Array(a), Value::Array(b)) if a.len() == b.len() => {
            for (index, (x, y)) in a.iter().zip(b).enumerate() {
                differences(&format!("{path}[{index}]"), x, y, out);
            }
        }
        (x, y) if x == y => {}
        (x, y) => out.push(format!("{path}: ours {x} vs anvil {y}")),
    }
}

/// Hex strings compared case-insensitively (both are hex; anvil and we may differ in case for
/// addresses — checksummed or not — which is not a difference).
fn normalize(value: &Value) -> Value {
    match value {
        Value::String(text) if text.starts_with("0x") => Value::String(text.to_lowercase()),
        Value::Object(map) => Value::Object(
            map.iter()
                .map(|(key, value)| (key.clone(), normalize(value)))
                .collect(),
        ),
        Value::Array(list) => Value::Array(list.iter().map(normalize).collect()),
        other => other.clone(),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn call_traces_match_anvil() {
    let Some(binary) = parallax_contracts::anvil_for_tests() else {
        return;
    };
    let anvil = Anvil::at(binary)
        .args(["--hardfork", "cancun", "--chain-id", "901"])
        .try_spawn()
        .expect("anvil starts");
    let reference = wallet_provider(anvil.endpoint_url().as_str());

    let dir = tempfile::tempdir().expect("temp dir");
    let url = format!("sqlite:{}", dir.path().join("chain.db").display());
    let store = SqlStore::open(&url).await.expect("store");
    let time = node::genesis_time(&store).await.expect("genesis time");
    let mut rollup = RollupConfig {
        block_time_ms: 100,
        ..Default::default()
    };
    rollup.genesis.l2_timestamp = time;
    let mut config = NodeConfig::new(&rollup, SocketAddr::from(([127, 0, 0, 1], 0)));
    config.params.threads = 2;
    let origins = Box::new(FixedOrigin::new(&config.params.rollup));
    let running = node::start(
        store,
        &Genesis::dev(time).expect("genesis"),
        config,
        Roles::sequencer(origins),
    )
    .await
    .expect("node starts");
    let ours = wallet_provider(&format!("http://{}", running.rpc_addr));

    let reference_hashes = send_all(&reference).await;
    let our_hashes = send_all(&ours).await;
    // Same key, nonces, chain id and fields: the very same signed transactions.
    assert_eq!(reference_hashes, our_hashes);

    let configs = [
        json!({"tracer": "callTracer"}),
        json!({"tracer": "callTracer", "tracerConfig": {"withLog": true}}),
        json!({"tracer": "callTracer", "tracerConfig": {"onlyTopCall": true, "withLog": true}}),
    ];
    let requests = transactions();
    let mut found = Vec::new();
    for config in &configs {
        for (hash, request) in our_hashes.iter().zip(&requests) {
            let a = normalize(&trace(&ours, *hash, config.clone()).await);
            let mut b = normalize(&trace(&reference, *hash, config.clone()).await);
            // Exception 1, the top frame's `gas`: geth's callTracer reports the transaction's
            // gas limit (`OnTxStart` sets it), which we follow; anvil (revm-inspectors)
            // reports what is left after the intrinsic gas. Checked exactly: ours is the
            // limit, anvil's the limit less the intrinsic gas.
            assert_eq!(a["gas"], json!("0x2dc6c0"), "{hash}: the gas limit");
            let intrinsic = intrinsic_gas(request);
            assert_eq!(
                b["gas"],
                json!(format!("{:#x}", 3_000_000 - intrinsic)),
                "{hash}: anvil's top gas is the limit less the intrinsic gas"
            );
            b["gas"] = a["gas"].clone();
            // Exception 2, the error of a halted frame: geth's messages (core/vm/errors.go,
            // e.g. "write protection"), which we follow; anvil prints revm's enum names.
            rename_errors(&mut b);
            // Exception 3, `position` of a log under onlyTopCall: geth records no sub-call
            // then, so every position is 0 (we follow); anvil counts the omitted sub-calls.
            if config["tracerConfig"]["onlyTopCall"] == true {
                if let Some(logs) = b["logs"].as_array_mut() {
                    for log in logs {
                        log["position"] = json!("0x0");
                    }
                }
            }
            let mut diffs = Vec::new();
            differences("", &a, &b, &mut diffs);
            for diff in diffs {
                found.push(format!("{hash} {config}: {diff}"));
            }
        }
    }
    assert!(
        found.is_empty(),
        "call traces differ from anvil's:\n{}",
        found.join("\n")
    );

    // The probe's trace has the shape the test means to cover.
    let probe = trace(&ours, our_hashes[1], configs[1].clone()).await;
    let kinds: Vec<&str> = probe["calls"]
        .as_array()
        .expect("calls")
        .iter()
        .map(|call| call["type"].as_str().unwrap_or_default())
        .collect();
    assert_eq!(
        kinds,
        [
            "CREATE",
            "CREATE2",
            "CALL",
            "CALL",
            "STATICCALL",
            "STATICCALL",
            "CALL",
            "DELEGATECALL"
        ]
    );
    assert_eq!(probe["calls"][3]["revertReason"], "child says no");
    let boom = trace(&ours, our_hashes[2], configs[0].clone()).await;
    assert_eq!(boom["error"], "execution reverted");
    assert_eq!(boom["revertReason"], "child says no");

    // A block trace lists the L1-info deposit first, then the same trees as per transaction.
    let receipt = ours
        .get_transaction_receipt(our_hashes[1])
        .await
        .unwrap()
        .expect("receipt");
    let number = receipt.block_number.expect("mined");
    let block: Value = ours
        .raw_request(
            "debug_traceBlockByNumber".into(),
            (format!("{number:#x}"), configs[1].clone()),
        )
        .await
        .expect("block trace");
    let entries = block.as_array().expect("array");
    assert_eq!(
        entries[0]["result"]["to"],
        json!(parallax_protocol::predeploys::L1_BLOCK)
    );
    let entry = entries
        .iter()
        .find(|entry| entry["txHash"] == json!(our_hashes[1]))
        .expect("the probe's entry");
    assert_eq!(entry["result"], probe);
    let by_hash: Value = ours
        .raw_request(
            "debug_traceBlockByHash".into(),
            (receipt.block_hash.expect("hash"), configs[1].clone()),
        )
        .await
        .expect("block trace by hash");
    assert_eq!(by_hash, block);

    // Anything but the call tracer is refused with a clear error.
    let refused = ours
        .raw_request::<_, Value>("debug_traceTransaction".into(), (our_hashes[1], json!({})))
        .await
        .expect_err("struct logger refused");
    assert!(
        refused.to_string().contains("unsupported tracer"),
        "{refused}"
    );
    running.stop().await.expect("stops");
}
