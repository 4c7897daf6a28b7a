//! `auto` DA against real L1 fee changes: the batcher runs [`AutoDa`] on anvil while the test
//! moves L1's prices, and every decision is read back from L1 (the type of each inbox
//! transaction) and from the inputs `auto` was given.
//!
//! # Moving L1's prices on anvil
//! - Base fee: `anvil_setNextBlockBaseFeePerGas`, then `anvil_mine` so the block with that base
//!   fee is the latest one (the tx manager prices from the latest block).
//! - Blob base fee: anvil has no setter (no `anvil_set…BlobBaseFee`); it derives it from the
//!   blocks' excess blob gas, which only blob-carrying blocks move. Starting from the minimum
//!   (1 wei) it would take ~170 six-blob blocks to reach gwei prices, so anvil starts from a
//!   genesis (`--init`) whose `excessBlobGas` puts the blob base fee at 50,000 gwei. anvil 1.7.1
//!   then kept it there while no blobs were posted and raised it ≈1.3% per one-blob block; the
//!   test does not depend on that: it reads the blob base fee before every decision and sets
//!   the base fee relative to it. The absolute prices are extreme (base fees of thousands of
//!   gwei, hence the raised fee caps); only the ratio of the two costs matters to `auto`.
//! - The tip (`eth_maxPriorityFeePerGas`) is anvil's fixed 1 gwei.
//!
//! # Rounds
//! Each round is one `auto` decision with known inputs: with sequencing stopped on the admin
//! port, an L2 transaction with 6 KB of random calldata is pooled, sequencing runs until it is
//! included and stops again; the test computes the channel size `auto` will be asked about (as
//! the batcher estimates it), picks the base fee that puts `blob cost / calldata cost` at the
//! round's target, mines, and steps the batcher once. Phases: cheap L1 (calldata), the base fee
//! raised (blobs, after the policy's three consecutive decisions), base fee oscillating around
//! the break-even with each side cheaper by more than the margin but never three times in a
//! row (no switch), and fees down again (calldata). Afterwards the inbox decodes to every block
//! exactly once and a replica deriving from L1 alone rebuilds the chain hash for hash.

mod common;

use std::{
    sync::{Arc, Mutex},
    time::{Duration, Instant},
};

use alloy::{
    eips::{eip4844::calc_blob_gasprice, BlockNumberOrTag},
    primitives::U256,
    providers::Provider,
};
use common::{
    admin_call, admin_config, decode_batches, read_inbox, send_raw, signed_l2_tx, txmgr_config,
    wait_until, L1, L2,
};
use parallax_batcher::{
    da::{AutoDa, AutoPolicy, BlobDa, CalldataDa, DaBackend, DaClient, DaPlan},
    txmgr::TxCandidate,
    Batcher, BatcherConfig, Error, L1Fees, Metrics, TxManagerConfig,
};
use parallax_protocol::{batch::Batch, frame::Frame};
use parallax_sequencer::rpc::admin::JwtSecret;
use parallax_state::store::{ChainStore, HeadKind, SqlStore};
use serde_json::json;

/// One decision as `auto` saw it.
#[derive(Clone, Copy, Debug)]
struct Decision {
    fees: L1Fees,
    channel_bytes: usize,
    backend: DaBackend,
}

/// `auto`, recording every decision.
struct Recording {
    inner: AutoDa,
    log: Arc<Mutex<Vec<Decision>>>,
}

impl DaClient for Recording {
    fn plan(&self, fees: &L1Fees, channel_bytes: usize) -> DaPlan {
        let plan = self.inner.plan(fees, channel_bytes);
        self.log.lock().expect("log").push(Decision {
            fees: *fees,
            channel_bytes,
            backend: plan.backend,
        });
        plan
    }

    async fn candidate(&self, plan: &DaPlan, frames: &[Frame]) -> Result<TxCandidate, Error> {
        self.inner.candidate(plan, frames).await
    }
}

