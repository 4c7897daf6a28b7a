//! Derivation: the L2 chain as a pure function of L1 (and DA) data.
//!
//! Stages, each a type wrapping the one below and pulling from it on demand:
//!
//! ```text
//! L1Traversal      next L1 block by number; parent-hash check (reorg → Reset); decodes deposits
//!                  and applies SystemConfig events (batcher, gas limit, fee parameters)
//!   InboxRetrieval   batcher → inbox transactions of that block; calldata, blobs, Celestia
//!     FrameQueue       payloads → frames (malformed payloads dropped)
//!       ChannelBank      frames → complete channels (duplicates ignored, timeouts, memory bound)
//!         BatchReader      channels → batches (bad channels dropped whole)
//!           BatchQueue       batch validation, future buffering, forced empty blocks
//!             AttributesQueue  L1-info deposit + user deposits + batch txs → PayloadAttributes
//! ```
//!
//! A stage answers `Ok(None)` when everything derived from the current L1 block is consumed;
//! [`Pipeline::next_attributes`] then advances the origin (one L1 block, through every stage)
//! and asks again. Every decision depends only on the L1 chain, the DA data and the safe head,
//! so all nodes derive the same chain; a source that cannot answer yet makes the pipeline return
//! a [`Severity::Temporary`] error without having consumed anything.
//!
//! The node drives it: `attrs = pipeline.next_attributes(&safe_head)?`, execute `attrs`, then
//! `safe_head = attrs.executed(block_hash)` and repeat (start from
//! [`RollupConfig::genesis_block_info`], or rebuild a stored block's info with
//! [`crate::l1_info::L1Info::from_deposit`]). On a [`Severity::Reset`] error (an L1 reorg), walk
//! the safe head back to the last block whose L1 origin *and* `derived_from` block are both still
//! canonical and call [`Pipeline::reset`] with it. Derivation restarts `channel_timeout` L1
//! blocks before the safe head's origin, which covers every channel that can still hold a batch
//! for the next block, and replays the SystemConfig history up to there.

mod attributes;
mod batch_queue;
mod batch_reader;
mod channel_bank;
mod error;
mod frame_queue;
mod retrieval;
mod traits;
mod traversal;

#[cfg(any(test, feature = "test-utils"))]
pub mod test_utils;

#[cfg(test)]
mod tests;

use std::sync::Arc;

pub use attributes::{build_attributes, AttributesQueue, PayloadAttributes};
pub use batch_queue::{BatchQueue, BlockProvider, DerivedBlock, MAX_CANDIDATES_PER_BLOCK};
pub use batch_reader::{BatchProvider, BatchReader, IncludedBatch};
pub use channel_bank::{ChannelBank, ChannelProvider, ReadyChannel};
pub use error::{DaRequest, PipelineError, Severity, SourceError};
pub use frame_queue::{FrameProvider, FrameQueue, L1Frame};
pub use retrieval::InboxRetrieval;
pub use traits::{
    DaSource, DataProvider, InboxData, InboxPayload, InboxTransaction, L1Epoch, L1Source, Stage,
};
pub use traversal::L1Traversal;

use crate::block::{L1BlockInfo, L2BlockInfo};
use crate::config::RollupConfig;

/// What derivation skipped, for metrics and tests. Every count is of input ignored by rule, not
/// of errors: none of them stops derivation.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct DerivationCounters {
    /// Inbox transactions not from the batcher or not to the inbox.
    pub ignored_transactions: u64,
    /// Calldata / blobs / payloads that did not parse.
    pub malformed_payloads: u64,
    /// Frames already received for their channel.
    pub duplicate_frames: u64,
    /// Frames beyond or conflicting with a channel's last frame.
    pub ignored_frames: u64,
    /// Channels dropped after `channel_timeout`.
    pub timed_out_channels: u64,
    /// Channels evicted by the memory bound.
    pub evicted_channels: u64,
    /// Complete channels that failed to decompress or decode.
    pub invalid_channels: u64,
    /// Batches dropped as invalid, late or for past blocks.
    pub dropped_batches: u64,
    /// Empty blocks forced by the sequencing window.
    pub forced_blocks: u64,
}

