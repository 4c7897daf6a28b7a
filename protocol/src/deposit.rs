//! Deposit transactions (EIP-2718 type `0x7E`): L1 → L2 messages that only derivation creates.
//!
//! Two kinds exist: user deposits, decoded from the L1 `Portal`'s `TransactionDeposited` events,
//! and the L1-info deposit derivation puts first in every L2 block ([`crate::l1_info`]). Neither
//! is signed: a deposit's authority is the L1 data it was derived from, which its
//! [`source_hash`](DepositTx::source_hash) names, and that hash also makes every deposit's
//! transaction hash unique. The byte layouts are specified in the crate docs.

use alloy_primitives::{b256, keccak256, Address, Bytes, Log, TxKind, B256, U256};
use alloy_rlp::{Decodable, Encodable, Header};

/// EIP-2718 type byte of deposit transactions.
pub const DEPOSIT_TX_TYPE: u8 = 0x7E;

/// `keccak256("TransactionDeposited(address,address,uint256,bytes)")`: topic 0 of the Portal's
/// deposit event.
pub const TRANSACTION_DEPOSITED_TOPIC: B256 =
    b256!("b3813568d9991fc951961fcb4c784893574240a28925604d09fc577c55bb7c32");

/// The only `opaqueData` layout the Portal emits (topic 3 of the deposit event).
pub const DEPOSIT_EVENT_VERSION: u64 = 0;

/// Bytes of `opaqueData` before the calldata: `mint:32 ‖ value:32 ‖ gasLimit:8 ‖ isCreation:1`.
pub const OPAQUE_DATA_HEADER_LEN: usize = 73;

/// Source-hash domain of user deposits (from Portal events).
pub const USER_DEPOSIT_DOMAIN: u64 = 0;

/// Source-hash domain of L1-info deposits (one per L2 block).
pub const L1_INFO_DEPOSIT_DOMAIN: u64 = 1;

/// A deposit transaction: executed without a signature from `from`, after minting `mint` wei to it.
#[derive(Clone, Debug, PartialEq, Eq, Default)]
pub struct DepositTx {
    /// Unique id of the L1 data this deposit comes from (see [`user_deposit_source_hash`] and
    /// [`l1_info_source_hash`]); makes otherwise identical deposits hash differently.
    pub source_hash: B256,
    /// Sender on L2 (already aliased by the Portal when an L1 contract deposited).
    pub from: Address,
    /// Recipient, or [`TxKind::Create`] for a contract creation.
    pub to: TxKind,
    /// Wei minted to `from` before execution (the ETH locked in the Portal on L1).
    pub mint: U256,
    /// Wei transferred from `from` to `to`.
    pub value: U256,
    /// Gas the deposit may use; it was paid for on L1.
    pub gas_limit: u64,
    /// True only for protocol-generated deposits (the L1-info deposit): the executor must not
    /// charge it against the block gas limit and its failure is a protocol bug, not a receipt.
    pub is_system: bool,
    /// Calldata, or init code for a creation.
    pub data: Bytes,
}

/// Why bytes or a log are not a valid deposit. Input-reachable: never a panic.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum DepositError {
    /// No bytes at all.
    #[error("empty deposit encoding")]
    Empty,
    /// The EIP-2718 type byte is not `0x7E`.
    #[error("transaction type {0:#04x} is not a deposit (0x7e)")]
    WrongType(u8),
    /// The RLP body is malformed.
    #[error("deposit RLP: {0}")]
    Rlp(alloy_rlp::Error),
    /// The RLP list does not span exactly the rest of the input, or has extra fields.
    #[error("deposit RLP has trailing bytes")]
    TrailingBytes,
    /// The log was not emitted by the configured Portal.
    #[error("log emitted by {0}, not the portal")]
    NotFromPortal(Address),
    /// Not a `TransactionDeposited` event (wrong topic 0 or topic count).
    #[error("not a TransactionDeposited event")]
    NotADepositEvent,
    /// An address topic has non-zero upper 12 bytes.
    #[error("address topic {0} is not a left-padded address")]
    BadAddressTopic(B256),
    /// An `opaqueData` version this node does not know.
    #[error("unsupported deposit version {0}")]
    UnsupportedVersion(B256),
    /// The event data is not the ABI encoding of one `bytes` value.
    #[error("event data is not an ABI-encoded bytes value")]
    BadAbiEncoding,
    /// `opaqueData` shorter than its 73-byte header.
    #[error("opaqueData is {0} bytes, shorter than its 73-byte header")]
    OpaqueDataTooShort(usize),
    /// The `isCreation` byte is neither 0 nor 1.
    #[error("isCreation byte {0:#04x} is not a bool")]
    BadIsCreation(u8),
    /// A creation whose `to` topic is not zero (the Portal refuses those).
    #[error("creation deposit with non-zero target {0}")]
    CreationWithTarget(Address),
}

