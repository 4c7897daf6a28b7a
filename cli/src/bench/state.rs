//! `parallax bench state`: state-root maintenance and commit for one block of updates over a
//! large state.
//!
//! Builds a world of `accounts` accounts (every fourth with a few storage slots), then applies
//! one block that changes `updates` of them (balance, nonce, and a slot where they have
//! storage) and measures the incremental root update ([`WorldState::apply`] + root) against a
//! full recomputation of the same final state ([`MemoryState::state_root`]) in the same run. Both
//! roots must agree. Then, for each database asked for (SQLite in a temporary directory,
//! PostgreSQL at `--postgres-url`), it commits the genesis, then the block's new trie nodes as a
//! sealed block, and reports the split: hashing, collecting new nodes, database commit. The
//! committed state is read back through the store and must prove the same as in memory.

use std::time::Instant;

use alloy_consensus::Header;
use alloy_primitives::{Address, B256, U256};
use parallax_executor::{AccountBasic, AccountChange, StateChanges};
use parallax_state::{
    store::{
        BlockCommit, BlockRef, ChainStore, HistoricalState, SqlStore, StoreError, StoredBlock,
    },
    MemoryState, WorldState,
};
use rand::{rngs::StdRng, Rng, SeedableRng};
use serde::Serialize;

/// A database `parallax bench state` commits to.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum DbKind {
    /// A fresh SQLite file in a temporary directory (WAL, synchronous=FULL).
    Sqlite,
    /// A fresh database on the server at `--postgres-url`.
    Postgres,
}

/// Arguments of `parallax bench state`.
#[derive(Debug, clap::Args)]
pub struct StateArgs {
    /// Accounts in the state.
    #[arg(long, default_value_t = 100_000)]
    pub accounts: usize,
    /// Accounts changed by the measured block.
    #[arg(long, default_value_t = 20_000)]
    pub updates: usize,
    /// Seed of the generated state.
    #[arg(long, default_value_t = 1)]
    pub seed: u64,
    /// Databases to commit to (comma-separated; none = hashing only).
    #[arg(long, value_delimiter = ',', default_value = "sqlite")]
    pub db: Vec<DbKind>,
    /// PostgreSQL server for `--db postgres` (a database named `parallax_bench_<pid>` is
    /// created on it and dropped afterwards).
    #[arg(long, env = "PARALLAX_BENCH_POSTGRES_URL")]
    pub postgres_url: Option<String>,
    /// Print one JSON object instead of text.
    #[arg(long)]
    pub json: bool,
}

/// What committing to one database cost.
#[derive(Clone, Debug, Serialize)]
pub struct DbReport {
    /// Which database.
    pub backend: DbKind,
    /// Committing the genesis state (every node once).
    pub genesis_commit_ms: f64,
    /// Nodes in the genesis commit.
    pub genesis_nodes: usize,
    /// Committing the measured block's new nodes (one database transaction).
    pub block_commit_ms: f64,
    /// Hashing + collecting new nodes + database commit of the block.
    pub block_total_ms: f64,
    /// SQLite: until the block's WAL frames are in the database file, which the store copies on
    /// a background connection after the commit returned (timed from the commit's return).
    /// About 0 for PostgreSQL.
    pub checkpoint_ms: f64,
    /// Account updates per second, end to end.
    pub updates_per_sec: f64,
}

/// What `parallax bench state` measured.
#[derive(Clone, Debug, Serialize)]
pub struct StateReport {
    /// Accounts in the state.
    pub accounts: usize,
    /// Accounts the block changed.
    pub updates: usize,
    /// Building the initial world (all accounts inserted and hashed once).
    pub build_ms: f64,
    /// Applying the block incrementally and computing the new root.
    pub incremental_ms: f64,
    /// Recomputing the root of the same final state from scratch.
    pub full_recompute_ms: f64,
    /// `full_recompute_ms / incremental_ms`.
    pub incremental_speedup: f64,
    /// Account updates per second, incrementally (hashing only).
    pub updates_per_sec: f64,
    /// Listing the trie nodes the block created, for the store.
    pub collect_nodes_ms: f64,
    /// Nodes the block created.
    pub block_nodes: usize,
    /// Their total RLP size.
    pub block_node_bytes: usize,
    /// One entry per database.
    pub databases: Vec<DbReport>,
    /// The root both methods computed.
    pub root: B256,
}

