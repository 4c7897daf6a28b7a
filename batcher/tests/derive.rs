//! Derivation end to end: a sequencer follows anvil's L1 origins (and runs derivation to move
//! its safe head); the batcher posts its blocks, first as calldata, then after a restart as
//! blobs; a replica deriving from L1 alone rebuilds the same chain, hash for hash, the
//! sequencer's safe head reaches the posted blocks, and the proposer (waiting for that safe head)
//! posts the outputs the replica computes.
//!
//! Blobs are read back through `parallax_l1::AnvilBlobs` (anvil's `anvil_getBlobByHash`,
//! checked against their versioned hash with KZG), as the devnet's replica reads them.

mod common;

use std::{sync::Arc, time::Duration};

use alloy::primitives::U256;
use common::{assert_same_chain, batcher, init_logs, safe_head, txmgr_config, wait_safe, L1, L2};
use parallax_batcher::{
    da::{BlobDa, CalldataDa, DaClient},
    Batcher, Metrics, ProposeAfter, Proposer, ProposerConfig,
};
use parallax_contracts::OutputOracle;
use parallax_protocol::output_root;
use parallax_state::store::{output_root_input, ChainStore, SqlStore};

async fn post_until<D: DaClient>(batcher: &mut Batcher<SqlStore, D>, block: u64) {
    for _ in 0..600 {
        batcher.step().await.expect("batcher step");
        if batcher.confirmed_block() >= block {
            return;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("batcher did not confirm block {block}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_replica_derives_the_posted_chain_from_calldata_and_blobs() {
    // RUST_LOG=info shows the nodes' and batcher's logs.
    init_logs();
    // L1 moves every second on its own, so origins advance.
    let Some(l1) = L1::start_with(&["--block-time", "1"]).await else {
        return;
    };
    let rollup = l1.rollup();
    let mut sequencer = L2::sequencer_on(&l1).await;

    // Calldata first.
    sequencer.transact(3, 5, 0).await;
    let first_part = sequencer.head().await;
    let mut calldata = batcher(&l1, &sequencer, CalldataDa::new(rollup.batch_inbox_address)).await;
    post_until(&mut calldata, first_part).await;
    drop(calldata);

    // Then blobs, from a restarted batcher on the same store.
    sequencer.transact(3, 5, 5).await;
    let second_part = sequencer.head().await;
    let mut blobs = batcher(&l1, &sequencer, BlobDa::new(rollup.batch_inbox_address)).await;
    post_until(&mut blobs, second_part).await;

    // A replica from L1 alone.
    let replica = L2::replica_of(&l1).await;
    let mut replica_safe = 0;
    for _ in 0..240 {
        replica_safe = safe_head(&replica.store).await;
        if replica_safe >= second_part {
            break;
        }
        // Keep posting what the sequencer seals meanwhile.
        blobs.step().await.expect("batcher step");
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
    assert!(
        replica_safe >= second_part,
        "replica derived up to {replica_safe}, posted up to {second_part}"
    );
    assert_same_chain(&sequencer, &replica, second_part).await;
    // Blocks with L2 transactions were among them, carried by both backends.
    let with_txs = {
        let mut count = 0;
        for number in 1..=second_part {
            let block = replica.store.block(number).await.unwrap().expect("derived");
            count += usize::from(
                block
                    .transactions
                    .iter()
                    .any(|tx| tx.raw.first() != Some(&0x7e)),
            );
        }
        count
    };
    assert!(with_txs >= 2, "{with_txs} blocks with user transactions");

    // The sequencer's own derivation moved its safe head over the posted blocks.
    let safe = wait_safe(&sequencer, second_part).await;
    assert!(safe >= second_part, "sequencer safe head {safe}");

    // The proposer, waiting for the safe head, proposes the derived outputs.
    let metrics = Arc::new(Metrics::default());
    let txmgr = l1
        .txmgr(
            sequencer.store.clone(),
            l1.proposer_key(),
            txmgr_config("proposer"),
        )
        .await;
    let mut proposer = Proposer::new(
        sequencer.store.clone(),
        txmgr,
        ProposerConfig {
            oracle: l1.deployment.output_oracle,
            genesis: 0,
            poll_interval: Duration::from_millis(50),
            after: ProposeAfter::SafeHead,
            defend: None,
        },
        metrics,
    )
    .await
    .expect("proposer starts");
    let oracle = OutputOracle::new(l1.deployment.output_oracle, l1.provider.clone());
    let mut proposed = 0u64;
    for _ in 0..240 {
        proposer.step().await.expect("proposer step");
        proposed = oracle
            .outputCount()
            .call()
            .await
            .unwrap()
            .try_into()
            .unwrap();
        if proposed >= 2 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
    assert!(proposed >= 2, "{proposed} proposals");
    for index in 0..proposed {
        let output = oracle.getOutput(U256::from(index)).call().await.unwrap();
        let block = output.l2BlockNumber;
        assert!(block <= proposer.ready_through().await.unwrap());
        let derived = output_root(&output_root_input(&replica.store, block).await.unwrap());
        assert_eq!(output.outputRoot, derived, "output of block {block}");
    }
    let mut replica = replica;
    replica.stop().await;
    sequencer.stop().await;
}
