//! In-memory sources and stage doubles for tests (also exported under the `test-utils` feature,
//! for the services' tests).

use std::collections::{HashMap, VecDeque};
use std::sync::{Arc, Mutex, MutexGuard};

use alloy_primitives::{keccak256, Address, Bytes, Log, LogData, B256, U256};

use crate::block::L1BlockInfo;
use crate::deposit::{IndexedLog, TRANSACTION_DEPOSITED_TOPIC};
use crate::frame::CelestiaPointer;

use super::batch_reader::{BatchProvider, IncludedBatch};
use super::channel_bank::{ChannelProvider, ReadyChannel};
use super::error::PipelineError;
use super::frame_queue::{FrameProvider, L1Frame};
use super::traits::{
    DaSource, DataProvider, InboxData, InboxPayload, InboxTransaction, L1Epoch, L1Source, Stage,
};
use super::DerivationCounters;

/// Errors of the in-memory sources.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum MemoryError {
    /// The block hash is not on the current chain.
    #[error("unknown L1 block {0}")]
    UnknownBlock(B256),
    /// Failure injected by the test.
    #[error("injected failure")]
    Injected,
}

/// The `TransactionDeposited` log the Portal emits, built byte by byte as Solidity does:
/// `opaqueData = abi.encodePacked(mint, value, gasLimit, isCreation, data)`, ABI-encoded as one
/// `bytes` in the log data.
#[allow(clippy::too_many_arguments)] // mirrors the event's fields one to one
pub fn portal_log(
    portal: Address,
    from: Address,
    to: Address,
    mint: U256,
    value: U256,
    gas_limit: u64,
    is_creation: bool,
    data: &[u8],
    log_index: u64,
) -> IndexedLog {
    let mut opaque = Vec::new();
    opaque.extend_from_slice(&mint.to_be_bytes::<32>());
    opaque.extend_from_slice(&value.to_be_bytes::<32>());
    opaque.extend_from_slice(&gas_limit.to_be_bytes());
    opaque.push(u8::from(is_creation));
    opaque.extend_from_slice(data);
    let mut abi = Vec::new();
    abi.extend_from_slice(&U256::from(32).to_be_bytes::<32>());
    abi.extend_from_slice(&U256::from(opaque.len()).to_be_bytes::<32>());
    abi.extend_from_slice(&opaque);
    abi.resize(64 + opaque.len().next_multiple_of(32), 0);
    IndexedLog {
        log_index,
        log: Log {
            address: portal,
            data: LogData::new_unchecked(
                vec![
                    TRANSACTION_DEPOSITED_TOPIC,
                    from.into_word(),
                    to.into_word(),
                    B256::ZERO,
                ],
                abi.into(),
            ),
        },
    }
}

#[derive(Clone, Debug)]
struct MemoryBlock {
    info: L1BlockInfo,
    txs: Vec<InboxTransaction>,
    logs: Vec<IndexedLog>,
}

#[derive(Debug)]
struct MemoryL1Inner {
    blocks: Vec<MemoryBlock>,
    salt: u64,
    fail: bool,
}

/// An L1 chain in memory, starting with block 0 at time 1,000,000 and `block_time` seconds
/// between blocks. Hashes depend on a salt bumped by every reorg.
#[derive(Debug)]
pub struct MemoryL1 {
    block_time: u64,
    inner: Mutex<MemoryL1Inner>,
}

impl MemoryL1 {
    /// Genesis time.
    pub const GENESIS_TIME: u64 = 1_000_000;

    /// A chain with only its genesis block.
    pub fn new(block_time: u64) -> Self {
        let l1 = Self {
            block_time,
            inner: Mutex::new(MemoryL1Inner {
                blocks: Vec::new(),
                salt: 0,
                fail: false,
            }),
        };
        l1.extend(1);
        l1
    }

    fn lock(&self) -> MutexGuard<'_, MemoryL1Inner> {
        self.inner.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Appends `count` empty blocks.
    pub fn extend(&self, count: u64) {
        let mut inner = self.lock();
        for _ in 0..count {
            let number = inner.blocks.len() as u64;
            let parent_hash = inner.blocks.last().map_or(B256::ZERO, |b| b.info.hash);
            let mut preimage = number.to_be_bytes().to_vec();
            preimage.extend_from_slice(parent_hash.as_slice());
            preimage.extend_from_slice(&inner.salt.to_be_bytes());
            inner.blocks.push(MemoryBlock {
                info: L1BlockInfo {
                    number,
                    hash: keccak256(&preimage),
                    parent_hash,
                    timestamp: Self::GENESIS_TIME + number * self.block_time,
                    base_fee: 1_000_000_000 + u128::from(number),
                    blob_base_fee: 1 + u128::from(number % 7),
                },
                txs: Vec::new(),
                logs: Vec::new(),
            });
        }
    }

