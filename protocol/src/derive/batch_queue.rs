//! Batch validation and forced inclusion: decides the inputs of the next L2 block.
//!
//! For the next block `n` after safe head `p` (epoch `E` = `p`'s L1 origin, `t` = the block's
//! scheduled time, [`RollupConfig::l2_timestamp_ms`]), batches are considered in the order they
//! were read. A batch with timestamp `< t` is for a past block and dropped; `> t` is for a future
//! block and buffered; `= t` is checked, and is **dropped** if any of these fail:
//! 1. its inclusion block is before `E + sequencing_window`;
//! 2. its parent hash is `p`'s hash;
//! 3. its origin is `E` or `E + 1`, strictly before its inclusion block (a batch cannot name the
//!    block that carries it), and its hash is the canonical L1 block's;
//! 4. `origin.timestamp ≤ t ≤ origin.timestamp + max_sequencer_drift` (seconds vs. ms). Past
//!    the drift only an *empty* batch is accepted, and only if the L1 block after its origin is
//!    later than `t` (L1 stalled: the sequencer could not have moved on). That block is never
//!    after the inclusion block, so it is always known;
//! 5. no transaction is empty or a deposit (type `0x7E`).
//!
//! Rule 4 bounds every valid batch's time by its inclusion block's time plus the drift, so
//! batches beyond that are dropped on arrival, and at most [`MAX_CANDIDATES_PER_BLOCK`] batches
//! are buffered per block time: the buffer stays bounded whatever the batcher posts.
//!
//! The first batch passing them becomes block `n`. If none has, once every L1 block up to
//! `E + sequencing_window - 1` has been fully read, block `n` is **forced**: no transactions,
//! origin `E + 1` if that block's time is ≤ `t`, else `E`. Either way the sequence number is 0
//! on a new origin and `p`'s + 1 otherwise.

use std::collections::{BTreeMap, VecDeque};
use std::sync::Arc;

use alloy_primitives::{Bytes, B256};

use crate::block::{BlockId, L2BlockInfo};
use crate::config::RollupConfig;
use crate::deposit::DEPOSIT_TX_TYPE;

use super::batch_reader::{BatchProvider, IncludedBatch};
use super::error::PipelineError;
use super::traits::{L1Epoch, Stage};
use super::DerivationCounters;

/// The inputs of one L2 block, decided but not yet turned into payload attributes.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DerivedBlock {
    /// Parent block hash.
    pub parent_hash: B256,
    /// Block number.
    pub number: u64,
    /// Block time in milliseconds.
    pub timestamp_ms: u64,
    /// The L1 origin, with its deposits.
    pub origin: Arc<L1Epoch>,
    /// Position in the epoch (0 = first block of the origin: deposits go in it).
    pub sequence_number: u64,
    /// Batch transactions (none for a forced block).
    pub transactions: Vec<Bytes>,
    /// The L1 block whose data decided this block (batch inclusion, or the block that closed
    /// the sequencing window): the block is safe once that is, final once that is final.
    pub derived_from: BlockId,
    /// Whether the block was forced by the sequencing window rather than batched.
    pub forced: bool,
}

/// Gives the next block's inputs after a safe head; `None` when it needs more L1 data.
pub trait BlockProvider: Stage {
    /// Decides block `parent.number + 1`.
    fn next_block(&mut self, parent: &L2BlockInfo) -> Result<Option<DerivedBlock>, PipelineError>;
}

/// Most batches buffered for one block time; later ones are dropped on arrival.
pub const MAX_CANDIDATES_PER_BLOCK: usize = 16;

#[derive(Clone, Debug, PartialEq, Eq)]
enum Verdict {
    /// Valid, with its origin.
    Accept(Arc<L1Epoch>),
    Drop,
    /// The safe head's origin has not been read yet: keep the batch, read more L1.
    Undecided,
}

