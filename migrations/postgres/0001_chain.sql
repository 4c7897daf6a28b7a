-- Parallax chain store, PostgreSQL flavour. Keep in step with ../sqlite/0001_chain.sql: the same
-- tables and columns, only the SQL types differ (BYTEA/BIGINT here, BLOB/INTEGER there).
-- Hashes and addresses are raw bytes; u64 quantities are signed 64-bit integers.

-- One row per sealed L2 block. `header` is the RLP of the Ethereum header whose keccak is `hash`.
CREATE TABLE blocks (
    number           BIGINT PRIMARY KEY,
    hash             BYTEA  NOT NULL UNIQUE,
    parent_hash      BYTEA  NOT NULL,
    timestamp        BIGINT NOT NULL,
    state_root       BYTEA  NOT NULL,
    l1_origin_number BIGINT NOT NULL,
    l1_origin_hash   BYTEA  NOT NULL,
    header           BYTEA  NOT NULL
);

-- Transactions as EIP-2718 bytes (including deposit type 0x7E), with the recovered sender.
CREATE TABLE transactions (
    hash         BYTEA  PRIMARY KEY,
    block_number BIGINT NOT NULL REFERENCES blocks(number) ON DELETE CASCADE,
    tx_index     BIGINT NOT NULL,
    sender       BYTEA  NOT NULL,
    raw          BYTEA  NOT NULL,
    UNIQUE (block_number, tx_index)
);

CREATE TABLE receipts (
    block_number        BIGINT NOT NULL REFERENCES blocks(number) ON DELETE CASCADE,
    tx_index            BIGINT NOT NULL,
    tx_type             BIGINT NOT NULL,
    success             BIGINT NOT NULL,
    gas_used            BIGINT NOT NULL,
    cumulative_gas_used BIGINT NOT NULL,
    effective_gas_price BYTEA  NOT NULL,
    contract_address    BYTEA,
    first_log_index     BIGINT NOT NULL,
    PRIMARY KEY (block_number, tx_index)
);

-- Logs with their topics in columns so eth_getLogs filters use indexes. Unused topics are NULL.
CREATE TABLE logs (
    block_number BIGINT NOT NULL REFERENCES blocks(number) ON DELETE CASCADE,
    log_index    BIGINT NOT NULL,
    tx_index     BIGINT NOT NULL,
    address      BYTEA  NOT NULL,
    topic0       BYTEA,
    topic1       BYTEA,
    topic2       BYTEA,
    topic3       BYTEA,
    data         BYTEA  NOT NULL,
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
    hash         BYTEA  PRIMARY KEY,
    node         BYTEA  NOT NULL,
    block_number BIGINT NOT NULL
);

CREATE TABLE bytecodes (
    hash BYTEA PRIMARY KEY,
    code BYTEA NOT NULL
);

-- 'unsafe', 'safe', 'finalized'.
CREATE TABLE heads (
    name   TEXT    PRIMARY KEY,
    number BIGINT NOT NULL,
    hash   BYTEA  NOT NULL
);

-- L1 blocks used as origins, with the fee data their L2 blocks were charged against.
CREATE TABLE l1_origins (
    number        BIGINT PRIMARY KEY,
    hash          BYTEA  NOT NULL,
    parent_hash   BYTEA  NOT NULL,
    timestamp     BIGINT NOT NULL,
    base_fee      BYTEA  NOT NULL,
    blob_base_fee BYTEA  NOT NULL
);

-- Frames the batcher posted, so a restart resumes after the last posted block and a reorged
-- L1 inclusion can be re-posted. `l1_block` is NULL until the transaction is included.
CREATE TABLE posted_frames (
    channel_id   BYTEA  NOT NULL,
    frame_number BIGINT NOT NULL,
    first_block  BIGINT NOT NULL,
    last_block   BIGINT NOT NULL,
    da           TEXT    NOT NULL,
    l1_tx_hash   BYTEA  NOT NULL,
    l1_block     BIGINT ,
    PRIMARY KEY (channel_id, frame_number)
);
CREATE INDEX posted_frames_by_last_block ON posted_frames (last_block);

-- Output roots the proposer posted (or the challenger saw), by L2 block.
CREATE TABLE proposals (
    l2_block_number BIGINT PRIMARY KEY,
    output_root     BYTEA  NOT NULL,
    oracle_index    BIGINT ,
    l1_tx_hash      BYTEA,
    status          TEXT    NOT NULL
);

-- Dispute games a challenger or proposer takes part in; `state` is the player's serialized progress.
CREATE TABLE dispute_games (
    address       BYTEA  PRIMARY KEY,
    oracle_index  BIGINT NOT NULL,
    role          TEXT    NOT NULL,
    status        TEXT    NOT NULL,
    state         BYTEA  NOT NULL,
    updated_block BIGINT NOT NULL
);

-- Single-valued settings of the store, e.g. 'pruned_below' (state below it is unavailable).
CREATE TABLE meta (
    key   TEXT    PRIMARY KEY,
    value BIGINT NOT NULL
);
