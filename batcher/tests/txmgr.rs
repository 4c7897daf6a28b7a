//! The tx manager against anvil: stalled transactions replaced with higher fees (calldata ≥10%,
//! blobs ≥100% on every fee), a nonce taken by a foreign transaction, an inclusion reorged out,
//! and a transaction journaled but never broadcast before a crash.

mod common;

use std::time::Duration;

use alloy::{
    consensus::{SignableTransaction, Transaction as _, TxEip1559, TxEnvelope},
    eips::eip2718::{Decodable2718, Encodable2718},
    network::TxSignerSync,
    primitives::{Address, Bytes, TxKind, B256, U256},
    providers::Provider,
};
use common::{txmgr_config, L1};
use parallax_batcher::{
    da::{BlobDa, DaClient},
    TxCandidate, TxEvent, TxManagerConfig,
};
use parallax_protocol::frame::{encode_frames_payload, Frame};
use parallax_state::store::{ChainStore, L1Transaction, L1TxStatus, SqlStore};

async fn store() -> (SqlStore, tempfile::TempDir) {
    let dir = tempfile::tempdir().expect("temp dir");
    let url = format!("sqlite:{}", dir.path().join("chain.db").display());
    (SqlStore::open(&url).await.expect("store"), dir)
}

fn frame(fill: u8) -> Frame {
    Frame {
        channel_id: [fill; 16].into(),
        number: 0,
        data: vec![fill; 300].into(),
        is_last: true,
    }
}

fn calldata(inbox: Address) -> TxCandidate {
    TxCandidate {
        to: inbox,
        data: encode_frames_payload(&[frame(7)]).into(),
        ..TxCandidate::default()
    }
}

fn fees_of(raw: &Bytes) -> (u128, u128, Option<u128>) {
    let envelope = TxEnvelope::decode_2718(&mut raw.as_ref()).expect("journaled raw decodes");
    (
        envelope.max_fee_per_gas(),
        envelope.max_priority_fee_per_gas().unwrap_or(0),
        envelope.max_fee_per_blob_gas(),
    )
}

