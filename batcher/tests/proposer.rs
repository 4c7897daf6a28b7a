//! The proposer against a real L1 and L2: proposes every 4th block once its data is confirmed,
//! with the output root `rollup_outputAtBlock` serves, and a restart with a proposal in flight
//! waits for it instead of proposing twice.

mod common;

use std::{sync::Arc, time::Duration};

use alloy::{
    primitives::{B256, U256},
    providers::{Provider, ProviderBuilder},
};
use common::{txmgr_config, L1, L2};
use parallax_batcher::{
    da::CalldataDa, Batcher, BatcherConfig, Metrics, ProposeAfter, Proposer, ProposerConfig,
};
use parallax_contracts::OutputOracle;
use parallax_protocol::output_root;
use parallax_state::store::{output_root_input, ChainStore, SqlStore};

async fn proposer(l1: &L1, store: &SqlStore, metrics: &Arc<Metrics>) -> Proposer<SqlStore> {
    let txmgr = l1
        .txmgr(store.clone(), l1.proposer_key(), txmgr_config("proposer"))
        .await;
    Proposer::new(
        store.clone(),
        txmgr,
        ProposerConfig {
            oracle: l1.deployment.output_oracle,
            genesis: 0,
            poll_interval: Duration::from_millis(50),
            // This sequencer does not follow L1, so no safe head: confirmed frames decide.
            after: ProposeAfter::ConfirmedFrames,
            defend: None,
        },
        metrics.clone(),
    )
    .await
    .expect("proposer starts")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn proposes_confirmed_outputs_once_and_resumes_after_a_restart() {
    let Some(l1) = L1::start().await else { return };
    let mut l2 = L2::start(&l1.rollup).await;
    l2.transact(2, 5, 0).await;
    let metrics = Arc::new(Metrics::default());
    let store = l2.store.clone();
    let txmgr = l1
        .txmgr(store.clone(), l1.batcher_key(), txmgr_config("batcher"))
        .await;
    let mut batcher = Batcher::new(
        store.clone(),
        CalldataDa::new(l1.deployment.batch_inbox),
        txmgr,
        BatcherConfig {
            max_channel_duration: Duration::ZERO,
            ..BatcherConfig::new(l1.rollup())
        },
        metrics.clone(),
    )
    .await
    .expect("batcher starts");
    let oracle = OutputOracle::new(l1.deployment.output_oracle, l1.provider.clone());

    // A key that is not the SystemConfig's proposer is refused up front.
    let wrong = l1
        .txmgr(store.clone(), l1.batcher_key(), txmgr_config("proposer"))
        .await;
    let refused = Proposer::new(
        store.clone(),
        wrong,
        ProposerConfig {
            oracle: l1.deployment.output_oracle,
            genesis: 0,
            poll_interval: Duration::from_millis(50),
            // This sequencer does not follow L1, so no safe head: confirmed frames decide.
            after: ProposeAfter::ConfirmedFrames,
            defend: None,
        },
        metrics.clone(),
    )
    .await;
    assert!(
        matches!(refused, Err(parallax_batcher::Error::WrongKey { .. })),
        "{refused:?}"
    );

    let mut first = proposer(&l1, &store, &metrics).await;
    // Nothing is proposed before its data is on L1.
    assert_eq!(first.step().await.unwrap(), None);
    let mut proposed = Vec::new();
    for _ in 0..200 {
        batcher.step().await.expect("batcher step");
        if let Some(block) = first.step().await.expect("proposer step") {
            assert!(block <= batcher.confirmed_block());
            proposed.push(block);
        }
        if proposed.len() >= 2 && first.txmgr().open_intents().await.is_empty() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert!(proposed.len() >= 2);
    assert_eq!(
        proposed,
        (1..=proposed.len() as u64)
            .map(|i| 4 * i)
            .collect::<Vec<_>>()
    );
    let count_before = oracle.outputCount().call().await.unwrap();
    assert_eq!(count_before, U256::from(proposed.len()));

    // Restart with a proposal in flight: the new instance waits for it.
    let next: u64 = oracle
        .nextBlockNumber()
        .call()
        .await
        .unwrap()
        .try_into()
        .unwrap();
    for _ in 0..200 {
        batcher.step().await.expect("batcher step");
        if batcher.confirmed_block() >= next {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    l1.set_automine(false).await;
    assert_eq!(first.step().await.unwrap(), Some(next));
    drop(first);
    let mut second = proposer(&l1, &store, &metrics).await;
    assert_eq!(second.txmgr().open_intents().await.len(), 1);
    assert_eq!(second.step().await.unwrap(), None);
    assert_eq!(oracle.outputCount().call().await.unwrap(), count_before);
    l1.mine(1).await;
    l1.set_automine(true).await;
    l2.stop().await;
    let head = l2.head().await;
    // Post the rest of the chain and let the proposer catch up.
    for _ in 0..400 {
        batcher.step().await.expect("batcher step");
        second.step().await.expect("proposer step");
        let next: u64 = oracle
            .nextBlockNumber()
            .call()
            .await
            .unwrap()
            .try_into()
            .unwrap();
        if batcher.confirmed_block() >= head
            && next > head
            && second.txmgr().open_intents().await.is_empty()
        {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let count: u64 = oracle
        .outputCount()
        .call()
        .await
        .unwrap()
        .try_into()
        .unwrap();
    assert_eq!(
        count,
        head / 4,
        "one proposal per interval up to the head {head}"
    );
    // No wasted transaction: the proposer's nonce is the number of proposals.
    let nonce = l1
        .provider
        .get_transaction_count(l1.config.proposer)
        .await
        .unwrap();
    assert_eq!(nonce, count);
    assert_eq!(
        metrics
            .proposals_reverted
            .load(std::sync::atomic::Ordering::Relaxed),
        0
    );

    // Every posted root is the store's output root, which is what the sequencer serves.
    let records = store.proposals(0).await.unwrap();
    assert_eq!(records.len() as u64, count);
    for index in 0..count {
        let output = oracle.getOutput(U256::from(index)).call().await.unwrap();
        let block = output.l2BlockNumber;
        assert_eq!(block, (index + 1) * 4);
        let expected = output_root(&output_root_input(&store, block).await.unwrap());
        assert_eq!(output.outputRoot, expected);
        let record = &records[index as usize];
        assert_eq!(record.l2_block_number, block);
        assert_eq!(record.output_root, expected);
        assert_eq!(record.oracle_index, Some(index));
        assert_eq!(record.status, "proposed");
    }
    // The sequencer's rollup_outputAtBlock agrees (restarted on the same store to serve RPC).
    let rpc = l2.restart_rpc().await;
    let provider = ProviderBuilder::new().connect_http(rpc.parse().unwrap());
    for block in [4u64, 8, 12] {
        let served: serde_json::Value = provider
            .raw_request("rollup_outputAtBlock".into(), (format!("{block:#x}"),))
            .await
            .unwrap();
        let served: B256 = serde_json::from_value(served["outputRoot"].clone()).unwrap();
        assert_eq!(
            served,
            output_root(&output_root_input(&store, block).await.unwrap())
        );
    }
    l2.stop().await;
}
