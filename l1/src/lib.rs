//! L1 over JSON-RPC, as derivation and the sequencer read it.
//!
//! [`RpcL1`] implements the protocol's synchronous [`L1Source`] (canonical blocks by number,
//! batch-inbox transactions, Portal and SystemConfig logs) on any Ethereum JSON-RPC endpoint
//! with an alloy provider. Derivation is pure and synchronous on purpose; this adapter runs the
//! async requests on the tokio runtime it was created in, so call it from a blocking thread
//! (`spawn_blocking`), never from an async task.
//!
//! Every answer is checked where L1 could lie or move under us: a block fetched by hash must be
//! the one asked for, and a block that is no longer canonical fails the request instead of
//! answering for another block (derivation then sees the reorg at the next parent-hash check).

use std::{collections::BTreeMap, sync::Mutex, time::Duration};

mod beacon;

pub use beacon::{
    ArchiveBlobs, ArchiveSpec, BadBlobSource, BeaconBlobs, BeaconClock, BlobSource, BlobSourceSpec,
    PrimarySpec, Sidecar, WithArchive,
};

use alloy::{
    eips::{eip4844::BLOB_TX_MIN_BLOB_GASPRICE, eip7840::BlobParams, BlockNumberOrTag},
    network::TransactionResponse,
    providers::{DynProvider, Provider, ProviderBuilder},
    rpc::types::{Block, BlockTransactionsKind, Filter},
    transports::{RpcError, TransportErrorKind},
};
use alloy_primitives::{Address, B256};
use parallax_protocol::{
    block::L1BlockInfo,
    deposit::IndexedLog,
    derive::{InboxData, InboxTransaction, L1Source},
};

/// Blocks kept by number: the sequencer and derivation ask for the same few blocks again and
/// again (the next origin, its confirmation block).
const CACHED_BLOCKS: usize = 256;

/// Largest block range of one `eth_getLogs` request when replaying SystemConfig history
/// (providers commonly cap ranges around 10,000 blocks).
const LOG_RANGE: u64 = 5_000;

/// Why L1 could not answer.
#[derive(Debug, thiserror::Error)]
pub enum L1Error {
    /// The endpoint failed or is unreachable.
    #[error("L1 RPC: {0}")]
    Rpc(#[from] RpcError<TransportErrorKind>),
    /// The request did not finish in time.
    #[error("L1 RPC request timed out after {0:?}")]
    Timeout(Duration),
    /// A block asked for by hash is unknown: it was reorged out.
    #[error("L1 block {0} is not known (reorged out?)")]
    UnknownBlock(B256),
    /// The endpoint answered something inconsistent.
    #[error("L1 RPC answered inconsistently: {0}")]
    Inconsistent(String),
    /// Not inside a tokio runtime.
    #[error("no tokio runtime to run L1 requests on")]
    NoRuntime,
}

/// An L1 JSON-RPC endpoint as a derivation source.
#[derive(Debug)]
pub struct RpcL1 {
    provider: DynProvider,
    runtime: tokio::runtime::Handle,
    timeout: Duration,
    /// Recently fetched canonical blocks by number. An entry is only trusted while L1 still has
    /// the same hash at that number; [`RpcL1::block_by_number`] drops stale entries.
    cache: Mutex<BTreeMap<u64, L1BlockInfo>>,
}

impl RpcL1 {
    /// Connects to `url` (HTTP). Must be called inside a tokio runtime, whose handle later runs
    /// the requests.
    pub fn connect(url: &str) -> Result<Self, L1Error> {
        let url = url
            .parse()
            .map_err(|error| L1Error::Inconsistent(format!("bad L1 RPC URL {url}: {error}")))?;
        let provider = ProviderBuilder::new().connect_http(url).erased();
        Self::new(provider)
    }

    /// Wraps an existing provider.
    pub fn new(provider: DynProvider) -> Result<Self, L1Error> {
        let runtime = tokio::runtime::Handle::try_current().map_err(|_| L1Error::NoRuntime)?;
        Ok(Self {
            provider,
            runtime,
            timeout: Duration::from_secs(30),
            cache: Mutex::new(BTreeMap::new()),
        })
    }

    /// The provider, for callers that also need async access.
    pub fn provider(&self) -> &DynProvider {
        &self.provider
    }

    /// Runs `future` to completion on the runtime, bounded by the timeout.
    fn run<T>(
        &self,
        request: impl std::future::IntoFuture<Output = Result<T, RpcError<TransportErrorKind>>>,
    ) -> Result<T, L1Error> {
        let timeout = self.timeout;
        self.runtime.block_on(async move {
            tokio::time::timeout(timeout, request.into_future())
                .await
                .map_err(|_| L1Error::Timeout(timeout))?
                .map_err(L1Error::from)
        })
    }

    /// The latest L1 block number.
    pub fn head_number(&self) -> Result<u64, L1Error> {
        self.run(self.provider.get_block_number())
    }

