//! The sequencer through a real Ethereum client (alloy's provider and wallet, as dApps use
//! them): transfers of each type, a contract with events, logs, proofs checked by alloy-trie's
//! verifier, errors clients match on, and a restart that resumes the chain from the store.

use std::{net::SocketAddr, time::Duration};

use alloy::{
    consensus::{SignableTransaction, TxEip1559, TxEnvelope},
    eips::{eip2718::Encodable2718, BlockNumberOrTag},
    network::{EthereumWallet, TransactionBuilder},
    primitives::{keccak256, Address, Bytes, TxKind, B256, U256},
    providers::{Provider, ProviderBuilder},
    rpc::types::{Filter, TransactionRequest},
    signers::{local::PrivateKeySigner, SignerSync},
};
use alloy_trie::{proof::verify_proof, Nibbles, TrieAccount};
use parallax_protocol::RollupConfig;
use parallax_sequencer::{
    genesis::{dev_accounts, Genesis},
    node::{self, NodeConfig, Roles, RunningNode},
    origin::FixedOrigin,
};
use parallax_state::store::SqlStore;

fn config(genesis_time: u64) -> NodeConfig {
    let mut rollup = RollupConfig {
        block_time_ms: 100,
        ..Default::default()
    };
    rollup.genesis.l2_timestamp = genesis_time;
    let mut config = NodeConfig::new(&rollup, SocketAddr::from(([127, 0, 0, 1], 0)));
    config.params.threads = 2;
    config.metrics_addr = Some(SocketAddr::from(([127, 0, 0, 1], 0)));
    config
}

async fn start(url: &str) -> RunningNode {
    let store = SqlStore::open(url).await.expect("store");
    let time = node::genesis_time(&store).await.expect("genesis time");
    let config = config(time);
    let origins = Box::new(FixedOrigin::new(&config.params.rollup));
    node::start(
        store,
        &Genesis::dev(time).expect("genesis"),
        config,
        Roles::sequencer(origins),
    )
    .await
    .expect("node starts")
}

fn key(index: usize) -> PrivateKeySigner {
    let account = &dev_accounts().expect("dev accounts")[index];
    PrivateKeySigner::from_bytes(&account.private_key).expect("key")
}

