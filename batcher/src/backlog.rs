//! DA backpressure, batcher side (design §5): the batcher tells the sequencer how much L2 data
//! awaits L1, and the sequencer refuses new transactions while that is over its
//! `--max-da-backlog` (`admin_setDaBacklog` on its authenticated admin port).
//!
//! # The figure
//! The **DA backlog** is the sum, over every L2 block `n` with `confirmed < n ≤ unsafe head`, of
//! the length of block `n`'s encoded [`Batch`](parallax_protocol::batch::Batch) (`0x00 ‖
//! rlp([parent_hash, origin number, origin hash, timestamp_ms, [tx…]])`, deposits left out):
//! the uncompressed bytes the batcher still has to get onto L1. `confirmed` is the highest block
//! such that it and every block before it are in frames whose L1 transactions have the tx
//! manager's confirmation depth ([`crate::confirmed_through`]); `unsafe head` is the newest block
//! the sequencer sealed into the chain store. So blocks still to be read, blocks in the open
//! channel, and blocks in posted but unconfirmed transactions all count, whether or not the
//! batcher can reach L1. Uncompressed bytes are used because they do not depend on the
//! compression the channel happens to reach, and bound what the batcher must post (compressed,
//! it is less).
//!
//! # Reporting
//! The [`Batcher`](crate::Batcher) publishes the figure on a [`watch`] channel whenever it
//! changes ([`Batcher::backlog`](crate::Batcher::backlog)). A [`BacklogReporter`], a task of its
//! own, sends it through a [`BacklogSink`] on every change and again every `interval` (a
//! restarted sequencer forgets the last value). The reporter never blocks or stops the batcher:
//! a sequencer that is down or refuses the token is logged (once per outage) and counted in
//! [`Metrics::backlog_report_failures`], and the report is retried after `retry_after`.

use std::{future::Future, sync::Arc, time::Duration};

use parallax_protocol::admin_auth::JwtSecret;
use serde_json::{json, Value};
use tokio::sync::watch;

use crate::metrics::Metrics;

/// Why a backlog report did not reach the sequencer.
#[derive(Debug, thiserror::Error)]
pub enum BacklogError {
    /// The admin endpoint could not be reached or did not answer in time.
    #[error("sequencer admin RPC unreachable: {0}")]
    Http(#[from] reqwest::Error),
    /// HTTP 401: the JWT secret is not the sequencer's (or the clocks are more than 60 s apart).
    #[error("the sequencer admin RPC refused the JWT (HTTP 401): check --sequencer-jwt-secret and the clocks")]
    Unauthorized,
    /// Another HTTP status than 200.
    #[error("the sequencer admin RPC answered HTTP {0}")]
    Status(u16),
    /// A JSON-RPC error answer (e.g. -32601: the sequencer does not serve `admin_setDaBacklog`).
    #[error("the sequencer admin RPC answered error {code}: {message}")]
    Rpc {
        /// JSON-RPC error code.
        code: i64,
        /// Its message.
        message: String,
    },
    /// The answer was not JSON.
    #[error("malformed admin RPC answer: {0}")]
    Json(#[from] serde_json::Error),
    /// The answer was JSON-RPC but its result was not a boolean.
    #[error("unexpected admin RPC result: {0}")]
    UnexpectedResult(Value),
}

/// Where the batcher's DA backlog goes: the sequencer's admin RPC in production, a recorder in
/// tests.
pub trait BacklogSink: Send + Sync + 'static {
    /// Reports `bytes` of backlog; `Ok(true)` when the sequencer is now refusing new
    /// transactions because of it.
    fn report(&self, bytes: u64) -> impl Future<Output = Result<bool, BacklogError>> + Send;
}

/// The sequencer's admin JSON-RPC (`admin_setDaBacklog`), authenticated with a fresh HS256 JWT
/// per request as the Engine API is.
#[derive(Clone, Debug)]
pub struct AdminRpcBacklog {
    url: reqwest::Url,
    secret: JwtSecret,
    http: reqwest::Client,
}

impl AdminRpcBacklog {
    /// A client of the admin endpoint at `url`, signing tokens with `secret`; each request gives
    /// up after `timeout`.
    pub fn new(
        url: reqwest::Url,
        secret: JwtSecret,
        timeout: Duration,
    ) -> Result<Self, BacklogError> {
        let http = reqwest::Client::builder()
            .timeout(timeout)
            .connect_timeout(timeout)
            .build()?;
        Ok(Self { url, secret, http })
    }

