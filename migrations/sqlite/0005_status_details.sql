-- What the operator's status page shows beside each batch and proposal: a frame's size on the DA
-- layer, and when a proposal leaves the challenge window (unix seconds: the L1 timestamp of its
-- proposal plus the oracle's window). NULL for rows written before these columns.
ALTER TABLE posted_frames ADD COLUMN size_bytes INTEGER;
ALTER TABLE proposals ADD COLUMN finalizes_at INTEGER;
