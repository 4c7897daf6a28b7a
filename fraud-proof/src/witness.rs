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
use std::future::Future;

use alloy_primitives::{keccak256, Address, Bytes, B256, U256};
use alloy_trie::{TrieAccount, EMPTY_ROOT_HASH};
use parallax_executor::StateChanges;

use crate::mpt::{MemoryNodes, Mpt, MptError, NodeSource};
use parallax_state::store::{ChainStore, StoreError};

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

/// Why a witness could not be built from a node store that is fetched from.
#[derive(Debug, thiserror::Error)]
pub enum FetchWitnessError<E> {
    /// The witness itself failed (malformed pre-state).
    #[error(transparent)]
    Witness(WitnessError),
    /// The store does not have a node the witness needs.
    #[error("the node store has no trie node {0}")]
    Missing(B256),
    /// Fetching failed.
    #[error("fetching a trie node failed: {0}")]
    Fetch(E),
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
        let post_state_root = apply_changes(&mut self.mpt, self.pre_state_root, reads, writes)?;
        Ok(StateWitness {
            nodes: self.mpt.take_witness(),
            post_state_root,
        })
    }
}

/// Applies `writes` to the state with root `root` on `mpt` exactly as the Solidity library
/// does (reading every account and slot in `reads` and `writes` first), and returns the new
/// root. The witness builder and the challenger's store-backed replay
/// ([`crate::replay::StoreState`]) share it, so the roots a trace commits to are the roots the
/// verifier computes.
pub(crate) fn apply_changes<S: NodeSource>(
    mpt: &mut Mpt<S>,
    root: B256,
    reads: &StateReads,
    writes: &StateChanges,
) -> Result<B256, WitnessError> {
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
        let leaf = match mpt.get(root, key.as_slice())? {
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
            let value = match mpt.get(storage_root, slot_key(*slot).as_slice())? {
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
    let mut root = root;
    for (key, account) in &touched {
        let Some(change) = writes.accounts.get(&account.address) else {
            continue;
        };
        let Some(info) = change.info else {
            if account.leaf.is_some() {
                root = mpt.put(root, key.as_slice(), &[])?;
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
            storage_root = mpt.put(storage_root, slot_key.as_slice(), &encoded)?;
        }
        let leaf = TrieAccount {
            nonce: info.nonce,
            balance: info.balance,
            storage_root,
            code_hash: info.code_hash,
        };
        if account.leaf != Some(leaf) {
            root = mpt.put(root, key.as_slice(), &alloy_rlp::encode(leaf))?;
        }
    }
    Ok(root)
}

impl StateWitnessBuilder<MemoryNodes> {
    /// Builds the witness over a node store that is asked for one node at a time (`fetch(hash)`,
    /// e.g. a database): the twin runs over the nodes fetched so far, and each node it misses is
    /// fetched and the run repeated. Only the nodes the witness needs are ever fetched.
    pub async fn build_fetching<F, Fut, E>(
        pre_state_root: B256,
        reads: &StateReads,
        writes: &StateChanges,
        mut fetch: F,
    ) -> Result<StateWitness, FetchWitnessError<E>>
    where
        F: FnMut(B256) -> Fut,
        Fut: Future<Output = Result<Option<Bytes>, E>>,
    {
        let mut fetched = MemoryNodes::new();
        loop {
            match StateWitnessBuilder::new(&fetched, pre_state_root).build(reads, writes) {
                Err(WitnessError::Trie(MptError::MissingNode(hash))) => {
                    let node = fetch(hash)
                        .await
                        .map_err(FetchWitnessError::Fetch)?
                        .ok_or(FetchWitnessError::Missing(hash))?;
                    if fetched.insert(node) != hash {
                        return Err(FetchWitnessError::Witness(WitnessError::Trie(
                            MptError::Corrupt(hash),
                        )));
                    }
                }
                result => return result.map_err(FetchWitnessError::Witness),
            }
        }
    }

    /// [`StateWitnessBuilder::build_fetching`] over the node's persisted trie nodes.
    pub async fn build_from_store<C: ChainStore>(
        store: &C,
        pre_state_root: B256,
        reads: &StateReads,
        writes: &StateChanges,
    ) -> Result<StateWitness, FetchWitnessError<StoreError>> {
        Self::build_fetching(pre_state_root, reads, writes, |hash| async move {
            let mut nodes = store.trie_nodes(&[hash]).await?;
            Ok(nodes.pop().map(|(_, node)| Bytes::copy_from_slice(&node)))
        })
        .await
    }
}

/// The storage-trie key of a slot.
fn slot_key(slot: U256) -> B256 {
    keccak256(slot.to_be_bytes::<32>())
}

#[cfg(test)]
mod tests {
    use super::*;
    use parallax_executor::{AccountBasic, AccountChange};
    use parallax_state::WorldState;
    use std::pin::pin;
    use std::task::{Context, Poll, Waker};

    /// Runs a future whose awaits are all immediately ready.
    fn ready<T>(future: impl Future<Output = T>) -> T {
        let mut future = pin!(future);
        match future
            .as_mut()
            .poll(&mut Context::from_waker(Waker::noop()))
        {
            Poll::Ready(value) => value,
            Poll::Pending => panic!("the test future is not immediately ready"),
        }
    }

    fn account(balance: u64) -> AccountChange {
        AccountChange {
            info: Some(AccountBasic {
                balance: U256::from(balance),
                ..AccountBasic::default()
            }),
            ..AccountChange::default()
        }
    }

    /// A world, then a transaction that updates, creates, deletes and writes storage.
    fn fixture() -> (WorldState, MemoryNodes, StateReads, StateChanges) {
        let mut genesis = StateChanges::default();
        for i in 1..=50u8 {
            let mut change = account(u64::from(i));
            if i % 5 == 0 {
                change.storage = (0..10u64)
                    .map(|s| (U256::from(s), U256::from(s + 1)))
                    .collect();
            }
            genesis.accounts.insert(Address::repeat_byte(i), change);
        }
        let mut world = WorldState::new();
        world.apply(&genesis);
        let nodes: MemoryNodes = world
            .unpersisted_nodes()
            .into_iter()
            .map(|(_, n)| n)
            .collect();
        let mut tx = StateChanges::default();
        tx.accounts.insert(Address::repeat_byte(1), account(1000));
        tx.accounts.insert(Address::repeat_byte(0xee), account(7));
        tx.accounts
            .insert(Address::repeat_byte(2), AccountChange::default());
        let mut writer = account(5);
        writer.storage.insert(U256::from(3), U256::ZERO);
        writer.storage.insert(U256::from(11), U256::from(9));
        tx.accounts.insert(Address::repeat_byte(5), writer);
        let mut reads = StateReads::default();
        reads.accounts.insert(Address::repeat_byte(9));
        reads
            .slots
            .entry(Address::repeat_byte(10))
            .or_default()
            .insert(U256::from(4));
        (world, nodes, reads, tx)
    }

    #[test]
    fn post_root_matches_the_state_crate() {
        let (world, nodes, reads, tx) = fixture();
        let witness = StateWitnessBuilder::new(&nodes, world.root())
            .build(&reads, &tx)
            .expect("complete pre-state");
        let mut post = world.clone();
        post.apply(&tx);
        assert_eq!(witness.post_state_root, post.root());
        assert!(witness.nodes.len() < nodes.len());
    }

    #[test]
    fn fetching_builds_the_same_witness_from_only_what_it_needs() {
        let (world, nodes, reads, tx) = fixture();
        let direct = StateWitnessBuilder::new(&nodes, world.root())
            .build(&reads, &tx)
            .expect("complete pre-state");
        let mut asked = 0;
        let fetched = ready(StateWitnessBuilder::build_fetching(
            world.root(),
            &reads,
            &tx,
            |hash| {
                asked += 1;
                let node = nodes.node(&hash);
                async move { Ok::<_, std::convert::Infallible>(node) }
            },
        ))
        .expect("store has every node");
        assert_eq!(fetched.post_state_root, direct.post_state_root);
        let mut a = fetched.nodes.clone();
        let mut b = direct.nodes.clone();
        a.sort();
        b.sort();
        assert_eq!(a, b);
        assert_eq!(asked, direct.nodes.len());

        let missing = keccak256(&direct.nodes[0]);
        let result = ready(StateWitnessBuilder::build_fetching(
            world.root(),
            &reads,
            &tx,
            |hash| {
                let node = (hash != missing).then(|| nodes.node(&hash)).flatten();
                async move { Ok::<_, std::convert::Infallible>(node) }
            },
        ));
        assert!(matches!(result, Err(FetchWitnessError::Missing(h)) if h == missing));
    }
}
