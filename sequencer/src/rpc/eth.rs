//! The `eth_`, `net_` and `web3_` methods, with geth's semantics for block tags, errors and
//! response shapes (alloy's RPC types serialize exactly what clients expect).

use std::sync::Arc;

use alloy::{
    consensus::{Receipt, ReceiptEnvelope, ReceiptWithBloom, TxEnvelope, TxType},
    eips::{eip2718::Decodable2718, BlockId, BlockNumberOrTag},
    rpc::types::{
        state::StateOverride, Block, BlockTransactions, EIP1186AccountProofResponse,
        EIP1186StorageProof, FeeHistory, Filter, FilterBlockOption, Header as RpcHeader,
        Log as RpcLog, Transaction as RpcTransaction, TransactionReceipt, TransactionRequest,
    },
    serde::JsonStorageKey,
};
use alloy_consensus::{transaction::Recovered, Transaction};
use alloy_primitives::{Address, Bytes, TxKind, B256, U256, U64};
use parallax_executor::{simulate, SimulationOptions};
use parallax_protocol::{
    deposit::{DepositTx, DEPOSIT_TX_TYPE},
    l1_calldata_gas, l1_data_fee,
    l1_info::L1Info,
};
use parallax_state::{
    store::{
        BlockingHistory, ChainStore, HeadKind, HistoricalState, LogFilter, StoreError, StoredBlock,
        StoredTransaction,
    },
    AccountProof,
};
use revm::{
    context::{result::ExecutionResult, TxEnv},
    primitives::KECCAK_EMPTY,
};
use serde_json::{json, Value};
use tokio::sync::Mutex;

use super::{
    filters::{FilterKind, Filters},
    overrides::{self, WithOverrides},
    parse_params,
    trace::{self, TraceOptions},
    Events, RpcError, RpcLimits,
};
use crate::{
    chain::{Chain, ChainState},
    journal::Journal,
    mempool::{decode_transaction, recover_sender, Mempool, PooledTx},
    metrics::Metrics,
};

/// Everything the methods read: the chain, the pool, limits.
#[derive(Debug)]
pub struct EthApi<S> {
    chain: Arc<Chain<S>>,
    pool: Arc<Mutex<Mempool>>,
    journal: Journal,
    events: Events,
    metrics: Arc<Metrics>,
    filters: std::sync::Mutex<Filters>,
    limits: RpcLimits,
    cors_origin: Option<String>,
    suggested_tip: u128,
    read_only: bool,
    /// The L1-info values of recently read blocks, by block hash: a receipt's L1 fee fields
    /// need them, and loading the whole block for every receipt would be wasteful.
    l1_infos: std::sync::Mutex<std::collections::HashMap<B256, L1Info>>,
    /// Sequencing control, for DA backpressure on new transactions.
    control: Option<Arc<super::admin::SequencerControl>>,
}

/// Transactions of one request from which senders are recovered on several cores.
const PARALLEL_RECOVERY: usize = 16;

/// A raw transaction as the pool takes it: decoded and its sender recovered (CPU work).
fn pooled_transaction(raw: Bytes) -> Result<PooledTx, RpcError> {
    let envelope = decode_transaction(&raw).map_err(|error| RpcError::server(error.to_string()))?;
    let sender = recover_sender(&envelope).map_err(|error| RpcError::server(error.to_string()))?;
    Ok(PooledTx {
        hash: *envelope.tx_hash(),
        sender,
        envelope: Arc::new(envelope),
        raw,
        arrival: 0,
    })
}

/// Most blocks whose L1-info values [`EthApi`] keeps.
const L1_INFO_CACHE: usize = 1_024;

fn to_value<T: serde::Serialize>(value: T) -> Result<Value, RpcError> {
    serde_json::to_value(value).map_err(RpcError::internal)
}

/// A store failure as the JSON-RPC error geth gives for it.
pub(super) fn store_error(error: StoreError) -> RpcError {
    match error {
        StoreError::StatePruned { .. } => RpcError::server(format!("missing trie node: {error}")),
        StoreError::UnknownBlock(_) => RpcError::server("header not found"),
        other => RpcError::internal(other),
    }
}

/// Where a state read is answered from.
enum StateAt<S> {
    /// The latest state, in memory.
    Latest,
    /// A past block, from stored trie nodes.
    Past(HistoricalState<S>),
}

impl<S: ChainStore> EthApi<S> {
    /// The API over a chain and its pool.
    pub fn new(
        chain: Arc<Chain<S>>,
        pool: Arc<Mutex<Mempool>>,
        journal: Journal,
        events: Events,
        metrics: Arc<Metrics>,
        limits: RpcLimits,
        cors_origin: Option<String>,
        suggested_tip: u128,
    ) -> Self {
        Self {
            chain,
            pool,
            journal,
            events,
            metrics,
            filters: std::sync::Mutex::default(),
            limits,
            cors_origin,
            suggested_tip,
            read_only: false,
            l1_infos: std::sync::Mutex::default(),
            control: None,
        }
    }

    /// A replica's API: it derives its chain from L1 and includes nothing itself, so it refuses
    /// transactions instead of pooling them where no block will ever pick them up.
    pub fn read_only(mut self) -> Self {
        self.read_only = true;
        self
    }

    /// Refuse new transactions while `control` reports DA backpressure.
    pub fn with_control(mut self, control: Arc<super::admin::SequencerControl>) -> Self {
        self.control = Some(control);
        self
    }

    /// The chain served.
    pub fn chain(&self) -> &Arc<Chain<S>> {
        &self.chain
    }

    /// Counters shared with the producer.
    pub fn metrics(&self) -> &Metrics {
        &self.metrics
    }

    /// Whether this is a replica's API.
    pub fn is_read_only(&self) -> bool {
        self.read_only
    }

    /// Transactions waiting in the pool.
    pub async fn pool_len(&self) -> usize {
        self.pool.lock().await.len()
    }

