//! `parallax bench sequencer`: end-to-end throughput of a sequencer on loopback.
//!
//! Starts a node in this process (SQLite in a temporary directory), pre-signs `txs` ETH
//! transfers from `senders` funded accounts, sends them over JSON-RPC in batches from
//! `connections` concurrent HTTP connections, and measures how fast they are included: sustained
//! included transactions per second (first send to last inclusion) and the p50/p99 latency
//! from a transaction's send to the block that included it, as seen over JSON-RPC. Every
//! transaction must be included. With `--against anvil` the same signed load then goes to an
//! anvil from npm (same chain id, block time and funded senders) in the same run, and the
//! report gives the ratio.

use std::{
    collections::HashMap,
    net::SocketAddr,
    sync::Arc,
    time::{Duration, Instant},
};

use alloy::{
    consensus::{SignableTransaction, TxEip1559, TxEnvelope},
    eips::eip2718::Encodable2718,
    signers::{local::PrivateKeySigner, SignerSync},
};
use alloy_primitives::{hex, Address, TxKind, B256, U256};
use parallax_protocol::RollupConfig;
use parallax_sequencer::{
    node::{self, NodeConfig},
    origin::FixedOrigin,
};
use parallax_state::store::SqlStore;
use rayon::prelude::*;
use serde::Serialize;

use super::da::{genesis as da_genesis, sign_workload, DaWorkload, TOKEN};

/// Arguments of `parallax bench sequencer`.
#[derive(Debug, clap::Args)]
pub struct SequencerArgs {
    /// Transactions to send.
    #[arg(long, default_value_t = 20_000)]
    pub txs: usize,
    /// What is sent: ETH transfers, or ERC-20 `transfer` calls of a token in the genesis
    /// (random holders, as `bench da` signs them).
    #[arg(long, value_enum, default_value = "transfers")]
    pub workload: DaWorkload,
    /// Distinct senders (each sends txs/senders transfers in nonce order).
    #[arg(long, default_value_t = 200)]
    pub senders: usize,
    /// Concurrent HTTP connections of the load generator.
    #[arg(long, default_value_t = 4)]
    pub connections: usize,
    /// Transactions per JSON-RPC batch request.
    #[arg(long, default_value_t = 100)]
    pub batch: usize,
    /// Block time of the node in milliseconds.
    #[arg(long, default_value_t = 250)]
    pub block_time: u64,
    /// Print one JSON object instead of text.
    #[arg(long)]
    pub json: bool,
    /// Also run the same load against this node in the same run and report the ratio.
    #[arg(long, value_enum)]
    pub against: Option<Baseline>,
}

/// A node to compare the sequencer with.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum Baseline {
    /// anvil from npm (contracts/node_modules), auto-funded senders, the same block time.
    Anvil,
}

/// The figures of one node under the load.
#[derive(Clone, Debug, Serialize)]
pub struct LoadFigures {
    /// Seconds from the first send to the last acknowledgement.
    pub ingest_secs: f64,
    /// Acknowledged transactions per second over RPC.
    pub ingest_tps: f64,
    /// Seconds from the first send to the last inclusion.
    pub total_secs: f64,
    /// Included transactions per second, end to end.
    pub included_tps: f64,
    /// Median send-to-inclusion latency (ms).
    pub latency_p50_ms: f64,
    /// 99th percentile latency (ms).
    pub latency_p99_ms: f64,
    /// Blocks that carried the load.
    pub blocks: usize,
    /// Largest block (transactions).
    pub max_block_txs: usize,
}

/// What `parallax bench sequencer` measured.
#[derive(Clone, Debug, Serialize)]
pub struct SequencerReport {
    /// The kind of transactions.
    pub workload: DaWorkload,
    /// Transactions sent and included.
    pub txs: usize,
    /// Senders.
    pub senders: usize,
    /// The Parallax sequencer.
    pub parallax: LoadFigures,
    /// The baseline node, when asked for.
    pub baseline: Option<(String, LoadFigures)>,
    /// Parallax's included tx/s divided by the baseline's.
    pub included_tps_ratio: Option<f64>,
}

impl LoadFigures {
    fn to_text(&self, name: &str) -> String {
        format!(
            "{name}\n  \
             RPC ingest      {:>8.2} s   {:>8.0} tx/s acknowledged\n  \
             end to end      {:>8.2} s   {:>8.0} tx/s included, in {} blocks (largest {} txs)\n  \
             latency         p50 {:.0} ms, p99 {:.0} ms (send to including block)\n",
            self.ingest_secs,
            self.ingest_tps,
            self.total_secs,
            self.included_tps,
            self.blocks,
            self.max_block_txs,
            self.latency_p50_ms,
            self.latency_p99_ms,
        )
    }
}