impl From<alloy_rlp::Error> for DepositError {
    fn from(error: alloy_rlp::Error) -> Self {
        Self::Rlp(error)
    }
}

/// A log with its position in its L1 block: the position is part of the deposit's identity.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct IndexedLog {
    /// Index of the log within its block (block-wide, as in receipts and `eth_getLogs`).
    pub log_index: u64,
    /// The log.
    pub log: Log,
}

/// Source hash of a user deposit: `keccak256(uint256(0) ‖ keccak256(l1_block_hash ‖
/// uint256(log_index)))`. (L1 block, log index) identifies one event forever.
pub fn user_deposit_source_hash(l1_block_hash: B256, log_index: u64) -> B256 {
    domain_source_hash(USER_DEPOSIT_DOMAIN, l1_block_hash, log_index)
}

/// Source hash of an L1-info deposit: `keccak256(uint256(1) ‖ keccak256(l1_block_hash ‖
/// uint256(sequence_number)))`. (L1 origin, position in the epoch) identifies one L2 block's
/// deposit; domain 1 keeps it apart from every user deposit.
pub fn l1_info_source_hash(l1_block_hash: B256, sequence_number: u64) -> B256 {
    domain_source_hash(L1_INFO_DEPOSIT_DOMAIN, l1_block_hash, sequence_number)
}

fn domain_source_hash(domain: u64, l1_block_hash: B256, index: u64) -> B256 {
    let mut inner = [0u8; 64];
    inner[..32].copy_from_slice(l1_block_hash.as_slice());
    inner[56..].copy_from_slice(&index.to_be_bytes());
    let mut outer = [0u8; 64];
    outer[24..32].copy_from_slice(&domain.to_be_bytes());
    outer[32..].copy_from_slice(keccak256(inner).as_slice());
    keccak256(outer)
}

impl DepositTx {
    fn fields_len(&self) -> usize {
        self.source_hash.length()
            + self.from.length()
            + self.to.length()
            + self.mint.length()
            + self.value.length()
            + self.gas_limit.length()
            + self.is_system.length()
            + self.data.length()
    }

    /// The EIP-2718 encoding `0x7E ‖ rlp([source_hash, from, to, mint, value, gas_limit,
    /// is_system, data])`: what blocks carry and what the hash covers.
    pub fn encode(&self) -> Bytes {
        let payload_length = self.fields_len();
        let header = Header {
            list: true,
            payload_length,
        };
        let mut out = Vec::with_capacity(1 + header.length() + payload_length);
        out.push(DEPOSIT_TX_TYPE);
        header.encode(&mut out);
        self.source_hash.encode(&mut out);
        self.from.encode(&mut out);
        self.to.encode(&mut out);
        self.mint.encode(&mut out);
        self.value.encode(&mut out);
        self.gas_limit.encode(&mut out);
        self.is_system.encode(&mut out);
        self.data.encode(&mut out);
        out.into()
    }

    /// Transaction hash: `keccak256` of [`encode`](Self::encode), as for every typed transaction.
    pub fn hash(&self) -> B256 {
        keccak256(self.encode())
    }

    /// Strict inverse of [`encode`](Self::encode): canonical RLP, exactly eight fields, no bytes
    /// after the list.
    pub fn decode(bytes: &[u8]) -> Result<Self, DepositError> {
        let (&ty, mut rest) = bytes.split_first().ok_or(DepositError::Empty)?;
        if ty != DEPOSIT_TX_TYPE {
            return Err(DepositError::WrongType(ty));
        }
        let header = Header::decode(&mut rest)?;
        if !header.list {
            return Err(DepositError::Rlp(alloy_rlp::Error::UnexpectedString));
        }
        if header.payload_length != rest.len() {
            return Err(DepositError::TrailingBytes);
        }
        let body = &mut rest;
        let tx = Self {
            source_hash: B256::decode(body)?,
            from: Address::decode(body)?,
            to: TxKind::decode(body)?,
            mint: U256::decode(body)?,
            value: U256::decode(body)?,
            gas_limit: u64::decode(body)?,
            is_system: bool::decode(body)?,
            data: Bytes::decode(body)?,
        };
        if !body.is_empty() {
            return Err(DepositError::TrailingBytes);
        }
        Ok(tx)
    }

