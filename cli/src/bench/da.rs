//! `parallax bench da`: what posting L2 transactions to L1 costs, per transaction, for every DA
//! backend on Ethereum (calldata, blobs) and every channel compression (zstd, brotli), measured
//! side by side in one run on a real L1 (anvil from npm, Cancun).
//!
//! For each workload the benchmark builds a real L2 chain: a Parallax node in this process
//! (SQLite in a temporary directory) receives signed EIP-1559 transactions over JSON-RPC from
//! distinct senders in nonce order — plain ETH transfers to random recipients, or ERC-20
//! `transfer` calls of a token deployed in the L2 genesis — and every one must be included and
//! succeed. The node then stops and its chain store is copied once per (DA, compression): the
//! production [`Batcher`] posts every block of the copy through the production DA client and
//! transaction manager, each combination with its own L1 key. Nothing is estimated: the figures
//! are read back from L1 afterwards — the inbox transactions of that key, their calldata or
//! blobs (through [`AnvilBlobs`], which checks each blob against its versioned hash), and their
//! receipts (execution gas, blob gas). The frames read back are reassembled into channels and
//! decoded, and the batches must equal the node's blocks exactly, so every number is of data
//! derivation accepts.
//!
//! The L1 cost per transaction is priced at stated fees (`--l1-base-fee-gwei`,
//! `--blob-base-fee-gwei`) rather than anvil's, whose fees fall towards zero on an idle chain.

use std::{
    collections::{BTreeMap, HashSet},
    net::SocketAddr,
    str::FromStr,
    sync::Arc,
    time::{Duration, Instant},
};

use alloy::{
    consensus::{SignableTransaction, Transaction as _, TxEip1559, TxEnvelope},
    eips::{
        eip2718::Encodable2718,
        eip4844::{BLOB_TX_MIN_BLOB_GASPRICE, BYTES_PER_BLOB},
        eip7840::BlobParams,
        BlockNumberOrTag,
    },
    network::TransactionResponse,
    node_bindings::AnvilInstance,
    providers::{DynProvider, Provider, ProviderBuilder},
    signers::{local::PrivateKeySigner, SignerSync},
};
use alloy_primitives::{hex, Address, Bytes, TxKind, B256, U256};
use parallax_batcher::{
    da::{BlobDa, CalldataDa, DaClient},
    Batcher, BatcherConfig, Metrics, TxManager, TxManagerConfig,
};
use parallax_l1::{AnvilBlobs, RpcL1};
use parallax_protocol::{
    batch::Batch,
    blob::decode_blob,
    block::L1BlockInfo,
    channel::{decode_channel, decompress, Compression},
    derive::DaSource,
    frame::{parse_frames_payload, Frame},
    RollupConfig,
};
use parallax_sequencer::{
    genesis::{Genesis, GenesisAccount},
    node::{self, NodeConfig},
    origin::FixedOrigin,
};
use parallax_state::store::{ChainStore, HeadKind, SqlStore};
use rand::{rngs::StdRng, Rng, SeedableRng};
use serde::Serialize;

use super::{
    contracts::{
        address_word, calldata, erc20_runtime, mapping_slot, ERC20_BALANCES_SLOT,
        ERC20_TOTAL_SUPPLY_SLOT,
    },
    sequencer::{drive, sender_key, Load},
};

/// One gwei in wei.
const GWEI: u128 = 1_000_000_000;
/// Gas limit of an ERC-20 transfer as a wallet sets it (the call uses about 35k, or 52k when
/// the recipient's balance slot is new).
const ERC20_GAS_LIMIT: u64 = 65_000;
/// Where the token lives in the L2 genesis.
pub(super) const TOKEN: Address = Address::new([0x70; 20]);
/// Tokens every sender holds at genesis (10^24 base units).
pub(super) const TOKEN_BALANCE: u128 = 1_000_000 * 10u128.pow(18);
/// Longest the batcher may take to get one chain confirmed on L1.
const POST_TIMEOUT: Duration = Duration::from_secs(600);

