//! The crate's one error type, with the retry decision made in one place ([`Error::is_transient`]).

use alloy::primitives::Address;
use parallax_protocol::{blob::BlobError, channel::BuilderError, frame::FrameError};
use parallax_state::store::StoreError;

/// What stopped the batcher or proposer from doing a step.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The chain store failed.
    #[error("chain store: {0}")]
    Store(#[from] StoreError),
    /// An L1 JSON-RPC call failed (node down, timeout, error answer).
    #[error("L1 RPC: {0}")]
    Rpc(#[from] alloy::transports::TransportError),
    /// A contract call could not be made or decoded.
    #[error("L1 contract call: {0}")]
    Contract(#[from] alloy::contract::Error),
    /// The signing key failed.
    #[error("signing: {0}")]
    Signer(#[from] alloy::signers::Error),
    /// KZG commitments or proofs for a blob sidecar could not be computed.
    #[error("KZG: {0}")]
    Kzg(#[from] alloy_eips::eip4844::c_kzg::Error),
    /// A blocking helper task (KZG proofs) panicked or was cancelled.
    #[error("background task: {0}")]
    Task(#[from] tokio::task::JoinError),
    /// A payload does not fit the blob packing.
    #[error("blob packing: {0}")]
    Blob(#[from] BlobError),
    /// A channel could not be cut into frames of the DA payload size.
    #[error("framing: {0}")]
    Frame(#[from] FrameError),
    /// A sealed L2 block's batch exceeds the channel limit: the sequencer must never build it.
    #[error("L2 block {number}: {source}")]
    Batch {
        /// The block.
        number: u64,
        /// Why the channel refused its batch.
        source: BuilderError,
    },
    /// The store's unsafe head is above a block the store does not have.
    #[error("L2 block {0} is missing from the chain store")]
    MissingBlock(u64),
    /// An L2 block number before the rollup's genesis (no scheduled timestamp).
    #[error("L2 block {0} is before the rollup genesis")]
    BeforeGenesis(u64),
    /// The local chain could not answer a question about a block (the malicious proposer's
    /// fake trace).
    #[error("local chain: {0}")]
    Truth(String),
    /// The L1 transaction manager failed.
    #[error(transparent)]
    TxManager(#[from] parallax_txmgr::TxError),
    /// A DA backend was asked to carry frames it was not planned for.
    #[error("DA backend {backend} cannot carry {frames} frames of up to {largest} bytes")]
    DaPlan {
        /// The backend.
        backend: &'static str,
        /// Frames given.
        frames: usize,
        /// Largest frame payload given.
        largest: usize,
    },
    /// The Celestia node failed or refused a submission (retried; see `CelestiaDa`'s fallback).
    #[error(transparent)]
    Celestia(#[from] parallax_celestia::CelestiaError),
    /// The signing key is not the account the L1 contracts expect.
    #[error("key {key} is not the {role} {expected} configured on L1")]
    WrongKey {
        /// The role (`batcher`, `proposer`).
        role: &'static str,
        /// The key's address.
        key: Address,
        /// The address L1 expects.
        expected: Address,
    },
}

impl Error {
    /// Whether retrying the step later can succeed: L1 and database outages are transient; a
    /// corrupt journal, an oversized block or a misconfiguration stop the service instead of
    /// looping on the same failure.
    pub fn is_transient(&self) -> bool {
        match self {
            Self::Rpc(_) | Self::Contract(_) | Self::Celestia(_) => true,
            Self::TxManager(error) => error.is_transient(),
            Self::Store(error) => matches!(error, StoreError::Database(_)),
            Self::Signer(_)
            | Self::Kzg(_)
            | Self::Task(_)
            | Self::Blob(_)
            | Self::Frame(_)
            | Self::Batch { .. }
            | Self::MissingBlock(_)
            | Self::BeforeGenesis(_)
            | Self::DaPlan { .. }
            | Self::WrongKey { .. } => false,
            Self::Truth(_) => true,
        }
    }
}