impl StateReport {
    /// Human-readable form.
    pub fn to_text(&self) -> String {
        let mut text = format!(
            "state of {} accounts, block of {} account updates\n  \
             build            {:>10.1} ms\n  incremental      {:>10.1} ms   ({:.0} updates/s, hashing only)\n  \
             full recompute   {:>10.1} ms   (incremental is {:.1}x faster)\n  \
             collect nodes    {:>10.1} ms   ({} nodes, {} bytes)\n",
            self.accounts,
            self.updates,
            self.build_ms,
            self.incremental_ms,
            self.updates_per_sec,
            self.full_recompute_ms,
            self.incremental_speedup,
            self.collect_nodes_ms,
            self.block_nodes,
            self.block_node_bytes,
        );
        for db in &self.databases {
            text += &format!(
                "  {:<9} genesis commit {:.1} ms ({} nodes); block commit {:.1} ms; \
                 block total {:.1} ms = {:.0} updates/s (hashing {:.0}%, database {:.0}%); \
                 then checkpoint {:.1} ms (background)\n",
                format!("{:?}", db.backend).to_lowercase(),
                db.genesis_commit_ms,
                db.genesis_nodes,
                db.block_commit_ms,
                db.block_total_ms,
                db.updates_per_sec,
                100.0 * (db.block_total_ms - db.block_commit_ms) / db.block_total_ms,
                100.0 * db.block_commit_ms / db.block_total_ms,
                db.checkpoint_ms,
            );
        }
        text + &format!("  root {}\n", self.root)
    }
}

