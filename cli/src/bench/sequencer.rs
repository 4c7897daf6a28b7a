//! `parallax bench sequencer`: end-to-end throughput of a sequencer on loopback.
//!
//! Starts a node in this process (SQLite in a temporary directory), pre-signs `txs` ETH
//! transfers from `senders` funded accounts, sends them over JSON-RPC in batches from
//! `connections` concurrent HTTP connections, and measures how fast they are included: sustained
//! included transactions per second (first send to last inclusion) and the p50/p99 latency
//! from a transaction's send to the sealing of its block. Every transaction must be included.

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
    chain::ChainParams,
    genesis::{Genesis, GenesisAccount},
    mempool::PoolConfig,
    node::{self, NodeConfig},
    origin::FixedOrigin,
    rpc::RpcLimits,
};
use parallax_state::store::{ChainStore, SqlStore};
use rayon::prelude::*;
use serde::Serialize;

/// Arguments of `parallax bench sequencer`.
#[derive(Debug, clap::Args)]
pub struct SequencerArgs {
    /// Transfers to send.
    #[arg(long, default_value_t = 20_000)]
    pub txs: usize,
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
}

/// What `parallax bench sequencer` measured.
#[derive(Clone, Debug, Serialize)]
pub struct SequencerReport {
    /// Transfers sent and included.
    pub txs: usize,
    /// Senders.
    pub senders: usize,
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

impl SequencerReport {
    /// Human-readable form.
    pub fn to_text(&self) -> String {
        format!(
            "sequencer on loopback: {} ETH transfers from {} senders\n  \
             RPC ingest      {:>8.2} s   {:>8.0} tx/s acknowledged\n  \
             end to end      {:>8.2} s   {:>8.0} tx/s included, in {} blocks (largest {} txs)\n  \
             latency         p50 {:.0} ms, p99 {:.0} ms (send to sealed block)\n",
            self.txs,
            self.senders,
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

fn sender_key(index: usize) -> PrivateKeySigner {
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
    // Pre-sign every transfer (not part of the measurement).
    let raws: Vec<(B256, String)> = (0..args.txs)
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
        .collect();

    let mut genesis = Genesis::dev(genesis_time).map_err(setup)?;
    for key in &keys {
        genesis = genesis.with_default_account(
            key.address(),
            GenesisAccount {
                balance: U256::from(10u128.pow(24)),
                ..Default::default()
            },
        );
    }
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(setup)?;
    runtime.block_on(async {
        let dir = tempfile::tempdir().map_err(setup)?;
        let url = format!("sqlite:{}", dir.path().join("chain.db").display());
        let store = SqlStore::open(&url).await.map_err(setup)?;
        let config = NodeConfig {
            params: ChainParams {
                rollup: rollup.clone(),
                threads: std::thread::available_parallelism().map_or(1, |n| n.get()),
            },
            http_addr: SocketAddr::from(([127, 0, 0, 1], 0)),
            limits: RpcLimits::default(),
            cors_origin: None,
            suggested_tip: 1_000,
            pool: PoolConfig {
                chain_id: rollup.l2_chain_id,
                min_base_fee: rollup.min_base_fee,
                max_per_sender: args.txs / senders + 1,
                max_total: args.txs + 1,
                ..Default::default()
            },
            metrics_addr: None,
        };
        let origins = Box::new(FixedOrigin::new(&rollup));
        let running = node::start(store.clone(), &genesis, config, node::Roles::sequencer(origins))
            .await
            .map_err(setup)?;
        let endpoint = format!("http://{}/", running.rpc_addr);
        let client = reqwest::Client::new();
        let start = Instant::now();

        // Watch blocks: inclusion time of every transaction.
        let watcher = {
            let store = store.clone();
            let expected = args.txs;
            tokio::spawn(async move {
                let mut included: HashMap<B256, Duration> = HashMap::with_capacity(expected);
                let mut next = 1;
                let mut blocks = Vec::new();
                while included.len() < expected {
                    let head = store.head(parallax_state::store::HeadKind::Unsafe).await.ok().flatten();
                    while head.is_some_and(|head| head.number >= next) {
                        if let Ok(Some(block)) = store.block(next).await {
                            let at = start.elapsed();
                            if !block.transactions.is_empty() {
                                blocks.push(block.transactions.len());
                            }
                            for tx in block.transactions {
                                included.insert(tx.hash, at);
                            }
                        }
                        next += 1;
                    }
                    if start.elapsed() > Duration::from_secs(600) {
                        break;
                    }
                    tokio::time::sleep(Duration::from_millis(5)).await;
                }
                (included, blocks)
            })
        };

        // Senders' transactions go in nonce order within a connection: split by sender.
        let raws = Arc::new(raws);
        let mut tasks = Vec::new();
        for connection in 0..args.connections.max(1) {
            let client = client.clone();
            let endpoint = endpoint.clone();
            let raws = raws.clone();
            let connections = args.connections.max(1);
            let batch = args.batch.max(1);
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
                        return Err(format!("a transaction was refused: {}", &reply[..reply.len().min(300)]));
                    }
                    sent.extend(chunk.iter().map(|index| (raws[*index].0, at)));
                }
                Ok::<_, String>((sent, start.elapsed()))
            }));
        }
        let mut sent_at = HashMap::with_capacity(args.txs);
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
        running.stop().await.map_err(setup)?;
        if included.len() < args.txs {
            return Err(SequencerBenchError::Load(format!(
                "only {} of {} transactions were included",
                included.len(),
                args.txs
            )));
        }
        let mut latencies: Vec<f64> = sent_at
            .iter()
            .filter_map(|(hash, sent)| Some((*included.get(hash)? - *sent).as_secs_f64() * 1e3))
            .collect();
        latencies.sort_by(f64::total_cmp);
        let percentile = |p: f64| latencies.get(((latencies.len() as f64 - 1.0) * p) as usize).copied().unwrap_or(0.0);
        let last = included.values().max().copied().unwrap_or_default().as_secs_f64();
        Ok(SequencerReport {
            txs: args.txs,
            senders,
            ingest_secs: ingest_done.as_secs_f64(),
            ingest_tps: args.txs as f64 / ingest_done.as_secs_f64(),
            total_secs: last,
            included_tps: args.txs as f64 / last,
            latency_p50_ms: percentile(0.5),
            latency_p99_ms: percentile(0.99),
            blocks: blocks.len(),
            max_block_txs: blocks.iter().copied().max().unwrap_or(0),
        })
    })
}
