//! Choosing each block's L1 origin (design §2): the L1 block whose deposits and fees the L2 block
//! takes, which derivation later checks against the same rules.
//!
//! A block keeps its parent's origin unless the next L1 block is known, confirmed and not newer
//! than the block: then it advances by one (sequence number 0) and the block begins with that L1
//! block's deposits. Past `max_sequencer_drift` the block may carry no pool transactions, because
//! derivation would reject a non-empty batch there. Errors reading L1 never stop the sequencer
//! while it can keep its current origin: it retries on the next block.

use std::sync::Arc;

use parallax_protocol::{
    block::{BlockId, L1BlockInfo, L2BlockInfo},
    derive::{L1Epoch, L1Source, L1Traversal, PipelineError, Severity, Stage},
    RollupConfig, SystemConfigState,
};

/// The origin chosen for one block.
#[derive(Clone, Debug)]
pub struct Origin {
    /// The L1 block, its deposits and the SystemConfig values in force.
    pub epoch: Arc<L1Epoch>,
    /// Position of the block in the epoch (0: first block, which carries the deposits).
    pub sequence_number: u64,
    /// False past the sequencer drift: only an empty batch would be accepted.
    pub include_transactions: bool,
}

/// Why no origin could be chosen.
#[derive(Debug, thiserror::Error)]
pub enum OriginError {
    /// The parent's origin is no longer on the canonical L1 chain.
    #[error("L1 origin {origin:?} of the head is no longer canonical")]
    Reorged {
        /// The orphaned origin.
        origin: BlockId,
    },
    /// L1 could not be read and no origin is known yet.
    #[error(transparent)]
    L1(#[from] PipelineError),
}

/// Picks origins for the sequencer's blocks. Blocking: call it off the async runtime.
pub trait OriginSelector: Send + 'static {
    /// The origin of the block after `parent`, whose time is `timestamp_ms`.
    fn select(&mut self, parent: &L2BlockInfo, timestamp_ms: u64) -> Result<Origin, OriginError>;

    /// Whether `origin` is still on the canonical L1 chain (`None`: L1 cannot tell now).
    fn is_canonical(&self, origin: BlockId) -> Option<bool>;
}

/// Development mode without L1: every block takes the genesis L1 block as origin, so blocks have
/// the same shape (an L1-info deposit first) as on a real rollup.
#[derive(Debug)]
pub struct FixedOrigin {
    epoch: Arc<L1Epoch>,
}

impl FixedOrigin {
    /// The genesis L1 block of `config`, stamped with the L2 genesis time, with no deposits.
    pub fn new(config: &RollupConfig) -> Self {
        Self {
            epoch: Arc::new(L1Epoch {
                info: L1BlockInfo {
                    number: config.genesis.l1.number,
                    hash: config.genesis.l1.hash,
                    parent_hash: Default::default(),
                    timestamp: config.genesis.l2_timestamp,
                    base_fee: 0,
                    blob_base_fee: 1,
                },
                deposits: Vec::new(),
                system_config: SystemConfigState::from_rollup_config(config),
            }),
        }
    }
}

impl OriginSelector for FixedOrigin {
    fn select(&mut self, parent: &L2BlockInfo, _timestamp_ms: u64) -> Result<Origin, OriginError> {
        Ok(Origin {
            epoch: self.epoch.clone(),
            sequence_number: parent.sequence_number.saturating_add(1),
            include_transactions: true,
        })
    }

    fn is_canonical(&self, _origin: BlockId) -> Option<bool> {
        Some(true)
    }
}

/// Follows a real L1 through an [`L1Source`].
#[derive(Debug)]
pub struct L1Origins<L> {
    l1: Arc<L>,
    config: Arc<RollupConfig>,
    /// L1 blocks that must exist on top of an L1 block before it becomes an origin, so that
    /// shallow L1 reorgs never orphan an origin.
    confirmations: u64,
    /// Positioned after `current`.
    traversal: Option<L1Traversal<L>>,
    current: Option<Arc<L1Epoch>>,
}

impl<L: L1Source> L1Origins<L> {
    /// Origins from `l1` under `config`, `confirmations` deep.
    pub fn new(l1: Arc<L>, config: Arc<RollupConfig>, confirmations: u64) -> Self {
        Self {
            l1,
            config,
            confirmations,
            traversal: None,
            current: None,
        }
    }

    /// The epoch of `origin`, re-reading L1 when it is not the one held.
    fn position(&mut self, origin: BlockId) -> Result<Arc<L1Epoch>, OriginError> {
        if let Some(current) = self.current.as_ref().filter(|c| c.info.id() == origin) {
            return Ok(current.clone());
        }
        self.current = None;
        let mut traversal = L1Traversal::new(self.l1.clone(), &self.config, origin.number);
        let epoch = traversal.advance_origin()?;
        if epoch.info.hash != origin.hash {
            return Err(OriginError::Reorged { origin });
        }
        self.traversal = Some(traversal);
        self.current = Some(epoch.clone());
        Ok(epoch)
    }

    /// Whether the L1 block after `current` may become the origin of a block at `timestamp`.
    fn next_is_ready(&self, current: &L1BlockInfo, timestamp: u64) -> Result<bool, PipelineError> {
        let next = current.number + 1;
        let source = |error| PipelineError::L1Source(Box::new(error));
        let Some(info) = self.l1.block_by_number(next).map_err(source)? else {
            return Ok(false);
        };
        if info.timestamp > timestamp {
            return Ok(false);
        }
        Ok(self
            .l1
            .block_by_number(next + self.confirmations)
            .map_err(source)?
            .is_some())
    }
}

impl<L: L1Source + Send + Sync + 'static> OriginSelector for L1Origins<L> {
    fn select(&mut self, parent: &L2BlockInfo, timestamp_ms: u64) -> Result<Origin, OriginError> {
        let current = self.position(parent.l1_origin)?;
        let timestamp = timestamp_ms / 1000;
        let advance = match self.next_is_ready(&current.info, timestamp) {
            Ok(ready) => ready,
            Err(error) => {
                tracing::warn!(%error, "cannot read L1; keeping the current origin");
                false
            }
        };
        if advance {
            if let Some(traversal) = self.traversal.as_mut() {
                match traversal.advance_origin() {
                    Ok(epoch) => {
                        self.current = Some(epoch.clone());
                        return Ok(Origin {
                            epoch,
                            sequence_number: 0,
                            include_transactions: true,
                        });
                    }
                    Err(error) if error.severity() == Severity::Reset => {
                        self.current = None;
                        self.traversal = None;
                        return Err(OriginError::Reorged {
                            origin: parent.l1_origin,
                        });
                    }
                    Err(error) => {
                        // The traversal may be half-way through the block: read it again next time.
                        tracing::warn!(%error, "cannot read the next L1 block; keeping the origin");
                        self.current = None;
                        self.traversal = None;
                    }
                }
            }
        }
        let drift_ms = self.config.max_sequencer_drift.saturating_mul(1000);
        let within_drift = timestamp_ms
            <= current
                .info
                .timestamp
                .saturating_mul(1000)
                .saturating_add(drift_ms);
        if !within_drift {
            tracing::warn!(
                origin = current.info.number,
                "past the sequencer drift with no newer L1 origin: building an empty block"
            );
        }
        Ok(Origin {
            epoch: current,
            sequence_number: parent.sequence_number.saturating_add(1),
            include_transactions: within_drift,
        })
    }

    fn is_canonical(&self, origin: BlockId) -> Option<bool> {
        self.l1.is_canonical(origin)
    }
}
