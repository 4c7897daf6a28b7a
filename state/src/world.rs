//! The world state as Ethereum commits to it: a secure account trie whose leaves hold each
//! account's storage root, over one secure storage trie per account.
//!
//! [`WorldState::apply`] takes a block's [`StateChanges`] and updates only what they touch:
//! storage tries of different accounts are updated and re-hashed in parallel (rayon), then the
//! changed account leaves are written. Cloning a `WorldState` is cheap (tries share nodes), so a
//! node can keep recent blocks' states as snapshots for historical reads and proofs.

use alloy_primitives::{keccak256, map::AddressMap, Address, Bytes, B256, U256};
use alloy_trie::TrieAccount;
use parallax_executor::{AccountBasic, AccountChange, StateChanges};
use rayon::prelude::*;

use crate::trie::Trie;

/// Accounts and storage, with Merkle-Patricia commitments maintained incrementally.
#[derive(Clone, Debug, Default)]
pub struct WorldState {
    accounts: AddressMap<AccountBasic>,
    account_trie: Trie,
    storage_tries: AddressMap<Trie>,
}

/// An account with the proofs of its leaf and of some of its slots (`eth_getProof`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AccountProof {
    /// The account; `None` proves its absence.
    pub account: Option<AccountBasic>,
    /// Root of its storage trie (the empty root for absent accounts).
    pub storage_root: B256,
    /// Nodes from the state root to the account's leaf (or to where it would be).
    pub account_proof: Vec<Bytes>,
    /// For each requested slot: the slot, its value, and nodes from the storage root.
    pub storage_proofs: Vec<(U256, U256, Vec<Bytes>)>,
}

impl WorldState {
    /// An empty world.
    pub fn new() -> Self {
        Self::default()
    }

    /// The state root.
    pub fn root(&self) -> B256 {
        self.account_trie.root()
    }

    /// An account's fields.
    pub fn account(&self, address: &Address) -> Option<AccountBasic> {
        self.accounts.get(address).copied()
    }

    /// A storage slot (zero when unset).
    pub fn storage(&self, address: &Address, slot: U256) -> U256 {
        self.storage_tries
            .get(address)
            .and_then(|trie| trie.get(keccak256(slot.to_be_bytes::<32>()).as_slice()))
            .and_then(|value| alloy_rlp::decode_exact::<U256>(value).ok())
            .unwrap_or_default()
    }

    /// Applies one block's net changes.
    pub fn apply(&mut self, changes: &StateChanges) {
        // Take the storage tries the block touches out of the map, update them in parallel.
        let mut touched: Vec<(Address, &AccountChange, Trie)> = changes
            .accounts
            .iter()
            .map(|(address, change)| {
                // A deleted account loses its storage too; a wiped one starts from empty.
                let existing = self.storage_tries.remove(address).unwrap_or_default();
                let trie = if change.info.is_none() || change.storage_cleared {
                    Trie::new()
                } else {
                    existing
                };
                (*address, change, trie)
            })
            .collect();
        touched.par_iter_mut().for_each(|(_, change, trie)| {
            for (slot, value) in &change.storage {
                let key = keccak256(slot.to_be_bytes::<32>());
                if value.is_zero() {
                    trie.remove(key.as_slice());
                } else {
                    trie.insert(key.as_slice(), alloy_rlp::encode(value));
                }
            }
            // Hash now, in parallel; the account leaf below only reads the cached root.
            let _ = trie.root();
        });
        for (address, change, trie) in touched {
            let key = keccak256(address);
            match change.info {
                None => {
                    self.accounts.remove(&address);
                    self.account_trie.remove(key.as_slice());
                }
                Some(info) => {
                    let leaf = TrieAccount {
                        nonce: info.nonce,
                        balance: info.balance,
                        storage_root: trie.root(),
                        code_hash: info.code_hash,
                        ..Default::default()
                    };
                    self.account_trie
                        .insert(key.as_slice(), alloy_rlp::encode(leaf));
                    self.accounts.insert(address, info);
                    self.storage_tries.insert(address, trie);
                }
            }
        }
    }

    /// The world holding exactly `state`'s accounts (a genesis or a test's pre-state).
    pub fn from_memory(state: &crate::MemoryState) -> Self {
        let accounts = state
            .accounts()
            .map(|(address, account)| {
                let change = AccountChange {
                    info: Some(account.info),
                    storage_cleared: true,
                    storage: account
                        .storage
                        .iter()
                        .map(|(slot, value)| (*slot, *value))
                        .collect(),
                };
                (*address, change)
            })
            .collect();
        let mut world = Self::new();
        world.apply(&StateChanges {
            accounts,
            contracts: Default::default(),
        });
        world
    }