/// Arguments of `parallax bench da`.
#[derive(Debug, clap::Args)]
pub struct DaArgs {
    /// L2 transactions per workload.
    #[arg(long, default_value_t = 2_000)]
    pub txs: usize,
    /// Which transactions: transfers, erc20 or all.
    #[arg(long, default_value = "all")]
    pub workload: DaWorkloads,
    /// Distinct senders (each sends txs/senders transactions in nonce order).
    #[arg(long, default_value_t = 200)]
    pub senders: usize,
    /// L2 block time in milliseconds.
    #[arg(long, default_value_t = 1_000)]
    pub block_time: u64,
    /// L1 base fee the cost column is priced at, in gwei.
    #[arg(long, default_value_t = 10.0)]
    pub l1_base_fee_gwei: f64,
    /// L1 blob base fee the cost column is priced at, in gwei.
    #[arg(long, default_value_t = 1.0)]
    pub blob_base_fee_gwei: f64,
    /// Seed of recipients, amounts and tips.
    #[arg(long, default_value_t = 1)]
    pub seed: u64,
    /// Print one JSON object instead of text.
    #[arg(long)]
    pub json: bool,
}

/// The L2 transactions a run posts.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, clap::ValueEnum)]
#[serde(rename_all = "snake_case")]
pub enum DaWorkload {
    /// ETH transfers to random recipients, no calldata.
    Transfers,
    /// ERC-20 `transfer(address,uint256)` calls to random holders.
    Erc20,
}

impl DaWorkload {
    /// Name in reports and on the command line.
    pub fn name(self) -> &'static str {
        match self {
            Self::Transfers => "transfers",
            Self::Erc20 => "erc20",
        }
    }
}

/// `--workload`: one workload or both.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DaWorkloads(pub Vec<DaWorkload>);

/// An unknown `--workload`.
#[derive(Debug, thiserror::Error)]
#[error("unknown DA workload {0:?} (expected transfers, erc20 or all)")]
pub struct UnknownDaWorkload(String);

impl FromStr for DaWorkloads {
    type Err = UnknownDaWorkload;

    fn from_str(name: &str) -> Result<Self, Self::Err> {
        match name.to_ascii_lowercase().as_str() {
            "transfers" => Ok(Self(vec![DaWorkload::Transfers])),
            "erc20" => Ok(Self(vec![DaWorkload::Erc20])),
            "all" => Ok(Self(vec![DaWorkload::Transfers, DaWorkload::Erc20])),
            _ => Err(UnknownDaWorkload(name.to_owned())),
        }
    }
}

/// The DA backends on Ethereum.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum DaKind {
    /// Frames in the calldata of type-2 transactions.
    Calldata,
    /// Frames in EIP-4844 blobs.
    Blobs,
}

impl DaKind {
    fn name(self) -> &'static str {
        match self {
            Self::Calldata => "calldata",
            Self::Blobs => "blobs",
        }
    }
}

/// One measured (workload, DA, compression).
#[derive(Clone, Debug, Serialize)]
pub struct DaRow {
    /// The L2 transactions.
    pub workload: DaWorkload,
    /// How they reached L1.
    pub da: DaKind,
    /// Channel compression.
    pub compression: Compression,
    /// L2 transactions in the decoded batches (deposits excluded: derivation rebuilds them).
    pub txs: u64,
    /// L2 blocks posted.
    pub l2_blocks: u64,
    /// Channels, frames, L1 transactions and blobs read back.
    pub channels: u64,
    /// Frames read back.
    pub frames: u64,
    /// Batcher transactions on L1.
    pub l1_txs: u64,
    /// Blobs they carried.
    pub blobs: u64,
    /// Batch bytes before compression (the channels decompressed).
    pub raw_bytes: u64,
    /// Channel bytes (compression tag included) as posted.
    pub compressed_bytes: u64,
    /// `raw_bytes / compressed_bytes`.
    pub compression_ratio: f64,
    /// Compressed bytes per L2 transaction.
    pub compressed_bytes_per_tx: f64,
    /// Bytes L1 carries for them: calldata bytes, or 131,072 per blob.
    pub l1_bytes: u64,
    /// `l1_bytes` per L2 transaction.
    pub l1_bytes_per_tx: f64,
    /// Execution gas of the batcher transactions (receipts).
    pub l1_gas: u64,
    /// Execution gas per L2 transaction.
    pub l1_gas_per_tx: f64,
    /// Blob gas of the batcher transactions (receipts).
    pub blob_gas: u64,
    /// Blob gas per L2 transaction.
    pub blob_gas_per_tx: f64,
    /// L1 cost per L2 transaction at the stated fees, in gwei.
    pub l1_cost_gwei_per_tx: f64,
}

