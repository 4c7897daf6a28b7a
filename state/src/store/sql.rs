//! [`ChainStore`] on sqlx: SQLite (default) and PostgreSQL, with the same queries.
//!
//! Both backends share every statement: sqlx accepts `$N` placeholders on SQLite too, the
//! schemas differ only in column types, and upserts use `ON CONFLICT`, which both support. Each
//! method body is written once and instantiated for each pool by [`on_pool!`].

use std::{collections::HashSet, str::FromStr, sync::Arc, time::Duration};

use tokio::sync::mpsc;

use alloy_consensus::Header;
use alloy_primitives::{Address, Bytes, Log, LogData, B256};
use alloy_rlp::{Decodable, Encodable};
use sqlx::{
    migrate::Migrator,
    postgres::{PgPool, PgPoolOptions},
    sqlite::{
        SqliteConnectOptions, SqliteJournalMode, SqlitePool, SqlitePoolOptions, SqliteSynchronous,
    },
    ColumnIndex, Decode, QueryBuilder, Row, Type,
};

use super::{
    BlockCommit, BlockRef, ChainStore, DisputeGameRecord, HeadKind, L1Origin, L1Transaction,
    L1TxStatus, LogFilter, LogRecord, PostedFrame, Proposal, PruneStats, Rewound, StoreError,
    StoredBlock, StoredHeader, StoredReceipt, StoredTransaction, TxLocation,
};
use crate::node::{account_node_refs, child_hashes, verify_node_hash};
use parallax_protocol::deposit::DEPOSIT_TX_TYPE;

static SQLITE_MIGRATIONS: Migrator = sqlx::migrate!("../migrations/sqlite");
static POSTGRES_MIGRATIONS: Migrator = sqlx::migrate!("../migrations/postgres");

/// Rows per multi-row `INSERT` or `IN (...)` list: well under SQLite's 32,766 and PostgreSQL's
/// 65,535 bound parameters for the widest table (logs, 9 columns).
const CHUNK: usize = 1000;

/// A chain store on SQLite or PostgreSQL; cloning shares the connection pool.
#[derive(Clone, Debug)]
pub struct SqlStore {
    pool: Pool,
    /// SQLite: wakes the background checkpointer after a block commit (see [`checkpointer`]).
    checkpoints: Option<mpsc::Sender<()>>,
}

/// How often the SQLite checkpointer runs when no block commit wakes it (other writes, such as
/// the pool journal, also grow the WAL).
const CHECKPOINT_INTERVAL: Duration = Duration::from_secs(1);

/// Copies committed WAL frames into the SQLite database file, on its own connection, after each
/// block commit and every [`CHECKPOINT_INTERVAL`]. SQLite's automatic checkpoint would run inside
/// the committing call and write a block's worth of randomly placed index pages a second time
/// before the commit returns; here that happens while the next block executes. A PASSIVE
/// checkpoint never blocks readers or the writer. Ends when every store handle is dropped.
async fn checkpointer(pool: SqlitePool, mut wake: mpsc::Receiver<()>) {
    loop {
        if let Ok(None) = tokio::time::timeout(CHECKPOINT_INTERVAL, wake.recv()).await {
            return;
        }
        if let Err(error) = sqlx::query("PRAGMA wal_checkpoint(PASSIVE)")
            .execute(&pool)
            .await
        {
            tracing::warn!(%error, "SQLite WAL checkpoint failed; trying again later");
        }
    }
}

#[derive(Clone, Debug)]
enum Pool {
    Sqlite(SqlitePool),
    Postgres(PgPool),
}

/// Runs `$body` with `$pool` bound to the concrete pool; the body is compiled once per backend.
macro_rules! on_pool {
    ($self:expr, $pool:ident => $body:expr) => {
        match &$self.pool {
            Pool::Sqlite($pool) => $body,
            Pool::Postgres($pool) => $body,
        }
    };
}

/// Appends `transactions` to the pool journal with consecutive arrival numbers from `first`
/// (keeping a copy already there): one macro for both backends' executors.
macro_rules! insert_pending {
    ($executor:expr, $transactions:expr, $first:expr) => {
        for (chunk_index, chunk) in $transactions.chunks(CHUNK).enumerate() {
            let mut insert =
                QueryBuilder::new("INSERT INTO pending_transactions (hash, sender, raw, arrival) ");
            insert.push_values(chunk.iter().enumerate(), |mut row, (index, transaction)| {
                row.push_bind(transaction.hash.as_slice())
                    .push_bind(transaction.sender.as_slice())
                    .push_bind(transaction.raw.as_ref())
                    .push_bind($first + (chunk_index * CHUNK + index) as i64);
            });
            insert.push(" ON CONFLICT (hash) DO NOTHING");
            insert.build().execute($executor).await?;
        }
    };
}

/// Starts a transaction that will write.
///
/// On SQLite it takes the write lock up front (`BEGIN IMMEDIATE`): a deferred transaction that
/// reads first and then writes fails with `SQLITE_BUSY` if another connection wrote in between,
/// which no busy timeout can fix. PostgreSQL's row locking needs nothing special.
trait BeginWrite {
    type Db: sqlx::Database;
    async fn begin_write(&self) -> Result<sqlx::Transaction<'static, Self::Db>, sqlx::Error>;
}

impl BeginWrite for SqlitePool {
    type Db = sqlx::Sqlite;
    async fn begin_write(&self) -> Result<sqlx::Transaction<'static, Self::Db>, sqlx::Error> {
        self.begin_with("BEGIN IMMEDIATE").await
    }
}

impl BeginWrite for PgPool {
    type Db = sqlx::Postgres;
    async fn begin_write(&self) -> Result<sqlx::Transaction<'static, Self::Db>, sqlx::Error> {
        self.begin().await
    }
}

async fn begin_write<P: BeginWrite>(
    pool: &P,
) -> Result<sqlx::Transaction<'static, P::Db>, sqlx::Error> {
    pool.begin_write().await
}

/// `url` with any password replaced, for error messages and logs.
fn redact(url: &str) -> String {
    match (url.find("://"), url.rfind('@')) {
        (Some(scheme), Some(at)) if at > scheme => {
            let credentials = &url[scheme + 3..at];
            match credentials.find(':') {
                Some(colon) => format!(
                    "{}{}:***{}",
                    &url[..scheme + 3],
                    &credentials[..colon],
                    &url[at..]
                ),
                None => url.to_string(),
            }
        }
        _ => url.to_string(),
    }
}

fn int(value: u64) -> Result<i64, StoreError> {
    i64::try_from(value).map_err(|_| StoreError::OutOfRange(value))
}

/// Typed column access shared by both backends' rows.
trait Columns {
    fn bytes(&self, index: usize) -> Result<Vec<u8>, StoreError>;
    fn opt_bytes(&self, index: usize) -> Result<Option<Vec<u8>>, StoreError>;
    fn int(&self, index: usize) -> Result<i64, StoreError>;
    fn opt_int(&self, index: usize) -> Result<Option<i64>, StoreError>;
    fn text(&self, index: usize) -> Result<String, StoreError>;

