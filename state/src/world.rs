//! The world state as Ethereum commits to it: a secure account trie whose leaves hold each
//! account's storage root, over one secure storage trie per account.
//!
//! [`WorldState::apply`] takes a block's [`StateChanges`] and updates only what they touch:
//! storage tries of different accounts are updated and re-hashed in parallel (rayon), then the
//! changed account leaves are written. Cloning a `WorldState` is cheap (tries share nodes), so a
//! node can keep recent blocks' states as snapshots for historical reads and proofs.
//!
//! Accounts are keyed by the keccak of their address, as in the trie: that is all a state
//! rebuilt from stored nodes knows ([`WorldState::load`]). Nodes created since the last commit
//! are listed by [`WorldState::unpersisted_nodes`] for the chain store.

use std::{collections::BTreeMap, sync::Arc};

use alloy_primitives::{
    keccak256,
    map::{B256Map, B256Set},
    Address, Bytes, B256, U256,
};
use alloy_trie::{TrieAccount, EMPTY_ROOT_HASH};
use parallax_executor::{AccountBasic, AccountChange, StateChanges};
use rayon::prelude::*;
use revm::{
    bytecode::Bytecode,
    database_interface::{DBErrorMarker, DatabaseRef},
    primitives::KECCAK_EMPTY,
    state::AccountInfo,
};

use crate::node::NodeError;
use crate::trie::Trie;

/// How many recent block hashes the `BLOCKHASH` opcode can see.
const BLOCK_HASH_HISTORY: u64 = 256;

/// Accounts and storage, with Merkle-Patricia commitments maintained incrementally.
#[derive(Clone, Debug, Default)]
pub struct WorldState {
    /// Account fields by hashed address.
    accounts: B256Map<AccountBasic>,
    account_trie: Trie,
    /// Storage tries by hashed address (absent = empty storage).
    storage_tries: B256Map<Trie>,
    /// Hashed addresses whose storage trie changed since the last [`WorldState::mark_persisted`].
    dirty_storage: B256Set,
    /// Contract code by hash.
    codes: B256Map<Bytecode>,
    /// The last [`BLOCK_HASH_HISTORY`] block hashes, for `BLOCKHASH`.
    block_hashes: BTreeMap<u64, B256>,
}

/// Why the world state could not answer a read for the executor.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum WorldStateError {
    /// An account refers to code the state does not hold.
    #[error("code {0} is missing from the state")]
    MissingCode(B256),
    /// `BLOCKHASH` of a block outside the recorded window.
    #[error("block hash of block {0} is not recorded")]
    MissingBlockHash(u64),
}

impl DBErrorMarker for WorldStateError {}

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

/// The trie leaf of an account.
pub(crate) fn trie_account(info: &AccountBasic, storage_root: B256) -> TrieAccount {
    TrieAccount {
        nonce: info.nonce,
        balance: info.balance,
        storage_root,
        code_hash: info.code_hash,
    }
}

