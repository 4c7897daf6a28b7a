//! A local Celestia-compatible JSON-RPC server: the devnet's and the tests' Celestia node.
//!
//! It implements celestia-rpc's `blob` server trait ([`BlobRpcServer`]) over an in-memory store
//! that can be backed by a directory, so a restart keeps every blob. Each `blob.Submit` makes
//! one new "block": heights count from 1. Commitments are real share commitments computed by
//! celestia-types, so blobs submitted here verify exactly as on Celestia. It also answers
//! `state.IsStopped` (the client's liveness probe). What it does not do: consensus, data
//! availability sampling, namespace proofs (`blob.GetProof` and `blob.Included` answer an
//! error), subscriptions, fees.
//!
//! With an auth token set, every HTTP request must carry `Authorization: Bearer <token>`, as a
//! light node demands.

use std::{
    collections::BTreeMap,
    fs::OpenOptions,
    io::{BufRead, Write},
    net::SocketAddr,
    path::{Path, PathBuf},
    pin::Pin,
    sync::{
        atomic::{AtomicBool, Ordering},
        Arc, Mutex,
    },
    task::{Context, Poll},
};

use celestia_rpc::{blob::BlobRpcServer, TxConfig};
use celestia_types::{
    nmt::{Namespace, NamespaceProof},
    Blob, Commitment,
};
use jsonrpsee::{
    core::{async_trait, BoxError, RpcResult},
    server::{
        HttpBody, HttpRequest, HttpResponse, ServerBuilder, ServerConfigBuilder, ServerHandle,
    },
    types::ErrorObjectOwned,
    RpcModule,
};
use serde_json::json;

/// Largest request and response body: a blob near Celestia's ~2 MiB limit, base64 encoded in
/// JSON, with room to spare.
const MAX_BODY: u32 = 16 * 1024 * 1024;

/// The file under the data directory holding every submitted block, one JSON line each.
const BLOCKS_FILE: &str = "celestia-blocks.jsonl";

/// Error code of a missing blob; the message is celestia-node's (`blob: not found`), which
/// clients match on.
const NOT_FOUND_CODE: i32 = 1;

/// Why the server could not start or store a block.
#[derive(Debug, thiserror::Error)]
pub enum ServerError {
    /// The data directory or the listening socket failed.
    #[error("celestia server I/O: {0}")]
    Io(#[from] std::io::Error),
    /// A stored block could not be read back.
    #[error("celestia server: {path} line {line} is corrupt: {error}")]
    Corrupt {
        /// The blocks file.
        path: PathBuf,
        /// 1-based line number.
        line: usize,
        /// What is wrong with it.
        error: String,
    },
}

/// Settings of a local server.
#[derive(Clone, Debug, Default)]
pub struct ServerConfig {
    /// Where to listen (`127.0.0.1:0` picks a free port).
    pub addr: Option<SocketAddr>,
    /// Directory keeping the blocks across restarts; memory only without.
    pub datadir: Option<PathBuf>,
    /// Token every request must present; none accepts every request.
    pub auth_token: Option<String>,
}

#[derive(Debug, Default)]
struct Store {
    /// Blobs by height; every height from 1 to the last has at least one blob.
    blocks: BTreeMap<u64, Vec<Blob>>,
}

impl Store {
    fn head(&self) -> u64 {
        self.blocks.keys().next_back().copied().unwrap_or(0)
    }
}

#[derive(serde::Serialize, serde::Deserialize)]
struct StoredBlock {
    height: u64,
    blobs: Vec<Blob>,
}

/// The blob store and its RPC methods (cheap to clone: shared state).
#[derive(Clone, Debug)]
pub struct LocalCelestia {
    store: Arc<Mutex<Store>>,
    file: Option<PathBuf>,
    corrupt: Arc<AtomicBool>,
}

fn rpc_error(code: i32, message: impl Into<String>) -> ErrorObjectOwned {
    ErrorObjectOwned::owned(code, message.into(), None::<()>)
}

fn internal(message: impl std::fmt::Display) -> ErrorObjectOwned {
    rpc_error(-32603, message.to_string())
}

impl LocalCelestia {
    /// A store in memory, or backed by `datadir` (created if missing, reloaded if it holds
    /// blocks).
    pub fn open(datadir: Option<&Path>) -> Result<Self, ServerError> {
        let mut store = Store::default();
        let file = match datadir {
            Some(dir) => {
                std::fs::create_dir_all(dir)?;
                let path = dir.join(BLOCKS_FILE);
                if path.exists() {
                    load(&path, &mut store)?;
                }
                Some(path)
            }
            None => None,
        };
        Ok(Self {
            store: Arc::new(Mutex::new(store)),
            file,
            corrupt: Arc::new(AtomicBool::new(false)),
        })
    }

