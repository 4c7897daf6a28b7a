//! What the fraud-proof integration tests share: a dev sequencer whose store they read back,
//! and a store holding a given state as its genesis.

// Each test binary uses only part of this module.
#![allow(dead_code)]

use std::net::SocketAddr;

use alloy_primitives::{Bytes, B256, U256};
use parallax_executor::{AccountBasic, AccountChange};
use parallax_protocol::RollupConfig;
use parallax_sequencer::{
    genesis::Genesis,
    node::{self, NodeConfig, Roles, RunningNode},
    origin::FixedOrigin,
};
use parallax_state::{
    store::{BlockCommit, BlockRef, ChainStore, SqlStore, StoredBlock},
    WorldState,
};

/// A dev sequencer with its store and rollup configuration, and the directory holding the
/// store's file (removed when dropped: keep it bound while the node runs).
pub(crate) struct DevSequencer {
    pub(crate) running: RunningNode,
    pub(crate) rollup: RollupConfig,
    pub(crate) store: SqlStore,
    pub(crate) dir: tempfile::TempDir,
}

/// Starts a sequencer (100 ms blocks, two executor threads, a fixed L1 origin) on a fresh
/// SQLite store, with the dev genesis and its funded accounts.
pub(crate) async fn dev_sequencer() -> DevSequencer {
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
        store.clone(),
        &Genesis::dev(time).expect("genesis"),
        config,
        Roles::sequencer(origins),
    )
    .await
    .expect("node starts");
    DevSequencer {
        running,
        rollup,
        store,
        dir,
    }
}

/// A fresh SQLite store whose genesis block (number 0) holds `world` and the code `bytecodes`;
/// the directory holding its file must stay bound while the store is used.
pub(crate) async fn store_with_genesis(
    world: &WorldState,
    bytecodes: &[(B256, Bytes)],
) -> (tempfile::TempDir, SqlStore) {
    let header = alloy_consensus::Header {
        state_root: world.root(),
        gas_limit: 30_000_000,
        ..Default::default()
    };
    let block = StoredBlock {
        hash: header.hash_slow(),
        header,
        l1_origin: BlockRef::default(),
        transactions: Vec::new(),
        receipts: Vec::new(),
    };
    let dir = tempfile::tempdir().expect("temp dir");
    let store = SqlStore::open(&format!("sqlite:{}", dir.path().join("node.db").display()))
        .await
        .expect("sqlite store");
    store
        .commit_block(BlockCommit {
            block: &block,
            trie_nodes: &world.unpersisted_nodes(),
            bytecodes,
        })
        .await
        .expect("commit genesis");
    (dir, store)
}

/// An account change: `balance`, nonce 1, and slots `0..slots` holding `slot + 100`.
pub(crate) fn account(balance: u64, slots: u64) -> AccountChange {
    AccountChange {
        info: Some(AccountBasic {
            balance: U256::from(balance),
            nonce: 1,
            ..AccountBasic::default()
        }),
        storage_cleared: false,
        storage: (0..slots)
            .map(|slot| (U256::from(slot), U256::from(slot + 100)))
            .collect(),
    }
}
