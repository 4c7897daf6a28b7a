//! The sequencer on a real L1: contracts deployed on anvil, L1 origins followed over JSON-RPC,
//! and an ETH deposit made through the Portal on L1 minted on L2 by a deposit transaction.
//! Skipped when anvil is not installed (run `contracts/build.sh`), except under `CI=true`.

use std::{net::SocketAddr, path::PathBuf, sync::Arc, time::Duration};

use alloy::{
    eips::BlockNumberOrTag,
    node_bindings::Anvil,
    primitives::{Address, Bytes, U256},
    providers::{Provider, ProviderBuilder},
    signers::local::PrivateKeySigner,
    sol,
};
use parallax_contracts::{deploy, DeployConfig, Portal};
use parallax_l1::RpcL1;
use parallax_protocol::{block::BlockId, predeploys::L1_BLOCK};
use parallax_sequencer::{
    chain::ChainParams,
    genesis::Genesis,
    mempool::PoolConfig,
    node::{self, NodeConfig},
    origin::L1Origins,
    rpc::RpcLimits,
};
use parallax_state::store::SqlStore;

sol! {
    #[sol(rpc)]
    interface IL1Block {
        function number() external view returns (uint64);
        function hash() external view returns (bytes32);
    }
}

fn anvil_binary() -> Option<PathBuf> {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../contracts/node_modules/@foundry-rs/anvil-linux-amd64/bin/anvil");
    if path.exists() {
        return Some(path);
    }
    assert!(
        std::env::var("CI").is_err(),
        "anvil is missing at {}: run contracts/build.sh",
        path.display()
    );
    eprintln!("skipping: anvil not installed (run contracts/build.sh)");
    None
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn l1_deposits_are_minted_on_l2_and_origins_follow_l1() {
    let Some(binary) = anvil_binary() else { return };
    let anvil = Anvil::at(binary)
        .args(["--hardfork", "cancun", "--block-time", "1"])
        .try_spawn()
        .expect("anvil starts");
    let depositor: PrivateKeySigner = anvil.keys()[0].clone().into();
    let l1 = ProviderBuilder::new()
        .wallet(depositor.clone())
        .connect_http(anvil.endpoint_url());
    let config: DeployConfig =
        serde_json::from_str(include_str!("../../contracts/deploy/devnet.json")).unwrap();
    let deployment = deploy(&l1, &config).await.expect("contracts deploy");
    let anchor = l1
        .get_block_by_number(BlockNumberOrTag::Number(deployment.deployed_at_block))
        .await
        .unwrap()
        .expect("deployment block");
    let mut rollup = deployment.rollup_config(
        &config,
        901,
        BlockId {
            number: anchor.header.number,
            hash: anchor.header.hash,
        },
    );
    rollup.block_time_ms = 250;

    let dir = tempfile::tempdir().unwrap();
    let store = SqlStore::open(&format!("sqlite:{}", dir.path().join("chain.db").display()))
        .await
        .unwrap();
    let source = Arc::new(RpcL1::connect(anvil.endpoint().as_str()).expect("L1 client"));
    let origins = Box::new(L1Origins::new(source, Arc::new(rollup.clone()), 0));
    let genesis = Genesis::dev(rollup.genesis.l2_timestamp).unwrap();
    let node_config = NodeConfig {
        params: ChainParams {
            rollup: rollup.clone(),
            threads: 2,
        },
        http_addr: SocketAddr::from(([127, 0, 0, 1], 0)),
        limits: RpcLimits::default(),
        cors_origin: None,
        suggested_tip: 1_000_000,
        pool: PoolConfig {
            chain_id: 901,
            min_base_fee: rollup.min_base_fee,
            ..Default::default()
        },
        metrics_addr: None,
    };
    let running = node::start(store, &genesis, node_config, origins)
        .await
        .expect("sequencer starts");
    let l2 = ProviderBuilder::new()
        .connect_http(format!("http://{}", running.rpc_addr).parse().unwrap());

    // Deposit 1.5 ETH to a fresh L2 address through the Portal.
    let recipient = Address::repeat_byte(0xd5);
    let amount = U256::from(1_500_000_000_000_000_000u128);
    let receipt = Portal::new(deployment.portal, &l1)
        .depositTransaction(recipient, amount, 100_000, false, Bytes::new())
        .value(amount)
        .send()
        .await
        .unwrap()
        .get_receipt()
        .await
        .unwrap();
    assert!(receipt.status());
    let deposit_block = receipt.block_number.expect("mined");

    let mut minted = U256::ZERO;
    for _ in 0..120 {
        minted = l2.get_balance(recipient).await.unwrap();
        if minted == amount {
            break;
        }
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
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
