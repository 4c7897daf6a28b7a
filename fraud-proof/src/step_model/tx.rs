//! The transaction as the verifier's `TxDecoder` sees it: an EIP-2718 envelope of an L2 block
//! decoded into [`TxInput`], with the sender recovered and the L1 calldata gas counted.

use alloy_consensus::{transaction::SignableTransaction, Signed, TxEnvelope};
use alloy_primitives::{Address, Bytes, Signature, B256, U256};
use parallax_protocol::deposit::DepositTx;

use super::StepModelError;

/// `TxDecoder` reasons (the `InvalidTransaction(uint8)` codes of the Solidity library).
pub mod reason {
    /// Empty envelope.
    pub const EMPTY: u8 = 20;
    /// A type Parallax does not carry (blob, set-code, unknown).
    pub const TYPE_NOT_ALLOWED: u8 = 21;
    /// Pre-EIP-155 legacy or wrong chain id.
    pub const CHAIN_ID: u8 = 23;
    /// Bad signature (zero or out-of-range r/s, high s, unrecoverable).
    pub const SIGNATURE: u8 = 24;
    /// A malformed field or envelope.
    pub const MALFORMED: u8 = 25;
    /// Nonce 2^64-1: EIP-2681 forbids it (the sender's nonce could never be incremented), so
    /// revm refuses the transaction before it looks at the state.
    pub const NONCE_MAX: u8 = 26;
}

/// secp256k1 group order.
const SECP256K1_N: U256 = U256::from_limbs([
    0xBFD2_5E8C_D036_4141,
    0xBAAE_DCE6_AF48_A03B,
    0xFFFF_FFFF_FFFF_FFFE,
    0xFFFF_FFFF_FFFF_FFFF,
]);

/// The deposit type byte (receipts report it as the transaction type).
pub const DEPOSIT_TYPE: u8 = 0x7e;

/// A decoded transaction with its sender: the Solidity `TxInput`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TxInput {
    /// EIP-2718 type as the receipt reports it (0, 1, 2 or 0x7E).
    pub tx_type: u8,
    /// Recovered signer, or the deposit's `from`.
    pub from: Address,
    /// Callee (zero for creations).
    pub to: Address,
    /// Whether the transaction deploys a contract.
    pub is_create: bool,
    /// Signed nonce (zero for deposits).
    pub nonce: u64,
    /// Gas limit.
    pub gas_limit: u64,
    /// Gas price (legacy / 2930) or max fee per gas (1559); zero for deposits.
    pub max_fee_per_gas: U256,
    /// Priority fee cap; equals `max_fee_per_gas` for legacy / 2930.
    pub max_priority_fee_per_gas: U256,
    /// Wei sent.
    pub value: U256,
    /// Calldata or initcode.
    pub data: Bytes,
    /// EIP-2930 access list: addresses and their storage keys.
    pub access_list: Vec<(Address, Vec<U256>)>,
    /// Wei minted into `from` first (deposits).
    pub mint: U256,
    /// The L1-info system deposit (counts no block gas).
    pub is_system: bool,
    /// Calldata gas of the raw envelope (the L1 data fee's input); zero for deposits.
    pub l1_gas_used: u64,
}

impl TxInput {
    /// Whether this is a deposit (no signature, no fees, refused deposits still count).
    pub fn is_deposit(&self) -> bool {
        self.tx_type == DEPOSIT_TYPE
    }
}