/// Excess blob gas giving a blob base fee of about `wei` (EIP-4844's exponential).
fn excess_for(wei: u128) -> u64 {
    let (mut low, mut high) = (0u64, 1u64 << 40);
    while low < high {
        let middle = low + (high - low) / 2;
        if calc_blob_gasprice(middle) < wei {
            low = middle + 1;
        } else {
            high = middle;
        }
    }
    low
}

/// A Cancun genesis for anvil's `--init` with the blob base fee at about `blob_fee` wei.
fn genesis_file(dir: &std::path::Path, blob_fee: u128) -> std::path::PathBuf {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .expect("clock")
        .as_secs();
    let genesis = json!({
        "config": {
            "chainId": 31337, "homesteadBlock": 0, "eip150Block": 0, "eip155Block": 0,
            "eip158Block": 0, "byzantiumBlock": 0, "constantinopleBlock": 0,
            "petersburgBlock": 0, "istanbulBlock": 0, "berlinBlock": 0, "londonBlock": 0,
            "shanghaiTime": 0, "cancunTime": 0, "terminalTotalDifficulty": 0,
            "terminalTotalDifficultyPassed": true
        },
        "nonce": "0x0", "timestamp": format!("{now:#x}"), "extraData": "0x",
        "gasLimit": "0x1c9c380", "difficulty": "0x0", "coinbase": format!("{:#x}", alloy::primitives::Address::ZERO),
        "mixHash": format!("{:#x}", alloy::primitives::B256::ZERO),
        "baseFeePerGas": "0x3b9aca00",
        "excessBlobGas": format!("{:#x}", excess_for(blob_fee)), "blobGasUsed": "0x0",
        "alloc": {}
    });
    let path = dir.join("genesis.json");
    std::fs::write(&path, genesis.to_string()).expect("genesis written");
    path
}

/// What the test wants a decision to see: `blob cost / calldata cost`.
#[derive(Clone, Copy, Debug, PartialEq)]
enum Target {
    /// Calldata cheaper by well over the margin (ratio ≈ 2).
    Calldata,
    /// Blobs cheaper by well over the margin (ratio ≈ 0.5).
    Blobs,
    /// Within the margin either way (ratio ≈ 1).
    Even,
}

impl Target {
    fn ratio(self) -> f64 {
        match self {
            Self::Calldata => 2.0,
            Self::Blobs => 0.5,
            Self::Even => 1.0,
        }
    }

    /// Whether a decision at `ratio` is what this target meant (margins of the 20% policy).
    fn accepts(self, ratio: f64) -> bool {
        match self {
            Self::Calldata => ratio >= 1.4,
            Self::Blobs => ratio <= 0.7,
            Self::Even => (0.85..=1.15).contains(&ratio),
        }
    }
}

/// The cost ratio `auto` computes for a channel of `bytes` at `fees`.
fn cost_ratio(policy: &AutoPolicy, fees: &L1Fees, bytes: usize) -> f64 {
    policy.costs.blob_cost(fees, bytes) as f64 / policy.costs.calldata_cost(fees, bytes) as f64
}

/// The L1 prices the tx manager reads: the latest base fee, the node's tip, the blob base fee.
async fn l1_fees(l1: &L1) -> L1Fees {
    let latest = l1
        .provider
        .get_block_by_number(BlockNumberOrTag::Latest)
        .await
        .expect("block")
        .expect("latest");
    L1Fees {
        base_fee: u128::from(latest.header.base_fee_per_gas.expect("London")),
        priority_fee: l1
            .provider
            .get_max_priority_fee_per_gas()
            .await
            .expect("tip"),
        blob_base_fee: l1.provider.get_blob_base_fee().await.expect("blob fee"),
    }
}

