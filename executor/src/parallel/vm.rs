//! The database one incarnation of one transaction reads through: multi-version memory first,
//! then the pre-state. It records every read (for validation) and stops at the first estimate
//! (so the scheduler can park the transaction until its dependency re-executes).

use alloy_primitives::{Address, B256, U256};
use dashmap::DashMap;
use revm::{
    database_interface::{DBErrorMarker, Database},
    state::{AccountInfo, Bytecode},
};

use super::{
    lazy::{self, Blocked, FeeCredits},
    mv_memory::{BasicValue, Lookup, MemoryLocation, MemoryValue, MvMemory, TxVersion},
};
use crate::{
    sequential::{view_error, ViewError},
    types::{AccountBasic, TxIdx},
    StateView,
};

/// Where a recorded read got its value; validation checks the same read would get it again.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum ReadOrigin {
    /// The pre-state: no lower transaction wrote the location.
    Base,
    /// A lower transaction's write.
    Versioned(TxVersion),
    /// A lazily accounted fee recipient, resolved to this value (fee credits summed). Boxed:
    /// such reads are rare and the value would triple the size of every read-set entry.
    FeeRecipient(Box<BasicValue>),
}

/// What one incarnation read, in order (a transfer reads two accounts: inline, no allocation).
pub(crate) type ReadSet = smallvec::SmallVec<[(MemoryLocation, ReadOrigin); 2]>;

/// Why a read through the multi-version memory failed.
#[derive(Debug, thiserror::Error)]
pub(crate) enum VmDbError {
    /// The value is an estimate of this transaction: execution must wait for it.
    #[error("read an estimate of transaction {0}")]
    Blocked(TxIdx),
    /// The pre-state failed.
    #[error(transparent)]
    View(#[from] ViewError),
}

impl DBErrorMarker for VmDbError {}

impl From<Blocked> for VmDbError {
    fn from(Blocked(blocking): Blocked) -> Self {
        Self::Blocked(blocking)
    }
}

/// State shared by all incarnations of a block.
pub(crate) struct SharedView<'a, S> {
    pub(crate) mv: &'a MvMemory,
    pub(crate) view: &'a S,
    /// Code deployed by any incarnation so far; content-addressed, so speculative entries are
    /// harmless (a hash always maps to the same code).
    pub(crate) new_code: &'a DashMap<B256, Bytecode, alloy_primitives::map::DefaultHashBuilder>,
    /// Fee recipients accounted lazily, and their per-transaction credits.
    pub(crate) fee_recipients: &'a [Address],
    pub(crate) credits: &'a FeeCredits,
    /// EIP-161 in force: an emptied account is deleted.
    pub(crate) state_clear: bool,
}

/// One incarnation's view and read log.
pub(crate) struct VmDb<'a, S> {
    shared: &'a SharedView<'a, S>,
    idx: TxIdx,
    pub(crate) reads: ReadSet,
    /// Each account read so far, as read (its storage epoch included).
    accounts: Vec<(Address, BasicValue)>,
}

impl<'a, S: StateView> VmDb<'a, S> {
    pub(crate) fn new(shared: &'a SharedView<'a, S>, idx: TxIdx) -> Self {
        Self {
            shared,
            idx,
            reads: ReadSet::new(),
            accounts: Vec::with_capacity(4),
        }
    }

    /// The account as this incarnation read it, if it did.
    pub(crate) fn loaded(&self, address: &Address) -> Option<Option<AccountBasic>> {
        self.accounts
            .iter()
            .find(|(a, _)| a == address)
            .map(|(_, value)| value.info)
    }

    /// The transaction that last wiped `address`'s storage below this one, as this incarnation
    /// saw it (reading the account now if it has not yet).
    pub(crate) fn storage_epoch(&mut self, address: Address) -> Result<Option<TxIdx>, VmDbError> {
        if let Some((_, value)) = self.accounts.iter().find(|(a, _)| *a == address) {
            return Ok(value.storage_reset_by);
        }
        self.read_basic(address)?;
        Ok(self
            .accounts
            .iter()
            .find(|(a, _)| *a == address)
            .and_then(|(_, value)| value.storage_reset_by))
    }