/// Decodes `raw` for L2 chain `chain_id`, as `TxDecoder.decode` does.
pub fn decode(raw: &[u8], chain_id: u64) -> Result<TxInput, StepModelError> {
    let invalid = StepModelError::InvalidTransaction;
    let first = *raw.first().ok_or(invalid(reason::EMPTY))?;
    if first == DEPOSIT_TYPE {
        let deposit = DepositTx::decode(raw).map_err(|_| invalid(reason::MALFORMED))?;
        return Ok(TxInput {
            tx_type: DEPOSIT_TYPE,
            from: deposit.from,
            to: deposit.to.to().copied().unwrap_or_default(),
            is_create: deposit.to.is_create(),
            nonce: 0,
            gas_limit: deposit.gas_limit,
            max_fee_per_gas: U256::ZERO,
            max_priority_fee_per_gas: U256::ZERO,
            value: deposit.value,
            data: deposit.data,
            access_list: Vec::new(),
            mint: deposit.mint,
            is_system: deposit.is_system,
            l1_gas_used: 0,
        });
    }
    if first < 0xc0 && first != 1 && first != 2 {
        return Err(invalid(reason::TYPE_NOT_ALLOWED));
    }
    let envelope = match first {
        1 => TxEnvelope::Eip2930(decode_typed(&raw[1..]).map_err(|_| invalid(reason::MALFORMED))?),
        2 => TxEnvelope::Eip1559(decode_typed(&raw[1..]).map_err(|_| invalid(reason::MALFORMED))?),
        _ => TxEnvelope::Legacy(decode_typed(raw).map_err(|_| invalid(reason::MALFORMED))?),
    };
    let mut input = match &envelope {
        TxEnvelope::Legacy(signed) => {
            let tx = signed.tx();
            if tx.chain_id != Some(chain_id) {
                return Err(invalid(reason::CHAIN_ID));
            }
            base(
                0,
                tx.nonce,
                tx.gas_limit,
                U256::from(tx.gas_price),
                U256::from(tx.gas_price),
                tx.to,
                tx.value,
                tx.input.clone(),
                &[],
            )
        }
        TxEnvelope::Eip2930(signed) => {
            let tx = signed.tx();
            if tx.chain_id != chain_id {
                return Err(invalid(reason::CHAIN_ID));
            }
            base(
                1,
                tx.nonce,
                tx.gas_limit,
                U256::from(tx.gas_price),
                U256::from(tx.gas_price),
                tx.to,
                tx.value,
                tx.input.clone(),
                &tx.access_list.0,
            )
        }
        TxEnvelope::Eip1559(signed) => {
            let tx = signed.tx();
            if tx.chain_id != chain_id {
                return Err(invalid(reason::CHAIN_ID));
            }
            base(
                2,
                tx.nonce,
                tx.gas_limit,
                U256::from(tx.max_fee_per_gas),
                U256::from(tx.max_priority_fee_per_gas),
                tx.to,
                tx.value,
                tx.input.clone(),
                &tx.access_list.0,
            )
        }
        _ => return Err(invalid(reason::TYPE_NOT_ALLOWED)),
    };
    let (signature, hash) = match &envelope {
        TxEnvelope::Legacy(s) => (*s.signature(), s.tx().signature_hash()),
        TxEnvelope::Eip2930(s) => (*s.signature(), s.tx().signature_hash()),
        TxEnvelope::Eip1559(s) => (*s.signature(), s.tx().signature_hash()),
        _ => return Err(invalid(reason::TYPE_NOT_ALLOWED)),
    };
    input.from = recover(&signature, hash)?;
    if input.nonce == u64::MAX {
        return Err(invalid(reason::NONCE_MAX));
    }
    input.l1_gas_used = raw.iter().map(|byte| if *byte == 0 { 4 } else { 16 }).sum();
    Ok(input)
}

/// A typed transaction body `rlp([fields..., yParity, r, s])` with nothing after it.
fn decode_typed<T: alloy_consensus::transaction::RlpEcdsaDecodableTx>(
    mut body: &[u8],
) -> Result<Signed<T>, alloy_rlp::Error> {
    let signed = T::rlp_decode_signed(&mut body)?;
    if !body.is_empty() {
        return Err(alloy_rlp::Error::UnexpectedLength);
    }
    Ok(signed)
}

#[allow(clippy::too_many_arguments)]
fn base(
    tx_type: u8,
    nonce: u64,
    gas_limit: u64,
    max_fee_per_gas: U256,
    max_priority_fee_per_gas: U256,
    to: alloy_primitives::TxKind,
    value: U256,
    data: Bytes,
    access_list: &[alloy::eips::eip2930::AccessListItem],
) -> TxInput {
    TxInput {
        tx_type,
        from: Address::ZERO,
        to: to.to().copied().unwrap_or_default(),
        is_create: to.is_create(),
        nonce,
        gas_limit,
        max_fee_per_gas,
        max_priority_fee_per_gas,
        value,
        data,
        access_list: access_list
            .iter()
            .map(|item| {
                (
                    item.address,
                    item.storage_keys
                        .iter()
                        .map(|key| U256::from_be_bytes(key.0))
                        .collect(),
                )
            })
            .collect(),
        mint: U256::ZERO,
        is_system: false,
        l1_gas_used: 0,
    }
}

/// `TxDecoder._recover`: low-s, non-zero r and s, then ecrecover (which may find no key).
fn recover(signature: &Signature, hash: B256) -> Result<Address, StepModelError> {
    let (r, s) = (signature.r(), signature.s());
    if r.is_zero() || r >= SECP256K1_N || s.is_zero() || s > SECP256K1_N >> 1 {
        return Err(StepModelError::InvalidTransaction(reason::SIGNATURE));
    }
    signature
        .recover_address_from_prehash(&hash)
        .map_err(|_| StepModelError::InvalidTransaction(reason::SIGNATURE))
}
