//! Prometheus metrics of the batcher and proposer, served as text on their own port
//! (`/metrics`), like the sequencer's.
//!
//! [`Metrics::unposted_bytes`] is also the figure the sequencer's backpressure reads: the batch
//! bytes of sealed L2 blocks whose data is not yet confirmed on L1 (see [`crate::backlog`]).

use std::{
    fmt::Write,
    net::SocketAddr,
    sync::atomic::{AtomicU64, Ordering},
};

use tokio::net::TcpListener;

/// Counters and gauges; updated with relaxed atomics (each value is independent).
#[derive(Debug, Default)]
pub struct Metrics {
    /// Channels posted (journaled and broadcast).
    pub channels_posted: AtomicU64,
    /// Frames posted.
    pub frames_posted: AtomicU64,
    /// Inbox payload bytes posted (`0x00 ‖ frame`, before blob packing).
    pub bytes_posted: AtomicU64,
    /// L2 blocks posted.
    pub blocks_posted: AtomicU64,
    /// L2 transactions posted (deposits excluded: derivation rebuilds them).
    pub l2_txs_posted: AtomicU64,
    /// Channel bytes before compression.
    pub uncompressed_bytes: AtomicU64,
    /// Channel bytes after compression (tag included).
    pub compressed_bytes: AtomicU64,
    /// Compression ratio of the last channel (`f64` bits).
    pub last_compression_ratio: AtomicU64,
    /// Batcher L1 transactions sent (new intents).
    pub batcher_l1_txs: AtomicU64,
    /// Batcher L1 transactions confirmed.
    pub batcher_l1_confirmed: AtomicU64,
    /// Execution gas of confirmed batcher transactions.
    pub batcher_l1_gas: AtomicU64,
    /// Blob gas of confirmed batcher transactions.
    pub batcher_l1_blob_gas: AtomicU64,
    /// Fees of confirmed batcher transactions, in gwei.
    pub batcher_l1_fee_gwei: AtomicU64,
    /// Stalled L1 transactions replaced with higher fees (batcher and proposer).
    pub fee_bumps: AtomicU64,
    /// L1 inclusions lost to reorgs and re-broadcast.
    pub l1_reorgs: AtomicU64,
    /// Intents re-sent at a new nonce because another transaction used theirs.
    pub renonces: AtomicU64,
    /// L2 reorgs that replaced blocks the batcher had taken (it posts the replacements).
    pub l2_reorgs: AtomicU64,
    /// The DA backlog: batch bytes of sealed L2 blocks not yet confirmed on L1 (defined in
    /// [`crate::backlog`]), what the sequencer's backpressure compares with its limit.
    pub unposted_bytes: AtomicU64,
    /// DA backlog reports the sequencer accepted.
    pub backlog_reports: AtomicU64,
    /// DA backlog reports that did not reach the sequencer (batching goes on regardless).
    pub backlog_report_failures: AtomicU64,
    /// The backlog the sequencer last accepted.
    pub backlog_reported_bytes: AtomicU64,
    /// 1 while the sequencer, at the last report, refused new transactions over the backlog.
    pub sequencer_refusing_txs: AtomicU64,
    /// Highest L2 block in a posted channel.
    pub posted_block: AtomicU64,
    /// Highest L2 block up to which every block's data is confirmed on L1.
    pub confirmed_block: AtomicU64,
    /// 1 while the batcher posts blobs, 0 for calldata.
    pub posting_blobs: AtomicU64,
    /// 1 while DA is Celestia but channels fall back to Ethereum (Celestia unavailable).
    pub celestia_fallback: AtomicU64,
    /// Switches between Celestia and its Ethereum fallback, either way.
    pub da_switches: AtomicU64,
    /// Channels whose DA backend differs from the previous channel's (`auto` choosing calldata
    /// or blobs, Celestia falling back and back): how often the choice changes, i.e. flapping.
    pub da_backend_switches: AtomicU64,
    /// Proposals sent.
    pub proposals_sent: AtomicU64,
    /// Proposals confirmed on L1.
    pub proposals_confirmed: AtomicU64,
    /// Proposal transactions that reverted.
    pub proposals_reverted: AtomicU64,
    /// L2 block of the latest confirmed proposal.
    pub proposed_block: AtomicU64,
    /// Execution gas of confirmed proposals.
    pub proposer_l1_gas: AtomicU64,
    /// Fees of confirmed proposals (bonds excluded), in gwei.
    pub proposer_l1_fee_gwei: AtomicU64,
    /// Steps that failed and will be retried.
    pub step_errors: AtomicU64,
}

