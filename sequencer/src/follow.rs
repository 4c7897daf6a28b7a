//! Derivation in the node: the `safe` and `finalized` heads, and replicas.
//!
//! A **replica** (`sequencer --follow`) builds its chain only from L1 and DA: each derived
//! block's attributes (with the batch's transactions) are sealed through the same
//! [`Chain::seal_next`] the sequencer uses, so its blocks, state roots and hashes equal the
//! sequencer's. The **sequencer** runs the same derivation to learn which of its own blocks are
//! on L1: a derived block that matches the stored one (same origin, same transactions) moves the
//! safe head. One that does not is L1's verdict and wins: e.g. a block derivation forced in
//! because no batch arrived within the sequencing window, with the deposits the sequencer did not
//! include. The sequencer drops its unsafe blocks from that height ([`Chain::adopt`]), seals
//! L1's block in their place, and returns their user transactions to its pool.
//!
//! Either way, a block is final once the L1 block its data came from is finalized on L1.

use std::{collections::VecDeque, sync::Arc, time::Duration};

use parallax_protocol::{
    block::{BlockId, L2BlockInfo},
    derive::{DaSource, L1Source, PayloadAttributes, Pipeline, PipelineError, Severity},
};
use parallax_state::store::{
    BlockRef, ChainStore, HeadKind, Rewound, StoreError, StoredTransaction,
};

use crate::chain::{block_info, is_derived_block, Chain, ChainError};

/// Derivation as the node drives it. Blocking: call it off the async runtime.
pub trait Deriver: Send + 'static {
    /// Attributes of the block after `safe_head` (a temporary error when L1 has no more data).
    fn next_attributes(
        &mut self,
        safe_head: &L2BlockInfo,
    ) -> Result<PayloadAttributes, PipelineError>;

    /// Starts again after `safe_head` (after an L1 reorg).
    fn reset(&mut self, safe_head: &L2BlockInfo);

    /// Whether `block` is still on the canonical L1 chain (`None`: L1 cannot tell now).
    fn is_canonical(&self, block: BlockId) -> Option<bool>;

    /// The number of the latest finalized L1 block, if L1 reports one.
    fn finalized_l1(&self) -> Option<u64>;
}

/// L1 sources that can also say which block is finalized.
pub trait FinalizedL1: L1Source {
    /// The latest finalized L1 block number.
    fn finalized_number(&self) -> Result<Option<u64>, Self::Error>;
}

impl FinalizedL1 for parallax_l1::RpcL1 {
    fn finalized_number(&self) -> Result<Option<u64>, Self::Error> {
        parallax_l1::RpcL1::finalized_number(self)
    }
}

/// The protocol's pipeline over an L1 and a DA source.
#[derive(Debug)]
pub struct PipelineDeriver<L, D> {
    pipeline: Pipeline<L, D>,
    l1: Arc<L>,
}

impl<L: L1Source, D: DaSource> PipelineDeriver<L, D> {
    /// Derivation of `config`'s chain after `safe_head`.
    pub fn new(
        config: Arc<parallax_protocol::RollupConfig>,
        l1: Arc<L>,
        da: Arc<D>,
        safe_head: &L2BlockInfo,
    ) -> Self {
        Self {
            pipeline: Pipeline::new(config, l1.clone(), da, safe_head),
            l1,
        }
    }
}

impl<L, D> Deriver for PipelineDeriver<L, D>
where
    L: FinalizedL1 + Send + Sync + 'static,
    D: DaSource + Send + Sync + 'static,
{
    fn next_attributes(
        &mut self,
        safe_head: &L2BlockInfo,
    ) -> Result<PayloadAttributes, PipelineError> {
        self.pipeline.next_attributes(safe_head)
    }

    fn reset(&mut self, safe_head: &L2BlockInfo) {
        self.pipeline.reset(safe_head);
    }

    fn is_canonical(&self, block: BlockId) -> Option<bool> {
        self.l1.is_canonical(block)
    }

    fn finalized_l1(&self) -> Option<u64> {
        self.l1.finalized_number().ok().flatten()
    }
}

/// How the node uses derivation.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FollowMode {
    /// Build the chain from derived blocks (a replica).
    Replica,
    /// Check the sequencer's own blocks against derived ones and advance the safe head.
    Verify,
}

