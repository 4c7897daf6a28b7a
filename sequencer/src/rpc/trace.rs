//! `debug_traceTransaction`, `debug_traceBlockByNumber` and `debug_traceBlockByHash` with geth's
//! `callTracer`, for explorers: the block's transactions are re-executed on its parent's state
//! (from the stored trie nodes) with the executor's call tracer.

use alloy_primitives::{B256, U64};
use parallax_executor::trace::{trace_calls, CallFrame, CallTracerConfig};
use parallax_state::store::{BlockingHistory, ChainStore, HistoricalState, StoredBlock};
use serde::Deserialize;
use serde_json::{json, Map, Value};

use super::RpcError;

/// The options object of the `debug_trace*` methods (geth's `TraceConfig`). Fields of the
/// struct logger (`enableMemory`, `disableStack`, …) and `timeout` are accepted and ignored.
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(super) struct TraceOptions {
    tracer: Option<String>,
    #[serde(default)]
    tracer_config: TracerConfig,
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
struct TracerConfig {
    #[serde(default)]
    only_top_call: bool,
    #[serde(default)]
    with_log: bool,
}

impl TraceOptions {
    /// The call tracer's configuration, or why the request asks for something else.
    pub(super) fn call_tracer(options: Option<Self>) -> Result<CallTracerConfig, RpcError> {
        let options = options.unwrap_or_default();
        match options.tracer.as_deref() {
            Some("callTracer") => Ok(CallTracerConfig {
                only_top_call: options.tracer_config.only_top_call,
                with_log: options.tracer_config.with_log,
            }),
            None => Err(RpcError::invalid_params(
                "unsupported tracer: the default struct logger is not available on this node; \
                 use {\"tracer\": \"callTracer\"}",
            )),
            Some(other) => Err(RpcError::invalid_params(format!(
                "unsupported tracer {other:?}: this node provides \"callTracer\""
            ))),
        }
    }
}

/// Call traces of the transactions at `indices` (ascending) of `block`, re-executed on the
/// state after its parent.
pub(super) async fn trace_block<S: ChainStore>(
    store: &S,
    rollup: &parallax_protocol::RollupConfig,
    block: &StoredBlock,
    indices: Vec<usize>,
    config: CallTracerConfig,
) -> Result<Vec<CallFrame>, RpcError> {
    if indices.is_empty() || block.header.number == 0 {
        return Ok(Vec::new());
    }
    let (env, txs) = crate::chain::replay_inputs(rollup, block).map_err(RpcError::internal)?;
    let parent = HistoricalState::at(store.clone(), block.header.number - 1)
        .await
        .map_err(super::eth::store_error)?;
    let db = BlockingHistory::new(parent).map_err(super::eth::store_error)?;
    tokio::task::spawn_blocking(move || trace_calls(&env, &txs, &db, &indices, config))
        .await
        .map_err(RpcError::internal)?
        .map_err(|error| RpcError::internal(format!("re-execution failed: {error}")))
}

/// geth's `callTracer` JSON of a frame.
pub(super) fn frame_json(frame: &CallFrame) -> Value {
    let mut object = Map::new();
    object.insert("type".into(), json!(frame.kind.as_str()));
    object.insert("from".into(), json!(frame.from));
    if let Some(to) = frame.to {
        object.insert("to".into(), json!(to));
    }
    if let Some(value) = frame.value {
        object.insert("value".into(), json!(value));
    }
    object.insert("gas".into(), json!(U64::from(frame.gas)));
    object.insert("gasUsed".into(), json!(U64::from(frame.gas_used)));
    object.insert("input".into(), json!(frame.input));
    if !frame.output.is_empty() {
        object.insert("output".into(), json!(frame.output));
    }
    if let Some(error) = &frame.error {
        object.insert("error".into(), json!(error));
    }
    if let Some(reason) = &frame.revert_reason {
        object.insert("revertReason".into(), json!(reason));
    }
    if !frame.calls.is_empty() {
        object.insert(
            "calls".into(),
            Value::Array(frame.calls.iter().map(frame_json).collect()),
        );
    }
    if !frame.logs.is_empty() {
        let logs = frame
            .logs
            .iter()
            .map(|log| {
                json!({
                    "address": log.log.address,
                    "topics": log.log.topics(),
                    "data": log.log.data.data,
                    "position": U64::from(log.position),
                    "index": U64::from(log.index),
                })
            })
            .collect();
        object.insert("logs".into(), Value::Array(logs));
    }
    Value::Object(object)
}

/// The `debug_traceBlock*` result: one `{txHash, result}` per transaction, as geth returns it.
pub(super) fn block_json(block: &StoredBlock, frames: &[CallFrame]) -> Value {
    Value::Array(
        block
            .transactions
            .iter()
            .zip(frames)
            .map(|(tx, frame)| json!({"txHash": tx.hash, "result": frame_json(frame)}))
            .collect(),
    )
}

/// Where transaction `hash` sits: its block and index.
pub(super) async fn locate<S: ChainStore>(
    store: &S,
    hash: B256,
) -> Result<(StoredBlock, usize), RpcError> {
    let (_, location) = store
        .transaction(hash)
        .await
        .map_err(super::eth::store_error)?
        .ok_or_else(|| RpcError::server(format!("transaction {hash} not found")))?;
    let block = store
        .block(location.block.number)
        .await
        .map_err(super::eth::store_error)?
        .ok_or_else(|| RpcError::server("header not found"))?;
    Ok((block, location.index as usize))
}
