//! The challenger's knowledge of the canonical L2 chain, read from its own store (filled by a
//! replica that derives the chain from L1 and DA alone), and the arguments of the moves that
//! carry data: `openBlock` and the one-step proof's transaction inclusion.
//!
//! A [`Corruption`] turns the same machinery into a consistent liar (the devnet's
//! `--malicious-proposer`): its output roots, headers, proofs and trace all agree with each
//! other, so the game must reach the one-step proof to expose it.

use std::{collections::HashMap, sync::Arc};

use alloy::sol_types::SolValue;
use alloy_consensus::Header;
use alloy_primitives::{Address, Bytes, B256, U256};
use parallax_executor::revm::database_interface::DatabaseRef;
use parallax_executor::{AccountBasic, AccountChange, ExecutionEnv, RollupTx, StateChanges};
use parallax_protocol::{
    l1_info::slots,
    output_root,
    predeploys::{L1_BLOCK, L2_TO_L1_MESSAGE_PASSER},
    OutputRootInput, RollupConfig,
};
use parallax_state::{
    store::{output_root_input, ChainStore, HistoricalState, StoreError, StoredBlock},
    Trie,
};
use tokio::sync::Mutex;

use crate::{
    game::{Position, Truth},
    replay::{ReplayError, ReplayState, StoreState},
    step::{step_witness, StepError},
    step_model::state::MAX_ANCESTORS,
    trace::{trace_block, BlockTrace, TraceError, TraceState},
};

/// Why the local chain could not answer.
#[derive(Debug, thiserror::Error)]
pub enum TruthError {
    /// The store failed or lacks the block (the replica is behind, or it was pruned).
    #[error(transparent)]
    Store(#[from] StoreError),
    /// The block is not in the store yet.
    #[error("block {0} is not in the local chain yet")]
    Unknown(u64),
    /// The stored block could not be turned back into executor inputs.
    #[error("block {block} cannot be replayed: {reason}")]
    Replay {
        /// The block.
        block: u64,
        /// Why.
        reason: String,
    },
    /// Re-execution failed.
    #[error("block {block}: {source}")]
    Trace {
        /// The block.
        block: u64,
        /// What the executor reported.
        source: TraceError,
    },
    /// The replayed state could not be read or changed.
    #[error("block {block}: {source}")]
    State {
        /// The block.
        block: u64,
        /// What the state reported.
        source: ReplayError,
    },
    /// A position asked about something the prefetch did not cover (a bug, not bad input).
    #[error("no prefetched answer for {0}")]
    NotPrefetched(&'static str),
}

/// A deliberate lie, for the malicious-proposer demo: block `block` as `lie` falsifies it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Corruption {
    /// The block whose output root is falsified.
    pub block: u64,
    /// What is false about it.
    pub lie: Lie,
}

/// What a [`Corruption`] falsifies.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Lie {
    /// `extra_wei` more in `account` after the block's last transaction: the state root and
    /// the trace's last commitment are wrong, so the game goes down to the one-step proof.
    Balance {
        /// The account credited out of thin air.
        account: Address,
        /// How much.
        extra_wei: U256,
    },
    /// The header's timestamp `seconds` later than the rules give: state, gas and receipts are
    /// right, so only `proveHeaderInvalid` exposes it.
    Timestamp {
        /// How far the header's timestamp is shifted.
        seconds: u64,
    },
}

/// Everything `proveHeaderInvalid` needs besides the disputed header.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct HeaderDisproofArgs {
    /// The agreed parent's header, RLP-encoded.
    pub parent_header_rlp: Bytes,
    /// `abi.encode(bytes[] accountProof, bytes[] slot3Proof, bytes[] slot5Proof)` of `L1Block`
    /// in the block's post-state.
    pub l1_block_proof: Bytes,
}