/// Why following stopped.
#[derive(Debug, thiserror::Error)]
pub enum FollowError {
    /// The chain failed.
    #[error(transparent)]
    Chain(#[from] ChainError),
    /// The store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// Derivation found input it cannot continue from.
    #[error("derivation stopped: {0}")]
    Critical(PipelineError),
    /// A blocking task failed.
    #[error("derivation task failed: {0}")]
    Task(String),
}

/// Blocks whose data came from L1 blocks not yet finalized: `(L2 block, L1 block)`.
type Pending = VecDeque<(BlockRef, u64)>;

/// Where a sequencer sends the user transactions of blocks that L1 replaced, so its pool
/// includes them again (they are back in the pool journal already).
pub type ReturnToPool = tokio::sync::mpsc::UnboundedSender<Vec<StoredTransaction>>;

/// Drives `deriver` until `stop` turns true. `idle` is how long to wait when L1 has nothing new.
pub async fn follow<S: ChainStore>(
    chain: Arc<Chain<S>>,
    mut deriver: Box<dyn Deriver>,
    mode: FollowMode,
    idle: Duration,
    mut stop: tokio::sync::watch::Receiver<bool>,
    to_pool: Option<ReturnToPool>,
) -> Result<(), FollowError> {
    let mut safe = safe_start(&chain, mode).await?;
    deriver.reset(&safe);
    let mut pending = Pending::new();
    loop {
        if *stop.borrow() {
            return Ok(());
        }
        let head = safe;
        let result;
        (deriver, result) =
            blocking(deriver, move |deriver| deriver.next_attributes(&head)).await?;
        match result {
            Ok(attributes) => {
                let Some(next) = apply(&chain, mode, &attributes, to_pool.as_ref()).await? else {
                    wait(idle, &mut stop).await;
                    continue;
                };
                safe = next;
                let block = BlockRef {
                    number: safe.number,
                    hash: safe.hash,
                };
                chain.store().set_head(HeadKind::Safe, block).await?;
                pending.push_back((block, attributes.derived_from.number));
            }
            Err(error) => match error.severity() {
                Severity::Temporary => {
                    tracing::debug!(%error, "derivation waits for L1");
                    let finalized_l1;
                    (deriver, finalized_l1) =
                        blocking(deriver, |deriver| deriver.finalized_l1()).await?;
                    finalize(&chain, finalized_l1, &mut pending).await?;
                    wait(idle, &mut stop).await;
                }
                Severity::Reset => {
                    tracing::warn!(%error, "L1 reorg: deriving again");
                    (deriver, safe) = rewind(&chain, deriver, mode, safe).await?;
                    pending.retain(|(block, _)| block.number <= safe.number);
                    deriver.reset(&safe);
                }
                Severity::Critical => return Err(FollowError::Critical(error)),
            },
        }
    }
}

/// Runs `work` on the deriver on a blocking thread (it does synchronous L1 I/O) and hands the
/// deriver back.
async fn blocking<T: Send + 'static>(
    mut deriver: Box<dyn Deriver>,
    work: impl FnOnce(&mut dyn Deriver) -> T + Send + 'static,
) -> Result<(Box<dyn Deriver>, T), FollowError> {
    tokio::task::spawn_blocking(move || {
        let out = work(deriver.as_mut());
        (deriver, out)
    })
    .await
    .map_err(|error| FollowError::Task(error.to_string()))
}

async fn wait(idle: Duration, stop: &mut tokio::sync::watch::Receiver<bool>) {
    tokio::select! {
        () = tokio::time::sleep(idle) => {}
        _ = stop.wait_for(|stop| *stop) => {}
    }
}

/// Where derivation resumes: the stored safe head (the whole chain for a replica, whose blocks
/// are all derived), or genesis.
async fn safe_start<S: ChainStore>(
    chain: &Chain<S>,
    mode: FollowMode,
) -> Result<L2BlockInfo, FollowError> {
    let kind = match mode {
        FollowMode::Replica => HeadKind::Unsafe,
        FollowMode::Verify => HeadKind::Safe,
    };
    let number = chain
        .store()
        .head(kind)
        .await?
        .map_or(0, |head| head.number);
    info_at(chain, number).await
}