    /// Decodes a Portal `TransactionDeposited` log emitted in L1 block `l1_block_hash`.
    ///
    /// Checks everything the Portal guarantees (emitter, topics, version 0, ABI framing of
    /// `opaqueData`, the bool byte, zero target for creations), so a log that fails any check
    /// cannot have come from the Portal: callers treat that as a broken L1 source, not as a
    /// deposit to skip.
    pub fn from_portal_log(
        indexed: &IndexedLog,
        portal: Address,
        l1_block_hash: B256,
    ) -> Result<Self, DepositError> {
        let log = &indexed.log;
        if log.address != portal {
            return Err(DepositError::NotFromPortal(log.address));
        }
        let topics = log.data.topics();
        let [topic0, from, to, version] = topics else {
            return Err(DepositError::NotADepositEvent);
        };
        if *topic0 != TRANSACTION_DEPOSITED_TOPIC {
            return Err(DepositError::NotADepositEvent);
        }
        let from = topic_address(from)?;
        let to = topic_address(to)?;
        if U256::from_be_bytes(version.0) != U256::from(DEPOSIT_EVENT_VERSION) {
            return Err(DepositError::UnsupportedVersion(*version));
        }
        let opaque = abi_decode_bytes(&log.data.data)?;
        if opaque.len() < OPAQUE_DATA_HEADER_LEN {
            return Err(DepositError::OpaqueDataTooShort(opaque.len()));
        }
        let mint = U256::from_be_slice(&opaque[0..32]);
        let value = U256::from_be_slice(&opaque[32..64]);
        let mut gas = [0u8; 8];
        gas.copy_from_slice(&opaque[64..72]);
        let to = match opaque[72] {
            0 => TxKind::Call(to),
            1 if to == Address::ZERO => TxKind::Create,
            1 => return Err(DepositError::CreationWithTarget(to)),
            other => return Err(DepositError::BadIsCreation(other)),
        };
        Ok(Self {
            source_hash: user_deposit_source_hash(l1_block_hash, indexed.log_index),
            from,
            to,
            mint,
            value,
            gas_limit: u64::from_be_bytes(gas),
            is_system: false,
            data: Bytes::copy_from_slice(&opaque[OPAQUE_DATA_HEADER_LEN..]),
        })
    }
}

/// An indexed `address` topic: 12 zero bytes then the address.
fn topic_address(topic: &B256) -> Result<Address, DepositError> {
    if topic[..12].iter().any(|&b| b != 0) {
        return Err(DepositError::BadAddressTopic(*topic));
    }
    Ok(Address::from_slice(&topic[12..]))
}