impl SequencerReport {
    /// Human-readable form.
    pub fn to_text(&self) -> String {
        let what = match self.workload {
            DaWorkload::Transfers => "ETH transfers",
            DaWorkload::Erc20 => "ERC-20 transfers",
        };
        let mut text = format!(
            "{} {what} from {} senders over JSON-RPC on loopback\n",
            self.txs, self.senders
        );
        text += &self.parallax.to_text("parallax sequencer");
        if let (Some((name, figures)), Some(ratio)) = (&self.baseline, self.included_tps_ratio) {
            text += &figures.to_text(name);
            text += &format!("included tx/s, parallax / {name}: {ratio:.2}x\n");
        }
        text
    }
}

/// Why the benchmark failed.
#[derive(Debug, thiserror::Error)]
pub enum SequencerBenchError {
    /// Setting up or running the node failed.
    #[error("{0}")]
    Setup(String),
    /// A transaction was refused or never included.
    #[error("{0}")]
    Load(String),
}

fn setup<E: std::fmt::Display>(error: E) -> SequencerBenchError {
    SequencerBenchError::Setup(error.to_string())
}

pub(super) fn sender_key(index: usize) -> PrivateKeySigner {
    let mut bytes = [0u8; 32];
    bytes[..8].copy_from_slice(&(index as u64 + 1).to_be_bytes());
    bytes[31] = 0x5e;
    PrivateKeySigner::from_bytes(&B256::from(bytes))
        .expect("a small non-zero scalar is a valid key")
}

/// Runs the benchmark (see the module docs).
pub fn bench_sequencer(args: &SequencerArgs) -> Result<SequencerReport, SequencerBenchError> {
    let senders = args.senders.clamp(1, args.txs.max(1));
    let keys: Vec<PrivateKeySigner> = (0..senders).map(sender_key).collect();
    let genesis_time = parallax_sequencer::node::now_millis() / 1000;
    let mut rollup = RollupConfig {
        block_time_ms: args.block_time,
        ..Default::default()
    };
    rollup.genesis.l2_timestamp = genesis_time;
    let base_fee_cap: u128 = 100_000_000_000;
    // Pre-sign every transaction (not part of the measurement).
    let raws: Vec<(B256, String)> = match args.workload {
        DaWorkload::Transfers => (0..args.txs)
            .into_par_iter()
            .map(|index| {
                let key = &keys[index % senders];
                let tx = TxEip1559 {
                    chain_id: rollup.l2_chain_id,
                    nonce: (index / senders) as u64,
                    gas_limit: 21_000,
                    max_fee_per_gas: base_fee_cap,
                    max_priority_fee_per_gas: 1_000,
                    to: TxKind::Call(Address::with_last_byte((index % 200) as u8)),
                    value: U256::from(1),
                    ..Default::default()
                };
                let signature = key.sign_hash_sync(&tx.signature_hash()).expect("signing");
                let envelope = TxEnvelope::from(tx.into_signed(signature));
                (
                    *envelope.tx_hash(),
                    hex::encode_prefixed(envelope.encoded_2718()),
                )
            })
            .collect(),
        DaWorkload::Erc20 => {
            sign_workload(DaWorkload::Erc20, &keys, args.txs, rollup.l2_chain_id, 1)
        }
    };
    let genesis = da_genesis(genesis_time, &keys, args.workload).map_err(setup)?;
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(setup)?;
    runtime.block_on(async {
        let dir = tempfile::tempdir().map_err(setup)?;
        let url = format!("sqlite:{}", dir.path().join("chain.db").display());
        let store = SqlStore::open(&url).await.map_err(setup)?;
        let mut config = NodeConfig::new(&rollup, SocketAddr::from(([127, 0, 0, 1], 0)));
        config.suggested_tip = 1_000;
        config.pool.max_per_sender = args.txs / senders + 1;
        config.pool.max_total = args.txs + 1;
        let origins = Box::new(FixedOrigin::new(&rollup));
        let running = node::start(store, &genesis, config, node::Roles::sequencer(origins))
            .await
            .map_err(setup)?;
        let raws = Arc::new(raws);
        let endpoint = format!("http://{}/", running.rpc_addr);
        let parallax = drive(&endpoint, raws.clone(), args.into(), senders).await;
        running.stop().await.map_err(setup)?;
        let parallax = parallax?;
        let baseline = match args.against {
            None => None,
            Some(Baseline::Anvil) => {
                let addresses: Vec<Address> = keys.iter().map(|key| key.address()).collect();
                Some((
                    "anvil".to_owned(),
                    against_anvil(&raws, &addresses, args, &rollup, &keys).await?,
                ))
            }
        };
        let included_tps_ratio = baseline
            .as_ref()
            .map(|(_, figures)| parallax.included_tps / figures.included_tps);
        Ok(SequencerReport {
            workload: args.workload,
            txs: args.txs,
            senders,
            parallax,
            baseline,
            included_tps_ratio,
        })
    })
}