    /// The endpoint.
    pub fn url(&self) -> &reqwest::Url {
        &self.url
    }
}

fn now_secs() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |elapsed| elapsed.as_secs())
}

impl BacklogSink for AdminRpcBacklog {
    async fn report(&self, bytes: u64) -> Result<bool, BacklogError> {
        let request = json!({
            "jsonrpc": "2.0",
            "id": 1,
            "method": "admin_setDaBacklog",
            "params": [format!("{bytes:#x}")],
        });
        let response = self
            .http
            .post(self.url.clone())
            .bearer_auth(self.secret.token(now_secs()))
            .json(&request)
            .send()
            .await?;
        match response.status().as_u16() {
            200 => {}
            401 => return Err(BacklogError::Unauthorized),
            status => return Err(BacklogError::Status(status)),
        }
        let reply: Value = serde_json::from_slice(&response.bytes().await?)?;
        if let Some(error) = reply.get("error") {
            return Err(BacklogError::Rpc {
                code: error["code"].as_i64().unwrap_or_default(),
                message: error["message"].as_str().unwrap_or_default().to_owned(),
            });
        }
        match reply.get("result") {
            Some(Value::Bool(refusing)) => Ok(*refusing),
            other => Err(BacklogError::UnexpectedResult(
                other.cloned().unwrap_or(Value::Null),
            )),
        }
    }
}

/// Sends the batcher's backlog to a [`BacklogSink`] on every change and every `interval`
/// (module docs).
#[derive(Debug)]
pub struct BacklogReporter<R> {
    sink: R,
    backlog: watch::Receiver<u64>,
    interval: Duration,
    retry_after: Duration,
    metrics: Arc<Metrics>,
}

impl<R: BacklogSink> BacklogReporter<R> {
    /// Reports what `backlog` (from [`Batcher::backlog`](crate::Batcher::backlog)) says to
    /// `sink`, at least every `interval`; after a failure the next attempt waits `interval` or
    /// 1 s, whichever is shorter, however often the backlog changes.
    pub fn new(
        sink: R,
        backlog: watch::Receiver<u64>,
        interval: Duration,
        metrics: Arc<Metrics>,
    ) -> Self {
        Self {
            sink,
            backlog,
            interval,
            retry_after: interval.min(Duration::from_secs(1)),
            metrics,
        }
    }

