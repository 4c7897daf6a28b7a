//! Payload attributes: the decided block inputs with the deposits merged in, ready for the node
//! to execute.

use std::sync::Arc;

use alloy_primitives::{Address, Bytes, B256};

use crate::block::{BlockId, L2BlockInfo};
use crate::config::Eip1559Params;
use crate::l1_info::L1Info;
use crate::predeploys::SEQUENCER_FEE_VAULT;

use super::batch_queue::{BlockProvider, DerivedBlock};
use super::error::PipelineError;
use super::traits::{L1Epoch, Stage};
use super::DerivationCounters;

/// Everything the node needs to build and execute one L2 block. Derivation does not execute:
/// whether the transactions are valid and what state results is the executor's business.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PayloadAttributes {
    /// Hash of the parent block.
    pub parent_hash: B256,
    /// Block number.
    pub number: u64,
    /// Header timestamp in seconds (`timestamp_ms / 1000`; equal across sub-second blocks).
    pub timestamp: u64,
    /// Block time in milliseconds (the batch timestamp).
    pub timestamp_ms: u64,
    /// L1 origin (epoch) of the block.
    pub l1_origin: BlockId,
    /// Position in the epoch.
    pub sequence_number: u64,
    /// The L1-info deposit, the origin's user deposits (first block of the epoch only), then the
    /// batch's transactions, all EIP-2718 encoded.
    pub transactions: Vec<Bytes>,
    /// How many leading `transactions` are deposits (the L1-info deposit included).
    pub deposit_count: usize,
    /// Block gas limit (SystemConfig value at the origin).
    pub gas_limit: u64,
    /// EIP-1559 parameters for this block's base fee rules (SystemConfig value at the origin).
    pub eip1559: Eip1559Params,
    /// Floor of this block's base fee.
    pub min_base_fee: u64,
    /// Header coinbase: always the sequencer fee vault predeploy, so every replica agrees.
    pub fee_recipient: Address,
    /// Header `prevRandao` (`mixHash`): the L1 origin's hash, the only randomness all nodes
    /// share (and not known before the L1 block exists).
    pub prev_randao: B256,
    /// The L1 block whose data decided this block (safe/finalized head tracking).
    pub derived_from: BlockId,
    /// True if the sequencing window forced the block (no batch arrived in time).
    pub forced: bool,
}

impl PayloadAttributes {
    /// The block as derivation needs it for the next step, once executed with result `hash`.
    pub fn executed(&self, hash: B256) -> L2BlockInfo {
        L2BlockInfo {
            number: self.number,
            hash,
            l1_origin: self.l1_origin,
            sequence_number: self.sequence_number,
        }
    }
}

/// Builds [`PayloadAttributes`] from decided blocks: L1-info deposit, then user deposits of a
/// new epoch, then the batch transactions.
pub fn build_attributes(block: &DerivedBlock) -> PayloadAttributes {
    let origin: &L1Epoch = &block.origin;
    let system_config = &origin.system_config;
    let l1_info = L1Info::new(&origin.info, block.sequence_number, system_config);
    let mut transactions = Vec::with_capacity(1 + origin.deposits.len() + block.transactions.len());
    transactions.push(l1_info.deposit().encode());
    if block.sequence_number == 0 {
        transactions.extend(origin.deposits.iter().cloned());
    }
    let deposit_count = transactions.len();
    transactions.extend(block.transactions.iter().cloned());
    PayloadAttributes {
        parent_hash: block.parent_hash,
        number: block.number,
        timestamp: block.timestamp_ms / 1000,
        timestamp_ms: block.timestamp_ms,
        l1_origin: origin.info.id(),
        sequence_number: block.sequence_number,
        transactions,
        deposit_count,
        gas_limit: system_config.gas_limit,
        eip1559: system_config.eip1559,
        min_base_fee: system_config.min_base_fee,
        fee_recipient: SEQUENCER_FEE_VAULT,
        prev_randao: origin.info.hash,
        derived_from: block.derived_from,
        forced: block.forced,
    }
}

/// The top stage.
#[derive(Debug)]
pub struct AttributesQueue<P> {
    prev: P,
}

impl<P: BlockProvider> AttributesQueue<P> {
    /// Wraps the batch queue.
    pub fn new(prev: P) -> Self {
        Self { prev }
    }

    /// Attributes of block `parent.number + 1`, or `None` if more L1 data is needed.
    pub fn next_attributes(
        &mut self,
        parent: &L2BlockInfo,
    ) -> Result<Option<PayloadAttributes>, PipelineError> {
        Ok(self
            .prev
            .next_block(parent)?
            .map(|block| build_attributes(&block)))
    }
}

impl<P: BlockProvider> Stage for AttributesQueue<P> {
    fn advance_origin(&mut self) -> Result<Arc<L1Epoch>, PipelineError> {
        self.prev.advance_origin()
    }

    fn counters(&self, out: &mut DerivationCounters) {
        self.prev.counters(out);
    }
}
