//! Fraud proofs end to end on anvil: a sequencer follows L1 and the batcher posts its blocks; a
//! malicious proposer posts a wrong output root (1 ETH more in one account after one block) and
//! defends it with a consistent fake trace; a challenger whose replica derives the chain from
//! L1 alone challenges it, bisects over blocks and transactions, and proves the transaction on
//! L1 with the EVM step verifier, surviving a restart in the middle of the game. The lie is
//! deleted, the challenger collects both bonds, and the proposer's honest re-proposal of the
//! same block is left alone and finalizes.
//!
//! The reverse: a challenger who believes a wrong chain challenges a correct proposal and loses
//! its bond to the proposer. And lies right after a signed transfer and after a call reading
//! BLOCKHASH of an older block, whose steps re-execute those transactions on L1 (the latter with
//! the ancestor headers that prove the hash).
//!
//! A header whose timestamp is one second off (state, gas and receipts right) is proven wrong
//! by the header rules instead of a one-step proof.
//!
//! Each move's L1 gas is printed (`--nocapture`).

mod common;

use std::{sync::Arc, time::Duration};

use alloy::{
    consensus::{SignableTransaction, TxEip1559},
    eips::eip2718::Encodable2718,
    eips::BlockId,
    network::TxSignerSync,
    primitives::{Address, Bytes, TxKind, U256},
    providers::{Provider, ProviderBuilder},
    rpc::types::{Filter, TransactionReceipt},
    signers::local::PrivateKeySigner,
    sol_types::SolEvent,
};
use common::{batcher, init_logs, txmgr_config, L1, L2};
use parallax_batcher::{
    da::CalldataDa, Batcher, DefendConfig, Metrics, ProposeAfter, Proposer, ProposerConfig,
};
use parallax_contracts::{DisputeGame, OutputOracle};
use parallax_fraud_proof::{
    player::{Action, GamePlayer, HeaderCheck, PlayerConfig},
    truth::{ChainTruth, Corruption, Lie},
};
use parallax_sequencer::genesis::dev_accounts;
use parallax_state::store::{ChainStore, HeadKind, SqlStore};
use parallax_txmgr::TxManager;

/// The rollup on anvil: a sequencer following L1 origins, its batcher, and a replica that
/// derives from L1 alone (the challenger's view).
struct Rollup {
    l1: L1,
    sequencer: L2,
    replica: L2,
    batcher: Batcher<SqlStore, CalldataDa>,
}

/// The rollup with a proposal every `interval` L2 blocks.
async fn rollup(interval: u64) -> Option<Rollup> {
    // Short windows and clocks: a game takes a few dozen L1 blocks of one second.
    let l1 = L1::start_configured(&["--block-time", "1"], |config| {
        config.challenge_window = U256::from(40);
        config.dispute_clock_seconds = U256::from(90);
        config.proposal_interval = U256::from(interval);
    })
    .await?;
    let rollup = l1.rollup();
    let sequencer = L2::sequencer_on(&l1).await;
    let replica = L2::replica_of(&l1).await;
    let batcher = batcher(&l1, &sequencer, CalldataDa::new(rollup.batch_inbox_address)).await;
    Some(Rollup {
        l1,
        sequencer,
        replica,
        batcher,
    })
}

async fn proposer(rollup: &Rollup, malicious_from: Option<u64>, lie: Lie) -> Proposer<SqlStore> {
    let l1 = &rollup.l1;
    let txmgr = l1
        .txmgr(
            rollup.sequencer.store.clone(),
            l1.proposer_key(),
            txmgr_config("proposer"),
        )
        .await;
    Proposer::new(
        rollup.sequencer.store.clone(),
        txmgr,
        ProposerConfig {
            oracle: l1.deployment.output_oracle,
            genesis: 0,
            poll_interval: Duration::from_millis(50),
            after: ProposeAfter::SafeHead,
            defend: Some(DefendConfig {
                rollup: l1.rollup(),
                malicious_from,
                lie,
            }),
        },
        Arc::new(Metrics::default()),
    )
    .await
    .expect("proposer starts")
}