/// What `parallax bench da` measured.
#[derive(Clone, Debug, Serialize)]
pub struct DaReport {
    /// L2 transactions per workload.
    pub txs: usize,
    /// Distinct senders per workload.
    pub senders: usize,
    /// L1 base fee of the cost column (gwei).
    pub l1_base_fee_gwei: f64,
    /// Blob base fee of the cost column (gwei).
    pub blob_base_fee_gwei: f64,
    /// One row per (workload, DA, compression), in that order.
    pub rows: Vec<DaRow>,
}

impl DaReport {
    /// Human-readable form: one table.
    pub fn to_text(&self) -> String {
        let mut text = format!(
            "{} L2 transactions per workload from {} senders, posted to anvil (Cancun); \
             cost at base fee {} gwei, blob base fee {} gwei\n",
            self.txs, self.senders, self.l1_base_fee_gwei, self.blob_base_fee_gwei
        );
        text += &format!(
            "{:<10} {:<8} {:<6} {:>10} {:>10} {:>6} {:>9} {:>9} {:>10} {:>10} {:>12} {:>6}\n",
            "workload",
            "da",
            "comp",
            "raw B",
            "compr. B",
            "ratio",
            "B/tx",
            "L1 B/tx",
            "L1 gas/tx",
            "blobgas/tx",
            "gwei/tx",
            "L1 txs"
        );
        for row in &self.rows {
            text += &format!(
                "{:<10} {:<8} {:<6} {:>10} {:>10} {:>6.2} {:>9.1} {:>9.1} {:>10.1} {:>10.1} {:>12.1} {:>6}\n",
                row.workload.name(),
                row.da.name(),
                compression_name(row.compression),
                row.raw_bytes,
                row.compressed_bytes,
                row.compression_ratio,
                row.compressed_bytes_per_tx,
                row.l1_bytes_per_tx,
                row.l1_gas_per_tx,
                row.blob_gas_per_tx,
                row.l1_cost_gwei_per_tx,
                row.l1_txs,
            );
        }
        text += "every row: frames read back from L1 decode to exactly the L2 blocks' batches\n";
        text
    }
}

fn compression_name(compression: Compression) -> &'static str {
    match compression {
        Compression::Zstd => "zstd",
        Compression::Brotli => "brotli",
    }
}

/// Why the benchmark failed.
#[derive(Debug, thiserror::Error)]
pub enum DaBenchError {
    /// anvil, the node, a store or the batcher could not be set up or failed.
    #[error("{0}")]
    Setup(String),
    /// The L2 load was refused, not included, or a transaction failed.
    #[error("{0}")]
    Load(String),
    /// What L1 holds does not decode to the posted blocks.
    #[error("{workload} over {da} with {compression}: {detail}")]
    Verify {
        /// Workload.
        workload: &'static str,
        /// DA backend.
        da: &'static str,
        /// Compression.
        compression: &'static str,
        /// What differs.
        detail: String,
    },
}

fn setup<E: std::fmt::Display>(error: E) -> DaBenchError {
    DaBenchError::Setup(error.to_string())
}

impl From<super::sequencer::SequencerBenchError> for DaBenchError {
    fn from(error: super::sequencer::SequencerBenchError) -> Self {
        Self::Load(error.to_string())
    }
}

/// Runs the benchmark (see the module docs).
pub fn bench_da(args: &DaArgs) -> Result<DaReport, DaBenchError> {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(setup)?;
    runtime.block_on(run(args))
}