    /// Reports until `shutdown` turns true or the batcher is dropped. Never fails: reporting is
    /// advisory and must not take batching down with it.
    pub async fn run(mut self, mut shutdown: watch::Receiver<bool>) {
        let mut failing = false;
        loop {
            let bytes = *self.backlog.borrow_and_update();
            let wait = match self.sink.report(bytes).await {
                Ok(refusing) => {
                    Metrics::add(&self.metrics.backlog_reports, 1);
                    Metrics::set(&self.metrics.backlog_reported_bytes, bytes);
                    Metrics::set(&self.metrics.sequencer_refusing_txs, u64::from(refusing));
                    if failing {
                        tracing::info!(bytes, refusing, "DA backlog reaches the sequencer again");
                        failing = false;
                    } else {
                        tracing::debug!(bytes, refusing, "DA backlog reported");
                    }
                    None
                }
                Err(error) => {
                    Metrics::add(&self.metrics.backlog_report_failures, 1);
                    if failing {
                        tracing::debug!(%error, bytes, "DA backlog report failed again");
                    } else {
                        tracing::warn!(
                            %error,
                            bytes,
                            "cannot report the DA backlog to the sequencer; batching goes on"
                        );
                        failing = true;
                    }
                    Some(self.retry_after)
                }
            };
            if let Some(wait) = wait {
                tokio::select! {
                    () = tokio::time::sleep(wait) => {}
                    _ = shutdown.wait_for(|stop| *stop) => return,
                }
                continue;
            }
            tokio::select! {
                () = tokio::time::sleep(self.interval) => {}
                changed = self.backlog.changed() => {
                    if changed.is_err() {
                        // The batcher is gone.
                        return;
                    }
                }
                _ = shutdown.wait_for(|stop| *stop) => return,
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use std::sync::{
        atomic::{AtomicBool, Ordering},
        Mutex,
    };

    use super::*;

    /// Records reports; fails while `down` is set.
    #[derive(Clone, Default)]
    struct Recorder {
        seen: Arc<Mutex<Vec<u64>>>,
        down: Arc<AtomicBool>,
    }

    impl BacklogSink for Recorder {
        async fn report(&self, bytes: u64) -> Result<bool, BacklogError> {
            if self.down.load(Ordering::SeqCst) {
                return Err(BacklogError::Status(503));
            }
            self.seen.lock().unwrap().push(bytes);
            Ok(bytes > 1_000)
        }
    }

    async fn until(what: &str, mut condition: impl FnMut() -> bool) {
        for _ in 0..2_000 {
            if condition() {
                return;
            }
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
        panic!("timed out waiting for {what}");
    }

    #[tokio::test]
    async fn reports_every_change_and_survives_an_unreachable_sequencer() {
        let recorder = Recorder::default();
        let metrics = Arc::new(Metrics::default());
        let (backlog, receiver) = watch::channel(10);
        let (stop, shutdown) = watch::channel(false);
        // A long interval: every report below is caused by a change or a retry.
        let reporter = BacklogReporter::new(
            recorder.clone(),
            receiver,
            Duration::from_secs(3_600),
            metrics.clone(),
        );
        let task = tokio::spawn(reporter.run(shutdown));
        until("the first report", || {
            recorder.seen.lock().unwrap().len() == 1
        })
        .await;
        backlog.send_replace(2_000);
        until("the change", || recorder.seen.lock().unwrap().len() == 2).await;
        assert_eq!(
            metrics.sequencer_refusing_txs.load(Ordering::Relaxed),
            1,
            "the sequencer's answer is exposed"
        );

        // The sequencer goes away: reports fail and are counted, the reporter keeps going.
        recorder.down.store(true, Ordering::SeqCst);
        backlog.send_replace(3_000);
        until("a failure", || {
            metrics.backlog_report_failures.load(Ordering::Relaxed) >= 1
        })
        .await;
        assert!(!task.is_finished());
        // Back: the latest value arrives (within the 1 s retry), not the ones in between.
        backlog.send_replace(500);
        recorder.down.store(false, Ordering::SeqCst);
        until("the retry", || recorder.seen.lock().unwrap().len() == 3).await;
        assert_eq!(*recorder.seen.lock().unwrap(), vec![10, 2_000, 500]);
        assert_eq!(metrics.backlog_reported_bytes.load(Ordering::Relaxed), 500);
        assert_eq!(metrics.sequencer_refusing_txs.load(Ordering::Relaxed), 0);
        assert_eq!(metrics.backlog_reports.load(Ordering::Relaxed), 3);

        stop.send_replace(true);
        tokio::time::timeout(Duration::from_secs(10), task)
            .await
            .expect("stops on shutdown")
            .expect("no panic");
    }

    #[tokio::test]
    async fn re_reports_unchanged_values_every_interval() {
        let recorder = Recorder::default();
        let metrics = Arc::new(Metrics::default());
        let (_backlog, receiver) = watch::channel(42);
        let (stop, shutdown) = watch::channel(false);
        let reporter = BacklogReporter::new(
            recorder.clone(),
            receiver,
            Duration::from_millis(20),
            metrics,
        );
        let task = tokio::spawn(reporter.run(shutdown));
        until("three reports", || recorder.seen.lock().unwrap().len() >= 3).await;
        assert!(recorder
            .seen
            .lock()
            .unwrap()
            .iter()
            .all(|bytes| *bytes == 42));
        stop.send_replace(true);
        task.await.expect("no panic");
    }

    #[tokio::test]
    async fn the_admin_client_reports_connection_failures_as_errors() {
        // A port nothing listens on (bound, then closed).
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap();
        drop(listener);
        let client = AdminRpcBacklog::new(
            format!("http://{addr}").parse().unwrap(),
            JwtSecret::from_bytes([1; 32]),
            Duration::from_secs(5),
        )
        .unwrap();
        assert!(matches!(client.report(1).await, Err(BacklogError::Http(_))));
    }
}
