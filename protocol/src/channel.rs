//! Channels: batches concatenated and compressed together, so one L1 post amortises the
//! compression dictionary over many blocks.
//!
//! Channel data: `compression:u8 ‖ compressed(rlp_bytes(batch_0) ‖ rlp_bytes(batch_1) ‖ …)`,
//! where `rlp_bytes(b)` is the RLP byte-string wrapping of a batch's encoding
//! ([`crate::batch`]) and the compression byte is [`COMPRESSION_ZSTD`] (`0x01`, a zstd stream)
//! or [`COMPRESSION_BROTLI`] (`0x02`, a brotli stream). Derivation accepts both whatever the
//! batcher is configured to write.
//!
//! Decoding is all-or-nothing and bounded: output beyond the configured limit, a truncated or
//! corrupt stream, or any malformed batch rejects the whole channel, and never allocates more
//! than the limit (plus the decompressor's window) however the input was crafted.

use std::io::{Read, Write};

use alloy_primitives::B128;
use alloy_rlp::Header;
use serde::{Deserialize, Serialize};

use crate::batch::{Batch, BatchError};
use crate::frame::{split_channel, Frame, FrameError};

/// Identifies a channel; chosen at random by the batcher so channels never collide.
pub type ChannelId = B128;

/// Compression byte of a zstd channel.
pub const COMPRESSION_ZSTD: u8 = 0x01;
/// Compression byte of a brotli channel.
pub const COMPRESSION_BROTLI: u8 = 0x02;

/// Largest zstd window (2^24 = 16 MiB) a channel may ask the decoder for; bounds decoder memory
/// whatever a crafted frame header claims.
const ZSTD_WINDOW_LOG_MAX: u32 = 24;
/// Brotli window used when compressing (2^22 = 4 MiB).
const BROTLI_LGWIN: u32 = 22;

/// Compression algorithm of a channel.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Compression {
    /// zstd: fast, good ratio; the default.
    #[default]
    Zstd,
    /// brotli: slower, usually a few percent smaller on transaction data.
    Brotli,
}

impl Compression {
    /// The channel's first byte for this algorithm.
    pub fn tag(self) -> u8 {
        match self {
            Self::Zstd => COMPRESSION_ZSTD,
            Self::Brotli => COMPRESSION_BROTLI,
        }
    }

    /// The algorithm a channel's first byte names, if any.
    pub fn from_tag(tag: u8) -> Option<Self> {
        match tag {
            COMPRESSION_ZSTD => Some(Self::Zstd),
            COMPRESSION_BROTLI => Some(Self::Brotli),
            _ => None,
        }
    }

    /// Default level for the batcher: zstd 9 / brotli quality 9 compress a 120 KB channel in
    /// milliseconds; higher levels gain little on already dense transaction data.
    pub fn default_level(self) -> u32 {
        9
    }

    /// Compresses `raw` (without the tag byte) at `level` (zstd 1..=19, brotli 0..=11, clamped).
    pub fn compress(self, raw: &[u8], level: u32) -> Vec<u8> {
        match self {
            Self::Zstd => {
                let level = i32::try_from(level.clamp(1, 19)).unwrap_or(3);
                // Writing into a Vec cannot fail; an error here would be a zstd bug.
                zstd::stream::encode_all(raw, level).unwrap_or_default()
            }
            Self::Brotli => {
                let mut writer =
                    brotli::CompressorWriter::new(Vec::new(), 4096, level.min(11), BROTLI_LGWIN);
                // Writing into a Vec cannot fail.
                let _ = writer.write_all(raw);
                writer.into_inner()
            }
        }
    }
}