    /// Replaces block `number` and everything after it by one fresh block at `number` (new
    /// hash, no transactions): an L1 reorg.
    pub fn reorg_from(&self, number: u64) {
        {
            let mut inner = self.lock();
            inner
                .blocks
                .truncate(usize::try_from(number).unwrap_or(usize::MAX));
            inner.salt += 1;
        }
        self.extend(1);
    }

    /// Makes every call fail (or succeed again).
    pub fn set_failing(&self, fail: bool) {
        self.lock().fail = fail;
    }

    /// Number of blocks.
    pub fn len(&self) -> u64 {
        self.lock().blocks.len() as u64
    }

    /// Whether the chain is empty (never: genesis exists).
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Header of block `number`.
    pub fn info(&self, number: u64) -> Option<L1BlockInfo> {
        let inner = self.lock();
        inner
            .blocks
            .get(usize::try_from(number).ok()?)
            .map(|b| b.info)
    }

    /// Adds a transaction to block `number`.
    pub fn add_tx(&self, number: u64, from: Address, to: Address, data: InboxData) {
        let mut inner = self.lock();
        if let Some(block) = usize::try_from(number)
            .ok()
            .and_then(|n| inner.blocks.get_mut(n))
        {
            block.txs.push(InboxTransaction { from, to, data });
        }
    }

    /// Adds a Portal deposit of `mint` wei with calldata `data` to `to`, from a fixed sender,
    /// to block `number`.
    pub fn add_deposit(&self, number: u64, portal: Address, to: Address, mint: U256, data: &[u8]) {
        let mut inner = self.lock();
        if let Some(block) = usize::try_from(number)
            .ok()
            .and_then(|n| inner.blocks.get_mut(n))
        {
            let index = block.logs.len() as u64;
            block.logs.push(portal_log(
                portal,
                Address::repeat_byte(0xde),
                to,
                mint,
                U256::ZERO,
                100_000,
                false,
                data,
                index,
            ));
        }
    }

    /// Makes `batcher` the batcher from block `number` on (a SystemConfig `BatcherUpdated`).
    pub fn set_batcher(&self, number: u64, system_config: Address, batcher: Address) {
        self.add_raw_log(
            number,
            system_config,
            vec![
                crate::system_config::BATCHER_UPDATED_TOPIC,
                batcher.into_word(),
            ],
            Vec::new(),
        );
    }

    /// Adds an arbitrary log to block `number`.
    pub fn add_raw_log(&self, number: u64, address: Address, topics: Vec<B256>, data: Vec<u8>) {
        let mut inner = self.lock();
        if let Some(block) = usize::try_from(number)
            .ok()
            .and_then(|n| inner.blocks.get_mut(n))
        {
            let index = block.logs.len() as u64;
            block.logs.push(IndexedLog {
                log_index: index,
                log: Log {
                    address,
                    data: LogData::new_unchecked(topics, data.into()),
                },
            });
        }
    }

    fn block_by_hash(&self, hash: B256) -> Result<MemoryBlock, MemoryError> {
        let inner = self.lock();
        if inner.fail {
            return Err(MemoryError::Injected);
        }
        inner
            .blocks
            .iter()
            .find(|b| b.info.hash == hash)
            .cloned()
            .ok_or(MemoryError::UnknownBlock(hash))
    }
}

impl L1Source for MemoryL1 {
    type Error = MemoryError;

    fn block_by_number(&self, number: u64) -> Result<Option<L1BlockInfo>, MemoryError> {
        if self.lock().fail {
            return Err(MemoryError::Injected);
        }
        Ok(self.info(number))
    }

    fn inbox_transactions(
        &self,
        block: &L1BlockInfo,
        _inbox: Address,
    ) -> Result<Vec<InboxTransaction>, MemoryError> {
        Ok(self.block_by_hash(block.hash)?.txs)
    }

