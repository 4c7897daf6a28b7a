//! Frames in calldata: `0x00 ‖ frame` to the batch inbox, at most 120,000 bytes per transaction.

use alloy::primitives::Address;
use parallax_protocol::frame::{
    encode_frames_payload, Frame, FRAME_OVERHEAD, MAX_CALLDATA_PAYLOAD,
};

use super::{DaBackend, DaClient, DaPlan};
use crate::{fees::L1Fees, txmgr::TxCandidate, Error};

/// Posts each frame as the calldata of its own transaction to the batch inbox.
#[derive(Clone, Copy, Debug)]
pub struct CalldataDa {
    inbox: Address,
    plan: DaPlan,
}

impl CalldataDa {
    /// Posts to `inbox`, one frame of up to 120,000 payload bytes per transaction.
    pub fn new(inbox: Address) -> Self {
        Self {
            inbox,
            plan: DaPlan {
                backend: DaBackend::Calldata,
                max_frame_payload: MAX_CALLDATA_PAYLOAD,
                frames_per_tx: 1,
            },
        }
    }

    /// Caps each transaction's payload lower than 120,000 bytes (smaller, more frequent posts;
    /// tests use it to get many channels from few blocks). Clamped to the protocol's range.
    pub fn with_max_payload(mut self, max_payload: usize) -> Self {
        self.plan.max_frame_payload =
            max_payload.clamp(1 + FRAME_OVERHEAD + 1, MAX_CALLDATA_PAYLOAD);
        self
    }

    /// The plan every channel of this backend follows.
    pub fn fixed_plan(&self) -> DaPlan {
        self.plan
    }

    /// The candidate for `frames` under `plan` (shared with `auto`).
    pub(crate) fn build(&self, plan: &DaPlan, frames: &[Frame]) -> Result<TxCandidate, Error> {
        plan.check(frames)?;
        Ok(TxCandidate {
            to: self.inbox,
            data: encode_frames_payload(frames).into(),
            ..TxCandidate::default()
        })
    }
}

impl DaClient for CalldataDa {
    fn plan(&self, _fees: &L1Fees, _channel_bytes: usize) -> DaPlan {
        self.plan
    }

    async fn candidate(&self, plan: &DaPlan, frames: &[Frame]) -> Result<TxCandidate, Error> {
        self.build(plan, frames)
    }
}