    /// Block and transaction events, for subscriptions.
    pub fn events(&self) -> &Events {
        &self.events
    }

    fn filters(&self) -> std::sync::MutexGuard<'_, Filters> {
        // A panic while holding the lock cannot leave the map half-updated: recover it.
        self.filters
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    async fn filter_changes(&self, id: U256) -> Result<Value, RpcError> {
        enum Pending {
            Blocks(u64),
            Logs(Filter, u64),
        }
        let head = self.head_number().await;
        let pending = {
            let mut filters = self.filters();
            let Some(kind) = filters.poll(&id) else {
                return Err(RpcError::server("filter not found"));
            };
            match kind {
                FilterKind::Blocks { next } => Pending::Blocks(std::mem::replace(next, head + 1)),
                FilterKind::Logs { filter, next } => {
                    Pending::Logs((**filter).clone(), std::mem::replace(next, head + 1))
                }
                FilterKind::PendingTransactions { hashes } => {
                    return to_value(std::mem::take(hashes))
                }
            }
        };
        match pending {
            Pending::Blocks(from) => {
                let mut hashes = Vec::new();
                for number in from..=head {
                    if let Some(header) = self
                        .chain
                        .store()
                        .header(number)
                        .await
                        .map_err(store_error)?
                    {
                        hashes.push(header.hash);
                    }
                }
                to_value(hashes)
            }
            Pending::Logs(_, from) if from > head => to_value(Vec::<RpcLog>::new()),
            Pending::Logs(filter, from) => {
                to_value(self.logs(&filter.from_block(from).to_block(head)).await?)
            }
        }
    }

    /// Heads as rollup tooling expects them (`rollup_syncStatus`).
    async fn sync_status(&self) -> Result<Value, RpcError> {
        let store = self.chain.store();
        let head = self.chain.state().read().await.head.block_ref();
        let genesis = store
            .header(0)
            .await
            .map_err(store_error)?
            .map(|header| header.hash)
            .unwrap_or_default();
        let genesis = parallax_state::store::BlockRef {
            number: 0,
            hash: genesis,
        };
        let safe = store
            .head(HeadKind::Safe)
            .await
            .map_err(store_error)?
            .unwrap_or(genesis);
        let finalized = store
            .head(HeadKind::Finalized)
            .await
            .map_err(store_error)?
            .unwrap_or(genesis);
        to_value(json!({
            "unsafe_l2": head,
            "safe_l2": safe,
            "finalized_l2": finalized,
        }))
    }

    /// The output root of block `number` (design §2) with its parts, as the proposer posts it
    /// and a withdrawal proves against it.
    async fn output_at(&self, number: u64) -> Result<Value, RpcError> {
        let header = self
            .chain
            .store()
            .header(number)
            .await
            .map_err(store_error)?
            .ok_or_else(|| RpcError::server("header not found"))?;
        let passer = parallax_protocol::predeploys::L2_TO_L1_MESSAGE_PASSER;
        let proof = self
            .proof_at(
                passer,
                &[],
                Some(BlockId::Number(BlockNumberOrTag::Number(number))),
            )
            .await?;
        let input = parallax_protocol::OutputRootInput {
            state_root: header.header.state_root,
            message_passer_storage_root: proof.storage_root,
            block_hash: header.hash,
        };
        to_value(json!({
            "version": parallax_protocol::OUTPUT_VERSION_V0,
            "outputRoot": parallax_protocol::output_root(&input),
            "blockRef": {"number": number, "hash": header.hash, "timestamp": header.header.timestamp},
            "stateRoot": input.state_root,
            "withdrawalStorageRoot": input.message_passer_storage_root,
        }))
    }

    /// The limits in force.
    pub fn limits(&self) -> &RpcLimits {
        &self.limits
    }

    /// The `Access-Control-Allow-Origin` value, if CORS is enabled.
    pub fn cors_origin(&self) -> Option<&str> {
        self.cors_origin.as_deref()
    }

    async fn head_number(&self) -> u64 {
        self.chain.state().read().await.head.header.number
    }

    /// A block tag or number to a block number that exists.
    async fn resolve(&self, tag: BlockNumberOrTag) -> Result<u64, RpcError> {
        let head = self.head_number().await;
        let store = self.chain.store();
        let number = match tag {
            BlockNumberOrTag::Latest | BlockNumberOrTag::Pending => head,
            BlockNumberOrTag::Earliest => 0,
            // Without L1 (dev mode) nothing is derived yet: genesis is the only safe block.
            BlockNumberOrTag::Safe => store
                .head(HeadKind::Safe)
                .await
                .map_err(store_error)?
                .map_or(0, |head| head.number),
            BlockNumberOrTag::Finalized => store
                .head(HeadKind::Finalized)
                .await
                .map_err(store_error)?
                .map_or(0, |head| head.number),
            BlockNumberOrTag::Number(number) if number <= head => number,
            BlockNumberOrTag::Number(_) => return Err(RpcError::server("header not found")),
        };
        Ok(number)
    }

    async fn resolve_id(&self, id: Option<BlockId>) -> Result<u64, RpcError> {
        match id.unwrap_or(BlockId::Number(BlockNumberOrTag::Latest)) {
            BlockId::Number(tag) => self.resolve(tag).await,
            BlockId::Hash(hash) => self
                .chain
                .store()
                .block_number(hash.block_hash)
                .await
                .map_err(store_error)?
                .ok_or_else(|| RpcError::server("header not found")),
        }
    }

    async fn state_at(&self, id: Option<BlockId>) -> Result<StateAt<S>, RpcError> {
        // `latest` means whatever is latest when the read happens, even if a block was sealed
        // since the request arrived.
        if matches!(
            id,
            None | Some(BlockId::Number(
                BlockNumberOrTag::Latest | BlockNumberOrTag::Pending
            ))
        ) {
            return Ok(StateAt::Latest);
        }
        let number = self.resolve_id(id).await?;
        if number == self.head_number().await {
            return Ok(StateAt::Latest);
        }
        HistoricalState::at(self.chain.store().clone(), number)
            .await
            .map(StateAt::Past)
            .map_err(store_error)
    }

