//! Forced inclusion with a live sequencer that ignores L1: its view of L1 stops at one block
//! (as if its L1 node stalled), so it keeps its L1 origin, never takes the deposit made on L1
//! after that, and past the sequencer drift seals only empty blocks; the batcher keeps posting
//! what it seals. A replica deriving from L1 alone takes the sequencer's batches while they are
//! valid, then, once the sequencing window of the stuck origin has passed, forces blocks that
//! advance the origin over L1, with the deposit in the first block of its epoch.
//!
//! L1 is the source of truth for the sequencer too: its derivation finds the forced block differs
//! from its own, so it drops its unsafe blocks from there and adopts the forced one, deposit
//! included (`Chain::adopt`), although its own (frozen) L1 view never showed it the deposit.
//!
//! The sequencer runs the production `L1Origins` over an L1 source whose view is frozen; only
//! that view is a test double.

mod common;

use std::{
    sync::{
        atomic::{AtomicU64, Ordering},
        Arc,
    },
    time::Duration,
};

use alloy::{
    eips::BlockNumberOrTag,
    network::EthereumWallet,
    primitives::{Address, Bytes, TxKind, U256},
    providers::{Provider, ProviderBuilder},
    signers::local::PrivateKeySigner,
};
use common::{batcher, deriver, init_logs, safe_head, L1, L2};
use parallax_batcher::da::CalldataDa;
use parallax_contracts::Portal;
use parallax_l1::RpcL1;
use parallax_protocol::{
    block::L1BlockInfo,
    deposit::{DepositTx, IndexedLog, DEPOSIT_TX_TYPE},
    derive::{InboxTransaction, L1Source},
};
use parallax_sequencer::{node::Roles, origin::L1Origins};
use parallax_state::store::{ChainStore, HeadKind};

/// L1 as seen through a node that stopped syncing at `frozen_at` (`u64::MAX`: live).
struct FrozenView {
    inner: Arc<RpcL1>,
    frozen_at: Arc<AtomicU64>,
}

impl L1Source for FrozenView {
    type Error = <RpcL1 as L1Source>::Error;

    fn block_by_number(&self, number: u64) -> Result<Option<L1BlockInfo>, Self::Error> {
        if number > self.frozen_at.load(Ordering::SeqCst) {
            return Ok(None);
        }
        self.inner.block_by_number(number)
    }

    fn inbox_transactions(
        &self,
        block: &L1BlockInfo,
        inbox: Address,
    ) -> Result<Vec<InboxTransaction>, Self::Error> {
        self.inner.inbox_transactions(block, inbox)
    }

    fn logs(
        &self,
        block: &L1BlockInfo,
        emitters: &[Address],
    ) -> Result<Vec<IndexedLog>, Self::Error> {
        self.inner.logs(block, emitters)
    }

