//! Ethereum JSON-RPC 2.0 over HTTP (axum): single and batch requests, limits, and the standard
//! error codes clients parse.

pub mod admin;
mod eth;
mod filters;
mod overrides;
mod status;
pub use status::Status;
mod trace;
mod ws;

use std::sync::Arc;

use axum::{
    body::Bytes,
    extract::{DefaultBodyLimit, State},
    http::{header, HeaderValue, StatusCode},
    response::{IntoResponse, Response},
    routing::post,
    Router,
};
use serde::{de::DeserializeOwned, Deserialize};
use serde_json::{json, Value};

pub use eth::EthApi;

use parallax_state::store::StoredBlock;
use tokio::sync::broadcast;

/// What subscriptions and filters follow: sealed blocks and accepted transactions.
#[derive(Clone, Debug)]
pub struct Events {
    /// Every sealed block, in order.
    pub blocks: broadcast::Sender<Arc<StoredBlock>>,
    /// Hash of every transaction accepted into the pool.
    pub pending: broadcast::Sender<alloy_primitives::B256>,
}

impl Default for Events {
    fn default() -> Self {
        Self {
            blocks: broadcast::channel(256).0,
            pending: broadcast::channel(16_384).0,
        }
    }
}

/// Request and response limits.
#[derive(Clone, Debug)]
pub struct RpcLimits {
    /// Largest request body in bytes.
    pub max_body_bytes: usize,
    /// Most requests in one batch.
    pub max_batch: usize,
    /// Widest `eth_getLogs` block range.
    pub max_log_range: u64,
    /// Most logs one `eth_getLogs` returns.
    pub max_logs: usize,
    /// Gas cap of `eth_call` / `eth_estimateGas`.
    pub call_gas_cap: u64,
}

impl Default for RpcLimits {
    fn default() -> Self {
        Self {
            max_body_bytes: 5 * 1024 * 1024,
            max_batch: 1_000,
            max_log_range: 10_000,
            max_logs: 20_000,
            call_gas_cap: 50_000_000,
        }
    }
}

/// A JSON-RPC error object.
#[derive(Clone, Debug, PartialEq)]
pub struct RpcError {
    /// Error code.
    pub code: i64,
    /// Message.
    pub message: String,
    /// Extra data (revert data for `execution reverted`).
    pub data: Option<Value>,
}

impl RpcError {
    /// -32602: parameters do not fit the method.
    pub fn invalid_params(message: impl std::fmt::Display) -> Self {
        Self::new(-32602, format!("invalid params: {message}"))
    }
    /// -32000: the generic server error geth uses for rejected transactions and lookups.
    pub fn server(message: impl std::fmt::Display) -> Self {
        Self::new(-32000, message.to_string())
    }
    /// -32603: a failure on our side.
    pub fn internal(message: impl std::fmt::Display) -> Self {
        Self::new(-32603, format!("internal error: {message}"))
    }
    fn new(code: i64, message: String) -> Self {
        Self {
            code,
            message,
            data: None,
        }
    }
    fn to_json(&self) -> Value {
        match &self.data {
            Some(data) => json!({"code": self.code, "message": self.message, "data": data}),
            None => json!({"code": self.code, "message": self.message}),
        }
    }
}

/// Parses positional params into `T` (a tuple), treating missing trailing ones as null so
/// optional arguments can be left out, as every client does.
pub fn parse_params<T: DeserializeOwned>(params: Value, arity: usize) -> Result<T, RpcError> {
    let mut list = match params {
        Value::Array(list) => list,
        Value::Null => Vec::new(),
        other => vec![other],
    };
    if list.len() > arity {
        return Err(RpcError::invalid_params(format!(
            "too many arguments, want at most {arity}"
        )));
    }
    list.resize(arity, Value::Null);
    serde_json::from_value(Value::Array(list)).map_err(RpcError::invalid_params)
}

#[derive(Deserialize)]
struct Request {
    jsonrpc: Option<String>,
    #[serde(default)]
    id: Value,
    method: Option<String>,
    #[serde(default)]
    params: Value,
}

fn response(id: Value, result: Result<Value, RpcError>) -> Value {
    match result {
        Ok(result) => json!({"jsonrpc": "2.0", "id": id, "result": result}),
        Err(error) => json!({"jsonrpc": "2.0", "id": id, "error": error.to_json()}),
    }
}

async fn call_one<S: parallax_state::store::ChainStore>(api: &EthApi<S>, request: Value) -> Value {
    match parse_request(request) {
        Ok((id, method, params)) => response(id, api.dispatch(&method, params).await),
        Err(reply) => reply,
    }
}

