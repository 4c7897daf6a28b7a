//! Frames on Celestia: the channel's frames as one Celestia blob in the rollup's namespace,
//! and `0x01 ‖ height ‖ commitment` (41 bytes) in calldata to the batch inbox.
//!
//! With a fallback (`auto`: calldata or blobs by L1 prices), Celestia being unreachable for
//! longer than `fallback_after` moves posting to Ethereum DA; derivation reads every kind, so
//! the chain simply carries frames on L1 for a while. While falling back, each channel first
//! probes the Celestia node; once it answers, the next channel goes to Celestia again. Every
//! switch is logged and counted ([`Metrics::da_switches`], gauge
//! [`Metrics::celestia_fallback`]).

use std::{
    sync::{Arc, Mutex},
    time::{Duration, Instant},
};

use alloy::primitives::Address;
use parallax_celestia::CelestiaClient;
use parallax_protocol::frame::{
    encode_frames_payload, Frame, FRAME_OVERHEAD, MAX_CALLDATA_PAYLOAD,
};

use super::{DaBackend, DaClient, DaPlan};
use crate::{fees::L1Fees, metrics::Metrics, txmgr::TxCandidate, Error};

/// Frames per Celestia blob: with 120,000-byte frames a blob holds up to 720 kB, well inside
/// Celestia's ~1.9 MiB blob limit and, decompressed, the rollup's channel limit.
pub const CELESTIA_FRAMES_PER_BLOB: usize = 6;

/// When to fall back to Ethereum DA.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct FallbackPolicy {
    /// How long Celestia must have been failing before channels go to Ethereum.
    pub after: Duration,
}

#[derive(Debug, Default)]
struct Availability {
    /// When the first failure of the current outage happened.
    down_since: Option<Instant>,
    /// Whether channels currently go to the fallback.
    falling_back: bool,
}

/// Posts to Celestia, with an optional Ethereum fallback `F` (module docs).
#[derive(Debug)]
pub struct CelestiaDa<F> {
    client: CelestiaClient,
    inbox: Address,
    plan: DaPlan,
    fallback: Option<(F, FallbackPolicy)>,
    state: Mutex<Availability>,
    metrics: Option<Arc<Metrics>>,
}

impl<F: DaClient> CelestiaDa<F> {
    /// Celestia only: an outage stalls posting (the batcher retries) until it is over, unless
    /// a fallback is added with [`with_fallback`](Self::with_fallback).
    pub fn new(client: CelestiaClient, inbox: Address) -> Self {
        Self {
            client,
            inbox,
            plan: DaPlan {
                backend: DaBackend::Celestia,
                max_frame_payload: MAX_CALLDATA_PAYLOAD,
                frames_per_tx: CELESTIA_FRAMES_PER_BLOB,
            },
            fallback: None,
            state: Mutex::new(Availability::default()),
            metrics: None,
        }
    }

    /// Falls back to `fallback` (Ethereum DA) under `policy`.
    pub fn with_fallback(mut self, fallback: F, policy: FallbackPolicy) -> Self {
        self.fallback = Some((fallback, policy));
        self
    }

    /// Reports switches in `metrics` (the batcher's).
    pub fn with_metrics(mut self, metrics: Arc<Metrics>) -> Self {
        self.metrics = Some(metrics);
        self
    }

    /// Smaller frames and fewer per blob (tests use it to get many channels from few blocks).
    pub fn with_frames(mut self, max_frame_payload: usize, frames_per_blob: usize) -> Self {
        self.plan.max_frame_payload =
            max_frame_payload.clamp(1 + FRAME_OVERHEAD + 1, MAX_CALLDATA_PAYLOAD);
        self.plan.frames_per_tx = frames_per_blob.clamp(1, CELESTIA_FRAMES_PER_BLOB);
        self
    }

    /// The plan of channels posted to Celestia.
    pub fn celestia_plan(&self) -> DaPlan {
        self.plan
    }

    /// Whether channels currently go to the Ethereum fallback.
    pub fn falling_back(&self) -> bool {
        self.state.lock().is_ok_and(|state| state.falling_back)
    }

    fn set_gauge(&self, falling_back: bool) {
        if let Some(metrics) = &self.metrics {
            Metrics::set(&metrics.celestia_fallback, u64::from(falling_back));
            Metrics::add(&metrics.da_switches, 1);
        }
    }

    /// Celestia answered: the outage (if any) is over.
    fn mark_up(&self) {
        let Ok(mut state) = self.state.lock() else {
            return;
        };
        state.down_since = None;
        if state.falling_back {
            state.falling_back = false;
            drop(state);
            tracing::info!("celestia is reachable again: posting channels to Celestia");
            self.set_gauge(false);
        }
    }

    /// Celestia failed: start (or continue) the outage.
    fn mark_down(&self) {
        if let Ok(mut state) = self.state.lock() {
            state.down_since.get_or_insert_with(Instant::now);
        }
    }

    /// Whether the next channel goes to the fallback (switching to it if the outage is long
    /// enough).
    fn use_fallback(&self) -> bool {
        let Some((_, policy)) = &self.fallback else {
            return false;
        };
        let Ok(mut state) = self.state.lock() else {
            return false;
        };
        if state.falling_back {
            return true;
        }
        let Some(since) = state.down_since else {
            return false;
        };
        if since.elapsed() < policy.after {
            return false;
        }
        state.falling_back = true;
        drop(state);
        tracing::warn!(
            after = ?policy.after,
            "celestia unavailable: falling back to Ethereum DA"
        );
        self.set_gauge(true);
        true
    }
}

