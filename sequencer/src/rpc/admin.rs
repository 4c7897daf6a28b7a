//! The admin JSON-RPC (design §7): stopping and starting sequencing, on its own port and only
//! for callers that prove they hold the operator's secret.
//!
//! Authentication is the Engine API's: every request carries `Authorization: Bearer <JWT>`, a
//! JWT signed with HS256 under a 32-byte secret shared through a file, whose `iat` claim is
//! within 60 seconds of the node's clock (so a captured token soon stops working); the token
//! code is [`parallax_protocol::admin_auth`], shared with the clients. Anything else gets HTTP
//! 401 before the body is read. The public port never serves these methods.

use std::sync::{
    atomic::{AtomicU64, Ordering},
    Arc,
};

use alloy_primitives::{B256, U64};
use axum::{
    body::Bytes,
    extract::State,
    http::{header, HeaderMap, StatusCode},
    response::{IntoResponse, Response},
    routing::post,
    Router,
};
use serde_json::{json, Value};
use tokio::sync::{watch, Mutex};

pub use parallax_protocol::admin_auth::{BadSecret, JwtSecret};

use super::{parse_params, RpcError};

/// Whether the sequencer seals blocks, shared by the block producer and the admin RPC.
#[derive(Debug)]
pub struct SequencerControl {
    active: watch::Sender<bool>,
    /// Held by the producer while it builds and seals one block, so `stop` can wait for a
    /// block in flight and then name the last one sealed.
    sealing: Mutex<()>,
    /// Bytes of sealed blocks not yet posted to DA, as the batcher last reported them.
    da_backlog: AtomicU64,
    /// Backlog above which new transactions are refused (design §5); 0: no limit.
    max_da_backlog: AtomicU64,
}

impl SequencerControl {
    /// A control in the `active` state.
    pub fn new(active: bool) -> Self {
        Self {
            active: watch::channel(active).0,
            sealing: Mutex::new(()),
            da_backlog: AtomicU64::new(0),
            max_da_backlog: AtomicU64::new(0),
        }
    }

    /// Sets the backlog limit (0: none).
    pub fn set_max_da_backlog(&self, bytes: u64) {
        self.max_da_backlog.store(bytes, Ordering::Relaxed);
    }

    /// Records the batcher's unposted bytes.
    pub fn set_da_backlog(&self, bytes: u64) {
        self.da_backlog.store(bytes, Ordering::Relaxed);
    }

    /// `(backlog, limit)` when the DA backlog is over its limit: new transactions wait until
    /// the batcher has caught up, so unposted data (what a sequencer failure could lose, and
    /// what the batcher must pay for in one burst) stays bounded.
    pub fn da_backpressure(&self) -> Option<(u64, u64)> {
        let max = self.max_da_backlog.load(Ordering::Relaxed);
        let backlog = self.da_backlog.load(Ordering::Relaxed);
        (max != 0 && backlog > max).then_some((backlog, max))
    }

    /// Whether blocks are being sealed.
    pub fn is_active(&self) -> bool {
        *self.active.borrow()
    }

    /// Resolves once sequencing is active.
    pub async fn wait_active(&self) {
        let mut active = self.active.subscribe();
        let _ = active.wait_for(|active| *active).await;
    }

    /// The guard the producer holds while sealing a block.
    pub async fn sealing(&self) -> tokio::sync::MutexGuard<'_, ()> {
        self.sealing.lock().await
    }

    /// Stops sealing; returns once no block is being sealed any more.
    pub async fn stop(&self) {
        self.active.send_replace(false);
        drop(self.sealing.lock().await);
    }

    /// Resumes sealing.
    pub fn start(&self) {
        self.active.send_replace(true);
    }
}

/// What the admin methods act on.
pub struct AdminApi {
    control: Arc<SequencerControl>,
    /// The hash of the latest sealed block.
    head: Box<dyn Fn() -> futures_util::future::BoxFuture<'static, B256> + Send + Sync>,
    secret: JwtSecret,
}

impl std::fmt::Debug for AdminApi {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AdminApi")
            .field("active", &self.control.is_active())
            .finish_non_exhaustive()
    }
}

