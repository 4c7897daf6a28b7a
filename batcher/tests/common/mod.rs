//! Test fixtures: a real L1 (npm anvil, Cancun, the settlement contracts deployed), a real L2
//! (the sequencer library writing blocks into a SQLite chain store), and a reader that takes the
//! batcher's inbox transactions back from anvil (calldata, and blobs through
//! `anvil_getBlobByHash`) and decodes them with the protocol codec.
#![allow(dead_code, unreachable_pub)]

use std::{
    collections::{BTreeMap, HashSet},
    net::SocketAddr,
    path::PathBuf,
    time::Duration,
};

use alloy::{
    consensus::{SignableTransaction, Transaction as _, TxEip1559},
    eips::{eip2718::Encodable2718, BlockNumberOrTag},
    network::TxSignerSync,
    node_bindings::{Anvil, AnvilInstance},
    primitives::{Address, Bytes, TxKind, B256, U256},
    providers::{DynProvider, Provider, ProviderBuilder},
    signers::local::PrivateKeySigner,
};
use parallax_batcher::{da::DaClient, Batcher, BatcherConfig, Metrics, TxManager, TxManagerConfig};
use parallax_contracts::{deploy, DeployConfig, Deployment};
use parallax_l1::{AnvilBlobs, RpcL1};
use parallax_protocol::{
    batch::Batch,
    blob::decode_blob,
    channel::decode_channel,
    frame::{parse_frames_payload, CalldataPayload, Frame},
    RollupConfig,
};
use parallax_sequencer::{follow::PipelineDeriver, origin::L1Origins};
use parallax_sequencer::{
    genesis::{dev_accounts, Genesis},
    node::{self, AdminConfig, NodeConfig, Roles, RunningNode},
    origin::FixedOrigin,
    rpc::admin::JwtSecret,
};
use parallax_state::store::{ChainStore, HeadKind, SqlStore};
use std::sync::Arc;

/// L2 block time of the test chains.
pub const L2_BLOCK_TIME_MS: u64 = 100;

/// anvil for the tests (see [`parallax_contracts::anvil_for_tests`]).
pub fn anvil_binary() -> Option<PathBuf> {
    parallax_contracts::anvil_for_tests()
}

/// anvil with the contracts deployed from the devnet configuration (proposals every 4 blocks of
/// 100 ms, the L2 genesis at the deployment time), and the rollup they settle.
pub struct L1 {
    pub anvil: AnvilInstance,
    pub provider: DynProvider,
    pub deployment: Deployment,
    pub config: DeployConfig,
    pub rollup: RollupConfig,
}

impl L1 {
    /// anvil on Cancun, mining on demand (each transaction is a block).
    pub async fn start() -> Option<Self> {
        Self::start_with(&[]).await
    }

    /// anvil on Cancun with extra arguments (e.g. `--block-time 1` for an L1 that moves on its
    /// own, as L1 origins need).
    pub async fn start_with(args: &[&str]) -> Option<Self> {
        Self::start_configured(args, |_| {}).await
    }

    /// As [`L1::start_with`], with the deployment configuration changed by `configure` (after
    /// the test defaults) before the contracts are deployed.
    pub async fn start_configured(
        args: &[&str],
        configure: impl FnOnce(&mut DeployConfig),
    ) -> Option<Self> {
        let binary = anvil_binary()?;
        let anvil = Anvil::at(binary)
            .args(["--hardfork", "cancun"])
            .args(args.iter().copied())
            .try_spawn()
            .expect("anvil starts");
        let deployer: PrivateKeySigner = anvil.keys()[0].clone().into();
        let deployer_provider = ProviderBuilder::new()
            .wallet(deployer)
            .connect_http(anvil.endpoint_url());
        let mut config: DeployConfig =
            serde_json::from_str(include_str!("../../../contracts/deploy/devnet.json"))
                .expect("devnet.json parses");
        config.proposal_interval = U256::from(4);
        config.l2_block_time_ms = U256::from(L2_BLOCK_TIME_MS);
        configure(&mut config);
        let deployment = deploy(&deployer_provider, &config)
            .await
            .expect("contracts deploy");
        let provider = ProviderBuilder::new()
            .connect_http(anvil.endpoint_url())
            .erased();
        // As the devnet does: derivation starts at the newest L1 block not newer than the L2
        // genesis time the oracle was given, so the oracle's L2 timestamps (its proposal timing
        // and the dispute game's header rule) are the chain's own.
        let anchor = deployment
            .genesis_anchor(&provider)
            .await
            .expect("genesis anchor");
        let rollup = deployment.rollup_config(&config, 901, anchor);
        Some(Self {
            anvil,
            provider,
            deployment,
            config,
            rollup,
        })
    }

