//! Multi-version memory: for every state location, the value each transaction wrote to it.
//!
//! A read by transaction `j` sees the write of the highest transaction below `j`, or the
//! pre-state when there is none. Aborted writes become [`MemoryEntry::Estimate`] so that readers
//! wait for the re-execution instead of reading a value that is probably about to change.

use std::collections::BTreeMap;

use alloy_primitives::{map::DefaultHashBuilder, Address, U256};
use dashmap::DashMap;
use parking_lot_like::Mutex;

use crate::types::{AccountBasic, TxIdx};

/// Re-execution counter of a transaction.
pub(crate) type Incarnation = u32;

/// One execution of one transaction.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct TxVersion {
    pub(crate) idx: TxIdx,
    pub(crate) incarnation: Incarnation,
}

/// The granularity of conflict detection. Code is content-addressed by its hash (held in the
/// account info), so it never conflicts and needs no location of its own.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub(crate) enum MemoryLocation {
    /// Balance, nonce and code hash of an account.
    Basic(Address),
    /// One storage slot.
    Storage(Address, U256),
}

/// An account as seen through the multi-version memory.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct BasicValue {
    /// `None`: the account does not exist.
    pub(crate) info: Option<AccountBasic>,
    /// The latest transaction (up to the writer) that wiped this account's storage by creating or
    /// destroying it. Storage slots written before it read as zero.
    pub(crate) storage_reset_by: Option<TxIdx>,
}

/// A value in the multi-version memory.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum MemoryValue {
    Basic(BasicValue),
    Storage(U256),
    /// A fee credit to a lazily accounted fee recipient: added to whatever is below it.
    FeeCredit(U256),
}

/// An entry for one (location, transaction).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum MemoryEntry {
    Data(Incarnation, MemoryValue),
    /// Written by an aborted incarnation: likely to be written again.
    Estimate,
}

/// The result of looking a location up for a reader.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Lookup {
    /// No transaction below the reader wrote it: read the pre-state.
    Base,
    /// The closest lower write.
    Versioned(TxVersion, MemoryValue),
    /// The closest lower write was aborted: wait for that transaction.
    Blocked(TxIdx),
}

type Versions = BTreeMap<TxIdx, MemoryEntry>;

/// What [`MvMemory::read_fee_recipient`] found below a reader.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(crate) struct FeeRecipientRead {
    /// The closest full write; `None`: the pre-state.
    pub(crate) below: Option<BasicValue>,
    /// Sum of the fee credits above `below`.
    pub(crate) credits: U256,
    /// The highest transaction below the reader that wrote or credited the account.
    pub(crate) highest_writer: Option<TxIdx>,
}

/// The shared multi-version memory of one block.
pub(crate) struct MvMemory {
    data: DashMap<MemoryLocation, Versions, DefaultHashBuilder>,
    /// Locations each transaction's latest incarnation wrote, to retract stale writes.
    last_written: Vec<Mutex<Vec<MemoryLocation>>>,
}

impl MvMemory {
    pub(crate) fn new(block_size: usize) -> Self {
        Self {
            data: DashMap::with_hasher(DefaultHashBuilder::default()),
            last_written: (0..block_size).map(|_| Mutex::new(Vec::new())).collect(),
        }
    }

    /// Marks locations `idx` will probably write (its sender's account, say) before anything
    /// runs, so later readers wait for it instead of reading stale values and aborting.
    pub(crate) fn pre_populate(&self, idx: TxIdx, locations: &[MemoryLocation]) {
        let mut last = self.last_written[idx].lock();
        for location in locations {
            if !last.contains(location) {
                self.data
                    .entry(*location)
                    .or_default()
                    .insert(idx, MemoryEntry::Estimate);
                last.push(*location);
            }
        }
    }

