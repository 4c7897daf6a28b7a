//! The L1-info deposit: the first transaction of every L2 block, writing the block's L1 origin
//! into the [`L1Block`](crate::predeploys::L1_BLOCK) predeploy.
//!
//! Calldata layout (188 bytes, big-endian, tightly packed after the selector, so Solidity reads
//! each field with one `calldataload` and a shift, or with `bytesN(msg.data[a:b])`):
//!
//! | offset | size | field | Solidity |
//! | ---: | ---: | --- | --- |
//! | 0 | 4 | selector `0xc058103c` = `bytes4(keccak256("setL1BlockValuesV3()"))` | |
//! | 4 | 8 | L1 block number | `uint64(bytes8(msg.data[4:12]))` |
//! | 12 | 8 | L1 timestamp (s) | `uint64(bytes8(msg.data[12:20]))` |
//! | 20 | 32 | L1 base fee (wei) | `uint256(bytes32(msg.data[20:52]))` |
//! | 52 | 32 | L1 blob base fee (wei) | `uint256(bytes32(msg.data[52:84]))` |
//! | 84 | 32 | L1 block hash | `bytes32(msg.data[84:116])` |
//! | 116 | 8 | sequence number in the epoch | `uint64(bytes8(msg.data[116:124]))` |
//! | 124 | 32 | batcher hash = `bytes32(uint256(uint160(batcher)))` | `bytes32(msg.data[124:156])` |
//! | 156 | 4 | L1 base fee scalar | `uint32(bytes4(msg.data[156:160]))` |
//! | 160 | 4 | L1 blob base fee scalar | `uint32(bytes4(msg.data[160:164]))` |
//! | 164 | 8 | L2 block gas limit | `uint64(bytes8(msg.data[164:172]))` |
//! | 172 | 4 | EIP-1559 elasticity | `uint32(bytes4(msg.data[172:176]))` |
//! | 176 | 4 | EIP-1559 denominator | `uint32(bytes4(msg.data[176:180]))` |
//! | 180 | 8 | minimum L2 base fee (wei) | `uint64(bytes8(msg.data[180:188]))` |
//!
//! The function is declared `setL1BlockValuesV3()` (no ABI parameters) so the selector dispatches
//! normally while the payload stays packed; `L1Block` must require `msg.sender ==`
//! [`L1_INFO_DEPOSITOR`] and `msg.data.length == 188`. A new layout gets a new selector.
//!
//! The fee scalars ride along (as on the OP Stack since Ecotone) so that a block carries every
//! input of its L1 data fees: replaying or proving one transaction needs the L2 state alone, not
//! the SystemConfig history on L1. The gas limit and base-fee rules ride along for the same
//! reason one level up: with them in the L2 state, the dispute game checks a disputed header's
//! gas limit and base fee (`DisputeGame.proveHeaderInvalid`) from the block's own post-state
//! and its parent header.

use alloy_primitives::{Bytes, TxKind, B256, U256};

use crate::block::{BlockId, L1BlockInfo, L2BlockInfo};
use crate::config::Eip1559Params;
use crate::deposit::{l1_info_source_hash, DepositTx};
use crate::predeploys::{L1_BLOCK, L1_INFO_DEPOSITOR};
use crate::system_config::{L1FeeScalars, SystemConfigState};

/// `bytes4(keccak256("setL1BlockValuesV3()"))`.
pub const L1_INFO_SELECTOR: [u8; 4] = [0xc0, 0x58, 0x10, 0x3c];

/// Length of the L1-info calldata.
pub const L1_INFO_LEN: usize = 188;

/// `L1Block` storage slots the node and the fraud proof read directly (layout in
/// `contracts/src/L2/L1Block.sol`; new fields are only appended).
pub mod slots {
    use alloy_primitives::U256;

    /// L1 origin base fee: input of the L1 data fee.
    pub const BASE_FEE: U256 = U256::from_limbs([1, 0, 0, 0]);
    /// L1 origin blob base fee: input of the L1 data fee.
    pub const BLOB_BASE_FEE: U256 = U256::from_limbs([2, 0, 0, 0]);
    /// L1 origin hash: every L2 header's mixHash.
    pub const HASH: U256 = U256::from_limbs([3, 0, 0, 0]);
    /// L1 fee scalars (bytes 0-7), then the block's gas limit (8-15), EIP-1559 elasticity
    /// (16-19) and denominator (20-23) and minimum base fee (24-31).
    pub const SCALARS_AND_BLOCK_RULES: U256 = U256::from_limbs([5, 0, 0, 0]);
}

/// Gas limit of the L1-info deposit: ample for seven storage writes, and not charged to the
/// block (it is a system deposit).
pub const L1_INFO_GAS_LIMIT: u64 = 1_000_000;