/// The same load against an anvil from npm: the project's pinned binary, the sequencer's chain
/// id and block time, the senders funded with `anvil_setBalance` and, for ERC-20, the genesis
/// token's code and balances set with `anvil_setCode` / `anvil_setStorageAt`.
async fn against_anvil(
    raws: &Arc<Vec<(B256, String)>>,
    senders: &[Address],
    args: &SequencerArgs,
    rollup: &RollupConfig,
    keys: &[PrivateKeySigner],
) -> Result<LoadFigures, SequencerBenchError> {
    let binary = parallax_contracts::anvil_path()
        .ok_or_else(|| setup("anvil is not installed (run contracts/build.sh)"))?;
    let anvil = alloy::node_bindings::Anvil::at(binary)
        .chain_id(rollup.l2_chain_id)
        .args([
            "--block-time",
            &format!("{}", args.block_time as f64 / 1000.0),
            "--gas-limit",
            &rollup.gas_limit.to_string(),
            "--hardfork",
            "cancun",
        ])
        .try_spawn()
        .map_err(setup)?;
    let endpoint = anvil.endpoint();
    let client = reqwest::Client::new();
    for sender in senders {
        rpc(
            &client,
            &endpoint,
            "anvil_setBalance",
            serde_json::json!([sender, "0xd3c21bcecceda1000000"]),
        )
        .await?;
    }
    if args.workload == DaWorkload::Erc20 {
        // The same token state as the sequencer's genesis.
        let genesis = da_genesis(0, keys, DaWorkload::Erc20).map_err(setup)?;
        let token = genesis
            .alloc
            .get(&TOKEN)
            .ok_or_else(|| setup("the ERC-20 genesis has no token"))?;
        rpc(
            &client,
            &endpoint,
            "anvil_setCode",
            serde_json::json!([TOKEN, token.code.clone().unwrap_or_default()]),
        )
        .await?;
        for (slot, value) in token.storage.clone().unwrap_or_default() {
            rpc(
                &client,
                &endpoint,
                "anvil_setStorageAt",
                serde_json::json!([TOKEN, slot, value]),
            )
            .await?;
        }
    }
    drive(&endpoint, raws.clone(), args.into(), senders.len()).await
}

/// One JSON-RPC call; its `result`.
async fn rpc(
    client: &reqwest::Client,
    endpoint: &str,
    method: &str,
    params: serde_json::Value,
) -> Result<serde_json::Value, SequencerBenchError> {
    let reply: serde_json::Value = client
        .post(endpoint)
        .json(&serde_json::json!({"jsonrpc": "2.0", "id": 1, "method": method, "params": params}))
        .send()
        .await
        .map_err(setup)?
        .json()
        .await
        .map_err(setup)?;
    match reply.get("error") {
        Some(error) => Err(SequencerBenchError::Load(format!("{method}: {error}"))),
        None => Ok(reply["result"].clone()),
    }
}

/// How the load generator sends: concurrent HTTP connections and transactions per JSON-RPC
/// batch request.
#[derive(Clone, Copy, Debug)]
pub(super) struct Load {
    /// Concurrent connections (a sender's transactions always share one).
    pub(super) connections: usize,
    /// Transactions per batch request.
    pub(super) batch: usize,
}

impl From<&SequencerArgs> for Load {
    fn from(args: &SequencerArgs) -> Self {
        Self {
            connections: args.connections,
            batch: args.batch,
        }
    }
}

