//! Channel bank: reassembles channels from frames.
//!
//! Rules (all deterministic functions of the frames and their L1 blocks):
//! - a channel opens at the L1 block of the first frame seen for its id;
//! - a frame number seen before in the channel is ignored (first copy wins);
//! - the first `is_last` frame fixes the channel's length: frames above it are discarded and a
//!   second `is_last` frame, or a later frame above it, is ignored;
//! - a channel is complete when frames `0..=last` are all present; it is emitted at once, with
//!   the L1 block of the completing frame as its inclusion block, and forgotten;
//! - before any frame of L1 block `n` is taken (and whenever the origin advances to `n`),
//!   channels opened before `n - channel_timeout` are dropped;
//! - buffered frame data (plus 200 bytes per frame) above `max_channel_bank_size` evicts whole
//!   channels, oldest opened first.

use std::collections::{BTreeMap, HashMap, VecDeque};
use std::sync::Arc;

use alloy_primitives::Bytes;

use crate::block::BlockId;
use crate::channel::ChannelId;

use super::error::PipelineError;
use super::frame_queue::{FrameProvider, L1Frame};
use super::traits::{L1Epoch, Stage};
use super::DerivationCounters;

/// Accounted size of a frame beyond its data, so floods of empty frames are bounded too.
const FRAME_ACCOUNTING_OVERHEAD: usize = 200;

/// A complete channel's data.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ReadyChannel {
    /// Channel id.
    pub id: ChannelId,
    /// Concatenated frame data: compression byte ‖ compressed batches.
    pub data: Bytes,
    /// L1 block of the frame that completed the channel.
    pub inclusion: BlockId,
}

/// Gives complete channels; `None` when the current L1 block is exhausted.
pub trait ChannelProvider: Stage {
    /// The next complete channel.
    fn next_channel(&mut self) -> Result<Option<ReadyChannel>, PipelineError>;
}

#[derive(Debug)]
struct PendingChannel {
    opened_at: u64,
    frames: BTreeMap<u16, Bytes>,
    last: Option<u16>,
    size: usize,
}

impl PendingChannel {
    fn is_complete(&self) -> bool {
        self.last
            .is_some_and(|last| self.frames.len() == usize::from(last) + 1)
    }
}

/// Assembles channels from a [`FrameProvider`].
#[derive(Debug)]
pub struct ChannelBank<P> {
    prev: P,
    channel_timeout: u64,
    max_size: usize,
    channels: HashMap<ChannelId, PendingChannel>,
    /// Channels in opening order, with the L1 block they opened at (ids can be reused after
    /// completion, so the pair identifies one incarnation).
    order: VecDeque<(ChannelId, u64)>,
    size: usize,
    ready: VecDeque<ReadyChannel>,
    counters: DerivationCounters,
}

impl<P: FrameProvider> ChannelBank<P> {
    /// A bank dropping channels older than `channel_timeout` L1 blocks and holding at most
    /// `max_size` accounted bytes.
    pub fn new(prev: P, channel_timeout: u64, max_size: usize) -> Self {
        Self {
            prev,
            channel_timeout,
            max_size,
            channels: HashMap::new(),
            order: VecDeque::new(),
            size: 0,
            ready: VecDeque::new(),
            counters: DerivationCounters::default(),
        }
    }

    /// Channels currently buffered.
    pub fn pending_channels(&self) -> usize {
        self.channels.len()
    }

    /// Accounted bytes currently buffered.
    pub fn buffered_size(&self) -> usize {
        self.size
    }

    fn remove(&mut self, id: &ChannelId) -> Option<PendingChannel> {
        let channel = self.channels.remove(id)?;
        self.size -= channel.size;
        Some(channel)
    }

    fn prune_timed_out(&mut self, l1_number: u64) {
        let timeout = self.channel_timeout;
        let expired: Vec<ChannelId> = self
            .channels
            .iter()
            .filter(|(_, c)| c.opened_at.saturating_add(timeout) < l1_number)
            .map(|(id, _)| *id)
            .collect();
        for id in expired {
            self.remove(&id);
            self.counters.timed_out_channels += 1;
        }
        let channels = &self.channels;
        self.order
            .retain(|(id, opened)| channels.get(id).is_some_and(|c| c.opened_at == *opened));
    }

    fn evict_oldest(&mut self) {
        while self.size > self.max_size {
            let Some((id, opened)) = self.order.pop_front() else {
                break;
            };
            if self
                .channels
                .get(&id)
                .is_some_and(|c| c.opened_at == opened)
            {
                self.remove(&id);
                self.counters.evicted_channels += 1;
            }
        }
    }

    fn ingest(&mut self, L1Frame { frame, l1_block }: L1Frame) {
        self.prune_timed_out(l1_block.number);
        let id = frame.channel_id;
        let channel = self.channels.entry(id).or_insert_with(|| {
            self.order.push_back((id, l1_block.number));
            PendingChannel {
                opened_at: l1_block.number,
                frames: BTreeMap::new(),
                last: None,
                size: 0,
            }
        });
        if channel.frames.contains_key(&frame.number) {
            self.counters.duplicate_frames += 1;
            return;
        }
        if let Some(last) = channel.last {
            if frame.is_last || frame.number > last {
                self.counters.ignored_frames += 1;
                return;
            }
        }
        if frame.is_last {
            channel.last = Some(frame.number);
            let above = channel.frames.split_off(&(frame.number));
            let dropped: usize = above
                .values()
                .map(|d| d.len() + FRAME_ACCOUNTING_OVERHEAD)
                .sum();
            channel.size -= dropped;
            self.size -= dropped;
            self.counters.ignored_frames += above.len() as u64;
        }
        let added = frame.data.len() + FRAME_ACCOUNTING_OVERHEAD;
        channel.frames.insert(frame.number, frame.data);
        channel.size += added;
        self.size += added;
        if channel.is_complete() {
            if let Some(channel) = self.remove(&id) {
                let mut data = Vec::with_capacity(channel.size);
                for part in channel.frames.values() {
                    data.extend_from_slice(part);
                }
                self.ready.push_back(ReadyChannel {
                    id,
                    data: data.into(),
                    inclusion: l1_block,
                });
            }
        }
        self.evict_oldest();
    }
}

