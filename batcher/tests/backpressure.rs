//! DA backpressure end to end: a sequencer with a small `max_da_backlog` and its admin port, a
//! batcher posting to anvil and reporting its backlog there through a [`BacklogReporter`] (the
//! `AdminRpcBacklog` client, JWT and all). While L1 mines, the backlog stays small and
//! transactions are accepted; when L1 stops mining, the batcher cannot get anything confirmed,
//! the backlog grows past the limit and the sequencer refuses new transactions with -32005; when
//! L1 mines again the batcher catches up, reports it, and the same transaction is accepted. With
//! the sequencer gone, reports fail and are counted, and batching goes on.

mod common;

use std::{
    sync::{atomic::Ordering, Arc},
    time::{Duration, Instant},
};

use alloy::primitives::Bytes;
use common::{admin_call, admin_config, batcher, send_raw, signed_l2_tx, wait_until, L1, L2};
use parallax_batcher::{da::CalldataDa, AdminRpcBacklog, BacklogReporter, Metrics};
use parallax_sequencer::{node::Roles, origin::FixedOrigin, rpc::admin::JwtSecret};
use serde_json::json;

/// The sequencer's limit: about nine seconds of empty 100 ms blocks (≈85 batch bytes each).
const MAX_DA_BACKLOG: u64 = 8_000;