    fn u64(&self, index: usize) -> Result<u64, StoreError> {
        let value = self.int(index)?;
        u64::try_from(value).map_err(|_| StoreError::Corrupt(format!("negative quantity {value}")))
    }
    fn b256(&self, index: usize) -> Result<B256, StoreError> {
        to_b256(&self.bytes(index)?)
    }
    fn opt_b256(&self, index: usize) -> Result<Option<B256>, StoreError> {
        self.opt_bytes(index)?.as_deref().map(to_b256).transpose()
    }
    fn address(&self, index: usize) -> Result<Address, StoreError> {
        let bytes = self.bytes(index)?;
        Address::try_from(bytes.as_slice())
            .map_err(|_| StoreError::Corrupt(format!("address of {} bytes", bytes.len())))
    }
    fn u128(&self, index: usize) -> Result<u128, StoreError> {
        let bytes = self.bytes(index)?;
        <[u8; 16]>::try_from(bytes.as_slice())
            .map(u128::from_be_bytes)
            .map_err(|_| StoreError::Corrupt(format!("u128 of {} bytes", bytes.len())))
    }
}

fn to_b256(bytes: &[u8]) -> Result<B256, StoreError> {
    B256::try_from(bytes).map_err(|_| StoreError::Corrupt(format!("hash of {} bytes", bytes.len())))
}

impl<R> Columns for R
where
    R: Row,
    usize: ColumnIndex<R>,
    for<'r> Vec<u8>: Decode<'r, R::Database> + Type<R::Database>,
    for<'r> i64: Decode<'r, R::Database> + Type<R::Database>,
    for<'r> String: Decode<'r, R::Database> + Type<R::Database>,
{
    fn bytes(&self, index: usize) -> Result<Vec<u8>, StoreError> {
        Ok(self.try_get(index)?)
    }
    fn opt_bytes(&self, index: usize) -> Result<Option<Vec<u8>>, StoreError> {
        Ok(self.try_get(index)?)
    }
    fn int(&self, index: usize) -> Result<i64, StoreError> {
        Ok(self.try_get(index)?)
    }
    fn opt_int(&self, index: usize) -> Result<Option<i64>, StoreError> {
        Ok(self.try_get(index)?)
    }
    fn text(&self, index: usize) -> Result<String, StoreError> {
        Ok(self.try_get(index)?)
    }
}

fn decode_header(bytes: &[u8]) -> Result<Header, StoreError> {
    Header::decode(&mut &bytes[..]).map_err(|error| StoreError::Corrupt(format!("header: {error}")))
}

fn header_row(row: &impl Columns) -> Result<StoredHeader, StoreError> {
    Ok(StoredHeader {
        header: decode_header(&row.bytes(0)?)?,
        hash: row.b256(1)?,
        l1_origin: BlockRef {
            number: row.u64(2)?,
            hash: row.b256(3)?,
        },
    })
}

/// A log from `address, topic0..topic3, data` at `first`.
fn log_row(row: &impl Columns, first: usize) -> Result<Log, StoreError> {
    let address = row.address(first)?;
    let mut topics = Vec::with_capacity(4);
    for index in first + 1..first + 5 {
        match row.opt_bytes(index)? {
            Some(topic) => topics.push(to_b256(&topic)?),
            None => break,
        }
    }
    let data = Bytes::from(row.bytes(first + 5)?);
    Ok(Log {
        address,
        data: LogData::new_unchecked(topics, data),
    })
}

fn receipt_row(row: &impl Columns) -> Result<StoredReceipt, StoreError> {
    Ok(StoredReceipt {
        tx_type: u8::try_from(row.int(0)?)
            .map_err(|_| StoreError::Corrupt("transaction type".into()))?,
        success: row.int(1)? != 0,
        gas_used: row.u64(2)?,
        cumulative_gas_used: row.u64(3)?,
        effective_gas_price: row.u128(4)?,
        contract_address: row
            .opt_bytes(5)?
            .map(|bytes| Address::try_from(bytes.as_slice()))
            .transpose()
            .map_err(|_| StoreError::Corrupt("contract address".into()))?,
        logs: Vec::new(),
    })
}

/// The columns [`frame_row`] reads and [`bind_frame`] writes, as a literal for `concat!`.
macro_rules! frame_columns {
    () => {
        "channel_id, frame_number, first_block, last_block, da, l1_tx_hash, l1_block, \
         last_block_hash, size_bytes"
    };
}

/// Journals a frame; posting it again (a new attempt) updates where it went.
const INSERT_FRAME: &str = concat!(
    "INSERT INTO posted_frames (",
    frame_columns!(),
    ") VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) \
     ON CONFLICT (channel_id, frame_number) DO UPDATE SET da = excluded.da, \
     l1_tx_hash = excluded.l1_tx_hash, l1_block = excluded.l1_block, size_bytes = excluded.size_bytes"
);

/// [`INSERT_FRAME`] with `frame` bound: a macro, since each backend has its own query type.
macro_rules! insert_frame {
    ($frame:expr) => {
        sqlx::query(INSERT_FRAME)
            .bind($frame.channel_id.as_slice())
            .bind(i64::from($frame.frame_number))
            .bind(int($frame.first_block)?)
            .bind(int($frame.last_block)?)
            .bind($frame.da.as_str())
            .bind($frame.l1_tx_hash.as_slice())
            .bind($frame.l1_block.map(int).transpose()?)
            .bind($frame.last_block_hash.map(|hash| hash.to_vec()))
            .bind($frame.size.map(int).transpose()?)
    };
}

fn frame_row(row: &impl Columns) -> Result<PostedFrame, StoreError> {
    let channel = row.bytes(0)?;
    Ok(PostedFrame {
        channel_id: <[u8; 16]>::try_from(channel.as_slice())
            .map_err(|_| StoreError::Corrupt("channel id".into()))?,
        frame_number: u16::try_from(row.int(1)?)
            .map_err(|_| StoreError::Corrupt("frame number".into()))?,
        first_block: row.u64(2)?,
        last_block: row.u64(3)?,
        da: row.text(4)?,
        l1_tx_hash: row.b256(5)?,
        l1_block: row.opt_int(6)?.map(|block| block as u64),
        last_block_hash: row.opt_b256(7)?,
        size: row.opt_int(8)?.map(|size| size as u64),
    })
}

/// The columns [`l1_transaction_row`] reads, as a literal for `concat!`.
macro_rules! l1_transaction_columns {
    () => {
        "hash, intent, sender, nonce, raw, purpose, status, l1_block, l1_block_hash, sent_at_ms"
    };
}

fn l1_transaction_row(row: &impl Columns) -> Result<L1Transaction, StoreError> {
    let status = row.text(6)?;
    let l1_block = match (row.opt_int(7)?, row.opt_bytes(8)?) {
        (Some(number), Some(hash)) => Some(BlockRef {
            number: u64::try_from(number)
                .map_err(|_| StoreError::Corrupt(format!("negative L1 block {number}")))?,
            hash: to_b256(&hash)?,
        }),
        (None, None) => None,
        _ => return Err(StoreError::Corrupt("L1 block number without hash".into())),
    };
    Ok(L1Transaction {
        hash: row.b256(0)?,
        intent: row.b256(1)?,
        sender: row.address(2)?,
        nonce: row.u64(3)?,
        raw: Bytes::from(row.bytes(4)?),
        purpose: row.text(5)?,
        status: L1TxStatus::parse(&status)
            .ok_or_else(|| StoreError::Corrupt(format!("L1 transaction status {status:?}")))?,
        l1_block,
        sent_at_ms: row.u64(9)?,
    })
}