impl<F: DaClient> DaClient for CelestiaDa<F> {
    fn plan(&self, fees: &L1Fees, channel_bytes: usize) -> DaPlan {
        match &self.fallback {
            Some((fallback, _)) if self.use_fallback() => fallback.plan(fees, channel_bytes),
            _ => self.plan,
        }
    }

    async fn candidate(&self, plan: &DaPlan, frames: &[Frame]) -> Result<TxCandidate, Error> {
        if plan.backend != DaBackend::Celestia {
            let Some((fallback, _)) = &self.fallback else {
                return Err(Error::DaPlan {
                    backend: plan.backend.name(),
                    frames: frames.len(),
                    largest: 0,
                });
            };
            // Try Celestia again: if it answers, the next channel goes there.
            if self.client.probe().await.is_ok() {
                self.mark_up();
            }
            return fallback.candidate(plan, frames).await;
        }
        plan.check(frames)?;
        match self.client.submit(encode_frames_payload(frames)).await {
            Ok(pointer) => {
                self.mark_up();
                tracing::debug!(
                    height = pointer.height,
                    commitment = %pointer.commitment,
                    frames = frames.len(),
                    "frames on celestia"
                );
                Ok(TxCandidate {
                    to: self.inbox,
                    data: pointer.encode().into(),
                    ..TxCandidate::default()
                })
            }
            Err(error) => {
                self.mark_down();
                Err(Error::Celestia(error))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::da::CalldataDa;
    use alloy::primitives::{Bytes, B128};
    use parallax_celestia::{
        server::{self, ServerConfig},
        CelestiaConfig, Namespace,
    };
    use parallax_protocol::frame::{CalldataPayload, CELESTIA_POINTER_LEN};
    use std::sync::atomic::Ordering;

    const INBOX: Address = Address::repeat_byte(0x1b);

    fn frame() -> Frame {
        Frame {
            channel_id: B128::repeat_byte(1),
            number: 0,
            data: Bytes::from_static(b"channel data"),
            is_last: true,
        }
    }

    async fn client(url: String) -> CelestiaClient {
        let mut config = CelestiaConfig::new(url, Namespace::const_v0([5; 10]));
        config.request_timeout = Duration::from_secs(5);
        CelestiaClient::new(config).await.expect("client")
    }

    #[tokio::test]
    async fn falls_back_after_the_outage_and_returns_when_celestia_answers() {
        let dir = tempfile::tempdir().expect("tempdir");
        let mut config = ServerConfig {
            datadir: Some(dir.path().to_path_buf()),
            ..ServerConfig::default()
        };
        let running = server::start(config.clone()).await.expect("server");
        config.addr = Some(running.addr());
        let metrics = Arc::new(Metrics::default());
        let da = CelestiaDa::new(client(running.url()).await, INBOX)
            .with_fallback(
                CalldataDa::new(INBOX),
                FallbackPolicy {
                    after: Duration::ZERO,
                },
            )
            .with_metrics(metrics.clone());
        let fees = L1Fees::default();

        // Up: the frames go to Celestia, the pointer to the inbox.
        let plan = da.plan(&fees, 100);
        assert_eq!(plan.backend, DaBackend::Celestia);
        let tx = da.candidate(&plan, &[frame()]).await.expect("posted");
        assert_eq!((tx.to, tx.data.len()), (INBOX, CELESTIA_POINTER_LEN));
        assert!(matches!(
            CalldataPayload::parse(&tx.data),
            Ok(CalldataPayload::Celestia(pointer)) if pointer.height == 1
        ));

        // Down: the submission fails, and (after zero seconds) the next plan is the fallback's.
        running.stop();
        running.stopped().await;
        assert!(matches!(
            da.candidate(&plan, &[frame()]).await,
            Err(Error::Celestia(_))
        ));
        let fallback = da.plan(&fees, 100);
        assert_eq!(fallback.backend, DaBackend::Calldata);
        assert!(da.falling_back());
        assert_eq!(metrics.celestia_fallback.load(Ordering::Relaxed), 1);
        let tx = da.candidate(&fallback, &[frame()]).await.expect("calldata");
        assert_eq!(tx.data[0], parallax_protocol::frame::FRAMES_PAYLOAD_VERSION);
        // The probe failed: still falling back.
        assert_eq!(da.plan(&fees, 100).backend, DaBackend::Calldata);

        // Back: the probe of the next fallback channel succeeds, the channel after it goes to
        // Celestia.
        let _running = server::start(config).await.expect("restart");
        da.candidate(&fallback, &[frame()]).await.expect("calldata");
        assert!(!da.falling_back());
        assert_eq!(da.plan(&fees, 100).backend, DaBackend::Celestia);
        assert_eq!(metrics.celestia_fallback.load(Ordering::Relaxed), 0);
        assert_eq!(metrics.da_switches.load(Ordering::Relaxed), 2);
    }

    #[tokio::test]
    async fn without_a_fallback_an_outage_stalls_posting() {
        let running = server::start(ServerConfig::default())
            .await
            .expect("server");
        let da = CelestiaDa::<CalldataDa>::new(client(running.url()).await, INBOX);
        running.stop();
        running.stopped().await;
        let plan = da.plan(&L1Fees::default(), 100);
        for _ in 0..3 {
            assert!(da.candidate(&plan, &[frame()]).await.is_err());
            assert_eq!(da.plan(&L1Fees::default(), 100), plan);
        }
        // A plan of another backend is refused rather than posted somewhere unplanned.
        let calldata = CalldataDa::new(INBOX).fixed_plan();
        assert!(da.candidate(&calldata, &[frame()]).await.is_err());
    }
}