    async fn proof_at(
        &self,
        address: Address,
        slots: &[U256],
        id: Option<BlockId>,
    ) -> Result<AccountProof, RpcError> {
        match self.state_at(id).await? {
            StateAt::Latest => Ok(self.chain.state().read().await.world.proof(&address, slots)),
            StateAt::Past(view) => view.proof(&address, slots).await.map_err(store_error),
        }
    }

    async fn code_at(&self, address: Address, id: Option<BlockId>) -> Result<Bytes, RpcError> {
        let account = match self.state_at(id).await? {
            StateAt::Latest => {
                let state = self.chain.state();
                let state = state.read().await;
                let Some(account) = state.world.account(&address) else {
                    return Ok(Bytes::new());
                };
                if let Some(code) = state.world.code(&account.code_hash) {
                    return Ok(code.original_bytes());
                }
                account
            }
            StateAt::Past(view) => match view.account(&address).await.map_err(store_error)? {
                Some(account) => account,
                None => return Ok(Bytes::new()),
            },
        };
        if account.code_hash == KECCAK_EMPTY {
            return Ok(Bytes::new());
        }
        Ok(self
            .chain
            .store()
            .bytecode(account.code_hash)
            .await
            .map_err(store_error)?
            .unwrap_or_default())
    }

    /// Dispatches one method call.
    pub async fn dispatch(&self, method: &str, params: Value) -> Result<Value, RpcError> {
        Metrics::add(&self.metrics.rpc_calls, 1);
        match method {
            "web3_clientVersion" => to_value(concat!("parallax/v", env!("CARGO_PKG_VERSION"))),
            "web3_sha3" => {
                let (data,): (Bytes,) = parse_params(params, 1)?;
                to_value(alloy_primitives::keccak256(data))
            }
            "net_version" => to_value(self.chain.params().rollup.l2_chain_id.to_string()),
            "net_listening" => to_value(true),
            "net_peerCount" => to_value("0x0"),
            "eth_chainId" => to_value(U256::from(self.chain.params().rollup.l2_chain_id)),
            "eth_blockNumber" => to_value(U256::from(self.head_number().await)),
            "eth_syncing" => to_value(false),
            "eth_accounts" => to_value(Vec::<Address>::new()),
            "eth_gasPrice" => {
                let base = self.next_base_fee().await;
                to_value(U256::from(u128::from(base) + self.suggested_tip))
            }
            "eth_maxPriorityFeePerGas" => to_value(U256::from(self.suggested_tip)),
            "eth_getBalance" => {
                let (address, id): (Address, Option<BlockId>) = parse_params(params, 2)?;
                let proof = self.proof_at(address, &[], id).await?;
                to_value(proof.account.map_or(U256::ZERO, |account| account.balance))
            }
            "eth_getTransactionCount" => {
                let (address, id): (Address, Option<BlockId>) = parse_params(params, 2)?;
                let pending = matches!(id, Some(BlockId::Number(BlockNumberOrTag::Pending)));
                let proof = self.proof_at(address, &[], id).await?;
                let nonce = proof.account.map_or(0, |account| account.nonce);
                let nonce = if pending {
                    self.pool.lock().await.pending_nonce(&address, nonce)
                } else {
                    nonce
                };
                to_value(U256::from(nonce))
            }
            "eth_getStorageAt" => {
                let (address, slot, id): (Address, U256, Option<BlockId>) =
                    parse_params(params, 3)?;
                let proof = self.proof_at(address, &[slot], id).await?;
                let value = proof
                    .storage_proofs
                    .first()
                    .map_or(U256::ZERO, |(_, value, _)| *value);
                to_value(B256::from(value))
            }
            "eth_getCode" => {
                let (address, id): (Address, Option<BlockId>) = parse_params(params, 2)?;
                to_value(self.code_at(address, id).await?)
            }
            "eth_getProof" => {
                // Keys as 32-byte hashes or as shorter quantities (`0x0`, which web3.py sends),
                // echoed back in the form given, as geth does.
                let (address, keys, id): (Address, Vec<JsonStorageKey>, Option<BlockId>) =
                    parse_params(params, 3)?;
                let slots: Vec<U256> = keys
                    .iter()
                    .map(|key| U256::from_be_bytes(key.as_b256().0))
                    .collect();
                let proof = self.proof_at(address, &slots, id).await?;
                let account = proof.account.unwrap_or_default();
                to_value(EIP1186AccountProofResponse {
                    address,
                    balance: account.balance,
                    code_hash: if proof.account.is_some() {
                        account.code_hash
                    } else {
                        B256::ZERO
                    },
                    nonce: account.nonce,
                    storage_hash: proof.storage_root,
                    account_proof: proof.account_proof,
                    storage_proof: keys
                        .iter()
                        .zip(proof.storage_proofs)
                        .map(|(key, (_, value, nodes))| EIP1186StorageProof {
                            key: *key,
                            value,
                            proof: nodes,
                        })
                        .collect(),
                })
            }
            "eth_sendRawTransaction" => {
                let (raw,): (Bytes,) = parse_params(params, 1)?;
                to_value(self.send_raw(raw).await?)
            }
            "eth_call" => {
                let (request, id, overrides): (
                    TransactionRequest,
                    Option<BlockId>,
                    Option<StateOverride>,
                ) = parse_params(params, 3)?;
                let gas = request.gas.unwrap_or(u64::MAX);
                match self.call(&request, gas, id, overrides.as_ref()).await? {
                    ExecutionResult::Success { output, .. } => to_value(output.into_data()),
                    ExecutionResult::Revert { output, .. } => Err(reverted(output)),
                    ExecutionResult::Halt { reason, .. } => {
                        Err(RpcError::server(format!("{reason:?}")))
                    }
                }
            }
            "eth_estimateGas" => {
                let (request, id, overrides): (
                    TransactionRequest,
                    Option<BlockId>,
                    Option<StateOverride>,
                ) = parse_params(params, 3)?;
                to_value(U256::from(
                    self.estimate_gas(&request, id, overrides.as_ref()).await?,
                ))
            }
            "eth_getBlockByNumber" => {
                let (tag, full): (BlockNumberOrTag, Option<bool>) = parse_params(params, 2)?;
                let number = match self.resolve(tag).await {
                    Ok(number) => number,
                    Err(_) => return Ok(Value::Null),
                };
                self.block_json(number, full.unwrap_or(false)).await
            }
            "eth_getBlockByHash" => {
                let (hash, full): (B256, Option<bool>) = parse_params(params, 2)?;
                match self
                    .chain
                    .store()
                    .block_number(hash)
                    .await
                    .map_err(store_error)?
                {
                    Some(number) => self.block_json(number, full.unwrap_or(false)).await,
                    None => Ok(Value::Null),
                }
            }
            "eth_getBlockTransactionCountByNumber" => {
                let (tag,): (BlockNumberOrTag,) = parse_params(params, 1)?;
                let number = self.resolve(tag).await?;
                let block = self
                    .chain
                    .store()
                    .block(number)
                    .await
                    .map_err(store_error)?;
                to_value(block.map(|block| U256::from(block.transactions.len())))
            }
            "eth_getTransactionByHash" => {
                let (hash,): (B256,) = parse_params(params, 1)?;
                self.transaction_json(hash).await
            }
            "eth_getTransactionReceipt" => {
                let (hash,): (B256,) = parse_params(params, 1)?;
                self.receipt_json(hash).await
            }
            "eth_getLogs" => {
                let (filter,): (Filter,) = parse_params(params, 1)?;
                to_value(self.logs(&filter).await?)
            }
            "eth_newBlockFilter" => {
                let next = self.head_number().await + 1;
                to_value(self.filters().install(FilterKind::Blocks { next }))
            }
            "eth_newPendingTransactionFilter" => to_value(
                self.filters()
                    .install(FilterKind::PendingTransactions { hashes: Vec::new() }),
            ),
            "eth_newFilter" => {
                let (filter,): (Filter,) = parse_params(params, 1)?;
                let next = self.head_number().await + 1;
                to_value(self.filters().install(FilterKind::Logs {
                    filter: Box::new(filter),
                    next,
                }))
            }
            "eth_uninstallFilter" => {
                let (id,): (U256,) = parse_params(params, 1)?;
                to_value(self.filters().uninstall(&id))
            }
            "eth_getFilterChanges" => {
                let (id,): (U256,) = parse_params(params, 1)?;
                self.filter_changes(id).await
            }
            "eth_getFilterLogs" => {
                let (id,): (U256,) = parse_params(params, 1)?;
                let filter = match self.filters().poll(&id) {
                    Some(FilterKind::Logs { filter, .. }) => (**filter).clone(),
                    Some(_) => return Err(RpcError::server("filter is not a log filter")),
                    None => return Err(RpcError::server("filter not found")),
                };
                to_value(self.logs(&filter).await?)
            }
            "debug_traceTransaction" => {
                let (hash, options): (B256, Option<TraceOptions>) = parse_params(params, 2)?;
                let config = TraceOptions::call_tracer(options)?;
                let (block, index) = trace::locate(self.chain.store(), hash).await?;
                let frames = trace::trace_block(
                    self.chain.store(),
                    &self.chain.params().rollup,
                    &block,
                    vec![index],
                    config,
                )
                .await?;
                let frame = frames
                    .first()
                    .ok_or_else(|| RpcError::internal("no trace for the transaction"))?;
                Ok(trace::frame_json(frame))
            }
            "debug_traceBlockByNumber" | "debug_traceBlockByHash" => {
                let (id, options): (BlockId, Option<TraceOptions>) = parse_params(params, 2)?;
                let config = TraceOptions::call_tracer(options)?;
                let number = self.resolve_id(Some(id)).await?;
                let block = self
                    .chain
                    .store()
                    .block(number)
                    .await
                    .map_err(store_error)?
                    .ok_or_else(|| RpcError::server("header not found"))?;
                let indices = (0..block.transactions.len()).collect();
                let frames = trace::trace_block(
                    self.chain.store(),
                    &self.chain.params().rollup,
                    &block,
                    indices,
                    config,
                )
                .await?;
                Ok(trace::block_json(&block, &frames))
            }
            "rollup_config" => to_value(&self.chain.params().rollup),
            "rollup_syncStatus" => self.sync_status().await,
            "rollup_outputAtBlock" => {
                let (tag,): (BlockNumberOrTag,) = parse_params(params, 1)?;
                let number = self.resolve(tag).await?;
                self.output_at(number).await
            }
            "eth_feeHistory" => {
                let (count, newest, percentiles): (U256, BlockNumberOrTag, Option<Vec<f64>>) =
                    parse_params(params, 3)?;
                to_value(
                    self.fee_history(
                        count.saturating_to(),
                        newest,
                        percentiles.unwrap_or_default(),
                    )
                    .await?,
                )
            }
            _ => Err(RpcError {
                code: -32601,
                message: format!("the method {method} does not exist/is not available"),
                data: None,
            }),
        }
    }