/// Validates batches from a [`BatchProvider`] against the safe head and L1.
#[derive(Debug)]
pub struct BatchQueue<P> {
    prev: P,
    config: Arc<RollupConfig>,
    /// Contiguous L1 blocks read so far, from the safe head's origin (or earlier) on.
    epochs: VecDeque<Arc<L1Epoch>>,
    /// Batches for future blocks, by timestamp, in arrival order.
    pending: BTreeMap<u64, Vec<IncludedBatch>>,
    dropped_batches: u64,
    forced_blocks: u64,
}

impl<P: BatchProvider> BatchQueue<P> {
    /// Validates against `config`.
    pub fn new(prev: P, config: Arc<RollupConfig>) -> Self {
        Self {
            prev,
            config,
            epochs: VecDeque::new(),
            pending: BTreeMap::new(),
            dropped_batches: 0,
            forced_blocks: 0,
        }
    }

    fn epoch(&self, number: u64) -> Option<&Arc<L1Epoch>> {
        let first = self.epochs.front()?.info.number;
        self.epochs
            .get(usize::try_from(number.checked_sub(first)?).ok()?)
    }

    fn check(&self, candidate: &IncludedBatch, parent: &L2BlockInfo, time_ms: u64) -> Verdict {
        let batch = &candidate.batch;
        let Some(epoch) = self.epoch(parent.l1_origin.number) else {
            return Verdict::Undecided;
        };
        let epoch_number = epoch.info.number;
        let window_end = epoch_number.saturating_add(self.config.sequencing_window);
        if candidate.inclusion.number >= window_end || batch.parent_hash != parent.hash {
            return Verdict::Drop;
        }
        let origin_number = batch.l1_origin.number;
        if origin_number < epoch_number
            || origin_number > epoch_number + 1
            || origin_number >= candidate.inclusion.number
        {
            return Verdict::Drop;
        }
        let Some(origin) = self.epoch(origin_number) else {
            return Verdict::Drop;
        };
        if origin.info.hash != batch.l1_origin.hash {
            return Verdict::Drop;
        }
        let origin_ms = origin.info.timestamp.saturating_mul(1000);
        if time_ms < origin_ms {
            return Verdict::Drop;
        }
        let drift_ms = self.config.max_sequencer_drift.saturating_mul(1000);
        if time_ms > origin_ms.saturating_add(drift_ms) {
            if !batch.transactions.is_empty() {
                return Verdict::Drop;
            }
            // Known: origin < inclusion ≤ the last L1 block read.
            match self.epoch(origin_number + 1) {
                Some(next) if next.info.timestamp.saturating_mul(1000) > time_ms => {}
                _ => return Verdict::Drop,
            }
        }
        if batch
            .transactions
            .iter()
            .any(|tx| tx.first().is_none_or(|&ty| ty == DEPOSIT_TX_TYPE))
        {
            return Verdict::Drop;
        }
        Verdict::Accept(origin.clone())
    }

    fn block(
        parent: &L2BlockInfo,
        time_ms: u64,
        origin: Arc<L1Epoch>,
        transactions: Vec<Bytes>,
        derived_from: BlockId,
        forced: bool,
    ) -> DerivedBlock {
        let sequence_number = if origin.info.number == parent.l1_origin.number {
            parent.sequence_number + 1
        } else {
            0
        };
        DerivedBlock {
            parent_hash: parent.hash,
            number: parent.number + 1,
            timestamp_ms: time_ms,
            origin,
            sequence_number,
            transactions,
            derived_from,
            forced,
        }
    }