/// Packs 64 nibbles back into the 32-byte key they came from.
fn pack_nibbles(nibbles: &[u8]) -> Option<B256> {
    (nibbles.len() == 64).then(|| {
        let mut key = B256::ZERO;
        for (byte, pair) in key.iter_mut().zip(nibbles.chunks_exact(2)) {
            *byte = (pair[0] << 4) | pair[1];
        }
        key
    })
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
        self.accounts.get(&keccak256(address)).copied()
    }

    /// A storage slot (zero when unset).
    pub fn storage(&self, address: &Address, slot: U256) -> U256 {
        self.storage_tries
            .get(&keccak256(address))
            .and_then(|trie| trie.get(keccak256(slot.to_be_bytes::<32>()).as_slice()))
            .and_then(|value| alloy_rlp::decode_exact::<U256>(value).ok())
            .unwrap_or_default()
    }

    /// Contract code by hash.
    pub fn code(&self, code_hash: &B256) -> Option<&Bytecode> {
        self.codes.get(code_hash)
    }

    /// Adds code (e.g. read back from the store) so accounts referring to it can execute.
    pub fn insert_code(&mut self, code_hash: B256, code: Bytecode) {
        self.codes.insert(code_hash, code);
    }

    /// Records a sealed block's hash for `BLOCKHASH`; only the last 256 are kept.
    pub fn record_block_hash(&mut self, number: u64, hash: B256) {
        self.block_hashes.insert(number, hash);
        while let Some((&oldest, _)) = self.block_hashes.first_key_value() {
            if oldest + BLOCK_HASH_HISTORY > number {
                break;
            }
            self.block_hashes.remove(&oldest);
        }
    }

    /// Applies one block's net changes.
    pub fn apply(&mut self, changes: &StateChanges) {
        // Take the storage tries the block touches out of the map, update them in parallel.
        let mut touched: Vec<(B256, &AccountChange, Trie)> = changes
            .accounts
            .iter()
            .map(|(address, change)| {
                let key = keccak256(address);
                // A deleted account loses its storage too; a wiped one starts from empty.
                let existing = self.storage_tries.remove(&key).unwrap_or_default();
                let trie = if change.info.is_none() || change.storage_cleared {
                    Trie::new()
                } else {
                    existing
                };
                (key, change, trie)
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
        for (key, change, trie) in touched {
            match change.info {
                None => {
                    self.accounts.remove(&key);
                    self.account_trie.remove(key.as_slice());
                    self.dirty_storage.remove(&key);
                }
                Some(info) => {
                    let leaf = trie_account(&info, trie.root());
                    self.account_trie
                        .insert(key.as_slice(), alloy_rlp::encode(leaf));
                    self.accounts.insert(key, info);
                    if trie.root() != EMPTY_ROOT_HASH {
                        self.dirty_storage.insert(key);
                        self.storage_tries.insert(key, trie);
                    } else {
                        self.dirty_storage.remove(&key);
                    }
                }
            }
        }
        for (hash, code) in &changes.contracts {
            self.codes.insert(*hash, code.clone());
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
        let contracts = state
            .accounts()
            .filter(|(_, account)| account.info.code_hash != KECCAK_EMPTY)
            .filter_map(|(_, account)| {
                let code = state.code_by_hash_ref(account.info.code_hash).ok()?;
                Some((account.info.code_hash, code))
            })
            .collect();
        let mut world = Self::new();
        world.apply(&StateChanges {
            accounts,
            contracts,
        });
        world
    }

    /// Proof of an account and of the given slots against [`WorldState::root`].
    pub fn proof(&self, address: &Address, slots: &[U256]) -> AccountProof {
        let key = keccak256(address);
        let storage = self.storage_tries.get(&key);
        let storage_proofs = slots
            .iter()
            .map(|slot| {
                let slot_key = keccak256(slot.to_be_bytes::<32>());
                let proof = storage
                    .map(|trie| trie.proof(slot_key.as_slice()))
                    .unwrap_or_else(|| vec![Bytes::from_static(&[alloy_rlp::EMPTY_STRING_CODE])]);
                (*slot, self.storage(address, *slot), proof)
            })
            .collect();
        AccountProof {
            account: self.accounts.get(&key).copied(),
            storage_root: storage.map_or(EMPTY_ROOT_HASH, Trie::root),
            account_proof: self.account_trie.proof(key.as_slice()),
            storage_proofs,
        }
    }

    /// Every trie node of the state (account trie and all storage tries), as `(keccak, RLP)`:
    /// a complete node source for building proofs and one-step witnesses. O(state size).
    pub fn trie_nodes(&self) -> Vec<(B256, Vec<u8>)> {
        let mut nodes = Vec::new();
        self.account_trie.all_nodes(&mut nodes);
        for trie in self.storage_tries.values() {
            trie.all_nodes(&mut nodes);
        }
        nodes
    }

    /// Trie nodes created since the last [`WorldState::mark_persisted`], as `(keccak, RLP)`:
    /// exactly what the chain store must add so that this state's root can be read back.
    pub fn unpersisted_nodes(&self) -> Vec<(B256, Vec<u8>)> {
        let mut nodes = Vec::new();
        self.account_trie.unpersisted_nodes(&mut nodes);
        for key in &self.dirty_storage {
            if let Some(trie) = self.storage_tries.get(key) {
                trie.unpersisted_nodes(&mut nodes);
            }
        }
        nodes
    }

    /// Records that the nodes of [`WorldState::unpersisted_nodes`] were committed.
    pub fn mark_persisted(&mut self) {
        self.account_trie.mark_persisted();
        for key in self.dirty_storage.drain() {
            if let Some(trie) = self.storage_tries.get(&key) {
                trie.mark_persisted();
            }
        }
    }

    /// Rebuilds the state with root `root` from stored trie nodes (`fetch` returns a node's
    /// RLP by hash, already checked against it). Code is added with [`WorldState::insert_code`].
    pub fn load(
        root: B256,
        fetch: &(impl Fn(&B256) -> Option<Arc<[u8]>> + Sync),
    ) -> Result<Self, NodeError> {
        let account_trie = Trie::load(root, fetch)?;
        let mut leaves = Vec::new();
        let mut malformed = None;
        account_trie.for_each_leaf(|path, value| {
            let decoded =
                pack_nibbles(path).zip(alloy_rlp::decode_exact::<TrieAccount>(value).ok());
            match decoded {
                Some(leaf) => leaves.push(leaf),
                None => {
                    malformed = Some(NodeError::Malformed {
                        hash: root,
                        reason: "account leaf is not a 32-byte key with an RLP account",
                    })
                }
            }
        });
        if let Some(error) = malformed {
            return Err(error);
        }
        let storage: Vec<(B256, Trie)> = leaves
            .par_iter()
            .filter(|(_, account)| account.storage_root != EMPTY_ROOT_HASH)
            .map(|(key, account)| Ok((*key, Trie::load(account.storage_root, fetch)?)))
            .collect::<Result<_, NodeError>>()?;
        let accounts = leaves
            .into_iter()
            .map(|(key, account)| {
                let info = AccountBasic {
                    balance: account.balance,
                    nonce: account.nonce,
                    code_hash: account.code_hash,
                };
                (key, info)
            })
            .collect();
        Ok(Self {
            accounts,
            account_trie,
            storage_tries: storage.into_iter().collect(),
            ..Self::default()
        })
    }
}

impl DatabaseRef for WorldState {
    type Error = WorldStateError;

    fn basic_ref(&self, address: Address) -> Result<Option<AccountInfo>, Self::Error> {
        Ok(self.account(&address).map(|account| {
            let mut info = AccountInfo::from(account);
            info.code = self.codes.get(&account.code_hash).cloned();
            info
        }))
    }

    fn code_by_hash_ref(&self, code_hash: B256) -> Result<Bytecode, Self::Error> {
        if code_hash == KECCAK_EMPTY {
            return Ok(Bytecode::default());
        }
        self.codes
            .get(&code_hash)
            .cloned()
            .ok_or(WorldStateError::MissingCode(code_hash))
    }

    fn storage_ref(&self, address: Address, index: U256) -> Result<U256, Self::Error> {
        Ok(self.storage(&address, index))
    }

    fn block_hash_ref(&self, number: u64) -> Result<B256, Self::Error> {
        self.block_hashes
            .get(&number)
            .copied()
            .ok_or(WorldStateError::MissingBlockHash(number))
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