    /// Gas available to a call: the configured cap, never above the block gas limit.
    fn call_gas_cap(&self) -> u64 {
        self.limits
            .call_gas_cap
            .min(self.chain.params().rollup.gas_limit)
    }

    async fn next_base_fee(&self) -> u64 {
        let state = self.chain.state();
        let head = &state.read().await.head;
        let rollup = &self.chain.params().rollup;
        crate::chain::next_base_fee(&head.header, rollup.eip1559, rollup.min_base_fee)
    }

    /// Decodes, recovers and pools a raw transaction.
    async fn send_raw(&self, raw: Bytes) -> Result<B256, RpcError> {
        self.send_raw_many(vec![raw])
            .await
            .pop()
            .unwrap_or_else(|| Err(RpcError::internal("no answer for the transaction")))
    }

    /// Decodes, recovers and pools raw transactions, answering each exactly as
    /// `eth_sendRawTransaction` would alone, in order. A burst (a batch request) is handled as
    /// one: decoding and signature recovery run in parallel off the async runtime, the state is
    /// read and the pool locked once, and the journal writes all of it in one commit.
    pub(super) async fn send_raw_many(&self, raws: Vec<Bytes>) -> Vec<Result<B256, RpcError>> {
        let count = raws.len();
        let answers = self.pool_raw(raws).await;
        let accepted = answers.iter().filter(|answer| answer.is_ok()).count();
        Metrics::add(&self.metrics.txs_accepted, accepted as u64);
        Metrics::add(&self.metrics.txs_rejected, (count - accepted) as u64);
        answers
    }