    /// The devnet batcher key (anvil account 3).
    pub fn batcher_key(&self) -> PrivateKeySigner {
        let key: PrivateKeySigner = self.anvil.keys()[3].clone().into();
        assert_eq!(key.address(), self.config.batcher);
        key
    }

    /// The devnet proposer key (anvil account 4).
    pub fn proposer_key(&self) -> PrivateKeySigner {
        let key: PrivateKeySigner = self.anvil.keys()[4].clone().into();
        assert_eq!(key.address(), self.config.proposer);
        key
    }

    pub async fn rpc<
        R: serde::de::DeserializeOwned + std::fmt::Debug + Send + Sync + Unpin + 'static,
    >(
        &self,
        method: &'static str,
        params: serde_json::Value,
    ) -> R {
        self.provider
            .raw_request(method.into(), params)
            .await
            .unwrap_or_else(|error| panic!("{method}: {error}"))
    }

    /// Waits for `hash`'s receipt (automine includes a transaction shortly after accepting it).
    pub async fn receipt(&self, hash: B256) -> alloy::rpc::types::TransactionReceipt {
        for _ in 0..200 {
            if let Some(receipt) = self
                .provider
                .get_transaction_receipt(hash)
                .await
                .expect("receipt query")
            {
                return receipt;
            }
            tokio::time::sleep(Duration::from_millis(25)).await;
        }
        panic!("{hash} was not included");
    }

    pub async fn set_automine(&self, on: bool) {
        let _: serde_json::Value = self.rpc("evm_setAutomine", serde_json::json!([on])).await;
    }

    pub async fn mine(&self, blocks: u64) {
        let _: serde_json::Value = self.rpc("anvil_mine", serde_json::json!([blocks])).await;
    }

    /// The rollup configuration of this deployment (the test L2 runs it too).
    pub fn rollup(&self) -> RollupConfig {
        self.rollup.clone()
    }

    /// A tx manager for `key` on this L1.
    pub async fn txmgr(
        &self,
        store: SqlStore,
        key: PrivateKeySigner,
        config: TxManagerConfig,
    ) -> TxManager<SqlStore> {
        TxManager::new(store, self.provider.clone(), key, config)
            .await
            .expect("tx manager starts")
    }
}

/// A tx manager configuration for anvil: one confirmation, quick resubmission, anvil's tiny fees.
pub fn txmgr_config(purpose: &str) -> TxManagerConfig {
    TxManagerConfig {
        purpose: purpose.into(),
        confirmations: 1,
        resubmit_after: Duration::from_secs(3600),
        min_priority_fee: 1_000_000_000,
        ..TxManagerConfig::default()
    }
}

/// The sequencer running on a SQLite store in a temporary directory.
pub struct L2 {
    pub running: Option<RunningNode>,
    pub url: String,
    pub store: SqlStore,
    pub rpc: String,
    pub rollup: RollupConfig,
    _dir: tempfile::TempDir,
}

fn node_config(rollup: &RollupConfig) -> NodeConfig {
    let mut config = NodeConfig::new(rollup, SocketAddr::from(([127, 0, 0, 1], 0)));
    config.params.threads = 2;
    config
}

/// A node on the SQLite store at `url` running `rollup` with `roles`.
pub async fn start_node(url: &str, rollup: &RollupConfig, roles: Roles) -> RunningNode {
    start_node_configured(url, rollup, roles, |_| {}).await
}