/// Why channel data was rejected.
#[derive(Debug, thiserror::Error)]
pub enum ChannelError {
    /// No bytes.
    #[error("empty channel")]
    Empty,
    /// An unknown compression byte.
    #[error("unknown compression byte {0:#04x}")]
    UnknownCompression(u8),
    /// The compressed stream is corrupt or truncated.
    #[error("decompression failed")]
    Decompress(#[source] std::io::Error),
    /// The stream decompresses to more than the limit (a zip bomb, or a batcher bug).
    #[error("channel decompresses to more than {limit} bytes")]
    TooLarge {
        /// The limit in force.
        limit: usize,
    },
    /// The decompressed stream is not a sequence of RLP byte strings.
    #[error("channel framing: {0}")]
    Rlp(alloy_rlp::Error),
    /// One of the batches is malformed.
    #[error("batch {index} in channel: {source}")]
    Batch {
        /// Position of the batch in the channel.
        index: usize,
        /// What was wrong with it.
        source: BatchError,
    },
}

/// Decompresses channel data (tag byte included), reading at most `limit` bytes of output.
pub fn decompress(data: &[u8], limit: usize) -> Result<Vec<u8>, ChannelError> {
    let (&tag, compressed) = data.split_first().ok_or(ChannelError::Empty)?;
    let compression = Compression::from_tag(tag).ok_or(ChannelError::UnknownCompression(tag))?;
    let cap = u64::try_from(limit).unwrap_or(u64::MAX).saturating_add(1);
    let mut out = Vec::new();
    match compression {
        Compression::Zstd => {
            let mut decoder = zstd::stream::read::Decoder::with_buffer(compressed)
                .map_err(ChannelError::Decompress)?;
            decoder
                .window_log_max(ZSTD_WINDOW_LOG_MAX)
                .map_err(ChannelError::Decompress)?;
            decoder
                .take(cap)
                .read_to_end(&mut out)
                .map_err(ChannelError::Decompress)?;
        }
        Compression::Brotli => {
            brotli::Decompressor::new(compressed, 4096)
                .take(cap)
                .read_to_end(&mut out)
                .map_err(ChannelError::Decompress)?;
        }
    }
    if out.len() > limit {
        return Err(ChannelError::TooLarge { limit });
    }
    Ok(out)
}

/// Decodes channel data into its batches; `limit` caps the decompressed size.
pub fn decode_channel(data: &[u8], limit: usize) -> Result<Vec<Batch>, ChannelError> {
    let raw = decompress(data, limit)?;
    let mut rest = &raw[..];
    let mut batches = Vec::new();
    while !rest.is_empty() {
        let bytes = Header::decode_bytes(&mut rest, false).map_err(ChannelError::Rlp)?;
        let batch = Batch::decode(bytes).map_err(|source| ChannelError::Batch {
            index: batches.len(),
            source,
        })?;
        batches.push(batch);
    }
    Ok(batches)
}

/// Appends `batch` to an uncompressed channel stream.
fn append_batch(raw: &mut Vec<u8>, batch: &Batch) {
    let encoded = batch.encode();
    Header {
        list: false,
        payload_length: encoded.len(),
    }
    .encode(raw);
    raw.extend_from_slice(&encoded);
}

/// Encodes `batches` as one channel in a single call (tests and tools; the batcher uses
/// [`ChannelBuilder`] to respect a size target).
pub fn encode_channel(batches: &[Batch], compression: Compression, level: u32) -> Vec<u8> {
    let mut raw = Vec::new();
    for batch in batches {
        append_batch(&mut raw, batch);
    }
    let mut out = vec![compression.tag()];
    out.extend_from_slice(&compression.compress(&raw, level));
    out
}

/// Why the builder did not take a batch.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
pub enum BuilderError {
    /// The channel reached its target size: close it, post it, and add the batch to a new one.
    #[error("channel is full")]
    Full,
    /// The batch alone exceeds the decompressed limit: no channel can carry it, so the
    /// sequencer must never build such a block.
    #[error("batch of {size} bytes exceeds the channel limit of {limit} bytes")]
    BatchTooLarge {
        /// Encoded batch size.
        size: usize,
        /// Decompressed channel limit.
        limit: usize,
    },
}

/// Fills one channel for the batcher: add batches until it reports [`BuilderError::Full`], then
/// [`close`](Self::close) it and cut the result into frames.
///
/// The compressed size is tracked exactly whenever it could cross the target (the channel is
/// recompressed then) and bounded cheaply otherwise, so building costs a handful of
/// compressions per channel rather than one per batch.
#[derive(Debug)]
pub struct ChannelBuilder {
    id: ChannelId,
    compression: Compression,
    level: u32,
    target: usize,
    limit: usize,
    raw: Vec<u8>,
    batches: usize,
    /// Upper bound of the compressed size (exact after a recompression).
    compressed_bound: usize,
}

impl ChannelBuilder {
    /// A channel `id` aiming for `target` compressed bytes (tag included), holding at most
    /// `limit` decompressed bytes (the rollup's `max_channel_decompressed_size`).
    pub fn new(id: ChannelId, compression: Compression, target: usize, limit: usize) -> Self {
        Self {
            id,
            compression,
            level: compression.default_level(),
            target,
            limit,
            raw: Vec::new(),
            batches: 0,
            compressed_bound: 1,
        }
    }

