//! Nodes on a real L1: contracts deployed on anvil, L1 origins followed over JSON-RPC, ETH
//! deposited through the Portal on L1 and minted on L2 by a deposit transaction, by the
//! sequencer and, when no batch ever arrives, by a replica deriving from L1 alone (forced
//! inclusion), and by the sequencer itself, which then replaces its own blocks with L1's. Skipped when anvil is not installed (run `contracts/build.sh`), except under
//! `CI=true`.

use std::{net::SocketAddr, sync::Arc, time::Duration};

use alloy::{
    eips::BlockNumberOrTag,
    node_bindings::Anvil,
    primitives::{Address, Bytes, B256, U256},
    providers::{Provider, ProviderBuilder},
    signers::local::PrivateKeySigner,
    sol,
};
use alloy::{network::EthereumWallet, node_bindings::AnvilInstance, providers::DynProvider};
use parallax_contracts::{deploy, DeployConfig, Deployment, Portal};
use parallax_l1::{CalldataOnly, RpcL1};
use parallax_protocol::{predeploys::L1_BLOCK, RollupConfig};
use parallax_sequencer::{
    follow::PipelineDeriver,
    genesis::Genesis,
    node::{self, NodeConfig, Roles, RunningNode},
    origin::L1Origins,
};
use parallax_state::store::SqlStore;

sol! {
    #[sol(rpc)]
    interface IL1Block {
        function number() external view returns (uint64);
        function hash() external view returns (bytes32);
    }
}

/// An anvil L1 (1 s blocks) with the contracts deployed, and the rollup they settle.
struct L1 {
    anvil: AnvilInstance,
    provider: DynProvider,
    deployment: Deployment,
    rollup: RollupConfig,
}

async fn l1() -> Option<L1> {
    let binary = parallax_contracts::anvil_for_tests()?;
    let anvil = Anvil::at(binary)
        .args(["--hardfork", "cancun", "--block-time", "1"])
        .try_spawn()
        .expect("anvil starts");
    let depositor: PrivateKeySigner = anvil.keys()[0].clone().into();
    let provider = ProviderBuilder::new()
        .wallet(EthereumWallet::from(depositor))
        .connect_http(anvil.endpoint_url())
        .erased();
    let config: DeployConfig =
        serde_json::from_str(include_str!("../../contracts/deploy/devnet.json")).unwrap();
    let deployment = deploy(&provider, &config).await.expect("contracts deploy");
    let anchor = deployment.genesis_anchor(&provider).await.expect("anchor");
    let mut rollup = deployment.rollup_config(&config, 901, anchor);
    rollup.block_time_ms = 250;
    Some(L1 {
        anvil,
        provider,
        deployment,
        rollup,
    })
}

impl L1 {
    /// A node over a fresh SQLite store in `dir`, with `roles` built from the L1 client.
    async fn node(
        &self,
        dir: &std::path::Path,
        roles: impl FnOnce(Arc<RpcL1>, Arc<RollupConfig>) -> Roles,
    ) -> RunningNode {
        let store = SqlStore::open(&format!("sqlite:{}", dir.join("chain.db").display()))
            .await
            .unwrap();
        let source = Arc::new(RpcL1::connect(self.anvil.endpoint().as_str()).expect("L1 client"));
        let roles = roles(source, Arc::new(self.rollup.clone()));
        let genesis = Genesis::dev(self.rollup.genesis.l2_timestamp).unwrap();
        let mut config = NodeConfig::new(&self.rollup, SocketAddr::from(([127, 0, 0, 1], 0)));
        config.params.threads = 2;
        node::start(store, &genesis, config, roles)
            .await
            .expect("node starts")
    }

    /// Deposits `amount` to `recipient` through the Portal; returns the L1 block.
    async fn deposit(&self, recipient: Address, amount: U256) -> u64 {
        let receipt = Portal::new(self.deployment.portal, &self.provider)
            .depositTransaction(recipient, amount, 100_000, false, Bytes::new())
            .value(amount)
            .send()
            .await
            .unwrap()
            .get_receipt()
            .await
            .unwrap();
        assert!(receipt.status());
        receipt.block_number.expect("mined")
    }
}

