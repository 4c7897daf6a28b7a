//! The states the challenger replays blocks on to build its trace and step witnesses.
//!
//! [`StoreState`] reads a retained block's state from the node's persisted trie nodes on demand
//! and applies each transaction's changes on the twin of the verifier's trie library, so a
//! replay holds only what the block touches: memory and time follow the block, not the chain's
//! state. [`WorldState`] (the whole state in memory) implements the same trait for tests and
//! small tools.

use std::{
    collections::HashMap,
    future::Future,
    sync::{Arc, Mutex, MutexGuard, PoisonError},
};

use alloy_primitives::{keccak256, Address, Bytes, B256, U256};
use alloy_trie::{TrieAccount, EMPTY_ROOT_HASH};
use parallax_executor::{
    revm::{
        database_interface::DatabaseRef,
        primitives::KECCAK_EMPTY,
        state::{AccountInfo, Bytecode},
    },
    AccountBasic, StateChanges, StateView,
};
use parallax_state::{
    node::NodeError,
    store::{ChainStore, HistoricalState, StoreError},
    WorldState,
};

use crate::{
    mpt::{MemoryNodes, Mpt, MptError, NodeSource},
    witness::{apply_changes, StateReads, WitnessError},
};

/// Why a replay state could not answer or change.
#[derive(Debug, thiserror::Error)]
pub enum ReplayError {
    /// The trie is incomplete or malformed.
    #[error(transparent)]
    Trie(#[from] WitnessError),
    /// Reading the store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// An account's code is not in the store.
    #[error("contract code {0} is not in the store")]
    MissingCode(B256),
    /// Stored code is not valid bytecode.
    #[error("stored contract code {0} is malformed")]
    MalformedCode(B256),
    /// BLOCKHASH asked for a block the store does not have.
    #[error("the hash of block {0} is not in the store")]
    MissingBlockHash(u64),
}

impl parallax_executor::revm::database_interface::DBErrorMarker for ReplayError {}

/// A state a block can be replayed on, one transaction at a time, with witnesses built over
/// it at any point (see [`crate::trace::trace_block`] and [`crate::step::step_witness`]).
pub trait ReplayState: StateView {
    /// The state root as it is now.
    fn state_root(&self) -> B256;

    /// Applies one transaction's net changes.
    fn apply_changes(&mut self, changes: &StateChanges) -> Result<(), ReplayError>;

    /// The trie nodes of the current state, for a step witness over it.
    fn witness_source(&self) -> impl NodeSource + '_;

    /// The Merkle proof of `address` against the current root, and the account's storage root.
    fn account_proof(&self, address: &Address) -> Result<(Vec<Bytes>, B256), ReplayError>;
}

impl ReplayState for WorldState {
    fn state_root(&self) -> B256 {
        self.root()
    }

    fn apply_changes(&mut self, changes: &StateChanges) -> Result<(), ReplayError> {
        self.apply(changes);
        Ok(())
    }

    /// Every node of the state: O(state), which is why the challenger uses [`StoreState`].
    fn witness_source(&self) -> impl NodeSource + '_ {
        self.trie_nodes()
            .into_iter()
            .map(|(_, rlp)| rlp)
            .collect::<MemoryNodes>()
    }

    fn account_proof(&self, address: &Address) -> Result<(Vec<Bytes>, B256), ReplayError> {
        let proof = self.proof(address, &[]);
        Ok((proof.account_proof, proof.storage_root))
    }
}

/// Locks a mutex whose data stays consistent even if a holder panicked (every critical section
/// here is a single insert or lookup).
fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}

/// A retained block's persisted trie nodes ([`HistoricalState`], which fetches each node once
/// and caches it) as a synchronous [`NodeSource`]. A failed query is kept so the caller reports
/// it instead of a missing node.
struct HistoryNodes<S> {
    history: HistoricalState<S>,
    runtime: tokio::runtime::Handle,
    failure: Mutex<Option<StoreError>>,
}