/// A stored block's derivation info.
async fn info_at<S: ChainStore>(chain: &Chain<S>, number: u64) -> Result<L2BlockInfo, FollowError> {
    if number == 0 {
        let head = chain.state().read().await.head.clone();
        if head.header.number == 0 {
            return Ok(head.info);
        }
        let genesis = chain.params().rollup.genesis;
        return Ok(L2BlockInfo {
            number: 0,
            hash: genesis.l2.hash,
            l1_origin: genesis.l1,
            sequence_number: 0,
        });
    }
    let block = chain
        .store()
        .block(number)
        .await?
        .ok_or(StoreError::UnknownBlock(number))?;
    Ok(block_info(&block)?)
}

/// Applies derived attributes: seals them (replica), or checks them against the stored block
/// and replaces it if L1 decided otherwise (sequencer). `None` when the sequencer has not
/// reached the block yet.
async fn apply<S: ChainStore>(
    chain: &Chain<S>,
    mode: FollowMode,
    attributes: &PayloadAttributes,
    to_pool: Option<&ReturnToPool>,
) -> Result<Option<L2BlockInfo>, FollowError> {
    match mode {
        FollowMode::Replica => {
            let sealed = chain.seal_next(attributes, Vec::new()).await?;
            for (hash, reason) in &sealed.dropped {
                tracing::warn!(%hash, %reason, "batch transaction skipped");
            }
            tracing::info!(
                number = sealed.block.header.number,
                txs = sealed.block.transactions.len(),
                l1 = attributes.derived_from.number,
                "derived block"
            );
            Ok(Some(attributes.executed(sealed.block.hash)))
        }
        FollowMode::Verify => {
            if let Some(stored) = chain.store().block(attributes.number).await? {
                if is_derived_block(&stored, attributes) {
                    return Ok(Some(attributes.executed(stored.hash)));
                }
            }
            let Some(adopted) = chain.adopt(attributes).await? else {
                // The producer has not reached the block's parent yet.
                return Ok(None);
            };
            if let Some(replaced) = adopted.replaced {
                tracing::warn!(
                    number = attributes.number,
                    forced = attributes.forced,
                    hash = %adopted.hash,
                    returned = replaced.returned.len(),
                    "L1 decided another block than the sequencer's: the unsafe chain now follows L1"
                );
                if let Some(to_pool) = to_pool {
                    // The pool may be gone at shutdown; the journal holds them anyway.
                    let _ = to_pool.send(replaced.returned);
                }
            }
            Ok(Some(attributes.executed(adopted.hash)))
        }
    }
}

/// Moves the finalized head to the last block whose L1 data is finalized.
async fn finalize<S: ChainStore>(
    chain: &Chain<S>,
    finalized_l1: Option<u64>,
    pending: &mut Pending,
) -> Result<(), FollowError> {
    let Some(finalized_l1) = finalized_l1 else {
        return Ok(());
    };
    let mut last = None;
    while let Some((block, l1)) = pending.front().copied() {
        if l1 > finalized_l1 {
            break;
        }
        last = Some(block);
        pending.pop_front();
    }
    if let Some(block) = last {
        chain.store().set_head(HeadKind::Finalized, block).await?;
    }
    Ok(())
}

/// After an L1 reorg: the newest block whose L1 origin is still canonical (a replica also drops
/// the blocks above it).
async fn rewind<S: ChainStore>(
    chain: &Chain<S>,
    mut deriver: Box<dyn Deriver>,
    mode: FollowMode,
    safe: L2BlockInfo,
) -> Result<(Box<dyn Deriver>, L2BlockInfo), FollowError> {
    let mut info = safe;
    while info.number > 0 {
        let origin = info.l1_origin;
        let canonical;
        (deriver, canonical) =
            blocking(deriver, move |deriver| deriver.is_canonical(origin)).await?;
        if canonical != Some(false) {
            break;
        }
        info = info_at(chain, info.number - 1).await?;
    }
    if mode == FollowMode::Replica && info.number < safe.number {
        chain.rewind(info.number, Rewound::Forget).await?;
    }
    let block = BlockRef {
        number: info.number,
        hash: info.hash,
    };
    chain.store().set_head(HeadKind::Safe, block).await?;
    Ok((deriver, info))
}
