-- Parallax chain store, SQLite flavour. Keep in step with ../postgres/0001_chain.sql: the same
-- tables and columns, only the SQL types differ (BLOB/INTEGER here, BYTEA/BIGINT there).
-- Hashes and addresses are raw bytes; u64 quantities are signed 64-bit integers.

-- One row per sealed L2 block. `header` is the RLP of the Ethereum header whose keccak is `hash`.
CREATE TABLE blocks (
    number           INTEGER PRIMARY KEY,
    hash             BLOB    NOT NULL UNIQUE,
    parent_hash      BLOB    NOT NULL,
    timestamp        INTEGER NOT NULL,
    state_root       BLOB    NOT NULL,
    l1_origin_number INTEGER NOT NULL,
    l1_origin_hash   BLOB    NOT NULL,
    header           BLOB    NOT NULL
);

-- Transactions as EIP-2718 bytes (including deposit type 0x7E), with the recovered sender.
CREATE TABLE transactions (
    hash         BLOB    PRIMARY KEY,
    block_number INTEGER NOT NULL REFERENCES blocks(number) ON DELETE CASCADE,
    tx_index     INTEGER NOT NULL,
    sender       BLOB    NOT NULL,
    raw          BLOB    NOT NULL,
    UNIQUE (block_number, tx_index)
);

CREATE TABLE receipts (
    block_number        INTEGER NOT NULL REFERENCES blocks(number) ON DELETE CASCADE,
    tx_index            INTEGER NOT NULL,
    tx_type             INTEGER NOT NULL,
    success             INTEGER NOT NULL,
    gas_used            INTEGER NOT NULL,
    cumulative_gas_used INTEGER NOT NULL,
    effective_gas_price BLOB    NOT NULL,
    contract_address    BLOB,
    first_log_index     INTEGER NOT NULL,
    PRIMARY KEY (block_number, tx_index)
);

-- Logs with their topics in columns so eth_getLogs filters use indexes. Unused topics are NULL.
CREATE TABLE logs (
    block_number INTEGER NOT NULL REFERENCES blocks(number) ON DELETE CASCADE,
    log_index    INTEGER NOT NULL,
    tx_index     INTEGER NOT NULL,
    address      BLOB    NOT NULL,
    topic0       BLOB,
    topic1       BLOB,
    topic2       BLOB,
    topic3       BLOB,
    data         BLOB    NOT NULL,
    PRIMARY KEY (block_number, log_index)
);
CREATE INDEX logs_by_address ON logs (address, block_number);
CREATE INDEX logs_by_topic0 ON logs (topic0, block_number);
CREATE INDEX logs_by_topic1 ON logs (topic1, block_number);
CREATE INDEX logs_by_topic2 ON logs (topic2, block_number);
CREATE INDEX logs_by_topic3 ON logs (topic3, block_number);

-- Merkle-Patricia nodes by keccak of their RLP, shared by every block whose trie contains them.
-- `block_number` is the block that first wrote the node (pruning keeps newer nodes unexamined).
CREATE TABLE trie_nodes (
    hash         BLOB    PRIMARY KEY,
    node         BLOB    NOT NULL,
    block_number INTEGER NOT NULL
);

CREATE TABLE bytecodes (
    hash BLOB PRIMARY KEY,
    code BLOB NOT NULL
) WITHOUT ROWID;

-- 'unsafe', 'safe', 'finalized'.
CREATE TABLE heads (
    name   TEXT    PRIMARY KEY,
    number INTEGER NOT NULL,
    hash   BLOB    NOT NULL
);

-- L1 blocks used as origins, with the fee data their L2 blocks were charged against.
CREATE TABLE l1_origins (
    number        INTEGER PRIMARY KEY,
    hash          BLOB    NOT NULL,
    parent_hash   BLOB    NOT NULL,
    timestamp     INTEGER NOT NULL,
    base_fee      BLOB    NOT NULL,
    blob_base_fee BLOB    NOT NULL
);

-- Frames the batcher posted, so a restart resumes after the last posted block and a reorged
-- L1 inclusion can be re-posted. `l1_block` is NULL until the transaction is included.
CREATE TABLE posted_frames (
    channel_id   BLOB    NOT NULL,
    frame_number INTEGER NOT NULL,
    first_block  INTEGER NOT NULL,
    last_block   INTEGER NOT NULL,
    da           TEXT    NOT NULL,
    l1_tx_hash   BLOB    NOT NULL,
    l1_block     INTEGER,
    PRIMARY KEY (channel_id, frame_number)
);
CREATE INDEX posted_frames_by_last_block ON posted_frames (last_block);

-- Output roots the proposer posted (or the challenger saw), by L2 block.
CREATE TABLE proposals (
    l2_block_number INTEGER PRIMARY KEY,
    output_root     BLOB    NOT NULL,
    oracle_index    INTEGER,
    l1_tx_hash      BLOB,
    status          TEXT    NOT NULL
);

-- Dispute games a challenger or proposer takes part in; `state` is the player's serialized progress.
CREATE TABLE dispute_games (
    address       BLOB    PRIMARY KEY,
    oracle_index  INTEGER NOT NULL,
    role          TEXT    NOT NULL,
    status        TEXT    NOT NULL,
    state         BLOB    NOT NULL,
    updated_block INTEGER NOT NULL
);

-- Single-valued settings of the store, e.g. 'pruned_below' (state below it is unavailable).
CREATE TABLE meta (
    key   TEXT    PRIMARY KEY,
    value INTEGER NOT NULL
);
