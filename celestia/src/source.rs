//! Derivation's DA source with Celestia added to another one (L1 blobs, or none).

use std::sync::Arc;

use alloy_primitives::{Bytes, B256};
use parallax_protocol::{block::L1BlockInfo, derive::DaSource, frame::CelestiaPointer};

use crate::{CelestiaClient, CelestiaError};

/// Blobs from `inner`, Celestia blobs from a Celestia node, each verified before derivation
/// sees it (see [`CelestiaClient::get`]). Like `parallax_l1::RpcL1` it runs the async requests
/// on the tokio runtime it was created in, so call it from a blocking thread.
///
/// A blob the node does not have, a node that is down and a blob that fails verification all
/// stop derivation at that L1 block (it retries); none is ever skipped or accepted unverified.
#[derive(Debug)]
pub struct CelestiaSource<D> {
    inner: Arc<D>,
    client: CelestiaClient,
    runtime: tokio::runtime::Handle,
}

impl<D> CelestiaSource<D> {
    /// Celestia through `client`, everything else through `inner`. Must be called inside a
    /// tokio runtime.
    pub fn new(inner: Arc<D>, client: CelestiaClient) -> Result<Self, CelestiaError> {
        let runtime =
            tokio::runtime::Handle::try_current().map_err(|_| CelestiaError::NoRuntime)?;
        Ok(Self {
            inner,
            client,
            runtime,
        })
    }
}

/// A failure of either source.
#[derive(Debug, thiserror::Error)]
pub enum SourceError<E: std::error::Error + 'static> {
    /// The inner (blob) source failed.
    #[error(transparent)]
    Inner(E),
    /// The Celestia node failed or returned a blob that is not the one pointed to.
    #[error(transparent)]
    Celestia(#[from] CelestiaError),
}

impl<D: DaSource> DaSource for CelestiaSource<D> {
    type Error = SourceError<D::Error>;

    fn blob(
        &self,
        block: &L1BlockInfo,
        versioned_hash: B256,
    ) -> Result<Option<Bytes>, Self::Error> {
        self.inner
            .blob(block, versioned_hash)
            .map_err(SourceError::Inner)
    }

    fn celestia(&self, pointer: &CelestiaPointer) -> Result<Option<Bytes>, Self::Error> {
        let data = self.runtime.block_on(self.client.get(pointer))?;
        if data.is_none() {
            tracing::debug!(height = pointer.height, commitment = %pointer.commitment, "celestia blob not available yet");
        }
        Ok(data)
    }
}