    /// The latest finalized L1 block number (`None` if the node reports none yet).
    pub fn finalized_number(&self) -> Result<Option<u64>, L1Error> {
        Ok(self
            .run(
                self.provider
                    .get_block_by_number(BlockNumberOrTag::Finalized)
                    .kind(BlockTransactionsKind::Hashes),
            )?
            .map(|block| block.header.number))
    }

    fn cached(&self, number: u64) -> Option<L1BlockInfo> {
        self.cache
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .get(&number)
            .copied()
    }

    fn remember(&self, info: L1BlockInfo) {
        let mut cache = self
            .cache
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        // A new block at a number invalidates everything above it (they built on the old one).
        if cache
            .get(&info.number)
            .is_some_and(|old| old.hash != info.hash)
        {
            cache.retain(|number, _| *number < info.number);
        }
        cache.insert(info.number, info);
        while cache.len() > CACHED_BLOCKS {
            cache.pop_first();
        }
    }

    /// The block with `hash`, which must be at `number`, with full transactions.
    fn full_block(&self, hash: B256, number: u64) -> Result<Block, L1Error> {
        let block = self
            .run(self.provider.get_block_by_hash(hash).full())?
            .ok_or(L1Error::UnknownBlock(hash))?;
        if block.header.hash != hash || block.header.number != number {
            return Err(L1Error::Inconsistent(format!(
                "asked for block {number} ({hash}), got {} ({})",
                block.header.number, block.header.hash
            )));
        }
        Ok(block)
    }
}

/// The fields derivation needs from an L1 header.
fn block_info(block: &Block) -> L1BlockInfo {
    let header = &block.header;
    L1BlockInfo {
        number: header.number,
        hash: header.hash,
        parent_hash: header.parent_hash,
        timestamp: header.timestamp,
        base_fee: u128::from(header.base_fee_per_gas.unwrap_or_default()),
        // Every node must derive the same L1 data fee from the same header: the blob base fee
        // is computed from the header's excess blob gas with Cancun's update fraction (the
        // minimum before Cancun).
        blob_base_fee: header
            .excess_blob_gas
            .map_or(BLOB_TX_MIN_BLOB_GASPRICE, |excess| {
                BlobParams::cancun().calc_blob_fee(excess)
            }),
    }
}

fn log_index(log: &alloy::rpc::types::Log) -> Result<u64, L1Error> {
    log.log_index
        .ok_or_else(|| L1Error::Inconsistent("log without an index".into()))
}

impl L1Source for RpcL1 {
    type Error = L1Error;

    fn block_by_number(&self, number: u64) -> Result<Option<L1BlockInfo>, L1Error> {
        let Some(block) = self.run(
            self.provider
                .get_block_by_number(BlockNumberOrTag::Number(number))
                .kind(BlockTransactionsKind::Hashes),
        )?
        else {
            return Ok(None);
        };
        if block.header.number != number {
            return Err(L1Error::Inconsistent(format!(
                "asked for block {number}, got {}",
                block.header.number
            )));
        }
        let info = block_info(&block);
        if self.cached(number).is_some_and(|old| old.hash != info.hash) {
            tracing::warn!(number, "L1 block changed: reorg");
        }
        self.remember(info);
        Ok(Some(info))
    }

    fn inbox_transactions(
        &self,
        block: &L1BlockInfo,
        inbox: Address,
    ) -> Result<Vec<InboxTransaction>, L1Error> {
        let full = self.full_block(block.hash, block.number)?;
        let mut transactions = Vec::new();
        for tx in full.transactions.into_transactions() {
            if alloy::consensus::Transaction::to(&tx) != Some(inbox) {
                continue;
            }
            let data = match alloy::consensus::Transaction::blob_versioned_hashes(&tx) {
                Some(hashes) => InboxData::Blobs(hashes.to_vec()),
                None => InboxData::Calldata(alloy::consensus::Transaction::input(&tx).clone()),
            };
            transactions.push(InboxTransaction {
                from: TransactionResponse::from(&tx),
                to: inbox,
                data,
            });
        }
        Ok(transactions)
    }

    fn logs(&self, block: &L1BlockInfo, emitters: &[Address]) -> Result<Vec<IndexedLog>, L1Error> {
        if emitters.is_empty() {
            return Ok(Vec::new());
        }
        let filter = Filter::new()
            .at_block_hash(block.hash)
            .address(emitters.to_vec());
        let logs = self.run(self.provider.get_logs(&filter))?;
        logs.into_iter()
            .filter(|log| !log.removed)
            .map(|log| {
                if log.block_hash.is_some_and(|hash| hash != block.hash) {
                    return Err(L1Error::Inconsistent(format!(
                        "log of block {:?} returned for {}",
                        log.block_hash, block.hash
                    )));
                }
                Ok(IndexedLog {
                    log_index: log_index(&log)?,
                    log: log.inner,
                })
            })
            .collect()
    }