impl<P: FrameProvider> Stage for ChannelBank<P> {
    fn advance_origin(&mut self) -> Result<Arc<L1Epoch>, PipelineError> {
        let epoch = self.prev.advance_origin()?;
        self.prune_timed_out(epoch.info.number);
        Ok(epoch)
    }

    fn counters(&self, out: &mut DerivationCounters) {
        out.add(&self.counters);
        self.prev.counters(out);
    }
}

impl<P: FrameProvider> ChannelProvider for ChannelBank<P> {
    fn next_channel(&mut self) -> Result<Option<ReadyChannel>, PipelineError> {
        loop {
            if let Some(channel) = self.ready.pop_front() {
                return Ok(Some(channel));
            }
            let Some(frame) = self.prev.next_frame()? else {
                return Ok(None);
            };
            self.ingest(frame);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::derive::test_utils::VecStage;
    use crate::frame::Frame;
    use alloy_primitives::B256;

    fn frame(id: u8, number: u16, data: &[u8], is_last: bool, l1: u64) -> L1Frame {
        L1Frame {
            frame: Frame {
                channel_id: ChannelId::repeat_byte(id),
                number,
                data: Bytes::copy_from_slice(data),
                is_last,
            },
            l1_block: BlockId {
                number: l1,
                hash: B256::ZERO,
            },
        }
    }

    fn run(
        frames: Vec<L1Frame>,
        timeout: u64,
        max_size: usize,
    ) -> (Vec<ReadyChannel>, DerivationCounters) {
        let mut bank = ChannelBank::new(VecStage::new(frames), timeout, max_size);
        let mut out = Vec::new();
        while let Some(channel) = bank.next_channel().expect("channels") {
            out.push(channel);
        }
        let mut counters = DerivationCounters::default();
        bank.counters(&mut counters);
        (out, counters)
    }

    #[test]
    fn out_of_order_and_duplicate_frames() {
        let (ready, counters) = run(
            vec![
                frame(1, 2, b"c", true, 5),
                frame(1, 0, b"a", false, 5),
                frame(2, 0, b"x", true, 6),
                frame(1, 0, b"Z", false, 6),
                frame(1, 1, b"b", false, 7),
                frame(1, 1, b"Y", false, 7),
            ],
            10,
            1 << 20,
        );
        assert_eq!(ready.len(), 2);
        assert_eq!(ready[0].id, ChannelId::repeat_byte(2));
        assert_eq!(&ready[1].data[..], b"abc");
        assert_eq!(ready[1].inclusion.number, 7);
        // The duplicate after completion opens a fresh channel that never completes.
        assert_eq!(counters.duplicate_frames, 1);
    }

    #[test]
    fn last_frame_rules() {
        let (ready, counters) = run(
            vec![
                frame(1, 3, b"d", false, 1),
                frame(1, 0, b"a", false, 1),
                frame(1, 1, b"b", true, 1),
                frame(1, 2, b"c", false, 1),
                frame(1, 1, b"B", true, 1),
            ],
            10,
            1 << 20,
        );
        assert_eq!(ready.len(), 1);
        assert_eq!(&ready[0].data[..], b"ab");
        // Frame 3 is discarded when 1 becomes last. Frames 2 and 1' then open a new incarnation
        // of the channel, where 1' (last) discards 2.
        assert_eq!(counters.ignored_frames, 2);
        assert_eq!(counters.duplicate_frames, 0);
    }

    #[test]
    fn channels_time_out() {
        let (ready, counters) = run(
            vec![
                frame(1, 0, b"a", false, 10),
                frame(2, 0, b"a", false, 12),
                // Block 20 = 10 + timeout: still in time.
                frame(2, 1, b"b", true, 22),
                frame(1, 1, b"b", true, 21),
            ],
            10,
            1 << 20,
        );
        assert_eq!(ready.len(), 1);
        assert_eq!(ready[0].id, ChannelId::repeat_byte(2));
        assert_eq!(counters.timed_out_channels, 1);
        let (ready, _) = run(
            vec![frame(1, 0, b"a", false, 10), frame(1, 1, b"b", true, 20)],
            10,
            1 << 20,
        );
        assert_eq!(ready.len(), 1);
    }

    #[test]
    fn memory_is_bounded() {
        let mut frames: Vec<L1Frame> = (0..100u8)
            .map(|id| frame(id, 0, &[0; 1000], false, 1))
            .collect();
        frames.push(frame(99, 1, b"", true, 1));
        let mut bank = ChannelBank::new(VecStage::new(frames), 10, 12_000);
        let ready = bank
            .next_channel()
            .expect("ok")
            .expect("channel 99 completes");
        assert_eq!(ready.id, ChannelId::repeat_byte(99));
        assert!(bank.buffered_size() <= 12_000);
        assert!(bank.pending_channels() <= 10);
        let mut counters = DerivationCounters::default();
        bank.counters(&mut counters);
        assert_eq!(counters.evicted_channels, 90);
    }
}