    async fn pool_raw(&self, raws: Vec<Bytes>) -> Vec<Result<B256, RpcError>> {
        let refuse_all = |error: RpcError| -> Vec<Result<B256, RpcError>> {
            raws.iter().map(|_| Err(error.clone())).collect()
        };
        if self.read_only {
            return refuse_all(RpcError::server(
                "this node is a read-only replica: send transactions to the sequencer",
            ));
        }
        if let Some((backlog, max)) = self
            .control
            .as_ref()
            .and_then(|control| control.da_backpressure())
        {
            // EIP-1474's "limit exceeded": clients retry later.
            return refuse_all(RpcError::new(
                -32005,
                format!(
                    "transaction pool paused: {backlog} bytes of blocks await posting to DA, \
                     above the limit of {max}; retry later"
                ),
            ));
        }
        // Decoding hashes and recovery is elliptic-curve work: keep both off the runtime's
        // threads, and spread a burst over the cores.
        let count = raws.len();
        let recovered = tokio::task::spawn_blocking(move || {
            if raws.len() >= PARALLEL_RECOVERY {
                use rayon::prelude::*;
                raws.into_par_iter().map(pooled_transaction).collect()
            } else {
                raws.into_iter().map(pooled_transaction).collect::<Vec<_>>()
            }
        })
        .await;
        let mut answers: Vec<Result<PooledTx, RpcError>> = match recovered {
            Ok(recovered) => recovered,
            Err(error) => {
                let error = RpcError::internal(error);
                return (0..count).map(|_| Err(error.clone())).collect();
            }
        };
        // Senders' nonces and balances as the pool validates against them, in one read.
        let accounts: Vec<(u64, U256)> = {
            let state = self.chain.state();
            let state = state.read().await;
            answers
                .iter()
                .map(|answer| match answer {
                    Ok(tx) => state
                        .world
                        .account(&tx.sender)
                        .map_or((0, U256::ZERO), |account| (account.nonce, account.balance)),
                    Err(_) => (0, U256::ZERO),
                })
                .collect()
        };
        let mut journaled = Vec::new();
        let mut hashes: Vec<Result<B256, RpcError>> = {
            let mut pool = self.pool.lock().await;
            answers
                .drain(..)
                .zip(accounts)
                .map(|(answer, (nonce, balance))| {
                    let pooled = answer?;
                    let entry = StoredTransaction {
                        hash: pooled.hash,
                        sender: pooled.sender,
                        raw: pooled.raw.clone(),
                    };
                    let hash = pool
                        .insert(pooled, nonce, balance)
                        .map_err(RpcError::server)?;
                    journaled.push(entry);
                    Ok(hash)
                })
                .collect()
        };
        // Acknowledge only what a restart will still have.
        let recorded = self.journal.record_many(journaled).await;
        let failed: Vec<(B256, String)> = recorded
            .into_iter()
            .filter_map(|(hash, result)| result.err().map(|error| (hash, error)))
            .collect();
        if !failed.is_empty() {
            let mut pool = self.pool.lock().await;
            for (hash, error) in &failed {
                pool.remove_with_descendants(hash);
                for answer in hashes.iter_mut() {
                    if answer.as_ref().is_ok_and(|accepted| accepted == hash) {
                        *answer = Err(RpcError::internal(format!("journal: {error}")));
                    }
                }
            }
        }
        for hash in hashes.iter().flatten() {
            self.filters().on_pending(*hash);
            // No subscriber is not an error.
            let _ = self.events.pending.send(*hash);
        }
        hashes
    }

    /// The revm transaction of a call request (geth's defaults: zero price, cap-limited gas).
    fn call_env(&self, request: &TransactionRequest, gas: u64, nonce: u64) -> TxEnv {
        TxEnv {
            tx_type: if request.max_fee_per_gas.is_some() {
                2
            } else {
                0
            },
            caller: request.from.unwrap_or_default(),
            gas_limit: gas.min(self.call_gas_cap()),
            gas_price: request
                .max_fee_per_gas
                .or(request.gas_price)
                .unwrap_or_default(),
            gas_priority_fee: request.max_priority_fee_per_gas,
            kind: request.to.unwrap_or(TxKind::Create),
            value: request.value.unwrap_or_default(),
            data: request.input.input().cloned().unwrap_or_default(),
            nonce,
            chain_id: Some(self.chain.params().rollup.l2_chain_id),
            access_list: request.access_list.clone().unwrap_or_default(),
            ..TxEnv::default()
        }
    }

