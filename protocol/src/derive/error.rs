//! Derivation errors, each with its severity decided here once.

use alloy_primitives::B256;

use crate::block::BlockId;
use crate::deposit::DepositError;
use crate::frame::CelestiaPointer;
use crate::system_config::SystemConfigError;

/// A data source's error, kept whole (not flattened into a string).
pub type SourceError = Box<dyn std::error::Error + Send + Sync + 'static>;

/// What the caller should do about a [`PipelineError`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Severity {
    /// Wait (for L1, for DA, for a source to recover) and call again: nothing was lost.
    Temporary,
    /// L1 or the safe head moved under derivation: pick the safe head again and rebuild the
    /// pipeline with [`super::Pipeline::reset`].
    Reset,
    /// The inputs break a protocol guarantee (a source is buggy or lying): stop and alert.
    Critical,
}

/// A DA item derivation waits for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DaRequest {
    /// A blob of a transaction in `l1_block`.
    Blob {
        /// L1 block of the blob transaction.
        l1_block: BlockId,
        /// The blob's versioned hash.
        versioned_hash: B256,
    },
    /// A Celestia blob.
    Celestia(CelestiaPointer),
}

/// Why derivation could not produce the next payload attributes.
#[derive(Debug, thiserror::Error)]
pub enum PipelineError {
    /// The next L1 block does not exist yet.
    #[error("L1 block {0} is not available yet")]
    L1NotReady(u64),
    /// The L1 source failed.
    #[error("L1 source failed")]
    L1Source(#[source] SourceError),
    /// The DA source does not have an item yet.
    #[error("DA data not available yet: {0:?}")]
    DaNotReady(DaRequest),
    /// The DA source failed.
    #[error("DA source failed fetching {request:?}")]
    DaSource {
        /// What was being fetched.
        request: DaRequest,
        /// The source's error.
        #[source]
        source: SourceError,
    },
    /// The next L1 block does not build on the one derivation read last.
    #[error("L1 reorg: block {number} has parent {found}, derivation read {expected}")]
    L1Reorg {
        /// Number of the new block.
        number: u64,
        /// Hash of the block derivation read at `number - 1`.
        expected: B256,
        /// Parent hash of the new block.
        found: B256,
    },
    /// The safe head handed in is not on the L1 chain derivation follows, or went backwards.
    #[error("safe head {got:?} does not continue derivation (expected after {expected:?})")]
    UnexpectedSafeHead {
        /// The safe head derivation expected to build on.
        expected: BlockId,
        /// The one it was given.
        got: BlockId,
    },
    /// The L1 source answered for another block than asked.
    #[error("L1 source returned block {got} for number {asked}")]
    WrongL1Block {
        /// Requested number.
        asked: u64,
        /// Number returned.
        got: u64,
    },
    /// A `TransactionDeposited` log the Portal could not have emitted.
    #[error("invalid deposit log {log_index} in L1 block {block:?}")]
    InvalidDepositLog {
        /// L1 block.
        block: BlockId,
        /// Log index.
        log_index: u64,
        /// What was wrong.
        #[source]
        source: DepositError,
    },
    /// A SystemConfig event the contract could not have emitted.
    #[error("invalid SystemConfig log {log_index} in L1 block {block}")]
    InvalidSystemConfigLog {
        /// L1 block number.
        block: u64,
        /// Log index.
        log_index: u64,
        /// What was wrong.
        #[source]
        source: SystemConfigError,
    },
    /// L2 time overflowed `u64` milliseconds: a misconfiguration.
    #[error("L2 timestamp overflow after block {0}")]
    TimestampOverflow(u64),
}

impl PipelineError {
    /// The one place severities are decided.
    pub fn severity(&self) -> Severity {
        match self {
            Self::L1NotReady(_)
            | Self::L1Source(_)
            | Self::DaNotReady(_)
            | Self::DaSource { .. } => Severity::Temporary,
            Self::L1Reorg { .. } | Self::UnexpectedSafeHead { .. } => Severity::Reset,
            Self::WrongL1Block { .. }
            | Self::InvalidDepositLog { .. }
            | Self::InvalidSystemConfigLog { .. }
            | Self::TimestampOverflow(_) => Severity::Critical,
        }
    }
}