async fn run(args: &DaArgs) -> Result<DaReport, DaBenchError> {
    let senders = args.senders.clamp(1, args.txs.max(1));
    let binary = parallax_contracts::anvil_path()
        .ok_or_else(|| setup("anvil is not installed (run contracts/build.sh)"))?;
    let anvil = alloy::node_bindings::Anvil::at(binary)
        .args(["--hardfork", "cancun"])
        .try_spawn()
        .map_err(setup)?;
    let l1 = ProviderBuilder::new()
        .connect_http(anvil.endpoint_url())
        .erased();
    let source = Arc::new(RpcL1::new(l1.clone()).map_err(setup)?);
    let blobs = Arc::new(AnvilBlobs::new(source));
    let combos = [
        (DaKind::Calldata, Compression::Zstd),
        (DaKind::Calldata, Compression::Brotli),
        (DaKind::Blobs, Compression::Zstd),
        (DaKind::Blobs, Compression::Brotli),
    ];
    let mut rows = Vec::new();
    let mut key_index = 0;
    for (round, &workload) in args.workload.0.iter().enumerate() {
        let chain = build_chain(args, workload, senders, args.seed + round as u64).await?;
        for (da, compression) in combos {
            let key = l1_key(&anvil, key_index)?;
            key_index += 1;
            let posted = post(&chain, &anvil, &l1, key, da, compression).await?;
            let row = measure(
                &chain,
                &l1,
                &blobs,
                &posted,
                (workload, da, compression),
                args,
            )
            .await?;
            tracing::info!(
                workload = workload.name(),
                da = da.name(),
                compression = compression_name(compression),
                l1_txs = row.l1_txs,
                "posted and verified"
            );
            rows.push(row);
        }
    }
    Ok(DaReport {
        txs: args.txs,
        senders,
        l1_base_fee_gwei: args.l1_base_fee_gwei,
        blob_base_fee_gwei: args.blob_base_fee_gwei,
        rows,
    })
}

/// anvil's `index`-th dev key: each (workload, DA, compression) posts from its own account so
/// its transactions are told apart on L1 (anvil has ten).
fn l1_key(anvil: &AnvilInstance, index: usize) -> Result<PrivateKeySigner, DaBenchError> {
    anvil
        .keys()
        .get(index)
        .map(|key| key.clone().into())
        .ok_or_else(|| setup(format!("anvil has no dev key {index}")))
}

/// An L2 chain built by a node, stopped, with its store kept in `dir`.
struct Chain {
    rollup: RollupConfig,
    dir: tempfile::TempDir,
    /// The batches of blocks `1..=head`, as the batcher must post them.
    batches: Vec<Batch>,
    txs: u64,
}

impl Chain {
    fn db_path(&self) -> std::path::PathBuf {
        self.dir.path().join("chain.db")
    }
}

