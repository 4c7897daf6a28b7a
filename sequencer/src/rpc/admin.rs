//! The admin JSON-RPC (design §7): stopping and starting sequencing, on its own port and only
//! for callers that prove they hold the operator's secret.
//!
//! Authentication is the Engine API's: every request carries `Authorization: Bearer <JWT>`, a
//! JWT signed with HS256 under a 32-byte secret shared through a file, whose `iat` claim is
//! within 60 seconds of the node's clock (so a captured token soon stops working). Anything
//! else gets HTTP 401 before the body is read. The public port never serves these methods.

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
use hmac::{Hmac, Mac};
use serde_json::{json, Value};
use sha2::Sha256;
use tokio::sync::{watch, Mutex};

use super::{parse_params, RpcError};

/// Largest difference between a token's `iat` and the node's clock (the Engine API's 60 s).
const MAX_CLOCK_DRIFT_SECS: u64 = 60;

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

/// The 32-byte HS256 secret admin tokens are signed with.
#[derive(Clone)]
pub struct JwtSecret([u8; 32]);

impl std::fmt::Debug for JwtSecret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Never logged.
        f.write_str("JwtSecret(..)")
    }
}

/// Why a JWT secret file was refused.
#[derive(Debug, thiserror::Error)]
#[error("the admin JWT secret must be 32 bytes as 64 hex digits (optionally 0x-prefixed)")]
pub struct BadSecret;

impl JwtSecret {
    /// The secret from `text`: 64 hex digits, optionally `0x`-prefixed, surrounding whitespace
    /// ignored (the format of geth's and reth's `jwt.hex`).
    pub fn parse(text: &str) -> Result<Self, BadSecret> {
        let hex = text.trim();
        let hex = hex.strip_prefix("0x").unwrap_or(hex);
        let bytes: B256 = hex.parse().map_err(|_| BadSecret)?;
        if hex.len() != 64 {
            return Err(BadSecret);
        }
        Ok(Self(bytes.0))
    }

    /// A secret of these bytes.
    pub fn from_bytes(bytes: [u8; 32]) -> Self {
        Self(bytes)
    }

    fn mac(&self) -> Hmac<Sha256> {
        // HMAC accepts keys of any length.
        Hmac::<Sha256>::new_from_slice(&self.0).expect("HMAC takes any key length")
    }

