//! The chain store: blocks, transactions, receipts, logs, trie nodes and the bookkeeping of the
//! batcher, proposer and challenger, behind the [`ChainStore`] trait.
//!
//! [`SqlStore`] implements it on SQLite (the default: one file under the data dir, WAL mode) and
//! on PostgreSQL (production), from the migrations in `migrations/`. A sealed block commits with
//! all its rows, its new trie nodes and the head move in **one** database transaction, so a crash
//! leaves the store at the previous block or at the new one, never in between.
//!
//! State is kept as Merkle-Patricia nodes keyed by hash, shared between blocks. Any retained
//! block's state can be read and proven from its state root ([`HistoricalState`]), and the latest
//! state is rebuilt in memory at start ([`load_world_state`]).

mod history;
mod sql;

use std::{future::Future, sync::Arc};

use alloy_consensus::Header;
use alloy_primitives::{Address, Bytes, Log, B256};

pub use history::{load_world_state, output_root_input, BlockingHistory, HistoricalState};
pub use sql::SqlStore;

use crate::node::NodeError;

/// The chain heads every rollup node tracks.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum HeadKind {
    /// Sequenced, not yet derived from L1.
    Unsafe,
    /// Derived from batches on L1.
    Safe,
    /// Derived from finalized L1 blocks.
    Finalized,
}

impl HeadKind {
    /// The key under which the head is stored.
    pub fn name(self) -> &'static str {
        match self {
            Self::Unsafe => "unsafe",
            Self::Safe => "safe",
            Self::Finalized => "finalized",
        }
    }
}

/// A block by number and hash (the protocol's type, under the name the store's API uses).
pub use parallax_protocol::block::BlockId as BlockRef;
/// An L1 block an L2 block was built on, with the fees its L1 data fee was charged against.
pub use parallax_protocol::block::L1BlockInfo as L1Origin;

/// A transaction as included in a block.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StoredTransaction {
    /// Transaction hash.
    pub hash: B256,
    /// Recovered sender (or the `from` of a deposit).
    pub sender: Address,
    /// EIP-2718 encoding (deposits: `0x7E ‖ rlp`).
    pub raw: Bytes,
}

/// A transaction's receipt with what RPC receipts need beyond the consensus fields.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StoredReceipt {
    /// EIP-2718 type.
    pub tx_type: u8,
    /// EIP-658 status.
    pub success: bool,
    /// Gas charged for this transaction.
    pub gas_used: u64,
    /// Gas used by the block up to and including this transaction.
    pub cumulative_gas_used: u64,
    /// Price per gas the sender paid.
    pub effective_gas_price: u128,
    /// Contract created by the transaction.
    pub contract_address: Option<Address>,
    /// Logs, in order.
    pub logs: Vec<Log>,
}

/// A sealed L2 block with everything RPC serves about it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StoredBlock {
    /// The Ethereum header; its RLP hashes to `hash`.
    pub header: Header,
    /// Block hash.
    pub hash: B256,
    /// The L1 block this block was built on.
    pub l1_origin: BlockRef,
    /// Transactions in order.
    pub transactions: Vec<StoredTransaction>,
    /// One receipt per transaction.
    pub receipts: Vec<StoredReceipt>,
}

impl StoredBlock {
    /// This block's number and hash.
    pub fn block_ref(&self) -> BlockRef {
        BlockRef {
            number: self.header.number,
            hash: self.hash,
        }
    }
}

/// A block header with its hash and L1 origin (what block lists and `eth_getBlockBy*` need).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StoredHeader {
    /// The Ethereum header.
    pub header: Header,
    /// Block hash.
    pub hash: B256,
    /// The L1 block it was built on.
    pub l1_origin: BlockRef,
}

/// Everything one sealed block adds to the store; committed atomically.
#[derive(Clone, Copy, Debug)]
pub struct BlockCommit<'a> {
    /// The block. Its parent must be the current unsafe head (or none, for genesis).
    pub block: &'a StoredBlock,
    /// Trie nodes its state root needs that the store may not have (`(keccak, RLP)`).
    pub trie_nodes: &'a [(B256, Vec<u8>)],
    /// Code of contracts deployed in it, by hash.
    pub bytecodes: &'a [(B256, Bytes)],
}