/// Strict ABI decoding of a lone `bytes` value: offset word `0x20`, length word, the bytes, zero
/// padding to a multiple of 32, nothing else.
fn abi_decode_bytes(data: &[u8]) -> Result<&[u8], DepositError> {
    let word = |i: usize| -> Result<U256, DepositError> {
        data.get(i * 32..(i + 1) * 32)
            .map(U256::from_be_slice)
            .ok_or(DepositError::BadAbiEncoding)
    };
    if word(0)? != U256::from(32) {
        return Err(DepositError::BadAbiEncoding);
    }
    let len = usize::try_from(word(1)?).map_err(|_| DepositError::BadAbiEncoding)?;
    let padded = len
        .checked_next_multiple_of(32)
        .ok_or(DepositError::BadAbiEncoding)?;
    if data.len() - 64 != padded {
        return Err(DepositError::BadAbiEncoding);
    }
    let (bytes, padding) = data[64..].split_at(len);
    if padding.iter().any(|&b| b != 0) {
        return Err(DepositError::BadAbiEncoding);
    }
    Ok(bytes)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::derive::test_utils::portal_log;
    use alloy_primitives::{address, LogData};
    use proptest::prelude::*;

    const PORTAL: Address = address!("5FC8d32690cc91D4c39d9d3abcBD16989F875707");

    #[test]
    fn topic0_is_the_event_signature() {
        assert_eq!(
            keccak256("TransactionDeposited(address,address,uint256,bytes)"),
            TRANSACTION_DEPOSITED_TOPIC
        );
    }

    #[test]
    fn source_hash_layout() {
        let block = B256::repeat_byte(7);
        let mut inner = block.to_vec();
        inner.extend_from_slice(&U256::from(3).to_be_bytes::<32>());
        let mut outer = U256::from(0).to_be_bytes::<32>().to_vec();
        outer.extend_from_slice(keccak256(&inner).as_slice());
        assert_eq!(user_deposit_source_hash(block, 3), keccak256(&outer));
        let mut outer = U256::from(1).to_be_bytes::<32>().to_vec();
        outer.extend_from_slice(keccak256(&inner).as_slice());
        assert_eq!(l1_info_source_hash(block, 3), keccak256(&outer));
    }

    #[test]
    fn decodes_a_hand_built_portal_log() {
        let from = address!("1111000000000000000000000000000000001112");
        let to = address!("00000000000000000000000000000000000000aa");
        let log = portal_log(
            PORTAL,
            from,
            to,
            U256::from(250_000_000_000_000_000u64),
            U256::from(5),
            100_000,
            false,
            &[0xc0, 0xff, 0xee],
            4,
        );
        // Data = offset(32) ‖ len(76) ‖ 73-byte header ‖ c0ffee ‖ 20 zero bytes of padding.
        assert_eq!(log.log.data.data.len(), 64 + 96);
        assert_eq!(log.log.data.data[64 + 72], 0);
        let block = B256::repeat_byte(9);
        let tx = DepositTx::from_portal_log(&log, PORTAL, block).expect("valid log");
        assert_eq!(
            tx,
            DepositTx {
                source_hash: user_deposit_source_hash(block, 4),
                from,
                to: TxKind::Call(to),
                mint: U256::from(250_000_000_000_000_000u64),
                value: U256::from(5),
                gas_limit: 100_000,
                is_system: false,
                data: Bytes::from_static(&[0xc0, 0xff, 0xee]),
            }
        );
        let creation = portal_log(
            PORTAL,
            from,
            Address::ZERO,
            U256::ZERO,
            U256::ZERO,
            1_000_000,
            true,
            &[0x60; 40],
            0,
        );
        let tx = DepositTx::from_portal_log(&creation, PORTAL, block).expect("creation");
        assert_eq!(tx.to, TxKind::Create);
        assert_eq!(tx.data.len(), 40);
    }

    #[test]
    fn rejects_broken_logs() {
        let from = Address::repeat_byte(1);
        let good = portal_log(
            PORTAL,
            from,
            from,
            U256::ZERO,
            U256::ZERO,
            21_000,
            false,
            &[],
            0,
        );
        let block = B256::ZERO;
        assert!(DepositTx::from_portal_log(&good, PORTAL, block).is_ok());
        let check = |change: &dyn Fn(&mut IndexedLog), expected: DepositError| {
            let mut log = good.clone();
            change(&mut log);
            assert_eq!(
                DepositTx::from_portal_log(&log, PORTAL, block),
                Err(expected)
            );
        };
        check(
            &|l| l.log.address = Address::ZERO,
            DepositError::NotFromPortal(Address::ZERO),
        );
        let with_topics = |topics: Vec<B256>| {
            move |l: &mut IndexedLog| {
                l.log.data = LogData::new_unchecked(topics.clone(), l.log.data.data.clone())
            }
        };
        check(
            &with_topics(vec![TRANSACTION_DEPOSITED_TOPIC]),
            DepositError::NotADepositEvent,
        );
        check(
            &with_topics(vec![
                B256::ZERO,
                from.into_word(),
                from.into_word(),
                B256::ZERO,
            ]),
            DepositError::NotADepositEvent,
        );
        check(
            &with_topics(vec![
                TRANSACTION_DEPOSITED_TOPIC,
                B256::repeat_byte(1),
                from.into_word(),
                B256::ZERO,
            ]),
            DepositError::BadAddressTopic(B256::repeat_byte(1)),
        );
        check(
            &with_topics(vec![
                TRANSACTION_DEPOSITED_TOPIC,
                from.into_word(),
                from.into_word(),
                B256::with_last_byte(1),
            ]),
            DepositError::UnsupportedVersion(B256::with_last_byte(1)),
        );
        let with_data = |data: Vec<u8>| {
            move |l: &mut IndexedLog| {
                l.log.data =
                    LogData::new_unchecked(l.log.data.topics().to_vec(), data.clone().into())
            }
        };
        check(&with_data(vec![]), DepositError::BadAbiEncoding);
        let mut truncated = good.log.data.data.to_vec();
        truncated.pop();
        check(&with_data(truncated), DepositError::BadAbiEncoding);
        let mut dirty_padding = good.log.data.data.to_vec();
        *dirty_padding.last_mut().expect("non-empty") = 1;
        check(&with_data(dirty_padding), DepositError::BadAbiEncoding);
        let mut bad_bool = good.log.data.data.to_vec();
        bad_bool[64 + 72] = 2;
        check(&with_data(bad_bool), DepositError::BadIsCreation(2));
        let mut huge_len = good.log.data.data.to_vec();
        huge_len[32..64].fill(0xff);
        check(&with_data(huge_len), DepositError::BadAbiEncoding);
        let short = portal_log(PORTAL, from, from, U256::ZERO, U256::ZERO, 1, false, &[], 0);
        let mut short_data = short.log.data.data.to_vec();
        short_data[63] = 72;
        check(&with_data(short_data), DepositError::OpaqueDataTooShort(72));
        let creation_to = portal_log(PORTAL, from, from, U256::ZERO, U256::ZERO, 1, true, &[], 0);
        assert_eq!(
            DepositTx::from_portal_log(&creation_to, PORTAL, block),
            Err(DepositError::CreationWithTarget(from))
        );
    }

    #[test]
    fn decode_is_strict() {
        let tx = DepositTx {
            gas_limit: 5,
            ..Default::default()
        };
        let encoded = tx.encode();
        assert_eq!(DepositTx::decode(&encoded), Ok(tx));
        assert_eq!(DepositTx::decode(&[]), Err(DepositError::Empty));
        assert_eq!(DepositTx::decode(&[0x02]), Err(DepositError::WrongType(2)));
        let mut trailing = encoded.to_vec();
        trailing.push(0);
        assert_eq!(
            DepositTx::decode(&trailing),
            Err(DepositError::TrailingBytes)
        );
        assert!(DepositTx::decode(&encoded[..encoded.len() - 1]).is_err());
    }

    fn arb_deposit() -> impl Strategy<Value = DepositTx> {
        (
            any::<[u8; 32]>(),
            any::<[u8; 20]>(),
            proptest::option::of(any::<[u8; 20]>()),
            any::<[u8; 32]>(),
            any::<u128>(),
            any::<u64>(),
            any::<bool>(),
            proptest::collection::vec(any::<u8>(), 0..300),
        )
            .prop_map(
                |(source, from, to, mint, value, gas, system, data)| DepositTx {
                    source_hash: B256::from(source),
                    from: Address::from(from),
                    to: to.map_or(TxKind::Create, |a| TxKind::Call(Address::from(a))),
                    mint: U256::from_be_bytes(mint),
                    value: U256::from(value),
                    gas_limit: gas,
                    is_system: system,
                    data: data.into(),
                },
            )
    }

    proptest! {
        #[test]
        fn encode_decode_round_trip(tx in arb_deposit()) {
            let encoded = tx.encode();
            prop_assert_eq!(encoded[0], DEPOSIT_TX_TYPE);
            prop_assert_eq!(DepositTx::decode(&encoded), Ok(tx.clone()));
            prop_assert_eq!(tx.hash(), keccak256(&encoded));
        }

        #[test]
        fn decode_never_panics(bytes in proptest::collection::vec(any::<u8>(), 0..200)) {
            let mut typed = vec![DEPOSIT_TX_TYPE];
            typed.extend_from_slice(&bytes);
            for input in [&bytes[..], &typed[..]] {
                if let Ok(tx) = DepositTx::decode(input) {
                    // Anything accepted is canonical: it re-encodes to the same bytes.
                    prop_assert_eq!(&tx.encode()[..], input);
                }
            }
        }

        #[test]
        fn portal_logs_round_trip(
            tx in arb_deposit(),
            log_index in any::<u64>(),
            block in any::<[u8; 32]>(),
        ) {
            let (to, creation) = match tx.to {
                TxKind::Call(to) => (to, false),
                TxKind::Create => (Address::ZERO, true),
            };
            let log = portal_log(
                PORTAL, tx.from, to, tx.mint, tx.value, tx.gas_limit, creation, &tx.data, log_index,
            );
            let block = B256::from(block);
            let decoded = DepositTx::from_portal_log(&log, PORTAL, block);
            prop_assert_eq!(decoded, Ok(DepositTx {
                source_hash: user_deposit_source_hash(block, log_index),
                is_system: false,
                ..tx
            }));
        }

        #[test]
        fn garbage_logs_never_panic(
            topics in proptest::collection::vec(any::<[u8; 32]>(), 0..6),
            data in proptest::collection::vec(any::<u8>(), 0..300),
            real_topic0 in any::<bool>(),
        ) {
            let mut topics: Vec<B256> = topics.into_iter().map(B256::from).collect();
            if real_topic0 && !topics.is_empty() {
                topics[0] = TRANSACTION_DEPOSITED_TOPIC;
            }
            let log = IndexedLog {
                log_index: 0,
                log: Log { address: PORTAL, data: LogData::new_unchecked(topics, data.into()) },
            };
            let _ = DepositTx::from_portal_log(&log, PORTAL, B256::ZERO);
        }
    }
}