/// A challenger (anvil account 6) judging with `truth` over the replica's store.
async fn challenger(
    rollup: &Rollup,
    truth: ChainTruth<SqlStore>,
) -> (GamePlayer<SqlStore>, TxManager<SqlStore>, Address) {
    let l1 = &rollup.l1;
    let key: PrivateKeySigner = l1.anvil.keys()[6].clone().into();
    let me = key.address();
    let txmgr = l1
        .txmgr(
            rollup.replica.store.clone(),
            key,
            txmgr_config("challenger"),
        )
        .await;
    let player = GamePlayer::new(
        truth,
        rollup.replica.store.clone(),
        l1.provider.clone(),
        me,
        PlayerConfig {
            oracle: l1.deployment.output_oracle,
            challenge: true,
            max_scan: 64,
        },
    );
    (player, txmgr, me)
}

/// One round of every service: the batcher posts, the proposer proposes and defends, the
/// challenger's tx manager follows its transactions and the challenger plays. A failed player
/// step is retried on the next round, as the service does (e.g. both parties sent the step and
/// the second one's gas estimate meets a decided game).
async fn tick(
    rollup: &mut Rollup,
    proposer: &mut Proposer<SqlStore>,
    player: &GamePlayer<SqlStore>,
    txmgr: &TxManager<SqlStore>,
) -> Action {
    rollup.batcher.step().await.expect("batcher step");
    proposer.step().await.expect("proposer step");
    txmgr.poll().await.expect("challenger tx manager");
    player.step(txmgr).await.unwrap_or_else(|error| {
        eprintln!("challenger step failed (retrying): {error}");
        Action::Idle
    })
}

/// The L1 gas of every transaction to `game`, by the event it emitted.
async fn move_gas(l1: &L1, game: Address) -> Vec<(String, u64)> {
    let logs = l1
        .provider
        .get_logs(&Filter::new().address(game).from_block(0))
        .await
        .expect("game logs");
    let mut gas = Vec::new();
    for log in logs {
        let name = match log.topic0().copied() {
            Some(t) if t == DisputeGame::Defended::SIGNATURE_HASH => "defend",
            Some(t) if t == DisputeGame::Chosen::SIGNATURE_HASH => "choose",
            Some(t) if t == DisputeGame::BlockOpened::SIGNATURE_HASH => "openBlock",
            Some(t) if t == DisputeGame::StepVerified::SIGNATURE_HASH => "step (EVM verifier)",
            Some(t) if t == DisputeGame::TxCountDisproven::SIGNATURE_HASH => "tx count proof",
            Some(t) if t == DisputeGame::HeaderDisproven::SIGNATURE_HASH => "header proof",
            Some(t) if t == DisputeGame::HeaderAccepted::SIGNATURE_HASH => "acceptHeader",
            _ => continue,
        };
        let hash = log.transaction_hash.expect("mined log");
        gas.push((name.to_string(), l1.receipt(hash).await.gas_used));
    }
    gas
}

/// The statuses the game's `StepVerified` events report (1 = challenger wins, 2 = defender).
async fn step_verdicts(l1: &L1, game: Address) -> Vec<u8> {
    let logs = l1
        .provider
        .get_logs(
            &Filter::new()
                .address(game)
                .event_signature(DisputeGame::StepVerified::SIGNATURE_HASH)
                .from_block(0),
        )
        .await
        .expect("game logs");
    logs.iter()
        .filter_map(|log| log.log_decode::<DisputeGame::StepVerified>().ok())
        .map(|event| event.inner.data.status)
        .collect()
}

/// The game opened on proposal `index`, from the oracle's `OutputChallenged` events (the
/// proposal forgets its game once the outcome is applied).
async fn game_of(l1: &L1, index: u64) -> Option<Address> {
    let logs = l1
        .provider
        .get_logs(
            &Filter::new()
                .address(l1.deployment.output_oracle)
                .event_signature(OutputOracle::OutputChallenged::SIGNATURE_HASH)
                .from_block(0),
        )
        .await
        .expect("oracle logs");
    logs.iter().rev().find_map(|log| {
        let event = log.log_decode::<OutputOracle::OutputChallenged>().ok()?;
        (event.inner.data.outputIndex == U256::from(index)).then_some(event.inner.data.game)
    })
}

