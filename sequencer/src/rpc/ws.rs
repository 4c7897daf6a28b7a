//! JSON-RPC over WebSocket, with `eth_subscribe` (`newHeads`, `logs`, `newPendingTransactions`)
//! and `eth_unsubscribe`. Every other method is answered exactly as over HTTP.

use std::{collections::HashMap, sync::Arc};

use alloy::rpc::types::{Filter, Header as RpcHeader, Log as RpcLog};
use alloy_primitives::U256;
use axum::{
    extract::{
        ws::{Message, WebSocket, WebSocketUpgrade},
        State,
    },
    response::Response,
};
use futures_util::{SinkExt, StreamExt};
use parallax_state::store::{ChainStore, StoredBlock};
use serde_json::{json, Value};
use tokio::{
    sync::{broadcast, mpsc},
    task::JoinHandle,
};

use super::{parse_error, parse_params, process, response, EthApi, RpcError};

/// Upgrades a GET on the RPC path to a WebSocket.
pub(super) async fn upgrade<S: ChainStore>(
    ws: WebSocketUpgrade,
    State(api): State<Arc<EthApi<S>>>,
) -> Response {
    let limit = api.limits().max_body_bytes;
    ws.max_message_size(limit)
        .on_upgrade(move |socket| serve(socket, api))
}

/// A subscription's notifications for one sealed block.
fn notifications(kind: &Subscription, block: &StoredBlock) -> Vec<Value> {
    match kind {
        Subscription::NewHeads => vec![serde_json::to_value(RpcHeader {
            hash: block.hash,
            inner: block.header.clone(),
            total_difficulty: Some(U256::ZERO),
            size: None,
        })
        .unwrap_or(Value::Null)],
        Subscription::Logs(filter) => {
            let mut log_index = 0u64;
            let mut out = Vec::new();
            for (tx_index, (tx, receipt)) in
                block.transactions.iter().zip(&block.receipts).enumerate()
            {
                for log in &receipt.logs {
                    if filter.matches(log) {
                        let log = RpcLog {
                            inner: log.clone(),
                            block_hash: Some(block.hash),
                            block_number: Some(block.header.number),
                            block_timestamp: Some(block.header.timestamp),
                            transaction_hash: Some(tx.hash),
                            transaction_index: Some(tx_index as u64),
                            log_index: Some(log_index),
                            removed: false,
                        };
                        out.push(serde_json::to_value(log).unwrap_or(Value::Null));
                    }
                    log_index += 1;
                }
            }
            out
        }
        Subscription::PendingTransactions => Vec::new(),
    }
}

enum Subscription {
    NewHeads,
    Logs(Box<Filter>),
    PendingTransactions,
}

fn notification(id: U256, result: Value) -> String {
    json!({"jsonrpc": "2.0", "method": "eth_subscription", "params": {"subscription": id, "result": result}})
        .to_string()
}

/// Starts forwarding a subscription's events to the socket.
fn spawn_forwarder<S: ChainStore>(
    api: &EthApi<S>,
    id: U256,
    kind: Subscription,
    out: mpsc::Sender<String>,
) -> JoinHandle<()> {
    match kind {
        Subscription::PendingTransactions => {
            let mut pending = api.events().pending.subscribe();
            tokio::spawn(async move {
                loop {
                    match pending.recv().await {
                        Ok(hash) => {
                            if out.send(notification(id, json!(hash))).await.is_err() {
                                return;
                            }
                        }
                        Err(broadcast::error::RecvError::Lagged(_)) => continue,
                        Err(broadcast::error::RecvError::Closed) => return,
                    }
                }
            })
        }
        kind => {
            let mut blocks = api.events().blocks.subscribe();
            tokio::spawn(async move {
                loop {
                    match blocks.recv().await {
                        Ok(block) => {
                            for result in notifications(&kind, &block) {
                                if out.send(notification(id, result)).await.is_err() {
                                    return;
                                }
                            }
                        }
                        // A slow client misses notifications rather than stalling the node.
                        Err(broadcast::error::RecvError::Lagged(_)) => continue,
                        Err(broadcast::error::RecvError::Closed) => return,
                    }
                }
            })
        }
    }
}

async fn serve<S: ChainStore>(socket: WebSocket, api: Arc<EthApi<S>>) {
    let (mut sink, mut stream) = socket.split();
    let (out, mut outgoing) = mpsc::channel::<String>(1_024);
    let writer = tokio::spawn(async move {
        while let Some(text) = outgoing.recv().await {
            if sink.send(Message::Text(text.into())).await.is_err() {
                break;
            }
        }
    });
    let mut subscriptions: HashMap<U256, JoinHandle<()>> = HashMap::new();
    let mut next_id = 0u64;
    while let Some(Ok(message)) = stream.next().await {
        let payload: axum::body::Bytes = match message {
            Message::Text(text) => text.into(),
            // web3.py's WebSocketProvider sends requests as binary frames; geth reads both.
            Message::Binary(bytes) => bytes,
            Message::Close(_) => break,
            _ => continue,
        };
        let reply = match serde_json::from_slice::<Value>(&payload) {
            Err(error) => parse_error(error),
            Ok(request) => {
                let method = request
                    .get("method")
                    .and_then(Value::as_str)
                    .unwrap_or_default()
                    .to_string();
                let id = request.get("id").cloned().unwrap_or(Value::Null);
                let params = request.get("params").cloned().unwrap_or(Value::Null);
                match method.as_str() {
                    "eth_subscribe" => {
                        let result = subscription_kind(params).map(|kind| {
                            next_id += 1;
                            let subscription = U256::from(next_id);
                            subscriptions.insert(
                                subscription,
                                spawn_forwarder(&api, subscription, kind, out.clone()),
                            );
                            json!(subscription)
                        });
                        response(id, result)
                    }
                    "eth_unsubscribe" => {
                        let result = parse_params::<(U256,)>(params, 1).map(|(subscription,)| {
                            let removed = subscriptions.remove(&subscription);
                            if let Some(task) = &removed {
                                task.abort();
                            }
                            json!(removed.is_some())
                        });
                        response(id, result)
                    }
                    _ => process(&api, request).await,
                }
            }
        };
        if out.send(reply.to_string()).await.is_err() {
            break;
        }
    }
    for task in subscriptions.into_values() {
        task.abort();
    }
    drop(out);
    let _ = writer.await;
}

fn subscription_kind(params: Value) -> Result<Subscription, RpcError> {
    let (kind, filter): (String, Option<Filter>) = parse_params(params, 2)?;
    match kind.as_str() {
        "newHeads" => Ok(Subscription::NewHeads),
        "logs" => Ok(Subscription::Logs(Box::new(filter.unwrap_or_default()))),
        "newPendingTransactions" => Ok(Subscription::PendingTransactions),
        other => Err(RpcError::invalid_params(format!(
            "unknown subscription {other:?}"
        ))),
    }
}
