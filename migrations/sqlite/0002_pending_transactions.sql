-- Transactions accepted over RPC and not yet included: the sequencer's pool journal, so an
-- acknowledged transaction survives a restart (re-validated when reloaded).
CREATE TABLE pending_transactions (
    hash    BLOB    PRIMARY KEY,
    sender  BLOB    NOT NULL,
    raw     BLOB    NOT NULL,
    arrival INTEGER NOT NULL
);