impl AdminApi {
    /// The admin API over `control`, naming heads with `head`, accepting tokens signed with
    /// `secret`.
    pub fn new(
        control: Arc<SequencerControl>,
        head: impl Fn() -> futures_util::future::BoxFuture<'static, B256> + Send + Sync + 'static,
        secret: JwtSecret,
    ) -> Self {
        Self {
            control,
            head: Box::new(head),
            secret,
        }
    }

    async fn dispatch(&self, method: &str, params: Value) -> Result<Value, RpcError> {
        match method {
            "admin_stopSequencer" => {
                if !self.control.is_active() {
                    return Err(RpcError::server("sequencer not running"));
                }
                self.control.stop().await;
                let head = (self.head)().await;
                tracing::warn!(%head, "sequencing stopped by the admin RPC");
                Ok(json!(head))
            }
            "admin_startSequencer" => {
                // op-node's form: the caller may name the head it expects sequencing to resume
                // on, so it does not resume on a chain it did not mean.
                let (expected,): (Option<B256>,) = parse_params(params, 1)?;
                if self.control.is_active() {
                    return Err(RpcError::server("sequencer already running"));
                }
                let head = (self.head)().await;
                if let Some(expected) = expected {
                    if expected != head {
                        return Err(RpcError::server(format!(
                            "block hash does not match: head {head}, requested {expected}"
                        )));
                    }
                }
                self.control.start();
                tracing::warn!(%head, "sequencing started by the admin RPC");
                Ok(Value::Null)
            }
            "admin_sequencerActive" => Ok(json!(self.control.is_active())),
            // The batcher reports its unposted bytes (as op-batcher throttles op-geth with
            // `miner_setMaxDASize`); the reply says whether transactions are being refused.
            "admin_setDaBacklog" => {
                let (bytes,): (U64,) = parse_params(params, 1)?;
                self.control.set_da_backlog(bytes.to());
                Ok(json!(self.control.da_backpressure().is_some()))
            }
            "admin_setMaxDaBacklog" => {
                let (bytes,): (U64,) = parse_params(params, 1)?;
                self.control.set_max_da_backlog(bytes.to());
                Ok(json!(self.control.da_backpressure().is_some()))
            }
            "admin_daBacklog" => Ok(json!({
                "backlog": U64::from(self.control.da_backlog.load(Ordering::Relaxed)),
                "max": U64::from(self.control.max_da_backlog.load(Ordering::Relaxed)),
                "refusingTransactions": self.control.da_backpressure().is_some(),
            })),
            _ => Err(RpcError {
                code: -32601,
                message: format!("the method {method} does not exist/is not available"),
                data: None,
            }),
        }
    }
}

fn now_secs() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |elapsed| elapsed.as_secs())
}

async fn handle(State(api): State<Arc<AdminApi>>, headers: HeaderMap, body: Bytes) -> Response {
    let token = headers
        .get(header::AUTHORIZATION)
        .and_then(|value| value.to_str().ok())
        .and_then(|value| value.strip_prefix("Bearer "));
    if !token.is_some_and(|token| api.secret.verify(token.trim(), now_secs())) {
        return (StatusCode::UNAUTHORIZED, "missing or invalid JWT").into_response();
    }
    let reply = match serde_json::from_slice::<Value>(&body) {
        Err(error) => super::parse_error(error),
        Ok(Value::Object(request)) => {
            let id = request.get("id").cloned().unwrap_or(Value::Null);
            match (request.get("jsonrpc"), request.get("method")) {
                (Some(Value::String(version)), Some(Value::String(method))) if version == "2.0" => {
                    let params = request.get("params").cloned().unwrap_or(Value::Null);
                    super::response(id, api.dispatch(method, params).await)
                }
                _ => super::response(
                    id,
                    Err(RpcError::new(
                        -32600,
                        "invalid request: jsonrpc must be \"2.0\" and method a string".into(),
                    )),
                ),
            }
        }
        Ok(_) => super::response(
            Value::Null,
            Err(RpcError::new(
                -32600,
                "invalid request: the admin port takes single requests".into(),
            )),
        ),
    };
    (StatusCode::OK, axum::Json(reply)).into_response()
}

/// The admin port's router: authenticated JSON-RPC at `/`.
pub fn admin_router(api: Arc<AdminApi>) -> Router {
    Router::new()
        .route("/", post(handle))
        .layer(axum::extract::DefaultBodyLimit::max(64 * 1024))
        .with_state(api)
}