/// Signs the workload, sends it to a fresh node and waits until every transaction is included;
/// checks that each succeeded, and returns the chain's batches.
async fn build_chain(
    args: &DaArgs,
    workload: DaWorkload,
    senders: usize,
    seed: u64,
) -> Result<Chain, DaBenchError> {
    let keys: Vec<PrivateKeySigner> = (0..senders).map(sender_key).collect();
    let genesis_time = node::now_millis() / 1000;
    let mut rollup = RollupConfig {
        block_time_ms: args.block_time,
        ..Default::default()
    };
    rollup.genesis.l2_timestamp = genesis_time;
    let raws = sign_workload(workload, &keys, args.txs, rollup.l2_chain_id, seed);
    let genesis = genesis(genesis_time, &keys, workload)?;

    let dir = tempfile::tempdir().map_err(setup)?;
    let url = format!("sqlite:{}", dir.path().join("chain.db").display());
    let store = SqlStore::open(&url).await.map_err(setup)?;
    let mut config = NodeConfig::new(&rollup, SocketAddr::from(([127, 0, 0, 1], 0)));
    config.pool.max_per_sender = args.txs / senders + 1;
    config.pool.max_total = args.txs + 1;
    let running = node::start(
        store.clone(),
        &genesis,
        config,
        node::Roles::sequencer(Box::new(FixedOrigin::new(&rollup))),
    )
    .await
    .map_err(setup)?;
    let endpoint = format!("http://{}/", running.rpc_addr);
    let load = Load {
        connections: 2,
        batch: 100,
    };
    let driven = drive(&endpoint, Arc::new(raws), load, senders).await;
    running.stop().await.map_err(setup)?;
    driven?;

    let head = store
        .head(HeadKind::Unsafe)
        .await
        .map_err(setup)?
        .map_or(0, |head| head.number);
    let mut batches = Vec::new();
    let mut txs = 0;
    for number in 1..=head {
        let block = store
            .block(number)
            .await
            .map_err(setup)?
            .ok_or_else(|| setup(format!("block {number} is missing from the store")))?;
        for (tx, receipt) in block.transactions.iter().zip(&block.receipts) {
            if !receipt.success {
                return Err(DaBenchError::Load(format!(
                    "{} transaction {} failed in block {number}",
                    workload.name(),
                    tx.hash
                )));
            }
        }
        let timestamp = rollup
            .l2_timestamp_ms(number)
            .ok_or_else(|| setup(format!("block {number} is outside the schedule")))?;
        let batch = Batch::from_block(
            block.header.parent_hash,
            parallax_protocol::block::BlockId {
                number: block.l1_origin.number,
                hash: block.l1_origin.hash,
            },
            timestamp,
            block.transactions.iter().map(|tx| &tx.raw),
        );
        txs += batch.transactions.len() as u64;
        batches.push(batch);
    }
    if txs != args.txs as u64 {
        return Err(DaBenchError::Load(format!(
            "{} of {} {} transactions are in the chain",
            txs,
            args.txs,
            workload.name()
        )));
    }
    Ok(Chain {
        rollup,
        dir,
        batches,
        txs,
    })
}

/// The dev genesis with the senders funded, and for ERC-20 the token holding their balances.
pub(super) fn genesis(
    time: u64,
    keys: &[PrivateKeySigner],
    workload: DaWorkload,
) -> Result<Genesis, DaBenchError> {
    let mut genesis = Genesis::dev(time).map_err(setup)?;
    for key in keys {
        genesis = genesis.with_default_account(
            key.address(),
            GenesisAccount {
                balance: U256::from(10u128.pow(24)),
                ..Default::default()
            },
        );
    }
    if workload == DaWorkload::Erc20 {
        let mut storage = BTreeMap::new();
        for key in keys {
            storage.insert(
                B256::from(mapping_slot(key.address(), ERC20_BALANCES_SLOT)),
                B256::from(U256::from(TOKEN_BALANCE)),
            );
        }
        storage.insert(
            B256::from(U256::from(ERC20_TOTAL_SUPPLY_SLOT)),
            B256::from(U256::from(TOKEN_BALANCE) * U256::from(keys.len())),
        );
        genesis = genesis.with_default_account(
            TOKEN,
            GenesisAccount {
                code: Some(erc20_runtime()),
                nonce: Some(1),
                storage: Some(storage),
                ..Default::default()
            },
        );
    }
    Ok(genesis)
}

