//! Parallax block execution: a Block-STM parallel engine on revm and the sequential reference it
//! must equal, bit for bit.
//!
//! Both engines implement [`BlockExecutor`]: given the block environment, its transactions (with
//! recovered senders) and a read-only view of the pre-state, they return a [`BlockOutcome`] —
//! receipts, net state changes and gas. Equality of the two outcomes for every block is the
//! central correctness property; `tests/` checks it on Ethereum test vectors and random blocks.

mod changes;
mod evm;
mod parallel;
mod sequential;
pub mod trace;
mod tx;
pub mod types;

pub use parallel::BlockStm;
pub use revm;
pub use sequential::{simulate, Sequential, SimulationOptions};
pub use tx::tx_env;
pub use types::{
    AccountBasic, AccountChange, BlockOutcome, BlockTransaction, ExecutionEnv, ExecutionError,
    ExecutionStats, InvalidTx, RollupTx, StateChanges, TxFunding, TxIdx, TxReceipt, TxStatus,
};

use revm::database_interface::DatabaseRef;

/// A read-only view of the state a block executes on, shared by all worker threads.
///
/// Blanket-implemented for every thread-safe revm [`DatabaseRef`] whose error is a real error
/// type, so the state crate's views, revm's in-memory databases and test fixtures all qualify.
pub trait StateView: DatabaseRef<Error: std::error::Error + Send + Sync + 'static> + Sync {}

impl<T> StateView for T where T: DatabaseRef<Error: std::error::Error + Send + Sync + 'static> + Sync
{}

/// Executes whole blocks.
pub trait BlockExecutor {
    /// Executes `txs` in order on `state` under `env`.
    ///
    /// A transaction that cannot be included (bad nonce, insufficient funds, gas above the block
    /// limit, ...) makes the whole call fail with [`ExecutionError::InvalidTransaction`] naming
    /// it; reverts and halts are ordinary receipts.
    fn execute_block<S: StateView, T: BlockTransaction>(
        &self,
        env: &ExecutionEnv,
        txs: &[T],
        state: &S,
    ) -> Result<BlockOutcome, ExecutionError> {
        self.execute_block_with_stats(env, txs, state)
            .map(|(outcome, _)| outcome)
    }

    /// As [`BlockExecutor::execute_block`], also returning how the engine got there.
    fn execute_block_with_stats<S: StateView, T: BlockTransaction>(
        &self,
        env: &ExecutionEnv,
        txs: &[T],
        state: &S,
    ) -> Result<(BlockOutcome, ExecutionStats), ExecutionError>;
}

/// Either engine, chosen at run time (CLI flags, config).
#[derive(Clone, Copy, Debug)]
pub enum Engine {
    /// [`Sequential`].
    Sequential,
    /// [`BlockStm`].
    BlockStm(BlockStm),
}

impl BlockExecutor for Engine {
    fn execute_block_with_stats<S: StateView, T: BlockTransaction>(
        &self,
        env: &ExecutionEnv,
        txs: &[T],
        state: &S,
    ) -> Result<(BlockOutcome, ExecutionStats), ExecutionError> {
        match self {
            Self::Sequential => Sequential.execute_block_with_stats(env, txs, state),
            Self::BlockStm(engine) => engine.execute_block_with_stats(env, txs, state),
        }
    }
}
