//! Running a sequencer: open the store and chain, serve JSON-RPC, produce a block every
//! `block_time`, shut down cleanly.

use std::{net::SocketAddr, sync::Arc, time::Duration};

use parallax_protocol::RollupConfig;
use parallax_state::store::{ChainStore, HeadKind, Rewound, StoreError, StoredTransaction};
use tokio::{net::TcpListener, sync::Mutex};

use alloy_consensus::{transaction::SignerRecoverable, TxEnvelope};
use alloy_eips::eip2718::Decodable2718;
use alloy_primitives::B256;

use crate::{
    chain::{next_base_fee, Chain, ChainError, ChainParams},
    follow::{follow, Deriver, FollowError, FollowMode},
    genesis::Genesis,
    journal::Journal,
    mempool::{Mempool, PoolConfig, PoolError, PooledTx},
    metrics::Metrics,
    origin::{OriginError, OriginSelector},
    rpc::{
        admin::{admin_router, AdminApi, JwtSecret, SequencerControl},
        router, EthApi, Events, RpcLimits,
    },
};

/// The authenticated admin port (design §7).
#[derive(Clone, Debug)]
pub struct AdminConfig {
    /// Where the admin JSON-RPC listens.
    pub addr: SocketAddr,
    /// The secret admin JWTs are signed with.
    pub jwt_secret: JwtSecret,
}

/// How to run the node.
#[derive(Clone, Debug)]
pub struct NodeConfig {
    /// Chain parameters.
    pub params: ChainParams,
    /// Address the JSON-RPC server listens on.
    pub http_addr: SocketAddr,
    /// RPC limits.
    pub limits: RpcLimits,
    /// `Access-Control-Allow-Origin` for browsers (None: no CORS header).
    pub cors_origin: Option<String>,
    /// Tip suggested by `eth_maxPriorityFeePerGas`.
    pub suggested_tip: u128,
    /// Pool limits.
    pub pool: PoolConfig,
    /// Where Prometheus metrics are served (`/metrics`); `None` disables them.
    pub metrics_addr: Option<SocketAddr>,
    /// The admin port; `None`: no admin RPC.
    pub admin: Option<AdminConfig>,
    /// Whether the sequencer seals blocks from the start (an operator may start it stopped and
    /// start sequencing over the admin RPC).
    pub sequencer_active: bool,
    /// Unposted DA bytes (reported by the batcher on the admin port) above which new
    /// transactions are refused; 0: no limit.
    pub max_da_backlog: u64,
}

impl NodeConfig {
    /// A node of `rollup` serving JSON-RPC on `http_addr`: Block-STM on every core, the default
    /// RPC limits and pool limits, the rollup's chain id and fee floor, no CORS header, no
    /// metrics. Callers change what they need.
    pub fn new(rollup: &RollupConfig, http_addr: SocketAddr) -> Self {
        Self {
            params: ChainParams {
                rollup: rollup.clone(),
                threads: std::thread::available_parallelism().map_or(1, |n| n.get()),
            },
            http_addr,
            limits: RpcLimits::default(),
            cors_origin: None,
            suggested_tip: 1_000_000,
            pool: PoolConfig {
                chain_id: rollup.l2_chain_id,
                max_tx_gas: rollup.max_tx_gas,
                min_base_fee: rollup.min_base_fee,
                ..Default::default()
            },
            metrics_addr: None,
            admin: None,
            sequencer_active: true,
            max_da_backlog: 0,
        }
    }
}