/// Sends the load to `endpoint` and watches its blocks over JSON-RPC until every transaction
/// is included.
pub(super) async fn drive(
    endpoint: &str,
    raws: Arc<Vec<(B256, String)>>,
    load: Load,
    senders: usize,
) -> Result<LoadFigures, SequencerBenchError> {
    let client = reqwest::Client::new();
    let first_block = rpc(&client, endpoint, "eth_blockNumber", serde_json::json!([]))
        .await?
        .as_str()
        .and_then(|hex| u64::from_str_radix(hex.trim_start_matches("0x"), 16).ok())
        .unwrap_or(0);
    let start = Instant::now();

    // Watch blocks: inclusion time of every transaction.
    let watcher = {
        let client = client.clone();
        let endpoint = endpoint.to_owned();
        let expected = raws.len();
        tokio::spawn(async move {
            let mut included: HashMap<B256, Duration> = HashMap::with_capacity(expected);
            let mut next = first_block + 1;
            let mut blocks = Vec::new();
            while included.len() < expected && start.elapsed() < Duration::from_secs(600) {
                let block = rpc(
                    &client,
                    &endpoint,
                    "eth_getBlockByNumber",
                    serde_json::json!([format!("{next:#x}"), false]),
                )
                .await
                .unwrap_or_default();
                let Some(hashes) = block["transactions"].as_array() else {
                    tokio::time::sleep(Duration::from_millis(5)).await;
                    continue;
                };
                let at = start.elapsed();
                let mut count = 0;
                for hash in hashes {
                    if let Ok(hash) = serde_json::from_value::<B256>(hash.clone()) {
                        count += usize::from(included.insert(hash, at).is_none());
                    }
                }
                if count > 0 {
                    blocks.push(count);
                }
                next += 1;
            }
            (included, blocks)
        })
    };

    // Senders' transactions go in nonce order within a connection: split by sender.
    let mut tasks = Vec::new();
    for connection in 0..load.connections.max(1) {
        let client = client.clone();
        let endpoint = endpoint.to_owned();
        let raws = raws.clone();
        let connections = load.connections.max(1);
        let batch = load.batch.max(1);
        tasks.push(tokio::spawn(async move {
            let mine: Vec<usize> = (0..raws.len())
                .filter(|index| (index % senders) % connections == connection)
                .collect();
            let mut sent = Vec::with_capacity(mine.len());
            for chunk in mine.chunks(batch) {
                let body: Vec<String> = chunk
                    .iter()
                    .map(|index| {
                        format!(
                            r#"{{"jsonrpc":"2.0","id":{index},"method":"eth_sendRawTransaction","params":["{}"]}}"#,
                            raws[*index].1
                        )
                    })
                    .collect();
                let at = start.elapsed();
                let reply = client
                    .post(&endpoint)
                    .header("content-type", "application/json")
                    .body(format!("[{}]", body.join(",")))
                    .send()
                    .await
                    .map_err(|error| error.to_string())?
                    .text()
                    .await
                    .map_err(|error| error.to_string())?;
                if reply.contains("\"error\"") {
                    return Err(format!(
                        "a transaction was refused: {}",
                        &reply[..reply.len().min(300)]
                    ));
                }
                sent.extend(chunk.iter().map(|index| (raws[*index].0, at)));
            }
            Ok::<_, String>((sent, start.elapsed()))
        }));
    }
    let mut sent_at = HashMap::with_capacity(raws.len());
    let mut ingest_done = Duration::ZERO;
    for task in tasks {
        let (sent, done) = task
            .await
            .map_err(setup)?
            .map_err(SequencerBenchError::Load)?;
        sent_at.extend(sent);
        ingest_done = ingest_done.max(done);
    }
    let (included, blocks) = watcher.await.map_err(setup)?;
    let missing = sent_at
        .keys()
        .filter(|hash| !included.contains_key(*hash))
        .count();
    if missing > 0 {
        return Err(SequencerBenchError::Load(format!(
            "{missing} of {} transactions were never included",
            raws.len()
        )));
    }
    let mut latencies: Vec<f64> = sent_at
        .iter()
        .filter_map(|(hash, sent)| {
            Some((included.get(hash)?.saturating_sub(*sent)).as_secs_f64() * 1e3)
        })
        .collect();
    latencies.sort_by(f64::total_cmp);
    let percentile = |p: f64| {
        latencies
            .get(((latencies.len() as f64 - 1.0) * p) as usize)
            .copied()
            .unwrap_or(0.0)
    };
    let last = included
        .values()
        .max()
        .copied()
        .unwrap_or_default()
        .as_secs_f64();
    Ok(LoadFigures {
        ingest_secs: ingest_done.as_secs_f64(),
        ingest_tps: raws.len() as f64 / ingest_done.as_secs_f64(),
        total_secs: last,
        included_tps: raws.len() as f64 / last,
        latency_p50_ms: percentile(0.5),
        latency_p99_ms: percentile(0.99),
        blocks: blocks.len(),
        max_block_txs: blocks.iter().copied().max().unwrap_or(0),
    })
}
