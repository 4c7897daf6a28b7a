//! The chain the sequencer extends: the latest state in memory, the head, and sealing blocks.
//!
//! A block is built from pool candidates, executed with the Block-STM executor on the latest
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
        context::{BlockEnv, TxEnv},
        primitives::{eip4844::BLOB_BASE_FEE_UPDATE_FRACTION_CANCUN, hardfork::SpecId},
    },
    tx_env, BlockExecutor, BlockStm, ExecutionEnv, ExecutionError, ExecutionStats, TxReceipt,
};
use parallax_protocol::RollupConfig;
use parallax_state::{
    roots::{logs_bloom, ordered_root, receipts_root},
    store::{
        load_world_state, BlockCommit, BlockRef, ChainStore, HeadKind, StoreError, StoredBlock,
        StoredReceipt, StoredTransaction,
    },
    WorldState,
};
use tokio::sync::RwLock;

use crate::{genesis::Genesis, mempool::PooledTx};

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
}

/// Execution parameters the sequencer applies to every block.
#[derive(Clone, Debug)]
pub struct ChainParams {
    /// Protocol parameters (chain id, gas limit, base fee rules).
    pub rollup: RollupConfig,
    /// Receives priority fees.
    pub fee_recipient: Address,
    /// Receives base fees (so the operator can fund L1 posting).
    pub base_fee_vault: Address,
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

/// The sequencer's chain: store, parameters and shared state.
#[derive(Debug)]
pub struct Chain<S> {
    store: S,
    params: ChainParams,
    state: Arc<RwLock<ChainState>>,
}

fn spec() -> SpecId {
    SpecId::CANCUN
}

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
        params: ChainParams,
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
                let header = store
                    .header(head.number)
                    .await?
                    .ok_or(StoreError::UnknownBlock(head.number))?;
                let world = load_world_state(&store, head.number).await?;
                ChainState {
                    world,
                    head: Head {
                        header: header.header,
                        hash: header.hash,
                    },
                }
            }
            None => {
                let nodes = genesis_world.unpersisted_nodes();
                let codes = new_code(&genesis_changes);
                let block = StoredBlock {
                    header: genesis_header.clone(),
                    hash: genesis_hash,
                    l1_origin: BlockRef::default(),
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
                    },
                }
            }
        };
        Ok(Self {
            store,
            params,
            state: Arc::new(RwLock::new(state)),
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

    /// The base fee of the next block.
    pub fn next_base_fee(head: &Header, rollup: &RollupConfig) -> u64 {
        rollup.next_base_fee(
            head.gas_used,
            head.gas_limit,
            head.base_fee_per_gas.unwrap_or(rollup.min_base_fee),
        )
    }

    /// The execution environment of a block on top of `head` at `timestamp`.
    pub fn next_env(&self, head: &Head, timestamp: u64) -> (Header, ExecutionEnv) {
        let header = Header {
            parent_hash: head.hash,
            ommers_hash: EMPTY_OMMER_ROOT_HASH,
            beneficiary: self.params.fee_recipient,
            number: head.header.number + 1,
            gas_limit: self.params.rollup.gas_limit,
            timestamp: timestamp.max(head.header.timestamp + 1),
            extra_data: Bytes::from_static(b"parallax"),
            // No L1 randomness in dev mode: the parent hash is as unpredictable as it gets here.
            mix_hash: head.hash,
            base_fee_per_gas: Some(Self::next_base_fee(&head.header, &self.params.rollup)),
            withdrawals_root: Some(alloy_trie::EMPTY_ROOT_HASH),
            blob_gas_used: Some(0),
            excess_blob_gas: Some(0),
            parent_beacon_block_root: Some(B256::ZERO),
            ..Default::default()
        };
        let env = ExecutionEnv {
            spec: spec(),
            chain_id: self.params.rollup.l2_chain_id,
            block: block_env(&header),
            base_fee_recipient: Some(self.params.base_fee_vault),
            l1_fee_recipient: None,
        };
        (header, env)
    }

    /// Builds, executes, seals and commits the next block from `candidates` (in order).
    /// Candidates the state refuses (e.g. funds spent by an earlier transaction of the block)
    /// are dropped with their reason and the block is executed again without them.
    pub async fn seal_next(
        &self,
        mut candidates: Vec<PooledTx>,
        timestamp: u64,
    ) -> Result<Sealed, ChainError> {
        // Execute under a read lock (RPC keeps answering), off the async runtime: only this
        // producer ever writes the state, so it cannot change before the write lock below.
        let snapshot = self.state.clone().read_owned().await;
        let (mut header, env) = self.next_env(&snapshot.head, timestamp);
        let engine = BlockStm::new(self.params.threads);
        let (mut outcome, stats, candidates, dropped) = tokio::task::spawn_blocking(move || {
            let mut dropped = Vec::new();
            loop {
                let txs: Vec<TxEnv> = candidates
                    .iter()
                    .map(|tx| tx_env(&tx.envelope, tx.sender))
                    .collect();
                match engine.execute_block_with_stats(&env, &txs, &snapshot.world) {
                    Ok((outcome, stats)) => return Ok((outcome, stats, candidates, dropped)),
                    Err(ExecutionError::InvalidTransaction { index, reason })
                        if index < candidates.len() =>
                    {
                        let bad = candidates[index].clone();
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
        let raw: Vec<Bytes> = candidates.iter().map(|tx| tx.raw.clone()).collect();
        header.transactions_root =
            ordered_root(raw.len(), |index, out| out.extend_from_slice(&raw[index]));
        let hash = header.hash_slow();
        let base_fee = header.base_fee_per_gas.unwrap_or_default();
        let block = StoredBlock {
            hash,
            l1_origin: BlockRef::default(),
            transactions: candidates
                .iter()
                .map(|tx| StoredTransaction {
                    hash: tx.hash,
                    sender: tx.sender,
                    raw: tx.raw.clone(),
                })
                .collect(),
            receipts: candidates
                .iter()
                .zip(&outcome.receipts)
                .map(|(tx, receipt)| stored_receipt(tx, receipt, base_fee))
                .collect(),
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
        };
        Ok(Sealed {
            block,
            dropped,
            stats,
        })
    }
}

/// Code deployed by `changes`, as the store keeps it.
fn new_code(changes: &parallax_executor::StateChanges) -> Vec<(B256, Bytes)> {
    changes
        .contracts
        .iter()
        .map(|(hash, code)| (*hash, code.original_bytes()))
        .collect()
}

/// A receipt as stored, with the price the sender actually paid.
fn stored_receipt(tx: &PooledTx, receipt: &TxReceipt, base_fee: u64) -> StoredReceipt {
    let tip = tx
        .envelope
        .effective_tip_per_gas(base_fee)
        .unwrap_or_default();
    StoredReceipt {
        tx_type: receipt.tx_type,
        success: receipt.status.is_success(),
        gas_used: receipt.gas_used,
        cumulative_gas_used: receipt.cumulative_gas_used,
        effective_gas_price: u128::from(base_fee) + tip,
        contract_address: receipt.contract_address,
        logs: receipt.logs.clone(),
    }
}

/// The 2718 encoding of a signed transaction.
pub fn encode(tx: &TxEnvelope) -> Bytes {
    tx.encoded_2718().into()
}
