//! Celestia DA end to end on anvil with the local Celestia server (`parallax_celestia::server`):
//! the batcher submits each channel as a Celestia blob and posts the 41-byte pointer to the
//! batch inbox; replicas deriving from L1 + Celestia rebuild the sequencer's chain block for
//! block (hashes and state roots); a node returning tampered data is refused by the commitment
//! check (derivation stalls, then continues once the data is genuine); and an outage of the
//! Celestia node makes the batcher fall back to L1 calldata after the configured time and
//! return to Celestia once the node is back, while a replica still derives everything.

mod common;

use std::{
    sync::{atomic::Ordering, Arc},
    time::Duration,
};

use alloy::{primitives::Bytes, providers::Provider};
use common::{assert_same_chain, batcher, init_logs, read_inbox, safe_head, L1, L2};
use parallax_batcher::{
    da::{CalldataDa, CelestiaDa, DaClient, FallbackPolicy},
    Batcher, Metrics,
};
use parallax_celestia::{
    rollup_namespace,
    server::{self, RunningServer, ServerConfig},
    CelestiaClient, CelestiaConfig, CelestiaError, CelestiaSource, SourceError,
};
use parallax_l1::{AnvilBlobs, RpcL1};
use parallax_protocol::{
    derive::DaSource,
    frame::{
        CalldataPayload, CelestiaPointer, CELESTIA_POINTER_LEN, CELESTIA_POINTER_VERSION,
        FRAMES_PAYLOAD_VERSION,
    },
    RollupConfig,
};
use parallax_sequencer::{follow::PipelineDeriver, node::Roles, origin::L1Origins};
use parallax_state::store::SqlStore;

async fn celestia_client(server: &RunningServer, rollup: &RollupConfig) -> CelestiaClient {
    let mut config = CelestiaConfig::new(server.url(), rollup_namespace(rollup));
    config.auth_token = Some(TOKEN.into());
    config.request_timeout = Duration::from_secs(5);
    CelestiaClient::new(config).await.expect("celestia client")
}

const TOKEN: &str = "devnet-token";

async fn start_celestia(config: &ServerConfig) -> RunningServer {
    server::start(config.clone())
        .await
        .expect("celestia server")
}

/// Derivation from `l1` with blobs from anvil and Celestia blobs from `celestia`.
fn deriver(
    l1: &L1,
    rollup: &RollupConfig,
    celestia: CelestiaClient,
) -> Box<PipelineDeriver<RpcL1, CelestiaSource<AnvilBlobs>>> {
    let source = Arc::new(RpcL1::connect(l1.anvil.endpoint().as_str()).expect("L1 client"));
    let blobs = Arc::new(AnvilBlobs::new(source.clone()));
    Box::new(PipelineDeriver::new(
        Arc::new(rollup.clone()),
        source,
        Arc::new(CelestiaSource::new(blobs, celestia).expect("in a runtime")),
        &rollup.genesis_block_info(),
    ))
}

async fn sequencer(l1: &L1, celestia: CelestiaClient) -> L2 {
    let rollup = l1.rollup();
    let source = Arc::new(RpcL1::connect(l1.anvil.endpoint().as_str()).expect("L1 client"));
    L2::start_with(
        &rollup,
        Roles {
            sequencer: Some(Box::new(L1Origins::new(
                source,
                Arc::new(rollup.clone()),
                0,
            ))),
            derivation: Some(deriver(l1, &rollup, celestia)),
        },
    )
    .await
}

async fn replica(l1: &L1, celestia: CelestiaClient) -> L2 {
    let rollup = l1.rollup();
    L2::start_with(
        &rollup,
        Roles {
            sequencer: None,
            derivation: Some(deriver(l1, &rollup, celestia)),
        },
    )
    .await
}

