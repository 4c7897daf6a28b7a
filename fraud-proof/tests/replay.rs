//! The challenger's view of the chain equals the chain: every block a dev node sealed from
//! wallet transactions (transfers of each type, a contract deployment and calls with logs),
//! replayed one transaction at a time from the store (`replay_inputs` + `trace_block` on the
//! parent's state), ends in exactly the header's state root and gas, with the stored receipts.

mod common;

use std::time::Duration;

use common::{dev_sequencer, DevSequencer};

use alloy::{
    network::{EthereumWallet, TransactionBuilder},
    primitives::{keccak256, Address, Bytes, U256},
    providers::{Provider, ProviderBuilder},
    rpc::types::TransactionRequest,
    signers::local::PrivateKeySigner,
};
use alloy_consensus::Header;
use alloy_trie::{proof::verify_proof, Nibbles, TrieAccount};
use parallax_executor::AccountBasic;
use parallax_fraud_proof::{
    trace::{trace_block, TraceState},
    truth::{BlockView, ChainTruth, Corruption, Lie, OpenBlockArgs},
};
use parallax_protocol::{output_root, predeploys::L2_TO_L1_MESSAGE_PASSER};
use parallax_sequencer::{chain::replay_inputs, genesis::dev_accounts};
use parallax_state::store::{load_world_state, output_root_input, ChainStore, HeadKind, SqlStore};

