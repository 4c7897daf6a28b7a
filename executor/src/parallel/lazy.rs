//! Lazy fee accounting.
//!
//! In Ethereum every transaction credits the block's fee recipients (the beneficiary's priority
//! fee, and on the Parallax L2 the base fee to its vault) as it completes. Executed literally,
//! that makes every transaction read and write the same accounts, a dependency chain through the
//! whole block. Instead, each transaction's credits are kept in its own slot here, outside the
//! multi-version memory, and only summed when a transaction actually reads a fee recipient (or
//! at the end of the block). A reader sees exactly the sequential value: the closest full write
//! below it plus every later credit, with EIP-161 applied after each transaction as Ethereum
//! would; it waits for any lower transaction whose credit is not known yet.

use alloy_primitives::{Address, U256};

use super::mv_memory::{BasicValue, Lookup, MemoryEntry, MemoryValue, PlainMutex, Versions};
use crate::types::{AccountBasic, TxIdx};

/// Credits of one transaction, one per fee recipient in the order of
/// `ExecutionEnv::fee_recipients` (beneficiary, base-fee vault, L1-fee vault; unused slots zero).
pub(crate) type Credits = [U256; 3];

/// Per-transaction fee credits; `None` while the transaction has not (re-)executed.
pub(crate) struct FeeCredits {
    slots: Vec<PlainMutex<Option<Credits>>>,
}

impl FeeCredits {
    pub(crate) fn new(block_size: usize) -> Self {
        Self {
            slots: (0..block_size).map(|_| PlainMutex::new(None)).collect(),
        }
    }

    pub(crate) fn set(&self, idx: TxIdx, credits: Credits) {
        *self.slots[idx].lock() = Some(credits);
    }

    /// The transaction was aborted: its credits are unknown until it re-executes.
    pub(crate) fn invalidate(&self, idx: TxIdx) {
        *self.slots[idx].lock() = None;
    }

    pub(crate) fn get(&self, idx: TxIdx) -> Option<Credits> {
        *self.slots[idx].lock()
    }
}

/// Adds one transaction's credit to a fee recipient, which that transaction touched: from
/// Spurious Dragon on, an existing account left empty is deleted (and its storage with it); a
/// non-existent one credited nothing stays non-existent. Lazy accounting is only used from
/// Spurious Dragon on (see `BlockStm::prefers_sequential`).
pub(crate) fn credit(value: &mut BasicValue, amount: U256, by: TxIdx, state_clear: bool) {
    let Some(mut info) = value
        .info
        .or_else(|| (!amount.is_zero()).then(AccountBasic::default))
    else {
        return;
    };
    info.balance = info.balance.saturating_add(amount);
    if state_clear && info.is_empty() {
        *value = BasicValue {
            info: None,
            storage_reset_by: Some(by),
        };
    } else {
        value.info = Some(info);
    }
}

/// A fee recipient cannot be resolved yet: wait for this transaction (an estimate, or credits
/// not known yet).
pub(crate) struct Blocked(pub(crate) TxIdx);

/// The value of fee recipient `recipient` (index into the credits) just below `reader`, given
/// the lookup of its account location; `base` reads the pre-state, only when no lower
/// transaction wrote the account.
pub(crate) fn resolve<E: From<Blocked>>(
    lookup: Lookup,
    credits: &FeeCredits,
    recipient: usize,
    reader: TxIdx,
    state_clear: bool,
    base: impl FnOnce() -> Result<Option<AccountBasic>, E>,
) -> Result<BasicValue, E> {
    let (mut value, from) = match lookup {
        Lookup::Blocked(blocking) => return Err(Blocked(blocking).into()),
        Lookup::Versioned(version, MemoryValue::Basic(value)) => (value, version.idx + 1),
        // A Basic location only ever holds account values; treat anything else as a conflict.
        Lookup::Versioned(version, MemoryValue::Storage(_)) => {
            return Err(Blocked(version.idx).into())
        }
        Lookup::Base => (
            BasicValue {
                info: base()?,
                storage_reset_by: None,
            },
            0,
        ),
    };
    for idx in from..reader {
        let amount = credits.get(idx).ok_or(Blocked(idx))?[recipient];
        credit(&mut value, amount, idx, state_clear);
    }
    Ok(value)
}

/// The final value of a fee recipient after the whole block, replaying every transaction in
/// order: each either fully wrote it (its own credit included) or credited it. Also says whether
/// any transaction changed it, which is when the sequential engine reports it as changed.
pub(crate) fn replay(
    versions: &Versions,
    credits: &FeeCredits,
    recipient: usize,
    base: Option<AccountBasic>,
    block_size: usize,
    state_clear: bool,
) -> (BasicValue, bool) {
    let mut value = BasicValue {
        info: base,
        storage_reset_by: None,
    };
    let mut changed = false;
    let mut writes = versions.entries().iter().peekable();
    for idx in 0..block_size {
        match writes.next_if(|(writer, _)| *writer == idx) {
            Some((_, MemoryEntry::Data(_, MemoryValue::Basic(written)))) => {
                value = *written;
                changed = true;
            }
            _ => {
                let before = value;
                let amount = credits
                    .get(idx)
                    .map_or(U256::ZERO, |credits| credits[recipient]);
                credit(&mut value, amount, idx, state_clear);
                changed |= value != before;
            }
        }
    }
    (value, changed)
}

/// Which fee recipient `address` is, if any.
pub(crate) fn recipient_index(recipients: &[Address], address: &Address) -> Option<usize> {
    recipients.iter().position(|recipient| recipient == address)
}