impl Metrics {
    /// Adds `value` to a counter.
    pub fn add(counter: &AtomicU64, value: u64) {
        counter.fetch_add(value, Ordering::Relaxed);
    }

    /// Sets a gauge.
    pub fn set(gauge: &AtomicU64, value: u64) {
        gauge.store(value, Ordering::Relaxed);
    }

    /// The bytes the sequencer's backpressure compares with its limit.
    pub fn unposted_bytes(&self) -> u64 {
        self.unposted_bytes.load(Ordering::Relaxed)
    }

    /// Overall compression ratio since start (uncompressed / compressed).
    pub fn compression_ratio(&self) -> f64 {
        let compressed = self.compressed_bytes.load(Ordering::Relaxed);
        if compressed == 0 {
            return 0.0;
        }
        self.uncompressed_bytes.load(Ordering::Relaxed) as f64 / compressed as f64
    }

    /// The Prometheus text exposition of every metric.
    pub fn render(&self) -> String {
        let read = |value: &AtomicU64| value.load(Ordering::Relaxed).to_string();
        let mut out = String::new();
        let mut metric = |name: &str, kind: &str, help: &str, value: String| {
            let _ = write!(
                out,
                "# HELP {name} {help}\n# TYPE {name} {kind}\n{name} {value}\n"
            );
        };
        let counters: [(&str, &str, &AtomicU64); 26] = [
            (
                "parallax_batcher_channels_posted_total",
                "Channels posted.",
                &self.channels_posted,
            ),
            (
                "parallax_batcher_frames_posted_total",
                "Frames posted.",
                &self.frames_posted,
            ),
            (
                "parallax_batcher_bytes_posted_total",
                "Inbox payload bytes posted.",
                &self.bytes_posted,
            ),
            (
                "parallax_batcher_blocks_posted_total",
                "L2 blocks posted.",
                &self.blocks_posted,
            ),
            (
                "parallax_batcher_l2_txs_posted_total",
                "L2 transactions posted.",
                &self.l2_txs_posted,
            ),
            (
                "parallax_batcher_uncompressed_bytes_total",
                "Channel bytes before compression.",
                &self.uncompressed_bytes,
            ),
            (
                "parallax_batcher_compressed_bytes_total",
                "Channel bytes after compression.",
                &self.compressed_bytes,
            ),
            (
                "parallax_batcher_l1_txs_total",
                "Batcher L1 transactions sent.",
                &self.batcher_l1_txs,
            ),
            (
                "parallax_batcher_l1_txs_confirmed_total",
                "Batcher L1 transactions confirmed.",
                &self.batcher_l1_confirmed,
            ),
            (
                "parallax_batcher_l1_gas_used_total",
                "L1 execution gas of confirmed batcher transactions.",
                &self.batcher_l1_gas,
            ),
            (
                "parallax_batcher_l1_blob_gas_used_total",
                "L1 blob gas of confirmed batcher transactions.",
                &self.batcher_l1_blob_gas,
            ),
            (
                "parallax_batcher_l1_fee_gwei_total",
                "L1 fees of confirmed batcher transactions, in gwei.",
                &self.batcher_l1_fee_gwei,
            ),
            (
                "parallax_l1_fee_bumps_total",
                "Stalled L1 transactions replaced with higher fees.",
                &self.fee_bumps,
            ),
            (
                "parallax_l1_reorged_inclusions_total",
                "L1 inclusions lost to reorgs and re-broadcast.",
                &self.l1_reorgs,
            ),
            (
                "parallax_l1_renonced_total",
                "L1 transactions re-sent at a new nonce.",
                &self.renonces,
            ),
            (
                "parallax_batcher_l2_reorgs_total",
                "L2 reorgs that replaced blocks the batcher had taken; it posts the replacements.",
                &self.l2_reorgs,
            ),
            (
                "parallax_proposer_proposals_sent_total",
                "Output proposals sent.",
                &self.proposals_sent,
            ),
            (
                "parallax_proposer_proposals_confirmed_total",
                "Output proposals confirmed on L1.",
                &self.proposals_confirmed,
            ),
            (
                "parallax_proposer_proposals_reverted_total",
                "Output proposal transactions that reverted.",
                &self.proposals_reverted,
            ),
            (
                "parallax_proposer_l1_gas_used_total",
                "L1 gas of confirmed proposals.",
                &self.proposer_l1_gas,
            ),
            (
                "parallax_proposer_l1_fee_gwei_total",
                "L1 fees of confirmed proposals (bonds excluded), in gwei.",
                &self.proposer_l1_fee_gwei,
            ),
            (
                "parallax_batcher_da_switches_total",
                "Switches between Celestia and its Ethereum fallback.",
                &self.da_switches,
            ),
            (
                "parallax_batcher_da_backend_switches_total",
                "Channels posted with another DA backend than the channel before.",
                &self.da_backend_switches,
            ),
            (
                "parallax_batcher_backlog_reports_total",
                "DA backlog reports the sequencer accepted.",
                &self.backlog_reports,
            ),
            (
                "parallax_batcher_backlog_report_failures_total",
                "DA backlog reports that did not reach the sequencer.",
                &self.backlog_report_failures,
            ),
            (
                "parallax_batcher_step_errors_total",
                "Batcher and proposer steps that failed and were retried.",
                &self.step_errors,
            ),
        ];
        for (name, help, value) in counters {
            metric(name, "counter", help, read(value));
        }
        let gauges: [(&str, &str, &AtomicU64); 8] = [
            (
                "parallax_batcher_celestia_fallback",
                "1 while Celestia is unavailable and channels go to Ethereum DA.",
                &self.celestia_fallback,
            ),
            (
                "parallax_batcher_unposted_bytes",
                "Batch bytes of sealed L2 blocks not yet confirmed on L1 (the DA backlog).",
                &self.unposted_bytes,
            ),
            (
                "parallax_batcher_backlog_reported_bytes",
                "DA backlog the sequencer last accepted.",
                &self.backlog_reported_bytes,
            ),
            (
                "parallax_batcher_sequencer_refusing_txs",
                "1 while the sequencer refuses new transactions over the DA backlog.",
                &self.sequencer_refusing_txs,
            ),
            (
                "parallax_batcher_posted_block",
                "Highest L2 block in a posted channel.",
                &self.posted_block,
            ),
            (
                "parallax_batcher_confirmed_block",
                "Highest L2 block whose data and all before it are confirmed on L1.",
                &self.confirmed_block,
            ),
            (
                "parallax_batcher_posting_blobs",
                "1 while posting blobs, 0 for calldata.",
                &self.posting_blobs,
            ),
            (
                "parallax_proposer_proposed_block",
                "L2 block of the latest confirmed proposal.",
                &self.proposed_block,
            ),
        ];
        for (name, help, value) in gauges {
            metric(name, "gauge", help, read(value));
        }
        metric(
            "parallax_batcher_compression_ratio",
            "gauge",
            "Uncompressed / compressed size of the last channel.",
            format!(
                "{:.4}",
                f64::from_bits(self.last_compression_ratio.load(Ordering::Relaxed))
            ),
        );
        out
    }
}