/// Runtime `LOG1(keccak("Ping()"), calldata word 0); SSTORE(0, calldata word 0)`, behind a
/// constructor that returns it.
fn pinger_initcode() -> Bytes {
    let mut runtime = vec![
        0x60, 0x00, 0x35, 0x80, 0x60, 0x00, 0x55, 0x60, 0x00, 0x52, 0x7f,
    ];
    runtime.extend_from_slice(keccak256("Ping()").as_slice());
    runtime.extend_from_slice(&[0x60, 0x20, 0x60, 0x00, 0xa1, 0x00]);
    let length = u8::try_from(runtime.len()).expect("short runtime");
    let mut init = vec![
        0x60, length, 0x60, 0x0c, 0x60, 0x00, 0x39, 0x60, length, 0x60, 0x00, 0xf3,
    ];
    init.extend_from_slice(&runtime);
    init.into()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn replayed_blocks_end_in_their_header_state() {
    let DevSequencer {
        running,
        store,
        rollup,
        dir: _dir,
    } = dev_sequencer().await;

    let accounts = dev_accounts().expect("dev accounts");
    let key =
        |index: usize| PrivateKeySigner::from_bytes(&accounts[index].private_key).expect("key");
    let endpoint: alloy::transports::http::reqwest::Url =
        format!("http://{}", running.rpc_addr).parse().expect("url");
    let alice = ProviderBuilder::new()
        .wallet(EthereumWallet::from(key(0)))
        .connect_http(endpoint.clone());
    let bob = ProviderBuilder::new()
        .wallet(EthereumWallet::from(key(1)))
        .connect_http(endpoint);
    let mined = |receipt: alloy::rpc::types::TransactionReceipt| {
        assert!(receipt.status());
        receipt
    };
    let deploy = alice
        .send_transaction(TransactionRequest::default().with_deploy_code(pinger_initcode()))
        .await
        .expect("sent")
        .with_timeout(Some(Duration::from_secs(20)))
        .get_receipt()
        .await
        .expect("mined");
    let pinger = mined(deploy).contract_address.expect("deployed");
    // Several senders in the same blocks, legacy and 1559 transfers, calls with storage and logs.
    let mut pending = Vec::new();
    for round in 0..6u64 {
        let to = Address::repeat_byte(0xb0 + round as u8);
        for (provider, request) in [
            (
                &alice,
                TransactionRequest::default()
                    .with_to(to)
                    .with_value(U256::from(1_000 + round)),
            ),
            (
                &bob,
                TransactionRequest::default()
                    .with_to(pinger)
                    .with_input(Bytes::from(
                        U256::from(round + 1).to_be_bytes::<32>().to_vec(),
                    )),
            ),
            (
                &bob,
                TransactionRequest::default()
                    .with_to(to)
                    .with_value(U256::from(7))
                    .with_gas_price(2_000_000_000),
            ),
        ] {
            pending.push(provider.send_transaction(request).await.expect("sent"));
        }
        if round % 2 == 1 {
            for sent in pending.drain(..) {
                mined(
                    sent.with_timeout(Some(Duration::from_secs(20)))
                        .get_receipt()
                        .await
                        .expect("mined"),
                );
            }
        }
    }
    running.stop().await.expect("node stops");

    let head = store
        .head(HeadKind::Unsafe)
        .await
        .expect("head")
        .expect("a head")
        .number;
    assert!(head >= 3, "only {head} blocks");
    let mut user_transactions = 0;
    for number in 1..=head {
        let block = store
            .block(number)
            .await
            .expect("read")
            .expect("stored block");
        let mut world = load_world_state(&store, number - 1)
            .await
            .expect("parent state");
        let (env, txs) = replay_inputs(&rollup, &block).expect("replay inputs");
        let trace = trace_block(&env, &txs, &mut world).expect("the block replays");
        assert_eq!(trace.len(), block.transactions.len());
        let parent = store
            .header(number - 1)
            .await
            .expect("read")
            .expect("parent");
        assert_eq!(trace.start, TraceState::start(parent.header.state_root));
        assert_eq!(
            trace.end().state_root,
            block.header.state_root,
            "block {number} state root"
        );
        assert_eq!(
            trace.end().cumulative_gas,
            block.header.gas_used,
            "block {number} gas"
        );
        for (step, stored) in trace.steps.iter().zip(&block.receipts) {
            assert_eq!(step.receipt.status.is_success(), stored.success);
            assert_eq!(step.receipt.cumulative_gas_used, stored.cumulative_gas_used);
            assert_eq!(step.receipt.logs, stored.logs);
        }
        user_transactions += block.transactions.len() - 1;
    }
    assert_eq!(user_transactions, 19, "every transaction was replayed");

    // The challenger's truth over the same store: openBlock arguments that the L1 game's
    // checks accept, for the honest chain and for a consistent liar.
    let busiest = (1..=head)
        .max_by_key(|number| transaction_count(&store, *number))
        .expect("blocks");
    let honest = ChainTruth::new(store.clone(), rollup.clone());
    let args = honest.open_block_args(busiest).await.expect("open args");
    // The passer's fields, read from the store independently of the replay (the lie below
    // credits another account, so they hold for both chains).
    let passer = parallax_state::store::HistoricalState::at(store.clone(), busiest)
        .await
        .expect("retained block")
        .account(&L2_TO_L1_MESSAGE_PASSER)
        .await
        .expect("read")
        .expect("the passer exists");
    check_open_args(&args, &honest.block(busiest).await.expect("view"), &passer);
    assert_eq!(
        output_root(&args.pre),
        output_root(&output_root_input(&store, busiest - 1).await.unwrap())
    );
    assert_eq!(
        output_root(&args.post),
        output_root(&output_root_input(&store, busiest).await.unwrap())
    );
    assert_eq!(
        args.post.state_root,
        store
            .header(busiest)
            .await
            .unwrap()
            .unwrap()
            .header
            .state_root
    );

    let lie = Corruption {
        block: busiest,
        lie: Lie::Balance {
            account: Address::repeat_byte(0x66),
            extra_wei: U256::from(1),
        },
    };
    let liar = ChainTruth::corrupted(store.clone(), rollup.clone(), lie);
    let lying = liar
        .open_block_args(busiest)
        .await
        .expect("lying open args");
    check_open_args(&lying, &liar.block(busiest).await.expect("view"), &passer);
    assert_eq!(lying.pre, args.pre, "the parent is agreed");
    assert_ne!(lying.post.state_root, args.post.state_root);
    assert_ne!(
        liar.output_root(busiest).await.unwrap(),
        honest.output_root(busiest).await.unwrap()
    );
    assert_eq!(
        liar.output_root(busiest - 1).await.unwrap(),
        honest.output_root(busiest - 1).await.unwrap()
    );
    // The traces agree up to the last transaction and differ after it: the step is there.
    let count = args.tx_count;
    assert_eq!(lying.tx_count, count);
    for position in 0..count {
        assert_eq!(
            liar.trace_state(busiest, position).await.unwrap(),
            honest.trace_state(busiest, position).await.unwrap()
        );
    }
    assert_ne!(
        liar.trace_state(busiest, count).await.unwrap().commitment(),
        honest
            .trace_state(busiest, count)
            .await
            .unwrap()
            .commitment()
    );
}

fn transaction_count(store: &SqlStore, number: u64) -> usize {
    tokio::task::block_in_place(|| {
        tokio::runtime::Handle::current()
            .block_on(store.block(number))
            .expect("read")
            .map_or(0, |block| block.transactions.len())
    })
}

/// What `openBlock` checks on L1, checked here with independent code (alloy-trie's verifier).
fn check_open_args(args: &OpenBlockArgs, view: &BlockView, account: &AccountBasic) {
    let header: Header = alloy_rlp::decode_exact(&args.header_rlp).expect("header decodes");
    assert_eq!(keccak256(&args.header_rlp), args.post.block_hash);
    assert_eq!(header.parent_hash, args.pre.block_hash);
    assert_eq!(header.state_root, args.post.state_root);
    let key = Nibbles::unpack(keccak256(L2_TO_L1_MESSAGE_PASSER));
    let leaf = TrieAccount {
        nonce: account.nonce,
        balance: account.balance,
        storage_root: args.post.message_passer_storage_root,
        code_hash: account.code_hash,
    };
    verify_proof(
        args.post.state_root,
        key,
        Some(alloy_rlp::encode(leaf)),
        &args.message_passer_proof,
    )
    .expect("the message passer proof verifies");
    assert_eq!(args.tx_count as usize, view.transactions.len());
    assert_eq!(view.trace.end().receipts_hash, args.final_receipts_hash);
    assert_eq!(view.trace.end().cumulative_gas, header.gas_used);
    for (index, raw) in view.transactions.iter().enumerate() {
        let key = Nibbles::unpack(alloy_rlp::encode(index));
        verify_proof(
            header.transactions_root,
            key,
            Some(raw.to_vec()),
            &view.transaction_proof(index as u64),
        )
        .expect("the transaction proof verifies");
    }
    // No transaction past the end.
    let past = Nibbles::unpack(alloy_rlp::encode(view.transactions.len()));
    verify_proof(
        header.transactions_root,
        past,
        None,
        &view.transaction_proof(view.transactions.len() as u64),
    )
    .expect("the exclusion proof verifies");
}
