//! Reading state out of the store: any retained block's accounts, storage and proofs by walking
//! its trie nodes, and the latest state rebuilt in memory at start.

use std::{
    collections::HashMap,
    sync::{Arc, Mutex},
};

use alloy_primitives::{keccak256, Address, Bytes, B256, U256};
use alloy_trie::{TrieAccount, EMPTY_ROOT_HASH};
use parallax_executor::AccountBasic;
use revm::bytecode::Bytecode;

use super::{ChainStore, StoreError};
use crate::{
    node::{account_node_refs, child_hashes, lookup_step, ChildRef, NodeError, Step},
    roots::to_nibbles,
    world::AccountProof,
    WorldState,
};

/// Nodes fetched per query when rebuilding a whole state.
const LOAD_BATCH: usize = 5_000;

/// The state of one retained block, read from stored trie nodes on demand (`eth_getBalance`,
/// `eth_getStorageAt`, `eth_getProof`, `eth_call` at a past block). Fetched nodes are cached for
/// the life of the view, so repeated reads of one request hit the database once.
#[derive(Debug)]
pub struct HistoricalState<S> {
    store: S,
    block: u64,
    state_root: B256,
    cache: Mutex<HashMap<B256, Arc<[u8]>>>,
}

impl<S: ChainStore> HistoricalState<S> {
    /// The state after block `number`. Unknown and pruned blocks are errors.
    pub async fn at(store: S, number: u64) -> Result<Self, StoreError> {
        let header = store
            .header(number)
            .await?
            .ok_or(StoreError::UnknownBlock(number))?;
        let pruned_below = store.pruned_below().await?;
        if number < pruned_below {
            return Err(StoreError::StatePruned {
                block: number,
                pruned_below,
            });
        }
        Ok(Self {
            store,
            block: number,
            state_root: header.header.state_root,
            cache: Mutex::default(),
        })
    }

    /// The block this view reads.
    pub fn block(&self) -> u64 {
        self.block
    }

    /// The state root of that block.
    pub fn state_root(&self) -> B256 {
        self.state_root
    }

    /// The trie node with keccak `hash`, from the view's cache or the store (cached after).
    pub async fn node(&self, hash: B256) -> Result<Arc<[u8]>, StoreError> {
        if let Some(node) = self.cached(&hash) {
            return Ok(node);
        }
        let (_, node) = self
            .store
            .trie_nodes(&[hash])
            .await?
            .pop()
            .ok_or(NodeError::Missing(hash))?;
        if let Ok(mut cache) = self.cache.lock() {
            cache.insert(hash, node.clone());
        }
        Ok(node)
    }

    fn cached(&self, hash: &B256) -> Option<Arc<[u8]>> {
        self.cache.lock().ok()?.get(hash).cloned()
    }

    /// Trie nodes fetched so far (what the view holds in memory).
    pub fn cached_nodes(&self) -> usize {
        self.cache.lock().map_or(0, |cache| cache.len())
    }

    /// The hash of block `number`, if the store has its header (for `BLOCKHASH`).
    pub async fn block_hash(&self, number: u64) -> Result<Option<B256>, StoreError> {
        Ok(self.store.header(number).await?.map(|header| header.hash))
    }

    /// Looks `key` up in the trie under `root`: its value and the proof (hashed nodes on the path).
    async fn lookup(
        &self,
        root: B256,
        key: B256,
    ) -> Result<(Option<Vec<u8>>, Vec<Bytes>), StoreError> {
        if root == EMPTY_ROOT_HASH {
            return Ok((
                None,
                vec![Bytes::from_static(&[alloy_rlp::EMPTY_STRING_CODE])],
            ));
        }
        let path = to_nibbles(key.as_slice());
        let mut rest = path.as_slice();
        let mut proof = Vec::new();
        let mut hash = root;
        let mut node = self.node(root).await?;
        proof.push(Bytes::copy_from_slice(&node));
        // Inline children are walked inside their parent's bytes.
        let mut inline: Option<Vec<u8>> = None;
        loop {
            let current: &[u8] = inline.as_deref().unwrap_or(&node);
            match lookup_step(hash, current, rest)? {
                Step::Found(value) => return Ok((Some(value.to_vec()), proof)),
                Step::Absent => return Ok((None, proof)),
                Step::Descend { child, consumed } => {
                    rest = &rest[consumed..];
                    match child {
                        ChildRef::Hash(child) => {
                            hash = child;
                            node = self.node(child).await?;
                            proof.push(Bytes::copy_from_slice(&node));
                            inline = None;
                        }
                        ChildRef::Inline(bytes) => inline = Some(bytes.to_vec()),
                    }
                }
            }
        }
    }