/// As [`start_node`], with the node configuration changed by `configure` (e.g. an admin port).
pub async fn start_node_configured(
    url: &str,
    rollup: &RollupConfig,
    roles: Roles,
    configure: impl FnOnce(&mut NodeConfig),
) -> RunningNode {
    let mut config = node_config(rollup);
    configure(&mut config);
    node::start(
        SqlStore::open(url).await.expect("node store"),
        &Genesis::dev(rollup.genesis.l2_timestamp).expect("genesis"),
        config,
        roles,
    )
    .await
    .expect("node starts")
}

/// An admin port on a free loopback port, with a fixed test secret, for `configure`.
pub fn admin_config(secret: &JwtSecret) -> AdminConfig {
    AdminConfig {
        addr: SocketAddr::from(([127, 0, 0, 1], 0)),
        jwt_secret: secret.clone(),
    }
}

/// One call on a sequencer's admin port (fresh JWT); returns the JSON-RPC reply object.
pub async fn admin_call(
    addr: SocketAddr,
    secret: &JwtSecret,
    method: &str,
    params: serde_json::Value,
) -> serde_json::Value {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .expect("clock")
        .as_secs();
    reqwest::Client::new()
        .post(format!("http://{addr}"))
        .bearer_auth(secret.token(now))
        .json(&serde_json::json!({"jsonrpc": "2.0", "id": 1, "method": method, "params": params}))
        .send()
        .await
        .expect("admin port answers")
        .json()
        .await
        .expect("JSON reply")
}

impl L2 {
    /// A sequencer of `rollup` that keeps the genesis L1 block as origin (no L1 reads).
    pub async fn start(rollup: &RollupConfig) -> Self {
        Self::start_with(rollup, Roles::sequencer(Box::new(FixedOrigin::new(rollup)))).await
    }

    /// A sequencer of `l1`'s rollup that follows its L1 origins and derives its safe head.
    pub async fn sequencer_on(l1: &L1) -> Self {
        Self::sequencer_configured(l1, |_| {}).await
    }

    /// As [`L2::sequencer_on`], with the node configuration changed by `configure`.
    pub async fn sequencer_configured(l1: &L1, configure: impl FnOnce(&mut NodeConfig)) -> Self {
        let rollup = l1.rollup();
        let source = Arc::new(RpcL1::connect(l1.anvil.endpoint().as_str()).expect("L1 client"));
        let origins = L1Origins::new(source, Arc::new(rollup.clone()), 0);
        Self::start_configured(
            &rollup,
            Roles {
                sequencer: Some(Box::new(origins)),
                derivation: Some(deriver(l1, &rollup)),
            },
            configure,
        )
        .await
    }

    /// A replica of `l1`'s rollup: every block derived from L1 alone.
    pub async fn replica_of(l1: &L1) -> Self {
        let rollup = l1.rollup();
        Self::start_with(
            &rollup,
            Roles {
                sequencer: None,
                derivation: Some(deriver(l1, &rollup)),
            },
        )
        .await
    }

    /// A node of `rollup` with `roles`.
    pub async fn start_with(rollup: &RollupConfig, roles: Roles) -> Self {
        Self::start_configured(rollup, roles, |_| {}).await
    }

    /// A node of `rollup` with `roles` and the node configuration changed by `configure`.
    pub async fn start_configured(
        rollup: &RollupConfig,
        roles: Roles,
        configure: impl FnOnce(&mut NodeConfig),
    ) -> Self {
        let dir = tempfile::tempdir().expect("temp dir");
        let url = format!("sqlite:{}", dir.path().join("chain.db").display());
        let running = start_node_configured(&url, rollup, roles, configure).await;
        let rpc = format!("http://{}", running.rpc_addr);
        // The batcher's own connection pool, as a second process would open it.
        let store = SqlStore::open(&url).await.expect("batcher store");
        Self {
            running: Some(running),
            url,
            store,
            rpc,
            rollup: rollup.clone(),
            _dir: dir,
        }
    }

    /// Sends `per_sender` transactions from each of `senders` dev accounts (32 bytes of calldata
    /// each, so batches carry some entropy) and waits until all are included.
    pub async fn transact(&self, senders: usize, per_sender: u64, first_nonce: u64) {
        self.send(senders, per_sender, first_nonce, true).await
    }

