-- The L1 transaction manager's journal (batcher, proposer, challenger): every L1 transaction it
-- signed, written *before* it is broadcast, so a restart neither reuses a nonce nor forgets a
-- transaction that may already be in L1's mempool. One row per signed attempt; fee bumps and
-- re-sends at a new nonce are further attempts of the same `intent` (the hash of its first
-- attempt). `status`: 'pending' while the intent is open, then 'confirmed' for the attempt L1
-- included (with its block) and 'superseded' for the others; `raw` (the network encoding, blob
-- sidecars included) is emptied once the intent is finished.
CREATE TABLE l1_transactions (
    hash          BLOB    PRIMARY KEY,
    intent        BLOB    NOT NULL,
    sender        BLOB    NOT NULL,
    nonce         INTEGER NOT NULL,
    raw           BLOB    NOT NULL,
    purpose       TEXT    NOT NULL,
    status        TEXT    NOT NULL,
    l1_block      INTEGER,
    l1_block_hash BLOB,
    sent_at_ms    INTEGER NOT NULL
);
CREATE INDEX l1_transactions_by_sender_nonce ON l1_transactions (sender, nonce);
CREATE INDEX l1_transactions_by_intent ON l1_transactions (intent);
CREATE INDEX l1_transactions_open ON l1_transactions (sender, status);

-- Frames reference the intent that carries them until it is confirmed.
CREATE INDEX posted_frames_by_l1_tx ON posted_frames (l1_tx_hash);
CREATE INDEX posted_frames_unconfirmed ON posted_frames (first_block) WHERE l1_block IS NULL;
