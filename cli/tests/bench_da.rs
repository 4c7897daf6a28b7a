//! `parallax bench da` on a tiny load: the report has one row per (workload, DA, compression),
//! and its figures are consistent with each other and with what the DA backends are (checked
//! against the EIP-4844 and calldata rules, not timings). The benchmark itself checks that what
//! it read back from L1 decodes to the chain's batches; a mismatch fails the run.

use parallax_cli::bench::da::{bench_da, DaArgs, DaKind, DaWorkload, DaWorkloads};
use parallax_protocol::channel::Compression;

/// Blob gas (and bytes) of one blob.
const BLOB: u64 = 131_072;

#[test]
fn bench_da_reports_every_combination_consistently() {
    if parallax_contracts::anvil_for_tests().is_none() {
        return;
    }
    let args = DaArgs {
        txs: 24,
        workload: "all".parse::<DaWorkloads>().unwrap(),
        senders: 6,
        block_time: 250,
        l1_base_fee_gwei: 10.0,
        blob_base_fee_gwei: 2.0,
        seed: 7,
        json: true,
    };
    let report = bench_da(&args).expect("the benchmark runs and verifies its data");
    assert_eq!(report.txs, 24);
    assert_eq!(report.senders, 6);
    let combos: Vec<_> = report
        .rows
        .iter()
        .map(|row| (row.workload, row.da, row.compression))
        .collect();
    let mut expected = Vec::new();
    for workload in [DaWorkload::Transfers, DaWorkload::Erc20] {
        for da in [DaKind::Calldata, DaKind::Blobs] {
            for compression in [Compression::Zstd, Compression::Brotli] {
                expected.push((workload, da, compression));
            }
        }
    }
    assert_eq!(combos, expected);
    for row in &report.rows {
        let tx = row.txs as f64;
        assert_eq!(row.txs, 24, "{row:?}");
        assert!(row.l2_blocks >= 1 && row.channels >= 1 && row.frames >= row.channels);
        assert!(row.l1_txs >= 1 && row.compressed_bytes > 0);
        assert!(
            (row.compression_ratio - row.raw_bytes as f64 / row.compressed_bytes as f64).abs()
                < 1e-9
        );
        assert!((row.compressed_bytes_per_tx * tx - row.compressed_bytes as f64).abs() < 1e-6);
        assert!((row.l1_bytes_per_tx * tx - row.l1_bytes as f64).abs() < 1e-6);
        assert!((row.l1_gas_per_tx * tx - row.l1_gas as f64).abs() < 1e-6);
        assert!((row.blob_gas_per_tx * tx - row.blob_gas as f64).abs() < 1e-6);
        let cost = (row.l1_gas as f64 * 10.0 + row.blob_gas as f64 * 2.0) / tx;
        assert!((row.l1_cost_gwei_per_tx - cost).abs() < 1e-6);
        // Every L1 transaction pays at least the 21,000 base.
        assert!(row.l1_gas >= 21_000 * row.l1_txs);
        match row.da {
            DaKind::Calldata => {
                assert_eq!((row.blobs, row.blob_gas), (0, 0));
                // Calldata: version byte + frame header (23 bytes) + channel bytes per frame,
                // and at least 4 gas per byte on top of the base.
                assert_eq!(row.l1_bytes, row.compressed_bytes + 24 * row.frames);
                assert!(row.l1_gas >= 21_000 * row.l1_txs + 4 * row.l1_bytes);
            }
            DaKind::Blobs => {
                assert!(row.blobs >= 1);
                assert_eq!(row.l1_bytes, BLOB * row.blobs);
                assert_eq!(row.blob_gas, BLOB * row.blobs);
                // No calldata: exactly the base cost of each transaction.
                assert_eq!(row.l1_gas, 21_000 * row.l1_txs);
            }
        }
    }
    // The same batches whatever the backend: equal raw bytes within a workload.
    for workload in report.rows.chunks(4) {
        assert!(workload
            .iter()
            .all(|row| row.raw_bytes == workload[0].raw_bytes));
        assert!(workload
            .iter()
            .all(|row| row.l2_blocks == workload[0].l2_blocks));
    }
    let json = serde_json::to_value(&report).unwrap();
    assert_eq!(json["rows"].as_array().unwrap().len(), 8);
    assert_eq!(json["rows"][0]["workload"], "transfers");
    assert_eq!(json["rows"][0]["da"], "calldata");
    assert_eq!(json["rows"][0]["compression"], "zstd");
    assert!(report.to_text().lines().count() >= 10);
}
