//! Data-availability backends behind one trait (design §5): where frames go and which L1
//! transaction carries them (or points to them).
//!
//! The batcher asks a [`DaClient`] for a [`DaPlan`] before it opens a channel (the plan fixes how
//! large frames may be and how many one transaction carries, so the channel is cut to fit one
//! transaction), then for the [`TxCandidate`] carrying each group of frames. Whatever must
//! happen off L1 happens in [`DaClient::candidate`]: a Celestia client submits the frames as a
//! Celestia blob there and returns a calldata candidate holding the pointer
//! `0x01 ‖ height ‖ commitment` ([`parallax_protocol::frame::CelestiaPointer`]).

pub mod auto;
pub mod blobs;
pub mod calldata;
pub mod celestia;

use std::future::Future;

use parallax_protocol::frame::{Frame, FRAME_OVERHEAD};

use crate::{fees::L1Fees, txmgr::TxCandidate, Error};

pub use auto::{AutoDa, AutoPolicy, Hysteresis};
pub use blobs::BlobDa;
pub use calldata::CalldataDa;
pub use celestia::{CelestiaDa, FallbackPolicy, CELESTIA_FRAMES_PER_BLOB};

/// Where frames are posted.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum DaBackend {
    /// Calldata of a transaction to the batch inbox (`0x00 ‖ frames`).
    Calldata,
    /// EIP-4844 blobs of a transaction to the batch inbox, one frame payload per blob.
    Blobs,
    /// A Celestia blob, with a pointer to it in calldata to the batch inbox.
    Celestia,
}

impl DaBackend {
    /// The name recorded in [`parallax_state::store::PostedFrame::da`] and metrics.
    pub fn name(self) -> &'static str {
        match self {
            Self::Calldata => "calldata",
            Self::Blobs => "blobs",
            Self::Celestia => "celestia",
        }
    }
}

/// How the next channel is posted: the backend and the size limits it imposes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct DaPlan {
    /// The backend.
    pub backend: DaBackend,
    /// Largest inbox payload (`0x00 ‖ frame`) per frame.
    pub max_frame_payload: usize,
    /// Frames one L1 transaction carries.
    pub frames_per_tx: usize,
}

impl DaPlan {
    /// Compressed channel size (tag included) that fills exactly one transaction: the batcher's
    /// channel target, so a channel is one transaction and is journaled as a whole.
    pub fn channel_target(&self) -> usize {
        self.frames_per_tx
            * self
                .max_frame_payload
                .saturating_sub(1 + FRAME_OVERHEAD)
                .max(1)
    }

    /// Checks that `frames` fit one transaction of this plan.
    pub fn check(&self, frames: &[Frame]) -> Result<(), Error> {
        let largest = frames
            .iter()
            .map(|frame| 1 + frame.encoded_len())
            .max()
            .unwrap_or(0);
        if frames.is_empty()
            || frames.len() > self.frames_per_tx
            || largest > self.max_frame_payload
        {
            return Err(Error::DaPlan {
                backend: self.backend.name(),
                frames: frames.len(),
                largest,
            });
        }
        Ok(())
    }
}

/// A DA backend the batcher posts through.
pub trait DaClient: Send + Sync + 'static {
    /// The plan for the next channel. `fees` are the current L1 prices and `channel_bytes` the
    /// expected compressed size of the channel (what `auto` compares costs for); fixed
    /// backends ignore both.
    fn plan(&self, fees: &L1Fees, channel_bytes: usize) -> DaPlan;

    /// The L1 transaction carrying `frames` (at most `plan.frames_per_tx`, each within
    /// `plan.max_frame_payload`), after anything that must happen off L1.
    fn candidate(
        &self,
        plan: &DaPlan,
        frames: &[Frame],
    ) -> impl Future<Output = Result<TxCandidate, Error>> + Send;
}
