-- The hash of each channel's last L2 block, so a batcher can tell whether the blocks it posted
-- are still the chain's after an L2 reorg (the sequencer adopting a block L1 forced in, or L1
-- reorging an origin away) and post the replacements. NULL for frames posted before this column.
ALTER TABLE posted_frames ADD COLUMN last_block_hash BLOB;