/// Serves the Prometheus text `render` produces at `http://addr/metrics` until `shutdown` turns
/// true; returns the bound address (port 0 picks a free one) and the server task. Any service
/// of a process (batcher, proposer, challenger) renders into the one endpoint.
pub async fn serve(
    addr: SocketAddr,
    render: impl Fn() -> String + Clone + Send + Sync + 'static,
    mut shutdown: tokio::sync::watch::Receiver<bool>,
) -> std::io::Result<(SocketAddr, tokio::task::JoinHandle<std::io::Result<()>>)> {
    let listener = TcpListener::bind(addr).await?;
    let bound = listener.local_addr()?;
    let app = axum::Router::new().route(
        "/metrics",
        axum::routing::get(move || {
            let render = render.clone();
            async move {
                (
                    [(
                        axum::http::header::CONTENT_TYPE,
                        "text/plain; version=0.0.4",
                    )],
                    render(),
                )
            }
        }),
    );
    let task = tokio::spawn(async move {
        axum::serve(listener, app)
            .with_graceful_shutdown(async move {
                let _ = shutdown.wait_for(|stop| *stop).await;
            })
            .await
    });
    Ok((bound, task))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_the_text_format() {
        let metrics = Metrics::default();
        Metrics::add(&metrics.frames_posted, 3);
        Metrics::set(&metrics.unposted_bytes, 1234);
        Metrics::set(&metrics.last_compression_ratio, 2.5f64.to_bits());
        let text = metrics.render();
        assert!(text.contains(
            "# TYPE parallax_batcher_frames_posted_total counter\nparallax_batcher_frames_posted_total 3\n"
        ));
        assert!(text.contains("parallax_batcher_unposted_bytes 1234\n"));
        assert!(text.contains("parallax_batcher_compression_ratio 2.5000\n"));
        assert_eq!(metrics.unposted_bytes(), 1234);
        assert_eq!(
            text.lines()
                .filter(|line| line.starts_with("# TYPE"))
                .count(),
            35
        );
    }
}