/// Proposes a wrong output from L2 block `block` on, lets an honest challenger play the game it
/// opens until it claims its credit, and returns the game.
async fn lie_and_play(rollup: &mut Rollup, block: u64, lie: Lie) -> Address {
    let mut proposer = proposer(rollup, Some(block), lie).await;
    let truth = ChainTruth::new(rollup.replica.store.clone(), rollup.l1.rollup());
    let (player, txmgr, _) = challenger(rollup, truth).await;
    let mut challenged = None;
    for _ in 0..1_200 {
        match tick(rollup, &mut proposer, &player, &txmgr).await {
            Action::Challenged { index } => challenged = Some(index),
            Action::ClaimedCredit { .. } => break,
            _ => {}
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let index = challenged.expect("the challenger opened a game");
    game_of(&rollup.l1, index)
        .await
        .expect("the game's address")
}

async fn safe_head(store: &SqlStore) -> u64 {
    store
        .head(HeadKind::Safe)
        .await
        .expect("head")
        .map_or(0, |head| head.number)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_wrong_output_root_is_proven_wrong_on_l1_and_its_bond_slashed() {
    init_logs();
    let Some(mut rollup) = rollup(4).await else {
        return;
    };
    rollup.sequencer.transfer(2, 2, 0).await;
    // The first proposal (block 4) is the lie.
    let mut proposer = proposer(&rollup, Some(1), DefendConfig::balance_lie()).await;
    let truth = ChainTruth::new(rollup.replica.store.clone(), rollup.l1.rollup());
    let (mut player, mut txmgr, me) = challenger(&rollup, truth).await;
    let oracle = OutputOracle::new(
        rollup.l1.deployment.output_oracle,
        rollup.l1.provider.clone(),
    );
    let balance_before = rollup.l1.provider.get_balance(me).await.unwrap();

    let mut challenged = None;
    let mut claimed = U256::ZERO;
    let mut restarted = false;
    for _ in 0..1_200 {
        let action = tick(&mut rollup, &mut proposer, &player, &txmgr).await;
        match action {
            Action::Challenged { index } => challenged = Some(index),
            Action::ClaimedCredit { amount } => {
                claimed = amount;
                break;
            }
            Action::Moved { .. } if !restarted => {
                // Restart the challenger in the middle of the game, with a move maybe still
                // unconfirmed: a new player and tx manager on the same store carry on from L1
                // and the journal.
                drop((player, txmgr));
                let truth = ChainTruth::new(rollup.replica.store.clone(), rollup.l1.rollup());
                (player, txmgr, _) = challenger(&rollup, truth).await;
                restarted = true;
            }
            Action::Idle
            | Action::Waiting
            | Action::Moved { .. }
            | Action::Settled { .. }
            | Action::TimedOut { .. } => {}
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let index = challenged.expect("the challenger opened a game");
    assert!(restarted, "the challenger was restarted during the game");
    let game = game_of(&rollup.l1, index)
        .await
        .expect("the game's address");
    assert_eq!(index, 0, "the first proposal was the lie");
    let steps = step_verdicts(&rollup.l1, game).await;
    assert_eq!(
        steps,
        vec![1],
        "one one-step proof decided the game for the challenger"
    );
    let status = DisputeGame::new(game, rollup.l1.provider.clone())
        .status()
        .call()
        .await
        .unwrap();
    assert_eq!(status, 1, "CHALLENGER_WINS");
    let bonds =
        oracle.proposalBond().call().await.unwrap() + oracle.challengeBond().call().await.unwrap();
    assert_eq!(claimed, bonds, "the challenger collected both bonds");
    // The claim is sent; once it is confirmed the challenger has more than it started with
    // (both bonds, minus the L1 fees of its moves).
    for _ in 0..100 {
        txmgr.poll().await.expect("challenger tx manager");
        if txmgr.open_intents().await.is_empty() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    assert!(rollup.l1.provider.get_balance(me).await.unwrap() > balance_before);

    // Both players recorded the game for their operators: the sequencer's status page shows
    // the proposer's loss, the challenger's store its win.
    let status: serde_json::Value = reqwest::get(format!("{}/status.json", rollup.sequencer.rpc))
        .await
        .expect("status")
        .json()
        .await
        .expect("status JSON");
    let row = &status["disputeGames"][0];
    assert_eq!(row["game"], game.to_string(), "{status}");
    assert_eq!(
        (row["role"].as_str(), row["status"].as_str()),
        (Some("defender"), Some("lost"))
    );
    let ours = rollup.replica.store.dispute_games().await.expect("records");
    assert_eq!(ours.len(), 1);
    assert_eq!(
        (ours[0].role.as_str(), ours[0].status.as_str()),
        ("challenger", "won")
    );

    println!("L1 gas per move of the game that proved the lie:");
    for (name, gas) in move_gas(&rollup.l1, game).await {
        println!("  {name:<22} {gas:>10}");
    }

    // The proposer re-proposes block 4, honestly this time; nobody challenges it and it
    // finalizes after the window.
    let honest_root = ChainTruth::new(rollup.replica.store.clone(), rollup.l1.rollup())
        .output_root(4)
        .await
        .expect("output root");
    let mut finalized = false;
    for _ in 0..1_200 {
        let action = tick(&mut rollup, &mut proposer, &player, &txmgr).await;
        assert!(
            !matches!(action, Action::Challenged { .. }),
            "an honest proposal was challenged"
        );
        if oracle.outputCount().call().await.unwrap() > U256::ZERO
            && oracle.isFinalized(U256::ZERO).call().await.unwrap()
        {
            finalized = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(finalized, "the honest re-proposal finalized");
    let first = oracle.getOutput(U256::ZERO).call().await.unwrap();
    assert_eq!(first.l2BlockNumber, 4);
    assert_eq!(first.outputRoot, honest_root);
    assert!(safe_head(&rollup.replica.store).await >= 4);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_challenge_against_a_correct_output_root_loses() {
    init_logs();
    let Some(mut rollup) = rollup(4).await else {
        return;
    };
    rollup.sequencer.transfer(2, 1, 0).await;
    let mut proposer = proposer(&rollup, None, DefendConfig::balance_lie()).await;
    // This challenger's chain has 1 wei too much somewhere in block 4: it disputes the truth.
    let wrong = ChainTruth::corrupted(
        rollup.replica.store.clone(),
        rollup.l1.rollup(),
        Corruption {
            block: 4,
            lie: Lie::Balance {
                account: Address::repeat_byte(0x77),
                extra_wei: U256::from(1),
            },
        },
    );
    let (player, txmgr, _) = challenger(&rollup, wrong).await;
    let mut challenged = None;
    let mut game = Address::ZERO;
    let mut resolved = false;
    // The L1 block at which the game was seen open at level 2.
    let mut level2_at = None;
    for _ in 0..1_200 {
        if let Action::Challenged { index } =
            tick(&mut rollup, &mut proposer, &player, &txmgr).await
        {
            challenged = Some(index);
        }
        if let (Some(index), Address::ZERO) = (challenged, game) {
            game = game_of(&rollup.l1, index).await.unwrap_or_default();
        }
        if game != Address::ZERO {
            let contract = DisputeGame::new(game, rollup.l1.provider.clone());
            let at = BlockId::number(rollup.l1.provider.get_block_number().await.unwrap());
            let status = contract.status().block(at).call().await.unwrap();
            if status == 0
                && level2_at.is_none()
                && contract.stage().block(at).call().await.unwrap() >= 2
            {
                level2_at = Some(at);
            }
            if status != 0 {
                assert_eq!(status, 2, "DEFENDER_WINS");
                resolved = true;
                break;
            }
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(
        resolved,
        "the game against the correct proposal was decided"
    );
    // The correct header follows every header rule: at level 2 the game refused to call it
    // wrong, with proofs from the same store the correct proposal came from.
    let at = level2_at.expect("the game was seen at level 2");
    let check = player
        .check_header(game, 4, at)
        .await
        .expect("header check");
    assert_eq!(
        check,
        HeaderCheck::FollowsRules,
        "a correct header is what the rules give"
    );
    assert_eq!(
        step_verdicts(&rollup.l1, game).await,
        vec![2],
        "the one-step proof confirmed the proposal"
    );
    // The defender may record its win a step later than the challenger sees the loss.
    for _ in 0..50 {
        proposer.step().await.expect("proposer step");
        let records = rollup
            .sequencer
            .store
            .dispute_games()
            .await
            .expect("records");
        if records.iter().any(|record| record.status == "won") {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let records = rollup
        .sequencer
        .store
        .dispute_games()
        .await
        .expect("records");
    assert_eq!(records.len(), 1);
    assert_eq!(
        (records[0].role.as_str(), records[0].status.as_str()),
        ("defender", "won")
    );
    println!("L1 gas per move of the game the defender won:");
    for (name, gas) in move_gas(&rollup.l1, game).await {
        println!("  {name:<22} {gas:>10}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_lie_after_a_signed_transaction_is_proven_by_executing_it_on_l1() {
    // A proposal for every block, so the lie can sit in a block that holds user transfers: the
    // one-step proof then re-executes a signed transaction (signature, nonce, L1 data fee, the
    // three fee vaults) on L1.
    let Some(mut rollup) = rollup(1).await else {
        return;
    };
    rollup.sequencer.transfer(2, 1, 0).await;
    let mut block = 0;
    for number in 1..=rollup.sequencer.head().await {
        let stored = rollup
            .sequencer
            .store
            .block(number)
            .await
            .unwrap()
            .expect("sealed");
        if stored.transactions.len() > 1 {
            block = number;
            break;
        }
    }
    assert!(block > 0, "a block with user transactions");
    let game = lie_and_play(&mut rollup, block, DefendConfig::balance_lie()).await;
    assert_eq!(step_verdicts(&rollup.l1, game).await, vec![1]);
    // The step was on the block's last transaction, a signed transfer.
    let logs = rollup
        .l1
        .provider
        .get_logs(
            &Filter::new()
                .address(game)
                .event_signature(DisputeGame::StepVerified::SIGNATURE_HASH)
                .from_block(0),
        )
        .await
        .expect("game logs");
    let step = logs[0]
        .log_decode::<DisputeGame::StepVerified>()
        .expect("StepVerified");
    let stored = rollup
        .sequencer
        .store
        .block(block)
        .await
        .unwrap()
        .expect("sealed");
    let proven = &stored.transactions[usize::try_from(step.inner.data.txIndex).unwrap()];
    assert_ne!(proven.raw[0], 0x7e, "a signed transaction, not a deposit");
    println!("L1 gas per move of the game over a signed transfer:");
    for (name, gas) in move_gas(&rollup.l1, game).await {
        println!("  {name:<22} {gas:>10}");
    }
}

/// A signed EIP-1559 transaction from dev account 3 (no other test sender) to `to`.
fn reader_tx(nonce: u64, to: TxKind, input: Vec<u8>) -> Bytes {
    let account = &dev_accounts().expect("dev accounts")[3];
    let key = PrivateKeySigner::from_bytes(&account.private_key).expect("key");
    let mut tx = TxEip1559 {
        chain_id: 901,
        nonce,
        gas_limit: 200_000,
        max_fee_per_gas: 1_000_000_000,
        max_priority_fee_per_gas: 1_000_000,
        to,
        input: input.into(),
        ..Default::default()
    };
    let signature = key.sign_transaction_sync(&mut tx).expect("signs");
    tx.into_signed(signature).encoded_2718().into()
}

/// Sends `raw` to the L2 and waits for its receipt.
async fn included(rpc: &str, raw: &Bytes) -> TransactionReceipt {
    let provider = ProviderBuilder::new().connect_http(rpc.parse().expect("url"));
    let pending = provider
        .send_raw_transaction(raw)
        .await
        .expect("L2 accepts the transaction");
    for _ in 0..300 {
        if let Some(receipt) = provider
            .get_transaction_receipt(*pending.tx_hash())
            .await
            .expect("receipt query")
        {
            assert!(receipt.status(), "{receipt:?}");
            return receipt;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("L2 transaction not included");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_lie_after_a_blockhash_of_an_older_block_is_proven_on_l1() {
    // The lie sits in the block of a call that stores BLOCKHASH(NUMBER - 3): the one-step proof
    // re-executes it on L1 with the two ancestor headers that prove that hash.
    let Some(mut rollup) = rollup(1).await else {
        return;
    };
    let rpc = rollup.sequencer.rpc.clone();
    // Runtime `d = CALLDATALOAD(0); SSTORE(d, BLOCKHASH(NUMBER - d))` behind its constructor.
    let runtime = [0x60, 0x00, 0x35, 0x80, 0x43, 0x03, 0x40, 0x90, 0x55, 0x00];
    let mut initcode = vec![
        0x60, 10, 0x60, 0x0c, 0x60, 0x00, 0x39, 0x60, 10, 0x60, 0x00, 0xf3,
    ];
    initcode.extend_from_slice(&runtime);
    let deployed = included(&rpc, &reader_tx(0, TxKind::Create, initcode)).await;
    let reader = deployed.contract_address.expect("deployed");
    let deployed_in = deployed.block_number.expect("in a block");
    while rollup.sequencer.head().await < deployed_in + 4 {
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let depth = U256::from(3);
    let call = included(
        &rpc,
        &reader_tx(1, TxKind::Call(reader), depth.to_be_bytes::<32>().to_vec()),
    )
    .await;
    let block = call.block_number.expect("in a block");
    let stored = rollup
        .sequencer
        .store
        .block(block)
        .await
        .unwrap()
        .expect("sealed");
    assert_eq!(
        call.transaction_index,
        Some(stored.transactions.len() as u64 - 1),
        "the call is its block's last transaction (where the lie is told)"
    );
    let older = rollup
        .sequencer
        .store
        .header(block - 3)
        .await
        .unwrap()
        .expect("sealed");
    let provider = ProviderBuilder::new().connect_http(rpc.parse().expect("url"));
    assert_eq!(
        provider
            .get_storage_at(reader, depth)
            .await
            .expect("storage"),
        U256::from_be_bytes(older.hash.0),
        "BLOCKHASH gave the L2 block hash"
    );

    let game = lie_and_play(&mut rollup, block, DefendConfig::balance_lie()).await;
    assert_eq!(
        step_verdicts(&rollup.l1, game).await,
        vec![1],
        "CHALLENGER_WINS"
    );
    let logs = rollup
        .l1
        .provider
        .get_logs(
            &Filter::new()
                .address(game)
                .event_signature(DisputeGame::StepVerified::SIGNATURE_HASH)
                .from_block(0),
        )
        .await
        .expect("game logs");
    let step = logs[0]
        .log_decode::<DisputeGame::StepVerified>()
        .expect("StepVerified");
    assert_eq!(
        Some(step.inner.data.txIndex.to::<u64>()),
        call.transaction_index,
        "the step re-executed the BLOCKHASH call"
    );
    let context = DisputeGame::new(game, rollup.l1.provider.clone())
        .blockContext()
        .call()
        .await
        .unwrap();
    assert_eq!(context.parentHash, stored.header.parent_hash);
    println!("L1 gas per move of the game over a BLOCKHASH(NUMBER - 3) call:");
    for (name, gas) in move_gas(&rollup.l1, game).await {
        println!("  {name:<22} {gas:>10}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_header_with_a_wrong_timestamp_is_proven_wrong_on_l1() {
    // The lie changes only the header's timestamp: state, gas and receipts are right, so every
    // trace commitment agrees and no one-step proof could expose it. The header rules do.
    init_logs();
    let Some(mut rollup) = rollup(4).await else {
        return;
    };
    rollup.sequencer.transfer(2, 1, 0).await;
    let game = lie_and_play(&mut rollup, 1, Lie::Timestamp { seconds: 1 }).await;
    let contract = DisputeGame::new(game, rollup.l1.provider.clone());
    assert_eq!(
        contract.status().call().await.unwrap(),
        1,
        "CHALLENGER_WINS"
    );
    assert!(
        step_verdicts(&rollup.l1, game).await.is_empty(),
        "decided without a one-step proof"
    );
    let gas = move_gas(&rollup.l1, game).await;
    assert!(
        gas.iter().any(|(name, _)| name == "header proof"),
        "the header proof decided it: {gas:?}"
    );
    println!("L1 gas per move of the game that proved the header wrong:");
    for (name, gas) in gas {
        println!("  {name:<22} {gas:>10}");
    }
}
