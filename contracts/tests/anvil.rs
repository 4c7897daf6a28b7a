//! The bindings against a real L1: deploy everything on anvil (from npm, installed by
//! `contracts/build.sh`), check the wiring, and check that a deposit emits exactly the
//! `TransactionDeposited` encoding derivation decodes. Skipped when anvil is not installed,
//! except under `CI=true`.

use alloy::{
    node_bindings::Anvil,
    primitives::{Address, Bytes, U256},
    providers::ProviderBuilder,
    signers::local::PrivateKeySigner,
};
use parallax_contracts::{deploy, DeployConfig, OutputOracle, Portal, SystemConfig};
use parallax_protocol::deposit::{user_deposit_source_hash, DepositTx, IndexedLog};

fn devnet_config() -> DeployConfig {
    serde_json::from_str(include_str!("../deploy/devnet.json")).expect("devnet.json parses")
}

#[tokio::test]
async fn deploys_and_deposits_emit_the_event_derivation_decodes() {
    let Some(binary) = parallax_contracts::anvil_for_tests() else {
        return;
    };
    let anvil = Anvil::at(binary)
        .args(["--hardfork", "cancun"])
        .try_spawn()
        .expect("anvil starts");
    let signer: PrivateKeySigner = anvil.keys()[0].clone().into();
    let sender = signer.address();
    let provider = ProviderBuilder::new()
        .wallet(signer)
        .connect_http(anvil.endpoint_url());

    let config = devnet_config();
    let deployment = deploy(&provider, &config).await.expect("deploys");

    let system_config = SystemConfig::new(deployment.system_config, &provider);
    assert_eq!(
        system_config.batcher().call().await.unwrap(),
        config.batcher
    );
    assert_eq!(
        system_config.batchInbox().call().await.unwrap(),
        config.batch_inbox
    );
    let oracle = OutputOracle::new(deployment.output_oracle, &provider);
    assert_eq!(
        oracle.proposalInterval().call().await.unwrap(),
        config.proposal_interval
    );

    let portal = Portal::new(deployment.portal, &provider);
    let (to, mint, value, gas_limit) = (
        Address::repeat_byte(0x42),
        U256::from(7_000u64),
        U256::from(5u64),
        100_000u64,
    );
    let data = Bytes::from_static(b"\x01\x02\x03");
    let receipt = portal
        .depositTransaction(to, value, gas_limit, false, data.clone())
        .value(mint)
        .send()
        .await
        .expect("deposit sent")
        .get_receipt()
        .await
        .expect("deposit mined");
    assert!(receipt.status());
    let deposited = receipt
        .inner
        .logs()
        .iter()
        .find_map(|log| log.log_decode::<Portal::TransactionDeposited>().ok())
        .expect("TransactionDeposited emitted");
    let event = &deposited.inner.data;
    assert_eq!(deposited.inner.address, deployment.portal);
    assert_eq!(event.from, sender, "an EOA sender is not aliased");
    assert_eq!(event.to, to);
    assert_eq!(event.version, U256::ZERO);
    // opaqueData = mint:32 ‖ value:32 ‖ gasLimit:8 ‖ isCreation:1 ‖ data
    let opaque = &event.opaqueData;
    assert_eq!(opaque.len(), 73 + data.len());
    assert_eq!(U256::from_be_slice(&opaque[..32]), mint);
    assert_eq!(U256::from_be_slice(&opaque[32..64]), value);
    assert_eq!(
        u64::from_be_bytes(opaque[64..72].try_into().unwrap()),
        gas_limit
    );
    assert_eq!(opaque[72], 0);
    assert_eq!(&opaque[73..], &data[..]);

    // The protocol's decoder (what derivation and the L1 watcher use) reads the real log into
    // the L2 deposit transaction.
    let raw_log = receipt
        .inner
        .logs()
        .iter()
        .find(|log| log.address() == deployment.portal)
        .expect("portal log");
    let indexed = IndexedLog {
        log_index: raw_log.log_index.expect("log index"),
        log: raw_log.inner.clone(),
    };
    let block_hash = receipt.block_hash.expect("block hash");
    let deposit =
        DepositTx::from_portal_log(&indexed, deployment.portal, block_hash).expect("decodes");
    assert_eq!(deposit.from, sender);
    assert_eq!(deposit.to, alloy::primitives::TxKind::Call(to));
    assert_eq!(
        (deposit.mint, deposit.value, deposit.gas_limit),
        (mint, value, gas_limit)
    );
    assert_eq!(deposit.data, data);
    assert!(!deposit.is_system);
    assert_eq!(
        deposit.source_hash,
        user_deposit_source_hash(block_hash, indexed.log_index)
    );
    assert_eq!(
        DepositTx::decode(&deposit.encode()).expect("round trip"),
        deposit
    );
    // A log from another contract is never taken for a deposit.
    assert!(DepositTx::from_portal_log(&indexed, Address::repeat_byte(1), block_hash).is_err());

    // A deposit below the minimum gas reverts with its named error, and nothing moves.
    let balance = provider_balance(&provider, deployment.portal).await;
    let error = portal
        .depositTransaction(to, value, 1, false, data.clone())
        .value(mint)
        .call()
        .await
        .expect_err("gas limit 1 is refused");
    let decoded = error.as_decoded_interface_error::<Portal::PortalErrors>();
    assert!(
        matches!(decoded, Some(Portal::PortalErrors::GasLimitTooLow(_))),
        "{error}"
    );
    assert_eq!(
        provider_balance(&provider, deployment.portal).await,
        balance
    );
}

async fn provider_balance<P: alloy::providers::Provider>(provider: &P, address: Address) -> U256 {
    provider.get_balance(address).await.expect("balance")
}