fn proposal_row(row: &impl Columns) -> Result<Proposal, StoreError> {
    Ok(Proposal {
        l2_block_number: row.u64(0)?,
        output_root: row.b256(1)?,
        oracle_index: row.opt_int(2)?.map(|index| index as u64),
        l1_tx_hash: row.opt_bytes(3)?.map(|hash| to_b256(&hash)).transpose()?,
        status: row.text(4)?,
        finalizes_at: row.opt_int(5)?.map(|at| at as u64),
    })
}

fn game_row(row: &impl Columns) -> Result<DisputeGameRecord, StoreError> {
    Ok(DisputeGameRecord {
        address: row.address(0)?,
        oracle_index: row.u64(1)?,
        role: row.text(2)?,
        status: row.text(3)?,
        state: Bytes::from(row.bytes(4)?),
        updated_block: row.u64(5)?,
    })
}

/// The columns [`log_row`] reads, as a literal for `concat!`.
macro_rules! log_columns {
    () => {
        "address, topic0, topic1, topic2, topic3, data"
    };
}

impl SqlStore {
    /// Opens (creating if needed) the database at `url` and applies pending migrations.
    ///
    /// `url` is `sqlite:PATH` (or `sqlite://PATH`) or `postgres://USER:PASS@HOST:PORT/DB`.
    pub async fn open(url: &str) -> Result<Self, StoreError> {
        let store = Self::connect(url).await?;
        store.migrate().await?;
        Ok(store)
    }

