-- Transactions accepted over RPC and not yet included: the sequencer's pool journal, so an
-- acknowledged transaction survives a restart (re-validated when reloaded).
CREATE TABLE pending_transactions (
    hash    BYTEA   PRIMARY KEY,
    sender  BYTEA   NOT NULL,
    raw     BYTEA   NOT NULL,
    arrival BIGINT  NOT NULL
);
