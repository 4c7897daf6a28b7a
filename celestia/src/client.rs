//! The Celestia node client: submit frames as a blob, fetch and verify a pointed-to blob.

use std::{future::Future, sync::Arc, time::Duration};

use alloy_primitives::{Bytes, B256};
use celestia_rpc::{BlobClient, Client, TxConfig};
use celestia_types::{nmt::Namespace, Blob, Commitment};
use jsonrpsee::core::client::{ClientT, Error as CallError};
use parallax_protocol::frame::CelestiaPointer;

/// Where the Celestia node is and how long to wait for it.
#[derive(Clone, Debug)]
pub struct CelestiaConfig {
    /// JSON-RPC endpoint of the node (`http://…` or `ws://…`; a light node listens on 26658).
    pub url: String,
    /// Auth token (`celestia light auth write`/`admin`), sent as `Authorization: Bearer`.
    pub auth_token: Option<String>,
    /// The rollup's namespace.
    pub namespace: Namespace,
    /// Limit on establishing a connection.
    pub connect_timeout: Duration,
    /// Limit on one request. `blob.Submit` waits for inclusion in a Celestia block (about 6 s
    /// on mainnet, more under congestion), so this must be well above the block time.
    pub request_timeout: Duration,
}

impl CelestiaConfig {
    /// Defaults for `url` in `namespace`: no token, 5 s to connect, 60 s per request.
    pub fn new(url: impl Into<String>, namespace: Namespace) -> Self {
        Self {
            url: url.into(),
            auth_token: None,
            namespace,
            connect_timeout: Duration::from_secs(5),
            request_timeout: Duration::from_secs(60),
        }
    }
}

/// Why a Celestia request failed or its answer was refused.
#[derive(Debug, thiserror::Error)]
pub enum CelestiaError {
    /// A bad setting (URL, namespace).
    #[error("celestia config: {0}")]
    Config(String),
    /// The client could not be built.
    #[error("celestia client: {0}")]
    Client(#[from] celestia_rpc::Error),
    /// The request failed: node unreachable, auth refused, or an error answer.
    #[error("celestia RPC: {0}")]
    Call(#[from] CallError),
    /// The request did not finish in time.
    #[error("celestia request timed out after {0:?}")]
    Timeout(Duration),
    /// The data cannot be made into a blob (too large, …).
    #[error("celestia blob: {0}")]
    Blob(#[from] celestia_types::Error),
    /// The node returned a blob from another namespace.
    #[error("celestia blob at height {height} is in namespace {got:?}, expected {expected:?}")]
    WrongNamespace {
        /// Height asked for.
        height: u64,
        /// The rollup's namespace.
        expected: Namespace,
        /// The returned blob's.
        got: Namespace,
    },
    /// The returned blob's data does not have the commitment the pointer names: the node
    /// answered with other (tampered) data.
    #[error("celestia blob at height {height} does not match commitment {commitment}")]
    CommitmentMismatch {
        /// Height asked for.
        height: u64,
        /// The pointer's commitment.
        commitment: B256,
    },
    /// Not inside a tokio runtime (the synchronous source needs one).
    #[error("no tokio runtime to run Celestia requests on")]
    NoRuntime,
}

impl CelestiaError {
    /// Whether the node said the blob does not exist (celestia-node answers `blob: not found`).
    fn is_not_found(&self) -> bool {
        matches!(self, Self::Call(CallError::Call(object)) if object.message().contains("not found"))
    }
}

/// A connection to a Celestia node for one namespace.
#[derive(Clone)]
pub struct CelestiaClient {
    client: Arc<Client>,
    config: CelestiaConfig,
}

impl std::fmt::Debug for CelestiaClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // The auth token stays out of logs.
        f.debug_struct("CelestiaClient")
            .field("url", &self.config.url)
            .field("namespace", &self.config.namespace)
            .finish_non_exhaustive()
    }
}

impl CelestiaClient {
    /// A client for `config`. HTTP endpoints connect lazily (the node may be down now and come
    /// up later); WebSocket endpoints connect here.
    pub async fn new(config: CelestiaConfig) -> Result<Self, CelestiaError> {
        let client = Client::new(
            &config.url,
            config.auth_token.as_deref(),
            Some(config.connect_timeout),
            Some(config.request_timeout),
        )
        .await?;
        Ok(Self {
            client: Arc::new(client),
            config,
        })
    }

    /// The namespace blobs go to and are accepted from.
    pub fn namespace(&self) -> Namespace {
        self.config.namespace
    }

