//! Measures what posting costs (design §9: compressed bytes per transaction, L1 gas per
//! transaction for calldata vs blobs) on a real L1 and L2: 2,000 plain ETH transfers from ten
//! senders, posted once as calldata and once (a second chain of the same shape) as blobs.
//! Ignored by default (about a minute); run with
//! `cargo test -p parallax-batcher --test measure -- --ignored --nocapture`.

mod common;

use std::{sync::Arc, time::Duration};

use common::{read_inbox, txmgr_config, L1, L2};
use parallax_batcher::{
    da::{BlobDa, CalldataDa, DaClient},
    Batcher, BatcherConfig, Metrics,
};

async fn measure<D: DaClient>(name: &str, make_da: impl FnOnce(&L1) -> D) {
    let Some(l1) = L1::start().await else { return };
    let mut l2 = L2::start(&l1.rollup).await;
    l2.transfer(10, 200, 0).await;
    l2.stop().await;
    let head = l2.head().await;
    let metrics = Arc::new(Metrics::default());
    let txmgr = l1
        .txmgr(l2.store.clone(), l1.batcher_key(), txmgr_config("batcher"))
        .await;
    let mut batcher = Batcher::new(
        l2.store.clone(),
        make_da(&l1),
        txmgr,
        BatcherConfig {
            max_channel_duration: Duration::ZERO,
            ..BatcherConfig::new(l1.rollup())
        },
        metrics.clone(),
    )
    .await
    .expect("batcher starts");
    for _ in 0..400 {
        batcher.step().await.expect("step");
        if batcher.confirmed_block() >= head {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert_eq!(batcher.confirmed_block(), head);
    let posts = read_inbox(&l1, l1.deployment.batch_inbox, l1.config.batcher).await;
    let load =
        |value: &std::sync::atomic::AtomicU64| value.load(std::sync::atomic::Ordering::Relaxed);
    let l2_txs = load(&metrics.l2_txs_posted);
    let compressed = load(&metrics.compressed_bytes);
    let gas: u64 = posts.iter().map(|post| post.gas_used).sum();
    let blob_gas = load(&metrics.batcher_l1_blob_gas);
    let frames: usize = posts.iter().map(|post| post.frames.len()).sum();
    eprintln!(
        "{name}: {head} L2 blocks, {l2_txs} transfers; {} uncompressed -> {compressed} compressed \
         bytes (ratio {:.2}, {:.1} bytes per tx); {frames} frames in {} L1 txs; L1 gas {gas} \
         ({:.0} per frame, {:.1} per L2 tx), blob gas {blob_gas} ({:.1} per L2 tx)",
        load(&metrics.uncompressed_bytes),
        metrics.compression_ratio(),
        compressed as f64 / l2_txs as f64,
        posts.len(),
        gas as f64 / frames.max(1) as f64,
        gas as f64 / l2_txs as f64,
        blob_gas as f64 / l2_txs as f64,
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "measurement (about a minute): run with --ignored --nocapture"]
async fn cost_of_2000_transfers_in_calldata_and_in_blobs() {
    measure("calldata", |l1| CalldataDa::new(l1.deployment.batch_inbox)).await;
    measure("blobs", |l1| BlobDa::new(l1.deployment.batch_inbox)).await;
}