/// Why the node stopped.
#[derive(Debug, thiserror::Error)]
pub enum NodeError {
    /// The chain failed.
    #[error(transparent)]
    Chain(#[from] ChainError),
    /// The store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// The listener failed.
    #[error("RPC server: {0}")]
    Io(#[from] std::io::Error),
    /// Derivation failed.
    #[error(transparent)]
    Follow(#[from] FollowError),
}

/// What the node does besides serving RPC.
pub struct Roles {
    /// Sequence blocks, taking L1 origins from this selector; `None` for a replica, whose
    /// blocks all come from derivation and whose RPC refuses transactions.
    pub sequencer: Option<Box<dyn OriginSelector>>,
    /// Derive from L1: a replica builds its chain this way; a sequencer advances its `safe` and
    /// `finalized` heads with it. `None`: no L1 (dev mode), heads stay at genesis.
    pub derivation: Option<Box<dyn Deriver>>,
}

impl Roles {
    /// A sequencer without derivation (dev mode, benchmarks).
    pub fn sequencer(origins: Box<dyn OriginSelector>) -> Self {
        Self {
            sequencer: Some(origins),
            derivation: None,
        }
    }
}

/// A started node: its RPC address, and a handle that stops it.
#[derive(Debug)]
pub struct RunningNode {
    /// Where JSON-RPC is served.
    pub rpc_addr: SocketAddr,
    /// Where metrics are served, if enabled.
    pub metrics_addr: Option<SocketAddr>,
    /// Where the admin RPC is served, if enabled.
    pub admin_addr: Option<SocketAddr>,
    shutdown: tokio::sync::watch::Sender<bool>,
    tasks: Vec<tokio::task::JoinHandle<Result<(), NodeError>>>,
}

impl RunningNode {
    /// Stops producing blocks and serving, and waits for both.
    pub async fn stop(self) -> Result<(), NodeError> {
        let _ = self.shutdown.send(true);
        self.wait().await
    }

    /// Resolves when the node is stopping (a task failed, or [`RunningNode::stop`] was called);
    /// then [`RunningNode::stop`] returns the failure.
    pub fn stopping(&self) -> impl std::future::Future<Output = ()> + Send + 'static {
        let mut stop = self.shutdown.subscribe();
        async move {
            let _ = stop.wait_for(|stop| *stop).await;
        }
    }

    /// Waits until the node stops (on error, or after [`RunningNode::stop`]).
    pub async fn wait(self) -> Result<(), NodeError> {
        for task in self.tasks {
            match task.await {
                Ok(result) => result?,
                Err(error) => return Err(NodeError::Io(std::io::Error::other(error))),
            }
        }
        Ok(())
    }
}

/// Wall-clock time in milliseconds since the Unix epoch.
pub fn now_millis() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |elapsed| elapsed.as_millis() as u64)
}

/// The genesis time of a chain in `store`: the stored genesis block's, or now for a new chain
/// (a development chain starts its block schedule when it is first started).
pub async fn genesis_time<S: ChainStore>(store: &S) -> Result<u64, StoreError> {
    Ok(match store.header(0).await? {
        Some(genesis) => genesis.header.timestamp,
        None => now_millis() / 1000,
    })
}

/// Gas the user deposits of a block may use: reserved before pool transactions are chosen.
fn deposit_gas(attributes: &parallax_protocol::derive::PayloadAttributes) -> u64 {
    attributes.transactions[..attributes.deposit_count.min(attributes.transactions.len())]
        .iter()
        .filter_map(|raw| parallax_protocol::deposit::DepositTx::decode(raw).ok())
        .filter(|deposit| !deposit.is_system)
        .map(|deposit| deposit.gas_limit)
        .sum()
}

/// Reloads the pool journal into the pool, re-validating every transaction against the current
/// state; what no longer fits (included, replaced, unaffordable) is forgotten.
async fn restore_journal<S: ChainStore>(
    chain: &Chain<S>,
    pool: &Mutex<Mempool>,
) -> Result<(), NodeError> {
    let journaled = chain.store().pending_transactions().await?;
    if journaled.is_empty() {
        return Ok(());
    }
    let (restored, forgotten) = readmit(chain, pool, journaled).await?;
    tracing::info!(restored, forgotten, "pool journal reloaded");
    Ok(())
}

/// Puts journaled transactions (after a restart, or from blocks an L2 reorg dropped) back into
/// the pool, validated against the current state. Those that no longer fit are forgotten, also
/// in the journal. Returns how many were admitted and forgotten.
async fn readmit<S: ChainStore>(
    chain: &Chain<S>,
    pool: &Mutex<Mempool>,
    transactions: Vec<StoredTransaction>,
) -> Result<(usize, usize), NodeError> {
    let state = chain.state();
    let state = state.read().await;
    let mut pool = pool.lock().await;
    let mut stale = Vec::new();
    let mut admitted = 0;
    for stored in transactions {
        let decoded = TxEnvelope::decode_2718(&mut stored.raw.as_ref())
            .ok()
            .filter(|envelope| envelope.recover_signer().ok() == Some(stored.sender));
        let Some(envelope) = decoded else {
            stale.push(stored.hash);
            continue;
        };
        let (nonce, balance) = state
            .world
            .account(&stored.sender)
            .map_or((0, alloy_primitives::U256::ZERO), |account| {
                (account.nonce, account.balance)
            });
        let pooled = PooledTx {
            hash: stored.hash,
            sender: stored.sender,
            envelope: Arc::new(envelope),
            raw: stored.raw,
            arrival: 0,
        };
        match pool.insert(pooled, nonce, balance) {
            Ok(_) => admitted += 1,
            Err(PoolError::AlreadyKnown) => {}
            Err(_) => stale.push(stored.hash),
        }
    }
    drop(pool);
    drop(state);
    let forgotten = stale.len();
    chain.store().remove_pending_transactions(&stale).await?;
    Ok((admitted, forgotten))
}