/// The channel size the batcher will price for its next channel: the first unposted block's
/// batch size times the blocks up to the head, over the compression ratio so far (its estimate
/// in `open_channel`), clamped as `auto` clamps it.
async fn expected_channel_bytes(
    store: &SqlStore,
    rollup: &parallax_protocol::RollupConfig,
    first: u64,
    head: u64,
    metrics: &Metrics,
) -> usize {
    let block = store.block(first).await.expect("read").expect("block");
    let batch = Batch::from_block(
        block.header.parent_hash,
        block.l1_origin,
        rollup.l2_timestamp_ms(first).expect("scheduled"),
        block.transactions.iter().map(|tx| &tx.raw),
    );
    let ratio = metrics.compression_ratio().max(1.0);
    let expected = (batch.encoded_len() as f64 * (head - first + 1) as f64 / ratio) as usize;
    expected.clamp(
        1,
        BlobDa::new(rollup.batch_inbox_address)
            .fixed_plan()
            .channel_target(),
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn auto_switches_once_when_l1_fees_rise_and_does_not_flap_when_they_oscillate() {
    let _ = tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::from_default_env())
        .with_test_writer()
        .try_init();
    let started = Instant::now();
    let dir = tempfile::tempdir().expect("temp dir");
    // 50,000 gwei at genesis: even if it decayed by EIP-4844's ×0.89 per blob-less block over
    // the deployment and every round's blocks, it would still be tens of gwei at the end, so
    // every target ratio stays reachable with the fixed 1 gwei tip.
    let genesis = genesis_file(dir.path(), 50_000_000_000_000);
    let genesis = genesis.to_str().expect("utf-8 path");
    let Some(l1) = L1::start_with(&["--init", genesis]).await else {
        return;
    };
    let rollup = l1.rollup();
    let secret = JwtSecret::from_bytes([0x17; 32]);
    let mut sequencer = L2::sequencer_configured(&l1, |config| {
        config.admin = Some(admin_config(&secret));
    })
    .await;
    let admin = sequencer
        .running
        .as_ref()
        .and_then(|running| running.admin_addr)
        .expect("admin port");

    let policy = AutoPolicy::default();
    let log = Arc::new(Mutex::new(Vec::new()));
    let inbox = rollup.batch_inbox_address;
    let metrics = Arc::new(Metrics::default());
    // Fee caps far above the default 2,000 gwei: the test's prices are extreme on purpose.
    let txmgr = l1
        .txmgr(
            sequencer.store.clone(),
            l1.batcher_key(),
            TxManagerConfig {
                max_fee_per_gas: 10u128.pow(24),
                max_fee_per_blob_gas: 10u128.pow(24),
                ..txmgr_config("batcher")
            },
        )
        .await;
    let mut batcher = Batcher::new(
        sequencer.store.clone(),
        Recording {
            inner: AutoDa::new(CalldataDa::new(inbox), BlobDa::new(inbox), policy),
            log: log.clone(),
        },
        txmgr,
        BatcherConfig {
            poll_interval: Duration::from_millis(50),
            max_channel_duration: Duration::ZERO,
            ..BatcherConfig::new(rollup.clone())
        },
        metrics.clone(),
    )
    .await
    .expect("batcher starts");

    let phases: [(&str, Vec<Target>); 4] = {
        use Target::{Blobs as B, Calldata as C, Even as E};
        [
            ("cheap L1", vec![C, C, C]),
            ("base fee raised", vec![B, B, B, B]),
            ("oscillating", vec![C, C, B, C, E, C, C, E, C, B, C, C, B]),
            ("base fee down", vec![C, C, C]),
        ]
    };
    let provider =
        alloy::providers::ProviderBuilder::new().connect_http(sequencer.rpc.parse().expect("url"));
    let stopped = admin_call(admin, &secret, "admin_stopSequencer", json!([])).await;
    assert!(stopped.get("result").is_some(), "{stopped}");
    let mut nonce = 0;
    let mut rounds = Vec::new();
    for (phase, targets) in &phases {
        for target in targets {
            // One L2 block with 6 KB of incompressible calldata, then sequencing stops again.
            let data: Vec<u8> = (0..6_000).map(|_| rand::random::<u8>()).collect();
            let hash = send_raw(&sequencer.rpc, &signed_l2_tx(1, nonce, data))
                .await
                .expect("pooled");
            nonce += 1;
            let started = admin_call(admin, &secret, "admin_startSequencer", json!([])).await;
            assert!(started.get("error").is_none(), "{started}");
            wait_until("the L2 transaction", Duration::from_secs(60), || async {
                provider
                    .get_transaction_receipt(hash)
                    .await
                    .expect("receipt query")
                    .is_some()
            })
            .await;
            let stopped = admin_call(admin, &secret, "admin_stopSequencer", json!([])).await;
            assert!(stopped.get("result").is_some(), "{stopped}");
            let head = sequencer.head().await;
            let first = batcher.posted_block() + 1;
            let bytes =
                expected_channel_bytes(&sequencer.store, &rollup, first, head, &metrics).await;

            // The base fee that puts the cost ratio at the target, given the blob base fee the
            // batcher will read (one more block without blobs lowers it first).
            let mut fees = l1_fees(&l1).await;
            for attempt in 0.. {
                let decayed = L1Fees {
                    blob_base_fee: fees.blob_base_fee * 8 / 9,
                    ..fees
                };
                let base_fee = solve_base_fee(&policy, &decayed, bytes, target.ratio());
                let _: serde_json::Value = l1
                    .rpc(
                        "anvil_setNextBlockBaseFeePerGas",
                        json!([U256::from(base_fee)]),
                    )
                    .await;
                l1.mine(1).await;
                fees = l1_fees(&l1).await;
                let ratio = cost_ratio(&policy, &fees, bytes);
                if target.accepts(ratio) {
                    break;
                }
                assert!(
                    attempt < 4,
                    "could not reach {target:?}: ratio {ratio} at {fees:?}"
                );
            }
            let decisions = log.lock().expect("log").len();
            batcher.step().await.expect("batcher step");
            let log_now = log.lock().expect("log").clone();
            assert_eq!(log_now.len(), decisions + 1, "one decision per round");
            let decision = log_now[decisions];
            assert_eq!(decision.fees, fees, "auto saw the prices the test set");
            assert_eq!(
                decision.channel_bytes, bytes,
                "auto priced the expected channel"
            );
            assert_eq!(
                batcher.posted_block(),
                head,
                "one channel carries the round"
            );
            rounds.push((*phase, *target, cost_ratio(&policy, &fees, bytes), decision));
        }
    }
    // Confirm the last channel.
    for attempt in 0.. {
        batcher.step().await.expect("batcher step");
        if batcher.confirmed_block() >= batcher.posted_block() {
            break;
        }
        assert!(attempt < 600, "the last channel was not confirmed");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }

    for (index, (phase, target, ratio, decision)) in rounds.iter().enumerate() {
        eprintln!(
            "round {index:2} {phase:16} {target:8?} blob/calldata {ratio:5.2}  base fee {:>9.3} gwei  \
             blob base fee {:>9.3} gwei  channel {:>6} B  -> {}",
            decision.fees.base_fee as f64 / 1e9,
            decision.fees.blob_base_fee as f64 / 1e9,
            decision.channel_bytes,
            decision.backend.name()
        );
    }
    let backends: Vec<DaBackend> = rounds.iter().map(|round| round.3.backend).collect();
    let switches = backends
        .windows(2)
        .filter(|pair| pair[0] != pair[1])
        .count();
    // What the cheaper backend was, decision by decision: a rule without hysteresis follows it.
    let cheaper: Vec<bool> = rounds.iter().map(|round| round.2 < 1.0).collect();
    let crossings = cheaper.windows(2).filter(|pair| pair[0] != pair[1]).count();
    let (a, b, c) = (phases[0].1.len(), phases[1].1.len(), phases[2].1.len());
    // Cheap L1: calldata. Raised: blobs from the third decision cheaper by the margin.
    assert!(
        backends[..a].iter().all(|b| *b == DaBackend::Calldata),
        "{backends:?}"
    );
    assert_eq!(
        backends[a..a + b],
        [
            DaBackend::Calldata,
            DaBackend::Calldata,
            DaBackend::Blobs,
            DaBackend::Blobs
        ],
        "{backends:?}"
    );
    // Oscillating around the break-even: no switch.
    assert!(
        backends[a + b..a + b + c]
            .iter()
            .all(|b| *b == DaBackend::Blobs),
        "flapped: {backends:?}"
    );
    // Down again: calldata from the third decision.
    assert_eq!(
        backends[a + b + c..],
        [DaBackend::Blobs, DaBackend::Blobs, DaBackend::Calldata],
        "{backends:?}"
    );
    assert_eq!(switches, 2, "{backends:?}");
    assert_eq!(
        metrics
            .da_backend_switches
            .load(std::sync::atomic::Ordering::Relaxed),
        2,
        "the batcher's switch counter"
    );
    assert!(
        crossings >= 8,
        "the prices crossed the break-even {crossings} times"
    );

    // L1 agrees: the inbox transactions' types switch exactly twice, and decode to every block
    // exactly once.
    let posts = read_inbox(&l1, inbox, l1.config.batcher).await;
    let kinds: Vec<bool> = posts.iter().map(|post| post.blobs > 0).collect();
    let l1_switches = kinds.windows(2).filter(|pair| pair[0] != pair[1]).count();
    assert_eq!(l1_switches, 2, "{kinds:?}");
    assert_eq!(
        posts.iter().filter(|post| post.blobs > 0).count(),
        backends.iter().filter(|b| **b == DaBackend::Blobs).count()
    );
    let head = sequencer.head().await;
    assert_eq!(batcher.confirmed_block(), head);
    assert_eq!(
        decode_batches(&posts, &rollup),
        sequencer.expected_batches(&rollup, head).await
    );

    // A replica deriving from L1 alone rebuilds the chain, hash for hash.
    let mut replica = L2::replica_of(&l1).await;
    wait_until(
        "the replica to derive the chain",
        Duration::from_secs(180),
        || async {
            replica
                .store
                .head(HeadKind::Safe)
                .await
                .expect("head")
                .is_some_and(|safe| safe.number >= head)
        },
    )
    .await;
    for number in 1..=head {
        let ours = sequencer
            .store
            .header(number)
            .await
            .unwrap()
            .expect("sequenced");
        let derived = replica
            .store
            .header(number)
            .await
            .unwrap()
            .expect("derived");
        assert_eq!(derived.hash, ours.hash, "block {number} differs");
    }
    eprintln!(
        "auto DA: {} decisions, {switches} switches (L1 inbox: {l1_switches}), the cheaper \
         backend changed {crossings} times; {} inbox transactions ({} with blobs) for {head} L2 \
         blocks; replica matched; test took {:.1?}",
        rounds.len(),
        posts.len(),
        posts.iter().filter(|post| post.blobs > 0).count(),
        started.elapsed()
    );
    replica.stop().await;
    sequencer.stop().await;
}

/// The base fee (wei) at which `blob cost / calldata cost` of `bytes` is `ratio`, given the tip
/// and blob base fee in `fees`: solves `(B·f + 21000·g) = ratio·(C·g)` for the gas price `g`,
/// with `B` the blob gas and `C` the calldata gas. The costs are linear in `g`, so the two
/// model evaluations at `g = 0` and `g = 1` give the coefficients.
fn solve_base_fee(policy: &AutoPolicy, fees: &L1Fees, bytes: usize, ratio: f64) -> u128 {
    let at = |gas_price: u128| L1Fees {
        base_fee: gas_price,
        priority_fee: 0,
        blob_base_fee: fees.blob_base_fee,
    };
    let blob_fixed = policy.costs.blob_cost(&at(0), bytes) as f64;
    let blob_per_gwei = policy.costs.blob_cost(&at(1), bytes) as f64 - blob_fixed;
    let calldata_per_gwei = policy.costs.calldata_cost(&at(1), bytes) as f64;
    // blob_fixed + blob_per·g = ratio · calldata_per·g
    let denominator = ratio * calldata_per_gwei - blob_per_gwei;
    assert!(denominator > 0.0, "ratio {ratio} unreachable for {bytes} B");
    let gas_price = (blob_fixed / denominator) as u128;
    gas_price.saturating_sub(fees.priority_fee).max(1)
}
