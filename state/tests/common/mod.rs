//! Store fixtures shared by the store tests: one store per backend under test, and random
//! chains to fill them with.
#![allow(dead_code, unreachable_pub)]

use std::sync::atomic::{AtomicU32, Ordering};

use alloy_consensus::Header;
use alloy_primitives::{keccak256, Address, Bytes, Log, LogData, B256, U256};
use parallax_executor::{AccountBasic, AccountChange, StateChanges};
use parallax_state::{
    store::{
        BlockCommit, BlockRef, ChainStore, SqlStore, StoredBlock, StoredReceipt, StoredTransaction,
    },
    WorldState,
};
use rand::{rngs::StdRng, Rng, SeedableRng};

/// Environment variable naming a PostgreSQL server (any database on it) to test against.
pub const POSTGRES_ENV: &str = "PARALLAX_TEST_POSTGRES_URL";

/// A store under test and what to call it in assertion messages.
pub struct TestStore {
    pub name: &'static str,
    pub url: String,
    pub store: SqlStore,
    _dir: Option<tempfile::TempDir>,
}

/// A fresh, empty database for each backend under test: SQLite always, PostgreSQL when
/// `PARALLAX_TEST_POSTGRES_URL` is set (a new database on that server per call).
pub async fn stores() -> Vec<TestStore> {
    let mut stores = vec![sqlite().await];
    if let Some(store) = postgres().await {
        stores.push(store);
    }
    stores
}

pub async fn sqlite() -> TestStore {
    let dir = tempfile::tempdir().expect("temp dir");
    let url = format!("sqlite:{}", dir.path().join("chain.db").display());
    let store = SqlStore::open(&url).await.expect("open sqlite");
    TestStore {
        name: "sqlite",
        url,
        store,
        _dir: Some(dir),
    }
}

/// URL of a new, empty database on the test server.
pub async fn fresh_postgres_url() -> Option<String> {
    static COUNTER: AtomicU32 = AtomicU32::new(0);
    let admin = std::env::var(POSTGRES_ENV)
        .ok()
        .filter(|url| !url.is_empty())?;
    let name = format!(
        "parallax_test_{}_{}_{}",
        std::process::id(),
        COUNTER.fetch_add(1, Ordering::Relaxed),
        rand::rng().random::<u32>()
    );
    let mut connection = <sqlx::PgConnection as sqlx::Connection>::connect(&admin)
        .await
        .expect("connect to PARALLAX_TEST_POSTGRES_URL");
    sqlx::Executor::execute(
        &mut connection,
        sqlx::AssertSqlSafe(format!("CREATE DATABASE {name}")),
    )
    .await
    .expect("create test database");
    let base = admin
        .rsplit_once('/')
        .map_or(admin.as_str(), |(base, _)| base);
    Some(format!("{base}/{name}"))
}

pub async fn postgres() -> Option<TestStore> {
    let url = fresh_postgres_url().await?;
    let store = SqlStore::open(&url).await.expect("open postgres");
    Some(TestStore {
        name: "postgres",
        url,
        store,
        _dir: None,
    })
}

/// A chain being built: the world state and the last block.
pub struct ChainBuilder {
    pub rng: StdRng,
    pub world: WorldState,
    pub parent: Option<BlockRef>,
    /// World snapshot after each block, by number.
    pub snapshots: Vec<WorldState>,
    pub blocks: Vec<StoredBlock>,
}

impl ChainBuilder {
    pub fn new(seed: u64) -> Self {
        Self {
            rng: StdRng::seed_from_u64(seed),
            world: WorldState::new(),
            parent: None,
            snapshots: Vec::new(),
            blocks: Vec::new(),
        }
    }

    fn address(&mut self) -> Address {
        Address::with_last_byte(self.rng.random_range(0..40))
    }

