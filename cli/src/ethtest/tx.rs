//! Signed Ethereum transactions (alloy's [`TxEnvelope`]) to revm's [`TxEnv`].
//!
//! Reusable outside the test runner: anything that decodes blocks or raw transactions with
//! alloy and executes them with the Parallax executor goes through [`tx_env`].

use alloy_consensus::{transaction::SignerRecoverable, TxEip4844Variant, TxEnvelope};
pub use parallax_executor::tx_env;
use revm::context::TxEnv;

/// Why a transaction's sender could not be recovered.
#[derive(Debug, thiserror::Error)]
#[error("cannot recover the sender of transaction {index}: {reason}")]
pub struct SenderRecoveryError {
    /// Position of the transaction in its block.
    pub index: usize,
    /// What was wrong with the signature.
    pub reason: String,
}

/// Recovers the sender of every transaction (EIP-2 low-`s` signatures only) and converts each
/// one with [`tx_env`].
pub fn tx_envs_with_senders(txs: &[TxEnvelope]) -> Result<Vec<TxEnv>, SenderRecoveryError> {
    txs.iter()
        .enumerate()
        .map(|(index, tx)| {
            let sender = tx.recover_signer().map_err(|error| SenderRecoveryError {
                index,
                reason: error.to_string(),
            })?;
            Ok(tx_env(tx, sender))
        })
        .collect()
}

/// Whether the transaction carries an EIP-4844 sidecar, which is only allowed in the network
/// (pooled) form, never inside a block.
pub fn has_blob_sidecar(tx: &TxEnvelope) -> bool {
    matches!(tx, TxEnvelope::Eip4844(signed) if matches!(signed.tx(), TxEip4844Variant::TxEip4844WithSidecar(_)))
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloy_consensus::{Signed, TxEip1559, TxLegacy};
    use alloy_primitives::{address, Address, Bytes, Signature, TxKind, U256};

    #[test]
    fn eip1559_fields() {
        let tx = TxEip1559 {
            chain_id: 1,
            nonce: 7,
            gas_limit: 21_000,
            max_fee_per_gas: 100,
            max_priority_fee_per_gas: 3,
            to: TxKind::Call(address!("00000000000000000000000000000000000000aa")),
            value: U256::from(5),
            access_list: Default::default(),
            input: Bytes::from_static(&[1, 2]),
        };
        let env = tx_env(
            &TxEnvelope::Eip1559(Signed::new_unhashed(tx, Signature::test_signature())),
            Address::ZERO,
        );
        assert_eq!(env.tx_type, 2);
        assert_eq!(env.gas_price, 100);
        assert_eq!(env.gas_priority_fee, Some(3));
        assert_eq!(env.nonce, 7);
        assert_eq!(env.chain_id, Some(1));
        assert_eq!(env.value, U256::from(5));
        assert_eq!(env.data, Bytes::from_static(&[1, 2]));
    }

    #[test]
    fn legacy_without_chain_id() {
        let tx = TxLegacy {
            gas_price: 10,
            gas_limit: 50_000,
            to: TxKind::Create,
            ..Default::default()
        };
        let env = tx_env(
            &TxEnvelope::Legacy(Signed::new_unhashed(tx, Signature::test_signature())),
            Address::ZERO,
        );
        assert_eq!(env.tx_type, 0);
        assert_eq!(env.gas_price, 10);
        assert_eq!(env.gas_priority_fee, None);
        assert_eq!(env.chain_id, None);
        assert_eq!(env.kind, TxKind::Create);
    }
}
