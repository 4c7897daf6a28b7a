//! L1 traversal: walks the L1 chain one block at a time, checking each block builds on the last
//! (a mismatch is an L1 reorg), decoding the block's deposits and applying its SystemConfig
//! events.

use std::sync::Arc;

use alloy_primitives::{Address, Bytes};

use crate::block::L1BlockInfo;
use crate::config::RollupConfig;
use crate::deposit::{DepositTx, IndexedLog, TRANSACTION_DEPOSITED_TOPIC};
use crate::system_config::SystemConfigState;

use super::error::PipelineError;
use super::traits::{L1Epoch, L1Source, Stage};
use super::DerivationCounters;

/// The bottom stage.
#[derive(Debug)]
pub struct L1Traversal<L> {
    l1: Arc<L>,
    portal: Address,
    system_config: Address,
    /// Values before the first SystemConfig event.
    initial: SystemConfigState,
    /// Values in force after the last block read; `None` until the history is replayed.
    state: Option<SystemConfigState>,
    next: u64,
    last: Option<L1BlockInfo>,
}

impl<L: L1Source> L1Traversal<L> {
    /// Starts reading at L1 block `start` (its parent is not checked) for the chain `config`.
    pub fn new(l1: Arc<L>, config: &RollupConfig, start: u64) -> Self {
        Self {
            l1,
            portal: config.portal_address,
            system_config: config.system_config_address,
            initial: SystemConfigState::from_rollup_config(config),
            state: None,
            next: start,
            last: None,
        }
    }

    /// The last block read.
    pub fn origin(&self) -> Option<&L1BlockInfo> {
        self.last.as_ref()
    }

    fn source_error(error: L::Error) -> PipelineError {
        PipelineError::L1Source(Box::new(error))
    }

    fn apply_system_config(
        state: &mut SystemConfigState,
        block: u64,
        log: &IndexedLog,
    ) -> Result<(), PipelineError> {
        state
            .apply(&log.log)
            .map(|_| ())
            .map_err(|source| PipelineError::InvalidSystemConfigLog {
                block,
                log_index: log.log_index,
                source,
            })
    }

    /// SystemConfig values in force before the block about to be read.
    fn state_before_next(&self) -> Result<SystemConfigState, PipelineError> {
        if let Some(state) = self.state {
            return Ok(state);
        }
        let mut history = self
            .l1
            .logs_before(self.next, self.system_config)
            .map_err(Self::source_error)?;
        history
            .retain(|(number, log)| *number < self.next && log.log.address == self.system_config);
        history.sort_by_key(|(number, log)| (*number, log.log_index));
        let mut state = self.initial;
        for (number, log) in &history {
            Self::apply_system_config(&mut state, *number, log)?;
        }
        Ok(state)
    }

    /// User deposits of `info` in log order, and the SystemConfig values after its events.
    /// Fails (critically) on an event the contracts could not have emitted, so a broken source
    /// never silently loses a deposit or a configuration change.
    fn read_logs(
        &self,
        info: &L1BlockInfo,
        mut state: SystemConfigState,
    ) -> Result<(Vec<Bytes>, SystemConfigState), PipelineError> {
        let mut logs = self
            .l1
            .logs(info, &[self.portal, self.system_config])
            .map_err(Self::source_error)?;
        logs.sort_by_key(|log| log.log_index);
        let mut deposits = Vec::new();
        for log in &logs {
            if log.log.address == self.system_config {
                Self::apply_system_config(&mut state, info.number, log)?;
            } else if log.log.address == self.portal
                && log.log.data.topics().first() == Some(&TRANSACTION_DEPOSITED_TOPIC)
            {
                let deposit =
                    DepositTx::from_portal_log(log, self.portal, info.hash).map_err(|source| {
                        PipelineError::InvalidDepositLog {
                            block: info.id(),
                            log_index: log.log_index,
                            source,
                        }
                    })?;
                deposits.push(deposit.encode());
            }
        }
        Ok((deposits, state))
    }
}

impl<L: L1Source> Stage for L1Traversal<L> {
    fn advance_origin(&mut self) -> Result<Arc<L1Epoch>, PipelineError> {
        let info = self
            .l1
            .block_by_number(self.next)
            .map_err(Self::source_error)?
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
        let before = self.state_before_next()?;
        let (deposits, system_config) = self.read_logs(&info, before)?;
        self.state = Some(system_config);
        self.last = Some(info);
        self.next += 1;
        Ok(Arc::new(L1Epoch {
            info,
            deposits,
            system_config,
        }))
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
        let config = RollupConfig {
            portal_address: portal,
            ..RollupConfig::default()
        };
        let mut traversal = L1Traversal::new(l1.clone(), &config, 0);
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
        let config = RollupConfig {
            portal_address: portal,
            ..RollupConfig::default()
        };
        let mut traversal = L1Traversal::new(l1, &config, 1);
        let error = traversal.advance_origin().expect_err("bad log");
        assert_eq!(error.severity(), Severity::Critical);
        assert_eq!(traversal.origin(), None);
    }

    #[test]
    fn replays_system_config_history_and_applies_new_events() {
        let l1 = Arc::new(MemoryL1::new(12));
        let config = RollupConfig::default();
        l1.extend(4);
        let (a, b) = (Address::repeat_byte(0xa1), Address::repeat_byte(0xb1));
        l1.set_batcher(1, config.system_config_address, a);
        l1.set_batcher(3, config.system_config_address, b);
        // Another contract's identical event is not the SystemConfig's.
        l1.set_batcher(2, Address::repeat_byte(9), Address::repeat_byte(9));
        let batcher_at = |start: u64| {
            let mut traversal = L1Traversal::new(l1.clone(), &config, start);
            (start..=4)
                .map(|_| {
                    traversal
                        .advance_origin()
                        .expect("block")
                        .system_config
                        .batcher
                })
                .collect::<Vec<_>>()
        };
        let original = config.batcher_address;
        assert_eq!(batcher_at(0), vec![original, a, a, b, b]);
        assert_eq!(batcher_at(2), vec![a, b, b]);
        assert_eq!(batcher_at(4), vec![b]);
        // A malformed SystemConfig event is critical, in history or in a new block.
        l1.add_raw_log(
            4,
            config.system_config_address,
            vec![crate::system_config::BATCHER_UPDATED_TOPIC],
            vec![],
        );
        let mut traversal = L1Traversal::new(l1.clone(), &config, 4);
        let error = traversal.advance_origin().expect_err("bad event");
        assert!(matches!(
            error,
            PipelineError::InvalidSystemConfigLog { block: 4, .. }
        ));
        l1.extend(1);
        let mut traversal = L1Traversal::new(l1, &config, 5);
        assert_eq!(
            traversal
                .advance_origin()
                .expect_err("bad history")
                .severity(),
            Severity::Critical
        );
    }
}