    /// Random state changes over a small address and slot space, so blocks overwrite, delete
    /// and recreate each other's accounts and slots.
    pub fn random_changes(&mut self, accounts: usize) -> StateChanges {
        let mut changes = StateChanges::default();
        for _ in 0..accounts {
            let address = self.address();
            let info = (self.rng.random::<f64>() > 0.1).then(|| AccountBasic {
                balance: U256::from(self.rng.random_range(0..1_000_000u64)),
                nonce: self.rng.random_range(0..10),
                ..Default::default()
            });
            let storage = (0..self.rng.random_range(0..6))
                .map(|_| {
                    let value = if self.rng.random::<f64>() < 0.2 {
                        0
                    } else {
                        self.rng.random_range(1..1000u64)
                    };
                    (
                        U256::from(self.rng.random_range(0..30u64)),
                        U256::from(value),
                    )
                })
                .collect();
            changes.accounts.insert(
                address,
                AccountChange {
                    info,
                    storage_cleared: self.rng.random::<f64>() < 0.05,
                    storage,
                },
            );
        }
        changes
    }

    /// A block with `txs` random transactions (each with a few logs) on top of the last one,
    /// after applying `changes`; returns it and the trie nodes it adds.
    pub fn block(
        &mut self,
        changes: &StateChanges,
        txs: usize,
    ) -> (StoredBlock, Vec<(B256, Vec<u8>)>) {
        self.world.apply(changes);
        let nodes = self.world.unpersisted_nodes();
        let number = self.parent.map_or(0, |parent| parent.number + 1);
        let header = Header {
            number,
            parent_hash: self.parent.map_or(B256::ZERO, |parent| parent.hash),
            state_root: self.world.root(),
            timestamp: 1_700_000_000 + number,
            gas_limit: 30_000_000,
            ..Default::default()
        };
        let hash = header.hash_slow();
        let mut transactions = Vec::new();
        let mut receipts = Vec::new();
        let mut cumulative = 0;
        for index in 0..txs {
            let raw: Vec<u8> = (0..self.rng.random_range(1..120))
                .map(|_| self.rng.random())
                .collect();
            // The first transaction of a block stands for its deposit (type 0x7E), which a
            // rewind must not return to the pool.
            let kind: &[u8] = if index == 0 { &[0x7e] } else { &[] };
            let raw = [
                kind,
                &number.to_be_bytes()[..],
                &(index as u32).to_be_bytes(),
                &raw,
            ]
            .concat();
            transactions.push(StoredTransaction {
                hash: keccak256(&raw),
                sender: self.address(),
                raw: Bytes::from(raw),
            });
            let gas_used = self.rng.random_range(21_000..100_000);
            cumulative += gas_used;
            let logs = (0..self.rng.random_range(0..4))
                .map(|_| {
                    let topics = (0..self.rng.random_range(0..=4))
                        .map(|_| B256::with_last_byte(self.rng.random_range(0..6)))
                        .collect();
                    let data: Vec<u8> = (0..self.rng.random_range(0..40))
                        .map(|_| self.rng.random())
                        .collect();
                    Log {
                        address: Address::with_last_byte(self.rng.random_range(0..5)),
                        data: LogData::new_unchecked(topics, data.into()),
                    }
                })
                .collect();
            receipts.push(StoredReceipt {
                tx_type: self.rng.random_range(0..3),
                success: self.rng.random(),
                gas_used,
                cumulative_gas_used: cumulative,
                effective_gas_price: self.rng.random::<u64>() as u128 * 3,
                contract_address: self.rng.random::<bool>().then(|| self.address()),
                logs,
            });
        }
        let block = StoredBlock {
            header,
            hash,
            l1_origin: BlockRef {
                number: number / 3,
                hash: B256::with_last_byte((number / 3) as u8),
            },
            transactions,
            receipts,
        };
        (block, nodes)
    }

    /// Builds, commits and records one random block.
    pub async fn commit_random<S: ChainStore>(
        &mut self,
        store: &S,
        accounts: usize,
        txs: usize,
    ) -> StoredBlock {
        let changes = self.random_changes(accounts);
        let (block, nodes) = self.block(&changes, txs);
        store
            .commit_block(BlockCommit {
                block: &block,
                trie_nodes: &nodes,
                bytecodes: &[],
            })
            .await
            .expect("commit");
        self.world.mark_persisted();
        self.parent = Some(block.block_ref());
        self.snapshots.push(self.world.clone());
        self.blocks.push(block.clone());
        block
    }
}