    /// Connects without migrating.
    pub async fn connect(url: &str) -> Result<Self, StoreError> {
        let connect_error = |source| StoreError::Connect {
            url: redact(url),
            source,
        };
        let pool = if url.starts_with("sqlite:") {
            let options = SqliteConnectOptions::from_str(url)
                .map_err(connect_error)?
                .create_if_missing(true)
                .journal_mode(SqliteJournalMode::Wal)
                // FULL: an acknowledged block survives power loss, not just a process crash.
                .synchronous(SqliteSynchronous::Full)
                .foreign_keys(true)
                .busy_timeout(Duration::from_secs(10))
                // Trie nodes are inserted at random keys: a larger page cache (negative = KiB)
                // keeps the upper B-tree levels in memory.
                .pragma("cache_size", "-131072")
                .pragma("temp_store", "memory")
                // Checkpoints run on the background checkpointer, not in the committing call;
                // after one, a WAL file grown by a large block shrinks back to this size.
                .pragma("wal_autocheckpoint", "0")
                .pragma("journal_size_limit", "67108864");
            let pool = SqlitePoolOptions::new()
                .max_connections(4)
                .connect_with(options)
                .await
                .map_err(connect_error)?;
            let (wake, woken) = mpsc::channel(1);
            tokio::spawn(checkpointer(pool.clone(), woken));
            return Ok(Self {
                pool: Pool::Sqlite(pool),
                checkpoints: Some(wake),
            });
        } else if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            let pool = PgPoolOptions::new()
                .max_connections(8)
                .acquire_timeout(Duration::from_secs(10))
                .connect(url)
                .await
                .map_err(connect_error)?;
            Pool::Postgres(pool)
        } else {
            return Err(StoreError::UnsupportedUrl(redact(url)));
        };
        Ok(Self {
            pool,
            checkpoints: None,
        })
    }

    /// [`ChainStore::commit_block`]'s one database transaction.
    async fn insert_block(&self, commit: BlockCommit<'_>) -> Result<(), StoreError> {
        let block = commit.block;
        let number = int(block.header.number)?;
        let mut header = Vec::with_capacity(600);
        block.header.encode(&mut header);
        // Identical subtrees (e.g. two contracts with the same storage) yield the same node
        // twice; one multi-row upsert may not touch a row twice.
        let mut trie_nodes: Vec<&(B256, Vec<u8>)> = commit.trie_nodes.iter().collect();
        trie_nodes.sort_unstable_by_key(|(hash, _)| *hash);
        trie_nodes.dedup_by_key(|(hash, _)| *hash);
        let mut bytecodes: Vec<&(B256, Bytes)> = commit.bytecodes.iter().collect();
        bytecodes.sort_unstable_by_key(|(hash, _)| *hash);
        bytecodes.dedup_by_key(|(hash, _)| *hash);
        on_pool!(self, pool => {
            let mut tx = begin_write(pool).await?;
            let head = sqlx::query("SELECT number, hash FROM heads WHERE name = 'unsafe'")
                .fetch_optional(&mut *tx)
                .await?
                .map(|row| Ok::<_, StoreError>(BlockRef { number: row.u64(0)?, hash: row.b256(1)? }))
                .transpose()?;
            let extends = match head {
                None => true,
                Some(head) => head.number.checked_add(1) == Some(block.header.number)
                    && head.hash == block.header.parent_hash,
            };
            if !extends {
                return Err(StoreError::NotChild {
                    number: block.header.number,
                    parent_hash: block.header.parent_hash,
                    head,
                });
            }
            sqlx::query(
                "INSERT INTO blocks (number, hash, parent_hash, timestamp, state_root, \
                 l1_origin_number, l1_origin_hash, header) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
            )
            .bind(number)
            .bind(block.hash.as_slice())
            .bind(block.header.parent_hash.as_slice())
            .bind(int(block.header.timestamp)?)
            .bind(block.header.state_root.as_slice())
            .bind(int(block.l1_origin.number)?)
            .bind(block.l1_origin.hash.as_slice())
            .bind(&header)
            .execute(&mut *tx)
            .await?;
            for (chunk_index, chunk) in block.transactions.chunks(CHUNK).enumerate() {
                let mut insert = QueryBuilder::new(
                    "INSERT INTO transactions (hash, block_number, tx_index, sender, raw) ",
                );
                insert.push_values(chunk.iter().enumerate(), |mut row, (index, transaction)| {
                    row.push_bind(transaction.hash.as_slice())
                        .push_bind(number)
                        .push_bind((chunk_index * CHUNK + index) as i64)
                        .push_bind(transaction.sender.as_slice())
                        .push_bind(transaction.raw.as_ref());
                });
                insert.build().execute(&mut *tx).await?;
            }
            let mut log_index = 0i64;
            let mut logs = Vec::new();
            for (chunk_index, chunk) in block.receipts.chunks(CHUNK).enumerate() {
                let mut insert = QueryBuilder::new(
                    "INSERT INTO receipts (block_number, tx_index, tx_type, success, gas_used, \
                     cumulative_gas_used, effective_gas_price, contract_address, first_log_index) ",
                );
                let mut rows = Vec::with_capacity(chunk.len());
                for (index, receipt) in chunk.iter().enumerate() {
                    let tx_index = (chunk_index * CHUNK + index) as i64;
                    rows.push((tx_index, receipt, log_index));
                    for log in &receipt.logs {
                        logs.push((log_index, tx_index, log));
                        log_index += 1;
                    }
                }
                insert.push_values(rows, |mut row, (tx_index, receipt, first_log)| {
                    row.push_bind(number)
                        .push_bind(tx_index)
                        .push_bind(i64::from(receipt.tx_type))
                        .push_bind(i64::from(receipt.success))
                        .push_bind(receipt.gas_used as i64)
                        .push_bind(receipt.cumulative_gas_used as i64)
                        .push_bind(receipt.effective_gas_price.to_be_bytes().to_vec())
                        .push_bind(receipt.contract_address.map(|address| address.to_vec()))
                        .push_bind(first_log);
                });
                insert.build().execute(&mut *tx).await?;
            }
            for chunk in logs.chunks(CHUNK) {
                let mut insert = QueryBuilder::new(concat!(
                    "INSERT INTO logs (block_number, log_index, tx_index, ", log_columns!(), ") "
                ));
                insert.push_values(chunk, |mut row, (log_index, tx_index, log)| {
                    let topics = log.topics();
                    row.push_bind(number).push_bind(*log_index).push_bind(*tx_index)
                        .push_bind(log.address.as_slice());
                    for position in 0..4 {
                        row.push_bind(topics.get(position).map(|topic| topic.to_vec()));
                    }
                    row.push_bind(log.data.data.as_ref());
                });
                insert.build().execute(&mut *tx).await?;
            }
            for chunk in trie_nodes.chunks(CHUNK) {
                let mut insert = QueryBuilder::new("INSERT INTO trie_nodes (hash, node, block_number) ");
                insert.push_values(chunk, |mut row, (hash, node)| {
                    row.push_bind(hash.as_slice()).push_bind(node.as_slice()).push_bind(number);
                });
                // A node written again (a value set back to an old one) is young again, so
                // pruning keeps it.
                insert.push(" ON CONFLICT (hash) DO UPDATE SET block_number = excluded.block_number");
                insert.build().execute(&mut *tx).await?;
            }
            for chunk in bytecodes.chunks(CHUNK) {
                let mut insert = QueryBuilder::new("INSERT INTO bytecodes (hash, code) ");
                insert.push_values(chunk, |mut row, (hash, code)| {
                    row.push_bind(hash.as_slice()).push_bind(code.as_ref());
                });
                insert.push(" ON CONFLICT (hash) DO NOTHING");
                insert.build().execute(&mut *tx).await?;
            }
            sqlx::query(
                "INSERT INTO heads (name, number, hash) VALUES ('unsafe', $1, $2) \
                 ON CONFLICT (name) DO UPDATE SET number = excluded.number, hash = excluded.hash",
            )
            .bind(number)
            .bind(block.hash.as_slice())
            .execute(&mut *tx)
            .await?;
            tx.commit().await?;
            Ok(())
        })
    }

    /// SQLite: copies the whole WAL into the database file and truncates it, waiting (up to the
    /// busy timeout) for readers and the writer: for maintenance and for benchmarks that must
    /// start from a settled file. PostgreSQL: nothing to do.
    pub async fn checkpoint(&self) -> Result<(), StoreError> {
        if let Pool::Sqlite(pool) = &self.pool {
            sqlx::query("PRAGMA wal_checkpoint(TRUNCATE)")
                .execute(pool)
                .await?;
        }
        Ok(())
    }

    /// After a block commit: wakes the checkpointer, or checkpoints here if it is gone (its
    /// runtime ended while this handle lives on in another).
    async fn after_block_commit(&self) {
        let (Some(wake), Pool::Sqlite(pool)) = (&self.checkpoints, &self.pool) else {
            return;
        };
        if let Err(mpsc::error::TrySendError::Closed(())) = wake.try_send(()) {
            if let Err(error) = sqlx::query("PRAGMA wal_checkpoint(PASSIVE)")
                .execute(pool)
                .await
            {
                tracing::warn!(%error, "SQLite WAL checkpoint failed; trying again later");
            }
        }
    }

    /// `sqlite` or `postgres`.
    pub fn backend(&self) -> &'static str {
        match self.pool {
            Pool::Sqlite(_) => "sqlite",
            Pool::Postgres(_) => "postgres",
        }
    }

    /// Applies pending migrations; returns the schema version now in place. A database from a
    /// newer schema is refused before anything is touched.
    pub async fn migrate(&self) -> Result<i64, StoreError> {
        let migrator = match self.pool {
            Pool::Sqlite(_) => &SQLITE_MIGRATIONS,
            Pool::Postgres(_) => &POSTGRES_MIGRATIONS,
        };
        let supported = migrator
            .iter()
            .map(|migration| migration.version)
            .max()
            .unwrap_or(0);
        if let Some(found) = self.schema_version().await? {
            if found > supported {
                return Err(StoreError::NewerSchema { found, supported });
            }
        }
        on_pool!(self, pool => migrator.run(pool).await)?;
        Ok(supported)
    }

    /// The highest applied migration, or `None` for a fresh database.
    pub async fn schema_version(&self) -> Result<Option<i64>, StoreError> {
        let exists: bool = match &self.pool {
            Pool::Sqlite(pool) => sqlx::query(
                "SELECT COUNT(*) FROM sqlite_master WHERE type = 'table' AND name = '_sqlx_migrations'",
            )
            .fetch_one(pool)
            .await?
            .int(0)?
                > 0,
            Pool::Postgres(pool) => sqlx::query("SELECT to_regclass('_sqlx_migrations') IS NOT NULL")
                .fetch_one(pool)
                .await?
                .try_get(0)?,
        };
        if !exists {
            return Ok(None);
        }
        on_pool!(self, pool => {
            let row = sqlx::query("SELECT MAX(version) FROM _sqlx_migrations WHERE success")
                .fetch_one(pool)
                .await?;
            row.opt_int(0)
        })
    }

    /// Closes the pool, waiting for connections to finish.
    pub async fn close(&self) {
        on_pool!(self, pool => pool.close().await)
    }
}

impl ChainStore for SqlStore {
    async fn commit_block(&self, commit: BlockCommit<'_>) -> Result<(), StoreError> {
        self.insert_block(commit).await?;
        self.after_block_commit().await;
        Ok(())
    }