    /// Overrides the compression level (zstd 1..=19, brotli 0..=11).
    pub fn with_level(mut self, level: u32) -> Self {
        self.level = level;
        self
    }

    /// Adds one L2 block's batch. The first batch is always taken (if under the limit), so a
    /// block larger than the target still gets posted, alone.
    pub fn add_batch(&mut self, batch: &Batch) -> Result<(), BuilderError> {
        let mut candidate = std::mem::take(&mut self.raw);
        let before = candidate.len();
        append_batch(&mut candidate, batch);
        let added = candidate.len() - before;
        if candidate.len() > self.limit {
            candidate.truncate(before);
            self.raw = candidate;
            return if self.batches == 0 {
                Err(BuilderError::BatchTooLarge {
                    size: added,
                    limit: self.limit,
                })
            } else {
                Err(BuilderError::Full)
            };
        }
        // Compressing the new bytes on their own never beats raw storage by much: zstd and
        // brotli both fall back to stored blocks, costing a few bytes per 128 KiB.
        let bound = self.compressed_bound + added + 16 + added / 1024;
        if self.batches == 0 || bound <= self.target {
            self.compressed_bound = bound;
        } else {
            let exact = 1 + self.compression.compress(&candidate, self.level).len();
            if exact > self.target {
                candidate.truncate(before);
                self.raw = candidate;
                return Err(BuilderError::Full);
            }
            self.compressed_bound = exact;
        }
        self.raw = candidate;
        self.batches += 1;
        Ok(())
    }

    /// Batches added so far.
    pub fn batch_count(&self) -> usize {
        self.batches
    }

    /// Uncompressed bytes so far.
    pub fn uncompressed_len(&self) -> usize {
        self.raw.len()
    }

    /// Compresses the channel for posting.
    pub fn close(self) -> ClosedChannel {
        let mut data = vec![self.compression.tag()];
        data.extend_from_slice(&self.compression.compress(&self.raw, self.level));
        ClosedChannel {
            id: self.id,
            data,
            batches: self.batches,
            uncompressed_len: self.raw.len(),
        }
    }
}

/// A finished channel: its bytes and what the metrics report about it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ClosedChannel {
    /// Channel id, repeated in every frame.
    pub id: ChannelId,
    /// Channel data: compression byte ‖ compressed stream.
    pub data: Vec<u8>,
    /// Number of batches (L2 blocks) inside.
    pub batches: usize,
    /// Size before compression.
    pub uncompressed_len: usize,
}

impl ClosedChannel {
    /// Uncompressed / compressed size: the metric the batcher reports.
    pub fn compression_ratio(&self) -> f64 {
        self.uncompressed_len as f64 / self.data.len().max(1) as f64
    }

