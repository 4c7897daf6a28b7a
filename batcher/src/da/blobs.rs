//! Frames in EIP-4844 blobs: one `0x00 ‖ frame` payload per blob (packed as
//! [`parallax_protocol::blob`] specifies), up to six blobs per transaction to the batch inbox.

use alloy::primitives::Address;
use alloy_eips::eip4844::{env_settings::EnvKzgSettings, Blob, BlobTransactionSidecar};
use parallax_protocol::{
    blob::{encode_blob, MAX_BLOB_DATA_LEN},
    frame::{encode_frames_payload, Frame, FRAME_OVERHEAD},
};

use super::{DaBackend, DaClient, DaPlan};
use crate::{
    fees::{L1Fees, MAX_BLOBS_PER_TX},
    txmgr::TxCandidate,
    Error,
};

/// Posts frames in blobs of transactions to the batch inbox.
#[derive(Clone, Copy, Debug)]
pub struct BlobDa {
    inbox: Address,
    plan: DaPlan,
}

impl BlobDa {
    /// Posts to `inbox`: a frame per blob, six blobs per transaction.
    pub fn new(inbox: Address) -> Self {
        Self {
            inbox,
            plan: DaPlan {
                backend: DaBackend::Blobs,
                max_frame_payload: MAX_BLOB_DATA_LEN,
                frames_per_tx: MAX_BLOBS_PER_TX,
            },
        }
    }

    /// Fewer blobs per transaction (1..=6): cheaper replacements when blob fees spike, at more
    /// transactions per channel-sized payload.
    pub fn with_blobs_per_tx(mut self, blobs: usize) -> Self {
        self.plan.frames_per_tx = blobs.clamp(1, MAX_BLOBS_PER_TX);
        self
    }

    /// Less frame data per blob than a blob holds (a blob costs the same full or not; tests use
    /// it to get multi-blob transactions and multi-frame channels from little data).
    pub fn with_max_frame_payload(mut self, max_payload: usize) -> Self {
        self.plan.max_frame_payload = max_payload.clamp(1 + FRAME_OVERHEAD + 1, MAX_BLOB_DATA_LEN);
        self
    }

    /// The plan every channel of this backend follows.
    pub fn fixed_plan(&self) -> DaPlan {
        self.plan
    }

    /// The candidate for `frames` under `plan` (shared with `auto`). Computing the KZG
    /// commitments and proofs takes tens of milliseconds per blob, so it runs on a blocking
    /// thread.
    pub(crate) async fn build(
        &self,
        plan: &DaPlan,
        frames: &[Frame],
    ) -> Result<TxCandidate, Error> {
        plan.check(frames)?;
        let mut blobs = Vec::with_capacity(frames.len());
        for frame in frames {
            let packed = encode_blob(&encode_frames_payload(std::slice::from_ref(frame)))?;
            blobs.push(Blob::from_slice(&packed));
        }
        let sidecar = tokio::task::spawn_blocking(move || {
            BlobTransactionSidecar::try_from_blobs_with_settings(
                blobs,
                EnvKzgSettings::Default.get(),
            )
        })
        .await??;
        Ok(TxCandidate {
            to: self.inbox,
            sidecar: Some(sidecar),
            ..TxCandidate::default()
        })
    }
}

impl DaClient for BlobDa {
    fn plan(&self, _fees: &L1Fees, _channel_bytes: usize) -> DaPlan {
        self.plan
    }

    async fn candidate(&self, plan: &DaPlan, frames: &[Frame]) -> Result<TxCandidate, Error> {
        self.build(plan, frames).await
    }
}