    /// Runs a call on the state after block `id` (latest by default), as if in the next block,
    /// with `overrides` applied to that state.
    async fn call(
        &self,
        request: &TransactionRequest,
        gas: u64,
        id: Option<BlockId>,
        overrides: Option<&StateOverride>,
    ) -> Result<ExecutionResult, RpcError> {
        if let Some(overrides) = overrides {
            overrides::validate(overrides).map_err(RpcError::invalid_params)?;
        }
        let overrides = overrides.cloned();
        const OPTIONS: SimulationOptions = SimulationOptions {
            skip_nonce_check: true,
            skip_base_fee_check: true,
        };
        let sender = request.from.unwrap_or_default();
        let simulated = match self.state_at(id).await? {
            StateAt::Latest => {
                let state = self.chain.state().read_owned().await;
                let env = self.chain.call_env(&state.head.header);
                let nonce = state
                    .world
                    .account(&sender)
                    .map_or(0, |account| account.nonce);
                let tx = self.call_env(request, gas, nonce);
                tokio::task::spawn_blocking(move || {
                    let state: &ChainState = &state;
                    match overrides {
                        Some(overrides) => {
                            let view = WithOverrides::new(&state.world, overrides);
                            simulate(&env, &tx, &view, OPTIONS)
                        }
                        None => simulate(&env, &tx, &state.world, OPTIONS),
                    }
                })
                .await
            }
            StateAt::Past(view) => {
                let header = self
                    .chain
                    .store()
                    .header(view.block())
                    .await
                    .map_err(store_error)?
                    .ok_or_else(|| RpcError::server("header not found"))?;
                let env = self.chain.call_env(&header.header);
                let nonce = view
                    .account(&sender)
                    .await
                    .map_err(store_error)?
                    .map_or(0, |account| account.nonce);
                let tx = self.call_env(request, gas, nonce);
                let db = BlockingHistory::new(view).map_err(store_error)?;
                tokio::task::spawn_blocking(move || match overrides {
                    Some(overrides) => {
                        simulate(&env, &tx, &WithOverrides::new(&db, overrides), OPTIONS)
                    }
                    None => simulate(&env, &tx, &db, OPTIONS),
                })
                .await
            }
        };
        simulated
            .map_err(RpcError::internal)?
            .map_err(|error| RpcError::server(error.to_string()))
    }

    /// The smallest gas limit with which the request succeeds (binary search, as geth).
    async fn estimate_gas(
        &self,
        request: &TransactionRequest,
        id: Option<BlockId>,
        overrides: Option<&StateOverride>,
    ) -> Result<u64, RpcError> {
        let cap = request.gas.unwrap_or(u64::MAX).min(self.call_gas_cap());
        let used = match self.call(request, cap, id, overrides).await? {
            success @ ExecutionResult::Success { .. } => success.tx_gas_used(),
            ExecutionResult::Revert { output, .. } => return Err(reverted(output)),
            ExecutionResult::Halt { reason, .. } => {
                return Err(RpcError::server(format!(
                    "gas required exceeds allowance ({cap}): {reason:?}"
                )))
            }
        };
        let (mut low, mut high) = (used.saturating_sub(1), cap);
        while low + 1 < high {
            let middle = low + (high - low) / 2;
            match self.call(request, middle, id, overrides).await? {
                ExecutionResult::Success { .. } => high = middle,
                _ => low = middle,
            }
        }
        Ok(high)
    }

    async fn block_json(&self, number: u64, full: bool) -> Result<Value, RpcError> {
        let Some(block) = self
            .chain
            .store()
            .block(number)
            .await
            .map_err(store_error)?
        else {
            return Ok(Value::Null);
        };
        rpc_block(&block, full)
    }

    async fn transaction_json(&self, hash: B256) -> Result<Value, RpcError> {
        if let Some((stored, location)) = self
            .chain
            .store()
            .transaction(hash)
            .await
            .map_err(store_error)?
        {
            let header = self
                .chain
                .store()
                .header(location.block.number)
                .await
                .map_err(store_error)?;
            let base_fee = header
                .as_ref()
                .and_then(|header| header.header.base_fee_per_gas)
                .unwrap_or_default();
            let included = Included {
                block: location.block,
                index: location.index,
                timestamp: header.map(|header| header.header.timestamp),
                base_fee,
            };
            return stored_transaction_json(&stored, included);
        }
        let pool = self.pool.lock().await;
        match pool.get(&hash) {
            Some(pooled) => to_value(rpc_transaction(
                pooled.envelope.as_ref().clone(),
                pooled.sender,
                None,
            )),
            None => Ok(Value::Null),
        }
    }

    /// The L1-info values of block `block` (from its first transaction).
    async fn block_l1_info(
        &self,
        block: parallax_state::store::BlockRef,
    ) -> Result<L1Info, RpcError> {
        let cached = self
            .l1_infos
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .get(&block.hash)
            .copied();
        if let Some(info) = cached {
            return Ok(info);
        }
        let stored = self
            .chain
            .store()
            .block(block.number)
            .await
            .map_err(store_error)?
            .filter(|stored| stored.hash == block.hash)
            .ok_or_else(|| RpcError::server("header not found"))?;
        let info = crate::chain::stored_l1_info(&stored).map_err(RpcError::internal)?;
        let mut cache = self
            .l1_infos
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if cache.len() >= L1_INFO_CACHE {
            cache.clear();
        }
        cache.insert(block.hash, info);
        Ok(info)
    }