    async fn rewind_unsafe(
        &self,
        to: BlockRef,
        rewound: Rewound,
    ) -> Result<Vec<StoredTransaction>, StoreError> {
        let number = int(to.number)?;
        let bad = |reason| StoreError::BadHead {
            kind: HeadKind::Unsafe,
            target: to,
            reason,
        };
        on_pool!(self, pool => {
            let mut tx = begin_write(pool).await?;
            let known = sqlx::query("SELECT hash FROM blocks WHERE number = $1")
                .bind(number)
                .fetch_optional(&mut *tx)
                .await?;
            match known {
                Some(row) if row.b256(0)? == to.hash => {}
                _ => return Err(bad("no such block")),
            }
            let safe = sqlx::query("SELECT number FROM heads WHERE name = 'safe'")
                .fetch_optional(&mut *tx)
                .await?;
            if let Some(safe) = safe {
                if safe.u64(0)? > to.number {
                    return Err(bad("below the safe head"));
                }
            }
            let mut returned = Vec::new();
            if rewound == Rewound::ReturnToPool {
                let rows = sqlx::query(
                    "SELECT hash, sender, raw FROM transactions WHERE block_number > $1 \
                     ORDER BY block_number, tx_index",
                )
                .bind(number)
                .fetch_all(&mut *tx)
                .await?;
                for row in &rows {
                    let transaction = StoredTransaction {
                        hash: row.b256(0)?,
                        sender: row.address(1)?,
                        raw: Bytes::from(row.bytes(2)?),
                    };
                    if transaction.raw.first() != Some(&DEPOSIT_TX_TYPE) {
                        returned.push(transaction);
                    }
                }
                // Ahead of everything pending: these were acknowledged first.
                let first: i64 = sqlx::query("SELECT COALESCE(MIN(arrival), 0) FROM pending_transactions")
                    .fetch_one(&mut *tx)
                    .await?
                    .int(0)?;
                insert_pending!(&mut *tx, &returned, first - returned.len() as i64 - 1);
            }
            for delete in [
                "DELETE FROM logs WHERE block_number > $1",
                "DELETE FROM receipts WHERE block_number > $1",
                "DELETE FROM transactions WHERE block_number > $1",
                "DELETE FROM blocks WHERE number > $1",
            ] {
                sqlx::query(delete).bind(number).execute(&mut *tx).await?;
            }
            sqlx::query("UPDATE heads SET number = $1, hash = $2 WHERE name = 'unsafe'")
                .bind(number)
                .bind(to.hash.as_slice())
                .execute(&mut *tx)
                .await?;
            tx.commit().await?;
            Ok(returned)
        })
    }

    async fn set_head(&self, kind: HeadKind, to: BlockRef) -> Result<(), StoreError> {
        let bad = |reason| StoreError::BadHead {
            kind,
            target: to,
            reason,
        };
        if kind == HeadKind::Unsafe {
            return Err(bad(
                "the unsafe head moves by committing or rewinding blocks",
            ));
        }
        let number = int(to.number)?;
        on_pool!(self, pool => {
            let mut tx = begin_write(pool).await?;
            let known = sqlx::query("SELECT hash FROM blocks WHERE number = $1")
                .bind(number)
                .fetch_optional(&mut *tx)
                .await?;
            match known {
                Some(row) if row.b256(0)? == to.hash => {}
                _ => return Err(bad("no such block")),
            }
            if kind == HeadKind::Finalized {
                let safe = sqlx::query("SELECT number FROM heads WHERE name = 'safe'")
                    .fetch_optional(&mut *tx)
                    .await?;
                match safe {
                    Some(safe) if safe.u64(0)? >= to.number => {}
                    _ => return Err(bad("beyond the safe head")),
                }
            }
            sqlx::query(
                "INSERT INTO heads (name, number, hash) VALUES ($1, $2, $3) \
                 ON CONFLICT (name) DO UPDATE SET number = excluded.number, hash = excluded.hash",
            )
            .bind(kind.name())
            .bind(number)
            .bind(to.hash.as_slice())
            .execute(&mut *tx)
            .await?;
            tx.commit().await?;
            Ok(())
        })
    }

    async fn head(&self, kind: HeadKind) -> Result<Option<BlockRef>, StoreError> {
        on_pool!(self, pool => {
            sqlx::query("SELECT number, hash FROM heads WHERE name = $1")
                .bind(kind.name())
                .fetch_optional(pool)
                .await?
                .map(|row| Ok(BlockRef { number: row.u64(0)?, hash: row.b256(1)? }))
                .transpose()
        })
    }

    async fn header(&self, number: u64) -> Result<Option<StoredHeader>, StoreError> {
        let number = int(number)?;
        on_pool!(self, pool => {
            sqlx::query(
                "SELECT header, hash, l1_origin_number, l1_origin_hash FROM blocks WHERE number = $1",
            )
            .bind(number)
            .fetch_optional(pool)
            .await?
            .map(|row| header_row(&row))
            .transpose()
        })
    }

    async fn block_number(&self, hash: B256) -> Result<Option<u64>, StoreError> {
        on_pool!(self, pool => {
            sqlx::query("SELECT number FROM blocks WHERE hash = $1")
                .bind(hash.as_slice())
                .fetch_optional(pool)
                .await?
                .map(|row| row.u64(0))
                .transpose()
        })
    }

    async fn block(&self, number: u64) -> Result<Option<StoredBlock>, StoreError> {
        let Some(header) = self.header(number).await? else {
            return Ok(None);
        };
        let number = int(number)?;
        on_pool!(self, pool => {
            let transactions = sqlx::query(
                "SELECT hash, sender, raw FROM transactions WHERE block_number = $1 ORDER BY tx_index",
            )
            .bind(number)
            .fetch_all(pool)
            .await?
            .iter()
            .map(|row| Ok(StoredTransaction {
                hash: row.b256(0)?,
                sender: row.address(1)?,
                raw: Bytes::from(row.bytes(2)?),
            }))
            .collect::<Result<Vec<_>, StoreError>>()?;
            let mut receipts = sqlx::query(
                "SELECT tx_type, success, gas_used, cumulative_gas_used, effective_gas_price, \
                 contract_address FROM receipts WHERE block_number = $1 ORDER BY tx_index",
            )
            .bind(number)
            .fetch_all(pool)
            .await?
            .iter()
            .map(receipt_row)
            .collect::<Result<Vec<_>, StoreError>>()?;
            let logs = sqlx::query(concat!(
                "SELECT tx_index, ", log_columns!(),
                " FROM logs WHERE block_number = $1 ORDER BY log_index"
            ))
            .bind(number)
            .fetch_all(pool)
            .await?;
            for row in &logs {
                let receipt = usize::try_from(row.int(0)?)
                    .ok()
                    .and_then(|index| receipts.get_mut(index))
                    .ok_or_else(|| StoreError::Corrupt("log of a missing receipt".into()))?;
                receipt.logs.push(log_row(row, 1)?);
            }
            Ok(Some(StoredBlock {
                header: header.header,
                hash: header.hash,
                l1_origin: header.l1_origin,
                transactions,
                receipts,
            }))
        })
    }

    async fn transaction(
        &self,
        hash: B256,
    ) -> Result<Option<(StoredTransaction, TxLocation)>, StoreError> {
        on_pool!(self, pool => {
            sqlx::query(
                "SELECT t.sender, t.raw, t.block_number, b.hash, t.tx_index FROM transactions t \
                 JOIN blocks b ON b.number = t.block_number WHERE t.hash = $1",
            )
            .bind(hash.as_slice())
            .fetch_optional(pool)
            .await?
            .map(|row| {
                let transaction = StoredTransaction {
                    hash,
                    sender: row.address(0)?,
                    raw: Bytes::from(row.bytes(1)?),
                };
                let location = TxLocation {
                    block: BlockRef { number: row.u64(2)?, hash: row.b256(3)? },
                    index: row.u64(4)?,
                };
                Ok((transaction, location))
            })
            .transpose()
        })
    }

