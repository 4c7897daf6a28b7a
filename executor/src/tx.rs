//! Signed Ethereum transactions (alloy's [`TxEnvelope`]) to revm's [`TxEnv`]: the one
//! conversion every caller (block import, the sequencer, the test-vector runner) shares.

use alloy_consensus::{Transaction, TxEnvelope};
use alloy_primitives::Address;
use revm::context::{either::Either, TxEnv};

/// The revm transaction environment of a signed transaction sent by `sender`.
///
/// `gas_price` is the legacy gas price or, for EIP-1559 style transactions, the max fee per gas
/// (revm derives the effective price from it and `gas_priority_fee`). Blob and authorization
/// fields are filled for the transaction types that carry them, so revm's own validation (fork
/// support, blob count, fee caps) sees the transaction exactly as signed.
pub fn tx_env(tx: &TxEnvelope, sender: Address) -> TxEnv {
    let authorization_list = tx
        .authorization_list()
        .map(|list| list.iter().cloned().map(Either::Left).collect())
        .unwrap_or_default();
    TxEnv {
        tx_type: tx.tx_type() as u8,
        caller: sender,
        gas_limit: tx.gas_limit(),
        gas_price: tx.max_fee_per_gas(),
        kind: tx.kind(),
        value: tx.value(),
        data: tx.input().clone(),
        nonce: tx.nonce(),
        chain_id: tx.chain_id(),
        access_list: tx.access_list().cloned().unwrap_or_default(),
        gas_priority_fee: tx.max_priority_fee_per_gas(),
        blob_hashes: tx
            .blob_versioned_hashes()
            .map(<[_]>::to_vec)
            .unwrap_or_default(),
        max_fee_per_blob_gas: tx.max_fee_per_blob_gas().unwrap_or_default(),
        authorization_list,
    }
}

impl crate::RollupTx {
    /// A deposit as revm runs it: legacy-shaped, gas price zero, no nonce or chain id (the
    /// engine skips the nonce check for deposits and bumps the nonce all the same).
    pub fn deposit(deposit: &parallax_protocol::deposit::DepositTx) -> Self {
        Self {
            env: TxEnv {
                tx_type: 0,
                caller: deposit.from,
                gas_limit: deposit.gas_limit,
                gas_price: 0,
                kind: deposit.to,
                value: deposit.value,
                data: deposit.data.clone(),
                nonce: 0,
                chain_id: None,
                ..TxEnv::default()
            },
            funding: crate::TxFunding::Deposit {
                mint: deposit.mint,
                system: deposit.is_system,
            },
        }
    }

    /// A signed transaction paying `l1_data_fee` (see [`parallax_protocol::l1_data_fee`]).
    pub fn signed(tx: &TxEnvelope, sender: Address, l1_data_fee: alloy_primitives::U256) -> Self {
        Self {
            env: tx_env(tx, sender),
            funding: crate::TxFunding::Signed { l1_data_fee },
        }
    }
}