/// The values the L1-info deposit carries.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct L1Info {
    /// L1 origin number.
    pub number: u64,
    /// L1 origin timestamp (seconds).
    pub timestamp: u64,
    /// L1 origin base fee (wei): input of the L1 data fee.
    pub base_fee: U256,
    /// L1 origin blob base fee (wei): input of the L1 data fee.
    pub blob_base_fee: U256,
    /// L1 origin hash.
    pub hash: B256,
    /// Position of this L2 block within its epoch (0 = first block of the origin).
    pub sequence_number: u64,
    /// The batcher in force, left-padded to 32 bytes.
    pub batcher_hash: B256,
    /// L1 data fee scalars in force at the origin (SystemConfig).
    pub scalars: L1FeeScalars,
    /// The L2 block's gas limit (SystemConfig at the origin): its header must carry it.
    pub gas_limit: u64,
    /// EIP-1559 parameters of the L2 block's base fee (SystemConfig at the origin).
    pub eip1559: Eip1559Params,
    /// Floor of the L2 block's base fee (rollup config).
    pub min_base_fee: u64,
}

/// Calldata that is not a valid L1-info payload.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
pub enum L1InfoError {
    /// Not exactly [`L1_INFO_LEN`] bytes.
    #[error("L1-info calldata is {0} bytes, expected 188")]
    Length(usize),
    /// Another function's selector.
    #[error("L1-info calldata has selector {0:02x?}")]
    Selector([u8; 4]),
    /// The transaction is not a system deposit to `L1Block` from the depositor.
    #[error("not an L1-info deposit")]
    NotL1InfoDeposit,
}

impl L1Info {
    /// The values for an L2 block at `sequence_number` in epoch `origin`, under the
    /// `SystemConfig` values in force at that origin.
    pub fn new(origin: &L1BlockInfo, sequence_number: u64, config: &SystemConfigState) -> Self {
        Self {
            number: origin.number,
            timestamp: origin.timestamp,
            base_fee: U256::from(origin.base_fee),
            blob_base_fee: U256::from(origin.blob_base_fee),
            hash: origin.hash,
            sequence_number,
            batcher_hash: config.batcher.into_word(),
            scalars: config.l1_fee_scalars,
            gas_limit: config.gas_limit,
            eip1559: config.eip1559,
            min_base_fee: config.min_base_fee,
        }
    }

    /// The 188-byte calldata (layout in the module docs).
    pub fn encode(&self) -> Bytes {
        let mut out = Vec::with_capacity(L1_INFO_LEN);
        out.extend_from_slice(&L1_INFO_SELECTOR);
        out.extend_from_slice(&self.number.to_be_bytes());
        out.extend_from_slice(&self.timestamp.to_be_bytes());
        out.extend_from_slice(&self.base_fee.to_be_bytes::<32>());
        out.extend_from_slice(&self.blob_base_fee.to_be_bytes::<32>());
        out.extend_from_slice(self.hash.as_slice());
        out.extend_from_slice(&self.sequence_number.to_be_bytes());
        out.extend_from_slice(self.batcher_hash.as_slice());
        out.extend_from_slice(&self.scalars.base_fee_scalar.to_be_bytes());
        out.extend_from_slice(&self.scalars.blob_base_fee_scalar.to_be_bytes());
        out.extend_from_slice(&self.gas_limit.to_be_bytes());
        // Validated rollup configs and `SystemConfig` events keep both within 32 bits.
        let narrow = |value: u64| u32::try_from(value).unwrap_or(u32::MAX);
        out.extend_from_slice(&narrow(self.eip1559.elasticity).to_be_bytes());
        out.extend_from_slice(&narrow(self.eip1559.denominator).to_be_bytes());
        out.extend_from_slice(&self.min_base_fee.to_be_bytes());
        out.into()
    }

    /// Parses the calldata back; the executor and tools use it to read an L2 block's origin.
    pub fn decode(data: &[u8]) -> Result<Self, L1InfoError> {
        let data: &[u8; L1_INFO_LEN] = data
            .try_into()
            .map_err(|_| L1InfoError::Length(data.len()))?;
        let u64_at = |at: usize| {
            let mut word = [0u8; 8];
            word.copy_from_slice(&data[at..at + 8]);
            u64::from_be_bytes(word)
        };
        let u32_at = |at: usize| {
            let mut word = [0u8; 4];
            word.copy_from_slice(&data[at..at + 4]);
            u32::from_be_bytes(word)
        };
        let mut selector = [0u8; 4];
        selector.copy_from_slice(&data[..4]);
        if selector != L1_INFO_SELECTOR {
            return Err(L1InfoError::Selector(selector));
        }
        Ok(Self {
            number: u64_at(4),
            timestamp: u64_at(12),
            base_fee: U256::from_be_slice(&data[20..52]),
            blob_base_fee: U256::from_be_slice(&data[52..84]),
            hash: B256::from_slice(&data[84..116]),
            sequence_number: u64_at(116),
            batcher_hash: B256::from_slice(&data[124..156]),
            scalars: L1FeeScalars {
                base_fee_scalar: u32_at(156),
                blob_base_fee_scalar: u32_at(160),
            },
            gas_limit: u64_at(164),
            eip1559: Eip1559Params {
                elasticity: u64::from(u32_at(172)),
                denominator: u64::from(u32_at(176)),
            },
            min_base_fee: u64_at(180),
        })
    }