impl DerivationCounters {
    /// Adds `other` into `self`.
    pub fn add(&mut self, other: &Self) {
        self.ignored_transactions += other.ignored_transactions;
        self.malformed_payloads += other.malformed_payloads;
        self.duplicate_frames += other.duplicate_frames;
        self.ignored_frames += other.ignored_frames;
        self.timed_out_channels += other.timed_out_channels;
        self.evicted_channels += other.evicted_channels;
        self.invalid_channels += other.invalid_channels;
        self.dropped_batches += other.dropped_batches;
        self.forced_blocks += other.forced_blocks;
    }
}

/// The assembled stage stack (swap any layer by building the stages by hand).
pub type Stages<L, D> = AttributesQueue<
    BatchQueue<BatchReader<ChannelBank<FrameQueue<InboxRetrieval<L1Traversal<L>, L, D>>>>>,
>;

/// The derivation pipeline over an L1 source and a DA source.
#[derive(Debug)]
pub struct Pipeline<L, D> {
    config: Arc<RollupConfig>,
    l1: Arc<L>,
    da: Arc<D>,
    stages: Stages<L, D>,
    origin: Option<L1BlockInfo>,
    /// The last answer, returned again if asked again for the same safe head (the node may
    /// retry after failing to execute; the batch is already consumed).
    last: Option<(L2BlockInfo, PayloadAttributes)>,
}

impl<L: L1Source, D: DaSource> Pipeline<L, D> {
    /// A pipeline deriving the blocks after `safe_head` under `config` (validated by the
    /// caller). No I/O happens until [`next_attributes`](Self::next_attributes).
    pub fn new(config: Arc<RollupConfig>, l1: Arc<L>, da: Arc<D>, safe_head: &L2BlockInfo) -> Self {
        let stages = Self::build(&config, &l1, &da, safe_head);
        Self {
            config,
            l1,
            da,
            stages,
            origin: None,
            last: None,
        }
    }

    /// First L1 block read when deriving after `safe_head`: `channel_timeout` blocks before its
    /// origin (channels still open then may carry the next batches), not before genesis.
    pub fn start_block(config: &RollupConfig, safe_head: &L2BlockInfo) -> u64 {
        safe_head
            .l1_origin
            .number
            .saturating_sub(config.channel_timeout)
            .max(config.genesis.l1.number)
    }

    fn build(
        config: &Arc<RollupConfig>,
        l1: &Arc<L>,
        da: &Arc<D>,
        safe_head: &L2BlockInfo,
    ) -> Stages<L, D> {
        let traversal = L1Traversal::new(l1.clone(), config, Self::start_block(config, safe_head));
        let retrieval = InboxRetrieval::new(
            traversal,
            l1.clone(),
            da.clone(),
            config.batch_inbox_address,
        );
        let bank = ChannelBank::new(
            FrameQueue::new(retrieval),
            config.channel_timeout,
            usize::try_from(config.max_channel_bank_size).unwrap_or(usize::MAX),
        );
        let reader = BatchReader::new(bank, config.max_channel_decompressed());
        AttributesQueue::new(BatchQueue::new(reader, config.clone()))
    }

    /// Drops all state and derives again after `safe_head` (after an L1 reorg).
    pub fn reset(&mut self, safe_head: &L2BlockInfo) {
        self.stages = Self::build(&self.config, &self.l1, &self.da, safe_head);
        self.origin = None;
        self.last = None;
    }

    /// The attributes of block `safe_head.number + 1`. Advances through L1 as far as needed;
    /// returns [`PipelineError::L1NotReady`] (temporary) once L1 is exhausted.
    pub fn next_attributes(
        &mut self,
        safe_head: &L2BlockInfo,
    ) -> Result<PayloadAttributes, PipelineError> {
        if let Some((parent, attributes)) = &self.last {
            if parent == safe_head {
                return Ok(attributes.clone());
            }
        }
        loop {
            if let Some(attributes) = self.stages.next_attributes(safe_head)? {
                self.last = Some((*safe_head, attributes.clone()));
                return Ok(attributes);
            }
            let epoch = self.stages.advance_origin()?;
            self.origin = Some(epoch.info);
        }
    }

    /// The last L1 block read.
    pub fn origin(&self) -> Option<&L1BlockInfo> {
        self.origin.as_ref()
    }

    /// What was skipped so far (since the last reset).
    pub fn counters(&self) -> DerivationCounters {
        let mut out = DerivationCounters::default();
        self.stages.counters(&mut out);
        out
    }
}