    fn read_basic(&mut self, address: Address) -> Result<Option<AccountInfo>, VmDbError> {
        let location = MemoryLocation::Basic(address);
        if let Some(recipient) = lazy::recipient_index(self.shared.fee_recipients, &address) {
            let value = resolve_fee_recipient(self.shared, recipient, address, self.idx)?;
            self.reads
                .push((location, ReadOrigin::FeeRecipient(Box::new(value))));
            self.accounts.push((address, value));
            return Ok(value.info.map(AccountInfo::from));
        }
        match self.shared.mv.read(&location, self.idx) {
            Lookup::Blocked(blocking) => Err(VmDbError::Blocked(blocking)),
            Lookup::Versioned(version, MemoryValue::Basic(value)) => {
                self.reads.push((location, ReadOrigin::Versioned(version)));
                self.accounts.push((address, value));
                Ok(value.info.map(AccountInfo::from))
            }
            // A Basic location only ever holds account values; treat anything else as a conflict.
            Lookup::Versioned(version, MemoryValue::Storage(_)) => {
                Err(VmDbError::Blocked(version.idx))
            }
            Lookup::Base => {
                self.reads.push((location, ReadOrigin::Base));
                let info = self
                    .shared
                    .view
                    .basic_ref(address)
                    .map_err(|e| VmDbError::View(view_error(e)))?;
                let basic = info.as_ref().map(AccountBasic::from);
                self.accounts.push((
                    address,
                    BasicValue {
                        info: basic,
                        storage_reset_by: None,
                    },
                ));
                Ok(info)
            }
        }
    }
}

/// The value of a lazily accounted fee recipient just below `reader` (see [`lazy`]).
pub(crate) fn resolve_fee_recipient<S: StateView>(
    shared: &SharedView<'_, S>,
    recipient: usize,
    address: Address,
    reader: TxIdx,
) -> Result<BasicValue, VmDbError> {
    let lookup = shared.mv.read(&MemoryLocation::Basic(address), reader);
    lazy::resolve(
        lookup,
        shared.credits,
        recipient,
        reader,
        shared.state_clear,
        || {
            let info = shared
                .view
                .basic_ref(address)
                .map_err(|e| VmDbError::View(view_error(e)))?;
            Ok(info.as_ref().map(AccountBasic::from))
        },
    )
}

impl<S: StateView> Database for &mut VmDb<'_, S> {
    type Error = VmDbError;

    fn basic(&mut self, address: Address) -> Result<Option<AccountInfo>, Self::Error> {
        self.read_basic(address)
    }

    fn code_by_hash(&mut self, code_hash: B256) -> Result<Bytecode, Self::Error> {
        if let Some(code) = self.shared.new_code.get(&code_hash) {
            return Ok(code.clone());
        }
        self.shared
            .view
            .code_by_hash_ref(code_hash)
            .map_err(|e| VmDbError::View(view_error(e)))
    }

    fn storage(&mut self, address: Address, index: U256) -> Result<U256, Self::Error> {
        let epoch = self.storage_epoch(address)?;
        let location = MemoryLocation::Storage(address, index);
        match self.shared.mv.read(&location, self.idx) {
            Lookup::Blocked(blocking) => Err(VmDbError::Blocked(blocking)),
            Lookup::Versioned(version, MemoryValue::Storage(value)) => {
                self.reads.push((location, ReadOrigin::Versioned(version)));
                // A write older than the account's last storage wipe is gone.
                Ok(if epoch.is_some_and(|wiped_by| version.idx < wiped_by) {
                    U256::ZERO
                } else {
                    value
                })
            }
            Lookup::Versioned(version, _) => Err(VmDbError::Blocked(version.idx)),
            Lookup::Base => {
                self.reads.push((location, ReadOrigin::Base));
                if epoch.is_some() {
                    Ok(U256::ZERO)
                } else {
                    self.shared
                        .view
                        .storage_ref(address, index)
                        .map_err(|e| VmDbError::View(view_error(e)))
                }
            }
        }
    }

    fn block_hash(&mut self, number: u64) -> Result<B256, Self::Error> {
        self.shared
            .view
            .block_hash_ref(number)
            .map_err(|e| VmDbError::View(view_error(e)))
    }
}

/// Whether the reads of `idx` would see the same values now. An estimate anywhere fails it.
pub(crate) fn validate_reads<S: StateView>(
    shared: &SharedView<'_, S>,
    idx: TxIdx,
    reads: &[(MemoryLocation, ReadOrigin)],
) -> bool {
    reads.iter().all(|(location, origin)| match origin {
        ReadOrigin::Base => matches!(shared.mv.read(location, idx), Lookup::Base),
        ReadOrigin::Versioned(version) => {
            matches!(shared.mv.read(location, idx), Lookup::Versioned(current, _) if current == *version)
        }
        ReadOrigin::FeeRecipient(value) => match location {
            MemoryLocation::Basic(address) => lazy::recipient_index(shared.fee_recipients, address)
                .is_some_and(|recipient| {
                    matches!(resolve_fee_recipient(shared, recipient, *address, idx), Ok(current) if current == **value)
                }),
            MemoryLocation::Storage(..) => false,
        },
    })
}
