//! The batcher service: sealed L2 blocks from the chain store → batches → a compressed channel →
//! frames → L1 transactions through a [`DaClient`] and the [`TxManager`].
//!
//! # Channels
//! A channel is cut to fill exactly one L1 transaction of the DA plan chosen when it opens
//! (calldata: one 120 KB frame; blobs: six blob-sized frames), so a channel and the transaction
//! carrying it are journaled together, atomically. A channel closes when the next block would not
//! fit, or when its first block is `max_channel_duration` old and nothing newer is sealed. Only a
//! single block larger than a whole transaction makes a channel span several transactions; they
//! are then signed and journaled together, still in one database transaction.
//!
//! # Restarts
//! The journal of frames is the batcher's only cursor: it resumes after the highest block of any
//! journaled channel ([`ChainStore::latest_posted_block`]). Because a channel's frames are
//! journaled in the same database transaction as the signed L1 transaction carrying them, and
//! the [`TxManager`] gets every journaled transaction included (re-broadcasting, bumping,
//! re-sending at a new nonce), a journaled channel always lands and an unjournaled one was never
//! sent: no block is posted twice and none is skipped. An open channel lives only in memory and is
//! rebuilt from the store after a restart.
//!
//! # L2 reorgs
//! The sequencer replaces unsafe blocks when L1 decides otherwise (a block forced in after the
//! sequencing window, an L1 origin reorged away). Every block the batcher takes must build on the
//! one it took before; when one does not, or the chain became shorter than what was taken, the
//! open channel is dropped and the batcher resumes after the newest journaled channel whose last
//! block (its hash is journaled with the frames) is still in the chain, or after the safe head.
//! The replaced blocks' frames still land on L1, where derivation ignores them.
//!
//! # Batches
//! One per L2 block ([`Batch::from_block`]): parent hash, L1 origin, the block's scheduled time in
//! milliseconds ([`RollupConfig::l2_timestamp_ms`]) and its transactions without deposits
//! (derivation rebuilds deposits from L1 and drops batches carrying one). Every block from the
//! one after genesis on is posted, empty ones included.

use std::{
    collections::BTreeMap,
    sync::Arc,
    time::{Duration, SystemTime, UNIX_EPOCH},
};

use alloy::primitives::B256;
use parallax_protocol::{
    batch::Batch,
    channel::{BuilderError, ChannelBuilder, ChannelId},
    RollupConfig,
};
use parallax_state::store::{ChainStore, HeadKind, PostedFrame, StoredBlock};
use tokio::sync::watch;

use crate::{
    da::{DaBackend, DaClient, DaPlan},
    metrics::Metrics,
    txmgr::{TxEvent, TxManager},
    Error,
};

/// How the batcher batches.
#[derive(Clone, Debug)]
pub struct BatcherConfig {
    /// The rollup (genesis, block schedule, channel limits, compression).
    pub rollup: RollupConfig,
    /// Time between steps (read new blocks, watch L1 transactions).
    pub poll_interval: Duration,
    /// Post a channel that is not full once its first block is this old, so quiet chains still
    /// reach L1 well within the sequencing window.
    pub max_channel_duration: Duration,
    /// Compression level (zstd 1..=19, brotli 0..=11); `None` takes the algorithm's default.
    pub compression_level: Option<u32>,
}

impl BatcherConfig {
    /// Defaults for `rollup`: a step per second, channels at most two minutes old.
    pub fn new(rollup: RollupConfig) -> Self {
        Self {
            rollup,
            poll_interval: Duration::from_secs(1),
            max_channel_duration: Duration::from_secs(120),
            compression_level: None,
        }
    }
}

/// The channel being filled.
#[derive(Debug)]
struct OpenChannel {
    builder: ChannelBuilder,
    plan: DaPlan,
    first: u64,
    last: u64,
    /// Hash of `last`.
    last_hash: B256,
    /// Header time (seconds) of the first block.
    first_time: u64,
    l2_txs: u64,
}