/// Steps `batcher` until every block up to `block` is confirmed on L1. Celestia failures are
/// expected while it is down (the step fails and is retried, as `Batcher::run` does).
async fn post_until<D: DaClient>(batcher: &mut Batcher<SqlStore, D>, block: u64) -> usize {
    let mut failures = 0;
    for _ in 0..1200 {
        match batcher.step().await {
            Ok(()) => {}
            Err(parallax_batcher::Error::Celestia(_)) => failures += 1,
            Err(error) => panic!("batcher step: {error}"),
        }
        if batcher.confirmed_block() >= block {
            return failures;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("batcher did not confirm block {block}");
}

/// The calldata and L1 gas of every batcher transaction to the inbox, in chain order.
async fn inbox_calldata(l1: &L1, rollup: &RollupConfig) -> Vec<(Bytes, u64)> {
    read_inbox(l1, rollup.batch_inbox_address, rollup.batcher_address)
        .await
        .into_iter()
        .map(|post| (post.calldata, post.gas_used))
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_replica_derives_a_chain_posted_through_celestia_and_refuses_tampered_blobs() {
    init_logs();
    let Some(l1) = L1::start_with(&["--block-time", "1"]).await else {
        return;
    };
    let rollup = l1.rollup();
    let config = ServerConfig {
        auth_token: Some(TOKEN.into()),
        ..ServerConfig::default()
    };
    let celestia = start_celestia(&config).await;
    let mut sequencer = sequencer(&l1, celestia_client(&celestia, &rollup).await).await;

    sequencer.transact(3, 5, 0).await;
    let first = sequencer.head().await;
    let da = CelestiaDa::<CalldataDa>::new(
        celestia_client(&celestia, &rollup).await,
        rollup.batch_inbox_address,
    );
    let mut posting = batcher(&l1, &sequencer, da).await;
    assert_eq!(post_until(&mut posting, first).await, 0);
    sequencer.transact(3, 5, 5).await;
    let posted = sequencer.head().await;
    assert_eq!(post_until(&mut posting, posted).await, 0);

    // Every batcher transaction is a 41-byte pointer to a blob the server holds.
    let inbox = inbox_calldata(&l1, &rollup).await;
    assert!(inbox.len() >= 2, "{} inbox transactions", inbox.len());
    let mut pointers = Vec::new();
    for (calldata, gas) in &inbox {
        assert_eq!(calldata.len(), CELESTIA_POINTER_LEN);
        let Ok(CalldataPayload::Celestia(pointer)) = CalldataPayload::parse(calldata) else {
            panic!("not a pointer: {calldata:?}");
        };
        pointers.push(pointer);
        println!(
            "pointer at celestia height {} used {gas} L1 gas",
            pointer.height
        );
    }
    // One blob per channel, in order (a channel submitted since may still await inclusion).
    assert!(pointers
        .windows(2)
        .all(|pair| pair[0].height < pair[1].height));
    assert!(pointers.last().expect("posted").height <= celestia.state().head());

    // A replica from L1 + Celestia alone rebuilds the chain, and so does the sequencer's own
    // derivation (its safe head).
    let mut replica = replica(&l1, celestia_client(&celestia, &rollup).await).await;
    assert_same_chain(&sequencer, &replica, posted).await;
    for _ in 0..240 {
        if safe_head(&sequencer.store).await >= posted {
            break;
        }
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
    assert!(safe_head(&sequencer.store).await >= posted);
    replica.stop().await;

    // A node that answers with other data than committed: the source refuses it...
    celestia.state().set_corrupt_answers(true);
    let source = CelestiaSource::new(
        Arc::new(parallax_l1::CalldataOnly),
        celestia_client(&celestia, &rollup).await,
    )
    .expect("in a runtime");
    let pointer: CelestiaPointer = pointers[0];
    let refused = tokio::task::spawn_blocking(move || source.celestia(&pointer))
        .await
        .expect("join");
    assert!(
        matches!(
            refused,
            Err(SourceError::Celestia(
                CelestiaError::CommitmentMismatch { .. }
            ))
        ),
        "{refused:?}"
    );
    // ...so a fresh replica derives nothing while L1 moves on (it never skips the data)...
    let mut fresh = replica_fresh(&l1, &celestia, &rollup).await;
    let l1_before = l1.provider.get_block_number().await.unwrap();
    while l1.provider.get_block_number().await.unwrap() < l1_before + 4 {
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
    assert_eq!(
        safe_head(&fresh.store).await,
        0,
        "derived from tampered data"
    );
    // ...and derives the same chain once the node answers honestly.
    celestia.state().set_corrupt_answers(false);
    assert_same_chain(&sequencer, &fresh, posted).await;
    fresh.stop().await;
    sequencer.stop().await;
}

async fn replica_fresh(l1: &L1, celestia: &RunningServer, rollup: &RollupConfig) -> L2 {
    replica(l1, celestia_client(celestia, rollup).await).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_celestia_outage_falls_back_to_l1_and_returns() {
    init_logs();
    let Some(l1) = L1::start_with(&["--block-time", "1"]).await else {
        return;
    };
    let rollup = l1.rollup();
    let dir = tempfile::tempdir().expect("temp dir");
    let mut config = ServerConfig {
        auth_token: Some(TOKEN.into()),
        datadir: Some(dir.path().to_path_buf()),
        ..ServerConfig::default()
    };
    let celestia = start_celestia(&config).await;
    // Restarted on the same address below.
    config.addr = Some(celestia.addr());
    let mut sequencer = sequencer(&l1, celestia_client(&celestia, &rollup).await).await;

    let metrics = Arc::new(Metrics::default());
    let fallback_after = Duration::from_secs(2);
    let da = CelestiaDa::new(
        celestia_client(&celestia, &rollup).await,
        rollup.batch_inbox_address,
    )
    .with_fallback(
        CalldataDa::new(rollup.batch_inbox_address),
        FallbackPolicy {
            after: fallback_after,
        },
    )
    .with_metrics(metrics.clone());
    let mut posting = batcher(&l1, &sequencer, da).await;

    sequencer.transact(2, 3, 0).await;
    let before_outage = sequencer.head().await;
    assert_eq!(post_until(&mut posting, before_outage).await, 0);

    // Celestia goes down: steps fail for `fallback_after`, then channels go to L1 calldata.
    celestia.stop();
    celestia.stopped().await;
    sequencer.transact(2, 3, 3).await;
    let during_outage = sequencer.head().await;
    let started = std::time::Instant::now();
    let failures = post_until(&mut posting, during_outage).await;
    assert!(failures >= 1, "no Celestia failure seen");
    assert!(started.elapsed() >= fallback_after);
    assert_eq!(metrics.celestia_fallback.load(Ordering::Relaxed), 1);
    assert_eq!(metrics.da_switches.load(Ordering::Relaxed), 1);

    // Celestia is back (same data directory): the next channel goes there again.
    let celestia = start_celestia(&config).await;
    sequencer.transact(2, 3, 6).await;
    let after_outage = sequencer.head().await;
    post_until(&mut posting, after_outage).await;
    // The switch back happens when a fallback channel's probe succeeds; post until a channel
    // went to Celestia after it.
    for _ in 0..20 {
        if metrics.celestia_fallback.load(Ordering::Relaxed) == 0
            && inbox_calldata(&l1, &rollup)
                .await
                .last()
                .is_some_and(|(calldata, _)| calldata[0] == CELESTIA_POINTER_VERSION)
        {
            break;
        }
        // The sequencer seals a block every 100 ms: there is always more to post.
        let head = sequencer.head().await + 1;
        tokio::time::sleep(Duration::from_millis(200)).await;
        post_until(&mut posting, head).await;
    }
    assert_eq!(metrics.celestia_fallback.load(Ordering::Relaxed), 0);
    assert_eq!(metrics.da_switches.load(Ordering::Relaxed), 2);
    let posted = sequencer.head().await;
    post_until(&mut posting, posted).await;

    // The inbox holds pointers, then calldata frames, then pointers again.
    let kinds: Vec<u8> = inbox_calldata(&l1, &rollup)
        .await
        .iter()
        .map(|(calldata, _)| calldata[0])
        .collect();
    let mut runs = kinds.clone();
    runs.dedup();
    assert_eq!(
        runs,
        vec![
            CELESTIA_POINTER_VERSION,
            FRAMES_PAYLOAD_VERSION,
            CELESTIA_POINTER_VERSION
        ],
        "inbox kinds {kinds:?}"
    );

    // A replica derives the mixed chain, Celestia blobs from before the restart included.
    let mut replica = replica(&l1, celestia_client(&celestia, &rollup).await).await;
    assert_same_chain(&sequencer, &replica, posted).await;
    replica.stop().await;
    sequencer.stop().await;
}