/// Polls `address`'s balance on `node` until it is `expected` (or a minute passes).
async fn balance_reaches(node: &RunningNode, address: Address, expected: U256) -> U256 {
    let l2 =
        ProviderBuilder::new().connect_http(format!("http://{}", node.rpc_addr).parse().unwrap());
    let mut balance = U256::ZERO;
    for _ in 0..240 {
        balance = l2.get_balance(address).await.unwrap_or_default();
        if balance == expected {
            break;
        }
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
    balance
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn l1_deposits_are_minted_on_l2_and_origins_follow_l1() {
    let Some(l1) = l1().await else { return };
    let dir = tempfile::tempdir().unwrap();
    let running = l1
        .node(dir.path(), |source, rollup| {
            Roles::sequencer(Box::new(L1Origins::new(source, rollup, 0)))
        })
        .await;
    let l2 = ProviderBuilder::new()
        .connect_http(format!("http://{}", running.rpc_addr).parse().unwrap());

    // Deposit 1.5 ETH to a fresh L2 address through the Portal.
    let recipient = Address::repeat_byte(0xd5);
    let amount = U256::from(1_500_000_000_000_000_000u128);
    let deposit_block = l1.deposit(recipient, amount).await;
    let minted = balance_reaches(&running, recipient, amount).await;
    assert_eq!(minted, amount, "the deposit was not minted on L2");

    // The L1Block predeploy has moved past the deposit's L1 block, and holds L1's own hash.
    let l1_block = IL1Block::new(L1_BLOCK, &l2);
    let origin = l1_block.number().call().await.unwrap();
    assert!(
        origin >= deposit_block,
        "origin {origin} < deposit block {deposit_block}"
    );
    let origin_hash = l1_block.hash().call().await.unwrap();
    let l1_header = l1
        .provider
        .get_block_by_number(BlockNumberOrTag::Number(origin))
        .await
        .unwrap()
        .expect("origin on L1");
    assert_eq!(origin_hash, l1_header.header.hash);

    // The deposit is a 0x7e transaction in the first block of its origin, with the mint.
    let head = l2.get_block_number().await.unwrap();
    let mut found = false;
    for number in 1..=head {
        let block: serde_json::Value = l2
            .raw_request(
                "eth_getBlockByNumber".into(),
                (format!("{number:#x}"), true),
            )
            .await
            .unwrap();
        for tx in block["transactions"].as_array().unwrap() {
            if tx["to"] == serde_json::json!(recipient) {
                assert_eq!(tx["type"], "0x7e");
                assert_eq!(tx["isSystemTx"], false);
                assert_eq!(tx["mint"], serde_json::json!(amount));
                found = true;
            }
        }
    }
    assert!(found, "no deposit transaction found on L2");
    running.stop().await.unwrap();
}

/// Forced inclusion: no sequencer and no batcher at all; a replica deriving from L1 alone still
/// includes the deposit once the sequencing window has passed, and refuses transactions.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_replica_forces_in_deposits_when_no_batch_arrives() {
    let Some(mut l1) = l1().await else { return };
    l1.rollup.sequencing_window = 4;
    l1.rollup.block_time_ms = 1_000;
    let dir = tempfile::tempdir().unwrap();
    let replica = l1
        .node(dir.path(), |source, rollup| {
            let genesis = rollup.genesis_block_info();
            Roles {
                sequencer: None,
                derivation: Some(Box::new(PipelineDeriver::new(
                    rollup,
                    source,
                    Arc::new(CalldataOnly),
                    &genesis,
                ))),
            }
        })
        .await;
    let recipient = Address::repeat_byte(0xf0);
    let amount = U256::from(42_000_000_000_000u64);
    l1.deposit(recipient, amount).await;
    let minted = balance_reaches(&replica, recipient, amount).await;
    assert_eq!(minted, amount, "the replica did not force the deposit in");

    let l2 = ProviderBuilder::new()
        .connect_http(format!("http://{}", replica.rpc_addr).parse().unwrap());
    let refused = l2
        .raw_request::<_, B256>(
            "eth_sendRawTransaction".into(),
            (Bytes::from_static(&[0x02]),),
        )
        .await
        .expect_err("a replica refuses transactions");
    assert!(refused.to_string().contains("replica"), "{refused}");
    let safe = l2
        .get_block_by_number(BlockNumberOrTag::Safe)
        .await
        .unwrap()
        .expect("safe head");
    assert!(safe.header.number > 0, "the safe head did not move");
    replica.stop().await.unwrap();
}

/// L1 is the source of truth: with no batcher, derivation forces blocks in once the sequencing
/// window passes, and the sequencer (which derives too) replaces its own blocks with them. The
/// user transaction of a replaced block is not lost: it is pending again and sequenced anew. The
/// sequencer's safe blocks are then exactly those a replica derives from L1 alone.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_sequencer_adopts_the_blocks_l1_forces_in_and_keeps_their_transactions() {
    let Some(mut l1) = l1().await else { return };
    l1.rollup.sequencing_window = 4;
    l1.rollup.block_time_ms = 500;
    let derived = |source: Arc<RpcL1>, rollup: Arc<RollupConfig>| {
        let genesis = rollup.genesis_block_info();
        Box::new(PipelineDeriver::new(
            rollup,
            source,
            Arc::new(CalldataOnly),
            &genesis,
        ))
    };
    let dir = tempfile::tempdir().unwrap();
    let sequencer = l1
        .node(dir.path(), |source, rollup| Roles {
            sequencer: Some(Box::new(L1Origins::new(source.clone(), rollup.clone(), 0))),
            derivation: Some(derived(source, rollup)),
        })
        .await;
    let sender: PrivateKeySigner = PrivateKeySigner::from_bytes(
        &parallax_sequencer::genesis::dev_accounts().unwrap()[0].private_key,
    )
    .unwrap();
    let l2 = ProviderBuilder::new()
        .wallet(EthereumWallet::from(sender))
        .connect_http(format!("http://{}", sequencer.rpc_addr).parse().unwrap());

    // A user transaction, sequenced at once; no batcher will ever post it.
    let pending = l2
        .send_transaction(
            alloy::rpc::types::TransactionRequest::default()
                .to(Address::repeat_byte(0xa1))
                .value(U256::from(7)),
        )
        .await
        .unwrap();
    let hash = *pending.tx_hash();
    let receipt = pending.get_receipt().await.unwrap();
    let first_block = receipt.block_number.expect("included");
    let first_hash = receipt.block_hash.expect("included");

    let recipient = Address::repeat_byte(0xf1);
    let amount = U256::from(5_000_000_000_000u64);
    l1.deposit(recipient, amount).await;
    assert_eq!(
        balance_reaches(&sequencer, recipient, amount).await,
        amount,
        "the deposit was not minted"
    );

    // Derivation forces blocks in over the unposted ones, and the sequencer adopts them.
    let mut safe = 0;
    for _ in 0..480 {
        safe = l2
            .get_block_by_number(BlockNumberOrTag::Safe)
            .await
            .unwrap()
            .map_or(0, |block| block.header.number);
        if safe > first_block {
            break;
        }
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
    assert!(
        safe > first_block,
        "safe head {safe} never passed block {first_block}"
    );
    let replaced = l2
        .get_block_by_number(BlockNumberOrTag::Number(first_block))
        .await
        .unwrap()
        .expect("block");
    assert_ne!(
        replaced.header.hash, first_hash,
        "block {first_block} was not replaced"
    );
    assert!(
        replaced.transactions.len() == 1,
        "a forced block holds only its L1-info deposit, not {} transactions",
        replaced.transactions.len()
    );

    // The transaction is still known: pending again, or sequenced in a newer unsafe block.
    let again = l2
        .get_transaction_by_hash(hash)
        .await
        .unwrap()
        .expect("the replaced block's transaction was lost");
    if let Some(number) = again.block_number {
        assert!(
            number > safe,
            "re-included in block {number}, at or below safe {safe}"
        );
    }

    // The sequencer's safe chain is the one L1 alone gives a replica.
    let replica_dir = tempfile::tempdir().unwrap();
    let replica = l1
        .node(replica_dir.path(), |source, rollup| Roles {
            sequencer: None,
            derivation: Some(derived(source, rollup)),
        })
        .await;
    let replica_l2 = ProviderBuilder::new()
        .connect_http(format!("http://{}", replica.rpc_addr).parse().unwrap());
    let mut replica_head = 0;
    for _ in 0..480 {
        replica_head = replica_l2.get_block_number().await.unwrap();
        if replica_head >= safe {
            break;
        }
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
    assert!(
        replica_head >= safe,
        "replica at {replica_head}, safe {safe}"
    );
    for number in 1..=safe {
        let ours = l2
            .get_block_by_number(BlockNumberOrTag::Number(number))
            .await
            .unwrap()
            .expect("sequenced");
        let derived = replica_l2
            .get_block_by_number(BlockNumberOrTag::Number(number))
            .await
            .unwrap()
            .expect("derived");
        assert_eq!(
            ours.header.hash, derived.header.hash,
            "block {number} differs"
        );
    }
    replica.stop().await.unwrap();
    sequencer.stop().await.unwrap();
}

/// L1 reorgs away the origin of the sequencer's head: the sequencer rewinds to the newest block
/// whose origin is still canonical and sequences again on L1's new chain; the user transaction
/// of a dropped block is included again, under a canonical origin.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_sequencer_rewinds_the_blocks_whose_l1_origin_is_reorged_away() {
    let Some(l1) = l1().await else { return };
    let dir = tempfile::tempdir().unwrap();
    let sequencer = l1
        .node(dir.path(), |source, rollup| {
            Roles::sequencer(Box::new(L1Origins::new(source, rollup, 0)))
        })
        .await;
    let sender = PrivateKeySigner::from_bytes(
        &parallax_sequencer::genesis::dev_accounts().unwrap()[1].private_key,
    )
    .unwrap();
    let l2 = ProviderBuilder::new()
        .wallet(EthereumWallet::from(sender))
        .connect_http(format!("http://{}", sequencer.rpc_addr).parse().unwrap());
    // The L1 origin (number, hash) the L1Block predeploy held after L2 block `number`.
    let origin_at = |number: u64| {
        let l2 = l2.clone();
        async move {
            let l1_block = IL1Block::new(L1_BLOCK, &l2);
            let at = alloy::eips::BlockId::number(number);
            (
                l1_block.number().block(at).call().await.unwrap(),
                l1_block.hash().block(at).call().await.unwrap(),
            )
        }
    };

    let snapshot: U256 = l1
        .provider
        .raw_request("evm_snapshot".into(), ())
        .await
        .unwrap();
    let forked_at = l1.provider.get_block_number().await.unwrap();
    // L2 moves onto origins above the snapshot, then a transaction is included there.
    for _ in 0..120 {
        let head = l2.get_block_number().await.unwrap();
        if origin_at(head).await.0 > forked_at + 1 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
    let receipt = l2
        .send_transaction(
            alloy::rpc::types::TransactionRequest::default()
                .to(Address::repeat_byte(0xb2))
                .value(U256::from(9)),
        )
        .await
        .unwrap()
        .get_receipt()
        .await
        .unwrap();
    let hash = receipt.transaction_hash;
    let (orphaned_origin, _) = origin_at(receipt.block_number.unwrap()).await;
    assert!(
        orphaned_origin > forked_at,
        "origin {orphaned_origin} is not above the fork"
    );

    // L1 goes back to the snapshot and grows another chain.
    let reverted: bool = l1
        .provider
        .raw_request("evm_revert".into(), (snapshot,))
        .await
        .unwrap();
    assert!(reverted);
    let mut again = None;
    for _ in 0..240 {
        if let Some(now) = l2.get_transaction_receipt(hash).await.unwrap() {
            if now.block_hash != receipt.block_hash {
                again = Some(now);
                break;
            }
        }
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
    let again = again.expect("the transaction was not sequenced again after the L1 reorg");
    let number = again.block_number.unwrap();
    let (origin, origin_hash) = origin_at(number).await;
    let canonical = l1
        .provider
        .get_block_by_number(BlockNumberOrTag::Number(origin))
        .await
        .unwrap()
        .expect("origin on L1");
    assert_eq!(
        origin_hash, canonical.header.hash,
        "block {number}'s origin is not canonical"
    );
    sequencer.stop().await.unwrap();
}