    /// A token issued now (`iat` = `now_secs`), as a client of the admin port sends it.
    pub fn token(&self, now_secs: u64) -> String {
        let header = base64url(br#"{"alg":"HS256","typ":"JWT"}"#);
        let claims = base64url(json!({ "iat": now_secs }).to_string().as_bytes());
        let signing_input = format!("{header}.{claims}");
        let mut mac = self.mac();
        mac.update(signing_input.as_bytes());
        let signature = base64url(&mac.finalize().into_bytes());
        format!("{signing_input}.{signature}")
    }

    /// Whether `token` is an HS256 JWT signed with this secret whose `iat` is within
    /// [`MAX_CLOCK_DRIFT_SECS`] of `now_secs`. The signature is checked (in constant time)
    /// before the claims are read.
    pub fn verify(&self, token: &str, now_secs: u64) -> bool {
        let mut parts = token.split('.');
        let (Some(header), Some(claims), Some(signature), None) =
            (parts.next(), parts.next(), parts.next(), parts.next())
        else {
            return false;
        };
        let Some(signature) = base64url_decode(signature) else {
            return false;
        };
        let mut mac = self.mac();
        mac.update(header.as_bytes());
        mac.update(b".");
        mac.update(claims.as_bytes());
        if mac.verify_slice(&signature).is_err() {
            return false;
        }
        let header: Option<Value> =
            base64url_decode(header).and_then(|bytes| serde_json::from_slice(&bytes).ok());
        if header.as_ref().and_then(|header| header["alg"].as_str()) != Some("HS256") {
            return false;
        }
        let claims: Option<Value> =
            base64url_decode(claims).and_then(|bytes| serde_json::from_slice(&bytes).ok());
        let Some(issued) = claims.as_ref().and_then(|claims| claims["iat"].as_u64()) else {
            return false;
        };
        issued.abs_diff(now_secs) <= MAX_CLOCK_DRIFT_SECS
    }
}

const BASE64URL: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

/// Unpadded base64url (RFC 7515 §2).
fn base64url(bytes: &[u8]) -> String {
    let mut out = String::with_capacity(bytes.len().div_ceil(3) * 4);
    for chunk in bytes.chunks(3) {
        let n = chunk
            .iter()
            .enumerate()
            .fold(0u32, |n, (i, byte)| n | u32::from(*byte) << (16 - 8 * i));
        for i in 0..=chunk.len() {
            out.push(char::from(BASE64URL[(n >> (18 - 6 * i) & 63) as usize]));
        }
    }
    out
}

/// Decodes unpadded base64url; `None` for any other input.
fn base64url_decode(text: &str) -> Option<Vec<u8>> {
    if text.len() % 4 == 1 {
        return None;
    }
    let mut out = Vec::with_capacity(text.len() * 3 / 4);
    let mut n = 0u32;
    let mut bits = 0;
    for byte in text.bytes() {
        let value = BASE64URL.iter().position(|c| *c == byte)? as u32;
        n = n << 6 | value;
        bits += 6;
        if bits >= 8 {
            bits -= 8;
            out.push((n >> bits) as u8);
            n &= (1 << bits) - 1;
        }
    }
    // Canonical encodings leave no set bits behind.
    (n == 0).then_some(out)
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base64url_round_trips_and_rejects_garbage() {
        for length in 0..40 {
            let bytes: Vec<u8> = (0..length).map(|i| (i * 73 + 5) as u8).collect();
            let text = base64url(&bytes);
            assert!(!text.contains('='));
            assert_eq!(base64url_decode(&text), Some(bytes));
        }
        assert_eq!(base64url(b"hello"), "aGVsbG8");
        assert_eq!(base64url_decode("a"), None);
        assert_eq!(base64url_decode("a+b/"), None);
        assert_eq!(base64url_decode("aGVsbG9"), None, "set trailing bits");
    }

    #[test]
    fn tokens_verify_only_with_the_secret_and_a_fresh_iat() {
        let secret = JwtSecret::from_bytes([7; 32]);
        let token = secret.token(1_000);
        assert!(secret.verify(&token, 1_000));
        assert!(secret.verify(&token, 1_060));
        assert!(!secret.verify(&token, 1_061), "stale");
        assert!(!secret.verify(&token, 939), "from the future");
        assert!(!JwtSecret::from_bytes([8; 32]).verify(&token, 1_000));
        let mut tampered = token.clone();
        tampered.insert(tampered.len() - 2, 'A');
        assert!(!secret.verify(&tampered, 1_000));
        for bad in ["", "a.b", "a.b.c.d", "...", &token[..token.len() - 1]] {
            assert!(!secret.verify(bad, 1_000), "{bad}");
        }
        // A token signed with the right key but claiming another algorithm.
        let header = base64url(br#"{"alg":"none"}"#);
        let claims = base64url(br#"{"iat":1000}"#);
        let mut mac = secret.mac();
        mac.update(format!("{header}.{claims}").as_bytes());
        let signature = base64url(&mac.finalize().into_bytes());
        assert!(!secret.verify(&format!("{header}.{claims}.{signature}"), 1_000));
    }

    #[test]
    fn secrets_parse_as_geth_writes_them() {
        let hex = "11".repeat(32);
        assert!(JwtSecret::parse(&hex).is_ok());
        assert!(JwtSecret::parse(&format!("0x{hex}\n")).is_ok());
        assert!(JwtSecret::parse(&hex[..62]).is_err());
        assert!(JwtSecret::parse("zz").is_err());
    }
}