    async fn receipt(
        &self,
        hash: B256,
    ) -> Result<Option<(StoredReceipt, TxLocation, u64)>, StoreError> {
        on_pool!(self, pool => {
            let Some(row) = sqlx::query(
                "SELECT r.tx_type, r.success, r.gas_used, r.cumulative_gas_used, \
                 r.effective_gas_price, r.contract_address, r.first_log_index, t.block_number, \
                 b.hash, t.tx_index FROM transactions t \
                 JOIN receipts r ON r.block_number = t.block_number AND r.tx_index = t.tx_index \
                 JOIN blocks b ON b.number = t.block_number WHERE t.hash = $1",
            )
            .bind(hash.as_slice())
            .fetch_optional(pool)
            .await?
            else {
                return Ok(None);
            };
            let mut receipt = receipt_row(&row)?;
            let first_log = row.u64(6)?;
            let location = TxLocation {
                block: BlockRef { number: row.u64(7)?, hash: row.b256(8)? },
                index: row.u64(9)?,
            };
            let logs = sqlx::query(concat!(
                "SELECT ", log_columns!(),
                " FROM logs WHERE block_number = $1 AND tx_index = $2 ORDER BY log_index"
            ))
            .bind(int(location.block.number)?)
            .bind(int(location.index)?)
            .fetch_all(pool)
            .await?;
            receipt.logs = logs.iter().map(|row| log_row(row, 0)).collect::<Result<_, _>>()?;
            Ok(Some((receipt, location, first_log)))
        })
    }

    async fn logs(&self, filter: &LogFilter, limit: usize) -> Result<Vec<LogRecord>, StoreError> {
        let from = int(filter.from_block)?;
        let to = int(filter.to_block)?;
        on_pool!(self, pool => {
            let mut query = QueryBuilder::new(
                "SELECT l.block_number, b.hash, t.hash, l.tx_index, l.log_index, \
                 l.address, l.topic0, l.topic1, l.topic2, l.topic3, l.data FROM logs l \
                 JOIN blocks b ON b.number = l.block_number \
                 JOIN transactions t ON t.block_number = l.block_number AND t.tx_index = l.tx_index \
                 WHERE l.block_number >= "
            );
            query.push_bind(from).push(" AND l.block_number <= ").push_bind(to);
            if !filter.addresses.is_empty() {
                query.push(" AND l.address IN (");
                let mut list = query.separated(", ");
                for address in &filter.addresses {
                    list.push_bind(address.to_vec());
                }
                list.push_unseparated(")");
            }
            for (position, alternatives) in filter.topics.iter().enumerate() {
                if alternatives.is_empty() {
                    continue;
                }
                query.push(format!(" AND l.topic{position} IN ("));
                let mut list = query.separated(", ");
                for topic in alternatives {
                    list.push_bind(topic.to_vec());
                }
                list.push_unseparated(")");
            }
            query.push(" ORDER BY l.block_number, l.log_index LIMIT ")
                .push_bind(limit.saturating_add(1).min(i64::MAX as usize) as i64);
            let rows = query.build().fetch_all(pool).await?;
            if rows.len() > limit {
                return Err(StoreError::TooManyLogs(limit));
            }
            rows.iter()
                .map(|row| Ok(LogRecord {
                    block: BlockRef { number: row.u64(0)?, hash: row.b256(1)? },
                    tx_hash: row.b256(2)?,
                    tx_index: row.u64(3)?,
                    log_index: row.u64(4)?,
                    log: log_row(row, 5)?,
                }))
                .collect()
        })
    }

    async fn trie_nodes(&self, hashes: &[B256]) -> Result<Vec<(B256, Arc<[u8]>)>, StoreError> {
        let mut nodes = Vec::with_capacity(hashes.len());
        for chunk in hashes.chunks(CHUNK) {
            let rows = on_pool!(self, pool => {
                let mut query = QueryBuilder::new("SELECT hash, node FROM trie_nodes WHERE hash IN (");
                let mut list = query.separated(", ");
                for hash in chunk {
                    list.push_bind(hash.as_slice());
                }
                list.push_unseparated(")");
                query.build().fetch_all(pool).await?
                    .iter()
                    .map(|row| Ok((row.b256(0)?, row.bytes(1)?)))
                    .collect::<Result<Vec<_>, StoreError>>()?
            });
            for (hash, node) in rows {
                verify_node_hash(hash, &node)?;
                nodes.push((hash, Arc::from(node)));
            }
        }
        Ok(nodes)
    }

    async fn bytecode(&self, hash: B256) -> Result<Option<Bytes>, StoreError> {
        on_pool!(self, pool => {
            sqlx::query("SELECT code FROM bytecodes WHERE hash = $1")
                .bind(hash.as_slice())
                .fetch_optional(pool)
                .await?
                .map(|row| Ok(Bytes::from(row.bytes(0)?)))
                .transpose()
        })
    }

    async fn bytecodes(&self) -> Result<Vec<(B256, Bytes)>, StoreError> {
        on_pool!(self, pool => {
            sqlx::query("SELECT hash, code FROM bytecodes")
                .fetch_all(pool)
                .await?
                .iter()
                .map(|row| Ok((row.b256(0)?, Bytes::from(row.bytes(1)?))))
                .collect()
        })
    }

    async fn put_l1_origin(&self, origin: &L1Origin) -> Result<(), StoreError> {
        on_pool!(self, pool => {
            sqlx::query(
                "INSERT INTO l1_origins (number, hash, parent_hash, timestamp, base_fee, blob_base_fee) \
                 VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (number) DO UPDATE SET \
                 hash = excluded.hash, parent_hash = excluded.parent_hash, \
                 timestamp = excluded.timestamp, base_fee = excluded.base_fee, \
                 blob_base_fee = excluded.blob_base_fee",
            )
            .bind(int(origin.number)?)
            .bind(origin.hash.as_slice())
            .bind(origin.parent_hash.as_slice())
            .bind(int(origin.timestamp)?)
            .bind(origin.base_fee.to_be_bytes().to_vec())
            .bind(origin.blob_base_fee.to_be_bytes().to_vec())
            .execute(pool)
            .await?;
            Ok(())
        })
    }

    async fn l1_origin(&self, number: u64) -> Result<Option<L1Origin>, StoreError> {
        on_pool!(self, pool => {
            sqlx::query(
                "SELECT number, hash, parent_hash, timestamp, base_fee, blob_base_fee \
                 FROM l1_origins WHERE number = $1",
            )
            .bind(int(number)?)
            .fetch_optional(pool)
            .await?
            .map(|row| Ok(L1Origin {
                number: row.u64(0)?,
                hash: row.b256(1)?,
                parent_hash: row.b256(2)?,
                timestamp: row.u64(3)?,
                base_fee: row.u128(4)?,
                blob_base_fee: row.u128(5)?,
            }))
            .transpose()
        })
    }