/// `txs` signed EIP-1559 transactions as wallets send them: transaction `i` from sender
/// `i % senders` with its next nonce, a tip drawn from a few common values, a fee cap well above
/// the base fee, random recipients (ETH) or random holders among four times as many addresses as
/// transactions (ERC-20), random amounts. Returns (hash, hex of the EIP-2718 encoding).
pub(super) fn sign_workload(
    workload: DaWorkload,
    keys: &[PrivateKeySigner],
    txs: usize,
    chain_id: u64,
    seed: u64,
) -> Vec<(B256, String)> {
    let mut rng = StdRng::seed_from_u64(seed);
    let holders: Vec<Address> = (0..4 * txs.max(1))
        .map(|_| Address::from(rng.random::<[u8; 20]>()))
        .collect();
    let tips = [GWEI / 1000, GWEI / 100, GWEI / 10, GWEI];
    (0..txs)
        .map(|index| {
            let key = &keys[index % keys.len()];
            let tip = tips[rng.random_range(0..tips.len())];
            let (to, value, input, gas_limit) = match workload {
                DaWorkload::Transfers => (
                    Address::from(rng.random::<[u8; 20]>()),
                    U256::from(rng.random_range(10u64.pow(12)..=10u64.pow(18))),
                    Bytes::new(),
                    21_000,
                ),
                DaWorkload::Erc20 => {
                    let holder = holders[rng.random_range(0..holders.len())];
                    let amount =
                        U256::from(rng.random_range(1u64..=1_000_000)) * U256::from(10u64.pow(15));
                    (
                        TOKEN,
                        U256::ZERO,
                        calldata("transfer(address,uint256)", &[address_word(holder), amount]),
                        ERC20_GAS_LIMIT,
                    )
                }
            };
            let tx = TxEip1559 {
                chain_id,
                nonce: (index / keys.len()) as u64,
                gas_limit,
                max_fee_per_gas: 100 * GWEI + tip,
                max_priority_fee_per_gas: tip,
                to: TxKind::Call(to),
                value,
                input,
                ..Default::default()
            };
            let signature = key
                .sign_hash_sync(&tx.signature_hash())
                .expect("a local key signs any hash");
            let envelope = TxEnvelope::from(tx.into_signed(signature));
            (
                *envelope.tx_hash(),
                hex::encode_prefixed(envelope.encoded_2718()),
            )
        })
        .collect()
}

/// The L1 blocks a combination's batcher posted in.
struct Posted {
    key: Address,
    first_l1_block: u64,
    last_l1_block: u64,
}

/// Posts every block of `chain` from a copy of its store with the production batcher, the DA
/// client `da`, the compression `compression` and the L1 key `key`, until all are confirmed.
async fn post(
    chain: &Chain,
    anvil: &AnvilInstance,
    l1: &DynProvider,
    key: PrivateKeySigner,
    da: DaKind,
    compression: Compression,
) -> Result<Posted, DaBenchError> {
    // A fresh copy of the chain: the batcher journals its frames in the store, and every
    // combination must post the whole chain from the start.
    let copy = chain.dir.path().join(format!(
        "{}-{}.db",
        da.name(),
        compression_name(compression)
    ));
    {
        use sqlx::{Connection, Executor};
        let mut connection =
            sqlx::SqliteConnection::connect(&format!("sqlite:{}", chain.db_path().display()))
                .await
                .map_err(setup)?;
        connection
            .execute(sqlx::query("VACUUM INTO ?").bind(copy.display().to_string()))
            .await
            .map_err(setup)?;
        connection.close().await.map_err(setup)?;
    }
    let store = SqlStore::open(&format!("sqlite:{}", copy.display()))
        .await
        .map_err(setup)?;
    let rollup = RollupConfig {
        batch_compression: compression,
        ..chain.rollup.clone()
    };
    let inbox = rollup.batch_inbox_address;
    let address = key.address();
    let txmgr = TxManager::new(
        store.clone(),
        ProviderBuilder::new()
            .connect_http(anvil.endpoint_url())
            .erased(),
        key,
        TxManagerConfig {
            purpose: format!("bench-{}-{}", da.name(), compression_name(compression)),
            confirmations: 1,
            resubmit_after: Duration::from_secs(3600),
            ..TxManagerConfig::default()
        },
    )
    .await
    .map_err(setup)?;
    let config = BatcherConfig {
        poll_interval: Duration::from_millis(20),
        max_channel_duration: Duration::ZERO,
        ..BatcherConfig::new(rollup)
    };
    let first_l1_block = l1.get_block_number().await.map_err(setup)? + 1;
    let metrics = Arc::new(Metrics::default());
    let head = chain.batches.len() as u64;
    match da {
        DaKind::Calldata => {
            run_batcher(store, CalldataDa::new(inbox), txmgr, config, metrics, head).await?
        }
        DaKind::Blobs => {
            run_batcher(store, BlobDa::new(inbox), txmgr, config, metrics, head).await?
        }
    }
    let last_l1_block = l1.get_block_number().await.map_err(setup)?;
    Ok(Posted {
        key: address,
        first_l1_block,
        last_l1_block,
    })
}