    async fn receipt_json(&self, hash: B256) -> Result<Value, RpcError> {
        let store = self.chain.store();
        let Some((receipt, location, first_log)) =
            store.receipt(hash).await.map_err(store_error)?
        else {
            return Ok(Value::Null);
        };
        let Some((transaction, _)) = store.transaction(hash).await.map_err(store_error)? else {
            return Ok(Value::Null);
        };
        let header = store
            .header(location.block.number)
            .await
            .map_err(store_error)?;
        let deposit = (transaction.raw.first() == Some(&DEPOSIT_TX_TYPE))
            .then(|| DepositTx::decode(&transaction.raw))
            .transpose()
            .map_err(|error| RpcError::internal(format!("stored deposit: {error}")))?;
        let (tx_type, to) = match &deposit {
            Some(deposit) => (None, deposit.to.to().copied()),
            None => {
                let envelope = decode(&transaction.raw)?;
                (Some(envelope.tx_type()), envelope.to())
            }
        };
        let logs: Vec<RpcLog> = receipt
            .logs
            .iter()
            .enumerate()
            .map(|(index, log)| RpcLog {
                inner: log.clone(),
                block_hash: Some(location.block.hash),
                block_number: Some(location.block.number),
                block_timestamp: header.as_ref().map(|header| header.header.timestamp),
                transaction_hash: Some(hash),
                transaction_index: Some(location.index),
                log_index: Some(first_log + index as u64),
                removed: false,
            })
            .collect();
        let consensus = ReceiptWithBloom::from(Receipt {
            status: receipt.success.into(),
            cumulative_gas_used: receipt.cumulative_gas_used,
            logs,
        });
        let inner = match tx_type {
            None | Some(TxType::Legacy) => ReceiptEnvelope::Legacy(consensus),
            Some(TxType::Eip2930) => ReceiptEnvelope::Eip2930(consensus),
            Some(TxType::Eip1559) => ReceiptEnvelope::Eip1559(consensus),
            Some(TxType::Eip4844) => ReceiptEnvelope::Eip4844(consensus),
            Some(TxType::Eip7702) => ReceiptEnvelope::Eip7702(consensus),
        };
        let mut json = to_value(TransactionReceipt {
            inner,
            transaction_hash: hash,
            transaction_index: Some(location.index),
            block_hash: Some(location.block.hash),
            block_number: Some(location.block.number),
            gas_used: receipt.gas_used,
            effective_gas_price: receipt.effective_gas_price,
            blob_gas_used: None,
            blob_gas_price: None,
            from: transaction.sender,
            to,
            contract_address: receipt.contract_address,
        })?;
        if deposit.is_some() {
            json["type"] = json!("0x7e");
        } else {
            // The L1 data fee as the OP Stack reports it, recomputed from the inputs the
            // executor charged: the transaction's bytes and the block's L1-info values.
            let info = self.block_l1_info(location.block).await?;
            let fee = l1_data_fee(
                &transaction.raw,
                info.base_fee,
                info.blob_base_fee,
                info.scalars,
            );
            json["l1Fee"] = json!(fee);
            json["l1GasPrice"] = json!(info.base_fee);
            json["l1GasUsed"] = json!(U64::from(l1_calldata_gas(&transaction.raw)));
            json["l1BlobBaseFee"] = json!(info.blob_base_fee);
            json["l1BaseFeeScalar"] = json!(U64::from(info.scalars.base_fee_scalar));
            json["l1BlobBaseFeeScalar"] = json!(U64::from(info.scalars.blob_base_fee_scalar));
        }
        Ok(json)
    }

    async fn logs(&self, filter: &Filter) -> Result<Vec<RpcLog>, RpcError> {
        let (from, to) = match filter.block_option {
            FilterBlockOption::AtBlockHash(hash) => {
                let number = self
                    .chain
                    .store()
                    .block_number(hash)
                    .await
                    .map_err(store_error)?
                    .ok_or_else(|| RpcError::server("unknown block"))?;
                (number, number)
            }
            FilterBlockOption::Range {
                from_block,
                to_block,
            } => {
                let from = self
                    .resolve(from_block.unwrap_or(BlockNumberOrTag::Latest))
                    .await?;
                let to = self
                    .resolve(to_block.unwrap_or(BlockNumberOrTag::Latest))
                    .await?;
                (from, to)
            }
        };
        if from > to {
            return Err(RpcError::invalid_params("fromBlock is after toBlock"));
        }
        if to - from >= self.limits.max_log_range {
            return Err(RpcError::server(format!(
                "block range too large: {} blocks, the limit is {}",
                to - from + 1,
                self.limits.max_log_range
            )));
        }
        let query = LogFilter {
            from_block: from,
            to_block: to,
            addresses: filter.address.iter().copied().collect(),
            topics: std::array::from_fn(|position| {
                filter.topics[position].iter().copied().collect()
            }),
        };
        let records = self
            .chain
            .store()
            .logs(&query, self.limits.max_logs)
            .await
            .map_err(|error| match error {
                StoreError::TooManyLogs(limit) => {
                    RpcError::server(format!("query returned more than {limit} results"))
                }
                other => store_error(other),
            })?;
        Ok(records
            .into_iter()
            .map(|record| RpcLog {
                inner: record.log,
                block_hash: Some(record.block.hash),
                block_number: Some(record.block.number),
                block_timestamp: None,
                transaction_hash: Some(record.tx_hash),
                transaction_index: Some(record.tx_index),
                log_index: Some(record.log_index),
                removed: false,
            })
            .collect())
    }