/// Where a transaction is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct TxLocation {
    /// Its block.
    pub block: BlockRef,
    /// Its index in the block.
    pub index: u64,
}

/// An `eth_getLogs` query: a block range, any of `addresses` (empty = all), and per topic
/// position any of the given topics (empty = any).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct LogFilter {
    /// First block (inclusive).
    pub from_block: u64,
    /// Last block (inclusive).
    pub to_block: u64,
    /// Emitting contracts.
    pub addresses: Vec<Address>,
    /// Alternatives per topic position.
    pub topics: [Vec<B256>; 4],
}

/// A log with its position in the chain.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LogRecord {
    /// Its block.
    pub block: BlockRef,
    /// Hash of the emitting transaction.
    pub tx_hash: B256,
    /// Index of that transaction in the block.
    pub tx_index: u64,
    /// Index of the log in the block.
    pub log_index: u64,
    /// The log.
    pub log: Log,
}

/// A frame the batcher posted to the DA layer.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PostedFrame {
    /// Channel the frame belongs to.
    pub channel_id: [u8; 16],
    /// Frame number within the channel.
    pub frame_number: u16,
    /// First L2 block in the channel.
    pub first_block: u64,
    /// Last L2 block in the channel.
    pub last_block: u64,
    /// DA backend (`calldata`, `blobs`, `celestia`).
    pub da: String,
    /// The L1 transaction carrying the frame (or the Celestia pointer).
    pub l1_tx_hash: B256,
    /// L1 block that included it, once included.
    pub l1_block: Option<u64>,
    /// Hash of `last_block` when it was posted: after an L2 reorg the batcher posts again from
    /// the newest channel whose last block is still in the chain. `None` for frames journaled
    /// before it was recorded (taken as still valid).
    pub last_block_hash: Option<B256>,
    /// The frame's encoded size in bytes, as the DA layer carries it (for operators). `None` for
    /// frames journaled before it was recorded.
    pub size: Option<u64>,
}

/// Where an attempt in the L1 transaction journal stands.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum L1TxStatus {
    /// Its intent is not finished: the attempt may be in L1's mempool, or mined but not yet
    /// confirmed, or not broadcast yet (a crash right after journaling).
    Pending,
    /// The attempt L1 included, at the tx manager's confirmation depth.
    Confirmed,
    /// Another attempt of the same intent was confirmed: this one can never be included.
    Superseded,
}

impl L1TxStatus {
    /// The value stored in the `status` column.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Pending => "pending",
            Self::Confirmed => "confirmed",
            Self::Superseded => "superseded",
        }
    }

    /// The status a `status` column value names.
    pub fn parse(text: &str) -> Option<Self> {
        match text {
            "pending" => Some(Self::Pending),
            "confirmed" => Some(Self::Confirmed),
            "superseded" => Some(Self::Superseded),
            _ => None,
        }
    }
}

/// One signed L1 transaction in the tx manager's journal (shared by the batcher, proposer and
/// challenger). Journaled before it is broadcast, so after a crash the manager knows every nonce
/// it used and can re-broadcast what L1 may never have received.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct L1Transaction {
    /// This attempt's transaction hash.
    pub hash: B256,
    /// The intent it belongs to: the hash of the intent's first attempt. Fee bumps and re-sends
    /// at a new nonce are further attempts of one intent; at most one of them is ever included.
    pub intent: B256,
    /// The signing key's address.
    pub sender: Address,
    /// Its nonce.
    pub nonce: u64,
    /// Network encoding (EIP-2718; blob transactions with their sidecar). Empty once the intent
    /// is finished, since blob sidecars are large and no longer needed.
    pub raw: Bytes,
    /// Who sent it and why (`batcher`, `proposer`, ...), for operators.
    pub purpose: String,
    /// Where it stands.
    pub status: L1TxStatus,
    /// The L1 block that included it, once confirmed.
    pub l1_block: Option<BlockRef>,
    /// When it was signed (Unix milliseconds); orders the attempts of an intent.
    pub sent_at_ms: u64,
}