/// Why the benchmark failed.
#[derive(Debug, thiserror::Error)]
pub enum StateBenchError {
    /// The state roots of two independent implementations differed (a bug, never hidden).
    #[error("incremental root {incremental} != full recomputation {full}")]
    RootMismatch {
        /// Root from [`WorldState`].
        incremental: B256,
        /// Root from [`MemoryState`].
        full: B256,
    },
    /// The store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// State read back from the store differs from the in-memory state.
    #[error("{backend:?}: account {address} reads back differently from the store")]
    ReadBack {
        /// Which database.
        backend: DbKind,
        /// The account.
        address: Address,
    },
    /// `--db postgres` without a server.
    #[error("--db postgres needs --postgres-url (or PARALLAX_BENCH_POSTGRES_URL)")]
    NoPostgresUrl,
    /// Temporary directory or runtime setup failed.
    #[error(transparent)]
    Io(#[from] std::io::Error),
}

fn account_address(index: usize) -> Address {
    let mut bytes = [0u8; 20];
    bytes[..8].copy_from_slice(&(index as u64).to_be_bytes());
    bytes[8] = 0xa1;
    Address::from(bytes)
}

/// A header-only block committing to `state_root`, on top of `parent`.
fn state_block(parent: Option<BlockRef>, state_root: B256) -> StoredBlock {
    let header = Header {
        number: parent.map_or(0, |parent| parent.number + 1),
        parent_hash: parent.map_or(B256::ZERO, |parent| parent.hash),
        state_root,
        gas_limit: 30_000_000,
        ..Default::default()
    };
    StoredBlock {
        hash: header.hash_slow(),
        header,
        l1_origin: BlockRef::default(),
        transactions: Vec::new(),
        receipts: Vec::new(),
    }
}

/// A store to benchmark, and how to clean it up.
struct BenchStore {
    backend: DbKind,
    store: SqlStore,
    _dir: Option<tempfile::TempDir>,
    /// (server URL, database) to drop afterwards.
    postgres: Option<(String, String)>,
}

async fn open_store(
    backend: DbKind,
    postgres_url: Option<&str>,
) -> Result<BenchStore, StateBenchError> {
    match backend {
        DbKind::Sqlite => {
            let dir = tempfile::tempdir()?;
            let url = format!("sqlite:{}", dir.path().join("bench.db").display());
            Ok(BenchStore {
                backend,
                store: SqlStore::open(&url).await?,
                _dir: Some(dir),
                postgres: None,
            })
        }
        DbKind::Postgres => {
            let server = postgres_url.ok_or(StateBenchError::NoPostgresUrl)?;
            let name = format!("parallax_bench_{}", std::process::id());
            admin_sql(
                server,
                &[
                    format!("DROP DATABASE IF EXISTS {name}"),
                    format!("CREATE DATABASE {name}"),
                ],
            )
            .await?;
            let base = server.rsplit_once('/').map_or(server, |(base, _)| base);
            let store = SqlStore::open(&format!("{base}/{name}")).await?;
            Ok(BenchStore {
                backend,
                store,
                _dir: None,
                postgres: Some((server.to_string(), name)),
            })
        }
    }
}

/// Runs database-level statements (CREATE/DROP DATABASE) on the PostgreSQL server.
async fn admin_sql(server: &str, statements: &[String]) -> Result<(), StateBenchError> {
    use sqlx::{Connection, Executor};
    let mut admin = sqlx::PgConnection::connect(server)
        .await
        .map_err(StoreError::from)?;
    for statement in statements {
        admin
            .execute(sqlx::AssertSqlSafe(statement.clone()))
            .await
            .map_err(StoreError::from)?;
    }
    Ok(())
}

async fn drop_store(store: BenchStore) -> Result<(), StateBenchError> {
    store.store.close().await;
    if let Some((server, name)) = store.postgres {
        admin_sql(&server, &[format!("DROP DATABASE IF EXISTS {name}")]).await?;
    }
    Ok(())
}

fn millis(started: Instant) -> f64 {
    started.elapsed().as_secs_f64() * 1e3
}

/// Runs the benchmark (see the module docs).
pub fn bench_state(
    accounts: usize,
    updates: usize,
    seed: u64,
    databases: &[DbKind],
    postgres_url: Option<&str>,
) -> Result<StateReport, StateBenchError> {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()?;
    let mut rng = StdRng::seed_from_u64(seed);
    let slots_of = |index: usize| if index % 4 == 0 { 3u64 } else { 0 };
    let genesis = StateChanges {
        accounts: (0..accounts)
            .map(|index| {
                let change = AccountChange {
                    info: Some(AccountBasic {
                        balance: U256::from(rng.random_range(1u64..u64::MAX)),
                        nonce: rng.random_range(0..1_000),
                        ..Default::default()
                    }),
                    storage_cleared: false,
                    storage: (0..slots_of(index))
                        .map(|slot| (U256::from(slot), U256::from(index as u64 + 1)))
                        .collect(),
                };
                (account_address(index), change)
            })
            .collect(),
        contracts: Default::default(),
    };
    let started = Instant::now();
    let mut world = WorldState::new();
    world.apply(&genesis);
    let _ = world.root();
    let build_ms = millis(started);

    // Genesis into every database, then the measured block.
    let genesis_nodes = world.unpersisted_nodes();
    let genesis_block = state_block(None, world.root());
    let mut stores = Vec::new();
    let mut genesis_commit_ms = Vec::new();
    for backend in databases {
        let store = runtime.block_on(open_store(*backend, postgres_url))?;
        let started = Instant::now();
        runtime.block_on(store.store.commit_block(BlockCommit {
            block: &genesis_block,
            trie_nodes: &genesis_nodes,
            bytecodes: &[],
        }))?;
        genesis_commit_ms.push(millis(started));
        // The measured block starts from a settled file, as a block does once the checkpoint
        // after the previous one finished.
        runtime.block_on(store.store.checkpoint())?;
        stores.push(store);
    }
    let genesis_node_count = genesis_nodes.len();
    drop(genesis_nodes);
    world.mark_persisted();

    let block = StateChanges {
        // Distinct accounts, so the block really changes `updates` of them.
        accounts: rand::seq::index::sample(&mut rng, accounts, updates.min(accounts))
            .into_iter()
            .map(|index| {
                let mut change = genesis.accounts[&account_address(index)].clone();
                if let Some(info) = change.info.as_mut() {
                    info.balance = U256::from(rng.random_range(1u64..u64::MAX));
                    info.nonce += 1;
                }
                change.storage = (0..slots_of(index).min(1))
                    .map(|slot| (U256::from(slot), U256::from(rng.random::<u64>())))
                    .collect();
                (account_address(index), change)
            })
            .collect(),
        contracts: Default::default(),
    };
    let started = Instant::now();
    world.apply(&block);
    let incremental = world.root();
    let incremental_ms = millis(started);

    let started = Instant::now();
    let block_nodes = world.unpersisted_nodes();
    let collect_nodes_ms = millis(started);
    let sealed = state_block(Some(genesis_block.block_ref()), incremental);
    let probes: Vec<Address> = block.accounts.keys().take(8).copied().collect();
    let mut reports = Vec::new();
    for (store, genesis_commit_ms) in stores.into_iter().zip(genesis_commit_ms) {
        let started = Instant::now();
        runtime.block_on(store.store.commit_block(BlockCommit {
            block: &sealed,
            trie_nodes: &block_nodes,
            bytecodes: &[],
        }))?;
        let block_commit_ms = millis(started);
        // Until the WAL is in the database file: the background checkpoint the commit started
        // (this call waits for it), or this call's own.
        let started = Instant::now();
        runtime.block_on(store.store.checkpoint())?;
        let checkpoint_ms = millis(started);
        // What was committed reads and proves back exactly as the in-memory state.
        runtime.block_on(async {
            let view = HistoricalState::at(store.store.clone(), 1).await?;
            for address in &probes {
                let slots = [U256::ZERO];
                if view.proof(address, &slots).await? != world.proof(address, &slots) {
                    return Err(StateBenchError::ReadBack {
                        backend: store.backend,
                        address: *address,
                    });
                }
            }
            Ok(())
        })?;
        let block_total_ms = incremental_ms + collect_nodes_ms + block_commit_ms;
        reports.push(DbReport {
            backend: store.backend,
            genesis_commit_ms,
            genesis_nodes: genesis_node_count,
            block_commit_ms,
            block_total_ms,
            checkpoint_ms,
            updates_per_sec: block.accounts.len() as f64 / (block_total_ms / 1e3),
        });
        runtime.block_on(drop_store(store))?;
    }

    let mut memory = MemoryState::new();
    memory.apply(&genesis);
    memory.apply(&block);
    let started = Instant::now();
    let full = memory.state_root();
    let full_recompute_ms = millis(started);
    if incremental != full {
        return Err(StateBenchError::RootMismatch { incremental, full });
    }
    let changed = block.accounts.len();
    Ok(StateReport {
        accounts,
        updates: changed,
        build_ms,
        incremental_ms,
        full_recompute_ms,
        incremental_speedup: full_recompute_ms / incremental_ms,
        updates_per_sec: changed as f64 / (incremental_ms / 1e3),
        collect_nodes_ms,
        block_nodes: block_nodes.len(),
        block_node_bytes: block_nodes.iter().map(|(_, node)| node.len()).sum(),
        databases: reports,
        root: incremental,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn both_roots_agree_on_a_small_state() {
        let report = bench_state(2_000, 300, 7, &[DbKind::Sqlite], None).expect("roots agree");
        assert_eq!(report.databases.len(), 1);
        assert!(report.block_nodes > 300);
        assert_eq!(report.accounts, 2_000);
        assert!(report.updates > 0 && report.updates <= 300);
    }
}
