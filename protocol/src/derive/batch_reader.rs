//! Batch decoding: decompresses complete channels into batches. A channel that fails to decode
//! (bad compression, over the size limit, any malformed batch) is dropped whole.

use std::collections::VecDeque;
use std::sync::Arc;

use crate::batch::Batch;
use crate::block::BlockId;
use crate::channel::decode_channel;

use super::channel_bank::ChannelProvider;
use super::error::PipelineError;
use super::traits::{L1Epoch, Stage};
use super::DerivationCounters;

/// A batch and the L1 block in which its channel completed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct IncludedBatch {
    /// The batch.
    pub batch: Batch,
    /// L1 inclusion block (of the channel's completing frame).
    pub inclusion: BlockId,
}

/// Gives batches; `None` when the current L1 block is exhausted.
pub trait BatchProvider: Stage {
    /// The next batch, in channel order.
    fn next_batch(&mut self) -> Result<Option<IncludedBatch>, PipelineError>;
}

/// Decodes channels from a [`ChannelProvider`].
#[derive(Debug)]
pub struct BatchReader<P> {
    prev: P,
    max_decompressed: usize,
    queue: VecDeque<IncludedBatch>,
    invalid_channels: u64,
}

impl<P: ChannelProvider> BatchReader<P> {
    /// Reads channels of at most `max_decompressed` bytes once decompressed.
    pub fn new(prev: P, max_decompressed: usize) -> Self {
        Self {
            prev,
            max_decompressed,
            queue: VecDeque::new(),
            invalid_channels: 0,
        }
    }
}

impl<P: ChannelProvider> Stage for BatchReader<P> {
    fn advance_origin(&mut self) -> Result<Arc<L1Epoch>, PipelineError> {
        self.prev.advance_origin()
    }

    fn counters(&self, out: &mut DerivationCounters) {
        out.invalid_channels += self.invalid_channels;
        self.prev.counters(out);
    }
}

impl<P: ChannelProvider> BatchProvider for BatchReader<P> {
    fn next_batch(&mut self) -> Result<Option<IncludedBatch>, PipelineError> {
        loop {
            if let Some(batch) = self.queue.pop_front() {
                return Ok(Some(batch));
            }
            let Some(channel) = self.prev.next_channel()? else {
                return Ok(None);
            };
            match decode_channel(&channel.data, self.max_decompressed) {
                Ok(batches) => self
                    .queue
                    .extend(batches.into_iter().map(|batch| IncludedBatch {
                        batch,
                        inclusion: channel.inclusion,
                    })),
                Err(_) => self.invalid_channels += 1,
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::channel::{encode_channel, ChannelId, Compression};
    use crate::derive::channel_bank::ReadyChannel;
    use crate::derive::test_utils::VecStage;

    #[test]
    fn decodes_good_channels_and_drops_bad_ones() {
        let batch = |t: u64| Batch {
            timestamp_ms: t,
            ..Default::default()
        };
        let channel = |data: Vec<u8>| ReadyChannel {
            id: ChannelId::ZERO,
            data: data.into(),
            inclusion: BlockId::default(),
        };
        let mut reader = BatchReader::new(
            VecStage::new(vec![
                channel(encode_channel(&[batch(1), batch(2)], Compression::Zstd, 3)),
                channel(vec![1, 2, 3]),
                channel(encode_channel(
                    &[Batch {
                        transactions: vec![vec![0u8; 5000].into()],
                        ..Default::default()
                    }],
                    Compression::Brotli,
                    3,
                )),
                channel(encode_channel(&[batch(3)], Compression::Brotli, 3)),
            ]),
            1000,
        );
        let mut times = Vec::new();
        while let Some(b) = reader.next_batch().expect("batches") {
            times.push(b.batch.timestamp_ms);
        }
        assert_eq!(times, vec![1, 2, 3]);
        let mut counters = DerivationCounters::default();
        reader.counters(&mut counters);
        assert_eq!(counters.invalid_channels, 2);
    }
}