/// Steps the batcher until block `head` is confirmed on L1.
async fn run_batcher<D: DaClient>(
    store: SqlStore,
    da: D,
    txmgr: TxManager<SqlStore>,
    config: BatcherConfig,
    metrics: Arc<Metrics>,
    head: u64,
) -> Result<(), DaBenchError> {
    let poll = config.poll_interval;
    let mut batcher = Batcher::new(store, da, txmgr, config, metrics)
        .await
        .map_err(setup)?;
    let start = Instant::now();
    while batcher.confirmed_block() < head {
        if start.elapsed() > POST_TIMEOUT {
            return Err(setup(format!(
                "the batcher confirmed only {} of {head} blocks in {POST_TIMEOUT:?}",
                batcher.confirmed_block()
            )));
        }
        batcher.step().await.map_err(setup)?;
        tokio::time::sleep(poll).await;
    }
    Ok(())
}

/// Reads the combination's inbox transactions back from L1, reassembles and decodes their
/// channels, checks the batches equal the chain's, and computes the row.
async fn measure(
    chain: &Chain,
    l1: &DynProvider,
    blobs: &Arc<AnvilBlobs>,
    posted: &Posted,
    (workload, da, compression): (DaWorkload, DaKind, Compression),
    args: &DaArgs,
) -> Result<DaRow, DaBenchError> {
    let verify = |detail: String| DaBenchError::Verify {
        workload: workload.name(),
        da: da.name(),
        compression: compression_name(compression),
        detail,
    };
    let inbox = chain.rollup.batch_inbox_address;
    let (mut l1_txs, mut blob_count, mut l1_bytes, mut l1_gas, mut blob_gas) = (0, 0, 0, 0, 0);
    let mut frames: Vec<Frame> = Vec::new();
    for number in posted.first_l1_block..=posted.last_l1_block {
        let block = l1
            .get_block_by_number(BlockNumberOrTag::Number(number))
            .full()
            .await
            .map_err(setup)?
            .ok_or_else(|| setup(format!("L1 block {number} is missing")))?;
        let info = L1BlockInfo {
            number,
            hash: block.header.hash,
            parent_hash: block.header.parent_hash,
            timestamp: block.header.timestamp,
            base_fee: u128::from(block.header.base_fee_per_gas.unwrap_or_default()),
            blob_base_fee: block
                .header
                .excess_blob_gas
                .map_or(BLOB_TX_MIN_BLOB_GASPRICE, |excess| {
                    BlobParams::cancun().calc_blob_fee(excess)
                }),
        };
        for tx in block.transactions.into_transactions() {
            if tx.to() != Some(inbox) || TransactionResponse::from(&tx) != posted.key {
                continue;
            }
            let receipt = l1
                .get_transaction_receipt(tx.tx_hash())
                .await
                .map_err(setup)?
                .ok_or_else(|| setup(format!("no receipt for {}", tx.tx_hash())))?;
            if !receipt.status() {
                return Err(verify(format!("inbox transaction {} failed", tx.tx_hash())));
            }
            l1_txs += 1;
            l1_gas += receipt.gas_used;
            blob_gas += receipt.blob_gas_used.unwrap_or(0);
            let hashes = tx.blob_versioned_hashes().unwrap_or_default().to_vec();
            if hashes.is_empty() {
                l1_bytes += tx.input().len() as u64;
                frames.extend(
                    parse_frames_payload(tx.input())
                        .map_err(|error| verify(format!("calldata frames: {error}")))?,
                );
            }
            for hash in hashes {
                let (source, block) = (blobs.clone(), info);
                let blob = tokio::task::spawn_blocking(move || source.blob(&block, hash))
                    .await
                    .map_err(setup)?
                    .map_err(|error| verify(format!("blob {hash}: {error}")))?
                    .ok_or_else(|| verify(format!("L1 does not serve blob {hash}")))?;
                blob_count += 1;
                l1_bytes += BYTES_PER_BLOB as u64;
                let payload =
                    decode_blob(&blob).map_err(|error| verify(format!("blob {hash}: {error}")))?;
                frames.extend(
                    parse_frames_payload(&payload)
                        .map_err(|error| verify(format!("blob {hash} frames: {error}")))?,
                );
            }
        }
    }
    let frame_count = frames.len() as u64;
    let (batches, channels, raw_bytes, compressed_bytes) =
        reassemble(frames, chain.rollup.max_channel_decompressed()).map_err(verify)?;
    if batches != chain.batches {
        let first = batches
            .iter()
            .zip(&chain.batches)
            .position(|(got, want)| got != want)
            .unwrap_or(batches.len().min(chain.batches.len()));
        return Err(verify(format!(
            "L1 holds {} batches, the chain has {}; first difference at batch {}",
            batches.len(),
            chain.batches.len(),
            first
        )));
    }
    let txs = chain.txs;
    let per_tx = |value: u64| value as f64 / txs.max(1) as f64;
    let cost_gwei =
        l1_gas as f64 * args.l1_base_fee_gwei + blob_gas as f64 * args.blob_base_fee_gwei;
    Ok(DaRow {
        workload,
        da,
        compression,
        txs,
        l2_blocks: chain.batches.len() as u64,
        channels,
        frames: frame_count,
        l1_txs,
        blobs: blob_count,
        raw_bytes,
        compressed_bytes,
        compression_ratio: raw_bytes as f64 / compressed_bytes.max(1) as f64,
        compressed_bytes_per_tx: per_tx(compressed_bytes),
        l1_bytes,
        l1_bytes_per_tx: per_tx(l1_bytes),
        l1_gas,
        l1_gas_per_tx: per_tx(l1_gas),
        blob_gas,
        blob_gas_per_tx: per_tx(blob_gas),
        l1_cost_gwei_per_tx: cost_gwei / txs.max(1) as f64,
    })
}