    async fn put_frame(&self, frame: &PostedFrame) -> Result<(), StoreError> {
        on_pool!(self, pool => {
            insert_frame!(frame).execute(pool).await?;
            Ok(())
        })
    }

    async fn frames_after(&self, block: u64) -> Result<Vec<PostedFrame>, StoreError> {
        on_pool!(self, pool => {
            sqlx::query(
                concat!(
                    "SELECT ",
                    frame_columns!(),
                    " FROM posted_frames WHERE last_block > $1 ORDER BY first_block, channel_id, frame_number"
                ),
            )
            .bind(int(block)?)
            .fetch_all(pool)
            .await?
            .iter()
            .map(frame_row)
            .collect()
        })
    }

    async fn latest_posted_block(&self) -> Result<Option<u64>, StoreError> {
        on_pool!(self, pool => {
            sqlx::query("SELECT MAX(last_block) FROM posted_frames")
                .fetch_one(pool)
                .await?
                .opt_int(0)?
                .map(|block| u64::try_from(block).map_err(|_| StoreError::Corrupt(format!("negative block {block}"))))
                .transpose()
        })
    }

    async fn unconfirmed_frames(&self) -> Result<Vec<PostedFrame>, StoreError> {
        on_pool!(self, pool => {
            sqlx::query(
                concat!(
                    "SELECT ",
                    frame_columns!(),
                    " FROM posted_frames WHERE l1_block IS NULL ORDER BY first_block, channel_id, frame_number"
                ),
            )
            .fetch_all(pool)
            .await?
            .iter()
            .map(frame_row)
            .collect()
        })
    }

    async fn transaction_bytes_after(&self, block: u64) -> Result<u64, StoreError> {
        let block = int(block)?;
        on_pool!(self, pool => {
            sqlx::query(
                "SELECT CAST(COALESCE(SUM(LENGTH(raw)), 0) AS BIGINT) FROM transactions \
                 WHERE block_number > $1",
            )
            .bind(block)
            .fetch_one(pool)
            .await?
            .u64(0)
        })
    }

    async fn put_l1_transactions(
        &self,
        transactions: &[L1Transaction],
        frames: &[PostedFrame],
    ) -> Result<(), StoreError> {
        on_pool!(self, pool => {
            let mut tx = begin_write(pool).await?;
            for transaction in transactions {
                sqlx::query(
                    "INSERT INTO l1_transactions (hash, intent, sender, nonce, raw, purpose, status, \
                     l1_block, l1_block_hash, sent_at_ms) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10) \
                     ON CONFLICT (hash) DO UPDATE SET intent = excluded.intent, sender = excluded.sender, \
                     nonce = excluded.nonce, raw = excluded.raw, purpose = excluded.purpose, \
                     status = excluded.status, l1_block = excluded.l1_block, \
                     l1_block_hash = excluded.l1_block_hash, sent_at_ms = excluded.sent_at_ms",
                )
                .bind(transaction.hash.as_slice())
                .bind(transaction.intent.as_slice())
                .bind(transaction.sender.as_slice())
                .bind(int(transaction.nonce)?)
                .bind(transaction.raw.as_ref())
                .bind(transaction.purpose.as_str())
                .bind(transaction.status.as_str())
                .bind(transaction.l1_block.map(|block| int(block.number)).transpose()?)
                .bind(transaction.l1_block.map(|block| block.hash.to_vec()))
                .bind(int(transaction.sent_at_ms)?)
                .execute(&mut *tx)
                .await?;
            }
            for frame in frames {
                insert_frame!(frame)
                .execute(&mut *tx)
                .await?;
            }
            tx.commit().await?;
            Ok(())
        })
    }

    async fn open_l1_transactions(
        &self,
        sender: Address,
    ) -> Result<Vec<L1Transaction>, StoreError> {
        on_pool!(self, pool => {
            sqlx::query(concat!(
                "SELECT ", l1_transaction_columns!(), " FROM l1_transactions \
                 WHERE sender = $1 AND status = 'pending' ORDER BY nonce, sent_at_ms, hash"
            ))
            .bind(sender.as_slice())
            .fetch_all(pool)
            .await?
            .iter()
            .map(l1_transaction_row)
            .collect()
        })
    }

    async fn l1_intent(&self, intent: B256) -> Result<Vec<L1Transaction>, StoreError> {
        on_pool!(self, pool => {
            sqlx::query(concat!(
                "SELECT ", l1_transaction_columns!(), " FROM l1_transactions \
                 WHERE intent = $1 ORDER BY sent_at_ms, hash"
            ))
            .bind(intent.as_slice())
            .fetch_all(pool)
            .await?
            .iter()
            .map(l1_transaction_row)
            .collect()
        })
    }

    async fn max_l1_nonce(&self, sender: Address) -> Result<Option<u64>, StoreError> {
        on_pool!(self, pool => {
            sqlx::query("SELECT MAX(nonce) FROM l1_transactions WHERE sender = $1")
                .bind(sender.as_slice())
                .fetch_one(pool)
                .await?
                .opt_int(0)?
                .map(|nonce| u64::try_from(nonce).map_err(|_| StoreError::Corrupt(format!("negative nonce {nonce}"))))
                .transpose()
        })
    }

    async fn finish_l1_intent(
        &self,
        intent: B256,
        included: B256,
        block: BlockRef,
    ) -> Result<(), StoreError> {
        let number = int(block.number)?;
        on_pool!(self, pool => {
            let mut tx = begin_write(pool).await?;
            sqlx::query(
                "UPDATE l1_transactions SET status = 'superseded', raw = $2 \
                 WHERE intent = $1 AND hash <> $3",
            )
            .bind(intent.as_slice())
            .bind(Vec::<u8>::new())
            .bind(included.as_slice())
            .execute(&mut *tx)
            .await?;
            let confirmed = sqlx::query(
                "UPDATE l1_transactions SET status = 'confirmed', raw = $2, l1_block = $4, \
                 l1_block_hash = $5 WHERE intent = $1 AND hash = $3",
            )
            .bind(intent.as_slice())
            .bind(Vec::<u8>::new())
            .bind(included.as_slice())
            .bind(number)
            .bind(block.hash.as_slice())
            .execute(&mut *tx)
            .await?;
            if confirmed.rows_affected() != 1 {
                return Err(StoreError::Corrupt(format!(
                    "L1 transaction {included} is not an attempt of intent {intent}"
                )));
            }
            sqlx::query("UPDATE posted_frames SET l1_tx_hash = $2, l1_block = $3 WHERE l1_tx_hash = $1")
                .bind(intent.as_slice())
                .bind(included.as_slice())
                .bind(number)
                .execute(&mut *tx)
                .await?;
            tx.commit().await?;
            Ok(())
        })
    }