/// Runtime code that emits `LOG1(topic = keccak("Ping()"), data = calldata word 0)` and stops,
/// behind a constructor that returns it.
fn pinger_initcode() -> Bytes {
    let topic = keccak256("Ping()");
    let mut runtime = vec![0x60, 0x00, 0x35, 0x60, 0x00, 0x52, 0x7f];
    runtime.extend_from_slice(topic.as_slice());
    runtime.extend_from_slice(&[0x60, 0x20, 0x60, 0x00, 0xa1, 0x00]);
    let mut init = vec![
        0x60,
        runtime.len() as u8,
        0x60,
        0x0c,
        0x60,
        0x00,
        0x39,
        0x60,
        runtime.len() as u8,
        0x60,
        0x00,
        0xf3,
    ];
    init.extend_from_slice(&runtime);
    init.into()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn wallets_transact_read_and_prove_and_the_chain_survives_a_restart() {
    let dir = tempfile::tempdir().expect("temp dir");
    let url = format!("sqlite:{}", dir.path().join("chain.db").display());
    let running = start(&url).await;
    let endpoint = format!("http://{}", running.rpc_addr);
    let alice = key(0);
    let provider = ProviderBuilder::new()
        .wallet(EthereumWallet::from(alice.clone()))
        .connect_http(endpoint.parse().expect("url"));
    assert_eq!(provider.get_chain_id().await.unwrap(), 901);

    // A 1559 transfer and a legacy (EIP-155) transfer, filled and signed by the wallet.
    let bob = Address::repeat_byte(0xb0);
    let alice_before = provider.get_balance(alice.address()).await.unwrap();
    let receipt = mined(
        &provider,
        TransactionRequest::default()
            .with_to(bob)
            .with_value(U256::from(1_000)),
    )
    .await;
    assert!(receipt.status());
    assert_eq!(receipt.gas_used, 21_000);
    // Alice paid value, gas and the L1 data fee, which went to the L1 fee vault; the block
    // begins with the L1-info deposit, a system deposit that uses no block gas.
    let l1_fees = provider
        .get_balance(parallax_protocol::predeploys::L1_FEE_VAULT)
        .await
        .unwrap();
    assert!(l1_fees > U256::ZERO, "no L1 data fee was charged");
    let paid = alice_before - provider.get_balance(alice.address()).await.unwrap();
    assert_eq!(
        paid,
        U256::from(1_000)
            + U256::from(receipt.gas_used) * U256::from(receipt.effective_gas_price)
            + l1_fees
    );
    let number = receipt.block_number.expect("mined");
    // The receipt's L1 fee fields (OP Stack names) are what was charged: `l1Fee` is exactly
    // what the vault gained in the block, whose only other transaction is the L1-info deposit.
    let raw_receipt: serde_json::Value = provider
        .raw_request(
            "eth_getTransactionReceipt".into(),
            (receipt.transaction_hash,),
        )
        .await
        .unwrap();
    let quantity = |field: &str| -> U256 {
        serde_json::from_value(raw_receipt[field].clone())
            .unwrap_or_else(|_| panic!("receipt field {field}: {}", raw_receipt[field]))
    };
    let vault = parallax_protocol::predeploys::L1_FEE_VAULT;
    let vault_before = provider
        .get_balance(vault)
        .block_id((number - 1).into())
        .await
        .unwrap();
    let vault_after = provider
        .get_balance(vault)
        .block_id(number.into())
        .await
        .unwrap();
    let block_txs = provider
        .get_block_by_number(number.into())
        .await
        .unwrap()
        .expect("block")
        .transactions
        .len();
    assert_eq!(
        block_txs, 2,
        "the transfer shares its block only with the L1-info deposit"
    );
    assert!(quantity("l1Fee") > U256::ZERO);
    assert_eq!(quantity("l1Fee"), vault_after - vault_before);
    let raw_tx = provider
        .get_transaction_by_hash(receipt.transaction_hash)
        .await
        .unwrap()
        .expect("transaction")
        .inner
        .inner()
        .encoded_2718();
    let gas_used = quantity("l1GasUsed");
    assert_eq!(
        gas_used,
        U256::from(
            raw_tx
                .iter()
                .map(|b| if *b == 0 { 4u64 } else { 16 })
                .sum::<u64>()
        )
    );
    let fee = gas_used
        * (U256::from(16) * quantity("l1BaseFeeScalar") * quantity("l1GasPrice")
            + quantity("l1BlobBaseFeeScalar") * quantity("l1BlobBaseFee"))
        / U256::from(16_000_000u64);
    assert_eq!(
        fee,
        quantity("l1Fee"),
        "the fields price the fee by the Ecotone formula"
    );
    let full: serde_json::Value = provider
        .raw_request(
            "eth_getBlockByNumber".into(),
            (format!("{number:#x}"), true),
        )
        .await
        .unwrap();
    let first = &full["transactions"][0];
    assert_eq!(first["type"], "0x7e");
    assert_eq!(first["isSystemTx"], true);
    assert_eq!(
        first["to"],
        serde_json::json!(parallax_protocol::predeploys::L1_BLOCK)
    );
    let first_hash: B256 = serde_json::from_value(first["hash"].clone()).unwrap();
    let deposit_receipt: serde_json::Value = provider
        .raw_request("eth_getTransactionReceipt".into(), (first_hash,))
        .await
        .unwrap();
    assert_eq!(deposit_receipt["type"], "0x7e");
    assert_eq!(deposit_receipt["status"], "0x1");
    assert_eq!(deposit_receipt["gasUsed"], "0x0");
    let legacy = TransactionRequest::default()
        .with_to(bob)
        .with_value(U256::from(2_000))
        .with_gas_price(provider.get_gas_price().await.unwrap());
    let receipt = mined(&provider, legacy).await;
    assert!(receipt.status());
    assert_eq!(provider.get_balance(bob).await.unwrap(), U256::from(3_000));
    // eth_call and eth_estimateGas at a past block read that block's state: before Bob was
    // funded he cannot send 2,500 wei; now he can.
    let spend = serde_json::json!({"from": bob, "to": alice.address(), "value": "0x9c4"});
    let before_funding = format!("{:#x}", number - 1);
    let refused = provider
        .raw_request::<_, Bytes>("eth_call".into(), (spend.clone(), before_funding.clone()))
        .await
        .expect_err("Bob had nothing before block {number}");
    assert!(refused.to_string().contains("lack of funds"), "{refused}");
    let _: Bytes = provider
        .raw_request("eth_call".into(), (spend.clone(), "latest"))
        .await
        .expect("Bob can pay now");
    let gas: U256 = provider
        .raw_request("eth_estimateGas".into(), (spend, "latest"))
        .await
        .unwrap();
    assert_eq!(gas, U256::from(21_000));
    // The operator's status page and its JSON.
    let response = http_get(running.rpc_addr, "/status.json").await;
    let body = response.split("\r\n\r\n").nth(1).expect("body");
    let status: serde_json::Value = serde_json::from_str(body).expect("JSON");
    assert!(status["unsafeHead"].as_u64().unwrap() >= number);
    assert_eq!(status["chainId"], 901);
    assert_eq!(status["replica"], false);
    let page = http_get(running.rpc_addr, "/status").await;
    assert!(page.contains("Parallax sequencer"), "{page}");
    assert!(page.contains("id=\"unsafe\""), "{page}");
    assert!(page.contains("<th>bytes</th>"), "{page}");
    assert!(page.contains("<th>challenge window</th>"), "{page}");
    // With a state override, even an empty account can pay, at that same past block.
    let ghost = Address::repeat_byte(0x6c);
    let ghost_spend = serde_json::json!({"from": ghost, "to": bob, "value": "0x9c4"});
    let overrides = serde_json::json!({ghost.to_string(): {"balance": "0xffff"}});
    let _: Bytes = provider
        .raw_request(
            "eth_call".into(),
            (ghost_spend.clone(), before_funding, overrides),
        )
        .await
        .expect("overridden balance pays");
    let bad = serde_json::json!({ghost.to_string(): {"state": {}, "stateDiff": {}}});
    assert!(provider
        .raw_request::<_, Bytes>("eth_call".into(), (ghost_spend, "latest", bad))
        .await
        .is_err());
    assert_eq!(
        provider
            .get_transaction_count(alice.address())
            .await
            .unwrap(),
        2
    );

    // A contract: deploy, call with a transaction, find its event by address and topic.
    let receipt = mined(
        &provider,
        TransactionRequest::default().with_deploy_code(pinger_initcode()),
    )
    .await;
    let pinger = receipt.contract_address.expect("created");
    assert!(!provider.get_code_at(pinger).await.unwrap().is_empty());
    let word = B256::repeat_byte(0x77);
    let receipt = mined(
        &provider,
        TransactionRequest::default()
            .with_to(pinger)
            .with_input(Bytes::from(word.to_vec())),
    )
    .await;
    let logs = provider
        .get_logs(
            &Filter::new()
                .address(pinger)
                .event_signature(keccak256("Ping()"))
                .from_block(0u64),
        )
        .await
        .unwrap();
    assert_eq!(logs.len(), 1);
    assert_eq!(logs[0].data().data.as_ref(), word.as_slice());
    assert_eq!(logs[0].transaction_hash, Some(receipt.transaction_hash));
    assert_eq!(receipt.inner.logs().len(), 1);

    // eth_getProof verifies against the block's state root with an independent verifier.
    let block = provider
        .get_block_by_number(BlockNumberOrTag::Latest)
        .await
        .unwrap()
        .expect("block");
    let proof = provider
        .get_proof(alice.address(), vec![])
        .block_id(block.header.number.into())
        .await
        .unwrap();
    let leaf = alloy_rlp::encode(TrieAccount {
        nonce: proof.nonce,
        balance: proof.balance,
        storage_root: proof.storage_hash,
        code_hash: proof.code_hash,
    });
    verify_proof(
        block.header.state_root,
        Nibbles::unpack(keccak256(alice.address())),
        Some(leaf),
        &proof.account_proof,
    )
    .expect("account proof verifies");

    // The output root of a block, as the proposer will post it: over the message passer
    // predeploy's storage root.
    let output: serde_json::Value = provider
        .raw_request(
            "rollup_outputAtBlock".into(),
            (format!("{:#x}", block.header.number),),
        )
        .await
        .unwrap();
    let passer = provider
        .get_proof(
            parallax_protocol::predeploys::L2_TO_L1_MESSAGE_PASSER,
            vec![],
        )
        .block_id(block.header.number.into())
        .await
        .unwrap();
    assert!(!provider
        .get_code_at(parallax_protocol::predeploys::L2_TO_L1_MESSAGE_PASSER)
        .await
        .unwrap()
        .is_empty());
    let expected = parallax_protocol::output_root(&parallax_protocol::OutputRootInput {
        state_root: block.header.state_root,
        message_passer_storage_root: passer.storage_hash,
        block_hash: block.header.hash,
    });
    assert_eq!(output["outputRoot"], serde_json::json!(expected));

    // Errors clients match on.
    let stale = TxEip1559 {
        chain_id: 901,
        nonce: 0,
        gas_limit: 21_000,
        max_fee_per_gas: 10_000_000_000,
        max_priority_fee_per_gas: 1,
        to: TxKind::Call(bob),
        ..Default::default()
    };
    let sign = |tx: TxEip1559| {
        let signature = alice.sign_hash_sync(&tx.signature_hash()).expect("sign");
        TxEnvelope::from(tx.into_signed(signature)).encoded_2718()
    };
    let error = provider
        .send_raw_transaction(&sign(stale.clone()))
        .await
        .unwrap_err()
        .to_string();
    assert!(error.contains("nonce too low"), "{error}");
    let error = provider
        .send_raw_transaction(&sign(TxEip1559 {
            chain_id: 1,
            nonce: 9,
            ..stale.clone()
        }))
        .await
        .unwrap_err()
        .to_string();
    assert!(error.contains("invalid chain id"), "{error}");
    let error = provider
        .send_raw_transaction(&[0x7e, 0xc0])
        .await
        .unwrap_err()
        .to_string();
    assert!(error.contains("transaction type not supported"), "{error}");
    let poor = key(1);
    let drained = TxEip1559 {
        nonce: 0,
        max_fee_per_gas: u128::MAX / 2 / 21_000,
        ..stale
    };
    let signature = poor
        .sign_hash_sync(&drained.signature_hash())
        .expect("sign");
    let raw = TxEnvelope::from(drained.into_signed(signature)).encoded_2718();
    let error = provider
        .send_raw_transaction(&raw)
        .await
        .unwrap_err()
        .to_string();
    assert!(
        error.contains("insufficient funds for gas * price + value"),
        "{error}"
    );

    // A transaction behind a nonce gap waits in the pool; it must survive the restart.
    let next = provider
        .get_transaction_count(alice.address())
        .await
        .unwrap();
    let gapped = TxEip1559 {
        chain_id: 901,
        nonce: next + 1,
        gas_limit: 21_000,
        max_fee_per_gas: 10_000_000_000,
        max_priority_fee_per_gas: 1,
        to: TxKind::Call(bob),
        value: U256::from(5),
        ..Default::default()
    };
    let gapped_hash = *provider
        .send_raw_transaction(&sign(gapped))
        .await
        .unwrap()
        .tx_hash();

    // Prometheus metrics on their own port.
    let metrics = scrape(running.metrics_addr.expect("metrics enabled")).await;
    assert!(
        metrics.contains("parallax_txs_accepted_total "),
        "{metrics}"
    );
    let included: u64 = metrics
        .lines()
        .find_map(|line| line.strip_prefix("parallax_txs_included_total "))
        .and_then(|value| value.parse().ok())
        .expect("included counter");
    assert!(included >= 4, "{metrics}");

    // Restart on the same database: the chain resumes where it stopped.
    let height = provider.get_block_number().await.unwrap();
    running.stop().await.expect("clean stop");
    let running = start(&url).await;
    let provider = ProviderBuilder::new()
        .wallet(EthereumWallet::from(alice.clone()))
        .connect_http(format!("http://{}", running.rpc_addr).parse().expect("url"));
    assert!(provider.get_block_number().await.unwrap() >= height);
    assert_eq!(provider.get_balance(bob).await.unwrap(), U256::from(3_000));
    let receipt = mined(
        &provider,
        TransactionRequest::default()
            .with_to(bob)
            .with_value(U256::from(1)),
    )
    .await;
    assert!(receipt.status());
    // The journaled transaction came back and, its gap filled, was included.
    let mut included = None;
    for _ in 0..100 {
        included = provider.get_transaction_receipt(gapped_hash).await.unwrap();
        if included.is_some() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(included
        .expect("journaled transaction included after restart")
        .status());
    assert_eq!(provider.get_balance(bob).await.unwrap(), U256::from(3_006));
    // History from before the restart is still served.
    let old = provider
        .get_balance(bob)
        .block_id(height.into())
        .await
        .unwrap();
    assert_eq!(old, U256::from(3_000));
    running.stop().await.expect("clean stop");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn filters_and_websocket_subscriptions_follow_the_chain() {
    use futures_util::SinkExt;
    use tokio_tungstenite::tungstenite::Message;

    let dir = tempfile::tempdir().expect("temp dir");
    let url = format!("sqlite:{}", dir.path().join("chain.db").display());
    let running = start(&url).await;
    let alice = key(0);
    let provider = ProviderBuilder::new()
        .wallet(EthereumWallet::from(alice.clone()))
        .connect_http(format!("http://{}", running.rpc_addr).parse().expect("url"));

    // WebSocket subscriptions on the same port.
    let (mut socket, _) = tokio_tungstenite::connect_async(format!("ws://{}/", running.rpc_addr))
        .await
        .expect("websocket connects");
    socket
        .send(Message::Text(
            r#"{"jsonrpc":"2.0","id":1,"method":"eth_subscribe","params":["newHeads"]}"#.into(),
        ))
        .await
        .unwrap();
    let reply = read_json(&mut socket).await;
    let heads = reply["result"].clone();
    assert!(heads.is_string(), "{reply}");
    let notification = read_json(&mut socket).await;
    assert_eq!(notification["method"], "eth_subscription");
    assert_eq!(notification["params"]["subscription"], heads);
    assert!(
        notification["params"]["result"]["number"].is_string(),
        "{notification}"
    );
    // Plain calls work over the socket too.
    socket
        .send(Message::Text(
            r#"{"jsonrpc":"2.0","id":2,"method":"eth_unsubscribe","params":[HEADS]}"#
                .replace("HEADS", &heads.to_string())
                .into(),
        ))
        .await
        .unwrap();
    let mut unsubscribed = false;
    for _ in 0..20 {
        let message = read_json(&mut socket).await;
        if message["id"] == 2 {
            assert_eq!(message["result"], true);
            unsubscribed = true;
            break;
        }
    }
    assert!(unsubscribed);

    // HTTP polling filters: blocks, pending transactions, logs.
    let blocks = provider.new_block_filter().await.unwrap();
    let pending = provider
        .new_pending_transactions_filter(false)
        .await
        .unwrap();
    let receipt = mined(
        &provider,
        TransactionRequest::default().with_deploy_code(pinger_initcode()),
    )
    .await;
    let pinger = receipt.contract_address.expect("created");
    let logs_filter = provider
        .new_filter(&Filter::new().address(pinger))
        .await
        .unwrap();
    socket
        .send(Message::Text(
            format!(r#"{{"jsonrpc":"2.0","id":3,"method":"eth_subscribe","params":["logs",{{"address":"{pinger}"}}]}}"#).into(),
        ))
        .await
        .unwrap();
    let mut logs_subscription = serde_json::Value::Null;
    for _ in 0..50 {
        let message = read_json(&mut socket).await;
        if message["id"] == 3 {
            logs_subscription = message["result"].clone();
            break;
        }
    }
    assert!(logs_subscription.is_string());
    let word = B256::repeat_byte(0x33);
    let call = mined(
        &provider,
        TransactionRequest::default()
            .with_to(pinger)
            .with_input(Bytes::from(word.to_vec())),
    )
    .await;
    let mut pushed = None;
    for _ in 0..50 {
        let message = read_json(&mut socket).await;
        if message["params"]["subscription"] == logs_subscription {
            pushed = Some(message["params"]["result"].clone());
            break;
        }
    }
    let pushed = pushed.expect("log pushed over the websocket");
    assert_eq!(
        pushed["transactionHash"],
        serde_json::json!(call.transaction_hash)
    );
    assert_eq!(
        pushed["data"],
        serde_json::json!(Bytes::from(word.to_vec()))
    );

    let block_hashes: Vec<B256> = provider.get_filter_changes(blocks).await.unwrap();
    assert!(
        block_hashes.contains(&call.block_hash.expect("block")),
        "new blocks reported"
    );
    let pending_hashes: Vec<B256> = provider.get_filter_changes(pending).await.unwrap();
    assert!(pending_hashes.contains(&call.transaction_hash));
    let logs: Vec<alloy::rpc::types::Log> = provider.get_filter_changes(logs_filter).await.unwrap();
    assert_eq!(logs.len(), 1);
    assert_eq!(logs[0].transaction_hash, Some(call.transaction_hash));
    // Polled changes are reported once.
    let again: Vec<alloy::rpc::types::Log> =
        provider.get_filter_changes(logs_filter).await.unwrap();
    assert!(again.is_empty());
    assert!(provider.uninstall_filter(logs_filter).await.unwrap());
    let error = provider
        .get_filter_changes::<alloy::rpc::types::Log>(logs_filter)
        .await
        .unwrap_err()
        .to_string();
    assert!(error.contains("filter not found"), "{error}");
    running.stop().await.expect("clean stop");
}

async fn read_json<S>(socket: &mut S) -> serde_json::Value
where
    S: futures_util::Stream<
            Item = Result<
                tokio_tungstenite::tungstenite::Message,
                tokio_tungstenite::tungstenite::Error,
            >,
        > + Unpin,
{
    use futures_util::StreamExt;
    loop {
        let message = tokio::time::timeout(Duration::from_secs(20), socket.next())
            .await
            .expect("a message in time")
            .expect("socket open")
            .expect("frame");
        if let tokio_tungstenite::tungstenite::Message::Text(text) = message {
            return serde_json::from_str(text.as_str()).expect("json");
        }
    }
}

/// GET /metrics over a plain TCP connection.
async fn scrape(addr: SocketAddr) -> String {
    http_get(addr, "/metrics").await
}

/// A GET over a plain TCP connection: the whole response, headers included.
async fn http_get(addr: SocketAddr, path: &str) -> String {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let mut stream = tokio::net::TcpStream::connect(addr).await.expect("port");
    stream
        .write_all(
            format!("GET {path} HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n")
                .as_bytes(),
        )
        .await
        .expect("request");
    let mut response = String::new();
    stream
        .read_to_string(&mut response)
        .await
        .expect("response");
    assert!(response.starts_with("HTTP/1.1 200"), "{response}");
    response
}

/// Sends a transaction through the wallet and waits for its receipt.
async fn mined<P: Provider>(
    provider: &P,
    request: TransactionRequest,
) -> alloy::rpc::types::TransactionReceipt {
    provider
        .send_transaction(request)
        .await
        .expect("sent")
        .with_timeout(Some(Duration::from_secs(20)))
        .get_receipt()
        .await
        .expect("mined")
}

/// One HTTP POST of `body` to the node, as a load generator sends a JSON-RPC batch.
async fn post_json(addr: SocketAddr, body: &str) -> serde_json::Value {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let mut stream = tokio::net::TcpStream::connect(addr).await.expect("connect");
    let request = format!(
        "POST / HTTP/1.1\r\nHost: {addr}\r\nContent-Type: application/json\r\n\
         Content-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    );
    stream.write_all(request.as_bytes()).await.expect("send");
    let mut reply = Vec::new();
    stream.read_to_end(&mut reply).await.expect("read");
    let reply = String::from_utf8(reply).expect("utf-8");
    let (_, body) = reply.split_once("\r\n\r\n").expect("http body");
    serde_json::from_str(body).expect("json reply")
}

/// A batch request's `eth_sendRawTransaction` calls are pooled together, but each is answered
/// as it would be alone, in request order, next to the batch's other calls: accepted hashes,
/// `already known` for a repeat, a decoding error for garbage, -32600 for a malformed request.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_batch_of_raw_transactions_is_answered_per_transaction_in_order() {
    let dir = tempfile::tempdir().expect("temp dir");
    let url = format!("sqlite:{}", dir.path().join("chain.db").display());
    let running = start(&url).await;
    let alice = key(0);
    let signed = |nonce: u64| {
        let tx = TxEip1559 {
            chain_id: 901,
            nonce,
            gas_limit: 21_000,
            max_fee_per_gas: 100_000_000_000,
            max_priority_fee_per_gas: 1_000,
            to: TxKind::Call(Address::repeat_byte(0xb0)),
            value: U256::from(1),
            ..Default::default()
        };
        let signature = alice.sign_hash_sync(&tx.signature_hash()).expect("sign");
        let envelope = TxEnvelope::from(tx.into_signed(signature));
        (*envelope.tx_hash(), Bytes::from(envelope.encoded_2718()))
    };
    let ((hash0, raw0), (hash1, raw1)) = (signed(0), signed(1));
    let send = |id: u64, raw: &Bytes| {
        serde_json::json!({"jsonrpc": "2.0", "id": id, "method": "eth_sendRawTransaction",
            "params": [raw]})
    };
    let batch = serde_json::json!([
        send(0, &raw0),
        {"jsonrpc": "2.0", "id": 1, "method": "eth_chainId"},
        send(2, &raw1),
        send(3, &raw0),
        send(4, &Bytes::from_static(&[0x02, 0x12, 0x34])),
        {"id": 5},
        {"jsonrpc": "2.0", "id": 6, "method": "eth_sendRawTransaction", "params": []},
    ]);
    let replies = post_json(running.rpc_addr, &batch.to_string()).await;
    let replies = replies.as_array().expect("a batch reply");
    assert_eq!(replies.len(), 7, "{replies:?}");
    for (index, reply) in replies.iter().enumerate() {
        if index != 5 {
            assert_eq!(reply["id"], serde_json::json!(index), "{reply}");
        }
    }
    assert_eq!(
        replies[0]["result"],
        serde_json::json!(hash0),
        "{}",
        replies[0]
    );
    assert_eq!(replies[1]["result"], serde_json::json!("0x385"));
    assert_eq!(
        replies[2]["result"],
        serde_json::json!(hash1),
        "{}",
        replies[2]
    );
    assert_eq!(replies[3]["error"]["message"], "already known");
    assert_eq!(replies[4]["error"]["code"], -32000, "{}", replies[4]);
    assert_eq!(replies[5]["error"]["code"], -32600, "{}", replies[5]);
    assert_eq!(replies[6]["error"]["code"], -32602, "{}", replies[6]);

    // Both accepted transactions are included, in nonce order.
    let provider = ProviderBuilder::new()
        .connect_http(format!("http://{}", running.rpc_addr).parse().unwrap());
    let deadline = std::time::Instant::now() + Duration::from_secs(60);
    let mut blocks = Vec::new();
    for hash in [hash0, hash1] {
        loop {
            if let Some(receipt) = provider.get_transaction_receipt(hash).await.unwrap() {
                assert!(receipt.status());
                blocks.push((receipt.block_number, receipt.transaction_index));
                break;
            }
            assert!(
                std::time::Instant::now() < deadline,
                "{hash} never included"
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }
    assert!(blocks[0] < blocks[1], "{blocks:?}");
    running.stop().await.expect("stop");
}
