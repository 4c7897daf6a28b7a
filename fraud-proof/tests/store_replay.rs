//! The challenger's store-backed replay state on a state far larger than what a block touches:
//! it reads only the trie nodes on the touched paths (the whole-state load it replaces read
//! every node), and its roots, reads and proofs stay those of the in-memory state.

mod common;

use std::time::Instant;

use alloy_primitives::{Address, U256};
use common::account;
use parallax_executor::{
    revm::database_interface::DatabaseRef, AccountBasic, AccountChange, StateChanges,
};
use parallax_fraud_proof::{ReplayState, StoreState};
use parallax_state::{store::load_world_state, WorldState};

const ACCOUNTS: u64 = 20_000;

fn address(index: u64) -> Address {
    let mut bytes = [0u8; 20];
    bytes[12..].copy_from_slice(&index.to_be_bytes());
    Address::from(bytes)
}

/// One "transaction": a few balance changes, a storage write and clear, a creation and a
/// deletion, spread over the key space.
fn transaction(round: u64) -> StateChanges {
    let mut changes = StateChanges::default();
    for k in 0..4 {
        let index = (round * 7_919 + k * 4_999) % ACCOUNTS;
        changes
            .accounts
            .insert(address(index), account(round * 10 + k, 0));
    }
    let mut writer = account(round, 0);
    writer.storage.insert(U256::from(round % 3), U256::ZERO);
    writer
        .storage
        .insert(U256::from(100 + round), U256::from(7));
    changes
        .accounts
        .insert(address(round * 10 % ACCOUNTS), writer);
    changes
        .accounts
        .insert(address(ACCOUNTS + round), account(1, 2));
    changes.accounts.insert(
        address(round * 131 % ACCOUNTS + 1),
        AccountChange::default(),
    );
    changes
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_replay_reads_only_the_paths_it_touches() {
    let mut genesis = StateChanges::default();
    for index in 0..ACCOUNTS {
        genesis
            .accounts
            .insert(address(index), account(index + 1, index % 5));
    }
    let mut world = WorldState::new();
    world.apply(&genesis);
    let (_dir, store) = common::store_with_genesis(&world, &[]).await;
    let total_nodes = world.trie_nodes().len();

    let started = Instant::now();
    let loaded = load_world_state(&store, 0)
        .await
        .expect("whole state loads");
    let whole_load = started.elapsed();
    assert_eq!(loaded.root(), world.root());

    let state = StoreState::at(store.clone(), 0).await.expect("genesis");
    let started = Instant::now();
    let (state, world, touched) = tokio::task::spawn_blocking(move || {
        let mut state = state;
        let mut world = world;
        for round in 0..10 {
            let changes = transaction(round);
            for address in changes.accounts.keys() {
                let expected = world.basic_ref(*address).expect("in memory");
                let read = state.basic_ref(*address).expect("from the store");
                assert_eq!(
                    read.map(|info| AccountBasic::from(&info)),
                    expected.map(|info| AccountBasic::from(&info)),
                    "account {address} before round {round}"
                );
                assert_eq!(
                    state.storage_ref(*address, U256::from(1)).expect("slot"),
                    world.storage(address, U256::from(1)),
                );
            }
            world.apply(&changes);
            state.apply_changes(&changes).expect("applies");
            assert_eq!(state.state_root(), world.root(), "root after round {round}");
            let probe = address(round * 10 % ACCOUNTS);
            let (proof, storage_root) = state.account_proof(&probe).expect("proof");
            let expected = world.proof(&probe, &[]);
            assert_eq!(proof, expected.account_proof);
            assert_eq!(storage_root, expected.storage_root);
        }
        let touched = state.nodes_in_memory();
        (state, world, touched)
    })
    .await
    .expect("replay task");
    let replay = started.elapsed();
    assert_eq!(state.state_root(), world.root());
    println!(
        "{ACCOUNTS} accounts, {total_nodes} trie nodes: whole-state load {whole_load:?}; \
         10 replayed changes held {touched} nodes in {replay:?}"
    );
    // About ten paths of depth ~5 per round, plus the nodes the changes created.
    assert!(
        touched * 20 < total_nodes,
        "the replay held {touched} of {total_nodes} nodes"
    );
}
