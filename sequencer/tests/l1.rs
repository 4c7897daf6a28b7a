//! Nodes on a real L1: contracts deployed on anvil, L1 origins followed over JSON-RPC, ETH
//! deposited through the Portal on L1 and minted on L2 by a deposit transaction, by the
//! sequencer and, when no batch ever arrives, by a replica deriving from L1 alone (forced
//! inclusion). Skipped when anvil is not installed (run `contracts/build.sh`), except under
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