    async fn put_proposal(&self, proposal: &Proposal) -> Result<(), StoreError> {
        let index = proposal.oracle_index.map(int).transpose()?;
        on_pool!(self, pool => {
            sqlx::query(
                "INSERT INTO proposals (l2_block_number, output_root, oracle_index, l1_tx_hash, status, \
                 finalizes_at) VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (l2_block_number) DO UPDATE \
                 SET output_root = excluded.output_root, oracle_index = excluded.oracle_index, \
                 l1_tx_hash = excluded.l1_tx_hash, status = excluded.status, \
                 finalizes_at = excluded.finalizes_at",
            )
            .bind(int(proposal.l2_block_number)?)
            .bind(proposal.output_root.as_slice())
            .bind(index)
            .bind(proposal.l1_tx_hash.map(|hash| hash.to_vec()))
            .bind(proposal.status.as_str())
            .bind(proposal.finalizes_at.map(int).transpose()?)
            .execute(pool)
            .await?;
            Ok(())
        })
    }

    async fn proposals(&self, from: u64) -> Result<Vec<Proposal>, StoreError> {
        on_pool!(self, pool => {
            sqlx::query(
                "SELECT l2_block_number, output_root, oracle_index, l1_tx_hash, status, finalizes_at \
                 FROM proposals WHERE l2_block_number >= $1 ORDER BY l2_block_number",
            )
            .bind(int(from)?)
            .fetch_all(pool)
            .await?
            .iter()
            .map(proposal_row)
            .collect()
        })
    }

    async fn put_dispute_game(&self, game: &DisputeGameRecord) -> Result<(), StoreError> {
        on_pool!(self, pool => {
            sqlx::query(
                "INSERT INTO dispute_games (address, oracle_index, role, status, state, updated_block) \
                 VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (address) DO UPDATE SET \
                 oracle_index = excluded.oracle_index, role = excluded.role, \
                 status = excluded.status, state = excluded.state, \
                 updated_block = excluded.updated_block",
            )
            .bind(game.address.as_slice())
            .bind(int(game.oracle_index)?)
            .bind(game.role.as_str())
            .bind(game.status.as_str())
            .bind(game.state.as_ref())
            .bind(int(game.updated_block)?)
            .execute(pool)
            .await?;
            Ok(())
        })
    }

    async fn dispute_games(&self) -> Result<Vec<DisputeGameRecord>, StoreError> {
        on_pool!(self, pool => {
            sqlx::query(
                "SELECT address, oracle_index, role, status, state, updated_block \
                 FROM dispute_games ORDER BY oracle_index, address",
            )
            .fetch_all(pool)
            .await?
            .iter()
            .map(game_row)
            .collect()
        })
    }

    async fn put_pending_transactions(
        &self,
        transactions: &[StoredTransaction],
    ) -> Result<(), StoreError> {
        on_pool!(self, pool => {
            let mut tx = begin_write(pool).await?;
            let arrival: i64 = sqlx::query("SELECT COALESCE(MAX(arrival), 0) FROM pending_transactions")
                .fetch_one(&mut *tx)
                .await?
                .int(0)?;
            insert_pending!(&mut *tx, transactions, arrival + 1);
            tx.commit().await?;
            Ok(())
        })
    }

    async fn remove_pending_transactions(&self, hashes: &[B256]) -> Result<(), StoreError> {
        for chunk in hashes.chunks(CHUNK) {
            on_pool!(self, pool => {
                let mut delete = QueryBuilder::new("DELETE FROM pending_transactions WHERE hash IN (");
                let mut list = delete.separated(", ");
                for hash in chunk {
                    list.push_bind(hash.as_slice());
                }
                list.push_unseparated(")");
                delete.build().execute(pool).await?;
            });
        }
        Ok(())
    }

    async fn pending_transactions(&self) -> Result<Vec<StoredTransaction>, StoreError> {
        on_pool!(self, pool => {
            sqlx::query("SELECT hash, sender, raw FROM pending_transactions ORDER BY arrival")
                .fetch_all(pool)
                .await?
                .iter()
                .map(|row| Ok(StoredTransaction {
                    hash: row.b256(0)?,
                    sender: row.address(1)?,
                    raw: Bytes::from(row.bytes(2)?),
                }))
                .collect()
        })
    }

    async fn pruned_below(&self) -> Result<u64, StoreError> {
        on_pool!(self, pool => {
            sqlx::query("SELECT value FROM meta WHERE key = 'pruned_below'")
                .fetch_optional(pool)
                .await?
                .map_or(Ok(0), |row| row.u64(0))
        })
    }

    async fn prune_state(&self, keep_from: u64) -> Result<PruneStats, StoreError> {
        // What was pruned stays pruned: never claim older state is back.
        let keep_from = keep_from.max(self.pruned_below().await?);
        let keep = int(keep_from)?;
        let head = self.head(HeadKind::Unsafe).await?;
        if head.is_none_or(|head| head.number < keep_from) {
            return Err(StoreError::UnknownBlock(keep_from));
        }
        // Mark: every node reachable from a retained block's state root.
        let roots: Vec<B256> = on_pool!(self, pool => {
            sqlx::query("SELECT DISTINCT state_root FROM blocks WHERE number >= $1")
                .bind(keep)
                .fetch_all(pool)
                .await?
                .iter()
                .map(|row| row.b256(0))
                .collect::<Result<_, StoreError>>()?
        });
        let mut reachable: HashSet<B256> = HashSet::new();
        let mut storage_roots = Vec::new();
        let mut frontier = roots;
        for account_trie in [true, false] {
            while !frontier.is_empty() {
                frontier.retain(|hash| reachable.insert(*hash));
                let mut next = Vec::new();
                for (hash, node) in self.trie_nodes(&frontier).await? {
                    if account_trie {
                        account_node_refs(hash, &node, &mut next, &mut storage_roots)?;
                    } else {
                        child_hashes(hash, &node, &mut next)?;
                    }
                }
                frontier = next;
            }
            frontier = std::mem::take(&mut storage_roots);
        }
        // Sweep: old nodes not marked. Re-checking the age in the DELETE keeps any node that a
        // block committed meanwhile wrote again.
        let candidates: Vec<B256> = on_pool!(self, pool => {
            sqlx::query("SELECT hash FROM trie_nodes WHERE block_number < $1")
                .bind(keep)
                .fetch_all(pool)
                .await?
                .iter()
                .map(|row| row.b256(0))
                .collect::<Result<_, StoreError>>()?
        });
        let doomed: Vec<&B256> = candidates
            .iter()
            .filter(|hash| !reachable.contains(*hash))
            .collect();
        let mut deleted = 0;
        on_pool!(self, pool => {
            let mut tx = begin_write(pool).await?;
            for chunk in doomed.chunks(CHUNK) {
                let mut delete = QueryBuilder::new("DELETE FROM trie_nodes WHERE block_number < ");
                delete.push_bind(keep).push(" AND hash IN (");
                let mut list = delete.separated(", ");
                for hash in chunk {
                    list.push_bind(hash.as_slice());
                }
                list.push_unseparated(")");
                deleted += delete.build().execute(&mut *tx).await?.rows_affected();
            }
            sqlx::query(
                "INSERT INTO meta (key, value) VALUES ('pruned_below', $1) \
                 ON CONFLICT (key) DO UPDATE SET value = excluded.value",
            )
            .bind(keep)
            .execute(&mut *tx)
            .await?;
            tx.commit().await?;
        });
        Ok(PruneStats {
            retained_nodes: reachable.len() as u64,
            deleted_nodes: deleted,
        })
    }
}
