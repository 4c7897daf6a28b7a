//! Turning revm's per-transaction state into writes, and receipts — shared by both engines so
//! that they cannot disagree on Ethereum's commit rules (EIP-161 removal, self-destruct, creation).

use alloy_primitives::{Address, B256, U256};
use revm::{
    context::result::{EVMError, ExecutionResult, InvalidTransaction},
    primitives::hardfork::SpecId,
    state::{Bytecode, EvmState},
};

use crate::evm::Executed;
use crate::types::{
    AccountBasic, BlockTransaction, ExecutionError, InvalidTx, TxIdx, TxReceipt, TxStatus,
};

/// The account part of a transaction's writes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct AccountWrite {
    pub(crate) address: Address,
    /// New account fields; `None` when the account is deleted.
    pub(crate) info: Option<AccountBasic>,
    /// The account's storage is wiped before this transaction's slot writes apply.
    pub(crate) storage_reset: bool,
}

/// Everything one transaction writes, in a form both engines apply.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub(crate) struct TxWrites {
    pub(crate) accounts: Vec<AccountWrite>,
    pub(crate) storage: Vec<(Address, U256, U256)>,
    pub(crate) contracts: Vec<(B256, Bytecode)>,
}

/// Extracts the writes of one transaction from the accounts revm touched, applying Ethereum's
/// commit rules: untouched accounts are only reads; a self-destructed account is deleted with
/// its storage; from Spurious Dragon on a touched empty account is deleted (EIP-161; revm has
/// already normalised earlier forks); a created account starts from empty storage.
///
/// `loaded(address)` is the account as the transaction read it (`None` when unknown). An account
/// that was touched but ends as it was loaded — every contract a call passes through — is not a
/// write: recording it would make every caller of a popular contract depend on the previous one.
/// A created account always is (its storage starts empty).
pub(crate) fn tx_writes(
    state: &EvmState,
    spec: SpecId,
    loaded: impl Fn(&Address) -> Option<Option<AccountBasic>>,
) -> TxWrites {
    let mut writes = TxWrites::default();
    let state_clear = spec.is_enabled_in(SpecId::SPURIOUS_DRAGON);
    for (address, account) in state {
        if !account.is_touched() {
            continue;
        }
        let address = *address;
        let created = account.is_created();
        let (info, storage_reset) =
            if account.is_selfdestructed() || (state_clear && account.is_empty()) {
                (None, true)
            } else {
                (Some(AccountBasic::from(&account.info)), created)
            };
        // Deleting an account that did not exist (a touched, still-empty address) is no write.
        if loaded(&address) != Some(info) || (storage_reset && info.is_some()) {
            writes.accounts.push(AccountWrite {
                address,
                info,
                storage_reset,
            });
        }
        if info.is_none() {
            continue;
        }
        if created {
            if let Some(code) = account.info.code.as_ref().filter(|code| !code.is_empty()) {
                writes
                    .contracts
                    .push((account.info.code_hash, code.clone()));
            }
        }
        for (slot, value) in account.storage.iter() {
            if value.is_changed() {
                writes.storage.push((address, *slot, value.present_value()));
            }
        }
    }
    // Deterministic order, whatever the hash map's iteration order was.
    writes.accounts.sort_unstable_by_key(|write| write.address);
    writes
        .storage
        .sort_unstable_by(|a, b| (a.0, a.1).cmp(&(b.0, b.1)));
    writes.contracts.sort_unstable_by_key(|(hash, _)| *hash);
    writes
}

/// The receipt of `tx`, without the cumulative gas, which only the block order can fill in.
pub(crate) fn tx_receipt<T: BlockTransaction + ?Sized>(tx: &T, executed: Executed) -> TxReceipt {
    let mut receipt = receipt(tx.receipt_type(), executed);
    if !tx.counts_gas() {
        receipt.gas_used = 0;
    }
    receipt
}

fn receipt(tx_type: u8, executed: Executed) -> TxReceipt {
    let result = match executed {
        Executed::Evm(result) => result,
        Executed::FailedDeposit { gas_used, reason } => {
            return TxReceipt {
                tx_type,
                status: TxStatus::Halt(format!("deposit failed: {reason}")),
                gas_used,
                cumulative_gas_used: 0,
                logs: Vec::new(),
                contract_address: None,
            }
        }
    };
    let gas_used = result.tx_gas_used();
    let contract_address = result.created_address();
    let (status, logs) = match result {
        ExecutionResult::Success { logs, .. } => (TxStatus::Success, logs),
        ExecutionResult::Revert { output, .. } => (TxStatus::Revert(output), Vec::new()),
        ExecutionResult::Halt { reason, .. } => (TxStatus::Halt(format!("{reason:?}")), Vec::new()),
    };
    TxReceipt {
        tx_type,
        status,
        gas_used,
        cumulative_gas_used: 0,
        logs,
        contract_address,
    }
}

/// Fills in cumulative gas and sums the block's gas.
pub(crate) fn seal_receipts(receipts: &mut [TxReceipt]) -> u64 {
    let mut cumulative = 0u64;
    for receipt in receipts {
        cumulative = cumulative.saturating_add(receipt.gas_used);
        receipt.cumulative_gas_used = cumulative;
    }
    cumulative
}

/// What went wrong running one transaction, before it is attached to an index.
#[derive(Debug)]
pub(crate) enum TxFailure<E> {
    /// The transaction is invalid on this state; a builder drops it.
    Invalid(InvalidTx),
    /// The header does not fit the rules.
    Header(String),
    /// The state could not be read.
    State(E),
}

impl<E: std::fmt::Display> From<EVMError<E, InvalidTransaction>> for TxFailure<E> {
    fn from(error: EVMError<E, InvalidTransaction>) -> Self {
        match error {
            EVMError::Transaction(invalid) => Self::Invalid(InvalidTx(invalid.to_string())),
            EVMError::Header(header) => Self::Header(header.to_string()),
            EVMError::Database(db) => Self::State(db),
            // Custom errors are raised by revm for conditions it cannot classify (e.g. a
            // precompile's internal error); they make the transaction unincludable.
            other => Self::Invalid(InvalidTx(other.to_string())),
        }
    }
}

impl<E: std::error::Error + Send + Sync + 'static> TxFailure<E> {
    /// The block-level error for this failure at `index`.
    pub(crate) fn at(self, index: TxIdx) -> ExecutionError {
        match self {
            Self::Invalid(reason) => ExecutionError::InvalidTransaction { index, reason },
            Self::Header(reason) => ExecutionError::InvalidHeader(reason),
            Self::State(error) => ExecutionError::State(Box::new(error)),
        }
    }
}
