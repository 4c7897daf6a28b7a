//! The state part of a one-step-proof witness: the pre-state trie nodes the L1 `WorldState`
//! library (contracts/src/verifier/WorldState.sol) reads while it re-executes one transaction
//! and computes the post-state root.
//!
//! [`StateWitnessBuilder`] replays, on the [`Mpt`] twin, exactly what the Solidity library does:
//! it reads every touched account and slot from the pre-state, then applies the final writes in
//! the library's canonical order (per account sorted by hashed address: its slot writes sorted
//! by hashed slot, then its leaf), skipping writes that leave a value as it was. The nodes the
//! twin fetched are the witness; nodes only the EVM's execution order would need cannot occur,
//! because neither side depends on that order.

use std::collections::{BTreeMap, BTreeSet};

use alloy_primitives::{keccak256, Address, Bytes, B256, U256};
use alloy_trie::{TrieAccount, EMPTY_ROOT_HASH};
use parallax_executor::StateChanges;

use crate::mpt::{Mpt, MptError, NodeSource};

/// Why a witness could not be built.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum WitnessError {
    /// The pre-state is missing a node or has a malformed one.
    #[error(transparent)]
    Trie(#[from] MptError),
    /// An account leaf of the pre-state is not an RLP account.
    #[error("account {0} has a malformed leaf")]
    InvalidAccount(Address),
    /// A storage leaf of the pre-state is not an RLP integer.
    #[error("slot {1} of account {0} has a malformed leaf")]
    InvalidSlot(Address, U256),
}

/// What a transaction read from the pre-state (in addition to what it wrote).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct StateReads {
    /// Accounts read (balance, nonce, code hash, or existence).
    pub accounts: BTreeSet<Address>,
    /// Slots read, by account.
    pub slots: BTreeMap<Address, BTreeSet<U256>>,
}

/// The state witness of one transaction and the post-state root it leads to.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StateWitness {
    /// Trie nodes of the pre-state, in the order the twin first read them.
    pub nodes: Vec<Bytes>,
    /// The state root after the writes.
    pub post_state_root: B256,
}

/// Builds [`StateWitness`]es from a node source for the pre-state.
pub struct StateWitnessBuilder<S> {
    mpt: Mpt<S>,
    pre_state_root: B256,
}

/// An account as read from the pre-state.
struct Touched {
    address: Address,
    leaf: Option<TrieAccount>,
    /// Slot values in the pre-state, by slot.
    slots: BTreeMap<U256, U256>,
}

impl<S: NodeSource> StateWitnessBuilder<S> {
    /// A builder over `source`, which must hold the pre-state with root `pre_state_root`.
    pub fn new(source: S, pre_state_root: B256) -> Self {
        Self {
            mpt: Mpt::new(source),
            pre_state_root,
        }
    }

    /// The witness for a transaction that read `reads` and wrote `writes` (its net changes, as
    /// the executor reports them: final account, storage-cleared flag, final slot values).
    pub fn build(
        mut self,
        reads: &StateReads,
        writes: &StateChanges,
    ) -> Result<StateWitness, WitnessError> {
        let addresses: BTreeSet<Address> = reads
            .accounts
            .iter()
            .chain(reads.slots.keys())
            .chain(writes.accounts.keys())
            .copied()
            .collect();
        // Reads: every touched account, and every touched slot in the pre-state storage trie.
        let mut touched: BTreeMap<B256, Touched> = BTreeMap::new();
        for address in addresses {
            let key = keccak256(address);
            let leaf = match self.mpt.get(self.pre_state_root, key.as_slice())? {
                None => None,
                Some(rlp) => Some(
                    alloy_rlp::decode_exact::<TrieAccount>(&rlp)
                        .map_err(|_| WitnessError::InvalidAccount(address))?,
                ),
            };
            let storage_root = leaf.map_or(EMPTY_ROOT_HASH, |leaf| leaf.storage_root);
            let slots_read = reads.slots.get(&address).into_iter().flatten();
            let slots_written = writes
                .accounts
                .get(&address)
                .into_iter()
                .flat_map(|change| change.storage.keys());
            let mut slots = BTreeMap::new();
            for slot in slots_read.chain(slots_written) {
                let value = match self.mpt.get(storage_root, slot_key(*slot).as_slice())? {
                    None => U256::ZERO,
                    Some(rlp) => alloy_rlp::decode_exact::<U256>(&rlp)
                        .map_err(|_| WitnessError::InvalidSlot(address, *slot))?,
                };
                slots.insert(*slot, value);
            }
            touched.insert(
                key,
                Touched {
                    address,
                    leaf,
                    slots,
                },
            );
        }
        // Writes, in WorldState.stateRoot's order.
        let mut root = self.pre_state_root;
        for (key, account) in &touched {
            let Some(change) = writes.accounts.get(&account.address) else {
                continue;
            };
            let Some(info) = change.info else {
                if account.leaf.is_some() {
                    root = self.mpt.put(root, key.as_slice(), &[])?;
                }
                continue;
            };
            let mut storage_root = match (change.storage_cleared, account.leaf) {
                (false, Some(leaf)) => leaf.storage_root,
                _ => EMPTY_ROOT_HASH,
            };
            let mut slot_writes: Vec<(B256, U256)> = change
                .storage
                .iter()
                .filter(|(slot, value)| {
                    let original = if change.storage_cleared {
                        U256::ZERO
                    } else {
                        account.slots.get(slot).copied().unwrap_or_default()
                    };
                    **value != original
                })
                .map(|(slot, value)| (slot_key(*slot), *value))
                .collect();
            slot_writes.sort_unstable();
            for (slot_key, value) in slot_writes {
                let encoded = if value.is_zero() {
                    Vec::new()
                } else {
                    alloy_rlp::encode(value)
                };
                storage_root = self.mpt.put(storage_root, slot_key.as_slice(), &encoded)?;
            }
            let leaf = TrieAccount {
                nonce: info.nonce,
                balance: info.balance,
                storage_root,
                code_hash: info.code_hash,
            };
            if account.leaf != Some(leaf) {
                root = self
                    .mpt
                    .put(root, key.as_slice(), &alloy_rlp::encode(leaf))?;
            }
        }
        Ok(StateWitness {
            nodes: self.mpt.take_witness(),
            post_state_root: root,
        })
    }
}

/// The storage-trie key of a slot.
fn slot_key(slot: U256) -> B256 {
    keccak256(slot.to_be_bytes::<32>())
}