/// An output root proposed to the settlement contract.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Proposal {
    /// L2 block the output commits to.
    pub l2_block_number: u64,
    /// The output root.
    pub output_root: B256,
    /// Its index in the oracle, once included.
    pub oracle_index: Option<u64>,
    /// The proposing L1 transaction, once sent.
    pub l1_tx_hash: Option<B256>,
    /// Lifecycle (`pending`, `proposed`, `finalized`, `deleted`, ...).
    pub status: String,
    /// When it leaves the challenge window, in unix seconds (its L1 timestamp plus the oracle's
    /// window), once included.
    pub finalizes_at: Option<u64>,
}

/// A dispute game this node plays, with the player's serialized progress.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DisputeGameRecord {
    /// Game contract.
    pub address: Address,
    /// Disputed proposal.
    pub oracle_index: u64,
    /// `challenger` or `defender`.
    pub role: String,
    /// Lifecycle (`in_progress`, `won`, `lost`).
    pub status: String,
    /// The player's state, opaque to the store.
    pub state: Bytes,
    /// L1 block of the last move seen.
    pub updated_block: u64,
}

/// What pruning removed.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct PruneStats {
    /// Nodes still reachable from a retained block.
    pub retained_nodes: u64,
    /// Nodes deleted.
    pub deleted_nodes: u64,
}