impl<S: ChainStore> HistoryNodes<S> {
    /// Runs a store query of the view to completion (from a blocking thread).
    fn query<T>(&self, query: impl Future<Output = T>) -> T {
        self.runtime.block_on(query)
    }
}

impl<S: ChainStore> NodeSource for HistoryNodes<S> {
    fn node(&self, hash: &B256) -> Option<Bytes> {
        match self.query(self.history.node(*hash)) {
            Ok(node) => Some(Bytes::copy_from_slice(&node)),
            Err(StoreError::Node(NodeError::Missing(_))) => None,
            Err(error) => {
                *lock(&self.failure) = Some(error);
                None
            }
        }
    }
}

/// A retained block's state read from the store on demand, changed in memory by replayed
/// transactions. Reads and changes go through the twin of the verifier's trie library, so its
/// roots are the roots the verifier computes.
///
/// It blocks on the store's queries: create it inside a tokio runtime, then use it only from a
/// blocking thread (`spawn_blocking`), never from an async task.
pub struct StoreState<S> {
    nodes: Arc<HistoryNodes<S>>,
    mpt: Mutex<Mpt<Arc<HistoryNodes<S>>>>,
    root: B256,
    /// Code read from the store or deployed by replayed transactions.
    codes: Mutex<HashMap<B256, Bytecode>>,
    block_hashes: Mutex<HashMap<u64, B256>>,
}

impl<S: ChainStore> StoreState<S> {
    /// The state after block `number`. Unknown and pruned blocks are errors.
    pub async fn at(store: S, number: u64) -> Result<Self, StoreError> {
        let history = HistoricalState::at(store, number).await?;
        let root = history.state_root();
        let runtime = tokio::runtime::Handle::try_current()
            .map_err(|_| StoreError::Corrupt("no tokio runtime for store-backed replay".into()))?;
        let nodes = Arc::new(HistoryNodes {
            history,
            runtime,
            failure: Mutex::default(),
        });
        Ok(Self {
            mpt: Mutex::new(Mpt::new(nodes.clone())),
            nodes,
            root,
            codes: Mutex::default(),
            block_hashes: Mutex::default(),
        })
    }

    /// Trie nodes held in memory: those read from the store plus those replayed changes
    /// created. It grows with what the replay touches, not with the state.
    pub fn nodes_in_memory(&self) -> usize {
        self.nodes.history.cached_nodes() + lock(&self.mpt).created_len()
    }

    /// Runs a trie operation, reporting a store failure behind a missing node as what it is.
    fn trie<T>(
        &self,
        operation: impl FnOnce(&mut Mpt<Arc<HistoryNodes<S>>>) -> Result<T, WitnessError>,
    ) -> Result<T, ReplayError> {
        let mut mpt = lock(&self.mpt);
        operation(&mut mpt).map_err(|error| match (&error, lock(&self.nodes.failure).take()) {
            (WitnessError::Trie(MptError::MissingNode(_)), Some(failure)) => {
                ReplayError::Store(failure)
            }
            _ => ReplayError::Trie(error),
        })
    }

    fn account_leaf(&self, address: &Address) -> Result<Option<TrieAccount>, ReplayError> {
        let root = self.root;
        self.trie(|mpt| {
            mpt.get(root, keccak256(address).as_slice())?
                .map(|rlp| {
                    alloy_rlp::decode_exact::<TrieAccount>(&rlp)
                        .map_err(|_| WitnessError::InvalidAccount(*address))
                })
                .transpose()
        })
    }

    fn code(&self, hash: B256) -> Result<Bytecode, ReplayError> {
        if hash == KECCAK_EMPTY {
            return Ok(Bytecode::default());
        }
        if let Some(code) = lock(&self.codes).get(&hash) {
            return Ok(code.clone());
        }
        let raw = self
            .nodes
            .query(self.nodes.history.code(hash))?
            .ok_or(ReplayError::MissingCode(hash))?;
        let code = Bytecode::new_raw_checked(raw).map_err(|_| ReplayError::MalformedCode(hash))?;
        lock(&self.codes).insert(hash, code.clone());
        Ok(code)
    }
}