/// Everything `openBlock` needs for one block (DISPUTE.md, level 2).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct OpenBlockArgs {
    /// The parent's output-root preimage.
    pub pre: OutputRootInput,
    /// The block's output-root preimage.
    pub post: OutputRootInput,
    /// The block's header, RLP-encoded (hashes to `post.block_hash`).
    pub header_rlp: Bytes,
    /// Number of transactions.
    pub tx_count: u64,
    /// The receipts hash after the last transaction.
    pub final_receipts_hash: B256,
    /// Proof of the `L2ToL1MessagePasser` account against `post.state_root`.
    pub message_passer_proof: Vec<Bytes>,
}

/// Everything `step` needs for one transaction.
#[derive(Clone, Debug)]
pub struct StepArgs {
    /// The agreed trace state before the transaction.
    pub pre: TraceState,
    /// The transaction as in the block.
    pub tx: Bytes,
    /// Its inclusion proof against the header's transactions root.
    pub tx_proof: Vec<Bytes>,
    /// The verifier's witness.
    pub witness: Bytes,
}

/// A block as the truth sees it: honest or corrupted, with its trace and post-state.
#[derive(Debug)]
pub struct BlockView {
    /// The stored block, with its header's state root replaced under a corruption.
    pub header: Header,
    /// Its transactions as in the block (EIP-2718 envelopes).
    pub transactions: Vec<Bytes>,
    /// The per-transaction trace.
    pub trace: BlockTrace,
    /// Proof of the `L2ToL1MessagePasser` account against the post-state root.
    pub message_passer_proof: Vec<Bytes>,
    /// That account's storage root (withdrawals are proven against it).
    pub message_passer_storage_root: B256,
}

impl BlockView {
    /// The output-root preimage of the block.
    pub fn output(&self) -> OutputRootInput {
        OutputRootInput {
            state_root: self.header.state_root,
            message_passer_storage_root: self.message_passer_storage_root,
            block_hash: self.header.hash_slow(),
        }
    }

    /// The ordered transactions trie (`key = rlp(index)`), as the header commits to it.
    pub fn transactions_trie(&self) -> Trie {
        let mut trie = Trie::new();
        for (index, raw) in self.transactions.iter().enumerate() {
            trie.insert(&alloy_rlp::encode(index), raw.to_vec());
        }
        trie
    }

    /// Inclusion proof of transaction `index` against the header's transactions root.
    pub fn transaction_proof(&self, index: u64) -> Vec<Bytes> {
        self.transactions_trie().proof(&alloy_rlp::encode(index))
    }
}

/// The local chain, with a small cache of replayed blocks (a game only ever needs one).
pub struct ChainTruth<S> {
    store: S,
    rollup: RollupConfig,
    corruption: Option<Corruption>,
    blocks: Mutex<HashMap<u64, Arc<BlockView>>>,
}

/// At most this many replayed blocks are kept (each holds its trace and transactions).
const CACHED_BLOCKS: usize = 2;

impl<S: ChainStore> ChainTruth<S> {
    /// The honest chain in `store`.
    pub fn new(store: S, rollup: RollupConfig) -> Self {
        Self {
            store,
            rollup,
            corruption: None,
            blocks: Mutex::default(),
        }
    }

    /// The same chain with `corruption` applied: a consistent liar.
    pub fn corrupted(store: S, rollup: RollupConfig, corruption: Corruption) -> Self {
        Self {
            corruption: Some(corruption),
            ..Self::new(store, rollup)
        }
    }

    /// The output-root preimage of `block`.
    pub async fn output(&self, block: u64) -> Result<OutputRootInput, TruthError> {
        if self.corruption.is_some_and(|lie| lie.block == block) {
            return Ok(self.block(block).await?.output());
        }
        match output_root_input(&self.store, block).await {
            Err(StoreError::UnknownBlock(number)) => Err(TruthError::Unknown(number)),
            other => Ok(other?),
        }
    }

    /// The output root of `block`.
    pub async fn output_root(&self, block: u64) -> Result<B256, TruthError> {
        Ok(output_root(&self.output(block).await?))
    }

