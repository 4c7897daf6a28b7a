//! L1 traversal: walks the L1 chain one block at a time, checking each block builds on the last
//! (a mismatch is an L1 reorg) and decoding the block's deposits.

use std::sync::Arc;

use alloy_primitives::{Address, Bytes};

use crate::block::L1BlockInfo;
use crate::deposit::{DepositTx, TRANSACTION_DEPOSITED_TOPIC};

use super::error::PipelineError;
use super::traits::{L1Epoch, L1Source, Stage};
use super::DerivationCounters;

/// The bottom stage.
#[derive(Debug)]
pub struct L1Traversal<L> {
    l1: Arc<L>,
    portal: Address,
    next: u64,
    last: Option<L1BlockInfo>,
}

impl<L: L1Source> L1Traversal<L> {
    /// Starts reading at L1 block `start` (its parent is not checked).
    pub fn new(l1: Arc<L>, portal: Address, start: u64) -> Self {
        Self {
            l1,
            portal,
            next: start,
            last: None,
        }
    }

    /// The last block read.
    pub fn origin(&self) -> Option<&L1BlockInfo> {
        self.last.as_ref()
    }

    /// User deposits of `info`, in log order. Fails (critically) on a deposit event the Portal
    /// could not have emitted, so a broken source never silently loses a deposit.
    fn deposits(&self, info: &L1BlockInfo) -> Result<Vec<Bytes>, PipelineError> {
        let mut logs = self
            .l1
            .portal_logs(info, self.portal)
            .map_err(|e| PipelineError::L1Source(Box::new(e)))?;
        logs.sort_by_key(|log| log.log_index);
        logs.iter()
            .filter(|log| {
                log.log.address == self.portal
                    && log.log.data.topics().first() == Some(&TRANSACTION_DEPOSITED_TOPIC)
            })
            .map(|log| {
                DepositTx::from_portal_log(log, self.portal, info.hash)
                    .map(|tx| tx.encode())
                    .map_err(|source| PipelineError::InvalidDepositLog {
                        block: info.id(),
                        log_index: log.log_index,
                        source,
                    })
            })
            .collect()
    }
}

impl<L: L1Source> Stage for L1Traversal<L> {
    fn advance_origin(&mut self) -> Result<Arc<L1Epoch>, PipelineError> {
        let info = self
            .l1
            .block_by_number(self.next)
            .map_err(|e| PipelineError::L1Source(Box::new(e)))?
            .ok_or(PipelineError::L1NotReady(self.next))?;
        if info.number != self.next {
            return Err(PipelineError::WrongL1Block {
                asked: self.next,
                got: info.number,
            });
        }
        if let Some(last) = &self.last {
            if info.parent_hash != last.hash {
                return Err(PipelineError::L1Reorg {
                    number: info.number,
                    expected: last.hash,
                    found: info.parent_hash,
                });
            }
        }
        // Fetch everything before moving: a failure leaves the stage where it was.
        let deposits = self.deposits(&info)?;
        self.last = Some(info);
        self.next += 1;
        Ok(Arc::new(L1Epoch { info, deposits }))
    }

    fn counters(&self, _out: &mut DerivationCounters) {}
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::derive::error::Severity;
    use crate::derive::test_utils::MemoryL1;
    use alloy_primitives::U256;

    #[test]
    fn follows_the_chain_and_detects_reorgs() {
        let l1 = Arc::new(MemoryL1::new(100));
        let portal = Address::repeat_byte(0xbb);
        l1.extend(3);
        l1.add_deposit(
            2,
            portal,
            Address::repeat_byte(1),
            U256::from(5),
            &[1, 2, 3],
        );
        let mut traversal = L1Traversal::new(l1.clone(), portal, 0);
        for expected in 0..=3 {
            let epoch = traversal.advance_origin().expect("block exists");
            assert_eq!(epoch.info.number, expected);
            assert_eq!(epoch.deposits.len(), usize::from(expected == 2));
        }
        assert!(matches!(
            traversal.advance_origin(),
            Err(PipelineError::L1NotReady(4))
        ));
        // Replace block 3 and add block 4 on top of the new one: the parent check fires.
        l1.reorg_from(3);
        l1.extend(1);
        let error = traversal.advance_origin().expect_err("reorg");
        assert!(matches!(error, PipelineError::L1Reorg { number: 4, .. }));
        assert_eq!(error.severity(), Severity::Reset);
    }

    #[test]
    fn invalid_deposit_logs_are_critical() {
        let l1 = Arc::new(MemoryL1::new(100));
        let portal = Address::repeat_byte(0xbb);
        l1.extend(1);
        l1.add_raw_log(1, portal, vec![TRANSACTION_DEPOSITED_TOPIC], vec![1, 2, 3]);
        // Other Portal events are not deposits and are skipped.
        l1.add_raw_log(1, portal, vec![alloy_primitives::B256::ZERO], vec![]);
        let mut traversal = L1Traversal::new(l1, portal, 1);
        let error = traversal.advance_origin().expect_err("bad log");
        assert_eq!(error.severity(), Severity::Critical);
        assert_eq!(traversal.origin(), None);
    }
}
