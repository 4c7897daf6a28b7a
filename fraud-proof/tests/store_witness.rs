//! The witness builder over the node's persisted trie nodes (`SqlStore`, sqlite): a world is
//! committed as a genesis block, and `StateWitnessBuilder::build_from_store` fetches only the
//! nodes the witness needs and gives the same witness and post-state root as the in-memory
//! builder.

mod common;

use alloy_primitives::{Address, B256, U256};
use common::account;
use parallax_executor::{AccountBasic, AccountChange, StateChanges};
use parallax_fraud_proof::{MemoryNodes, StateReads, StateWitnessBuilder};
use parallax_state::WorldState;

#[tokio::test]
async fn witness_from_the_sql_store_equals_the_in_memory_one() {
    let mut genesis = StateChanges::default();
    for i in 1..=200u8 {
        genesis.accounts.insert(
            Address::repeat_byte(i),
            account(u64::from(i), u64::from(i % 7)),
        );
    }
    let mut world = WorldState::new();
    world.apply(&genesis);
    let nodes = world.unpersisted_nodes();
    let (_dir, store) = common::store_with_genesis(&world, &[]).await;

    let mut tx = StateChanges::default();
    tx.accounts.insert(Address::repeat_byte(3), account(1, 0));
    tx.accounts
        .insert(Address::repeat_byte(4), AccountChange::default());
    let mut writer = account(6, 0);
    writer.info = Some(AccountBasic {
        balance: U256::from(6),
        nonce: 2,
        ..AccountBasic::default()
    });
    writer.storage.insert(U256::from(2), U256::ZERO);
    writer.storage.insert(U256::from(9), U256::from(1));
    tx.accounts.insert(Address::repeat_byte(6), writer);
    tx.accounts
        .insert(Address::repeat_byte(0xf0), account(5, 1));
    let mut reads = StateReads::default();
    reads.accounts.insert(Address::repeat_byte(77));
    reads
        .slots
        .entry(Address::repeat_byte(13))
        .or_default()
        .insert(U256::from(5));

    let in_memory: MemoryNodes = nodes.iter().map(|(_, rlp)| rlp.clone()).collect();
    let direct = StateWitnessBuilder::new(&in_memory, world.root())
        .build(&reads, &tx)
        .expect("complete pre-state");
    let fetched = StateWitnessBuilder::build_from_store(&store, world.root(), &reads, &tx)
        .await
        .expect("the store holds the pre-state");
    assert_eq!(fetched.post_state_root, direct.post_state_root);
    let sorted = |mut v: Vec<alloy_primitives::Bytes>| {
        v.sort();
        v
    };
    assert_eq!(sorted(fetched.nodes), sorted(direct.nodes));
    let mut post = world.clone();
    post.apply(&tx);
    assert_eq!(direct.post_state_root, post.root());

    let unknown = B256::repeat_byte(0x55);
    assert!(
        StateWitnessBuilder::build_from_store(&store, unknown, &reads, &tx)
            .await
            .is_err()
    );
}
