//! The level-2 trace of one L2 block: the committed state after each of its transactions
//! (`contracts/DISPUTE.md`, "Commitments").
//!
//! Both parties of a dispute game bisect over these commitments, and the one-step proof checks
//! one transition between two neighbours, so every field must be exactly what the L1 verifier
//! computes: the state after transaction i is that of **sequential** execution with fees
//! credited as each transaction completes, whatever the block producer's engine did internally.

use alloy_primitives::{keccak256, Log, B256};
use parallax_executor::{
    BlockExecutor, BlockTransaction, ExecutionEnv, ExecutionError, Sequential, TxReceipt,
};

use crate::replay::{ReplayError, ReplayState};

/// The committed machine-independent state between two transactions of a block.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct TraceState {
    /// Ethereum state root after the transactions so far.
    pub state_root: B256,
    /// Block gas used so far (system deposits count none).
    pub cumulative_gas: u64,
    /// Running hash of the receipts so far ([`TraceState::push_receipt`]).
    pub receipts_hash: B256,
}

impl TraceState {
    /// The state before the first transaction of a block whose parent has `state_root`.
    pub fn start(state_root: B256) -> Self {
        Self {
            state_root,
            cumulative_gas: 0,
            receipts_hash: B256::ZERO,
        }
    }

    /// `D = keccak256(stateRoot ‖ uint256 cumulativeGas ‖ receiptsHash)`: what the game stores.
    pub fn commitment(&self) -> B256 {
        let mut preimage = [0u8; 96];
        preimage[..32].copy_from_slice(self.state_root.as_slice());
        preimage[56..64].copy_from_slice(&self.cumulative_gas.to_be_bytes());
        preimage[64..].copy_from_slice(self.receipts_hash.as_slice());
        keccak256(preimage)
    }

    /// Folds in the receipt of the next transaction (whose own counted gas is `gas`) and moves
    /// to `state_root`.
    pub fn advance(&self, receipt: &TxReceipt, gas: u64, state_root: B256) -> Self {
        let cumulative_gas = self.cumulative_gas + gas;
        let leaf = receipt_leaf(
            receipt.tx_type,
            receipt.status.is_success(),
            cumulative_gas,
            logs_accumulator(&receipt.logs),
        );
        Self {
            state_root,
            cumulative_gas,
            receipts_hash: chain_hash(self.receipts_hash, leaf),
        }
    }
}

/// `keccak256(uint8 txType ‖ uint8 status ‖ uint64 cumulativeGas ‖ logsAcc)`.
pub fn receipt_leaf(tx_type: u8, success: bool, cumulative_gas: u64, logs_acc: B256) -> B256 {
    let mut preimage = [0u8; 42];
    preimage[0] = tx_type;
    preimage[1] = u8::from(success);
    preimage[2..10].copy_from_slice(&cumulative_gas.to_be_bytes());
    preimage[10..].copy_from_slice(logs_acc.as_slice());
    keccak256(preimage)
}

/// The logs accumulator of one transaction: starts at zero, and for each log
/// `acc = keccak256(acc ‖ address ‖ uint8 topicCount ‖ topics ‖ keccak256(data))`. A running
/// hash, not RLP, so the L1 interpreter folds each `LOG` in as it executes.
pub fn logs_accumulator(logs: &[Log]) -> B256 {
    logs.iter().fold(B256::ZERO, |acc, log| {
        let topics = log.topics();
        let mut preimage = Vec::with_capacity(32 + 20 + 1 + 32 * topics.len() + 32);
        preimage.extend_from_slice(acc.as_slice());
        preimage.extend_from_slice(log.address.as_slice());
        // At most four topics (LOG0..LOG4): the count always fits in a byte.
        preimage.push(topics.len() as u8);
        for topic in topics {
            preimage.extend_from_slice(topic.as_slice());
        }
        preimage.extend_from_slice(keccak256(&log.data.data).as_slice());
        keccak256(preimage)
    })
}

fn chain_hash(previous: B256, leaf: B256) -> B256 {
    let mut preimage = [0u8; 64];
    preimage[..32].copy_from_slice(previous.as_slice());
    preimage[32..].copy_from_slice(leaf.as_slice());
    keccak256(preimage)
}

/// One transaction's step of a block trace.
#[derive(Clone, Debug)]
pub struct TraceStep {
    /// Its receipt, as the executor produced it (cumulative gas counts this transaction alone).
    pub receipt: TxReceipt,
    /// The trace state after it.
    pub after: TraceState,
}

/// The trace of one block: the state before it and after each transaction.
#[derive(Clone, Debug)]
pub struct BlockTrace {
    /// Before the first transaction.
    pub start: TraceState,
    /// After each transaction, in order.
    pub steps: Vec<TraceStep>,
}

impl BlockTrace {
    /// The trace state at position `i` (0 = before the first transaction, `len` = after the
    /// last), or `None` past the end.
    pub fn at(&self, position: usize) -> Option<TraceState> {
        match position {
            0 => Some(self.start),
            _ => self.steps.get(position - 1).map(|step| step.after),
        }
    }

    /// Number of transactions.
    pub fn len(&self) -> usize {
        self.steps.len()
    }

    /// Whether the block has no transactions (never true for a valid L2 block).
    pub fn is_empty(&self) -> bool {
        self.steps.is_empty()
    }

    /// The state after the last transaction.
    pub fn end(&self) -> TraceState {
        self.steps.last().map_or(self.start, |step| step.after)
    }
}

/// Why a block could not be traced.
#[derive(Debug, thiserror::Error)]
pub enum TraceError {
    /// A transaction was refused or the state could not be read.
    #[error("transaction {index}: {source}")]
    Execution {
        /// Position in the block.
        index: usize,
        /// What the executor reported.
        source: ExecutionError,
    },
    /// A transaction's changes could not be applied to the replay state.
    #[error("transaction {index}: {source}")]
    State {
        /// Position in the block.
        index: usize,
        /// What the state reported.
        source: ReplayError,
    },
}

/// Executes `txs` one at a time on `world` (the parent's state, advanced in place to the
/// block's post-state) and records the trace state after each.
///
/// Each transaction runs as its own single-transaction block on the sequential engine, so the
/// state root after it is exact (fees credited, EIP-161 cleanup done) and cheap to get from
/// the replay state ([`ReplayState`]).
pub fn trace_block<T: BlockTransaction, W: ReplayState>(
    env: &ExecutionEnv,
    txs: &[T],
    world: &mut W,
) -> Result<BlockTrace, TraceError> {
    let start = TraceState::start(world.state_root());
    let mut state = start;
    let mut steps = Vec::with_capacity(txs.len());
    for (index, tx) in txs.iter().enumerate() {
        let outcome = Sequential
            .execute_block(env, std::slice::from_ref(tx), world)
            .map_err(|source| TraceError::Execution { index, source })?;
        world
            .apply_changes(&outcome.state_changes)
            .map_err(|source| TraceError::State { index, source })?;
        let root = world.state_root();
        // One transaction gives one receipt; alone in its block, its cumulative gas is its own
        // counted gas.
        for mut receipt in outcome.receipts {
            state = state.advance(&receipt, receipt.cumulative_gas_used, root);
            receipt.cumulative_gas_used = state.cumulative_gas;
            steps.push(TraceStep {
                receipt,
                after: state,
            });
        }
    }
    Ok(BlockTrace { start, steps })
}