    /// Reads the values back from an L2 block's first transaction (its L1-info deposit).
    pub fn from_deposit(first_tx: &[u8]) -> Result<Self, L1InfoError> {
        let deposit = DepositTx::decode(first_tx).map_err(|_| L1InfoError::NotL1InfoDeposit)?;
        if deposit.from != L1_INFO_DEPOSITOR
            || deposit.to != TxKind::Call(L1_BLOCK)
            || !deposit.is_system
        {
            return Err(L1InfoError::NotL1InfoDeposit);
        }
        Self::decode(&deposit.data)
    }

    /// What derivation needs to know about a stored L2 block (number `number`, hash `hash`):
    /// its origin and sequence number are in its L1-info deposit, so a node restarting from its
    /// store rebuilds the safe head from the block alone.
    pub fn l2_block_info(&self, number: u64, hash: B256) -> L2BlockInfo {
        L2BlockInfo {
            number,
            hash,
            l1_origin: BlockId {
                number: self.number,
                hash: self.hash,
            },
            sequence_number: self.sequence_number,
        }
    }

    /// The system deposit carrying these values: from [`L1_INFO_DEPOSITOR`] to `L1Block`, no
    /// value, source hash in the L1-info domain.
    pub fn deposit(&self) -> DepositTx {
        DepositTx {
            source_hash: l1_info_source_hash(self.hash, self.sequence_number),
            from: L1_INFO_DEPOSITOR,
            to: TxKind::Call(L1_BLOCK),
            mint: U256::ZERO,
            value: U256::ZERO,
            gas_limit: L1_INFO_GAS_LIMIT,
            is_system: true,
            data: self.encode(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloy_primitives::{keccak256, Address};

    #[test]
    fn selector_is_the_function_signature() {
        assert_eq!(keccak256("setL1BlockValuesV3()")[..4], L1_INFO_SELECTOR[..]);
    }

    #[test]
    fn layout_and_round_trip() {
        let origin = L1BlockInfo {
            number: 0x0102,
            hash: B256::repeat_byte(0xaa),
            parent_hash: B256::ZERO,
            timestamp: 0x0304,
            base_fee: 7,
            blob_base_fee: 9,
        };
        let config = SystemConfigState {
            batcher: Address::repeat_byte(0x42),
            gas_limit: 0x1213_1415_1617_1819,
            eip1559: Eip1559Params {
                elasticity: 0x1a1b_1c1d,
                denominator: 0x1e1f_2021,
            },
            l1_fee_scalars: L1FeeScalars {
                base_fee_scalar: 0x0a0b_0c0d,
                blob_base_fee_scalar: 0x0e0f_1011,
            },
            min_base_fee: 0x2223_2425_2627_2829,
        };
        let info = L1Info::new(&origin, 5, &config);
        let data = info.encode();
        assert_eq!(data.len(), L1_INFO_LEN);
        assert_eq!(data[4..12], 0x0102u64.to_be_bytes());
        assert_eq!(data[12..20], 0x0304u64.to_be_bytes());
        assert_eq!(data[51], 7);
        assert_eq!(data[83], 9);
        assert_eq!(data[84..116], [0xaa; 32]);
        assert_eq!(data[116..124], 5u64.to_be_bytes());
        assert_eq!(data[124..136], [0; 12]);
        assert_eq!(data[136..156], [0x42; 20]);
        assert_eq!(data[156..160], [0x0a, 0x0b, 0x0c, 0x0d]);
        assert_eq!(data[160..164], [0x0e, 0x0f, 0x10, 0x11]);
        assert_eq!(data[164..172], 0x1213_1415_1617_1819u64.to_be_bytes());
        assert_eq!(data[172..176], [0x1a, 0x1b, 0x1c, 0x1d]);
        assert_eq!(data[176..180], [0x1e, 0x1f, 0x20, 0x21]);
        assert_eq!(data[180..188], 0x2223_2425_2627_2829u64.to_be_bytes());
        assert_eq!(L1Info::decode(&data), Ok(info));
        assert_eq!(L1Info::decode(&data[1..]), Err(L1InfoError::Length(187)));
        let mut wrong = data.to_vec();
        wrong[0] = 0;
        assert!(matches!(
            L1Info::decode(&wrong),
            Err(L1InfoError::Selector(_))
        ));
        let deposit = info.deposit();
        assert_eq!(L1Info::from_deposit(&deposit.encode()), Ok(info));
        let head = info.l2_block_info(9, B256::repeat_byte(1));
        assert_eq!(head.l1_origin, origin.id());
        assert_eq!(head.sequence_number, 5);
        let user = DepositTx {
            data: deposit.data.clone(),
            ..Default::default()
        };
        assert_eq!(
            L1Info::from_deposit(&user.encode()),
            Err(L1InfoError::NotL1InfoDeposit)
        );
        assert_eq!(
            L1Info::from_deposit(&[2, 1]),
            Err(L1InfoError::NotL1InfoDeposit)
        );
        assert!(deposit.is_system);
        assert_eq!(deposit.to, TxKind::Call(L1_BLOCK));
        assert_eq!(deposit.source_hash, l1_info_source_hash(origin.hash, 5));
    }
}