/// Why the store could not do what was asked.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The database URL is not `sqlite:…` or `postgres://…`.
    #[error("unsupported database URL {0:?}: use sqlite:PATH or postgres://USER@HOST/DB")]
    UnsupportedUrl(String),
    /// The database could not be opened or reached.
    #[error("cannot connect to database {url}: {source}")]
    Connect {
        /// The URL, without its password.
        url: String,
        /// What the driver reported.
        source: sqlx::Error,
    },
    /// The database was written by a newer Parallax.
    #[error("database schema version {found} is newer than this binary supports ({supported}); upgrade parallax")]
    NewerSchema {
        /// Highest migration applied to the database.
        found: i64,
        /// Highest migration this binary knows.
        supported: i64,
    },
    /// Applying migrations failed (e.g. an applied migration was edited).
    #[error("database migration failed: {0}")]
    Migration(#[from] sqlx::migrate::MigrateError),
    /// A query failed.
    #[error("database error: {0}")]
    Database(#[from] sqlx::Error),
    /// A stored value has an impossible shape.
    #[error("corrupt database: {0}")]
    Corrupt(String),
    /// A trie node is missing or damaged.
    #[error(transparent)]
    Node(#[from] NodeError),
    /// A block does not extend the unsafe head.
    #[error("block {number} (parent {parent_hash}) does not extend the unsafe head {head:?}")]
    NotChild {
        /// The block's number.
        number: u64,
        /// Its parent hash.
        parent_hash: B256,
        /// The current head.
        head: Option<BlockRef>,
    },
    /// A head cannot move there.
    #[error("cannot move the {kind:?} head to {target:?}: {reason}")]
    BadHead {
        /// Which head.
        kind: HeadKind,
        /// Where to.
        target: BlockRef,
        /// Why not.
        reason: &'static str,
    },
    /// The block is not in the store.
    #[error("unknown block {0}")]
    UnknownBlock(u64),
    /// The block's state was pruned.
    #[error("state of block {block} was pruned (state is kept from block {pruned_below})")]
    StatePruned {
        /// Requested block.
        block: u64,
        /// Oldest block whose state is kept.
        pruned_below: u64,
    },
    /// A log query matched more logs than allowed.
    #[error("query returned more than {0} logs")]
    TooManyLogs(usize),
    /// A number does not fit the database's signed 64-bit integers.
    #[error("{0} is out of range for the database")]
    OutOfRange(u64),
}

impl revm::database_interface::DBErrorMarker for StoreError {}

/// What happens to the transactions of blocks an L2 reorg drops.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Rewound {
    /// They are forgotten (a replica: L1 is its only source of transactions).
    Forget,
    /// They go back into the pool journal (a sequencer: they were acknowledged to users).
    ReturnToPool,
}

/// Durable chain data shared by the sequencer, replicas, batcher, proposer and challenger.
///
/// Implementations are cheap to clone handles to a connection pool.
pub trait ChainStore: Clone + Send + Sync + 'static {
    /// Commits a sealed block, its rows, trie nodes and code, and moves the unsafe head to it,
    /// all in one database transaction.
    fn commit_block(
        &self,
        commit: BlockCommit<'_>,
    ) -> impl Future<Output = Result<(), StoreError>> + Send;

    /// Drops unsafe blocks above `to` (an L2 reorg) and moves the unsafe head back to it. With
    /// [`Rewound::ReturnToPool`], the dropped blocks' user transactions (not deposits, which L1
    /// re-creates) go back into the pool journal in the same database transaction, so a
    /// transaction the sequencer acknowledged survives the reorg and a crash right after it. Returns
    /// the transactions returned to the journal, in block order.
    fn rewind_unsafe(
        &self,
        to: BlockRef,
        rewound: Rewound,
    ) -> impl Future<Output = Result<Vec<StoredTransaction>, StoreError>> + Send;

    /// Moves the safe or finalized head (never beyond the unsafe head, never to an unknown block).
    fn set_head(
        &self,
        kind: HeadKind,
        to: BlockRef,
    ) -> impl Future<Output = Result<(), StoreError>> + Send;

    /// A head, if any block was committed.
    fn head(
        &self,
        kind: HeadKind,
    ) -> impl Future<Output = Result<Option<BlockRef>, StoreError>> + Send;

    /// A block's header by number.
    fn header(
        &self,
        number: u64,
    ) -> impl Future<Output = Result<Option<StoredHeader>, StoreError>> + Send;

    /// A block's number by hash.
    fn block_number(
        &self,
        hash: B256,
    ) -> impl Future<Output = Result<Option<u64>, StoreError>> + Send;

    /// A whole block (header, transactions, receipts with logs) by number.
    fn block(
        &self,
        number: u64,
    ) -> impl Future<Output = Result<Option<StoredBlock>, StoreError>> + Send;

    /// A transaction and where it is.
    fn transaction(
        &self,
        hash: B256,
    ) -> impl Future<Output = Result<Option<(StoredTransaction, TxLocation)>, StoreError>> + Send;

    /// A receipt, where its transaction is, and the block-wide index of its first log.
    fn receipt(
        &self,
        hash: B256,
    ) -> impl Future<Output = Result<Option<(StoredReceipt, TxLocation, u64)>, StoreError>> + Send;

    /// Logs matching `filter` in chain order; more than `limit` is an error.
    fn logs(
        &self,
        filter: &LogFilter,
        limit: usize,
    ) -> impl Future<Output = Result<Vec<LogRecord>, StoreError>> + Send;

    /// Trie nodes by hash, each checked against its hash; absent ones are left out.
    fn trie_nodes(
        &self,
        hashes: &[B256],
    ) -> impl Future<Output = Result<Vec<(B256, Arc<[u8]>)>, StoreError>> + Send;

    /// Contract code by hash.
    fn bytecode(
        &self,
        hash: B256,
    ) -> impl Future<Output = Result<Option<Bytes>, StoreError>> + Send;

    /// All contract code (to rebuild the latest state in memory).
    fn bytecodes(&self) -> impl Future<Output = Result<Vec<(B256, Bytes)>, StoreError>> + Send;

    /// Records an L1 origin (replacing one at the same number after an L1 reorg).
    fn put_l1_origin(
        &self,
        origin: &L1Origin,
    ) -> impl Future<Output = Result<(), StoreError>> + Send;

    /// An L1 origin by number.
    fn l1_origin(
        &self,
        number: u64,
    ) -> impl Future<Output = Result<Option<L1Origin>, StoreError>> + Send;

    /// Records (or updates) a posted frame.
    fn put_frame(&self, frame: &PostedFrame)
        -> impl Future<Output = Result<(), StoreError>> + Send;

    /// Frames whose channels end after `block` (what a restarted batcher must not post again).
    fn frames_after(
        &self,
        block: u64,
    ) -> impl Future<Output = Result<Vec<PostedFrame>, StoreError>> + Send;

    /// The highest L2 block any posted frame's channel covers (where a restarted batcher
    /// resumes), if any frame was posted.
    fn latest_posted_block(&self) -> impl Future<Output = Result<Option<u64>, StoreError>> + Send;

    /// Frames whose L1 transaction is not yet confirmed (`l1_block` unset), by first block.
    fn unconfirmed_frames(
        &self,
    ) -> impl Future<Output = Result<Vec<PostedFrame>, StoreError>> + Send;

    /// Total size of the transactions (EIP-2718 bytes, deposits included) of blocks above
    /// `block`: with the batcher's confirmed block, the data not yet on L1 that the sequencer's
    /// backpressure weighs, readable from any process sharing the store.
    fn transaction_bytes_after(
        &self,
        block: u64,
    ) -> impl Future<Output = Result<u64, StoreError>> + Send;

    /// Journals signed L1 transactions (upserting by hash) together with the frames they carry,
    /// in one database transaction: a crash leaves either both or neither, so a restarted
    /// batcher never posts a block twice nor skips one.
    fn put_l1_transactions(
        &self,
        transactions: &[L1Transaction],
        frames: &[PostedFrame],
    ) -> impl Future<Output = Result<(), StoreError>> + Send;

    /// The pending attempts of `sender`'s unfinished intents, by nonce then signing time.
    fn open_l1_transactions(
        &self,
        sender: Address,
    ) -> impl Future<Output = Result<Vec<L1Transaction>, StoreError>> + Send;

    /// Every attempt of one intent, oldest first.
    fn l1_intent(
        &self,
        intent: B256,
    ) -> impl Future<Output = Result<Vec<L1Transaction>, StoreError>> + Send;

    /// The highest nonce `sender` ever journaled.
    fn max_l1_nonce(
        &self,
        sender: Address,
    ) -> impl Future<Output = Result<Option<u64>, StoreError>> + Send;

    /// Finishes an intent, in one database transaction: attempt `included` is confirmed in
    /// `block`, the others superseded, every attempt's raw bytes dropped, and the frames the
    /// intent carries point to `included` and `block`.
    fn finish_l1_intent(
        &self,
        intent: B256,
        included: B256,
        block: BlockRef,
    ) -> impl Future<Output = Result<(), StoreError>> + Send;

    /// Records (or updates) a proposal.
    fn put_proposal(
        &self,
        proposal: &Proposal,
    ) -> impl Future<Output = Result<(), StoreError>> + Send;

    /// Proposals from L2 block `from` on, in block order.
    fn proposals(
        &self,
        from: u64,
    ) -> impl Future<Output = Result<Vec<Proposal>, StoreError>> + Send;

    /// Records (or updates) a dispute game.
    fn put_dispute_game(
        &self,
        game: &DisputeGameRecord,
    ) -> impl Future<Output = Result<(), StoreError>> + Send;

    /// All dispute games, oldest first.
    fn dispute_games(
        &self,
    ) -> impl Future<Output = Result<Vec<DisputeGameRecord>, StoreError>> + Send;

    /// Journals transactions accepted into the pool (idempotent).
    fn put_pending_transactions(
        &self,
        transactions: &[StoredTransaction],
    ) -> impl Future<Output = Result<(), StoreError>> + Send;

    /// Forgets journaled transactions (included or dropped).
    fn remove_pending_transactions(
        &self,
        hashes: &[B256],
    ) -> impl Future<Output = Result<(), StoreError>> + Send;

    /// The journal, in arrival order.
    fn pending_transactions(
        &self,
    ) -> impl Future<Output = Result<Vec<StoredTransaction>, StoreError>> + Send;

    /// The oldest block whose state is still readable (0 unless pruned).
    fn pruned_below(&self) -> impl Future<Output = Result<u64, StoreError>> + Send;

    /// Deletes trie nodes only reachable from blocks older than `keep_from` (mark and sweep);
    /// their headers, transactions and receipts stay.
    fn prune_state(
        &self,
        keep_from: u64,
    ) -> impl Future<Output = Result<PruneStats, StoreError>> + Send;
}