    /// Plain ETH transfers (no calldata), the most common L2 transaction.
    pub async fn transfer(&self, senders: usize, per_sender: u64, first_nonce: u64) {
        self.send(senders, per_sender, first_nonce, false).await
    }

    async fn send(&self, senders: usize, per_sender: u64, first_nonce: u64, with_data: bool) {
        let provider = ProviderBuilder::new().connect_http(self.rpc.parse().expect("url"));
        let accounts = dev_accounts().expect("dev accounts");
        let mut hashes = Vec::new();
        for nonce in first_nonce..first_nonce + per_sender {
            for account in accounts.iter().take(senders) {
                let key = PrivateKeySigner::from_bytes(&account.private_key).expect("key");
                let mut data = [0u8; 32];
                data[..8].copy_from_slice(&nonce.to_be_bytes());
                data[8..28].copy_from_slice(account.address.as_slice());
                let mut tx = TxEip1559 {
                    chain_id: 901,
                    nonce,
                    gas_limit: if with_data { 30_000 } else { 21_000 },
                    max_fee_per_gas: 1_000_000_000,
                    max_priority_fee_per_gas: 1_000_000,
                    to: TxKind::Call(Address::with_last_byte((nonce % 251) as u8 + 1)),
                    value: U256::from(1_000 + nonce),
                    input: if with_data {
                        Bytes::copy_from_slice(&data)
                    } else {
                        Bytes::new()
                    },
                    ..Default::default()
                };
                let signature = key.sign_transaction_sync(&mut tx).expect("signs");
                let raw = tx.into_signed(signature).encoded_2718();
                let pending = provider
                    .send_raw_transaction(&raw)
                    .await
                    .expect("L2 accepts the transaction");
                hashes.push(*pending.tx_hash());
            }
        }
        for hash in hashes {
            let mut waited = 0;
            while provider
                .get_transaction_receipt(hash)
                .await
                .expect("receipt query")
                .is_none()
            {
                waited += 1;
                assert!(waited < 300, "L2 transaction {hash} not included");
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
        }
    }

    /// Starts the sequencer again on the same store (after [`stop`](Self::stop)) and returns
    /// its RPC URL.
    pub async fn restart_rpc(&mut self) -> String {
        self.stop().await;
        let running = start_node(
            &self.url,
            &self.rollup,
            Roles::sequencer(Box::new(FixedOrigin::new(&self.rollup))),
        )
        .await;
        self.rpc = format!("http://{}", running.rpc_addr);
        self.running = Some(running);
        self.rpc.clone()
    }

    /// Stops block production; the store stays readable.
    pub async fn stop(&mut self) {
        if let Some(running) = self.running.take() {
            running.stop().await.expect("sequencer stops");
        }
    }

    pub async fn head(&self) -> u64 {
        self.store
            .head(HeadKind::Unsafe)
            .await
            .expect("head")
            .expect("genesis")
            .number
    }

    /// The batches of blocks `1..=last`, as the store holds the blocks.
    pub async fn expected_batches(&self, rollup: &RollupConfig, last: u64) -> Vec<Batch> {
        let mut batches = Vec::new();
        for number in 1..=last {
            let block = self
                .store
                .block(number)
                .await
                .expect("read")
                .expect("block");
            batches.push(Batch::from_block(
                block.header.parent_hash,
                block.l1_origin,
                rollup.l2_timestamp_ms(number).expect("scheduled"),
                block.transactions.iter().map(|tx| &tx.raw),
            ));
        }
        batches
    }
}

/// One batcher transaction read back from L1.
#[derive(Debug)]
pub struct InboxPost {
    pub l1_block: u64,
    pub hash: B256,
    pub blobs: usize,
    pub calldata: Bytes,
    pub gas_used: u64,
    /// Frames carried in calldata or blobs (none for a Celestia pointer).
    pub frames: Vec<Frame>,
}

/// Every transaction from `batcher` to `inbox` on L1, in chain order, with its frames decoded
/// from calldata or from its blobs (fetched with `anvil_getBlobByHash` and checked against the
/// versioned hash by anvil).
pub async fn read_inbox(l1: &L1, inbox: Address, batcher: Address) -> Vec<InboxPost> {
    let head = l1.provider.get_block_number().await.expect("head");
    let mut posts = Vec::new();
    for number in 0..=head {
        let block = l1
            .provider
            .get_block_by_number(BlockNumberOrTag::Number(number))
            .full()
            .await
            .expect("block")
            .expect("block exists");
        for tx in block.transactions.as_transactions().unwrap_or_default() {
            if tx.to() != Some(inbox) || tx.inner.signer() != batcher {
                continue;
            }
            let hash = *tx.inner.tx_hash();
            let receipt = l1
                .provider
                .get_transaction_receipt(hash)
                .await
                .expect("receipt query")
                .expect("receipt");
            let mut frames = Vec::new();
            let versioned = tx.blob_versioned_hashes().unwrap_or_default().to_vec();
            if versioned.is_empty() {
                let payload = CalldataPayload::parse(tx.input()).expect("known calldata version");
                if let CalldataPayload::Frames(payload) = payload {
                    frames.extend(parse_frames_payload(&payload).expect("calldata frames parse"));
                }
            } else {
                for versioned_hash in &versioned {
                    let blob: Bytes = l1
                        .rpc("anvil_getBlobByHash", serde_json::json!([versioned_hash]))
                        .await;
                    let payload = decode_blob(&blob).expect("blob unpacks");
                    frames.extend(parse_frames_payload(&payload).expect("blob frames parse"));
                }
            }
            posts.push(InboxPost {
                l1_block: number,
                hash,
                blobs: versioned.len(),
                calldata: tx.input().clone(),
                gas_used: receipt.gas_used,
                frames,
            });
        }
    }
    posts
}

/// Reassembles channels from `posts` (asserting no frame appears twice) and decodes their
/// batches, in the order channels complete.
pub fn decode_batches(posts: &[InboxPost], rollup: &RollupConfig) -> Vec<Batch> {
    let mut seen = HashSet::new();
    let mut channels: BTreeMap<B256, Vec<Frame>> = BTreeMap::new();
    let mut order = Vec::new();
    for frame in posts.iter().flat_map(|post| &post.frames) {
        assert!(
            seen.insert((frame.channel_id, frame.number)),
            "frame {} of channel {} posted twice",
            frame.number,
            frame.channel_id
        );
        let key = B256::left_padding_from(frame.channel_id.as_slice());
        let frames = channels.entry(key).or_default();
        frames.push(frame.clone());
        if frame.is_last {
            order.push(key);
        }
    }
    let mut batches = Vec::new();
    for key in order {
        let mut frames = channels.remove(&key).expect("channel");
        frames.sort_by_key(|frame| frame.number);
        for (index, frame) in frames.iter().enumerate() {
            assert_eq!(usize::from(frame.number), index, "channel {key} has a gap");
        }
        let data: Vec<u8> = frames
            .iter()
            .flat_map(|frame| frame.data.to_vec())
            .collect();
        batches.extend(
            decode_channel(&data, rollup.max_channel_decompressed()).expect("channel decodes"),
        );
    }
    assert!(
        channels.is_empty(),
        "incomplete channels left: {channels:?}"
    );
    batches
}

/// Derivation from `l1` (calldata, and blobs read back from anvil) for a node of `rollup`.
pub fn deriver(l1: &L1, rollup: &RollupConfig) -> Box<PipelineDeriver<RpcL1, AnvilBlobs>> {
    let source = Arc::new(RpcL1::connect(l1.anvil.endpoint().as_str()).expect("L1 client"));
    let blobs = Arc::new(AnvilBlobs::new(source.clone()));
    Box::new(PipelineDeriver::new(
        Arc::new(rollup.clone()),
        source,
        blobs,
        &rollup.genesis_block_info(),
    ))
}

/// The batcher of `l2` posting through `da`, posting every block at once (no channel wait).
pub async fn batcher<D: DaClient>(l1: &L1, l2: &L2, da: D) -> Batcher<SqlStore, D> {
    let txmgr = l1
        .txmgr(l2.store.clone(), l1.batcher_key(), txmgr_config("batcher"))
        .await;
    Batcher::new(
        l2.store.clone(),
        da,
        txmgr,
        BatcherConfig {
            poll_interval: Duration::from_millis(50),
            max_channel_duration: Duration::ZERO,
            ..BatcherConfig::new(l2.rollup.clone())
        },
        Arc::new(Metrics::default()),
    )
    .await
    .expect("batcher starts")
}

/// Test logs (`RUST_LOG=info` shows the nodes', the batcher's and the DA servers' logs).
pub fn init_logs() {
    let _ = tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::from_default_env())
        .with_test_writer()
        .try_init();
}