    /// The last height (0 before the first submission).
    pub fn head(&self) -> u64 {
        self.store.lock().map(|store| store.head()).unwrap_or(0)
    }

    /// TEST ONLY: while set, `blob.Get` answers with one bit of the data flipped (the stored
    /// commitment unchanged), as a lying node would; verifiers must refuse it.
    pub fn set_corrupt_answers(&self, corrupt: bool) {
        self.corrupt.store(corrupt, Ordering::Relaxed);
    }

    fn submit(&self, blobs: Vec<Blob>) -> RpcResult<u64> {
        if blobs.is_empty() {
            return Err(rpc_error(-32602, "blob: no blobs to submit"));
        }
        for blob in &blobs {
            if blob.namespace.is_reserved() {
                return Err(rpc_error(-32602, "blob: reserved namespace"));
            }
            blob.validate()
                .map_err(|error| rpc_error(-32602, format!("blob: invalid: {error}")))?;
        }
        let mut store = self.store.lock().map_err(|_| internal("store poisoned"))?;
        let height = store.head() + 1;
        if let Some(path) = &self.file {
            // Durable before it is acknowledged: a pointer to it may be on L1 a moment later.
            let line = serde_json::to_string(&StoredBlock {
                height,
                blobs: blobs.clone(),
            })
            .map_err(internal)?;
            let mut file = OpenOptions::new()
                .create(true)
                .append(true)
                .open(path)
                .map_err(internal)?;
            writeln!(file, "{line}").map_err(internal)?;
            file.sync_data().map_err(internal)?;
        }
        tracing::info!(
            height,
            blobs = blobs.len(),
            bytes = blobs.iter().map(|b| b.data.len()).sum::<usize>(),
            "celestia block"
        );
        store.blocks.insert(height, blobs);
        Ok(height)
    }

    fn at_height<T>(&self, height: u64, read: impl FnOnce(&[Blob]) -> T) -> RpcResult<T> {
        let store = self.store.lock().map_err(|_| internal("store poisoned"))?;
        if height == 0 || height > store.head() {
            return Err(rpc_error(
                -32602,
                format!(
                    "header: given height {height} is from the future (head {})",
                    store.head()
                ),
            ));
        }
        Ok(read(
            store.blocks.get(&height).map_or(&[][..], Vec::as_slice),
        ))
    }

    /// The RPC module: `blob.*` and `state.IsStopped`.
    pub fn into_module(self) -> Result<RpcModule<()>, ServerError> {
        let mut module = RpcModule::new(());
        module
            .merge(BlobRpcServer::into_rpc(self))
            .map_err(|error| ServerError::Io(std::io::Error::other(error.to_string())))?;
        module
            .register_method("state.IsStopped", |_, _, _| {
                Ok::<bool, ErrorObjectOwned>(false)
            })
            .map_err(|error| ServerError::Io(std::io::Error::other(error.to_string())))?;
        Ok(module)
    }
}

fn load(path: &Path, store: &mut Store) -> Result<(), ServerError> {
    let file = std::fs::File::open(path)?;
    let lines: Vec<String> = std::io::BufReader::new(file)
        .lines()
        .collect::<Result<_, _>>()?;
    let count = lines.len();
    for (index, line) in lines.into_iter().enumerate() {
        let corrupt = |error: String| ServerError::Corrupt {
            path: path.to_path_buf(),
            line: index + 1,
            error,
        };
        match serde_json::from_str::<StoredBlock>(&line) {
            Ok(block) => {
                if block.height != store.head() + 1 {
                    return Err(corrupt(format!(
                        "height {} after {}",
                        block.height,
                        store.head()
                    )));
                }
                for blob in &block.blobs {
                    blob.validate()
                        .map_err(|error| corrupt(error.to_string()))?;
                }
                store.blocks.insert(block.height, block.blobs);
            }
            // A torn last line (killed mid-write): that submission was never acknowledged.
            Err(error) if index + 1 == count => {
                tracing::warn!(%error, "ignoring a torn last line in the celestia blocks file");
            }
            Err(error) => return Err(corrupt(error.to_string())),
        }
    }
    Ok(())
}

#[async_trait]
impl BlobRpcServer for LocalCelestia {
    async fn blob_get(
        &self,
        height: u64,
        namespace: Namespace,
        commitment: Commitment,
    ) -> RpcResult<Blob> {
        let found = self.at_height(height, |blobs| {
            blobs
                .iter()
                .find(|blob| blob.namespace == namespace && blob.commitment == commitment)
                .cloned()
        })?;
        let mut blob = found.ok_or_else(|| rpc_error(NOT_FOUND_CODE, "blob: not found"))?;
        if self.corrupt.load(Ordering::Relaxed) {
            if let Some(byte) = blob.data.last_mut() {
                *byte ^= 1;
            }
        }
        Ok(blob)
    }