    fn logs(
        &self,
        block: &L1BlockInfo,
        emitters: &[Address],
    ) -> Result<Vec<IndexedLog>, MemoryError> {
        let mut logs = self.block_by_hash(block.hash)?.logs;
        logs.retain(|log| emitters.contains(&log.log.address));
        Ok(logs)
    }

    fn logs_before(
        &self,
        number: u64,
        emitter: Address,
    ) -> Result<Vec<(u64, IndexedLog)>, MemoryError> {
        let inner = self.lock();
        if inner.fail {
            return Err(MemoryError::Injected);
        }
        Ok(inner
            .blocks
            .iter()
            .filter(|b| b.info.number < number)
            .flat_map(|b| {
                b.logs
                    .iter()
                    .filter(|log| log.log.address == emitter)
                    .map(|log| (b.info.number, log.clone()))
            })
            .collect())
    }
}

/// Blobs and Celestia blobs in memory.
#[derive(Debug, Default)]
pub struct MemoryDa {
    blobs: Mutex<HashMap<B256, Bytes>>,
    celestia: Mutex<HashMap<CelestiaPointer, Bytes>>,
}

impl MemoryDa {
    /// Stores a blob; its "versioned hash" is `0x01 ‖ keccak256(blob)[1..]` (no KZG here).
    pub fn add_blob(&self, blob: Vec<u8>) -> B256 {
        let mut hash = keccak256(&blob);
        hash[0] = 1;
        self.blobs
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .insert(hash, blob.into());
        hash
    }

    /// Stores a Celestia blob.
    pub fn add_celestia(&self, pointer: CelestiaPointer, data: Vec<u8>) {
        self.celestia
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .insert(pointer, data.into());
    }

    /// Forgets a blob (as a pruned beacon node would).
    pub fn remove_blob(&self, hash: &B256) -> Option<Bytes> {
        self.blobs
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .remove(hash)
    }
}

impl DaSource for MemoryDa {
    type Error = MemoryError;

    fn blob(
        &self,
        _block: &L1BlockInfo,
        versioned_hash: B256,
    ) -> Result<Option<Bytes>, MemoryError> {
        Ok(self
            .blobs
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .get(&versioned_hash)
            .cloned())
    }

    fn celestia(&self, pointer: &CelestiaPointer) -> Result<Option<Bytes>, MemoryError> {
        Ok(self
            .celestia
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .get(pointer)
            .cloned())
    }
}

/// A stage double: hands out items per L1 block. Items given to [`VecStage::new`] are available
/// at once; [`VecStage::then`] queues an L1 block whose items come after `advance_origin`.
#[derive(Debug)]
pub struct VecStage<T> {
    current: VecDeque<T>,
    upcoming: VecDeque<(Arc<L1Epoch>, Vec<T>)>,
}

impl<T> VecStage<T> {
    /// Items available before any origin.
    pub fn new(items: Vec<T>) -> Self {
        Self {
            current: items.into(),
            upcoming: VecDeque::new(),
        }
    }

    /// Queues L1 block `epoch` carrying `items`.
    pub fn then(mut self, epoch: Arc<L1Epoch>, items: Vec<T>) -> Self {
        self.upcoming.push_back((epoch, items));
        self
    }

    fn pop(&mut self) -> Result<Option<T>, PipelineError> {
        Ok(self.current.pop_front())
    }
}

impl<T> Stage for VecStage<T> {
    fn advance_origin(&mut self) -> Result<Arc<L1Epoch>, PipelineError> {
        let (epoch, items) = self
            .upcoming
            .pop_front()
            .ok_or(PipelineError::L1NotReady(u64::MAX))?;
        self.current.extend(items);
        Ok(epoch)
    }

    fn counters(&self, _out: &mut DerivationCounters) {}
}

impl DataProvider for VecStage<InboxPayload> {
    fn next_data(&mut self) -> Result<Option<InboxPayload>, PipelineError> {
        self.pop()
    }
}

impl FrameProvider for VecStage<L1Frame> {
    fn next_frame(&mut self) -> Result<Option<L1Frame>, PipelineError> {
        self.pop()
    }
}

impl ChannelProvider for VecStage<ReadyChannel> {
    fn next_channel(&mut self) -> Result<Option<ReadyChannel>, PipelineError> {
        self.pop()
    }
}

impl BatchProvider for VecStage<IncludedBatch> {
    fn next_batch(&mut self) -> Result<Option<IncludedBatch>, PipelineError> {
        self.pop()
    }
}