    async fn stored(&self, block: u64) -> Result<StoredBlock, TruthError> {
        self.store
            .block(block)
            .await?
            .ok_or(TruthError::Unknown(block))
    }

    /// What replaying `block` starts from: the stored block, its parent's state (read from the
    /// store as the replay touches it), and its execution environment and transactions.
    async fn replay_start(
        &self,
        block: u64,
    ) -> Result<(StoredBlock, StoreState<S>, ExecutionEnv, Vec<RollupTx>), TruthError> {
        let stored = self.stored(block).await?;
        let parent = block.checked_sub(1).ok_or_else(|| TruthError::Replay {
            block,
            reason: "genesis has no transactions".into(),
        })?;
        let world = StoreState::at(self.store.clone(), parent).await?;
        let (env, txs) =
            parallax_sequencer::chain::replay_inputs(&self.rollup, &stored).map_err(|error| {
                TruthError::Replay {
                    block,
                    reason: error.to_string(),
                }
            })?;
        Ok((stored, world, env, txs))
    }

    /// `block` replayed one transaction at a time on its parent's state (cached).
    pub async fn block(&self, block: u64) -> Result<Arc<BlockView>, TruthError> {
        if let Some(view) = self.blocks.lock().await.get(&block) {
            return Ok(view.clone());
        }
        let (stored, mut world, env, txs) = self.replay_start(block).await?;
        let corruption = self.corruption.filter(|lie| lie.block == block);
        // Re-execution is CPU work: off the async runtime.
        let view = tokio::task::spawn_blocking(move || {
            let mut trace = trace_block(&env, &txs, &mut world)
                .map_err(|source| TruthError::Trace { block, source })?;
            let mut header = stored.header;
            match corruption.map(|corruption| corruption.lie) {
                Some(Lie::Balance { account, extra_wei }) => {
                    let mut info = world
                        .basic_ref(account)
                        .map_err(|source| TruthError::State { block, source })?
                        .map(|info| AccountBasic::from(&info))
                        .unwrap_or_default();
                    info.balance = info.balance.saturating_add(extra_wei);
                    let mut changes = StateChanges::default();
                    changes.accounts.insert(
                        account,
                        AccountChange {
                            info: Some(info),
                            ..AccountChange::default()
                        },
                    );
                    world
                        .apply_changes(&changes)
                        .map_err(|source| TruthError::State { block, source })?;
                    if let Some(last) = trace.steps.last_mut() {
                        last.after.state_root = world.state_root();
                    }
                    header.state_root = world.state_root();
                }
                Some(Lie::Timestamp { seconds }) => {
                    header.timestamp = header.timestamp.saturating_add(seconds);
                }
                None => {}
            }
            let (message_passer_proof, message_passer_storage_root) = world
                .account_proof(&L2_TO_L1_MESSAGE_PASSER)
                .map_err(|source| TruthError::State { block, source })?;
            Ok::<_, TruthError>(BlockView {
                header,
                transactions: stored
                    .transactions
                    .iter()
                    .map(|tx| tx.raw.clone())
                    .collect(),
                trace,
                message_passer_proof,
                message_passer_storage_root,
            })
        })
        .await
        .map_err(|error| TruthError::Replay {
            block,
            reason: format!("replay task failed: {error}"),
        })??;
        let view = Arc::new(view);
        let mut cache = self.blocks.lock().await;
        if cache.len() >= CACHED_BLOCKS {
            cache.clear();
        }
        cache.insert(block, view.clone());
        Ok(view)
    }

    /// The arguments of `openBlock` for `block`.
    pub async fn open_block_args(&self, block: u64) -> Result<OpenBlockArgs, TruthError> {
        let parent = block.checked_sub(1).ok_or(TruthError::Unknown(block))?;
        let pre = self.output(parent).await?;
        let view = self.block(block).await?;
        Ok(OpenBlockArgs {
            pre,
            post: view.output(),
            header_rlp: alloy_rlp::encode(&view.header).into(),
            tx_count: view.trace.len() as u64,
            final_receipts_hash: view.trace.end().receipts_hash,
            message_passer_proof: view.message_passer_proof.clone(),
        })
    }