    async fn blob_get_all(
        &self,
        height: u64,
        namespaces: Vec<Namespace>,
    ) -> RpcResult<Option<Vec<Blob>>> {
        let blobs = self.at_height(height, |blobs| {
            blobs
                .iter()
                .filter(|blob| namespaces.contains(&blob.namespace))
                .cloned()
                .collect::<Vec<_>>()
        })?;
        Ok((!blobs.is_empty()).then_some(blobs))
    }

    async fn blob_get_proof(
        &self,
        _height: u64,
        _namespace: Namespace,
        _commitment: Commitment,
    ) -> RpcResult<Vec<NamespaceProof>> {
        Err(rpc_error(
            -32601,
            "blob.GetProof: the local Celestia server keeps no data squares",
        ))
    }

    async fn blob_included(
        &self,
        _height: u64,
        _namespace: Namespace,
        _proof: NamespaceProof,
        _commitment: Commitment,
    ) -> RpcResult<bool> {
        Err(rpc_error(
            -32601,
            "blob.Included: the local Celestia server keeps no data squares",
        ))
    }

    async fn blob_submit(&self, blobs: Vec<Blob>, _opts: TxConfig) -> RpcResult<u64> {
        self.submit(blobs)
    }
}

/// A running local server.
#[derive(Debug)]
pub struct RunningServer {
    addr: SocketAddr,
    handle: ServerHandle,
    state: LocalCelestia,
}

impl RunningServer {
    /// Where it listens.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// `http://addr`, what clients take.
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// The store behind it.
    pub fn state(&self) -> &LocalCelestia {
        &self.state
    }

    /// Stops accepting requests.
    pub fn stop(&self) {
        let _ = self.handle.stop();
    }

    /// Resolves once stopped.
    pub async fn stopped(self) {
        self.handle.stopped().await;
    }
}

/// Starts a server on the current tokio runtime.
pub async fn start(config: ServerConfig) -> Result<RunningServer, ServerError> {
    let state = LocalCelestia::open(config.datadir.as_deref())?;
    let addr = config
        .addr
        .unwrap_or_else(|| SocketAddr::from(([127, 0, 0, 1], 0)));
    let auth = AuthLayer {
        expected: config
            .auth_token
            .filter(|token| !token.is_empty())
            .map(|token| Arc::from(format!("Bearer {token}"))),
    };
    let server = ServerBuilder::default()
        .set_config(
            ServerConfigBuilder::new()
                .max_request_body_size(MAX_BODY)
                .max_response_body_size(MAX_BODY)
                .build(),
        )
        .set_http_middleware(tower::ServiceBuilder::new().layer(auth))
        .build(addr)
        .await?;
    let addr = server.local_addr()?;
    let handle = server.start(state.clone().into_module()?);
    Ok(RunningServer {
        addr,
        handle,
        state,
    })
}

/// Refuses requests without the configured bearer token.
#[derive(Clone, Debug)]
struct AuthLayer {
    expected: Option<Arc<str>>,
}

impl<S> tower::Layer<S> for AuthLayer {
    type Service = Auth<S>;