    async fn fee_history(
        &self,
        count: u64,
        newest: BlockNumberOrTag,
        percentiles: Vec<f64>,
    ) -> Result<FeeHistory, RpcError> {
        let count = count.clamp(1, 1024);
        let newest = self.resolve(newest).await?;
        let oldest = newest.saturating_sub(count - 1);
        let mut history = FeeHistory {
            oldest_block: oldest,
            ..Default::default()
        };
        let rollup = &self.chain.params().rollup;
        let mut reward = Vec::new();
        for number in oldest..=newest {
            let Some(block) = self
                .chain
                .store()
                .block(number)
                .await
                .map_err(store_error)?
            else {
                break;
            };
            let header = &block.header;
            let base_fee = header.base_fee_per_gas.unwrap_or_default();
            history.base_fee_per_gas.push(u128::from(base_fee));
            history
                .gas_used_ratio
                .push(header.gas_used as f64 / header.gas_limit.max(1) as f64);
            history.base_fee_per_blob_gas.push(1);
            history.blob_gas_used_ratio.push(0.0);
            if !percentiles.is_empty() {
                // Tips weighted by gas used, as geth computes them.
                let mut tips: Vec<(u128, u64)> = block
                    .transactions
                    .iter()
                    .zip(&block.receipts)
                    .filter_map(|(tx, receipt)| {
                        let envelope = TxEnvelope::decode_2718(&mut tx.raw.as_ref()).ok()?;
                        Some((
                            envelope.effective_tip_per_gas(base_fee).unwrap_or_default(),
                            receipt.gas_used,
                        ))
                    })
                    .collect();
                tips.sort_unstable();
                let total: u64 = tips.iter().map(|(_, gas)| gas).sum();
                reward.push(
                    percentiles
                        .iter()
                        .map(|percentile| {
                            let threshold = (total as f64 * percentile / 100.0) as u64;
                            let mut cumulative = 0;
                            tips.iter()
                                .find(|(_, gas)| {
                                    cumulative += gas;
                                    cumulative >= threshold
                                })
                                .or(tips.last())
                                .map_or(0, |(tip, _)| *tip)
                        })
                        .collect(),
                );
            }
            if number == newest {
                let next = rollup.next_base_fee(header.gas_used, header.gas_limit, base_fee);
                history.base_fee_per_gas.push(u128::from(next));
                history.base_fee_per_blob_gas.push(1);
            }
        }
        if !percentiles.is_empty() {
            history.reward = Some(reward);
        }
        Ok(history)
    }
}

fn reverted(output: Bytes) -> RpcError {
    // Solidity `Error(string)`: surface the reason the way geth does.
    let reason = (output.len() >= 68 && output[..4] == [0x08, 0xc3, 0x79, 0xa0])
        .then(|| {
            let length = U256::from_be_slice(&output[36..68]).saturating_to::<usize>();
            output
                .get(68..68 + length)
                .map(|bytes| String::from_utf8_lossy(bytes).into_owned())
        })
        .flatten();
    RpcError {
        code: 3,
        message: match reason {
            Some(reason) => format!("execution reverted: {reason}"),
            None => "execution reverted".into(),
        },
        data: Some(json!(output)),
    }
}

fn decode(raw: &[u8]) -> Result<TxEnvelope, RpcError> {
    TxEnvelope::decode_2718(&mut &raw[..])
        .map_err(|error| RpcError::internal(format!("stored transaction: {error}")))
}

/// Where an included transaction is.
struct Included {
    block: parallax_state::store::BlockRef,
    index: u64,
    timestamp: Option<u64>,
    base_fee: u64,
}

/// A transaction as RPC returns it: block fields and the paid price once included.
fn rpc_transaction(
    envelope: TxEnvelope,
    sender: Address,
    included: Option<Included>,
) -> RpcTransaction {
    let price = included
        .as_ref()
        .map(|at| envelope.effective_gas_price(Some(at.base_fee)));
    RpcTransaction {
        inner: Recovered::new_unchecked(envelope, sender),
        block_hash: included.as_ref().map(|at| at.block.hash),
        block_number: included.as_ref().map(|at| at.block.number),
        transaction_index: included.as_ref().map(|at| at.index),
        effective_gas_price: price,
        block_timestamp: included.and_then(|at| at.timestamp),
    }
}

fn rpc_block(block: &StoredBlock, full: bool) -> Result<Value, RpcError> {
    let base_fee = block.header.base_fee_per_gas.unwrap_or_default();
    let size = alloy_rlp::Encodable::length(&block.header)
        + block
            .transactions
            .iter()
            .map(|tx| tx.raw.len())
            .sum::<usize>();
    let mut json = to_value(Block::<RpcTransaction> {
        header: RpcHeader {
            hash: block.hash,
            inner: block.header.clone(),
            total_difficulty: Some(U256::ZERO),
            size: Some(U256::from(size)),
        },
        uncles: Vec::new(),
        transactions: BlockTransactions::Hashes(
            block.transactions.iter().map(|tx| tx.hash).collect(),
        ),
        withdrawals: Some(Default::default()),
    })?;
    if full {
        // Built by hand: alloy's typed transactions have no deposit variant.
        let transactions = block
            .transactions
            .iter()
            .enumerate()
            .map(|(index, tx)| {
                let included = Included {
                    block: block.block_ref(),
                    index: index as u64,
                    timestamp: Some(block.header.timestamp),
                    base_fee,
                };
                stored_transaction_json(tx, included)
            })
            .collect::<Result<Vec<Value>, RpcError>>()?;
        json["transactions"] = Value::Array(transactions);
    }
    Ok(json)
}

/// An included transaction as RPC returns it: signed ones through alloy's types, deposits in
/// the OP Stack's JSON shape (type `0x7e`, `sourceHash`, `mint`, `isSystemTx`), which wallets and
/// explorers of OP chains already read.
fn stored_transaction_json(
    stored: &StoredTransaction,
    included: Included,
) -> Result<Value, RpcError> {
    if stored.raw.first() != Some(&DEPOSIT_TX_TYPE) {
        return to_value(rpc_transaction(
            decode(&stored.raw)?,
            stored.sender,
            Some(included),
        ));
    }
    let deposit = DepositTx::decode(&stored.raw)
        .map_err(|error| RpcError::internal(format!("stored deposit: {error}")))?;
    Ok(json!({
        "type": "0x7e",
        "hash": stored.hash,
        "sourceHash": deposit.source_hash,
        "from": deposit.from,
        "to": deposit.to.to(),
        "mint": deposit.mint,
        "value": deposit.value,
        "gas": U64::from(deposit.gas_limit),
        "gasPrice": "0x0",
        "input": deposit.data,
        "nonce": "0x0",
        "isSystemTx": deposit.is_system,
        "v": "0x0",
        "r": "0x0",
        "s": "0x0",
        "blockHash": included.block.hash,
        "blockNumber": U64::from(included.block.number),
        "transactionIndex": U64::from(included.index),
    }))
}
