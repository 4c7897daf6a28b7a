//! Batches: one L2 block's inputs as the batcher posts them.
//!
//! Encoding (version 0): `0x00 ‖ rlp([parent_hash, l1_origin_number, l1_origin_hash,
//! timestamp_ms, [tx_0, tx_1, …]])`, each `tx_i` an RLP byte string holding the transaction's
//! EIP-2718 encoding. Deposits are not in batches: derivation rebuilds them from L1.
//!
//! The timestamp is in milliseconds because blocks may be 100 ms apart: the EVM header carries
//! whole seconds (`timestamp_ms / 1000`), which repeat across sub-second blocks, while derivation
//! needs one distinct time per block to order batches.

use alloy_primitives::{Bytes, B256};
use alloy_rlp::{Decodable, Encodable, Header};

use crate::block::BlockId;

/// The only batch version so far.
pub const BATCH_VERSION_0: u8 = 0;

/// The inputs of one L2 block that derivation cannot rebuild from L1 alone.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Batch {
    /// Hash of the L2 block this one builds on.
    pub parent_hash: B256,
    /// The L1 block the L2 block was built on (its epoch).
    pub l1_origin: BlockId,
    /// L2 block time in milliseconds since the Unix epoch.
    pub timestamp_ms: u64,
    /// EIP-2718 encodings of the block's non-deposit transactions, in order.
    pub transactions: Vec<Bytes>,
}

/// Bytes that are not a valid batch.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum BatchError {
    /// No bytes.
    #[error("empty batch")]
    Empty,
    /// A version this node does not know.
    #[error("unknown batch version {0}")]
    UnknownVersion(u8),
    /// Malformed RLP.
    #[error("batch RLP: {0}")]
    Rlp(alloy_rlp::Error),
    /// Bytes after the list, or extra list items.
    #[error("batch has trailing bytes")]
    TrailingBytes,
}

impl From<alloy_rlp::Error> for BatchError {
    fn from(error: alloy_rlp::Error) -> Self {
        Self::Rlp(error)
    }
}