    /// The first acceptable buffered batch for `time_ms`; `Err(())` if one is undecided.
    fn take_valid(
        &mut self,
        parent: &L2BlockInfo,
        time_ms: u64,
    ) -> Result<Option<(IncludedBatch, Arc<L1Epoch>)>, ()> {
        let Some(mut candidates) = self.pending.remove(&time_ms) else {
            return Ok(None);
        };
        let mut result = Ok(None);
        let mut consumed = 0;
        for candidate in &candidates {
            match self.check(candidate, parent, time_ms) {
                Verdict::Accept(origin) => {
                    consumed += 1;
                    result = Ok(Some((candidate.clone(), origin)));
                    break;
                }
                Verdict::Drop => {
                    consumed += 1;
                    self.dropped_batches += 1;
                }
                Verdict::Undecided => {
                    result = Err(());
                    break;
                }
            }
        }
        candidates.drain(..consumed);
        // Once a block is decided, the other batches for its time are for a past block.
        if matches!(result, Ok(Some(_))) {
            self.dropped_batches += candidates.len() as u64;
        } else if !candidates.is_empty() {
            self.pending.insert(time_ms, candidates);
        }
        result
    }

    fn buffer(&mut self, candidate: IncludedBatch, after_ms: u64) {
        let time = candidate.batch.timestamp_ms;
        // Rule 4 with origin <= inclusion: no valid batch is later than its inclusion block's
        // time plus the drift.
        let latest_ms = self
            .epoch(candidate.inclusion.number)
            .map(|e| {
                e.info
                    .timestamp
                    .saturating_add(self.config.max_sequencer_drift)
                    .saturating_mul(1000)
            })
            .unwrap_or(u64::MAX);
        let slot = self.pending.entry(time).or_default();
        if time <= after_ms || time > latest_ms || slot.len() >= MAX_CANDIDATES_PER_BLOCK {
            if slot.is_empty() {
                self.pending.remove(&time);
            }
            self.dropped_batches += 1;
            return;
        }
        slot.push(candidate);
    }

    fn forced(&self, parent: &L2BlockInfo, time_ms: u64) -> Option<DerivedBlock> {
        let epoch = self.epoch(parent.l1_origin.number)?;
        let current = self.epochs.back()?;
        let last_window_block = epoch
            .info
            .number
            .saturating_add(self.config.sequencing_window.saturating_sub(1));
        if current.info.number < last_window_block {
            return None;
        }
        let origin = match self.epoch(epoch.info.number + 1) {
            Some(next) if next.info.timestamp.saturating_mul(1000) <= time_ms => next,
            _ => epoch,
        };
        Some(Self::block(
            parent,
            time_ms,
            origin.clone(),
            Vec::new(),
            current.info.id(),
            true,
        ))
    }
}

impl<P: BatchProvider> Stage for BatchQueue<P> {
    fn advance_origin(&mut self) -> Result<Arc<L1Epoch>, PipelineError> {
        let epoch = self.prev.advance_origin()?;
        self.epochs.push_back(epoch.clone());
        Ok(epoch)
    }

    fn counters(&self, out: &mut DerivationCounters) {
        out.dropped_batches += self.dropped_batches;
        out.forced_blocks += self.forced_blocks;
        self.prev.counters(out);
    }
}

