//! The chain the sequencer extends: the latest state in memory, the head, and sealing blocks.
//!
//! Every block is sealed from [`PayloadAttributes`], the inputs derivation decides for it (L1
//! origin, time, the L1-info deposit and the origin's deposits, gas limit and fee parameters),
//! followed by transactions: batch transactions for a replica deriving from L1, or pool
//! candidates for the sequencer. Both paths go through [`Chain::seal_next`], so a replica builds
//! exactly the sequencer's block. The block is executed with the Block-STM executor on the latest
//! state (on a blocking thread), its state changes applied to the in-memory trie (only the
//! touched paths re-hashed), and then committed to the chain store with its new trie nodes in
//! one database transaction. The state lock is held from applying the changes until the commit
//! is done, so readers never see a state whose block is not stored yet.

use std::sync::Arc;

use alloy_consensus::{Header, Transaction, TxEnvelope, EMPTY_OMMER_ROOT_HASH};
use alloy_eips::eip2718::Encodable2718;
use alloy_primitives::{Address, Bytes, B256, U256};
use parallax_executor::{
    revm::{
        context::BlockEnv,
        primitives::{eip4844::BLOB_BASE_FEE_UPDATE_FRACTION_CANCUN, hardfork::SpecId},
    },
    BlockExecutor, BlockStm, ExecutionEnv, ExecutionError, ExecutionStats, RollupTx, TxReceipt,
};
use parallax_protocol::{
    block::L2BlockInfo,
    deposit::DepositTx,
    derive::{build_attributes, DerivedBlock, PayloadAttributes},
    l1_data_fee,
    l1_info::L1Info,
    predeploys::{BASE_FEE_VAULT, L1_FEE_VAULT, SEQUENCER_FEE_VAULT},
    RollupConfig,
};
use parallax_state::{
    roots::{logs_bloom, ordered_root, receipts_root},
    store::{
        load_world_state, BlockCommit, BlockRef, ChainStore, HeadKind, Rewound, StoreError,
        StoredBlock, StoredReceipt, StoredTransaction,
    },
    WorldState,
};
use tokio::sync::RwLock;

use crate::{
    genesis::Genesis,
    mempool::{decode_transaction, recover_sender, PooledTx},
    origin::Origin,
};