/// A transfer from dev account 0 with 200 bytes of calldata.
fn transfer(nonce: u64) -> Bytes {
    signed_l2_tx(0, nonce, vec![nonce as u8 | 1; 200])
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_sequencer_refuses_transactions_while_the_batcher_cannot_post_and_accepts_after() {
    let _ = tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::from_default_env())
        .with_test_writer()
        .try_init();
    let started = Instant::now();
    let Some(l1) = L1::start().await else { return };
    let rollup = l1.rollup();
    let secret = JwtSecret::from_bytes([0x42; 32]);
    let mut l2 = L2::start_configured(
        &rollup,
        Roles::sequencer(Box::new(FixedOrigin::new(&rollup))),
        |config| {
            config.admin = Some(admin_config(&secret));
            config.max_da_backlog = MAX_DA_BACKLOG;
        },
    )
    .await;
    let admin_addr = l2
        .running
        .as_ref()
        .and_then(|running| running.admin_addr)
        .expect("admin port");
    let batcher = batcher(&l1, &l2, CalldataDa::new(rollup.batch_inbox_address)).await;
    let metrics: Arc<Metrics> = batcher.metrics().clone();
    let reporter = BacklogReporter::new(
        AdminRpcBacklog::new(
            format!("http://{admin_addr}").parse().expect("url"),
            secret.clone(),
            Duration::from_secs(5),
        )
        .expect("client"),
        batcher.backlog(),
        Duration::from_millis(500),
        metrics.clone(),
    );
    let (stop, shutdown) = tokio::sync::watch::channel(false);
    let batching = tokio::spawn(batcher.run(shutdown.clone()));
    let reporting = tokio::spawn(reporter.run(shutdown));
    let backlog = || async { admin_call(admin_addr, &secret, "admin_daBacklog", json!([])).await };

    // L1 mines: transactions are accepted, the backlog stays under the limit.
    let mut nonce = 0;
    for _ in 0..10 {
        send_raw(&l2.rpc, &transfer(nonce)).await.expect("accepted");
        nonce += 1;
    }
    let head = l2.head().await;
    wait_until(
        "the batcher to confirm the first blocks",
        Duration::from_secs(60),
        || async { metrics.confirmed_block.load(Ordering::Relaxed) >= head },
    )
    .await;
    wait_until("a report", Duration::from_secs(30), || async {
        metrics.backlog_reports.load(Ordering::Relaxed) > 0
    })
    .await;
    let healthy = backlog().await;
    assert_eq!(
        healthy["result"]["refusingTransactions"], false,
        "{healthy}"
    );
    let healthy_bytes = metrics.unposted_bytes();
    assert!(healthy_bytes < MAX_DA_BACKLOG, "{healthy_bytes}");

    // L1 stops mining: nothing gets confirmed, the backlog grows until transactions are refused.
    l1.set_automine(false).await;
    let stalled = Instant::now();
    let refusal = loop {
        assert!(
            stalled.elapsed() < Duration::from_secs(120),
            "never refused; backlog {}",
            metrics.unposted_bytes()
        );
        match send_raw(&l2.rpc, &transfer(nonce)).await {
            Ok(_) => nonce += 1,
            Err(error) => break error,
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    };
    let time_to_refusal = stalled.elapsed();
    assert_eq!(refusal["code"], -32005, "{refusal}");
    let status = backlog().await["result"].clone();
    assert_eq!(status["refusingTransactions"], true, "{status}");
    assert_eq!(status["max"], format!("{MAX_DA_BACKLOG:#x}"));
    let reported: u64 = u64::from_str_radix(
        status["backlog"]
            .as_str()
            .expect("hex")
            .trim_start_matches("0x"),
        16,
    )
    .expect("hex");
    assert!(reported > MAX_DA_BACKLOG, "{status}");
    // The batcher's own figure is at least what it reported (it only grows while L1 is stopped).
    assert!(metrics.unposted_bytes() >= reported);
    wait_until(
        "the batcher to see the refusal",
        Duration::from_secs(30),
        || async { metrics.sequencer_refusing_txs.load(Ordering::Relaxed) == 1 },
    )
    .await;
    assert!(!batching.is_finished(), "the batcher keeps running");
    // Still refused a little later: the backlog does not shrink without L1.
    tokio::time::sleep(Duration::from_secs(1)).await;
    assert_eq!(
        send_raw(&l2.rpc, &transfer(nonce))
            .await
            .expect_err("still refused")["code"],
        -32005
    );

    // L1 mines again: the batcher's transactions are included, it catches up, reports, and the
    // refused transaction (its nonce unused) is accepted.
    l1.set_automine(true).await;
    l1.mine(1).await;
    let resumed = Instant::now();
    let hash = loop {
        assert!(
            resumed.elapsed() < Duration::from_secs(120),
            "still refused; backlog {}",
            metrics.unposted_bytes()
        );
        match send_raw(&l2.rpc, &transfer(nonce)).await {
            Ok(hash) => break hash,
            Err(error) => assert_eq!(error["code"], -32005, "{error}"),
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    };
    let time_to_recovery = resumed.elapsed();
    let after = backlog().await["result"].clone();
    assert_eq!(after["refusingTransactions"], false, "{after}");
    let provider =
        alloy::providers::ProviderBuilder::new().connect_http(l2.rpc.parse().expect("url"));
    wait_until(
        "the accepted transaction's receipt",
        Duration::from_secs(60),
        || async {
            use alloy::providers::Provider;
            provider
                .get_transaction_receipt(hash)
                .await
                .expect("receipt query")
                .is_some()
        },
    )
    .await;

    // The sequencer goes away: reports fail and are counted, and the batcher still confirms
    // everything it sealed.
    l2.stop().await;
    let failures = metrics.backlog_report_failures.load(Ordering::Relaxed);
    let head = l2.head().await;
    wait_until("a failed report", Duration::from_secs(30), || async {
        metrics.backlog_report_failures.load(Ordering::Relaxed) > failures
    })
    .await;
    wait_until(
        "the batcher to confirm every block",
        Duration::from_secs(60),
        || async { metrics.confirmed_block.load(Ordering::Relaxed) >= head },
    )
    .await;
    assert_eq!(metrics.unposted_bytes(), 0);
    assert!(!batching.is_finished() && !reporting.is_finished());

    eprintln!(
        "backpressure: limit {MAX_DA_BACKLOG} B; healthy backlog {healthy_bytes} B; refused after \
         {time_to_refusal:.1?} of stalled L1 at a reported backlog of {reported} B \
         ({nonce} txs accepted in all); accepted again {time_to_recovery:.1?} after L1 resumed \
         (backlog then {}); {} reports, {} failed; test took {:.1?}",
        after["backlog"],
        metrics.backlog_reports.load(Ordering::Relaxed),
        metrics.backlog_report_failures.load(Ordering::Relaxed),
        started.elapsed()
    );
    stop.send_replace(true);
    batching
        .await
        .expect("no panic")
        .expect("batcher stops cleanly");
    reporting.await.expect("no panic");
}