/// The highest L2 block up to which every block's data is in confirmed frames (`genesis` when
/// none): what the proposer may propose up to before derivation reports a safe head.
pub async fn confirmed_through<S: ChainStore>(store: &S, genesis: u64) -> Result<u64, Error> {
    let posted = store
        .latest_posted_block()
        .await?
        .map_or(genesis, |posted| posted.max(genesis));
    let first_unconfirmed = store
        .unconfirmed_frames()
        .await?
        .iter()
        .map(|frame| frame.first_block)
        .min();
    Ok(match first_unconfirmed {
        Some(first) => posted.min(first.saturating_sub(1)).max(genesis),
        None => posted,
    })
}

/// Transaction bytes of L2 blocks whose data is not yet confirmed on L1, from the store alone:
/// the backpressure figure for a sequencer whose batcher runs in another process (in-process,
/// [`Metrics::unposted_bytes`] gives the batch bytes directly).
pub async fn unconfirmed_transaction_bytes<S: ChainStore>(
    store: &S,
    genesis: u64,
) -> Result<u64, Error> {
    let confirmed = confirmed_through(store, genesis).await?;
    Ok(store.transaction_bytes_after(confirmed).await?)
}

/// The block after which the batcher posts: the last block of the newest journaled channel
/// that is still in the chain (its journaled hash matches the stored block; channels journaled
/// without a hash count as valid), or the safe head when every channel above it was replaced.
async fn resume_after<S: ChainStore>(store: &S, genesis: u64) -> Result<u64, Error> {
    let safe = store
        .head(HeadKind::Safe)
        .await?
        .map_or(genesis, |head| head.number.max(genesis));
    let mut ends: Vec<(u64, Option<B256>)> = store
        .frames_after(safe)
        .await?
        .iter()
        .map(|frame| (frame.last_block, frame.last_block_hash))
        .collect();
    if ends.is_empty() {
        return Ok(store
            .latest_posted_block()
            .await?
            .map_or(genesis, |posted| posted.max(genesis)));
    }
    ends.sort_unstable_by(|a, b| b.cmp(a));
    ends.dedup();
    for (number, hash) in ends {
        let Some(hash) = hash else {
            return Ok(number);
        };
        if store.header(number).await?.map(|header| header.hash) == Some(hash) {
            return Ok(number);
        }
    }
    Ok(safe)
}

fn now_seconds() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |elapsed| elapsed.as_secs())
}

/// Posts sealed L2 blocks to the DA layer; see the module docs.
#[derive(Debug)]
pub struct Batcher<S, D> {
    store: S,
    da: D,
    txmgr: TxManager<S>,
    config: BatcherConfig,
    metrics: Arc<Metrics>,
    genesis: u64,
    /// Highest block of a journaled channel.
    posted: u64,
    /// Hash of `posted` when it was taken (`None`: before genesis or unknown).
    posted_hash: Option<B256>,
    /// Hash of block `next - 1` as taken: block `next` must build on it.
    tip: Option<B256>,
    /// Highest block whose data and all before it is confirmed.
    confirmed: u64,
    /// Next block to add to the open channel.
    next: u64,
    open: Option<OpenChannel>,
    /// Batch sizes of the sealed blocks above `confirmed` (the DA backlog, [`crate::backlog`]).
    sizes: BTreeMap<u64, u64>,
    /// Publishes the backlog whenever it changes, for a [`crate::BacklogReporter`].
    backlog: watch::Sender<u64>,
    /// The backend of the last channel opened (switches are counted in the metrics).
    backend: Option<DaBackend>,
}

impl<S: ChainStore, D: DaClient> Batcher<S, D> {
    /// A batcher resuming from the frames journaled in `store`.
    pub async fn new(
        store: S,
        da: D,
        txmgr: TxManager<S>,
        config: BatcherConfig,
        metrics: Arc<Metrics>,
    ) -> Result<Self, Error> {
        let genesis = config.rollup.genesis.l2.number;
        let posted = resume_after(&store, genesis).await?;
        let posted_hash = store.header(posted).await?.map(|header| header.hash);
        let confirmed = confirmed_through(&store, genesis).await?;
        let mut batcher = Self {
            store,
            da,
            txmgr,
            config,
            metrics,
            genesis,
            posted,
            posted_hash,
            tip: posted_hash,
            confirmed,
            next: posted + 1,
            open: None,
            sizes: BTreeMap::new(),
            backlog: watch::channel(0).0,
            backend: None,
        };
        // Blocks posted but not confirmed, and sealed ones not yet posted, are the backlog.
        batcher.measure_sealed().await?;
        tracing::info!(
            posted,
            confirmed,
            batcher = %batcher.txmgr.address(),
            "batcher resuming"
        );
        batcher.update_gauges();
        Ok(batcher)
    }