/// Channels from frames in L1 order: each frame once, numbered without gaps up to its last
/// frame, every channel complete. Returns the decoded batches (in the order channels complete),
/// the channel count, and the decompressed and compressed bytes.
fn reassemble(frames: Vec<Frame>, limit: usize) -> Result<(Vec<Batch>, u64, u64, u64), String> {
    let mut seen = HashSet::new();
    let mut open: BTreeMap<B256, Vec<Frame>> = BTreeMap::new();
    let mut complete = Vec::new();
    for frame in frames {
        if !seen.insert((frame.channel_id, frame.number)) {
            return Err(format!(
                "frame {} of channel {} is on L1 twice",
                frame.number, frame.channel_id
            ));
        }
        let key = B256::left_padding_from(frame.channel_id.as_slice());
        let last = frame.is_last;
        open.entry(key).or_default().push(frame);
        if last {
            complete.push(key);
        }
    }
    let (mut batches, mut raw_bytes, mut compressed_bytes) = (Vec::new(), 0, 0);
    for key in &complete {
        let mut frames = open.remove(key).unwrap_or_default();
        frames.sort_by_key(|frame| frame.number);
        if let Some(index) = frames
            .iter()
            .enumerate()
            .position(|(index, frame)| usize::from(frame.number) != index)
        {
            return Err(format!("channel {key} misses frame {index}"));
        }
        let data: Vec<u8> = frames
            .iter()
            .flat_map(|frame| frame.data.iter().copied())
            .collect();
        compressed_bytes += data.len() as u64;
        raw_bytes += decompress(&data, limit)
            .map_err(|error| format!("channel {key}: {error}"))?
            .len() as u64;
        batches.extend(
            decode_channel(&data, limit).map_err(|error| format!("channel {key}: {error}"))?,
        );
    }
    if let Some(key) = open.keys().next() {
        return Err(format!("channel {key} was never completed"));
    }
    Ok((batches, complete.len() as u64, raw_bytes, compressed_bytes))
}