    fn logs_before(
        &self,
        number: u64,
        emitter: Address,
    ) -> Result<Vec<(u64, IndexedLog)>, Self::Error> {
        self.inner.logs_before(number, emitter)
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_deposit_the_sequencer_ignores_is_forced_in_by_derivation() {
    init_logs();
    // L1 moves every second on its own.
    let Some(l1) = L1::start_with(&["--block-time", "1"]).await else {
        return;
    };
    // A short window and drift, so both run out within seconds.
    let mut rollup = l1.rollup();
    rollup.sequencing_window = 6;
    rollup.max_sequencer_drift = 3;

    let endpoint = l1.anvil.endpoint();
    let live = Arc::new(RpcL1::connect(endpoint.as_str()).expect("L1 client"));
    let frozen_at = Arc::new(AtomicU64::new(u64::MAX));
    let view = Arc::new(FrozenView {
        inner: live,
        frozen_at: frozen_at.clone(),
    });
    let sequencer = L2::start_with(
        &rollup,
        Roles {
            sequencer: Some(Box::new(L1Origins::new(view, Arc::new(rollup.clone()), 0))),
            derivation: Some(deriver(&l1, &rollup)),
        },
    )
    .await;
    let mut batcher = batcher(&l1, &sequencer, CalldataDa::new(rollup.batch_inbox_address)).await;
    let replica = L2::start_with(
        &rollup,
        Roles {
            sequencer: None,
            derivation: Some(deriver(&l1, &rollup)),
        },
    )
    .await;

    // While the sequencer follows L1, its blocks are posted and derived as they are.
    sequencer.transfer(2, 2, 0).await;
    let followed = sequencer.head().await;
    let mut replica_safe = 0;
    for _ in 0..400 {
        batcher.step().await.expect("batcher step");
        replica_safe = safe_head(&replica.store).await;
        if replica_safe >= followed {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(
        replica_safe >= followed,
        "the replica derived {replica_safe} of {followed} blocks while the sequencer followed L1"
    );

    // The sequencer's L1 view stops here; then a deposit is made on L1.
    let l1_head = l1.provider.get_block_number().await.expect("L1 head");
    frozen_at.store(l1_head, Ordering::SeqCst);
    let recipient = Address::repeat_byte(0xfc);
    let amount = U256::from(3_000_000_000_000_000u64);
    let depositor: PrivateKeySigner = l1.anvil.keys()[7].clone().into();
    let depositor = ProviderBuilder::new()
        .wallet(EthereumWallet::from(depositor))
        .connect_http(l1.anvil.endpoint_url());
    let receipt = Portal::new(l1.deployment.portal, &depositor)
        .depositTransaction(recipient, amount, 100_000, false, Bytes::new())
        .value(amount)
        .send()
        .await
        .expect("deposit sent")
        .get_receipt()
        .await
        .expect("deposit mined");
    assert!(receipt.status(), "the deposit reverted");
    let deposit_block = receipt.block_number.expect("mined");
    assert!(deposit_block > l1_head);

    // The replica, from L1 alone, includes it; the batcher keeps posting the sequencer's blocks.
    let replica_rpc = ProviderBuilder::new().connect_http(replica.rpc.parse().expect("url"));
    let mut minted = U256::ZERO;
    for _ in 0..1200 {
        batcher.step().await.expect("batcher step");
        minted = replica_rpc.get_balance(recipient).await.unwrap_or_default();
        if minted == amount {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(minted, amount, "the replica never included the deposit");

    // The block that carries it is forced: the first of the deposit's epoch, deposits only.
    // Every block a replica seals is derived; its safe head moves just after the seal, so the
    // balance above may already show a block the safe head does not cover yet.
    let replica_head = replica
        .store
        .head(HeadKind::Unsafe)
        .await
        .expect("safe head")
        .expect("derived");
    let mut carrier = None;
    for number in 1..=replica_head.number {
        let block = replica
            .store
            .block(number)
            .await
            .expect("read")
            .expect("derived");
        let carries = block.transactions.iter().any(|tx| {
            DepositTx::decode(&tx.raw).is_ok_and(|deposit| deposit.to == TxKind::Call(recipient))
        });
        if carries {
            carrier = Some(block);
            break;
        }
    }
    let carrier = carrier.expect("a replica block with the deposit");
    assert_eq!(
        carrier.l1_origin.number, deposit_block,
        "the deposit's block has another origin"
    );
    assert!(
        carrier.transactions.len() >= 2
            && carrier
                .transactions
                .iter()
                .all(|tx| tx.raw.first() == Some(&DEPOSIT_TX_TYPE)),
        "block {} should hold the L1-info deposit and the user deposit only",
        carrier.header.number
    );
    let forced_from = carrier.header.number;

    // The sequencer adopts the forced block and the deposit with it: its derivation reads the
    // live L1 even though its origin selection is frozen.
    let sequencer_rpc = ProviderBuilder::new().connect_http(sequencer.rpc.parse().expect("url"));
    let mut sequencer_safe = 0;
    for _ in 0..600 {
        sequencer_safe = safe_head(&sequencer.store).await;
        if sequencer_safe >= forced_from {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(
        sequencer_safe >= forced_from,
        "sequencer safe head {sequencer_safe} never reached the forced block {forced_from}"
    );
    let ours = sequencer
        .store
        .block(forced_from)
        .await
        .expect("read")
        .expect("adopted");
    assert_eq!(
        ours.hash, carrier.hash,
        "the sequencer did not adopt the forced block"
    );
    assert_eq!(
        sequencer_rpc
            .get_balance(recipient)
            .block_id(alloy::eips::BlockId::number(forced_from))
            .await
            .expect("balance"),
        amount,
        "the sequencer's chain lacks the forced deposit"
    );
    // The replica agrees with the sequencer up to what it derived from the sequencer's batches.
    for number in 1..=followed {
        let ours = sequencer.store.header(number).await.expect("read");
        let derived = replica.store.header(number).await.expect("read");
        assert_eq!(
            ours.map(|h| h.hash),
            derived.map(|h| h.hash),
            "block {number}"
        );
    }
    let safe_block = sequencer_rpc
        .get_block_by_number(BlockNumberOrTag::Safe)
        .await
        .expect("safe block")
        .expect("exists");
    assert!(safe_block.header.number >= forced_from);

    let mut replica = replica;
    let mut sequencer = sequencer;
    replica.stop().await;
    sequencer.stop().await;
}