    /// The metrics this batcher updates (shared with the sequencer for backpressure).
    pub fn metrics(&self) -> &Arc<Metrics> {
        &self.metrics
    }

    /// The tx manager.
    pub fn txmgr(&self) -> &TxManager<S> {
        &self.txmgr
    }

    /// Highest L2 block of a journaled channel.
    pub fn posted_block(&self) -> u64 {
        self.posted
    }

    /// Highest L2 block whose data (and all before it) is confirmed on L1.
    pub fn confirmed_block(&self) -> u64 {
        self.confirmed
    }

    /// The DA backlog: batch bytes of the sealed L2 blocks not yet confirmed on L1 (defined in
    /// [`crate::backlog`]).
    pub fn unposted_bytes(&self) -> u64 {
        self.sizes.values().sum()
    }

    /// The DA backlog as it changes (updated after every step), for a
    /// [`BacklogReporter`](crate::BacklogReporter) to pass to the sequencer.
    pub fn backlog(&self) -> watch::Receiver<u64> {
        self.backlog.subscribe()
    }

    async fn block(&self, number: u64) -> Result<StoredBlock, Error> {
        self.store
            .block(number)
            .await?
            .ok_or(Error::MissingBlock(number))
    }

    fn batch_of(&self, block: &StoredBlock) -> Result<Batch, Error> {
        let number = block.header.number;
        let timestamp_ms = self
            .config
            .rollup
            .l2_timestamp_ms(number)
            .ok_or(Error::BeforeGenesis(number))?;
        Ok(Batch::from_block(
            block.header.parent_hash,
            block.l1_origin,
            timestamp_ms,
            block.transactions.iter().map(|tx| &tx.raw),
        ))
    }

    /// Runs [`step`](Self::step) every `poll_interval` until `shutdown` turns true. Transient
    /// failures (L1 or database unreachable) are logged and retried; others stop the batcher.
    pub async fn run(mut self, mut shutdown: watch::Receiver<bool>) -> Result<(), Error> {
        loop {
            if let Err(error) = self.step().await {
                if !error.is_transient() {
                    tracing::error!(%error, "batcher stopped");
                    return Err(error);
                }
                Metrics::add(&self.metrics.step_errors, 1);
                tracing::warn!(%error, "batcher step failed; retrying");
            }
            tokio::select! {
                () = tokio::time::sleep(self.config.poll_interval) => {}
                _ = shutdown.wait_for(|stop| *stop) => return Ok(()),
            }
        }
    }

    /// Watches sent transactions, adds newly sealed blocks to the open channel and posts the
    /// channels that are full or old enough. After a failure the open channel is dropped and the
    /// next step rebuilds it from the store, so nothing is lost or skipped.
    pub async fn step(&mut self) -> Result<(), Error> {
        let result = self.try_step().await;
        if result.is_err() {
            self.open = None;
            self.next = self.posted + 1;
            self.tip = self.posted_hash;
        }
        self.refresh_confirmed().await?;
        // Sealed blocks the step did not reach (L1 down, posting failed) are backlog too.
        self.measure_sealed().await?;
        result
    }

    async fn try_step(&mut self) -> Result<(), Error> {
        for event in self.txmgr.poll().await? {
            self.record(&event);
        }
        let head = self
            .store
            .head(HeadKind::Unsafe)
            .await?
            .map_or(self.genesis, |head| head.number);
        if head + 1 < self.next {
            return self.rewound(head).await;
        }
        while self.next <= head {
            let number = self.next;
            let block = self.block(number).await?;
            if self.tip.is_some_and(|tip| tip != block.header.parent_hash) {
                return self.rewound(head).await;
            }
            let batch = self.batch_of(&block)?;
            self.sizes.insert(number, batch.encoded_len() as u64);
            if self.open.is_none() {
                let open = self.open_channel(&block, &batch, head).await?;
                self.open = Some(open);
            }
            let Some(open) = self.open.as_mut() else {
                continue;
            };
            match open.builder.add_batch(&batch) {
                Ok(()) => {
                    open.last = number;
                    open.last_hash = block.hash;
                    open.l2_txs += batch.transactions.len() as u64;
                }
                Err(BuilderError::Full) => {
                    self.post_open().await?;
                    let mut open = self.open_channel(&block, &batch, head).await?;
                    open.builder
                        .add_batch(&batch)
                        .map_err(|source| Error::Batch { number, source })?;
                    open.last = number;
                    open.last_hash = block.hash;
                    open.l2_txs += batch.transactions.len() as u64;
                    self.open = Some(open);
                }
                Err(source) => return Err(Error::Batch { number, source }),
            }
            self.next = number + 1;
            self.tip = Some(block.hash);
        }
        let due = self.open.as_ref().is_some_and(|open| {
            now_seconds().saturating_sub(open.first_time)
                >= self.config.max_channel_duration.as_secs()
        });
        if due {
            self.post_open().await?;
        }
        Ok(())
    }