    /// Proof of an account and of the given slots against [`WorldState::root`].
    pub fn proof(&self, address: &Address, slots: &[U256]) -> AccountProof {
        let storage = self.storage_tries.get(address);
        let storage_proofs = slots
            .iter()
            .map(|slot| {
                let key = keccak256(slot.to_be_bytes::<32>());
                let proof = storage
                    .map(|trie| trie.proof(key.as_slice()))
                    .unwrap_or_default();
                (*slot, self.storage(address, *slot), proof)
            })
            .collect();
        AccountProof {
            account: self.account(address),
            storage_root: storage.map_or(alloy_trie::EMPTY_ROOT_HASH, Trie::root),
            account_proof: self.account_trie.proof(keccak256(address).as_slice()),
            storage_proofs,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::MemoryState;
    use alloy_trie::{proof::verify_proof, Nibbles};
    use proptest::prelude::*;
    use std::collections::BTreeMap;

    fn address(index: u8) -> Address {
        Address::with_last_byte(index)
    }

    /// A random block's changes over a small address and slot space (so blocks overwrite,
    /// delete, wipe and recreate each other's accounts and slots).
    fn changes_strategy() -> impl Strategy<Value = StateChanges> {
        let change = (
            proptest::option::weighted(0.85, (0u64..1_000, 0u64..5)),
            proptest::bool::weighted(0.1),
            proptest::collection::btree_map(0u64..12, 0u64..4, 0..6),
        )
            .prop_map(|(info, storage_cleared, storage)| AccountChange {
                info: info.map(|(balance, nonce)| AccountBasic {
                    balance: U256::from(balance),
                    nonce,
                    ..Default::default()
                }),
                storage_cleared,
                storage: storage
                    .into_iter()
                    .map(|(k, v)| (U256::from(k), U256::from(v)))
                    .collect(),
            });
        proptest::collection::btree_map(0u8..10, change, 1..6).prop_map(|accounts| StateChanges {
            accounts: accounts
                .into_iter()
                .map(|(index, change)| (address(index), change))
                .collect(),
            contracts: BTreeMap::new(),
        })
    }

    proptest! {
        /// After every block the incremental root equals the from-scratch root of the same
        /// contents (MemoryState, itself checked by the Ethereum test vectors).
        #[test]
        fn incremental_root_matches_full_recomputation(blocks in proptest::collection::vec(changes_strategy(), 1..12)) {
            let mut world = WorldState::new();
            let mut reference = MemoryState::new();
            for changes in &blocks {
                world.apply(changes);
                reference.apply(changes);
                prop_assert_eq!(world.root(), reference.state_root());
            }
        }

        /// Account and storage proofs, for present and absent accounts and slots, pass
        /// alloy-trie's verifier against the state root and the account's storage root.
        #[test]
        fn proofs_verify_with_alloy(blocks in proptest::collection::vec(changes_strategy(), 1..6), probe in 0u8..12) {
            let mut world = WorldState::new();
            for changes in &blocks {
                world.apply(changes);
            }
            let root = world.root();
            let target = address(probe);
            let slots: Vec<U256> = (0..14).map(U256::from).collect();
            let proof = world.proof(&target, &slots);
            let expected_leaf = proof.account.map(|info| alloy_rlp::encode(TrieAccount {
                nonce: info.nonce,
                balance: info.balance,
                storage_root: proof.storage_root,
                code_hash: info.code_hash,
                ..Default::default()
            }));
            prop_assert!(verify_proof(root, Nibbles::unpack(keccak256(target)), expected_leaf, &proof.account_proof).is_ok());
            if proof.account.is_some() {
                for (slot, value, nodes) in &proof.storage_proofs {
                    let expected = (!value.is_zero()).then(|| alloy_rlp::encode(value));
                    let key = Nibbles::unpack(keccak256(slot.to_be_bytes::<32>()));
                    prop_assert!(verify_proof(proof.storage_root, key, expected, nodes).is_ok());
                }
            }
        }
    }

    #[test]
    fn from_memory_has_the_same_root() {
        let mut memory = MemoryState::new();
        for index in 0..20u8 {
            let storage = (0..index).map(|slot| (U256::from(slot), U256::from(index)));
            let code = if index % 3 == 0 {
                Bytes::from(vec![0x60, index])
            } else {
                Bytes::new()
            };
            memory
                .insert_account(
                    address(index),
                    U256::from(index),
                    u64::from(index),
                    code,
                    storage,
                )
                .expect("valid code");
        }
        assert_eq!(WorldState::from_memory(&memory).root(), memory.state_root());
    }

    #[test]
    fn snapshots_keep_their_state() {
        let mut world = WorldState::new();
        let mut block = StateChanges::default();
        block.accounts.insert(
            address(1),
            AccountChange {
                info: Some(AccountBasic {
                    balance: U256::from(5),
                    ..Default::default()
                }),
                storage_cleared: false,
                storage: BTreeMap::from([(U256::from(1), U256::from(9))]),
            },
        );
        world.apply(&block);
        let snapshot = world.clone();
        let root = snapshot.root();
        block
            .accounts
            .get_mut(&address(1))
            .map(|change| change.storage.insert(U256::from(1), U256::ZERO));
        world.apply(&block);
        assert_eq!(
            snapshot.root(),
            root,
            "an earlier block's state is unaffected by later blocks"
        );
        assert_eq!(snapshot.storage(&address(1), U256::from(1)), U256::from(9));
        assert_eq!(world.storage(&address(1), U256::from(1)), U256::ZERO);
        assert_ne!(world.root(), root);
    }
}