/// The number of `store`'s safe head (0 before it has one).
pub async fn safe_head(store: &SqlStore) -> u64 {
    store
        .head(HeadKind::Safe)
        .await
        .expect("safe head")
        .map_or(0, |head| head.number)
}

/// Waits (up to a minute) until `node`'s safe head reaches `target`; returns where it got.
pub async fn wait_safe(node: &L2, target: u64) -> u64 {
    let mut safe = 0;
    for _ in 0..240 {
        safe = safe_head(&node.store).await;
        if safe >= target {
            break;
        }
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
    safe
}

/// Waits until `replica` has derived `through`, then checks its blocks 1..=through equal
/// `sequencer`'s: hashes and state roots.
pub async fn assert_same_chain(sequencer: &L2, replica: &L2, through: u64) {
    let safe = wait_safe(replica, through).await;
    assert!(
        safe >= through,
        "replica derived up to {safe}, posted up to {through}"
    );
    for number in 1..=through {
        let ours = sequencer
            .store
            .header(number)
            .await
            .expect("read")
            .expect("sequenced");
        let derived = replica
            .store
            .header(number)
            .await
            .expect("read")
            .expect("derived");
        assert_eq!(derived.hash, ours.hash, "block {number} differs");
        assert_eq!(
            derived.header.state_root, ours.header.state_root,
            "state root of block {number}"
        );
    }
}

/// A signed L2 EIP-1559 transaction from dev account `sender` carrying `data`, 1 wei to
/// `0x…b0`, paying up to 1 gwei per gas.
pub fn signed_l2_tx(sender: usize, nonce: u64, data: Vec<u8>) -> Bytes {
    let account = &dev_accounts().expect("dev accounts")[sender];
    let key = PrivateKeySigner::from_bytes(&account.private_key).expect("key");
    let mut tx = TxEip1559 {
        chain_id: 901,
        nonce,
        gas_limit: 21_000 + 16 * data.len() as u64 + 10_000,
        max_fee_per_gas: 1_000_000_000,
        max_priority_fee_per_gas: 1_000_000,
        to: TxKind::Call(Address::with_last_byte(0xb0)),
        value: U256::from(1),
        input: Bytes::from(data),
        ..Default::default()
    };
    let signature = key.sign_transaction_sync(&mut tx).expect("signs");
    tx.into_signed(signature).encoded_2718().into()
}

/// `eth_sendRawTransaction` on an L2 JSON-RPC: the hash, or the JSON-RPC error object (so tests
/// can check its code).
pub async fn send_raw(rpc: &str, raw: &Bytes) -> Result<B256, serde_json::Value> {
    let reply: serde_json::Value = reqwest::Client::new()
        .post(rpc)
        .json(&serde_json::json!({
            "jsonrpc": "2.0", "id": 1, "method": "eth_sendRawTransaction", "params": [raw]
        }))
        .send()
        .await
        .expect("L2 answers")
        .json()
        .await
        .expect("JSON reply");
    match reply.get("error") {
        Some(error) => Err(error.clone()),
        None => Ok(serde_json::from_value(reply["result"].clone()).expect("hash")),
    }
}

/// Polls `condition` every 100 ms until it holds; panics naming `what` after `timeout`.
pub async fn wait_until<F: std::future::Future<Output = bool>>(
    what: &str,
    timeout: Duration,
    mut condition: impl FnMut() -> F,
) {
    let started = std::time::Instant::now();
    while !condition().await {
        assert!(started.elapsed() < timeout, "timed out waiting for {what}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}