    /// Opens a channel starting with `block`, on the DA plan current prices favour. The expected
    /// channel size `auto` prices is the blocks up to `head` at this block's batch size,
    /// compressed at the ratio seen so far.
    async fn open_channel(
        &mut self,
        block: &StoredBlock,
        batch: &Batch,
        head: u64,
    ) -> Result<OpenChannel, Error> {
        let fees = self.txmgr.fees().await?;
        let blocks = head.saturating_sub(block.header.number) + 1;
        let ratio = self.metrics.compression_ratio().max(1.0);
        let expected = (batch.encoded_len() as f64 * blocks as f64 / ratio) as usize;
        let plan = self.da.plan(&fees, expected);
        if self.backend.is_some_and(|backend| backend != plan.backend) {
            Metrics::add(&self.metrics.da_backend_switches, 1);
        }
        self.backend = Some(plan.backend);
        Metrics::set(
            &self.metrics.posting_blobs,
            u64::from(plan.backend == DaBackend::Blobs),
        );
        let rollup = &self.config.rollup;
        let mut builder = ChannelBuilder::new(
            ChannelId::from(rand::random::<[u8; 16]>()),
            rollup.batch_compression,
            plan.channel_target(),
            rollup.max_channel_decompressed(),
        );
        if let Some(level) = self.config.compression_level {
            builder = builder.with_level(level);
        }
        Ok(OpenChannel {
            builder,
            plan,
            first: block.header.number,
            last: block.header.number,
            last_hash: block.hash,
            first_time: block.header.timestamp,
            l2_txs: 0,
        })
    }

    /// Closes the open channel and posts it: frames, one candidate per transaction's worth,
    /// journaled with the transactions and broadcast by the tx manager.
    async fn post_open(&mut self) -> Result<(), Error> {
        let Some(open) = self.open.take() else {
            return Ok(());
        };
        if open.builder.batch_count() == 0 {
            return Ok(());
        }
        let closed = open.builder.close();
        let plan = open.plan;
        let frames = closed.frames(plan.max_frame_payload)?;
        let mut candidates = Vec::new();
        let mut groups = Vec::new();
        for group in frames.chunks(plan.frames_per_tx.max(1)) {
            candidates.push(self.da.candidate(&plan, group).await?);
            groups.push(group.to_vec());
        }
        let (first, last, last_hash) = (open.first, open.last, open.last_hash);
        let da = plan.backend.name();
        let rows = |intents: &[B256]| -> Vec<PostedFrame> {
            groups
                .iter()
                .zip(intents)
                .flat_map(|(group, intent)| {
                    group.iter().map(move |frame| PostedFrame {
                        channel_id: frame.channel_id.0,
                        frame_number: frame.number,
                        first_block: first,
                        last_block: last,
                        da: da.to_string(),
                        l1_tx_hash: *intent,
                        l1_block: None,
                        last_block_hash: Some(last_hash),
                        size: Some(frame.encoded_len() as u64),
                    })
                })
                .collect()
        };
        let intents = self.txmgr.send_with_frames(candidates, rows).await?;
        self.posted = last;
        self.posted_hash = Some(last_hash);
        let payload_bytes: usize = frames.iter().map(|frame| 1 + frame.encoded_len()).sum();
        let metrics = &self.metrics;
        Metrics::add(&metrics.channels_posted, 1);
        Metrics::add(&metrics.frames_posted, frames.len() as u64);
        Metrics::add(&metrics.bytes_posted, payload_bytes as u64);
        Metrics::add(&metrics.blocks_posted, last - first + 1);
        Metrics::add(&metrics.l2_txs_posted, open.l2_txs);
        Metrics::add(&metrics.uncompressed_bytes, closed.uncompressed_len as u64);
        Metrics::add(&metrics.compressed_bytes, closed.data.len() as u64);
        Metrics::set(
            &metrics.last_compression_ratio,
            closed.compression_ratio().to_bits(),
        );
        Metrics::add(&metrics.batcher_l1_txs, intents.len() as u64);
        Metrics::set(&metrics.posted_block, last);
        tracing::info!(
            channel = %closed.id,
            first,
            last,
            frames = frames.len(),
            txs = intents.len(),
            l2_txs = open.l2_txs,
            bytes = payload_bytes,
            ratio = format_args!("{:.2}", closed.compression_ratio()),
            da,
            "posted channel"
        );
        Ok(())
    }

