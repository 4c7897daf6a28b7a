//! The dispute game through the bindings on a real L1 (anvil): the deployer wires a factory into
//! the oracle, a challenge opens a game, and the moves and their events decode as a challenger
//! following the game from logs needs them. Skipped when anvil is not installed, except under
//! `CI=true`.

use alloy::{
    network::EthereumWallet,
    node_bindings::Anvil,
    primitives::{Address, B256, U256},
    providers::{Provider, ProviderBuilder},
    signers::local::PrivateKeySigner,
};
use parallax_contracts::{deploy, DeployConfig, DisputeGame, DisputeGameFactory, OutputOracle};

#[tokio::test]
async fn a_challenge_opens_a_game_whose_moves_decode() {
    let Some(binary) = parallax_contracts::anvil_for_tests() else {
        return;
    };
    let anvil = Anvil::at(binary)
        .args(["--hardfork", "cancun"])
        .try_spawn()
        .expect("anvil starts");
    let challenger_signer: PrivateKeySigner = anvil.keys()[0].clone().into();
    // devnet.json's proposer is anvil's account 4.
    let proposer_signer: PrivateKeySigner = anvil.keys()[4].clone().into();
    let (challenger, proposer) = (challenger_signer.address(), proposer_signer.address());
    let mut wallet = EthereumWallet::from(challenger_signer);
    wallet.register_signer(proposer_signer);
    let provider = ProviderBuilder::new()
        .wallet(wallet)
        .connect_http(anvil.endpoint_url());

    let config: DeployConfig =
        serde_json::from_str(include_str!("../deploy/devnet.json")).expect("devnet.json parses");
    let deployment = deploy(&provider, &config).await.expect("deploys");
    assert_ne!(deployment.dispute_game_factory, Address::ZERO);
    assert_ne!(deployment.step_verifier, Address::ZERO);

    let oracle = OutputOracle::new(deployment.output_oracle, &provider);
    assert_eq!(
        oracle.disputeGameFactory().call().await.unwrap(),
        deployment.dispute_game_factory
    );
    let factory = DisputeGameFactory::new(deployment.dispute_game_factory, &provider);
    assert_eq!(
        factory.oracle().call().await.unwrap(),
        deployment.output_oracle
    );
    assert_eq!(
        factory.verifier().call().await.unwrap(),
        deployment.step_verifier
    );
    assert_eq!(
        factory.clockSeconds().call().await.unwrap(),
        config.dispute_clock_seconds.to::<u64>()
    );
    assert_eq!(
        factory.chainId().call().await.unwrap(),
        U256::from(config.l2_chain_id)
    );

    // Let the first proposal's L2 block time pass, propose, challenge.
    let _: serde_json::Value = provider
        .raw_request("evm_increaseTime".into(), (30u64,))
        .await
        .expect("increase time");
    let _: serde_json::Value = provider
        .raw_request("evm_mine".into(), ())
        .await
        .expect("mine");
    let block = oracle.nextBlockNumber().call().await.unwrap();
    let root = B256::repeat_byte(0x33);
    let proposed = oracle
        .propose(block, root)
        .value(config.proposal_bond)
        .from(proposer)
        .send()
        .await
        .expect("propose sent")
        .get_receipt()
        .await
        .expect("propose mined");
    assert!(proposed.status());
    let challenged = oracle
        .challenge(U256::ZERO)
        .value(config.challenge_bond)
        .from(challenger)
        .send()
        .await
        .expect("challenge sent")
        .get_receipt()
        .await
        .expect("challenge mined");
    assert!(challenged.status());
    let created = challenged
        .inner
        .logs()
        .iter()
        .find_map(|log| log.log_decode::<DisputeGameFactory::GameCreated>().ok())
        .expect("GameCreated emitted");
    let created = &created.inner.data;
    assert_eq!(created.outputIndex, U256::ZERO);
    assert_eq!(created.defender, proposer);
    assert_eq!(created.challenger, challenger);
    assert_eq!(created.startingOutputRoot, config.starting_output_root);
    assert_eq!(created.disputedBlockNumber, block);
    assert_eq!(created.disputedOutputRoot, root);
    assert_eq!(
        factory.games(U256::ZERO).call().await.unwrap(),
        created.game
    );

    let game = DisputeGame::new(created.game, &provider);
    assert_eq!(game.turn().call().await.unwrap(), proposer);
    assert_eq!(game.mid().call().await.unwrap(), block / U256::from(2));

    // The defender claims the midpoint; the event names the level, position and claim.
    let claim = B256::repeat_byte(0x44);
    let defended = game
        .defendBlock(claim)
        .from(proposer)
        .send()
        .await
        .expect("defend sent")
        .get_receipt()
        .await
        .expect("defend mined");
    let event = defended
        .inner
        .logs()
        .iter()
        .find_map(|log| log.log_decode::<DisputeGame::Defended>().ok())
        .expect("Defended emitted");
    let event = &event.inner.data;
    assert_eq!(event.level, 1);
    assert_eq!(event.mover, proposer);
    assert_eq!(event.position, block / U256::from(2));
    assert_eq!(event.claim, claim);
    assert_eq!((event.lo, event.hi), (U256::ZERO, block));

    // A move out of turn reverts with its named error.
    let error = game
        .defendBlock(claim)
        .from(proposer)
        .call()
        .await
        .expect_err("the defender moved already");
    assert!(
        matches!(
            error.as_decoded_interface_error::<DisputeGame::DisputeGameErrors>(),
            Some(DisputeGame::DisputeGameErrors::NotYourTurn(_))
        ),
        "{error}"
    );

    // The challenger disagrees: the interval halves.
    let chosen = game
        .chooseBlock(false)
        .from(challenger)
        .send()
        .await
        .expect("choose sent")
        .get_receipt()
        .await
        .expect("choose mined");
    let event = chosen
        .inner
        .logs()
        .iter()
        .find_map(|log| log.log_decode::<DisputeGame::Chosen>().ok())
        .expect("Chosen emitted");
    assert!(!event.inner.data.agree);
    assert_eq!(event.inner.data.hi, block / U256::from(2));
    assert_eq!(game.hi().call().await.unwrap(), block / U256::from(2));
    assert_eq!(game.claimHi().call().await.unwrap(), claim);
    assert_eq!(game.turn().call().await.unwrap(), proposer);
}

#[test]
fn proofs_are_abi_encoded_node_lists() {
    use alloy::{primitives::Bytes, sol_types::SolValue};
    let nodes = vec![Bytes::from_static(&[0xc0]), Bytes::from(vec![0xab; 40])];
    let encoded = parallax_contracts::encode_proof(&nodes);
    // abi.encode(bytes[]): offset 0x20, then the array.
    assert_eq!(U256::from_be_slice(&encoded[..32]), U256::from(32));
    assert_eq!(U256::from_be_slice(&encoded[32..64]), U256::from(2));
    assert_eq!(Vec::<Bytes>::abi_decode(&encoded).expect("decodes"), nodes);
}
