//! Prometheus metrics of the sequencer, served as text on their own port (`/metrics`), so
//! operators can scrape them without exposing the RPC.

use std::{
    fmt::Write,
    sync::atomic::{AtomicU64, Ordering},
};

/// Counters and gauges; updated with relaxed atomics (each value is independent).
#[derive(Debug, Default)]
pub struct Metrics {
    /// Blocks sealed since start.
    pub blocks_sealed: AtomicU64,
    /// Number of the latest block.
    pub head_number: AtomicU64,
    /// Transactions included since start.
    pub txs_included: AtomicU64,
    /// Gas used by included transactions since start.
    pub gas_used: AtomicU64,
    /// Time spent building and committing blocks (microseconds).
    pub block_build_micros: AtomicU64,
    /// Block-STM transaction executions (incarnations) since start.
    pub blockstm_executions: AtomicU64,
    /// Block-STM aborts (re-executions) since start.
    pub blockstm_aborts: AtomicU64,
    /// Blocks Block-STM ran sequentially (fallback).
    pub blockstm_sequential_blocks: AtomicU64,
    /// Transactions in the pool.
    pub mempool_size: AtomicU64,
    /// Transactions accepted over RPC.
    pub txs_accepted: AtomicU64,
    /// Transactions refused over RPC.
    pub txs_rejected: AtomicU64,
    /// Candidates dropped while building blocks.
    pub txs_dropped: AtomicU64,
    /// JSON-RPC calls answered.
    pub rpc_calls: AtomicU64,
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

    /// The Prometheus text exposition of every metric.
    pub fn render(&self) -> String {
        let read = |value: &AtomicU64| value.load(Ordering::Relaxed);
        let mut out = String::new();
        let mut metric = |name: &str, kind: &str, help: &str, value: String| {
            let _ = write!(
                out,
                "# HELP {name} {help}\n# TYPE {name} {kind}\n{name} {value}\n"
            );
        };
        metric(
            "parallax_blocks_sealed_total",
            "counter",
            "Blocks sealed since start.",
            read(&self.blocks_sealed).to_string(),
        );
        metric(
            "parallax_head_number",
            "gauge",
            "Number of the latest (unsafe) block.",
            read(&self.head_number).to_string(),
        );
        metric(
            "parallax_txs_included_total",
            "counter",
            "Transactions included in blocks.",
            read(&self.txs_included).to_string(),
        );
        metric(
            "parallax_gas_used_total",
            "counter",
            "Gas used by included transactions.",
            read(&self.gas_used).to_string(),
        );
        metric(
            "parallax_block_build_seconds_total",
            "counter",
            "Time spent building, executing and committing blocks.",
            format!("{:.6}", read(&self.block_build_micros) as f64 / 1e6),
        );
        metric(
            "parallax_blockstm_executions_total",
            "counter",
            "Block-STM transaction executions (incarnations).",
            read(&self.blockstm_executions).to_string(),
        );
        metric(
            "parallax_blockstm_aborts_total",
            "counter",
            "Block-STM aborted incarnations (re-executions).",
            read(&self.blockstm_aborts).to_string(),
        );
        metric(
            "parallax_blockstm_sequential_blocks_total",
            "counter",
            "Blocks Block-STM executed sequentially (fallback).",
            read(&self.blockstm_sequential_blocks).to_string(),
        );
        metric(
            "parallax_mempool_size",
            "gauge",
            "Transactions in the pool.",
            read(&self.mempool_size).to_string(),
        );
        metric(
            "parallax_txs_accepted_total",
            "counter",
            "Transactions accepted over RPC.",
            read(&self.txs_accepted).to_string(),
        );
        metric(
            "parallax_txs_rejected_total",
            "counter",
            "Transactions refused over RPC.",
            read(&self.txs_rejected).to_string(),
        );
        metric(
            "parallax_txs_dropped_total",
            "counter",
            "Candidates dropped while building blocks.",
            read(&self.txs_dropped).to_string(),
        );
        metric(
            "parallax_rpc_calls_total",
            "counter",
            "JSON-RPC calls answered.",
            read(&self.rpc_calls).to_string(),
        );
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_the_text_format() {
        let metrics = Metrics::default();
        Metrics::add(&metrics.txs_included, 7);
        Metrics::set(&metrics.head_number, 42);
        let text = metrics.render();
        assert!(text.contains(
            "# TYPE parallax_txs_included_total counter\nparallax_txs_included_total 7\n"
        ));
        assert!(text.contains("parallax_head_number 42\n"));
        assert_eq!(
            text.lines()
                .filter(|line| line.starts_with("# TYPE"))
                .count(),
            13
        );
    }
}
