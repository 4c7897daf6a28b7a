//! The tx manager's error, with its retry decision ([`TxError::is_transient`]).

use alloy::primitives::B256;
use parallax_state::store::StoreError;

/// What stopped the tx manager from sending or following a transaction.
#[derive(Debug, thiserror::Error)]
pub enum TxError {
    /// The journal (chain store) failed.
    #[error("chain store: {0}")]
    Store(#[from] StoreError),
    /// An L1 JSON-RPC call failed (node down, timeout, error answer).
    #[error("L1 RPC: {0}")]
    Rpc(#[from] alloy::transports::TransportError),
    /// The signing key failed.
    #[error("signing: {0}")]
    Signer(#[from] alloy::signers::Error),
    /// The journal holds bytes that do not decode as a signed transaction.
    #[error("journaled L1 transaction {hash} does not decode: {source}")]
    CorruptJournal {
        /// The journaled attempt.
        hash: B256,
        /// The decoder's complaint.
        source: alloy::eips::eip2718::Eip2718Error,
    },
    /// The journal holds a transaction this manager cannot re-sign (a type it never sends).
    #[error("journaled L1 transaction {0} has a type the tx manager does not send")]
    UnsupportedJournalType(B256),
    /// The L1 node serves another chain than the one configured.
    #[error("L1 chain id is {actual}, configured {expected}")]
    ChainId {
        /// Configured.
        expected: u64,
        /// What the node reports.
        actual: u64,
    },
    /// L1 has no EIP-1559 base fee (pre-London node) or the latest block is missing.
    #[error("L1 latest block has no base fee")]
    NoBaseFee,
}

impl TxError {
    /// Whether retrying later can succeed: L1 and database outages are transient; a corrupt
    /// journal or a misconfiguration is not.
    pub fn is_transient(&self) -> bool {
        match self {
            Self::Rpc(_) | Self::NoBaseFee => true,
            Self::Store(error) => matches!(error, StoreError::Database(_)),
            Self::Signer(_)
            | Self::CorruptJournal { .. }
            | Self::UnsupportedJournalType(_)
            | Self::ChainId { .. } => false,
        }
    }
}