/// The newest block at or above the safe head whose L1 origin is still canonical: where the
/// chain goes back to when L1 reorged the head's origin away.
async fn last_on_canonical_l1<S: ChainStore>(
    chain: &Chain<S>,
    selector: &mut Option<Box<dyn OriginSelector>>,
) -> Result<u64, NodeError> {
    let safe = chain
        .store()
        .head(HeadKind::Safe)
        .await?
        .map_or(0, |head| head.number);
    let mut number = chain.state().read().await.head.header.number;
    while number > safe {
        let block = chain
            .store()
            .block(number)
            .await?
            .ok_or(StoreError::UnknownBlock(number))?;
        let Some(origins) = selector.take() else {
            break;
        };
        let origin = block.l1_origin;
        let (origins, canonical) = tokio::task::spawn_blocking(move || {
            let canonical = origins.is_canonical(origin);
            (origins, canonical)
        })
        .await
        .map_err(|error| NodeError::Io(std::io::Error::other(error)))?;
        *selector = Some(origins);
        if canonical != Some(false) {
            break;
        }
        number -= 1;
    }
    Ok(number)
}

/// Opens the chain in `store` (writing `genesis` if it is empty) and starts the block producer
/// and the RPC server.
pub async fn start<S: ChainStore>(
    store: S,
    genesis: &Genesis,
    config: NodeConfig,
    roles: Roles,
) -> Result<RunningNode, NodeError> {
    let block_time = Duration::from_millis(config.params.rollup.block_time_ms.max(100));
    let chain = Arc::new(Chain::open(store, config.params.clone(), genesis).await?);
    let pool = Arc::new(Mutex::new(Mempool::new(config.pool.clone())));
    restore_journal(&chain, &pool).await?;
    let journal = Journal::spawn(chain.store().clone());
    let events = Events::default();
    let metrics = Arc::new(Metrics::default());
    let Roles {
        sequencer: origins,
        derivation,
    } = roles;
    let replica = origins.is_none();
    let api = EthApi::new(
        chain.clone(),
        pool.clone(),
        journal,
        events.clone(),
        metrics.clone(),
        config.limits.clone(),
        config.cors_origin.clone(),
        config.suggested_tip,
    );
    let control = Arc::new(SequencerControl::new(config.sequencer_active));
    control.set_max_da_backlog(config.max_da_backlog);
    let api = Arc::new(if replica {
        api.read_only()
    } else {
        api.with_control(control.clone())
    });
    let listener = TcpListener::bind(config.http_addr).await?;
    let rpc_addr = listener.local_addr()?;
    let (shutdown, mut stopped) = tokio::sync::watch::channel(false);

    let mut server_stop = shutdown.subscribe();
    let server = tokio::spawn(async move {
        axum::serve(listener, router(api))
            .with_graceful_shutdown(async move {
                let _ = server_stop.wait_for(|stop| *stop).await;
            })
            .await?;
        Ok(())
    });

    let mut tasks = vec![server];
    let mut metrics_addr = None;
    if let Some(addr) = config.metrics_addr {
        let listener = TcpListener::bind(addr).await?;
        metrics_addr = Some(listener.local_addr()?);
        let metrics = metrics.clone();
        let mut metrics_stop = shutdown.subscribe();
        let app = axum::Router::new().route(
            "/metrics",
            axum::routing::get(move || {
                let metrics = metrics.clone();
                async move {
                    (
                        [(
                            axum::http::header::CONTENT_TYPE,
                            "text/plain; version=0.0.4",
                        )],
                        metrics.render(),
                    )
                }
            }),
        );
        tasks.push(tokio::spawn(async move {
            axum::serve(listener, app)
                .with_graceful_shutdown(async move {
                    let _ = metrics_stop.wait_for(|stop| *stop).await;
                })
                .await?;
            Ok(())
        }));
    }

    // Transactions of blocks an L2 reorg dropped go back into the pool (the journal has them).
    let (to_pool, mut returned) = tokio::sync::mpsc::unbounded_channel::<Vec<StoredTransaction>>();
    if !replica {
        let chain = chain.clone();
        let pool = pool.clone();
        tasks.push(tokio::spawn(async move {
            while let Some(transactions) = returned.recv().await {
                let (admitted, forgotten) = readmit(&chain, &pool, transactions).await?;
                tracing::info!(
                    admitted,
                    forgotten,
                    "transactions of replaced blocks are pending again"
                );
            }
            Ok(())
        }));
    }
    let mut admin_addr = None;
    if let (Some(admin), false) = (&config.admin, replica) {
        let listener = TcpListener::bind(admin.addr).await?;
        admin_addr = Some(listener.local_addr()?);
        let state = chain.state();
        let api = Arc::new(AdminApi::new(
            control.clone(),
            move || {
                let state = state.clone();
                Box::pin(async move {
                    let hash = state.read().await.head.hash;
                    hash
                })
            },
            admin.jwt_secret.clone(),
        ));
        let mut admin_stop = shutdown.subscribe();
        tasks.push(tokio::spawn(async move {
            axum::serve(listener, admin_router(api))
                .with_graceful_shutdown(async move {
                    let _ = admin_stop.wait_for(|stop| *stop).await;
                })
                .await?;
            Ok(())
        }));
    }

    if let Some(deriver) = derivation {
        let mode = if replica {
            FollowMode::Replica
        } else {
            FollowMode::Verify
        };
        let chain = chain.clone();
        let stop = shutdown.subscribe();
        let failed = shutdown.clone();
        let to_pool = (!replica).then(|| to_pool.clone());
        tasks.push(tokio::spawn(async move {
            let result = follow(chain, deriver, mode, block_time, stop, to_pool).await;
            if let Err(error) = &result {
                tracing::error!(%error, "derivation failed; stopping");
                let _ = failed.send(true);
            }
            result.map_err(NodeError::from)
        }));
    }
    let Some(origins) = origins else {
        return Ok(RunningNode {
            rpc_addr,
            metrics_addr,
            admin_addr,
            shutdown,
            tasks,
        });
    };
    let producer_stop = shutdown.clone();
    let producer = tokio::spawn(async move {
        let mut origins = Some(origins);
        loop {
            if !control.is_active() {
                // Stopped over the admin RPC: RPC and the pool go on; no block is sealed.
                let stopping = async { stopped.wait_for(|stop| *stop).await.is_ok() };
                tokio::select! {
                    () = control.wait_active() => {}
                    _ = stopping => return Ok(()),
                }
            }
            let stopping = async { stopped.wait_for(|stop| *stop).await.is_ok() };
            // Blocks follow the rollup's fixed schedule: wait until the next one is due (a
            // restarted sequencer that is behind catches up without waiting).
            let head = chain.state().read().await.head.clone();
            let number = head.header.number + 1;
            let Some(due_ms) = chain.params().rollup.l2_timestamp_ms(number) else {
                tracing::error!(number, "block time overflows; stopping");
                let _ = producer_stop.send(true);
                return Ok(());
            };
            let wait = Duration::from_millis(due_ms.saturating_sub(now_millis()));
            tokio::select! {
                () = tokio::time::sleep(wait) => {}
                _ = stopping => return Ok(()),
            }
            // From here until the block is sealed, a stop waits for this block.
            let _sealing = control.sealing().await;
            if !control.is_active() {
                continue;
            }
            let Some(mut selector) = origins.take() else {
                return Ok(());
            };
            let info = head.info;
            let (selector, origin) = tokio::task::spawn_blocking(move || {
                let origin = selector.select(&info, due_ms);
                (selector, origin)
            })
            .await
            .map_err(|error| NodeError::Io(std::io::Error::other(error)))?;
            origins = Some(selector);
            let origin = match origin {
                Ok(origin) => origin,
                Err(OriginError::Reorged { origin }) => {
                    // L1 dropped the head's origin: so must the chain. Its user transactions
                    // go back to the pool and are sequenced again on the canonical L1.
                    let to = last_on_canonical_l1(&chain, &mut origins).await?;
                    if to < head.header.number {
                        tracing::warn!(?origin, back_to = to, "L1 reorged the head's origin away");
                        let transactions = chain.rewind(to, Rewound::ReturnToPool).await?;
                        let _ = to_pool.send(transactions);
                    }
                    continue;
                }
                Err(error) => {
                    tracing::error!(%error, "no L1 origin for the next block; retrying");
                    tokio::time::sleep(block_time).await;
                    continue;
                }
            };
            let attributes = chain.attributes(&head, &origin)?;
            let candidates = if origin.include_transactions {
                let state = chain.state();
                let state = state.read().await;
                let base_fee = next_base_fee(
                    &state.head.header,
                    attributes.eip1559,
                    attributes.min_base_fee,
                );
                pool.lock().await.select(
                    base_fee,
                    attributes
                        .gas_limit
                        .saturating_sub(deposit_gas(&attributes)),
                    |sender| {
                        state
                            .world
                            .account(sender)
                            .map_or(0, |account| account.nonce)
                    },
                )
            } else {
                Vec::new()
            };
            let building = std::time::Instant::now();
            let sealed = match chain.seal_next(&attributes, candidates).await {
                Ok(sealed) => sealed,
                Err(ChainError::HeadMoved { .. }) => {
                    // Derivation replaced the head while this block was built: build again.
                    continue;
                }
                Err(error) => {
                    // Never serve a chain that stopped advancing: take the RPC server down too.
                    tracing::error!(%error, "block production failed; stopping");
                    let _ = producer_stop.send(true);
                    return Err(error.into());
                }
            };
            let mut pool = pool.lock().await;
            let mut forgotten: Vec<B256> =
                sealed.block.transactions.iter().map(|tx| tx.hash).collect();
            for (hash, reason) in &sealed.dropped {
                tracing::warn!(%hash, %reason, "dropped transaction");
                forgotten.extend(pool.remove_with_descendants(hash));
            }
            let state = chain.state();
            let state = state.read().await;
            let senders: Vec<_> = sealed
                .block
                .transactions
                .iter()
                .map(|tx| tx.sender)
                .collect();
            pool.remove_stale(&senders, |sender| {
                state
                    .world
                    .account(sender)
                    .map_or(0, |account| account.nonce)
            });
            Metrics::add(
                &metrics.block_build_micros,
                building.elapsed().as_micros() as u64,
            );
            Metrics::add(&metrics.blocks_sealed, 1);
            Metrics::set(&metrics.head_number, sealed.block.header.number);
            Metrics::add(
                &metrics.txs_included,
                sealed.block.transactions.len() as u64,
            );
            Metrics::add(&metrics.gas_used, sealed.block.header.gas_used);
            Metrics::add(&metrics.blockstm_executions, sealed.stats.executions);
            Metrics::add(&metrics.blockstm_aborts, sealed.stats.aborts);
            Metrics::add(
                &metrics.blockstm_sequential_blocks,
                u64::from(sealed.stats.fell_back_to_sequential),
            );
            Metrics::add(&metrics.txs_dropped, sealed.dropped.len() as u64);
            Metrics::set(&metrics.mempool_size, pool.len() as u64);
            let pooled = pool.len();
            // Trim the journal without holding the pool or the state: RPC goes on accepting.
            drop(pool);
            drop(state);
            if let Err(error) = chain.store().remove_pending_transactions(&forgotten).await {
                // Harmless: a restart re-validates the journal and drops what is stale.
                tracing::warn!(%error, "could not trim the pool journal");
            }
            // No subscriber is not an error.
            let _ = events.blocks.send(Arc::new(sealed.block.clone()));
            tracing::info!(
                number = sealed.block.header.number,
                txs = sealed.block.transactions.len(),
                gas = sealed.block.header.gas_used,
                l1_origin = attributes.l1_origin.number,
                aborts = sealed.stats.aborts,
                pool = pooled,
                "sealed block"
            );
        }
    });

    tasks.push(producer);
    Ok(RunningNode {
        rpc_addr,
        metrics_addr,
        admin_addr,
        shutdown,
        tasks,
    })
}