/// A request's id, method and params, or the error reply to a malformed one.
fn parse_request(request: Value) -> Result<(Value, String, Value), Value> {
    let request: Request = match serde_json::from_value(request) {
        Ok(request) => request,
        Err(error) => {
            return Err(response(
                Value::Null,
                Err(RpcError::new(-32600, format!("invalid request: {error}"))),
            ))
        }
    };
    let (Some("2.0"), Some(method)) = (request.jsonrpc.as_deref(), request.method) else {
        return Err(response(
            request.id,
            Err(RpcError::new(
                -32600,
                "invalid request: jsonrpc must be \"2.0\" and method a string".into(),
            )),
        ));
    };
    Ok((request.id, method, request.params))
}

/// Answers a batch. Its `eth_sendRawTransaction` calls are pooled together (one recovery
/// burst, one pool lock, one journal commit); the other requests run concurrently with them.
/// Replies keep the request order.
async fn process_batch<S: parallax_state::store::ChainStore>(
    api: &EthApi<S>,
    batch: Vec<Value>,
) -> Value {
    let mut replies = vec![Value::Null; batch.len()];
    let mut raws = Vec::new();
    let mut others = Vec::new();
    let mut send_calls = 0;
    for (index, request) in batch.into_iter().enumerate() {
        match parse_request(request) {
            Err(reply) => replies[index] = reply,
            Ok((id, method, params)) if method == "eth_sendRawTransaction" => {
                send_calls += 1;
                match parse_params::<(alloy_primitives::Bytes,)>(params, 1) {
                    Ok((raw,)) => raws.push((index, id, raw)),
                    Err(error) => replies[index] = response(id, Err(error)),
                }
            }
            Ok(call) => others.push((index, call)),
        }
    }
    crate::metrics::Metrics::add(&api.metrics().rpc_calls, send_calls);
    let (ids, raws): (Vec<(usize, Value)>, Vec<alloy_primitives::Bytes>) = raws
        .into_iter()
        .map(|(index, id, raw)| ((index, id), raw))
        .unzip();
    let send = async {
        if raws.is_empty() {
            Vec::new()
        } else {
            api.send_raw_many(raws).await
        }
    };
    let calls = futures_util::future::join_all(others.into_iter().map(
        |(index, (id, method, params))| async move {
            (index, response(id, api.dispatch(&method, params).await))
        },
    ));
    let (sent, called) = futures_util::future::join(send, calls).await;
    for ((index, id), result) in ids.into_iter().zip(sent) {
        replies[index] = response(id, result.map(|hash| json!(hash)));
    }
    for (index, reply) in called {
        replies[index] = reply;
    }
    Value::Array(replies)
}

/// Answers a parsed request body: one request or a batch.
async fn process<S: parallax_state::store::ChainStore>(api: &EthApi<S>, body: Value) -> Value {
    match body {
        Value::Array(batch) if batch.is_empty() => response(
            Value::Null,
            Err(RpcError::new(-32600, "empty batch".into())),
        ),
        Value::Array(batch) if batch.len() > api.limits().max_batch => response(
            Value::Null,
            Err(RpcError::new(
                -32600,
                format!(
                    "batch of {} requests exceeds the limit of {}",
                    batch.len(),
                    api.limits().max_batch
                ),
            )),
        ),
        Value::Array(batch) => process_batch(api, batch).await,
        request => call_one(api, request).await,
    }
}

fn parse_error(error: serde_json::Error) -> Value {
    response(
        Value::Null,
        Err(RpcError::new(-32700, format!("parse error: {error}"))),
    )
}

async fn handle<S: parallax_state::store::ChainStore>(
    State(api): State<Arc<EthApi<S>>>,
    body: Bytes,
) -> Response {
    let reply = match serde_json::from_slice::<Value>(&body) {
        Err(error) => parse_error(error),
        Ok(body) => process(&api, body).await,
    };
    let mut response = (StatusCode::OK, axum::Json(reply)).into_response();
    if let Some(origin) = api.cors_origin() {
        if let Ok(value) = HeaderValue::from_str(origin) {
            response
                .headers_mut()
                .insert(header::ACCESS_CONTROL_ALLOW_ORIGIN, value);
        }
    }
    response
}

/// The router serving JSON-RPC at `/`: HTTP POST, and WebSocket (with `eth_subscribe`) on
/// the same port.
pub fn router<S: parallax_state::store::ChainStore>(api: Arc<EthApi<S>>) -> Router {
    let limit = api.limits().max_body_bytes;
    Router::new()
        .route("/", post(handle::<S>).get(ws::upgrade::<S>))
        .route("/status", axum::routing::get(status::page::<S>))
        .route("/status.json", axum::routing::get(status::json::<S>))
        .layer(DefaultBodyLimit::max(limit))
        .with_state(api)
}