    fn record(&self, event: &TxEvent) {
        let metrics = &self.metrics;
        match event {
            TxEvent::Confirmed(confirmation) => {
                Metrics::add(&metrics.batcher_l1_confirmed, 1);
                Metrics::add(&metrics.batcher_l1_gas, confirmation.receipt.gas_used);
                Metrics::add(
                    &metrics.batcher_l1_blob_gas,
                    confirmation.receipt.blob_gas_used.unwrap_or(0),
                );
                Metrics::add(
                    &metrics.batcher_l1_fee_gwei,
                    u64::try_from(confirmation.fee_wei() / 1_000_000_000).unwrap_or(u64::MAX),
                );
            }
            TxEvent::Bumped { .. } => Metrics::add(&metrics.fee_bumps, 1),
            TxEvent::Reorged { .. } => Metrics::add(&metrics.l1_reorgs, 1),
            TxEvent::Renonced { .. } => Metrics::add(&metrics.renonces, 1),
        }
    }

    /// The chain no longer holds the blocks taken last (an L2 reorg): drops the open channel and
    /// resumes where the journal and the chain agree.
    async fn rewound(&mut self, head: u64) -> Result<(), Error> {
        self.open = None;
        let posted = resume_after(&self.store, self.genesis).await?;
        tracing::warn!(
            head,
            was_posted = self.posted,
            posted,
            "L2 reorg: the blocks after the resume point are posted again"
        );
        Metrics::add(&self.metrics.l2_reorgs, 1);
        self.posted = posted;
        self.posted_hash = self.store.header(posted).await?.map(|header| header.hash);
        self.tip = self.posted_hash;
        self.next = posted + 1;
        self.sizes.retain(|number, _| *number <= posted);
        self.update_gauges();
        Ok(())
    }

    async fn refresh_confirmed(&mut self) -> Result<(), Error> {
        self.confirmed = confirmed_through(&self.store, self.genesis).await?;
        self.sizes = self.sizes.split_off(&(self.confirmed + 1));
        self.update_gauges();
        Ok(())
    }

    /// Brings the backlog up to the unsafe head: measures the batch of every sealed block above
    /// `confirmed` not measured yet, and forgets blocks above the head (an L2 reorg shortened the
    /// chain). Reads the store only, so the figure grows while L1 is unreachable.
    async fn measure_sealed(&mut self) -> Result<(), Error> {
        let head = self
            .store
            .head(HeadKind::Unsafe)
            .await?
            .map_or(self.genesis, |head| head.number);
        let _replaced = self.sizes.split_off(&(head + 1));
        let from = self
            .sizes
            .last_key_value()
            .map_or(self.confirmed, |(number, _)| *number)
            .max(self.confirmed)
            + 1;
        for number in from..=head {
            let block = self.block(number).await?;
            let size = self.batch_of(&block)?.encoded_len() as u64;
            self.sizes.insert(number, size);
        }
        self.update_gauges();
        Ok(())
    }

    fn update_gauges(&self) {
        let backlog = self.unposted_bytes();
        self.backlog.send_if_modified(|reported| {
            let changed = *reported != backlog;
            *reported = backlog;
            changed
        });
        Metrics::set(&self.metrics.unposted_bytes, backlog);
        Metrics::set(&self.metrics.posted_block, self.posted);
        Metrics::set(&self.metrics.confirmed_block, self.confirmed);
    }
}