    /// The arguments of `proveHeaderInvalid` for `block` whose disputed header has state root
    /// `state_root`, or `None` when that is not the local chain's state root (then the
    /// `L1Block` proofs cannot be built here, and the trace bisection decides instead).
    pub async fn header_disproof_args(
        &self,
        block: u64,
        state_root: B256,
    ) -> Result<Option<HeaderDisproofArgs>, TruthError> {
        let parent = block.checked_sub(1).ok_or(TruthError::Unknown(block))?;
        let header = |number: u64| async move {
            self.store
                .header(number)
                .await?
                .map(|stored| stored.header)
                .ok_or(TruthError::Unknown(number))
        };
        if header(block).await?.state_root != state_root {
            return Ok(None);
        }
        let parent_header = header(parent).await?;
        let proof = HistoricalState::at(self.store.clone(), block)
            .await?
            .proof(&L1_BLOCK, &[slots::HASH, slots::SCALARS_AND_BLOCK_RULES])
            .await?;
        // One proof per requested slot, in order.
        let mut slots = proof.storage_proofs.into_iter().map(|(_, _, nodes)| nodes);
        let (slot3, slot5) = (
            slots.next().unwrap_or_default(),
            slots.next().unwrap_or_default(),
        );
        Ok(Some(HeaderDisproofArgs {
            parent_header_rlp: alloy_rlp::encode(&parent_header).into(),
            l1_block_proof: (proof.account_proof, slot3, slot5)
                .abi_encode_params()
                .into(),
        }))
    }

    /// The arguments of `step` for transaction `tx_index` of `block`: the agreed pre-state
    /// (the honest one: a liar never wants to step), the transaction with its inclusion proof,
    /// and the verifier's witness, built by replaying the block up to the transaction.
    pub async fn step_args(&self, block: u64, tx_index: u64) -> Result<StepArgs, TruthError> {
        let fail = |reason: String| TruthError::Replay { block, reason };
        let task_failed =
            |error: tokio::task::JoinError| fail(format!("witness task failed: {error}"));
        let view = self.block(block).await?;
        let index = usize::try_from(tx_index).unwrap_or(usize::MAX);
        let tx = view
            .transactions
            .get(index)
            .cloned()
            .ok_or_else(|| fail(format!("no transaction {tx_index}")))?;
        let pre = view
            .trace
            .at(index)
            .ok_or_else(|| fail(format!("no trace position {tx_index}")))?;
        let tx_proof = view.transaction_proof(tx_index);
        let (_, mut world, env, mut txs) = self.replay_start(block).await?;
        if index >= txs.len() {
            return Err(fail(format!("no transaction {tx_index}")));
        }
        // First without ancestor headers: most transactions never read BLOCKHASH beyond the
        // parent. One that does names the deepest block it read, and only the headers down to
        // it are fetched for the second try.
        let first = tokio::task::spawn_blocking(move || {
            let tx = txs.swap_remove(index);
            txs.truncate(index);
            trace_block(&env, &txs, &mut world)
                .map_err(|source| TruthError::Trace { block, source })?;
            let attempt = step_witness(&env, &tx, &world, &[]);
            Ok::<_, TruthError>((attempt, (env, tx, world)))
        })
        .await
        .map_err(task_failed)??;
        let witness_error =
            |error: StepError| fail(format!("witness of transaction {tx_index}: {error}"));
        let witness = match first {
            (Err(StepError::MissingAncestor { number, .. }), (env, tx, world)) => {
                let ancestors = self.ancestor_headers(block, number).await?;
                tokio::task::spawn_blocking(move || step_witness(&env, &tx, &world, &ancestors))
                    .await
                    .map_err(task_failed)?
                    .map_err(witness_error)?
            }
            (attempt, _) => attempt.map_err(witness_error)?,
        };
        Ok(StepArgs {
            pre,
            tx,
            tx_proof,
            witness: witness.encoded,
        })
    }

