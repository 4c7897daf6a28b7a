//! The batcher against a real L1 (anvil, Cancun) and a real L2 (the sequencer library): blocks
//! posted as calldata and as blobs are read back from anvil and decoded with the protocol codec
//! into exactly the blocks' batches; a batcher killed mid-way (with a channel journaled but never
//! received by L1) is replaced by a new instance on the same store that posts every remaining
//! block once, with no gap; and blocks an L2 reorg replaced are posted again, by a running
//! batcher and by one started after the reorg.

mod common;

use std::{
    sync::{atomic::Ordering, Arc},
    time::Duration,
};

use alloy::{
    network::EthereumWallet,
    primitives::{Address, U256},
    providers::{Provider, ProviderBuilder},
    rpc::types::TransactionRequest,
    signers::local::PrivateKeySigner,
};
use common::{decode_batches, read_inbox, txmgr_config, L1, L2};
use parallax_batcher::{
    da::{BlobDa, CalldataDa, DaClient},
    unconfirmed_transaction_bytes, Batcher, BatcherConfig, Metrics,
};
use parallax_sequencer::genesis::dev_accounts;
use parallax_state::store::{ChainStore, Rewound, SqlStore};

fn batcher_config(l1: &L1) -> BatcherConfig {
    BatcherConfig {
        poll_interval: Duration::from_millis(50),
        max_channel_duration: Duration::ZERO,
        ..BatcherConfig::new(l1.rollup())
    }
}

async fn batcher<D: DaClient>(
    l1: &L1,
    store: &SqlStore,
    da: D,
    metrics: &Arc<Metrics>,
) -> Batcher<SqlStore, D> {
    let txmgr = l1
        .txmgr(store.clone(), l1.batcher_key(), txmgr_config("batcher"))
        .await;
    Batcher::new(
        store.clone(),
        da,
        txmgr,
        batcher_config(l1),
        metrics.clone(),
    )
    .await
    .expect("batcher starts")
}

