//! The Solidity proof libraries (`lib/MerkleTrie`, `lib/SecureMerkleTrie`) against proofs made by
//! our own trie (`parallax-state`), not only against anvil's: the portal verifies withdrawals
//! against output roots the Parallax node computes, so the two implementations must agree on
//! every proof the node can produce. The compiled test-only `TrieHarness`
//! (`artifacts/test/TrieHarness.json`) runs in revm.
//!
//! - a random world (hundreds of accounts, some with storage, some storage tries built to have an
//!   extension or a single leaf at the root) and the same world after a second block that
//!   updates, zeroes and deletes: every account and slot, and absent accounts and slots, read
//!   back through `getAccount` / `getStorage` equal the Rust values; the exclusion proofs end
//!   at each node kind (branch, extension, leaf);
//! - raw tries with short keys that prefix each other (values in branches, embedded nodes) read
//!   back through `MerkleTrie.get`;
//! - a proof against another root is rejected.

mod common;

use alloy::{
    primitives::{keccak256, Address, Bytes, B256, U256},
    sol_types::SolCall,
};
use alloy_rlp::Decodable;
use alloy_trie::nodes::TrieNode;
use common::Chain;
use parallax_executor::{
    revm::context::result::ExecutionResult, AccountBasic, AccountChange, StateChanges,
};
use parallax_state::{Trie, WorldState};
use proptest::prelude::*;
use rand::{rngs::StdRng, Rng, SeedableRng};

alloy::sol!(
    #[derive(Debug)]
    TrieHarness,
    "artifacts/test/TrieHarness.json"
);

/// Where the harness is placed in the test chain (any address works).
const HARNESS: Address = Address::new([0x7e; 20]);

fn chain() -> Chain {
    let mut chain = Chain::default();
    chain.install(HARNESS, &TrieHarness::DEPLOYED_BYTECODE);
    chain
}

/// Calls the harness; `Err` carries the revert data.
fn call<C: SolCall>(chain: &mut Chain, call: C) -> Result<C::Return, Bytes> {
    match chain.call(Address::ZERO, HARNESS, call.abi_encode().into(), 30_000_000) {
        ExecutionResult::Success { output, .. } => {
            Ok(C::abi_decode_returns(output.data()).expect("harness output decodes"))
        }
        ExecutionResult::Revert { output, .. } => Err(output),
        halt => panic!("harness halted: {halt:?}"),
    }
}

/// How a proof ends: the kind of its last node.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
enum End {
    Branch,
    Extension,
    Leaf,
    Empty,
}

fn end_of(proof: &[Bytes]) -> End {
    let Some(last) = proof.last() else {
        return End::Empty;
    };
    match TrieNode::decode(&mut last.as_ref()).expect("proof node decodes") {
        TrieNode::Branch(_) => End::Branch,
        TrieNode::Extension(_) => End::Extension,
        TrieNode::Leaf(_) => End::Leaf,
        TrieNode::EmptyRoot => End::Empty,
    }
}

/// Checks the account and its `slots` through the harness against `world`; returns how the
/// exclusion proofs (absent account, absent slots) ended.
fn check_account(
    chain: &mut Chain,
    world: &WorldState,
    address: Address,
    slots: &[U256],
) -> Vec<End> {
    let root = world.root();
    let proof = world.proof(&address, slots);
    let mut exclusions = Vec::new();
    let got = call(
        chain,
        TrieHarness::getAccountCall {
            a: address,
            proof: proof.account_proof.clone(),
            root,
        },
    )
    .unwrap_or_else(|revert| panic!("getAccount({address}) reverted: {revert}"));
    match proof.account {
        Some(account) => {
            assert!(got._0, "{address} exists");
            assert_eq!(got._1.nonce, U256::from(account.nonce), "{address} nonce");
            assert_eq!(got._1.balance, account.balance, "{address} balance");
            assert_eq!(got._1.codeHash, account.code_hash, "{address} code hash");
            assert_eq!(
                got._1.storageRoot, proof.storage_root,
                "{address} storage root"
            );
        }
        None => {
            assert!(!got._0, "{address} is absent");
            assert_eq!(got._1.storageRoot, alloy_trie::EMPTY_ROOT_HASH);
            assert_eq!(got._1.codeHash, keccak256([]));
            exclusions.push(end_of(&proof.account_proof));
        }
    }
    for (slot, value, slot_proof) in &proof.storage_proofs {
        let got = call(
            chain,
            TrieHarness::getStorageCall {
                slot: B256::from(*slot),
                proof: slot_proof.clone(),
                root: proof.storage_root,
            },
        )
        .unwrap_or_else(|revert| panic!("getStorage({address}, {slot}) reverted: {revert}"));
        assert_eq!(got, *value, "{address} slot {slot}");
        assert_eq!(*value, world.storage(&address, *slot));
        if value.is_zero() {
            exclusions.push(end_of(slot_proof));
        }
    }
    exclusions
}