    /// The settings.
    pub fn config(&self) -> &CelestiaConfig {
        &self.config
    }

    async fn timed<T, F>(&self, request: F) -> Result<T, CelestiaError>
    where
        F: Future<Output = Result<T, CallError>>,
    {
        // A little above the HTTP client's own limit, so its error (more precise) wins.
        let limit = self.config.request_timeout + Duration::from_secs(1);
        tokio::time::timeout(limit, request)
            .await
            .map_err(|_| CelestiaError::Timeout(limit))?
            .map_err(CelestiaError::from)
    }

    /// Submits `payload` (a `0x00 ‖ frames` inbox payload) as one blob in the namespace and
    /// returns where it was included.
    pub async fn submit(&self, payload: Vec<u8>) -> Result<CelestiaPointer, CelestiaError> {
        let blob = Blob::new(self.config.namespace, payload, None)?;
        let commitment = B256::from(*blob.commitment.hash());
        let height = self
            .timed(self.client.blob_submit(&[blob], TxConfig::default()))
            .await?;
        tracing::debug!(height, %commitment, "celestia blob submitted");
        Ok(CelestiaPointer { height, commitment })
    }

    /// The data of the blob `pointer` names, after checking it: in the namespace, with the
    /// pointer's commitment, and with data that actually hashes to that commitment. `None`
    /// if the node does not have it (yet).
    pub async fn get(&self, pointer: &CelestiaPointer) -> Result<Option<Bytes>, CelestiaError> {
        let commitment = Commitment::new(pointer.commitment.0);
        let answer = self
            .timed(
                self.client
                    .blob_get(pointer.height, self.config.namespace, commitment),
            )
            .await;
        let blob = match answer {
            Ok(blob) => blob,
            Err(error) if error.is_not_found() => return Ok(None),
            Err(error) => return Err(error),
        };
        verify(&blob, pointer, self.config.namespace)?;
        Ok(Some(Bytes::from(blob.data)))
    }

    /// Whether the node answers at all (`state.IsStopped`, a cheap call every node serves):
    /// the batcher's test for returning to Celestia after falling back to Ethereum.
    pub async fn probe(&self) -> Result<(), CelestiaError> {
        let stopped: bool = self
            .timed(ClientT::request(
                &*self.client,
                "state.IsStopped",
                jsonrpsee::rpc_params![],
            ))
            .await?;
        if stopped {
            return Err(CelestiaError::Config(
                "the Celestia node is stopping".into(),
            ));
        }
        Ok(())
    }
}

/// Checks a blob a node returned for `pointer` (see [`CelestiaClient::get`]).
pub fn verify(
    blob: &Blob,
    pointer: &CelestiaPointer,
    namespace: Namespace,
) -> Result<(), CelestiaError> {
    if blob.namespace != namespace {
        return Err(CelestiaError::WrongNamespace {
            height: pointer.height,
            expected: namespace,
            got: blob.namespace,
        });
    }
    let mismatch = || CelestiaError::CommitmentMismatch {
        height: pointer.height,
        commitment: pointer.commitment,
    };
    // Recompute from the data: the blob's own `commitment` field is the node's word only.
    let recomputed = Commitment::from_blob(
        blob.namespace,
        &blob.data,
        blob.share_version,
        blob.signer.as_ref(),
    )
    .map_err(|_| mismatch())?;
    if recomputed.hash() != &pointer.commitment.0 {
        return Err(mismatch());
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn verification_recomputes_the_commitment() {
        let namespace = Namespace::const_v0([7; 10]);
        let blob = Blob::new(namespace, vec![0, 1, 2, 3], None).expect("blob");
        let pointer = CelestiaPointer {
            height: 3,
            commitment: B256::from(*blob.commitment.hash()),
        };
        verify(&blob, &pointer, namespace).expect("genuine");

        let mut tampered = blob.clone();
        tampered.data[1] ^= 1;
        assert!(matches!(
            verify(&tampered, &pointer, namespace),
            Err(CelestiaError::CommitmentMismatch { height: 3, .. })
        ));
        let other = Namespace::const_v0([8; 10]);
        assert!(matches!(
            verify(&blob, &pointer, other),
            Err(CelestiaError::WrongNamespace { .. })
        ));
        // The same data in another namespace has another commitment.
        let moved = Blob::new(other, blob.data.clone(), None).expect("blob");
        assert!(verify(&moved, &pointer, other).is_err());
    }
}