/// Steps until every block up to `head` is confirmed on L1.
async fn post_everything<D: DaClient>(batcher: &mut Batcher<SqlStore, D>, head: u64) {
    for _ in 0..200 {
        batcher.step().await.expect("batcher step");
        if batcher.confirmed_block() >= head {
            return;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    panic!(
        "batcher stuck: posted {} confirmed {} head {head}",
        batcher.posted_block(),
        batcher.confirmed_block()
    );
}

fn inbox(l1: &L1) -> Address {
    l1.deployment.batch_inbox
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn calldata_posts_every_block_once_and_the_inbox_decodes_back_to_the_blocks() {
    let Some(l1) = L1::start().await else { return };
    let mut l2 = L2::start(&l1.rollup).await;
    for round in 0..5 {
        l2.transact(4, 5, round * 5).await;
        tokio::time::sleep(Duration::from_millis(150)).await;
    }
    l2.stop().await;
    let head = l2.head().await;
    let rollup = l1.rollup();
    let metrics = Arc::new(Metrics::default());
    let mut batcher = batcher(&l1, &l2.store, CalldataDa::new(inbox(&l1)), &metrics).await;
    post_everything(&mut batcher, head).await;

    let posts = read_inbox(&l1, inbox(&l1), l1.config.batcher).await;
    assert!(posts.iter().all(|post| post.blobs == 0));
    let expected = l2.expected_batches(&rollup, head).await;
    assert_eq!(decode_batches(&posts, &rollup), expected);
    assert_eq!(batcher.unposted_bytes(), 0);
    assert_eq!(metrics.unposted_bytes(), 0);
    assert!(l2.store.unconfirmed_frames().await.unwrap().is_empty());
    // Every journaled frame now names the transaction and block that carried it.
    let frames = l2.store.frames_after(0).await.unwrap();
    for frame in &frames {
        let post = posts
            .iter()
            .find(|post| post.hash == frame.l1_tx_hash)
            .expect("frame row names a real inbox transaction");
        assert_eq!(frame.l1_block, Some(post.l1_block));
        assert_eq!(frame.da, "calldata");
    }

    let l2_txs: usize = expected.iter().map(|batch| batch.transactions.len()).sum();
    let bytes: usize = posts.iter().map(|post| post.calldata.len()).sum();
    let gas: u64 = posts.iter().map(|post| post.gas_used).sum();
    let frame_count: usize = posts.iter().map(|post| post.frames.len()).sum();
    let raw_tx_bytes: usize = expected
        .iter()
        .flat_map(|batch| &batch.transactions)
        .map(|tx| tx.len())
        .sum();
    assert_eq!(l2_txs, 100);
    eprintln!(
        "calldata: {} L2 blocks, {l2_txs} L2 txs ({raw_tx_bytes} raw bytes, {:.1} per tx) -> \
         {frame_count} frames in {} L1 txs, {bytes} calldata bytes ({:.1} per L2 tx), \
         compression ratio {:.2}, L1 gas {gas} ({:.0} per frame, {:.0} per L2 tx)",
        expected.len(),
        raw_tx_bytes as f64 / l2_txs as f64,
        posts.len(),
        bytes as f64 / l2_txs as f64,
        metrics.compression_ratio(),
        gas as f64 / frame_count as f64,
        gas as f64 / l2_txs as f64,
    );
    let text = metrics.render();
    assert!(text.contains(&format!("parallax_batcher_confirmed_block {head}\n")));
    assert!(text.contains(&format!("parallax_batcher_l1_gas_used_total {gas}\n")));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn blobs_carry_multi_frame_channels_that_decode_back_to_the_blocks() {
    let Some(l1) = L1::start().await else { return };
    let mut l2 = L2::start(&l1.rollup).await;
    for round in 0..5 {
        l2.transact(4, 5, round * 5).await;
        tokio::time::sleep(Duration::from_millis(150)).await;
    }
    l2.stop().await;
    let head = l2.head().await;
    let rollup = l1.rollup();
    let metrics = Arc::new(Metrics::default());
    // Small frames, three blobs per transaction: several channels, each of several frames,
    // carried by multi-blob transactions (a block larger than three frames makes its channel
    // span two transactions, journaled together).
    let da = BlobDa::new(inbox(&l1))
        .with_max_frame_payload(500)
        .with_blobs_per_tx(3);
    let mut batcher = batcher(&l1, &l2.store, da, &metrics).await;
    post_everything(&mut batcher, head).await;

    let posts = read_inbox(&l1, inbox(&l1), l1.config.batcher).await;
    assert!(posts.len() > 1, "{} blob transactions", posts.len());
    assert!(posts
        .iter()
        .all(|post| post.blobs > 0 && post.calldata.len() == 0));
    assert!(
        posts.iter().any(|post| post.blobs == 3),
        "no three-blob transaction"
    );
    let mut channel_txs: std::collections::HashMap<_, std::collections::HashSet<_>> =
        Default::default();
    for post in &posts {
        for frame in &post.frames {
            channel_txs
                .entry(frame.channel_id)
                .or_default()
                .insert(post.hash);
        }
    }
    let spanning = channel_txs.values().filter(|txs| txs.len() > 1).count();
    assert!(posts
        .iter()
        .all(|post| post.frames.len() == post.blobs && post.blobs <= 3));
    let expected = l2.expected_batches(&rollup, head).await;
    assert_eq!(decode_batches(&posts, &rollup), expected);
    assert!(l2.store.unconfirmed_frames().await.unwrap().is_empty());
    let blobs: usize = posts.iter().map(|post| post.blobs).sum();
    eprintln!(
        "blobs: {} L2 blocks in {} channels ({spanning} spanning several txs), {} L1 txs \
         carrying {blobs} blobs; blob gas {}",
        expected.len(),
        channel_txs.len(),
        posts.len(),
        metrics
            .batcher_l1_blob_gas
            .load(std::sync::atomic::Ordering::Relaxed)
    );
    assert_eq!(
        metrics
            .batcher_l1_blob_gas
            .load(std::sync::atomic::Ordering::Relaxed),
        blobs as u64 * 131_072
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_restarted_batcher_posts_every_remaining_block_once_without_a_gap() {
    let Some(l1) = L1::start().await else { return };
    let mut l2 = L2::start(&l1.rollup).await;
    let rollup = l1.rollup();
    let metrics = Arc::new(Metrics::default());
    // 600-byte calldata payloads: a channel every few blocks.
    let da = CalldataDa::new(inbox(&l1)).with_max_payload(600);

    // First instance: posts what the sequencer has sealed so far, while it keeps sealing.
    let mut first = batcher(&l1, &l2.store, da, &metrics).await;
    l2.transact(3, 10, 0).await;
    for _ in 0..100 {
        first.step().await.expect("step");
        if first.confirmed_block() > 0 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let confirmed_before = first.confirmed_block();
    assert!(confirmed_before > 0);
    // Its last channel is journaled but never reaches L1: the pool loses it (a crash right after
    // journaling, before the broadcast, looks the same to a restarted batcher).
    l1.set_automine(false).await;
    l2.transact(3, 10, 10).await;
    first.step().await.expect("step");
    let posted_before = first.posted_block();
    assert!(posted_before > confirmed_before);
    assert!(!first.txmgr().open_intents().await.is_empty());
    drop(first);
    let _: serde_json::Value = l1
        .rpc("anvil_dropAllTransactions", serde_json::json!([]))
        .await;
    l1.set_automine(true).await;

    l2.transact(3, 10, 20).await;
    l2.stop().await;
    let head = l2.head().await;
    let mut second = batcher(&l1, &l2.store, da, &metrics).await;
    assert_eq!(second.posted_block(), posted_before);
    assert!(second.unposted_bytes() > 0);
    // The same backlog, seen from the store by another process (the sequencer).
    assert!(unconfirmed_transaction_bytes(&l2.store, 0).await.unwrap() > 0);
    post_everything(&mut second, head).await;

    let posts = read_inbox(&l1, inbox(&l1), l1.config.batcher).await;
    let channels = posts
        .iter()
        .flat_map(|post| &post.frames)
        .filter(|frame| frame.is_last)
        .count();
    assert!(channels > 3, "{channels} channels");
    // Every block exactly once, in order: decode_batches refuses duplicate frames, and the
    // comparison refuses a duplicate, missing or reordered block.
    assert_eq!(
        decode_batches(&posts, &rollup),
        l2.expected_batches(&rollup, head).await
    );
    assert_eq!(second.unposted_bytes(), 0);
    assert_eq!(
        unconfirmed_transaction_bytes(&l2.store, 0).await.unwrap(),
        0
    );
}

/// Cuts `l2`'s chain back to block `keep` (the sequencer replacing unsafe blocks, as when L1
/// forces blocks in) and lets it grow past `beyond` again with other blocks: one holds a
/// transfer of `value` wei the old chain did not have. Returns the new head and that block.
async fn reorg(l2: &mut L2, keep: u64, beyond: u64, value: u64) -> (u64, u64) {
    l2.stop().await;
    let block = l2.store.block(keep).await.unwrap().expect("kept block");
    l2.store
        .rewind_unsafe(block.block_ref(), Rewound::Forget)
        .await
        .unwrap();
    let url = l2.restart_rpc().await;
    let key = PrivateKeySigner::from_bytes(&dev_accounts().unwrap()[9].private_key).unwrap();
    let provider = ProviderBuilder::new()
        .wallet(EthereumWallet::from(key))
        .connect_http(url.parse().unwrap());
    let receipt = provider
        .send_transaction(
            TransactionRequest::default()
                .to(Address::repeat_byte(0x99))
                .value(U256::from(value)),
        )
        .await
        .unwrap()
        .get_receipt()
        .await
        .unwrap();
    let transfer_block = receipt.block_number.expect("included");
    for _ in 0..200 {
        if l2.head().await > beyond {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    l2.stop().await;
    let head = l2.head().await;
    assert!(head > beyond, "the chain did not grow back: head {head}");
    (head, transfer_block)
}

/// The inbox holds every block of the final chain: after the last resume point exactly the
/// chain's batches, in order, and before it batches of the same blocks.
async fn inbox_has_the_chain(l1: &L1, l2: &L2, resumed_after: u64, head: u64) {
    let rollup = l1.rollup();
    let decoded = decode_batches(&read_inbox(l1, inbox(l1), l1.config.batcher).await, &rollup);
    let chain = l2.expected_batches(&rollup, head).await;
    let tail = &chain[resumed_after as usize..];
    assert_eq!(&decoded[decoded.len() - tail.len()..], tail);
    for batch in &chain[..resumed_after as usize] {
        assert!(
            decoded.contains(batch),
            "a block before the resume point is missing"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn blocks_replaced_by_an_l2_reorg_are_posted_again() {
    let Some(l1) = L1::start().await else { return };
    let mut l2 = L2::start(&l1.rollup).await;
    let metrics = Arc::new(Metrics::default());
    let da = CalldataDa::new(inbox(&l1)).with_max_payload(600);
    let mut running = batcher(&l1, &l2.store, da, &metrics).await;
    l2.transact(3, 6, 0).await;
    l2.stop().await;
    let first_head = l2.head().await;
    post_everything(&mut running, first_head).await;

    // A running batcher sees the next block no longer build on the last one it took. The
    // chain is cut just below its first user transaction, so the new blocks differ from there.
    let mut first_user_block = 1;
    while l2
        .store
        .block(first_user_block)
        .await
        .unwrap()
        .expect("block")
        .transactions
        .iter()
        .all(|tx| tx.raw.first() == Some(&0x7e))
    {
        first_user_block += 1;
    }
    let (head, transfer_block) = reorg(&mut l2, first_user_block - 1, first_head + 3, 1).await;
    post_everything(&mut running, head).await;
    assert_eq!(metrics.l2_reorgs.load(Ordering::Relaxed), 1);
    let resumed = l2
        .store
        .frames_after(0)
        .await
        .unwrap()
        .iter()
        .filter(|frame| frame.last_block < first_user_block)
        .map(|frame| frame.last_block)
        .max()
        .unwrap_or(0);
    inbox_has_the_chain(&l1, &l2, resumed, head).await;
    drop(running);

    // A batcher started after a reorg finds its journaled channels' last blocks gone.
    let keep = transfer_block - 1;
    let (head, _) = reorg(&mut l2, keep, head + 3, 2).await;
    let mut restarted = batcher(&l1, &l2.store, da, &metrics).await;
    let resumed = restarted.posted_block();
    assert!(
        resumed <= keep,
        "resumes after {resumed}, above the kept block {keep}"
    );
    let block = l2
        .store
        .header(resumed)
        .await
        .unwrap()
        .expect("resume block");
    let journaled = l2
        .store
        .frames_after(resumed.saturating_sub(1))
        .await
        .unwrap();
    assert!(
        resumed == 0
            || journaled
                .iter()
                .any(|frame| frame.last_block_hash == Some(block.hash)),
        "the resume point is not a journaled channel's end"
    );
    post_everything(&mut restarted, head).await;
    inbox_has_the_chain(&l1, &l2, resumed, head).await;
}