impl<S: ChainStore> DatabaseRef for StoreState<S> {
    type Error = ReplayError;

    fn basic_ref(&self, address: Address) -> Result<Option<AccountInfo>, Self::Error> {
        let Some(leaf) = self.account_leaf(&address)? else {
            return Ok(None);
        };
        let mut info = AccountInfo::from(AccountBasic {
            balance: leaf.balance,
            nonce: leaf.nonce,
            code_hash: leaf.code_hash,
        });
        if leaf.code_hash != KECCAK_EMPTY {
            info.code = Some(self.code(leaf.code_hash)?);
        }
        Ok(Some(info))
    }

    fn code_by_hash_ref(&self, code_hash: B256) -> Result<Bytecode, Self::Error> {
        self.code(code_hash)
    }

    fn storage_ref(&self, address: Address, index: U256) -> Result<U256, Self::Error> {
        let Some(leaf) = self.account_leaf(&address)? else {
            return Ok(U256::ZERO);
        };
        if leaf.storage_root == EMPTY_ROOT_HASH {
            return Ok(U256::ZERO);
        }
        self.trie(|mpt| {
            let key = keccak256(index.to_be_bytes::<32>());
            Ok(match mpt.get(leaf.storage_root, key.as_slice())? {
                None => U256::ZERO,
                Some(rlp) => alloy_rlp::decode_exact::<U256>(&rlp)
                    .map_err(|_| WitnessError::InvalidSlot(address, index))?,
            })
        })
    }

    fn block_hash_ref(&self, number: u64) -> Result<B256, Self::Error> {
        if let Some(hash) = lock(&self.block_hashes).get(&number) {
            return Ok(*hash);
        }
        let hash = self
            .nodes
            .query(self.nodes.history.block_hash(number))?
            .ok_or(ReplayError::MissingBlockHash(number))?;
        lock(&self.block_hashes).insert(number, hash);
        Ok(hash)
    }
}

/// [`StoreState`]'s current trie as a node source: nodes replayed changes created, then the
/// store's.
struct StoreStateNodes<'a, S>(&'a StoreState<S>);

impl<S: ChainStore> NodeSource for StoreStateNodes<'_, S> {
    fn node(&self, hash: &B256) -> Option<Bytes> {
        let created = lock(&self.0.mpt).created_node(hash);
        created.or_else(|| self.0.nodes.node(hash))
    }
}

impl<S: ChainStore> ReplayState for StoreState<S> {
    fn state_root(&self) -> B256 {
        self.root
    }

    fn apply_changes(&mut self, changes: &StateChanges) -> Result<(), ReplayError> {
        lock(&self.codes).extend(
            changes
                .contracts
                .iter()
                .map(|(hash, code)| (*hash, code.clone())),
        );
        let root = self.root;
        self.root = self.trie(|mpt| {
            let root = apply_changes(mpt, root, &StateReads::default(), changes)?;
            // The twin's record of what it read is a witness nobody asked for here.
            mpt.take_witness();
            Ok(root)
        })?;
        Ok(())
    }

    fn witness_source(&self) -> impl NodeSource + '_ {
        StoreStateNodes(self)
    }

    fn account_proof(&self, address: &Address) -> Result<(Vec<Bytes>, B256), ReplayError> {
        // A fresh twin over the current trie records every hashed node on the path, root first.
        let mut mpt = Mpt::new(StoreStateNodes(self));
        let leaf = mpt
            .get(self.root, keccak256(address).as_slice())
            .map_err(WitnessError::from)?
            .map(|rlp| {
                alloy_rlp::decode_exact::<TrieAccount>(&rlp)
                    .map_err(|_| WitnessError::InvalidAccount(*address))
            })
            .transpose()?;
        let storage_root = leaf.map_or(EMPTY_ROOT_HASH, |leaf| leaf.storage_root);
        Ok((mpt.take_witness(), storage_root))
    }
}