    async fn trie_account(
        &self,
        address: &Address,
    ) -> Result<(Option<TrieAccount>, Vec<Bytes>), StoreError> {
        let (leaf, proof) = self.lookup(self.state_root, keccak256(address)).await?;
        let account = leaf
            .map(|leaf| {
                alloy_rlp::decode_exact::<TrieAccount>(&leaf).map_err(|_| {
                    StoreError::Corrupt(format!(
                        "account leaf of {address} in block {}",
                        self.block
                    ))
                })
            })
            .transpose()?;
        Ok((account, proof))
    }

    /// An account's fields.
    pub async fn account(&self, address: &Address) -> Result<Option<AccountBasic>, StoreError> {
        let (account, _) = self.trie_account(address).await?;
        Ok(account.map(|account| AccountBasic {
            balance: account.balance,
            nonce: account.nonce,
            code_hash: account.code_hash,
        }))
    }

    async fn slot_in(
        &self,
        storage_root: B256,
        slot: U256,
    ) -> Result<(U256, Vec<Bytes>), StoreError> {
        let key = keccak256(slot.to_be_bytes::<32>());
        let (value, proof) = self.lookup(storage_root, key).await?;
        let value = value
            .map(|value| {
                alloy_rlp::decode_exact::<U256>(&value).map_err(|_| {
                    StoreError::Corrupt(format!("storage value in block {}", self.block))
                })
            })
            .transpose()?
            .unwrap_or_default();
        Ok((value, proof))
    }

    /// A storage slot (zero when unset or the account does not exist).
    pub async fn storage(&self, address: &Address, slot: U256) -> Result<U256, StoreError> {
        match self.trie_account(address).await? {
            (Some(account), _) => Ok(self.slot_in(account.storage_root, slot).await?.0),
            (None, _) => Ok(U256::ZERO),
        }
    }

    /// Contract code by hash.
    pub async fn code(&self, code_hash: B256) -> Result<Option<Bytes>, StoreError> {
        self.store.bytecode(code_hash).await
    }

    /// `eth_getProof`: the account and the given slots with their Merkle proofs.
    pub async fn proof(
        &self,
        address: &Address,
        slots: &[U256],
    ) -> Result<AccountProof, StoreError> {
        let (account, account_proof) = self.trie_account(address).await?;
        let storage_root = account.map_or(EMPTY_ROOT_HASH, |account| account.storage_root);
        let mut storage_proofs = Vec::with_capacity(slots.len());
        for slot in slots {
            let (value, proof) = self.slot_in(storage_root, *slot).await?;
            storage_proofs.push((*slot, value, proof));
        }
        Ok(AccountProof {
            account: account.map(|account| AccountBasic {
                balance: account.balance,
                nonce: account.nonce,
                code_hash: account.code_hash,
            }),
            storage_root,
            account_proof,
            storage_proofs,
        })
    }
}

/// What block `number`'s output root commits to (design §2): its state root, the storage root of
/// the `L2ToL1MessagePasser` predeploy (withdrawals are proven against it) and its hash, read
/// from the store as the proposer posts it. Pruned and unknown blocks are errors.
pub async fn output_root_input<S: ChainStore>(
    store: &S,
    number: u64,
) -> Result<parallax_protocol::OutputRootInput, StoreError> {
    let header = store
        .header(number)
        .await?
        .ok_or(StoreError::UnknownBlock(number))?;
    let view = HistoricalState::at(store.clone(), number).await?;
    let passer = parallax_protocol::predeploys::L2_TO_L1_MESSAGE_PASSER;
    let (account, _) = view.trie_account(&passer).await?;
    Ok(parallax_protocol::OutputRootInput {
        state_root: header.header.state_root,
        message_passer_storage_root: account
            .map_or(EMPTY_ROOT_HASH, |account| account.storage_root),
        block_hash: header.hash,
    })
}