    /// Records the writes of `version`, retracting locations its previous incarnation wrote but
    /// this one did not. Returns whether it wrote a location the previous incarnation did not:
    /// then transactions above it that already validated must validate again.
    pub(crate) fn record(
        &self,
        version: TxVersion,
        writes: impl Iterator<Item = (MemoryLocation, MemoryValue)>,
    ) -> bool {
        let mut new_locations = Vec::new();
        for (location, value) in writes {
            self.data
                .entry(location)
                .or_default()
                .insert(version.idx, MemoryEntry::Data(version.incarnation, value));
            new_locations.push(location);
        }
        let mut last = self.last_written[version.idx].lock();
        for stale in last
            .iter()
            .filter(|location| !new_locations.contains(location))
        {
            if let Some(mut versions) = self.data.get_mut(stale) {
                versions.remove(&version.idx);
            }
        }
        let wrote_new_location = new_locations
            .iter()
            .any(|location| !last.contains(location));
        *last = new_locations;
        wrote_new_location
    }

    /// Turns the writes of an aborted transaction into estimates.
    pub(crate) fn convert_writes_to_estimates(&self, idx: TxIdx) {
        for location in self.last_written[idx].lock().iter() {
            if let Some(mut versions) = self.data.get_mut(location) {
                versions.insert(idx, MemoryEntry::Estimate);
            }
        }
    }

    /// The closest write below `reader` of `location`.
    pub(crate) fn read(&self, location: &MemoryLocation, reader: TxIdx) -> Lookup {
        let Some(versions) = self.data.get(location) else {
            return Lookup::Base;
        };
        match versions.range(..reader).next_back() {
            None => Lookup::Base,
            Some((idx, MemoryEntry::Estimate)) => Lookup::Blocked(*idx),
            Some((idx, MemoryEntry::Data(incarnation, value))) => Lookup::Versioned(
                TxVersion {
                    idx: *idx,
                    incarnation: *incarnation,
                },
                *value,
            ),
        }
    }

    /// The entries a lazily accounted fee recipient's value is made of, for `reader`: the
    /// closest full write below it and the fee credits above that write. `Err` names the
    /// transaction to wait for.
    pub(crate) fn read_fee_recipient(
        &self,
        address: Address,
        reader: TxIdx,
    ) -> Result<FeeRecipientRead, TxIdx> {
        let mut read = FeeRecipientRead::default();
        let Some(versions) = self.data.get(&MemoryLocation::Basic(address)) else {
            return Ok(read);
        };
        for (idx, entry) in versions.range(..reader).rev() {
            read.highest_writer.get_or_insert(*idx);
            match entry {
                MemoryEntry::Estimate => return Err(*idx),
                MemoryEntry::Data(_, MemoryValue::FeeCredit(amount)) => {
                    read.credits = read.credits.saturating_add(*amount);
                }
                MemoryEntry::Data(_, MemoryValue::Basic(value)) => {
                    read.below = Some(*value);
                    break;
                }
                // Basic locations never hold storage values.
                MemoryEntry::Data(_, MemoryValue::Storage(_)) => {}
            }
        }
        Ok(read)
    }

    /// Consumes the memory after every transaction validated: the final entry of every location.
    pub(crate) fn into_final(self) -> impl Iterator<Item = (MemoryLocation, Versions)> {
        self.data.into_iter()
    }
}

/// `std::sync::Mutex` with the poison case folded in: a worker that panicked aborts the whole
/// block (the panic is reported), so a poisoned lock's data is never used afterwards.
mod parking_lot_like {
    pub(crate) struct Mutex<T>(std::sync::Mutex<T>);

    impl<T> Mutex<T> {
        pub(crate) const fn new(value: T) -> Self {
            Self(std::sync::Mutex::new(value))
        }

        pub(crate) fn lock(&self) -> std::sync::MutexGuard<'_, T> {
            self.0
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner)
        }

        pub(crate) fn into_inner(self) -> T {
            self.0
                .into_inner()
                .unwrap_or_else(std::sync::PoisonError::into_inner)
        }
    }
}

pub(crate) use parking_lot_like::Mutex as PlainMutex;