/// Why the chain could not be opened or extended.
#[derive(Debug, thiserror::Error)]
pub enum ChainError {
    /// The store failed; the sequencer stops rather than diverge from it.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// The genesis is invalid.
    #[error(transparent)]
    Genesis(#[from] crate::genesis::GenesisError),
    /// The stored genesis is not the configured one.
    #[error("the database holds a chain with genesis {stored}, but the configuration gives {configured}")]
    GenesisMismatch {
        /// Genesis hash in the store.
        stored: B256,
        /// Genesis hash of the configuration.
        configured: B256,
    },
    /// Execution failed for a reason other than an invalid transaction.
    #[error(transparent)]
    Execution(#[from] ExecutionError),
    /// A blocking task panicked.
    #[error("block building task failed: {0}")]
    Task(String),
    /// The attributes do not describe a valid next block (a bug in the caller or derivation:
    /// nothing is written).
    #[error("invalid block attributes: {0}")]
    Attributes(String),
    /// The attributes were built on a head that another writer has since replaced (the block
    /// producer racing an L2 reorg): nothing is written, build on the new head.
    #[error("block {number} on {parent} does not extend the head {head_number} ({head})")]
    HeadMoved {
        /// The block the attributes describe.
        number: u64,
        /// Their parent.
        parent: B256,
        /// The head's number.
        head_number: u64,
        /// The head's hash.
        head: B256,
    },
}

/// Execution parameters the sequencer applies to every block. Fee recipients are not among
/// them: they are consensus (the predeploy vaults), so every replica computes the same state.
#[derive(Clone, Debug)]
pub struct ChainParams {
    /// Protocol parameters (chain id, gas limit, base fee rules, genesis anchor).
    pub rollup: RollupConfig,
    /// Block-STM worker threads.
    pub threads: usize,
}

/// The latest sealed header with its hash.
#[derive(Clone, Debug)]
pub struct Head {
    /// The header.
    pub header: Header,
    /// Its hash.
    pub hash: B256,
    /// Its L1 origin and position in the epoch, as derivation tracks it.
    pub info: L2BlockInfo,
}

impl Head {
    /// Number and hash.
    pub fn block_ref(&self) -> BlockRef {
        BlockRef {
            number: self.header.number,
            hash: self.hash,
        }
    }
}

/// State shared between the block producer and RPC readers.
#[derive(Debug)]
pub struct ChainState {
    /// The state after `head`.
    pub world: WorldState,
    /// The latest block.
    pub head: Head,
}

/// A block that was sealed, with what the pool must learn from it.
#[derive(Debug)]
pub struct Sealed {
    /// The stored block.
    pub block: StoredBlock,
    /// Candidates refused during execution, with the reason (and their sender's later txs).
    pub dropped: Vec<(B256, String)>,
    /// Block-STM statistics of the final execution.
    pub stats: ExecutionStats,
}

/// The chain's block at a derived block's height, after [`Chain::adopt`].
#[derive(Debug)]
pub struct Adopted {
    /// Its hash.
    pub hash: B256,
    /// What changed, if the stored block was not already the derived one.
    pub replaced: Option<Replaced>,
}

/// A block L1 decided, sealed in place of the sequencer's own.
#[derive(Debug)]
pub struct Replaced {
    /// The derived block, now stored.
    pub sealed: Sealed,
    /// User transactions of the dropped blocks, back in the pool journal (in block order).
    pub returned: Vec<StoredTransaction>,
}

/// Whether `stored` is the block `attributes` (derived from L1) describe: same parent, L1
/// origin and transactions. Everything else in a block follows from these.
pub fn is_derived_block(stored: &StoredBlock, attributes: &PayloadAttributes) -> bool {
    stored.header.number == attributes.number
        && stored.l1_origin == attributes.l1_origin
        && stored.header.parent_hash == attributes.parent_hash
        && stored.transactions.len() == attributes.transactions.len()
        && stored
            .transactions
            .iter()
            .zip(&attributes.transactions)
            .all(|(tx, raw)| tx.raw == *raw)
}

/// The sequencer's chain: store, parameters and shared state.
#[derive(Debug)]
pub struct Chain<S> {
    store: S,
    params: ChainParams,
    state: Arc<RwLock<ChainState>>,
    /// Held by whoever changes the chain (sealing, rewinding, adopting L1's block), so a
    /// rewind and the block that replaces it are one step for the block producer.
    writing: tokio::sync::Mutex<()>,
}

fn spec() -> SpecId {
    SpecId::CANCUN
}

/// Header `extraData` of every block (consensus: a replica must rebuild identical headers).
const EXTRA_DATA: &[u8] = b"parallax";

/// The header a block at `number` on top of `parent` would have before execution.
fn block_env(header: &Header) -> BlockEnv {
    let mut block = BlockEnv {
        number: U256::from(header.number),
        beneficiary: header.beneficiary,
        timestamp: U256::from(header.timestamp),
        gas_limit: header.gas_limit,
        basefee: header.base_fee_per_gas.unwrap_or_default(),
        difficulty: U256::ZERO,
        prevrandao: Some(header.mix_hash),
        ..BlockEnv::default()
    };
    block.set_blob_excess_gas_and_price(0, BLOB_BASE_FEE_UPDATE_FRACTION_CANCUN);
    block
}

impl<S: ChainStore> Chain<S> {
    /// Opens the chain in `store`: resumes at its unsafe head, or writes `genesis` as block 0.
    pub async fn open(
        store: S,
        mut params: ChainParams,
        genesis: &Genesis,
    ) -> Result<Self, ChainError> {
        let genesis_changes = genesis.clone().with_predeploys().state_changes()?;
        let mut genesis_world = WorldState::new();
        genesis_world.apply(&genesis_changes);
        let genesis_header = Header {
            parent_hash: B256::ZERO,
            ommers_hash: EMPTY_OMMER_ROOT_HASH,
            beneficiary: Address::ZERO,
            state_root: genesis_world.root(),
            transactions_root: alloy_trie::EMPTY_ROOT_HASH,
            receipts_root: alloy_trie::EMPTY_ROOT_HASH,
            number: 0,
            gas_limit: params.rollup.gas_limit,
            timestamp: genesis.timestamp,
            extra_data: genesis.extra_data.clone(),
            base_fee_per_gas: Some(params.rollup.min_base_fee.max(1_000_000_000)),
            withdrawals_root: Some(alloy_trie::EMPTY_ROOT_HASH),
            blob_gas_used: Some(0),
            excess_blob_gas: Some(0),
            parent_beacon_block_root: Some(B256::ZERO),
            ..Default::default()
        };
        let genesis_hash = genesis_header.hash_slow();
        let anchor = params.rollup.genesis;
        if anchor.l2.number != 0 {
            return Err(ChainError::Attributes(
                "the rollup's genesis must be L2 block 0".into(),
            ));
        }
        if anchor.l2.hash != B256::ZERO && anchor.l2.hash != genesis_hash {
            return Err(ChainError::GenesisMismatch {
                stored: anchor.l2.hash,
                configured: genesis_hash,
            });
        }
        if anchor.l2_timestamp != genesis.timestamp {
            return Err(ChainError::Attributes(format!(
                "the rollup config's genesis time {} is not the genesis file's {}",
                anchor.l2_timestamp, genesis.timestamp
            )));
        }
        // Derivation (replicas, the challenger) anchors on this hash: publish it.
        params.rollup.genesis.l2.hash = genesis_hash;
        let genesis_info = L2BlockInfo {
            number: 0,
            hash: genesis_hash,
            l1_origin: anchor.l1,
            sequence_number: 0,
        };
        let state = match store.head(HeadKind::Unsafe).await? {
            Some(head) => {
                let stored_genesis = store
                    .header(0)
                    .await?
                    .map(|header| header.hash)
                    .unwrap_or_default();
                if stored_genesis != genesis_hash {
                    return Err(ChainError::GenesisMismatch {
                        stored: stored_genesis,
                        configured: genesis_hash,
                    });
                }
                let block = store
                    .block(head.number)
                    .await?
                    .ok_or(StoreError::UnknownBlock(head.number))?;
                let info = if head.number == 0 {
                    genesis_info
                } else {
                    block_info(&block)?
                };
                let world = load_world_state(&store, head.number).await?;
                ChainState {
                    world,
                    head: Head {
                        header: block.header,
                        hash: block.hash,
                        info,
                    },
                }
            }
            None => {
                let nodes = genesis_world.unpersisted_nodes();
                let codes = new_code(&genesis_changes);
                let block = StoredBlock {
                    header: genesis_header.clone(),
                    hash: genesis_hash,
                    l1_origin: anchor.l1,
                    transactions: Vec::new(),
                    receipts: Vec::new(),
                };
                store
                    .commit_block(BlockCommit {
                        block: &block,
                        trie_nodes: &nodes,
                        bytecodes: &codes,
                    })
                    .await?;
                genesis_world.mark_persisted();
                genesis_world.record_block_hash(0, genesis_hash);
                ChainState {
                    world: genesis_world,
                    head: Head {
                        header: genesis_header,
                        hash: genesis_hash,
                        info: genesis_info,
                    },
                }
            }
        };
        Ok(Self {
            store,
            params,
            state: Arc::new(RwLock::new(state)),
            writing: tokio::sync::Mutex::new(()),
        })
    }

    /// The shared state, for readers.
    pub fn state(&self) -> Arc<RwLock<ChainState>> {
        self.state.clone()
    }

    /// The store.
    pub fn store(&self) -> &S {
        &self.store
    }

    /// Chain parameters.
    pub fn params(&self) -> &ChainParams {
        &self.params
    }

    /// Drops every block above `to` (an L1 reorg took their data away, or L1 decided other
    /// blocks) and makes `to` the head again, in the store and in memory. Returns the user
    /// transactions `rewound` put back into the pool journal.
    pub async fn rewind(
        &self,
        to: u64,
        rewound: Rewound,
    ) -> Result<Vec<StoredTransaction>, ChainError> {
        let _writing = self.writing.lock().await;
        self.rewind_locked(to, rewound).await
    }

    async fn rewind_locked(
        &self,
        to: u64,
        rewound: Rewound,
    ) -> Result<Vec<StoredTransaction>, ChainError> {
        let mut state = self.state.clone().write_owned().await;
        let block = self
            .store
            .block(to)
            .await?
            .ok_or(StoreError::UnknownBlock(to))?;
        let returned = self.store.rewind_unsafe(block.block_ref(), rewound).await?;
        let info = if to == 0 {
            L2BlockInfo {
                number: 0,
                hash: block.hash,
                l1_origin: self.params.rollup.genesis.l1,
                sequence_number: 0,
            }
        } else {
            block_info(&block)?
        };
        state.world = load_world_state(&self.store, to).await?;
        state.head = Head {
            header: block.header,
            hash: block.hash,
            info,
        };
        tracing::warn!(head = to, returned = returned.len(), "chain rewound");
        Ok(returned)
    }

    /// Makes the block L1 decided (`attributes`, derived from L1) the chain's block at its
    /// height: L1 is the source of truth, so unsafe blocks that differ from it are dropped (their
    /// user transactions go back to the pool) and the derived block is sealed in their place.
    /// `None` when the head is behind the attributes' parent (the producer has not got there).
    pub async fn adopt(
        &self,
        attributes: &PayloadAttributes,
    ) -> Result<Option<Adopted>, ChainError> {
        let _writing = self.writing.lock().await;
        let Some(parent) = attributes.number.checked_sub(1) else {
            return Err(ChainError::Attributes("derived block 0".into()));
        };
        let head = self.state.read().await.head.block_ref();
        let mut returned = Vec::new();
        if head.number >= attributes.number {
            // Checked again under the lock: the producer may have sealed this very block.
            if let Some(stored) = self.store.block(attributes.number).await? {
                if is_derived_block(&stored, attributes) {
                    return Ok(Some(Adopted {
                        hash: stored.hash,
                        replaced: None,
                    }));
                }
            }
            let stored = self.store.header(parent).await?.map(|header| header.hash);
            if stored != Some(attributes.parent_hash) {
                return Err(ChainError::Attributes(format!(
                    "derived block {} builds on {}, which is not stored block {parent}",
                    attributes.number, attributes.parent_hash
                )));
            }
            returned = self.rewind_locked(parent, Rewound::ReturnToPool).await?;
        } else if head.number != parent || head.hash != attributes.parent_hash {
            return Ok(None);
        }
        let sealed = self.seal_next_locked(attributes, Vec::new()).await?;
        Ok(Some(Adopted {
            hash: sealed.block.hash,
            replaced: Some(Replaced { sealed, returned }),
        }))
    }

    /// The attributes of the sequencer's next block on top of `head` with `origin`: what
    /// derivation will decide for it from the batch the batcher posts.
    pub fn attributes(
        &self,
        head: &Head,
        origin: &Origin,
    ) -> Result<PayloadAttributes, ChainError> {
        let number = head.header.number + 1;
        let timestamp_ms = self
            .params
            .rollup
            .l2_timestamp_ms(number)
            .ok_or_else(|| ChainError::Attributes(format!("no time for block {number}")))?;
        Ok(build_attributes(&DerivedBlock {
            parent_hash: head.hash,
            number,
            timestamp_ms,
            origin: origin.epoch.clone(),
            sequence_number: origin.sequence_number,
            transactions: Vec::new(),
            derived_from: origin.epoch.info.id(),
            forced: false,
        }))
    }

    /// The header and execution environment of the block `attributes` describe on `head`.
    fn next_env(&self, head: &Head, attributes: &PayloadAttributes) -> (Header, ExecutionEnv) {
        let rollup = &self.params.rollup;
        let parent = &head.header;
        let base_fee = next_base_fee(parent, attributes.eip1559, attributes.min_base_fee);
        let header = Header {
            parent_hash: head.hash,
            ommers_hash: EMPTY_OMMER_ROOT_HASH,
            beneficiary: attributes.fee_recipient,
            number: attributes.number,
            gas_limit: attributes.gas_limit,
            timestamp: attributes.timestamp,
            extra_data: Bytes::from_static(EXTRA_DATA),
            mix_hash: attributes.prev_randao,
            base_fee_per_gas: Some(base_fee),
            withdrawals_root: Some(alloy_trie::EMPTY_ROOT_HASH),
            blob_gas_used: Some(0),
            excess_blob_gas: Some(0),
            parent_beacon_block_root: Some(B256::ZERO),
            ..Default::default()
        };
        let env = execution_env(rollup, &header);
        (header, env)
    }

    /// The environment `eth_call` and `eth_estimateGas` simulate in: a block after `parent`
    /// with its parameters.
    pub fn call_env(&self, parent: &Header) -> ExecutionEnv {
        let rollup = &self.params.rollup;
        let header = Header {
            number: parent.number + 1,
            beneficiary: SEQUENCER_FEE_VAULT,
            gas_limit: parent.gas_limit,
            timestamp: parent.timestamp + 1,
            mix_hash: parent.mix_hash,
            base_fee_per_gas: Some(next_base_fee(parent, rollup.eip1559, rollup.min_base_fee)),
            ..Default::default()
        };
        execution_env(rollup, &header)
    }

    /// Builds, executes, seals and commits the block `attributes` describe, with `candidates`
    /// (pool transactions, in order) after the attributes' own transactions. Deposits always
    /// run; transactions the state refuses (e.g. funds spent by an earlier transaction of the
    /// block, or an invalid transaction in a batch) are dropped with their reason and the block
    /// is executed again without them.
    pub async fn seal_next(
        &self,
        attributes: &PayloadAttributes,
        candidates: Vec<PooledTx>,
    ) -> Result<Sealed, ChainError> {
        let _writing = self.writing.lock().await;
        self.seal_next_locked(attributes, candidates).await
    }

    async fn seal_next_locked(
        &self,
        attributes: &PayloadAttributes,
        candidates: Vec<PooledTx>,
    ) -> Result<Sealed, ChainError> {
        // Execute under a read lock (RPC keeps answering), off the async runtime: only the
        // holder of `writing` changes the state, so it cannot change before the write lock below.
        let snapshot = self.state.clone().read_owned().await;
        if attributes.parent_hash != snapshot.head.hash
            || attributes.number != snapshot.head.header.number + 1
        {
            return Err(ChainError::HeadMoved {
                number: attributes.number,
                parent: attributes.parent_hash,
                head_number: snapshot.head.header.number,
                head: snapshot.head.hash,
            });
        }
        let (mut header, env) = self.next_env(&snapshot.head, attributes);
        let inputs = BlockInputs::decode(attributes)?;
        let engine = BlockStm::new(self.params.threads);
        let (mut outcome, stats, inputs, dropped) = tokio::task::spawn_blocking(move || {
            let BlockInputs {
                deposits,
                mut candidates,
                mut dropped,
                l1_info,
                scalars,
            } = inputs.with_candidates(candidates);
            let deposit_txs: Vec<RollupTx> = deposits.iter().map(RollupTx::deposit).collect();
            loop {
                let txs: Vec<RollupTx> = deposit_txs
                    .iter()
                    .cloned()
                    .chain(candidates.iter().map(|tx| {
                        let fee = l1_data_fee(
                            &tx.raw,
                            U256::from(l1_info.base_fee),
                            U256::from(l1_info.blob_base_fee),
                            scalars,
                        );
                        RollupTx::signed(&tx.envelope, tx.sender, fee)
                    }))
                    .collect();
                match engine.execute_block_with_stats(&env, &txs, &snapshot.world) {
                    Ok((outcome, stats)) => {
                        let inputs = BlockInputs {
                            deposits,
                            candidates,
                            dropped: Vec::new(),
                            l1_info,
                            scalars,
                        };
                        return Ok((outcome, stats, inputs, dropped));
                    }
                    Err(ExecutionError::InvalidTransaction { index, reason })
                        if index >= deposits.len() && index - deposits.len() < candidates.len() =>
                    {
                        let bad = candidates[index - deposits.len()].clone();
                        dropped.push((bad.hash, reason.to_string()));
                        // Later transactions of that sender cannot run without it.
                        candidates.retain(|tx| {
                            tx.sender != bad.sender || tx.envelope.nonce() < bad.envelope.nonce()
                        });
                    }
                    Err(error) => return Err(ChainError::Execution(error)),
                }
            }
        })
        .await
        .map_err(|error| ChainError::Task(error.to_string()))??;

        // Apply and hash (CPU work, off the runtime) under the write lock, which is held until
        // the block is committed: readers never see state whose block is not stored.
        let writer = self.state.clone().write_owned().await;
        // The changes move into the blocking task (no copy); only the new code comes back.
        let changes = std::mem::take(&mut outcome.state_changes);
        let (mut state, state_root, nodes, codes) = tokio::task::spawn_blocking(move || {
            let mut state = writer;
            state.world.apply(&changes);
            let root = state.world.root();
            let nodes = state.world.unpersisted_nodes();
            let codes = new_code(&changes);
            (state, root, nodes, codes)
        })
        .await
        .map_err(|error| ChainError::Task(error.to_string()))?;
        header.state_root = state_root;
        header.gas_used = outcome.gas_used;
        header.receipts_root = receipts_root(&outcome.receipts);
        header.logs_bloom = logs_bloom(&outcome.receipts);
        let base_fee = header.base_fee_per_gas.unwrap_or_default();
        let mut transactions = Vec::with_capacity(inputs.deposits.len() + inputs.candidates.len());
        let mut prices = Vec::with_capacity(transactions.capacity());
        for deposit in &inputs.deposits {
            transactions.push(StoredTransaction {
                hash: deposit.hash(),
                sender: deposit.from,
                raw: deposit.encode(),
            });
            prices.push(0);
        }
        for tx in &inputs.candidates {
            transactions.push(StoredTransaction {
                hash: tx.hash,
                sender: tx.sender,
                raw: tx.raw.clone(),
            });
            let tip = tx
                .envelope
                .effective_tip_per_gas(base_fee)
                .unwrap_or_default();
            prices.push(u128::from(base_fee) + tip);
        }
        header.transactions_root = ordered_root(transactions.len(), |index, out| {
            out.extend_from_slice(&transactions[index].raw)
        });
        let hash = header.hash_slow();
        let block = StoredBlock {
            hash,
            l1_origin: attributes.l1_origin,
            receipts: outcome
                .receipts
                .iter()
                .zip(prices)
                .map(|(receipt, price)| stored_receipt(receipt, price))
                .collect(),
            transactions,
            header,
        };
        let committed = self
            .store
            .commit_block(BlockCommit {
                block: &block,
                trie_nodes: &nodes,
                bytecodes: &codes,
            })
            .await;
        if let Err(error) = committed {
            // The in-memory state is ahead of the store: rebuild it from the store before
            // anything reads it, then report the failure.
            let head = state.head.clone();
            state.world = load_world_state(&self.store, head.header.number).await?;
            return Err(error.into());
        }
        state.world.mark_persisted();
        state.world.record_block_hash(block.header.number, hash);
        state.head = Head {
            header: block.header.clone(),
            hash,
            info: attributes.executed(hash),
        };
        Ok(Sealed {
            block,
            dropped,
            stats,
        })
    }
}

/// What a block executes, decoded from its attributes.
struct BlockInputs {
    /// The L1-info deposit, then the origin's deposits.
    deposits: Vec<DepositTx>,
    /// Signed transactions: the attributes' batch transactions, then pool candidates.
    candidates: Vec<PooledTx>,
    /// Batch transactions that could not be decoded or recovered, with the reason.
    dropped: Vec<(B256, String)>,
    /// The origin's fees, for the L1 data fee.
    l1_info: L1Info,
    scalars: parallax_protocol::L1FeeScalars,
}

impl BlockInputs {
    fn decode(attributes: &PayloadAttributes) -> Result<Self, ChainError> {
        let count = attributes.deposit_count.min(attributes.transactions.len());
        let (deposit_bytes, batch) = attributes.transactions.split_at(count);
        let deposits = deposit_bytes
            .iter()
            .map(|raw| DepositTx::decode(raw))
            .collect::<Result<Vec<_>, _>>()
            .map_err(|error| ChainError::Attributes(format!("deposit: {error}")))?;
        let l1_info = deposit_bytes
            .first()
            .ok_or_else(|| ChainError::Attributes("no L1-info deposit".into()))
            .and_then(|first| {
                L1Info::from_deposit(first)
                    .map_err(|error| ChainError::Attributes(format!("L1-info deposit: {error}")))
            })?;
        let mut candidates = Vec::with_capacity(batch.len());
        let mut dropped = Vec::new();
        for raw in batch {
            // A batch is untrusted input: a transaction that does not decode or recover is
            // skipped, never fatal, on every node alike.
            match batch_transaction(raw) {
                Ok(tx) => candidates.push(tx),
                Err(reason) => dropped.push((alloy_primitives::keccak256(raw), reason)),
            }
        }
        Ok(Self {
            deposits,
            candidates,
            dropped,
            l1_info,
            // The block carries its own fee scalars (in the L1-info deposit), so a replay of a
            // stored block prices the L1 data fee exactly as the block did.
            scalars: l1_info.scalars,
        })
    }

    fn with_candidates(mut self, pool: Vec<PooledTx>) -> Self {
        self.candidates.extend(pool);
        self
    }
}

/// A batch transaction as the pool would hold it.
fn batch_transaction(raw: &Bytes) -> Result<PooledTx, String> {
    let envelope = decode_transaction(raw).map_err(|error| error.to_string())?;
    let sender = recover_sender(&envelope).map_err(|error| error.to_string())?;
    Ok(PooledTx {
        hash: *envelope.tx_hash(),
        sender,
        envelope: Arc::new(envelope),
        raw: raw.clone(),
        arrival: 0,
    })
}

/// What re-executing a stored block needs: its environment and its transactions as the
/// executor runs them, with the L1 data fees priced from the block's own L1-info deposit. The
/// challenger replays a disputed block from this, one transaction at a time.
pub fn replay_inputs(
    rollup: &RollupConfig,
    block: &StoredBlock,
) -> Result<(ExecutionEnv, Vec<RollupTx>), ChainError> {
    let l1_info = stored_l1_info(block)?;
    let txs = block
        .transactions
        .iter()
        .map(|tx| {
            if tx.raw.first() == Some(&parallax_protocol::deposit::DEPOSIT_TX_TYPE) {
                let deposit = DepositTx::decode(&tx.raw)
                    .map_err(|error| ChainError::Attributes(format!("deposit: {error}")))?;
                return Ok(RollupTx::deposit(&deposit));
            }
            let envelope = decode_transaction(&tx.raw).map_err(|error| {
                ChainError::Attributes(format!("transaction {}: {error}", tx.hash))
            })?;
            let fee = l1_data_fee(
                &tx.raw,
                l1_info.base_fee,
                l1_info.blob_base_fee,
                l1_info.scalars,
            );
            Ok(RollupTx::signed(&envelope, tx.sender, fee))
        })
        .collect::<Result<Vec<_>, ChainError>>()?;
    Ok((execution_env(rollup, &block.header), txs))
}

/// The execution environment of a block with `header` under `rollup`: the fee vaults are the
/// predeploys, so every node credits the same accounts.
fn execution_env(rollup: &RollupConfig, header: &Header) -> ExecutionEnv {
    ExecutionEnv {
        spec: spec(),
        chain_id: rollup.l2_chain_id,
        block: block_env(header),
        base_fee_recipient: Some(BASE_FEE_VAULT),
        l1_fee_recipient: Some(L1_FEE_VAULT),
    }
}

/// A stored block's origin and position, from its L1-info deposit.
pub fn block_info(block: &StoredBlock) -> Result<L2BlockInfo, ChainError> {
    Ok(stored_l1_info(block)?.l2_block_info(block.header.number, block.hash))
}

/// The values of a stored block's L1-info deposit (its first transaction): the origin's fees
/// and scalars every signed transaction of the block was charged with.
pub fn stored_l1_info(block: &StoredBlock) -> Result<L1Info, ChainError> {
    let first = block.transactions.first().ok_or_else(|| {
        ChainError::Attributes(format!(
            "block {} has no L1-info deposit",
            block.header.number
        ))
    })?;
    L1Info::from_deposit(&first.raw)
        .map_err(|error| ChainError::Attributes(format!("L1-info deposit: {error}")))
}

/// The base fee of a block after `parent` under `eip1559` (the SystemConfig values in force at
/// its origin), floored at `min_base_fee`. `DisputeGame.proveHeaderInvalid` computes the same
/// from the parent header and the rules the block's L1-info deposit stored.
pub fn next_base_fee(
    parent: &Header,
    eip1559: parallax_protocol::config::Eip1559Params,
    min_base_fee: u64,
) -> u64 {
    parallax_protocol::next_base_fee(
        parent.gas_used,
        parent.gas_limit,
        parent.base_fee_per_gas.unwrap_or(min_base_fee),
        eip1559,
    )
    .max(min_base_fee)
}

/// Code deployed by `changes`, as the store keeps it.
fn new_code(changes: &parallax_executor::StateChanges) -> Vec<(B256, Bytes)> {
    changes
        .contracts
        .iter()
        .map(|(hash, code)| (*hash, code.original_bytes()))
        .collect()
}

/// A receipt as stored, with the price the sender actually paid (zero for deposits).
fn stored_receipt(receipt: &TxReceipt, effective_gas_price: u128) -> StoredReceipt {
    StoredReceipt {
        tx_type: receipt.tx_type,
        success: receipt.status.is_success(),
        gas_used: receipt.gas_used,
        cumulative_gas_used: receipt.cumulative_gas_used,
        effective_gas_price,
        contract_address: receipt.contract_address,
        logs: receipt.logs.clone(),
    }
}

/// The 2718 encoding of a signed transaction.
pub fn encode(tx: &TxEnvelope) -> Bytes {
    tx.encoded_2718().into()
}