/// `count` slots whose hashed keys all start with the same byte, so a trie of only these has an
/// extension at its root.
fn slots_sharing_first_byte(count: usize) -> Vec<U256> {
    let first = keccak256(U256::ZERO.to_be_bytes::<32>())[0];
    (0u64..)
        .map(U256::from)
        .filter(|slot| keccak256(slot.to_be_bytes::<32>())[0] == first)
        .take(count)
        .collect()
}

/// A slot absent from those of [`slots_sharing_first_byte`] whose hashed key shares their first
/// nibble but not the second, so its exclusion proof ends inside the root extension.
fn slot_diverging_in_extension() -> U256 {
    let first = keccak256(U256::ZERO.to_be_bytes::<32>())[0];
    (1u64..)
        .map(U256::from)
        .find(|slot| {
            let byte = keccak256(slot.to_be_bytes::<32>())[0];
            byte >> 4 == first >> 4 && byte != first
        })
        .expect("exists")
}

fn random_value(rng: &mut StdRng) -> U256 {
    match rng.random_range(0..3) {
        0 => U256::from(rng.random_range(1u64..256)),
        1 => U256::from(rng.random::<u64>() | 1),
        _ => U256::from_be_bytes(rng.random::<[u8; 32]>()) | U256::from(1),
    }
}

fn random_account(rng: &mut StdRng) -> AccountBasic {
    AccountBasic {
        balance: random_value(rng),
        nonce: rng.random_range(0..1_000),
        code_hash: if rng.random_bool(0.3) {
            B256::from(rng.random::<[u8; 32]>())
        } else {
            AccountBasic::default().code_hash
        },
    }
}

/// The first block: `accounts` random accounts, about a third with random storage, plus one
/// with an extension-rooted storage trie and one with a single slot.
fn genesis(rng: &mut StdRng, accounts: usize) -> (StateChanges, Vec<(Address, Vec<U256>)>) {
    let mut changes = StateChanges::default();
    let mut listed = Vec::new();
    for index in 0..accounts {
        let address = Address::from(rng.random::<[u8; 20]>());
        let slots: Vec<U256> = match index {
            0 => slots_sharing_first_byte(3),
            1 => vec![U256::from(rng.random::<u64>())],
            _ if rng.random_bool(0.35) => (0..rng.random_range(1..40))
                .map(|_| U256::from(rng.random_range(0u64..200)))
                .collect(),
            _ => Vec::new(),
        };
        let storage = slots
            .iter()
            .map(|slot| (*slot, random_value(rng)))
            .collect();
        changes.accounts.insert(
            address,
            AccountChange {
                info: Some(random_account(rng)),
                storage_cleared: true,
                storage,
            },
        );
        listed.push((address, slots));
    }
    (changes, listed)
}

/// The second block: for every fourth account, delete it, zero half of its slots, or change it.
fn second_block(rng: &mut StdRng, listed: &[(Address, Vec<U256>)]) -> StateChanges {
    let mut changes = StateChanges::default();
    for (address, slots) in listed.iter().step_by(4) {
        let change = match rng.random_range(0..3) {
            0 => AccountChange {
                info: None,
                storage_cleared: true,
                storage: Default::default(),
            },
            1 => AccountChange {
                info: Some(random_account(rng)),
                storage_cleared: false,
                storage: slots
                    .iter()
                    .step_by(2)
                    .map(|slot| (*slot, U256::ZERO))
                    .collect(),
            },
            _ => {
                let added = U256::from(1_000 + rng.random_range(0u64..4));
                AccountChange {
                    info: Some(random_account(rng)),
                    storage_cleared: false,
                    storage: slots
                        .iter()
                        .map(|slot| (*slot, random_value(rng)))
                        .chain([(added, U256::from(9))])
                        .collect(),
                }
            }
        };
        changes.accounts.insert(*address, change);
    }
    changes
}