    fn layer(&self, inner: S) -> Auth<S> {
        Auth {
            inner,
            expected: self.expected.clone(),
        }
    }
}

#[derive(Clone, Debug)]
struct Auth<S> {
    inner: S,
    expected: Option<Arc<str>>,
}

type BoxFuture<T> = Pin<Box<dyn std::future::Future<Output = T> + Send>>;

impl<S, B> tower::Service<HttpRequest<B>> for Auth<S>
where
    S: tower::Service<HttpRequest<B>, Response = HttpResponse, Error = BoxError>,
    S::Future: Send + 'static,
{
    type Response = HttpResponse;
    type Error = BoxError;
    type Future = BoxFuture<Result<HttpResponse, BoxError>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), BoxError>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, request: HttpRequest<B>) -> Self::Future {
        let allowed = self.expected.as_deref().is_none_or(|expected| {
            request
                .headers()
                .get(http::header::AUTHORIZATION)
                .is_some_and(|value| value.as_bytes() == expected.as_bytes())
        });
        if allowed {
            Box::pin(self.inner.call(request))
        } else {
            Box::pin(async {
                let body = json!({"error": "missing or wrong auth token"}).to_string();
                let mut response = HttpResponse::new(HttpBody::from(body));
                *response.status_mut() = http::StatusCode::UNAUTHORIZED;
                Ok(response)
            })
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{CelestiaClient, CelestiaConfig, CelestiaError};
    use alloy_primitives::Bytes;
    use parallax_protocol::frame::CelestiaPointer;

    const NS: Namespace = Namespace::const_v0([0xab; 10]);

    async fn client(server: &RunningServer, token: Option<&str>) -> CelestiaClient {
        let mut config = CelestiaConfig::new(server.url(), NS);
        config.auth_token = token.map(str::to_string);
        CelestiaClient::new(config).await.expect("client")
    }

    #[tokio::test]
    async fn submit_get_verify_and_restart() {
        let dir = tempfile::tempdir().expect("tempdir");
        let config = ServerConfig {
            datadir: Some(dir.path().to_path_buf()),
            auth_token: Some("secret".into()),
            ..ServerConfig::default()
        };
        let server = start(config.clone()).await.expect("start");
        let celestia = client(&server, Some("secret")).await;
        celestia.probe().await.expect("up");

        let first = celestia.submit(vec![0, 1, 2, 3]).await.expect("submit");
        let second = celestia.submit(vec![0; 5000]).await.expect("submit");
        assert_eq!((first.height, second.height), (1, 2));
        // The commitment is celestia-types' share commitment of the blob.
        let reference = Blob::new(NS, vec![0, 1, 2, 3], None).expect("blob");
        assert_eq!(first.commitment.0, *reference.commitment.hash());
        assert_eq!(
            celestia.get(&first).await.expect("get"),
            Some(Bytes::from(vec![0, 1, 2, 3]))
        );
        // Unknown commitment at a known height: not there (yet). Unknown height: an error.
        let unknown = CelestiaPointer {
            height: 1,
            commitment: second.commitment,
        };
        assert_eq!(celestia.get(&unknown).await.expect("answer"), None);
        assert!(celestia
            .get(&CelestiaPointer { height: 9, ..first })
            .await
            .is_err());

        // Another namespace's client does not see the rollup's blobs.
        let mut other = CelestiaConfig::new(server.url(), Namespace::const_v0([1; 10]));
        other.auth_token = Some("secret".into());
        let other = CelestiaClient::new(other).await.expect("client");
        assert_eq!(other.get(&first).await.expect("answer"), None);

        // A lying node is caught by the commitment check.
        server.state().set_corrupt_answers(true);
        assert!(matches!(
            celestia.get(&first).await,
            Err(CelestiaError::CommitmentMismatch { height: 1, .. })
        ));
        server.state().set_corrupt_answers(false);

        // Without the token, or with a wrong one, nothing is answered.
        for token in [None, Some("wrong")] {
            let refused = client(&server, token).await;
            assert!(refused.probe().await.is_err());
            assert!(refused.submit(vec![0]).await.is_err());
        }

        // A restart on the same directory keeps every blob and continues the heights.
        server.stop();
        server.stopped().await;
        let server = start(config).await.expect("restart");
        let celestia = client(&server, Some("secret")).await;
        assert_eq!(
            celestia.get(&second).await.expect("get"),
            Some(Bytes::from(vec![0; 5000]))
        );
        assert_eq!(celestia.submit(vec![7]).await.expect("submit").height, 3);
        assert_eq!(server.state().head(), 3);
    }

    #[tokio::test]
    async fn a_stopped_server_is_an_error_not_a_missing_blob() {
        let server = start(ServerConfig::default()).await.expect("start");
        let mut config = CelestiaConfig::new(server.url(), NS);
        config.request_timeout = std::time::Duration::from_secs(5);
        let celestia = CelestiaClient::new(config).await.expect("client");
        let pointer = celestia.submit(vec![0, 9]).await.expect("submit");
        server.stop();
        server.stopped().await;
        assert!(celestia.probe().await.is_err());
        assert!(celestia.get(&pointer).await.is_err());
        assert!(celestia.submit(vec![0]).await.is_err());
    }
}
