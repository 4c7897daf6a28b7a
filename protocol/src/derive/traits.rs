//! The data sources derivation reads (L1, DA) and the small traits joining its stages.

use std::sync::Arc;

use alloy_primitives::{Address, Bytes, B256};

use crate::block::{BlockId, L1BlockInfo};
use crate::deposit::IndexedLog;
use crate::frame::CelestiaPointer;
use crate::system_config::SystemConfigState;

use super::error::PipelineError;
use super::DerivationCounters;

/// L1 as derivation sees it: canonical headers by number, batch-inbox transactions and Portal
/// logs by block. Synchronous on purpose: the node fetches (and caches) over RPC, the
/// challenger replays recorded data, tests use memory; derivation stays pure either way.
pub trait L1Source {
    /// The source's own failure (RPC down, block pruned, …): derivation retries later.
    type Error: std::error::Error + Send + Sync + 'static;

    /// The canonical block at `number`, or `None` if L1 has not reached it yet.
    fn block_by_number(&self, number: u64) -> Result<Option<L1BlockInfo>, Self::Error>;

    /// Whether `block` is still on the canonical chain: `Some(false)` once a reorg replaced it
    /// (or L1 no longer reaches its height), `None` when the source cannot tell right now.
    fn is_canonical(&self, block: BlockId) -> Option<bool> {
        match self.block_by_number(block.number) {
            Ok(Some(info)) => Some(info.hash == block.hash),
            Ok(None) => Some(false),
            Err(_) => None,
        }
    }

    /// Transactions of `block` sent to `inbox`, in block order. Returning more (every
    /// transaction of the block) is allowed: derivation filters by recipient and sender. If
    /// `block` is no longer canonical the source should fail rather than answer for another block.
    fn inbox_transactions(
        &self,
        block: &L1BlockInfo,
        inbox: Address,
    ) -> Result<Vec<InboxTransaction>, Self::Error>;

    /// Logs emitted in `block` by any of `emitters` (the Portal and the SystemConfig), with their
    /// block-wide log index, in any order. Logs of other emitters and events are ignored.
    fn logs(
        &self,
        block: &L1BlockInfo,
        emitters: &[Address],
    ) -> Result<Vec<IndexedLog>, Self::Error>;

    /// Every log `emitter` emitted in canonical blocks numbered below `number`, each with its
    /// block number, in any order. Read once when derivation starts, to rebuild the SystemConfig
    /// values in force (an `eth_getLogs` over the range, or a cache of it).
    fn logs_before(
        &self,
        number: u64,
        emitter: Address,
    ) -> Result<Vec<(u64, IndexedLog)>, Self::Error>;
}

/// Data availability beyond calldata: blobs (from the L1 beacon node or an archive) and
/// Celestia blobs. `Ok(None)` means "not available yet": derivation stops and retries, it never
/// skips data it could not fetch.
pub trait DaSource {
    /// The source's own failure.
    type Error: std::error::Error + Send + Sync + 'static;

    /// The 131,072-byte blob with `versioned_hash`, carried by a transaction in `block`. The
    /// source must check the blob against the versioned hash (KZG commitment) before returning it.
    fn blob(&self, block: &L1BlockInfo, versioned_hash: B256)
        -> Result<Option<Bytes>, Self::Error>;

    /// The content of the Celestia blob `pointer` names, checked against its commitment.
    fn celestia(&self, pointer: &CelestiaPointer) -> Result<Option<Bytes>, Self::Error>;
}

/// A transaction to the batch inbox.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct InboxTransaction {
    /// Recovered sender.
    pub from: Address,
    /// Recipient (creations never reach the inbox).
    pub to: Address,
    /// What it carries.
    pub data: InboxData,
}

/// Where a batcher transaction's payload is.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum InboxData {
    /// Calldata of a non-blob transaction: frames or a Celestia pointer.
    Calldata(Bytes),
    /// Versioned hashes of a blob transaction (its calldata is ignored).
    Blobs(Vec<B256>),
}

/// An L1 block as the pipeline carries it: the header fields, its user deposits (decoded and
/// EIP-2718 encoded, in log order) and the SystemConfig values in force after its events.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct L1Epoch {
    /// Header fields.
    pub info: L1BlockInfo,
    /// Deposits (`0x7E ‖ rlp`) from the block's Portal events.
    pub deposits: Vec<Bytes>,
    /// SystemConfig values in force for this block's batcher data and for L2 blocks taking it
    /// as origin.
    pub system_config: SystemConfigState,
}

/// One inbox payload (`0x00 ‖ frames`) and the L1 block that carried it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct InboxPayload {
    /// The payload bytes (calldata, a decoded blob, or a Celestia blob).
    pub data: Bytes,
    /// The L1 block whose transaction carried it.
    pub l1_block: BlockId,
}

/// Every stage: moves to the next L1 block (pulling it up from traversal) and reports counters.
pub trait Stage {
    /// Advances the L1 origin by one block. Called by the pipeline only when the stages above
    /// have consumed everything derived from the current one.
    fn advance_origin(&mut self) -> Result<Arc<L1Epoch>, PipelineError>;

    /// Adds this stage's counters (and those below it) to `out`.
    fn counters(&self, out: &mut DerivationCounters);
}

/// Gives inbox payloads of the current L1 block; `None` when they are exhausted.
pub trait DataProvider: Stage {
    /// The next payload.
    fn next_data(&mut self) -> Result<Option<InboxPayload>, PipelineError>;
}