/// Checks every listed account and slot, absent accounts and absent slots of `world`.
fn check_world(
    chain: &mut Chain,
    world: &WorldState,
    listed: &[(Address, Vec<U256>)],
    rng: &mut StdRng,
) -> Vec<End> {
    let mut exclusions = Vec::new();
    for (index, (address, slots)) in listed.iter().enumerate() {
        let mut queried = slots.clone();
        // Absent slots: never written, and (index 0) one diverging inside the root extension.
        queried.push(U256::from(5_000 + rng.random_range(0u64..1_000)));
        if index == 0 {
            queried.push(slot_diverging_in_extension());
        }
        queried.extend((1_000u64..1_003).map(U256::from));
        exclusions.extend(check_account(chain, world, *address, &queried));
    }
    for _ in 0..60 {
        let absent = Address::from(rng.random::<[u8; 20]>());
        exclusions.extend(check_account(chain, world, absent, &[U256::ZERO]));
    }
    exclusions
}

#[test]
fn world_state_proofs_verify_in_solidity() {
    let mut rng = StdRng::seed_from_u64(0x5eed_0006);
    let mut chain = chain();
    let (first, listed) = genesis(&mut rng, 400);
    let mut world = WorldState::new();
    world.apply(&first);
    let before = world.clone();
    let mut ends = check_world(&mut chain, &world, &listed, &mut rng);

    world.apply(&second_block(&mut rng, &listed));
    assert_ne!(world.root(), before.root());
    ends.extend(check_world(&mut chain, &world, &listed, &mut rng));
    // The snapshot of the first block still proves against its own root.
    ends.extend(check_world(&mut chain, &before, &listed[..20], &mut rng));

    ends.sort();
    ends.dedup();
    assert_eq!(
        ends,
        [End::Branch, End::Extension, End::Leaf, End::Empty],
        "exclusion proofs ending at every node kind were checked"
    );
}

#[test]
fn a_proof_for_another_root_is_rejected() {
    let mut rng = StdRng::seed_from_u64(7);
    let mut chain = chain();
    let (first, listed) = genesis(&mut rng, 50);
    let mut world = WorldState::new();
    world.apply(&first);
    let (address, slots) = &listed[0];
    let proof = world.proof(address, slots);
    let wrong_root = B256::repeat_byte(1);
    assert!(call(
        &mut chain,
        TrieHarness::getAccountCall {
            a: *address,
            proof: proof.account_proof.clone(),
            root: wrong_root,
        },
    )
    .is_err());
    let (slot, _, slot_proof) = &proof.storage_proofs[0];
    assert!(call(
        &mut chain,
        TrieHarness::getStorageCall {
            slot: B256::from(*slot),
            proof: slot_proof.clone(),
            root: wrong_root,
        },
    )
    .is_err());
    // The same proof against its real root verifies.
    assert!(call(
        &mut chain,
        TrieHarness::getStorageCall {
            slot: B256::from(*slot),
            proof: slot_proof.clone(),
            root: proof.storage_root,
        },
    )
    .is_ok());
}

/// Short keys from a small alphabet: they share prefixes and prefix each other, so values sit
/// in branches and short nodes are embedded in their parents.
fn key() -> impl Strategy<Value = Vec<u8>> {
    proptest::collection::vec(
        prop_oneof![Just(0x00u8), Just(0x01), Just(0x10), Just(0x11), Just(0xff)],
        1..5,
    )
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(128))]

    /// `MerkleTrie.get` over proofs of the raw `Trie` returns exactly `Trie::get`, present or
    /// absent.
    #[test]
    fn raw_trie_proofs_verify_in_solidity(
        entries in proptest::collection::btree_map(key(), proptest::collection::vec(any::<u8>(), 1..40), 0..24),
        queries in proptest::collection::vec(key(), 1..8),
    ) {
        let mut trie = Trie::new();
        for (key, value) in &entries {
            trie.insert(key, value.clone());
        }
        let root = trie.root();
        let mut chain = chain();
        for key in entries.keys().chain(&queries) {
            let got = call(
                &mut chain,
                TrieHarness::getCall { key: key.clone().into(), proof: trie.proof(key), root },
            )
            .unwrap_or_else(|revert| panic!("get({key:02x?}) reverted: {revert}"));
            let expected = trie.get(key);
            prop_assert_eq!(got._0, expected.is_some(), "presence of {:02x?}", key);
            prop_assert_eq!(&got._1[..], expected.unwrap_or_default(), "value of {:02x?}", key);
        }
    }
}