    fn logs_before(
        &self,
        number: u64,
        emitter: Address,
    ) -> Result<Vec<(u64, IndexedLog)>, L1Error> {
        let mut out = Vec::new();
        let mut from = 0;
        while from < number {
            let to = (from + LOG_RANGE).min(number) - 1;
            let filter = Filter::new().from_block(from).to_block(to).address(emitter);
            for log in self.run(self.provider.get_logs(&filter))? {
                if log.removed {
                    continue;
                }
                let block = log
                    .block_number
                    .ok_or_else(|| L1Error::Inconsistent("log without a block number".into()))?;
                out.push((
                    block,
                    IndexedLog {
                        log_index: log_index(&log)?,
                        log: log.inner,
                    },
                ));
            }
            from = to + 1;
        }
        Ok(out)
    }
}

/// DA beyond calldata is not configured: blob and Celestia batches cannot be read. Derivation
/// treats the error as temporary and stops at the first such batch (it never skips data), so a
/// node with this source follows calldata batches only and says why it is stuck otherwise.
#[derive(Clone, Copy, Debug, Default)]
pub struct CalldataOnly;

/// Asked for data this node has no source for.
#[derive(Debug, thiserror::Error)]
#[error("no {0} source is configured on this node")]
pub struct NoDaSource(pub(crate) &'static str);

impl parallax_protocol::derive::DaSource for CalldataOnly {
    type Error = NoDaSource;

    fn blob(
        &self,
        _block: &L1BlockInfo,
        _versioned_hash: B256,
    ) -> Result<Option<alloy_primitives::Bytes>, NoDaSource> {
        Err(NoDaSource("blob"))
    }

    fn celestia(
        &self,
        _pointer: &parallax_protocol::frame::CelestiaPointer,
    ) -> Result<Option<alloy_primitives::Bytes>, NoDaSource> {
        Err(NoDaSource("Celestia"))
    }
}

/// Blobs read back from the L1 node itself with `anvil_getBlobByHash` (anvil keeps every blob
/// it included), each checked against its versioned hash through its KZG commitment before
/// derivation sees it. This is the devnet's blob source; a production L1 serves blobs from its
/// beacon node instead, through another [`DaSource`](parallax_protocol::derive::DaSource).
#[derive(Debug)]
pub struct AnvilBlobs {
    l1: std::sync::Arc<RpcL1>,
}

impl AnvilBlobs {
    /// Blobs from the node `l1` talks to.
    pub fn new(l1: std::sync::Arc<RpcL1>) -> Self {
        Self { l1 }
    }
}

/// Why a blob could not be read back.
#[derive(Debug, thiserror::Error)]
pub enum BlobError {
    /// The request failed.
    #[error(transparent)]
    L1(#[from] L1Error),
    /// Not a blob.
    #[error("KZG: {0}")]
    Kzg(String),
    /// The node returned a blob with another versioned hash.
    #[error("blob does not match versioned hash {0}")]
    Mismatch(B256),
    /// No Celestia source here.
    #[error(transparent)]
    NoSource(#[from] NoDaSource),
    /// The beacon API failed or answered something unusable.
    #[error("beacon API: {0}")]
    Beacon(String),
    /// A blob archive failed.
    #[error("blob archive: {0}")]
    Archive(String),
}

/// Checks that `blob` is the blob `versioned_hash` names: computes its KZG commitment and
/// compares the commitment's versioned hash. Every blob source calls this before handing a
/// blob to derivation, so no source (L1 node, beacon node, archive) can substitute data.
pub fn verify_blob(blob: &[u8], versioned_hash: B256) -> Result<(), BlobError> {
    use alloy_eips::eip4844::{c_kzg, env_settings::EnvKzgSettings, kzg_to_versioned_hash};
    let kzg_blob = c_kzg::Blob::from_bytes(blob).map_err(|e| BlobError::Kzg(e.to_string()))?;
    let commitment = EnvKzgSettings::Default
        .get()
        .blob_to_kzg_commitment(&kzg_blob)
        .map_err(|e| BlobError::Kzg(e.to_string()))?;
    if kzg_to_versioned_hash(commitment.to_bytes().as_slice()) != versioned_hash {
        return Err(BlobError::Mismatch(versioned_hash));
    }
    Ok(())
}

impl parallax_protocol::derive::DaSource for AnvilBlobs {
    type Error = BlobError;

    fn blob(
        &self,
        _block: &L1BlockInfo,
        versioned_hash: B256,
    ) -> Result<Option<alloy_primitives::Bytes>, BlobError> {
        let blob: Option<alloy_primitives::Bytes> = self.l1.run(
            self.l1
                .provider
                .raw_request("anvil_getBlobByHash".into(), (versioned_hash,)),
        )?;
        let Some(blob) = blob else { return Ok(None) };
        verify_blob(&blob, versioned_hash)?;
        Ok(Some(blob))
    }

    fn celestia(
        &self,
        _pointer: &parallax_protocol::frame::CelestiaPointer,
    ) -> Result<Option<alloy_primitives::Bytes>, BlobError> {
        Err(NoDaSource("Celestia").into())
    }
}