impl<P: BatchProvider> BlockProvider for BatchQueue<P> {
    fn next_block(&mut self, parent: &L2BlockInfo) -> Result<Option<DerivedBlock>, PipelineError> {
        let number = parent
            .number
            .checked_add(1)
            .ok_or(PipelineError::TimestampOverflow(parent.number))?;
        let time_ms = self
            .config
            .l2_timestamp_ms(number)
            .ok_or(PipelineError::TimestampOverflow(parent.number))?;
        // Forget what the safe head has passed.
        let parent_time = time_ms.saturating_sub(self.config.block_time_ms);
        let future = self.pending.split_off(&parent_time.saturating_add(1));
        self.dropped_batches += self.pending.values().map(|v| v.len() as u64).sum::<u64>();
        self.pending = future;
        while self
            .epochs
            .front()
            .is_some_and(|e| e.info.number < parent.l1_origin.number)
        {
            self.epochs.pop_front();
        }
        // The safe head's origin must be on the L1 chain read so far (or still ahead of it).
        if let Some(front) = self.epochs.front() {
            let known = self.epoch(parent.l1_origin.number);
            let mismatch = match known {
                Some(epoch) => epoch.info.hash != parent.l1_origin.hash,
                None => parent.l1_origin.number < front.info.number,
            };
            if mismatch {
                return Err(PipelineError::UnexpectedSafeHead {
                    expected: known.unwrap_or(front).info.id(),
                    got: parent.l1_origin,
                });
            }
        }
        loop {
            let undecided = match self.take_valid(parent, time_ms) {
                Ok(Some((found, origin))) => {
                    return Ok(Some(Self::block(
                        parent,
                        time_ms,
                        origin,
                        found.batch.transactions,
                        found.inclusion,
                        false,
                    )));
                }
                Ok(None) => false,
                Err(()) => true,
            };
            match self.prev.next_batch()? {
                Some(candidate) => self.buffer(candidate, parent_time),
                None if undecided => return Ok(None),
                None => {
                    let forced = self.forced(parent, time_ms);
                    if forced.is_some() {
                        self.forced_blocks += 1;
                    }
                    return Ok(forced);
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::batch::Batch;
    use crate::block::L1BlockInfo;
    use crate::derive::test_utils::VecStage;
    use alloy_primitives::keccak256;

    /// L1 blocks 0..=9 at these times (seconds): L1 stalls between blocks 2 and 3.
    const L1_TIMES: [u64; 10] = [1000, 1012, 1024, 1100, 1112, 1124, 1136, 1148, 1160, 1172];

    fn config() -> Arc<RollupConfig> {
        let mut config = RollupConfig {
            block_time_ms: 2000,
            max_sequencer_drift: 30,
            sequencing_window: 5,
            ..RollupConfig::default()
        };
        config.genesis.l2_timestamp = 1000;
        Arc::new(config)
    }

    fn epoch(number: u64) -> Arc<L1Epoch> {
        let hash = |n: u64| keccak256(n.to_be_bytes());
        Arc::new(L1Epoch {
            info: L1BlockInfo {
                number,
                hash: hash(number),
                parent_hash: if number == 0 {
                    B256::ZERO
                } else {
                    hash(number - 1)
                },
                timestamp: L1_TIMES[number as usize],
                base_fee: 1,
                blob_base_fee: 1,
            },
            deposits: Vec::new(),
            system_config: crate::system_config::SystemConfigState::from_rollup_config(
                &RollupConfig::default(),
            ),
        })
    }

    fn parent(number: u64, origin: u64, sequence_number: u64) -> L2BlockInfo {
        L2BlockInfo {
            number,
            hash: B256::with_last_byte(number as u8),
            l1_origin: epoch(origin).info.id(),
            sequence_number,
        }
    }

    /// A valid-looking batch for the block after `parent` with origin `origin`.
    fn batch(parent: &L2BlockInfo, origin: u64, txs: &[&[u8]]) -> Batch {
        Batch {
            parent_hash: parent.hash,
            l1_origin: epoch(origin).info.id(),
            timestamp_ms: 1_000_000 + 2000 * (parent.number + 1),
            transactions: txs.iter().map(|t| Bytes::copy_from_slice(t)).collect(),
        }
    }

    /// Runs the queue over L1 blocks `0..l1_blocks`, with `batches` (batch, inclusion block)
    /// arriving with their inclusion block; `None` if it needs more L1.
    fn derive(
        parent: &L2BlockInfo,
        l1_blocks: u64,
        batches: Vec<(Batch, u64)>,
    ) -> (Option<DerivedBlock>, DerivationCounters) {
        let mut stage = VecStage::new(Vec::new());
        for number in 0..l1_blocks {
            let items = batches
                .iter()
                .filter(|(_, at)| *at == number)
                .map(|(batch, _)| IncludedBatch {
                    batch: batch.clone(),
                    inclusion: epoch(number).info.id(),
                })
                .collect();
            stage = stage.then(epoch(number), items);
        }
        let mut queue = BatchQueue::new(stage, config());
        let result = loop {
            if let Some(block) = queue.next_block(parent).expect("no error") {
                break Some(block);
            }
            if queue.advance_origin().is_err() {
                break None;
            }
        };
        let mut counters = DerivationCounters::default();
        queue.counters(&mut counters);
        (result, counters)
    }

    #[test]
    fn accepts_valid_batches_and_numbers_the_epoch() {
        let p = parent(5, 0, 5);
        let (block, _) = derive(&p, 3, vec![(batch(&p, 0, &[&[2, 1]]), 1)]);
        let block = block.expect("accepted");
        assert_eq!((block.number, block.sequence_number), (6, 6));
        assert_eq!(block.timestamp_ms, 1_012_000);
        assert_eq!(block.derived_from.number, 1);
        assert!(!block.forced);
        // Adopting the next origin (its time 1012 s equals the block's) restarts the count.
        let (block, _) = derive(&p, 3, vec![(batch(&p, 1, &[]), 2)]);
        let block = block.expect("accepted");
        assert_eq!((block.origin.info.number, block.sequence_number), (1, 0));
    }

    #[test]
    fn drops_invalid_batches() {
        let p = parent(5, 0, 5);
        let good = batch(&p, 0, &[&[2]]);
        let cases: Vec<(&str, Batch, u64)> = vec![
            ("skips an epoch", batch(&p, 2, &[]), 2),
            (
                "wrong parent",
                Batch {
                    parent_hash: B256::ZERO,
                    ..good.clone()
                },
                1,
            ),
            (
                "origin hash not canonical",
                Batch {
                    l1_origin: BlockId {
                        number: 1,
                        hash: B256::ZERO,
                    },
                    ..good.clone()
                },
                1,
            ),
            ("deposit in batch", batch(&p, 0, &[&[0x7e, 1]]), 1),
            ("empty transaction", batch(&p, 0, &[&[2], &[]]), 1),
            ("origin after inclusion", batch(&p, 1, &[]), 0),
            ("origin is the inclusion block", batch(&p, 1, &[]), 1),
        ];
        for (name, bad, inclusion) in cases {
            // The bad batch first, then the good one: the bad one must be skipped.
            let (block, counters) = derive(&p, 6, vec![(bad, inclusion), (good.clone(), 4)]);
            let block = block.unwrap_or_else(|| panic!("{name}: nothing derived"));
            assert_eq!(block.transactions, good.transactions, "{name}");
            assert_eq!(block.derived_from.number, 4, "{name}");
            assert!(counters.dropped_batches >= 1, "{name}");
        }
        // Before its origin: block 1 (1002 s) cannot take origin 1 (1012 s).
        let p0 = parent(0, 0, 0);
        let (block, _) = derive(
            &p0,
            6,
            vec![(batch(&p0, 1, &[]), 1), (batch(&p0, 0, &[&[2]]), 2)],
        );
        assert_eq!(block.expect("second batch").origin.info.number, 0);
    }

    #[test]
    fn drift_and_the_empty_batch_exception() {
        // Block 28 at 1056 s; origin 2 (1024 s) + 30 s drift = 1054 s: over the drift.
        let p = parent(27, 2, 3);
        let (block, _) = derive(&p, 5, vec![(batch(&p, 2, &[&[2]]), 3)]);
        assert!(
            block.is_none(),
            "a non-empty batch past the drift is dropped"
        );
        // Empty: allowed because L1 block 3 (1100 s) is later than the block.
        let (block, _) = derive(&p, 5, vec![(batch(&p, 2, &[]), 3)]);
        assert_eq!(block.expect("accepted").sequence_number, 4);
        // With origin 0 past the drift while L1 block 1 is older than the block: dropped.
        let p = parent(20, 0, 20);
        let (block, _) = derive(&p, 4, vec![(batch(&p, 0, &[]), 2)]);
        assert!(block.is_none());
    }

    #[test]
    fn the_buffer_is_bounded() {
        let p5 = parent(5, 0, 5);
        let p6 = parent(6, 0, 6);
        // Far beyond inclusion time + drift: dropped on arrival.
        let mut far = batch(&p5, 0, &[]);
        far.timestamp_ms = 2_000_000;
        // Candidates for a future block (7) beyond the cap are dropped on arrival too.
        let future = batch(&p6, 0, &[&[2]]);
        let mut batches = vec![(far, 1)];
        batches.extend(std::iter::repeat_n(
            (future, 1),
            MAX_CANDIDATES_PER_BLOCK + 1,
        ));
        let (block, counters) = derive(&p5, 6, batches);
        assert!(block.expect("no batch for block 6: forced").forced);
        assert_eq!(counters.dropped_batches, 2);
    }

    #[test]
    fn buffers_future_batches_and_drops_duplicates() {
        let p5 = parent(5, 0, 5);
        let p6 = parent(6, 0, 6);
        let first = batch(&p5, 0, &[&[2, 1]]);
        let second = batch(&p5, 0, &[&[2, 2]]);
        let next = batch(&p6, 0, &[&[2, 3]]);
        let mut stage = VecStage::new(Vec::new()).then(epoch(0), Vec::new());
        let included = |batch: &Batch| IncludedBatch {
            batch: batch.clone(),
            inclusion: epoch(1).info.id(),
        };
        stage = stage.then(
            epoch(1),
            vec![included(&next), included(&first), included(&second)],
        );
        let mut queue = BatchQueue::new(stage, config());
        queue.advance_origin().expect("0");
        assert_eq!(queue.next_block(&p5).expect("ok"), None);
        queue.advance_origin().expect("1");
        let block = queue.next_block(&p5).expect("ok").expect("block 6");
        assert_eq!(block.transactions, first.transactions);
        let block = queue
            .next_block(&p6)
            .expect("ok")
            .expect("block 7 from the buffer");
        assert_eq!(block.transactions, next.transactions);
        // The duplicate for block 6 is read (lazily) only now, and dropped as past.
        assert_eq!(queue.next_block(&parent(7, 0, 7)).expect("ok"), None);
        let mut counters = DerivationCounters::default();
        queue.counters(&mut counters);
        assert_eq!(counters.dropped_batches, 1);
    }

    #[test]
    fn forces_empty_blocks_after_the_window() {
        let p = parent(5, 0, 5);
        // Window 5: blocks 0..=4 must all be read first.
        assert_eq!(derive(&p, 4, Vec::new()).0, None);
        let (block, counters) = derive(&p, 5, Vec::new());
        let block = block.expect("forced");
        assert!(block.forced && block.transactions.is_empty());
        // L1 block 1 (1012 s) is not later than the block (1012 s): the origin advances.
        assert_eq!((block.origin.info.number, block.sequence_number), (1, 0));
        assert_eq!(block.derived_from.number, 4);
        assert_eq!(counters.forced_blocks, 1);
        // A batch included late (block 5 >= 0 + 5) does not prevent it.
        let (block, _) = derive(&p, 6, vec![(batch(&p, 0, &[&[2]]), 5)]);
        assert!(block.expect("forced").forced);
    }

    #[test]
    fn rejects_a_safe_head_on_another_l1_fork() {
        let mut p = parent(5, 0, 5);
        p.l1_origin.hash = B256::repeat_byte(9);
        let mut queue = BatchQueue::new(
            VecStage::new(Vec::new()).then(epoch(0), Vec::new()),
            config(),
        );
        queue.advance_origin().expect("0");
        assert!(matches!(
            queue.next_block(&p),
            Err(PipelineError::UnexpectedSafeHead { .. })
        ));
        // A safe head that went back behind what the queue already pruned.
        let stage = VecStage::new(Vec::new())
            .then(epoch(0), Vec::new())
            .then(epoch(1), Vec::new());
        let mut queue = BatchQueue::new(stage, config());
        queue.advance_origin().expect("0");
        queue.advance_origin().expect("1");
        assert_eq!(queue.next_block(&parent(6, 1, 0)).expect("ok"), None);
        assert!(matches!(
            queue.next_block(&parent(5, 0, 5)),
            Err(PipelineError::UnexpectedSafeHead { .. })
        ));
    }
}