/// Rebuilds the state after block `number` in memory: every trie node reachable from its state
/// root (fetched level by level in batches), all contract code, and the hashes of the 256 blocks
/// before it for `BLOCKHASH`. A missing or corrupt node is an error naming it.
pub async fn load_world_state<S: ChainStore>(
    store: &S,
    number: u64,
) -> Result<WorldState, StoreError> {
    let header = store
        .header(number)
        .await?
        .ok_or(StoreError::UnknownBlock(number))?;
    let root = header.header.state_root;
    let mut nodes: HashMap<B256, Arc<[u8]>> = HashMap::new();
    let mut storage_roots = Vec::new();
    let mut frontier = vec![root];
    for account_trie in [true, false] {
        while !frontier.is_empty() {
            frontier.retain(|hash| *hash != EMPTY_ROOT_HASH && !nodes.contains_key(hash));
            frontier.sort_unstable();
            frontier.dedup();
            let mut next = Vec::new();
            for batch in frontier.chunks(LOAD_BATCH) {
                let fetched = store.trie_nodes(batch).await?;
                if fetched.len() != batch.len() {
                    let missing = batch
                        .iter()
                        .find(|hash| !fetched.iter().any(|(found, _)| found == *hash))
                        .copied()
                        .unwrap_or_default();
                    return Err(NodeError::Missing(missing).into());
                }
                for (hash, node) in fetched {
                    if account_trie {
                        account_node_refs(hash, &node, &mut next, &mut storage_roots)?;
                    } else {
                        child_hashes(hash, &node, &mut next)?;
                    }
                    nodes.insert(hash, node);
                }
            }
            frontier = next;
        }
        frontier = std::mem::take(&mut storage_roots);
    }
    // Decoding and building millions of nodes is CPU work: keep it off the async runtime.
    let mut world = tokio::task::spawn_blocking(move || {
        WorldState::load(root, &|hash: &B256| nodes.get(hash).cloned())
    })
    .await
    .map_err(|error| StoreError::Corrupt(format!("state rebuild failed: {error}")))??;
    for (hash, code) in store.bytecodes().await? {
        let code = Bytecode::new_raw_checked(code)
            .map_err(|error| StoreError::Corrupt(format!("bytecode {hash}: {error:?}")))?;
        world.insert_code(hash, code);
    }
    for ancestor in number.saturating_sub(255)..=number {
        if let Some(header) = store.header(ancestor).await? {
            world.record_block_hash(ancestor, header.hash);
        }
    }
    Ok(world)
}

/// A [`HistoricalState`] as revm's synchronous [`revm::DatabaseRef`], for `eth_call` and
/// `eth_estimateGas` at a past block. Each read runs the store query on the tokio runtime the
/// view was made in, so use it only from a blocking thread (`spawn_blocking`), never from an
/// async task.
#[derive(Debug)]
pub struct BlockingHistory<S> {
    state: HistoricalState<S>,
    runtime: tokio::runtime::Handle,
}

impl<S: ChainStore> BlockingHistory<S> {
    /// Wraps `state`; must be called inside a tokio runtime.
    pub fn new(state: HistoricalState<S>) -> Result<Self, StoreError> {
        let runtime = tokio::runtime::Handle::try_current()
            .map_err(|_| StoreError::Corrupt("no tokio runtime for historical reads".into()))?;
        Ok(Self { state, runtime })
    }
}

impl<S: ChainStore> revm::DatabaseRef for BlockingHistory<S> {
    type Error = StoreError;

    fn basic_ref(&self, address: Address) -> Result<Option<revm::state::AccountInfo>, Self::Error> {
        let account = self.runtime.block_on(self.state.account(&address))?;
        Ok(account.map(revm::state::AccountInfo::from))
    }

    fn code_by_hash_ref(&self, code_hash: B256) -> Result<Bytecode, Self::Error> {
        if code_hash == revm::primitives::KECCAK_EMPTY {
            return Ok(Bytecode::default());
        }
        let code = self
            .runtime
            .block_on(self.state.code(code_hash))?
            .ok_or_else(|| StoreError::Corrupt(format!("missing code {code_hash}")))?;
        Ok(Bytecode::new_raw(code))
    }

    fn storage_ref(&self, address: Address, index: U256) -> Result<U256, Self::Error> {
        self.runtime.block_on(self.state.storage(&address, index))
    }

    fn block_hash_ref(&self, number: u64) -> Result<B256, Self::Error> {
        // BLOCKHASH only reaches the 256 blocks before the call's block.
        if number >= self.state.block() + 1 || number + 256 < self.state.block() + 1 {
            return Ok(B256::ZERO);
        }
        Ok(self
            .runtime
            .block_on(self.state.block_hash(number))?
            .unwrap_or_default())
    }
}