    /// Cuts the channel into frames whose inbox payloads (version byte + one frame) are at
    /// most `max_payload` bytes: 120,000 for calldata, [`crate::blob::MAX_BLOB_DATA_LEN`] per blob.
    pub fn frames(&self, max_payload: usize) -> Result<Vec<Frame>, FrameError> {
        split_channel(self.id, &self.data, max_payload)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::batch::tests::arb_batch;
    use proptest::prelude::*;

    const LIMIT: usize = 10_000_000;

    #[test]
    fn both_compressions_round_trip() {
        let batches: Vec<Batch> = (0..20)
            .map(|i| Batch {
                timestamp_ms: i * 1000,
                transactions: vec![vec![2u8; 300].into(); 5],
                ..Default::default()
            })
            .collect();
        for compression in [Compression::Zstd, Compression::Brotli] {
            let data = encode_channel(&batches, compression, 9);
            assert_eq!(data[0], compression.tag());
            assert!(
                data.len() < 2000,
                "{compression:?} compressed to {}",
                data.len()
            );
            assert_eq!(decode_channel(&data, LIMIT).expect("decodes"), batches);
        }
        assert!(
            decode_channel(&encode_channel(&[], Compression::Zstd, 3), LIMIT)
                .expect("empty channel")
                .is_empty()
        );
    }

    #[test]
    fn zip_bombs_are_cut_off() {
        let batch = Batch {
            transactions: vec![vec![0u8; 1_000_000].into()],
            ..Default::default()
        };
        for compression in [Compression::Zstd, Compression::Brotli] {
            let data = encode_channel(&vec![batch.clone(); 30], compression, 3);
            assert!(data.len() < 50_000);
            assert!(matches!(
                decode_channel(&data, LIMIT),
                Err(ChannelError::TooLarge { limit: LIMIT })
            ));
            assert!(decode_channel(&data, 40_000_000).is_ok());
        }
    }

    #[test]
    fn truncated_and_garbage_streams_fail() {
        let batches = vec![Batch {
            transactions: vec![vec![7u8; 5000].into(), vec![1, 2, 3].into()],
            ..Default::default()
        }];
        for compression in [Compression::Zstd, Compression::Brotli] {
            let data = encode_channel(&batches, compression, 9);
            for cut in [1, data.len() / 2, data.len() - 1] {
                assert!(
                    decode_channel(&data[..cut], LIMIT).is_err(),
                    "{compression:?} truncated to {cut} bytes decoded"
                );
            }
        }
        assert!(matches!(
            decode_channel(&[], LIMIT),
            Err(ChannelError::Empty)
        ));
        assert!(matches!(
            decode_channel(&[9, 1, 2], LIMIT),
            Err(ChannelError::UnknownCompression(9))
        ));
        // A valid stream whose content is not RLP-framed batches.
        let mut not_batches = vec![COMPRESSION_ZSTD];
        not_batches.extend_from_slice(&Compression::Zstd.compress(b"\x83abc", 3));
        assert!(matches!(
            decode_channel(&not_batches, LIMIT),
            Err(ChannelError::Batch { index: 0, .. })
        ));
    }

    #[test]
    fn builder_respects_the_target() {
        let mut seed = 1u64;
        let mut noise = |n: usize| -> Vec<u8> {
            (0..n)
                .map(|_| {
                    seed = seed
                        .wrapping_mul(6364136223846793005)
                        .wrapping_add(1442695040888963407);
                    (seed >> 56) as u8
                })
                .collect()
        };
        for compression in [Compression::Zstd, Compression::Brotli] {
            let mut builder = ChannelBuilder::new(ChannelId::ZERO, compression, 20_000, LIMIT);
            let mut added = Vec::new();
            loop {
                let batch = Batch {
                    timestamp_ms: added.len() as u64,
                    transactions: vec![noise(500).into(), vec![0u8; 500].into()],
                    ..Default::default()
                };
                match builder.add_batch(&batch) {
                    Ok(()) => added.push(batch),
                    Err(BuilderError::Full) => break,
                    Err(other) => panic!("{other}"),
                }
            }
            assert!(added.len() > 10);
            let closed = builder.close();
            assert!(closed.data.len() <= 20_000, "{}", closed.data.len());
            // Within one batch of the target: the builder does not close channels early.
            assert!(closed.data.len() > 20_000 - 1_200, "{}", closed.data.len());
            assert!(closed.compression_ratio() > 1.5);
            assert_eq!(closed.batches, added.len());
            assert_eq!(decode_channel(&closed.data, LIMIT).expect("decodes"), added);
        }
        let mut small = ChannelBuilder::new(ChannelId::ZERO, Compression::Zstd, 10, 100);
        let big = Batch {
            transactions: vec![vec![0u8; 200].into()],
            ..Default::default()
        };
        assert!(matches!(
            small.add_batch(&big),
            Err(BuilderError::BatchTooLarge { .. })
        ));
        let medium = Batch {
            transactions: vec![vec![0u8; 20].into()],
            ..Default::default()
        };
        // Over the target but under the limit: the first batch is taken anyway.
        assert_eq!(small.add_batch(&medium), Ok(()));
        assert_eq!(small.add_batch(&medium), Err(BuilderError::Full));
    }

    proptest! {
        #[test]
        fn garbage_channels_never_panic(
            tag in prop_oneof![Just(COMPRESSION_ZSTD), Just(COMPRESSION_BROTLI), any::<u8>()],
            bytes in proptest::collection::vec(any::<u8>(), 0..500),
        ) {
            let mut data = vec![tag];
            data.extend_from_slice(&bytes);
            let _ = decode_channel(&data, 100_000);
        }

        #[test]
        fn mutated_channels_never_panic(
            batches in proptest::collection::vec(arb_batch(), 1..4),
            brotli in any::<bool>(),
            flips in proptest::collection::vec((any::<proptest::sample::Index>(), any::<u8>()), 1..4),
        ) {
            let compression = if brotli { Compression::Brotli } else { Compression::Zstd };
            let mut data = encode_channel(&batches, compression, 3);
            prop_assert_eq!(decode_channel(&data, LIMIT).expect("valid"), batches);
            for (index, byte) in flips {
                let i = index.index(data.len());
                data[i] ^= byte;
            }
            let _ = decode_channel(&data, LIMIT);
        }
    }
}