impl Batch {
    /// The batch of an L2 block from its transactions as executed: deposits (type `0x7E`) are
    /// left out, since derivation rebuilds them from L1 and rejects batches carrying one.
    pub fn from_block<'a>(
        parent_hash: B256,
        l1_origin: BlockId,
        timestamp_ms: u64,
        transactions: impl IntoIterator<Item = &'a Bytes>,
    ) -> Self {
        Self {
            parent_hash,
            l1_origin,
            timestamp_ms,
            transactions: transactions
                .into_iter()
                .filter(|tx| tx.first() != Some(&crate::deposit::DEPOSIT_TX_TYPE))
                .cloned()
                .collect(),
        }
    }

    fn txs_payload_len(&self) -> usize {
        self.transactions.iter().map(Encodable::length).sum()
    }

    fn fields_len(&self) -> usize {
        let txs = self.txs_payload_len();
        self.parent_hash.length()
            + self.l1_origin.number.length()
            + self.l1_origin.hash.length()
            + self.timestamp_ms.length()
            + Header {
                list: true,
                payload_length: txs,
            }
            .length()
            + txs
    }

    /// Version-0 encoding (module docs).
    pub fn encode(&self) -> Vec<u8> {
        let payload_length = self.fields_len();
        let header = Header {
            list: true,
            payload_length,
        };
        let mut out = Vec::with_capacity(1 + header.length() + payload_length);
        out.push(BATCH_VERSION_0);
        header.encode(&mut out);
        self.parent_hash.encode(&mut out);
        self.l1_origin.number.encode(&mut out);
        self.l1_origin.hash.encode(&mut out);
        self.timestamp_ms.encode(&mut out);
        Header {
            list: true,
            payload_length: self.txs_payload_len(),
        }
        .encode(&mut out);
        for tx in &self.transactions {
            tx.encode(&mut out);
        }
        out
    }

    /// Strict decoding of [`encode`](Self::encode)'s output: canonical RLP, nothing left over.
    pub fn decode(bytes: &[u8]) -> Result<Self, BatchError> {
        let (&version, mut rest) = bytes.split_first().ok_or(BatchError::Empty)?;
        if version != BATCH_VERSION_0 {
            return Err(BatchError::UnknownVersion(version));
        }
        let mut body = Header::decode_bytes(&mut rest, true)?;
        if !rest.is_empty() {
            return Err(BatchError::TrailingBytes);
        }
        let parent_hash = B256::decode(&mut body)?;
        let number = u64::decode(&mut body)?;
        let hash = B256::decode(&mut body)?;
        let timestamp_ms = u64::decode(&mut body)?;
        let mut txs = Header::decode_bytes(&mut body, true)?;
        if !body.is_empty() {
            return Err(BatchError::TrailingBytes);
        }
        let mut transactions = Vec::new();
        while !txs.is_empty() {
            transactions.push(Bytes::decode(&mut txs)?);
        }
        Ok(Self {
            parent_hash,
            l1_origin: BlockId { number, hash },
            timestamp_ms,
            transactions,
        })
    }

    /// Encoded size, for channel budgeting without encoding twice.
    pub fn encoded_len(&self) -> usize {
        let payload_length = self.fields_len();
        1 + Header {
            list: true,
            payload_length,
        }
        .length()
            + payload_length
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use proptest::prelude::*;

    pub(crate) fn arb_batch() -> impl Strategy<Value = Batch> {
        (
            any::<[u8; 32]>(),
            any::<u64>(),
            any::<[u8; 32]>(),
            any::<u64>(),
            proptest::collection::vec(proptest::collection::vec(any::<u8>(), 0..200), 0..8),
        )
            .prop_map(|(parent, number, hash, timestamp_ms, txs)| Batch {
                parent_hash: parent.into(),
                l1_origin: BlockId {
                    number,
                    hash: hash.into(),
                },
                timestamp_ms,
                transactions: txs.into_iter().map(Bytes::from).collect(),
            })
    }

    #[test]
    fn layout() {
        let batch = Batch {
            parent_hash: B256::repeat_byte(1),
            l1_origin: BlockId {
                number: 5,
                hash: B256::repeat_byte(2),
            },
            timestamp_ms: 1000,
            transactions: vec![Bytes::from_static(&[0x02, 0xaa])],
        };
        let encoded = batch.encode();
        // 0x00 ‖ list(33 + 1 + 33 + 3 + list(3)) = 0x00 ‖ f8 4a ‖ a0 01… ‖ 05 ‖ a0 02… ‖ 82 03e8 ‖ c3 82 02aa
        assert_eq!(encoded[0], 0);
        assert_eq!(&encoded[1..3], &[0xf8, 74]);
        assert_eq!(&encoded[encoded.len() - 4..], &[0xc3, 0x82, 0x02, 0xaa]);
        assert_eq!(encoded.len(), batch.encoded_len());
        assert_eq!(Batch::decode(&encoded), Ok(batch));
    }

    #[test]
    fn from_block_leaves_deposits_out() {
        let txs = [
            Bytes::from_static(&[0x7e, 1]),
            Bytes::from_static(&[0x02, 2]),
            Bytes::from_static(&[0x7e, 3]),
            Bytes::from_static(&[0xf8, 4]),
        ];
        let batch = Batch::from_block(B256::ZERO, BlockId::default(), 7, &txs);
        assert_eq!(batch.transactions, vec![txs[1].clone(), txs[3].clone()]);
        assert_eq!(batch.timestamp_ms, 7);
    }

    proptest! {
        #[test]
        fn round_trip(batch in arb_batch()) {
            let encoded = batch.encode();
            prop_assert_eq!(encoded.len(), batch.encoded_len());
            prop_assert_eq!(Batch::decode(&encoded), Ok(batch));
        }

        #[test]
        fn garbage_never_panics(bytes in proptest::collection::vec(any::<u8>(), 0..300)) {
            let mut versioned = vec![BATCH_VERSION_0];
            versioned.extend_from_slice(&bytes);
            for input in [&bytes[..], &versioned[..]] {
                if let Ok(batch) = Batch::decode(input) {
                    prop_assert_eq!(&batch.encode()[..], input);
                }
            }
        }
    }
}
