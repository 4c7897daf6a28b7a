//! Frame queue: parses inbox payloads into frames; a payload with any malformed frame is dropped
//! whole (a batcher never posts one, so it is garbage).

use std::collections::VecDeque;
use std::sync::Arc;

use crate::block::BlockId;
use crate::frame::{parse_frames_payload, Frame};

use super::error::PipelineError;
use super::traits::{DataProvider, L1Epoch, Stage};
use super::DerivationCounters;

/// A frame and the L1 block that carried it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct L1Frame {
    /// The frame.
    pub frame: Frame,
    /// The L1 block of the transaction carrying it.
    pub l1_block: BlockId,
}

/// Gives frames of the current L1 block; `None` when exhausted.
pub trait FrameProvider: Stage {
    /// The next frame.
    fn next_frame(&mut self) -> Result<Option<L1Frame>, PipelineError>;
}

/// Parses payloads from a [`DataProvider`].
#[derive(Debug)]
pub struct FrameQueue<P> {
    prev: P,
    queue: VecDeque<L1Frame>,
    malformed_payloads: u64,
}

impl<P: DataProvider> FrameQueue<P> {
    /// Wraps the data stage.
    pub fn new(prev: P) -> Self {
        Self {
            prev,
            queue: VecDeque::new(),
            malformed_payloads: 0,
        }
    }
}

impl<P: DataProvider> Stage for FrameQueue<P> {
    fn advance_origin(&mut self) -> Result<Arc<L1Epoch>, PipelineError> {
        self.prev.advance_origin()
    }

    fn counters(&self, out: &mut DerivationCounters) {
        out.malformed_payloads += self.malformed_payloads;
        self.prev.counters(out);
    }
}

impl<P: DataProvider> FrameProvider for FrameQueue<P> {
    fn next_frame(&mut self) -> Result<Option<L1Frame>, PipelineError> {
        loop {
            if let Some(frame) = self.queue.pop_front() {
                return Ok(Some(frame));
            }
            let Some(payload) = self.prev.next_data()? else {
                return Ok(None);
            };
            match parse_frames_payload(&payload.data) {
                Ok(frames) => self.queue.extend(frames.into_iter().map(|frame| L1Frame {
                    frame,
                    l1_block: payload.l1_block,
                })),
                Err(_) => self.malformed_payloads += 1,
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::derive::test_utils::VecStage;
    use crate::derive::traits::InboxPayload;
    use crate::frame::encode_frames_payload;
    use alloy_primitives::{Bytes, B128};

    #[test]
    fn parses_good_payloads_and_drops_bad_ones() {
        let frame = |n: u16| Frame {
            channel_id: B128::repeat_byte(1),
            number: n,
            data: Bytes::from(vec![n as u8; 3]),
            is_last: false,
        };
        let good = encode_frames_payload(&[frame(0), frame(1)]);
        let mut bad = encode_frames_payload(&[frame(2)]);
        bad.push(0xff);
        let payload = |data: Vec<u8>| InboxPayload {
            data: data.into(),
            l1_block: BlockId::default(),
        };
        let mut queue = FrameQueue::new(VecStage::new(vec![
            payload(good),
            payload(bad),
            payload(vec![]),
            payload(encode_frames_payload(&[frame(3)])),
        ]));
        let mut numbers = Vec::new();
        while let Some(f) = queue.next_frame().expect("frames") {
            numbers.push(f.frame.number);
        }
        assert_eq!(numbers, vec![0, 1, 3]);
        let mut counters = DerivationCounters::default();
        queue.counters(&mut counters);
        assert_eq!(counters.malformed_payloads, 2);
    }
}
