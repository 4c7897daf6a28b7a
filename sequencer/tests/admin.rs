//! The admin RPC on its own authenticated port: tokens are checked (HTTP 401 otherwise), the
//! public port never serves admin methods, and a stopped sequencer keeps serving reads and
//! pooling transactions but seals nothing until it is started again on the head it stopped at;
//! while the batcher reports a DA backlog over the limit, new transactions are refused.

use std::{net::SocketAddr, time::Duration};

use alloy::{
    eips::BlockNumberOrTag,
    network::{EthereumWallet, TransactionBuilder},
    primitives::{Address, B256, U256},
    providers::{Provider, ProviderBuilder},
    rpc::types::TransactionRequest,
    signers::local::PrivateKeySigner,
};
use parallax_protocol::RollupConfig;
use parallax_sequencer::{
    genesis::{dev_accounts, Genesis},
    node::{self, AdminConfig, NodeConfig, Roles},
    origin::FixedOrigin,
    rpc::admin::JwtSecret,
};
use parallax_state::store::SqlStore;
use serde_json::{json, Value};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

fn now_secs() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .expect("clock")
        .as_secs()
}

/// POSTs `body` to `addr` with an optional bearer token; returns the status and the body.
async fn post(addr: SocketAddr, body: &Value, token: Option<&str>) -> (u16, String) {
    let body = body.to_string();
    let auth = token.map_or(String::new(), |token| {
        format!("Authorization: Bearer {token}\r\n")
    });
    let request = format!(
        "POST / HTTP/1.1\r\nHost: {addr}\r\nContent-Type: application/json\r\n{auth}\
         Content-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    );
    let mut stream = tokio::net::TcpStream::connect(addr).await.expect("connect");
    stream.write_all(request.as_bytes()).await.expect("write");
    let mut response = String::new();
    stream.read_to_string(&mut response).await.expect("read");
    let status = response
        .split_whitespace()
        .nth(1)
        .and_then(|code| code.parse().ok())
        .expect("status line");
    let body = response
        .split_once("\r\n\r\n")
        .map(|(_, body)| body.to_owned())
        .unwrap_or_default();
    (status, body)
}

/// A JSON-RPC call on the admin port with a fresh token; returns the reply object.
async fn admin(addr: SocketAddr, secret: &JwtSecret, method: &str, params: Value) -> Value {
    let request = json!({"jsonrpc": "2.0", "id": 1, "method": method, "params": params});
    let (status, body) = post(addr, &request, Some(&secret.token(now_secs()))).await;
    assert_eq!(status, 200, "{body}");
    serde_json::from_str(&body).expect("JSON reply")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_admin_port_stops_and_starts_sequencing_for_token_holders_only() {
    let dir = tempfile::tempdir().expect("temp dir");
    let url = format!("sqlite:{}", dir.path().join("chain.db").display());
    let store = SqlStore::open(&url).await.expect("store");
    let time = node::genesis_time(&store).await.expect("genesis time");
    let mut rollup = RollupConfig {
        block_time_ms: 100,
        ..Default::default()
    };
    rollup.genesis.l2_timestamp = time;
    let secret = JwtSecret::from_bytes([0x5a; 32]);
    let mut config = NodeConfig::new(&rollup, SocketAddr::from(([127, 0, 0, 1], 0)));
    config.params.threads = 2;
    config.admin = Some(AdminConfig {
        addr: SocketAddr::from(([127, 0, 0, 1], 0)),
        jwt_secret: secret.clone(),
    });
    let origins = Box::new(FixedOrigin::new(&config.params.rollup));
    let running = node::start(
        store,
        &Genesis::dev(time).expect("genesis"),
        config,
        Roles::sequencer(origins),
    )
    .await
    .expect("node starts");
    let admin_addr = running.admin_addr.expect("admin port");
    let account = &dev_accounts().expect("dev accounts")[0];
    let signer = PrivateKeySigner::from_bytes(&account.private_key).expect("key");
    let provider = ProviderBuilder::new()
        .wallet(EthereumWallet::from(signer))
        .connect_http(format!("http://{}", running.rpc_addr).parse().expect("url"));

    // Without a valid, fresh token: 401, whatever the body.
    let active = json!({"jsonrpc": "2.0", "id": 1, "method": "admin_sequencerActive"});
    assert_eq!(post(admin_addr, &active, None).await.0, 401);
    assert_eq!(post(admin_addr, &active, Some("not-a-jwt")).await.0, 401);
    let stranger = JwtSecret::from_bytes([0x5b; 32]);
    assert_eq!(
        post(admin_addr, &active, Some(&stranger.token(now_secs())))
            .await
            .0,
        401
    );
    assert_eq!(
        post(admin_addr, &active, Some(&secret.token(now_secs() - 600)))
            .await
            .0,
        401,
        "a stale token"
    );
    // The public port does not know the admin methods.
    let public: Value = serde_json::from_str(
        &post(
            running.rpc_addr,
            &json!({"jsonrpc": "2.0", "id": 1, "method": "admin_stopSequencer"}),
            None,
        )
        .await
        .1,
    )
    .expect("JSON");
    assert_eq!(public["error"]["code"], -32601, "{public}");

    assert_eq!(
        admin(admin_addr, &secret, "admin_sequencerActive", json!([])).await["result"],
        true
    );
    // Let the chain move, then stop it: the reply names the last sealed block.
    let first = provider
        .send_transaction(
            TransactionRequest::default()
                .with_to(Address::repeat_byte(0xb0))
                .with_value(U256::from(1)),
        )
        .await
        .expect("accepted")
        .with_timeout(Some(Duration::from_secs(60)))
        .get_receipt()
        .await
        .expect("mined");
    assert!(first.status());
    let stopped = admin(admin_addr, &secret, "admin_stopSequencer", json!([])).await;
    let head: B256 = serde_json::from_value(stopped["result"].clone()).expect("hash");
    assert_eq!(
        admin(admin_addr, &secret, "admin_sequencerActive", json!([])).await["result"],
        false
    );
    let again = admin(admin_addr, &secret, "admin_stopSequencer", json!([])).await;
    assert_eq!(again["error"]["message"], "sequencer not running");

    // Stopped: reads are served and transactions pooled, but no block is sealed (ten block
    // times pass).
    let latest = provider
        .get_block_by_number(BlockNumberOrTag::Latest)
        .await
        .unwrap()
        .expect("head");
    assert_eq!(latest.header.hash, head);
    let pending = provider
        .send_transaction(
            TransactionRequest::default()
                .with_to(Address::repeat_byte(0xb1))
                .with_value(U256::from(2)),
        )
        .await
        .expect("pooled while stopped");
    let hash = *pending.tx_hash();
    tokio::time::sleep(Duration::from_secs(1)).await;
    let latest = provider
        .get_block_by_number(BlockNumberOrTag::Latest)
        .await
        .unwrap()
        .expect("head");
    assert_eq!(
        latest.header.hash, head,
        "a stopped sequencer sealed a block"
    );
    assert!(provider
        .get_transaction_receipt(hash)
        .await
        .unwrap()
        .is_none());
    assert!(
        provider
            .get_transaction_by_hash(hash)
            .await
            .unwrap()
            .is_some(),
        "the pool serves it"
    );

    // Starting on another head is refused; on the stopped head it resumes and includes the
    // pooled transaction.
    let wrong = admin(
        admin_addr,
        &secret,
        "admin_startSequencer",
        json!([B256::repeat_byte(1)]),
    )
    .await;
    assert!(
        wrong["error"]["message"]
            .as_str()
            .unwrap_or_default()
            .contains("does not match"),
        "{wrong}"
    );
    let started = admin(admin_addr, &secret, "admin_startSequencer", json!([head])).await;
    assert_eq!(started["result"], Value::Null, "{started}");
    let receipt = pending
        .with_timeout(Some(Duration::from_secs(60)))
        .get_receipt()
        .await
        .expect("mined after the restart");
    assert!(receipt.status());
    let already = admin(admin_addr, &secret, "admin_startSequencer", json!([])).await;
    assert_eq!(already["error"]["message"], "sequencer already running");

    // DA backpressure: over the limit the batcher reports, new transactions are refused with
    // EIP-1474's "limit exceeded"; once it has caught up they are accepted again.
    let limit = admin(
        admin_addr,
        &secret,
        "admin_setMaxDaBacklog",
        json!(["0x3e8"]),
    )
    .await;
    assert_eq!(limit["result"], false);
    let over = admin(admin_addr, &secret, "admin_setDaBacklog", json!(["0x1388"])).await;
    assert_eq!(over["result"], true);
    let status = admin(admin_addr, &secret, "admin_daBacklog", json!([])).await;
    assert_eq!(
        status["result"],
        json!({"backlog": "0x1388", "max": "0x3e8", "refusingTransactions": true})
    );
    let transfer = || {
        TransactionRequest::default()
            .with_to(Address::repeat_byte(0xb2))
            .with_value(U256::from(3))
    };
    let refused = provider
        .send_transaction(transfer())
        .await
        .expect_err("refused over the backlog limit")
        .to_string();
    assert!(
        refused.contains("-32005") || refused.contains("await posting"),
        "{refused}"
    );
    let caught_up = admin(admin_addr, &secret, "admin_setDaBacklog", json!(["0x0"])).await;
    assert_eq!(caught_up["result"], false);
    // The refused transaction used no nonce: the next one takes the same.
    let nonce = provider
        .get_transaction_count(account.address)
        .pending()
        .await
        .unwrap();
    let receipt = provider
        .send_transaction(transfer().with_nonce(nonce))
        .await
        .expect("accepted again")
        .with_timeout(Some(Duration::from_secs(60)))
        .get_receipt()
        .await
        .expect("mined");
    assert!(receipt.status());
    running.stop().await.expect("stops");
}