    /// The RLP headers a step in `block` needs to prove the hash of block `deepest`: those of
    /// `block - 1` down to `deepest + 1`, nearest first (at most [`MAX_ANCESTORS`], never
    /// genesis, whose header proves no older hash). They stop at the first header the store
    /// lacks (pruned), and the witness builder then reports how deep the read went.
    async fn ancestor_headers(&self, block: u64, deepest: u64) -> Result<Vec<Bytes>, TruthError> {
        let oldest = block
            .saturating_sub(MAX_ANCESTORS as u64)
            .max(deepest.saturating_add(1))
            .max(1);
        let mut headers = Vec::new();
        for number in (oldest..block).rev() {
            match self.store.header(number).await? {
                Some(stored) => headers.push(alloy_rlp::encode(&stored.header).into()),
                None => break,
            }
        }
        Ok(headers)
    }

    /// The trace state at `position` of `block`.
    pub async fn trace_state(&self, block: u64, position: u64) -> Result<TraceState, TruthError> {
        let view = self.block(block).await?;
        view.trace
            .at(usize::try_from(position).unwrap_or(usize::MAX))
            .ok_or(TruthError::Replay {
                block,
                reason: format!(
                    "no position {position} in a block of {} transactions",
                    view.trace.len()
                ),
            })
    }

    /// Answers every question [`crate::game::honest_move`] may ask at `position`, fetched ahead
    /// so the strategy itself stays synchronous and pure.
    pub async fn prefetch(&self, position: &Position) -> Result<Answers, TruthError> {
        let mut answers = Answers::default();
        match position {
            Position::ClaimBlock { bisection } | Position::ChooseBlock { bisection, .. } => {
                let mid = bisection.mid();
                answers.outputs.insert(mid, self.output_root(mid).await?);
            }
            Position::OpenBlock { block } | Position::JudgeHeader { block, .. } => {
                answers
                    .tx_counts
                    .insert(*block, self.block(*block).await?.trace.len() as u64);
            }
            Position::ClaimTx {
                block, bisection, ..
            }
            | Position::ChooseTx {
                block, bisection, ..
            } => {
                let view = self.block(*block).await?;
                answers.tx_counts.insert(*block, view.trace.len() as u64);
                if let Some(state) = view.trace.at(bisection.mid() as usize) {
                    answers
                        .commitments
                        .insert((*block, bisection.mid()), state.commitment());
                }
            }
            Position::Step {
                block, tx_index, ..
            } => {
                let view = self.block(*block).await?;
                answers.tx_counts.insert(*block, view.trace.len() as u64);
                if let Some(state) = view.trace.at(*tx_index as usize + 1) {
                    answers
                        .commitments
                        .insert((*block, tx_index + 1), state.commitment());
                }
            }
            Position::Resolved { .. } => {}
        }
        Ok(answers)
    }
}

/// Answers fetched ahead by [`ChainTruth::prefetch`].
#[derive(Clone, Debug, Default)]
pub struct Answers {
    outputs: HashMap<u64, B256>,
    tx_counts: HashMap<u64, u64>,
    commitments: HashMap<(u64, u64), B256>,
}

impl Truth for Answers {
    type Error = TruthError;

    fn output_root(&self, block: u64) -> Result<B256, TruthError> {
        self.outputs
            .get(&block)
            .copied()
            .ok_or(TruthError::NotPrefetched("output root"))
    }

    fn tx_count(&self, block: u64) -> Result<u64, TruthError> {
        self.tx_counts
            .get(&block)
            .copied()
            .ok_or(TruthError::NotPrefetched("transaction count"))
    }

    fn commitment(&self, block: u64, position: u64) -> Result<B256, TruthError> {
        // A position past the block's end has no commitment: a claim there is false.
        Ok(self
            .commitments
            .get(&(block, position))
            .copied()
            .unwrap_or_default())
    }
}
