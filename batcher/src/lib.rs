//! The Parallax batcher and proposer, and the L1 transaction manager they (and later the
//! challenger) share.
//!
//! - [`batcher`]: sealed L2 blocks from the chain store → batches → a compressed channel →
//!   frames → L1 transactions to the batch inbox, through a [`da::DaClient`] (calldata, blobs,
//!   or `auto` choosing by L1 prices). Restarts resume from the frames journal without
//!   reposting or skipping a block.
//! - [`proposer`]: output roots of every `proposal_interval`-th L2 block whose data is on L1
//!   (the safe head, or confirmed frames), with the bond, to the `OutputOracle`.
//! - [`txmgr`] (the `parallax-txmgr` crate, re-exported): signing with a local key, nonces that
//!   survive restarts, fee bumps, stuck-nonce replacement, confirmation depth and reorg
//!   re-broadcasts, with every signed transaction journaled in the chain store before it is
//!   broadcast.
//! - [`backlog`]: DA backpressure: the unposted-bytes figure (defined there) reported to the
//!   sequencer's admin RPC, which refuses new transactions while it is over its limit.
//! - [`metrics`]: Prometheus text on its own port, including the DA backlog and its reports.
#![forbid(unsafe_code)]

pub mod backlog;
pub mod batcher;
pub mod da;
mod error;
pub mod fees;
pub mod metrics;
pub mod proposer;

pub use backlog::{AdminRpcBacklog, BacklogError, BacklogReporter, BacklogSink};
pub use batcher::{confirmed_through, unconfirmed_transaction_bytes, Batcher, BatcherConfig};
pub use error::Error;
pub use fees::{CostModel, L1Fees};
pub use metrics::Metrics;
pub use parallax_txmgr::{
    self as txmgr, TxCandidate, TxError, TxEvent, TxManager, TxManagerConfig,
};
pub use proposer::{DefendConfig, ProposeAfter, Proposer, ProposerConfig, LIE_ACCOUNT};
