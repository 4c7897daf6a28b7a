//! What the fraud-proof integration tests share: a dev sequencer whose store they read back.

use std::net::SocketAddr;

use parallax_protocol::RollupConfig;
use parallax_sequencer::{
    genesis::Genesis,
    node::{self, NodeConfig, Roles, RunningNode},
    origin::FixedOrigin,
};
use parallax_state::store::SqlStore;

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