fn bumped_config() -> TxManagerConfig {
    TxManagerConfig {
        resubmit_after: Duration::ZERO,
        ..txmgr_config("batcher")
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stalled_transactions_are_replaced_with_higher_fees_then_confirmed() {
    let Some(l1) = L1::start().await else { return };
    let (store, _dir) = store().await;
    let inbox = l1.deployment.batch_inbox;
    let txmgr = l1
        .txmgr(store.clone(), l1.batcher_key(), bumped_config())
        .await;
    l1.set_automine(false).await;

    // Calldata: one bump of at least 10% on both fees.
    let intent = txmgr.send(vec![calldata(inbox)]).await.unwrap()[0];
    assert!(l1
        .provider
        .get_transaction_by_hash(intent)
        .await
        .unwrap()
        .is_some());
    let events = txmgr.poll().await.unwrap();
    let [TxEvent::Bumped {
        intent: bumped,
        replaced,
        by,
    }] = events.as_slice()
    else {
        panic!("expected one bump, got {events:?}");
    };
    assert_eq!((*bumped, *replaced), (intent, intent));
    let attempts = store.l1_intent(intent).await.unwrap();
    assert_eq!(attempts.len(), 2);
    assert_eq!(attempts[1].hash, *by);
    assert_eq!(attempts[0].nonce, attempts[1].nonce);
    let (old_fee, old_tip, _) = fees_of(&attempts[0].raw);
    let (new_fee, new_tip, _) = fees_of(&attempts[1].raw);
    assert!(new_fee * 100 >= old_fee * 110, "{old_fee} -> {new_fee}");
    assert!(new_tip * 100 >= old_tip * 110, "{old_tip} -> {new_tip}");
    // anvil took the replacement.
    assert!(l1
        .provider
        .get_transaction_by_hash(*by)
        .await
        .unwrap()
        .is_some());

    l1.mine(1).await;
    let events = txmgr.poll().await.unwrap();
    let [TxEvent::Confirmed(confirmation)] = events.as_slice() else {
        panic!("expected a confirmation, got {events:?}");
    };
    assert_eq!(confirmation.hash, *by);
    assert!(confirmation.success());
    let attempts = store.l1_intent(intent).await.unwrap();
    assert_eq!(attempts[0].status, L1TxStatus::Superseded);
    assert_eq!(attempts[1].status, L1TxStatus::Confirmed);
    assert!(attempts.iter().all(|attempt| attempt.raw.is_empty()));
    assert!(txmgr.open_intents().await.is_empty());

    // Blobs: every fee at least doubles.
    let da = BlobDa::new(inbox);
    let plan = da.plan(&Default::default(), 0);
    let candidate = da.candidate(&plan, &[frame(9)]).await.unwrap();
    let intent = txmgr.send(vec![candidate]).await.unwrap()[0];
    let events = txmgr.poll().await.unwrap();
    assert!(
        matches!(events.as_slice(), [TxEvent::Bumped { .. }]),
        "{events:?}"
    );
    let attempts = store.l1_intent(intent).await.unwrap();
    let (old_fee, old_tip, old_blob) = fees_of(&attempts[0].raw);
    let (new_fee, new_tip, new_blob) = fees_of(&attempts[1].raw);
    assert!(new_fee >= old_fee * 2 && new_tip >= old_tip * 2);
    assert!(new_blob.unwrap() >= old_blob.unwrap() * 2);
    l1.mine(1).await;
    let events = txmgr.poll().await.unwrap();
    let [TxEvent::Confirmed(confirmation)] = events.as_slice() else {
        panic!("expected a confirmation, got {events:?}");
    };
    assert_eq!(confirmation.hash, attempts[1].hash);
    assert_eq!(confirmation.receipt.blob_gas_used, Some(131_072));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_nonce_taken_by_a_foreign_transaction_is_re_sent_at_a_new_nonce() {
    let Some(l1) = L1::start().await else { return };
    let (store, _dir) = store().await;
    let inbox = l1.deployment.batch_inbox;
    let key = l1.batcher_key();
    let txmgr = l1
        .txmgr(store.clone(), key.clone(), txmgr_config("batcher"))
        .await;
    l1.set_automine(false).await;
    let intent = txmgr.send(vec![calldata(inbox)]).await.unwrap()[0];
    let nonce = store.l1_intent(intent).await.unwrap()[0].nonce;

    // Someone else signs with the same key at the same nonce, paying more: L1 takes theirs.
    let mut foreign = TxEip1559 {
        chain_id: txmgr.chain_id(),
        nonce,
        gas_limit: 21_000,
        max_fee_per_gas: 100_000_000_000,
        max_priority_fee_per_gas: 50_000_000_000,
        to: TxKind::Call(Address::repeat_byte(0x42)),
        value: U256::from(1),
        ..Default::default()
    };
    let signature = key.sign_transaction_sync(&mut foreign).unwrap();
    let raw = foreign.into_signed(signature).encoded_2718();
    let _pending = l1.provider.send_raw_transaction(&raw).await.unwrap();
    l1.mine(1).await;

    let events = txmgr.poll().await.unwrap();
    assert!(
        matches!(events.as_slice(), [TxEvent::Renonced { intent: i, nonce: n }] if *i == intent && *n == nonce + 1),
        "{events:?}"
    );
    l1.mine(1).await;
    let events = txmgr.poll().await.unwrap();
    let [TxEvent::Confirmed(confirmation)] = events.as_slice() else {
        panic!("expected a confirmation, got {events:?}");
    };
    let attempts = store.l1_intent(intent).await.unwrap();
    assert_eq!(attempts.len(), 2);
    assert_eq!(confirmation.hash, attempts[1].hash);
    assert_eq!(attempts[1].nonce, nonce + 1);
    assert_eq!(txmgr.next_nonce().await, nonce + 2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_inclusion_reorged_out_is_broadcast_again_and_confirmed_later() {
    let Some(l1) = L1::start().await else { return };
    let (store, _dir) = store().await;
    let inbox = l1.deployment.batch_inbox;
    let config = TxManagerConfig {
        confirmations: 3,
        ..txmgr_config("batcher")
    };
    let txmgr = l1.txmgr(store.clone(), l1.batcher_key(), config).await;
    let intent = txmgr.send(vec![calldata(inbox)]).await.unwrap()[0];
    let first = l1.receipt(intent).await;
    assert!(txmgr.poll().await.unwrap().is_empty(), "only 1 of 3 blocks");

    // Drop the block that included it (and stop automining so the re-broadcast waits).
    l1.set_automine(false).await;
    let _: serde_json::Value = l1.rpc("anvil_rollback", serde_json::json!([1])).await;
    let _: serde_json::Value = l1
        .rpc("anvil_dropAllTransactions", serde_json::json!([]))
        .await;
    assert!(l1
        .provider
        .get_transaction_receipt(intent)
        .await
        .unwrap()
        .is_none());
    let events = txmgr.poll().await.unwrap();
    assert!(
        matches!(events.as_slice(), [TxEvent::Reorged { intent: i, block, .. }] if *i == intent && block.number == first.block_number.unwrap()),
        "{events:?}"
    );
    // The re-broadcast put it back in the pool: the next blocks include it again.
    assert!(l1
        .provider
        .get_transaction_by_hash(intent)
        .await
        .unwrap()
        .is_some());
    l1.mine(3).await;
    let events = txmgr.poll().await.unwrap();
    let [TxEvent::Confirmed(confirmation)] = events.as_slice() else {
        panic!("expected a confirmation, got {events:?}");
    };
    assert_eq!(confirmation.hash, intent);
    assert_ne!(Some(confirmation.block.hash), first.block_hash);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_transaction_journaled_but_never_broadcast_is_sent_after_a_restart() {
    let Some(l1) = L1::start().await else { return };
    let (store, _dir) = store().await;
    let inbox = l1.deployment.batch_inbox;
    let key = l1.batcher_key();
    // What a crash between journaling and broadcasting leaves: a signed transaction at the next
    // nonce in the journal, unknown to L1.
    let nonce = l1
        .provider
        .get_transaction_count(key.address())
        .await
        .unwrap();
    let mut tx = TxEip1559 {
        chain_id: l1.provider.get_chain_id().await.unwrap(),
        nonce,
        gas_limit: 100_000,
        max_fee_per_gas: 20_000_000_000,
        max_priority_fee_per_gas: 1_000_000_000,
        to: TxKind::Call(inbox),
        input: encode_frames_payload(&[frame(3)]).into(),
        ..Default::default()
    };
    let signature = key.sign_transaction_sync(&mut tx).unwrap();
    let envelope = TxEnvelope::Eip1559(tx.into_signed(signature));
    let hash: B256 = *envelope.tx_hash();
    store
        .put_l1_transactions(
            &[L1Transaction {
                hash,
                intent: hash,
                sender: key.address(),
                nonce,
                raw: envelope.encoded_2718().into(),
                purpose: "batcher".into(),
                status: L1TxStatus::Pending,
                l1_block: None,
                sent_at_ms: 1,
            }],
            &[],
        )
        .await
        .unwrap();

    let txmgr = l1
        .txmgr(store.clone(), key.clone(), txmgr_config("batcher"))
        .await;
    assert_eq!(txmgr.open_intents().await, vec![hash]);
    // The journal reserves the nonce even though L1 never saw it.
    assert_eq!(txmgr.next_nonce().await, nonce + 1);
    assert!(txmgr.poll().await.unwrap().is_empty(), "re-broadcast");
    // Automine includes it; the next poll confirms it.
    l1.receipt(hash).await;
    let events = txmgr.poll().await.unwrap();
    let [TxEvent::Confirmed(confirmation)] = events.as_slice() else {
        panic!("expected a confirmation, got {events:?}");
    };
    assert_eq!(confirmation.hash, hash);
    // A new intent takes the next nonce: nothing is signed twice at one nonce.
    let next = txmgr.send(vec![calldata(inbox)]).await.unwrap()[0];
    assert_eq!(store.l1_intent(next).await.unwrap()[0].nonce, nonce + 1);
}
