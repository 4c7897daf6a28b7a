//! Multi-version memory: for every state location, the value each transaction wrote to it.
//!
//! A read by transaction `j` sees the write of the highest transaction below `j`, or the
//! pre-state when there is none. Aborted writes become [`MemoryEntry::Estimate`] so that readers
//! wait for the re-execution instead of reading a value that is probably about to change.

use std::hash::BuildHasher;

use alloy_primitives::{map::DefaultHashBuilder, Address, U256};
use crossbeam_utils::CachePadded;
use hashbrown::HashTable;
use parking_lot_like::{Mutex, RwLock};
use smallvec::SmallVec;

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

/// The writes to one location, sorted by transaction. Most locations have a single writer and
/// transactions mostly finish in order, so a sorted small vector (the first entry inline, binary
/// search, appends at the end) beats a tree, whose every node is a kilobyte-sized allocation.
#[derive(Clone, Debug, Default)]
pub(crate) struct Versions(SmallVec<[(TxIdx, MemoryEntry); 1]>);

impl Versions {
    fn position(&self, idx: TxIdx) -> Result<usize, usize> {
        self.0.binary_search_by_key(&idx, |(writer, _)| *writer)
    }

    /// Sets the entry of transaction `idx`.
    pub(crate) fn insert(&mut self, idx: TxIdx, entry: MemoryEntry) {
        match self.position(idx) {
            Ok(position) => self.0[position].1 = entry,
            Err(position) => self.0.insert(position, (idx, entry)),
        }
    }

    /// Removes the entry of transaction `idx`, if any.
    pub(crate) fn remove(&mut self, idx: TxIdx) {
        if let Ok(position) = self.position(idx) {
            self.0.remove(position);
        }
    }

    /// Entries of transactions below `reader`, in block order.
    pub(crate) fn below(&self, reader: TxIdx) -> &[(TxIdx, MemoryEntry)] {
        &self.0[..self.0.partition_point(|(writer, _)| *writer < reader)]
    }

    /// All entries, in block order.
    pub(crate) fn entries(&self) -> &[(TxIdx, MemoryEntry)] {
        &self.0
    }
}

/// Locations one transaction wrote (usually a handful: inline).
pub(crate) type LocationList = SmallVec<[MemoryLocation; 3]>;

/// One shard: the locations whose hash selects it, with their versions.
type Shard = RwLock<HashTable<(MemoryLocation, Versions)>>;

/// The shared multi-version memory of one block.
///
/// A sharded hash table rather than a concurrent map crate: each location is hashed once (the
/// hash picks the shard and probes its table), and the end of the block walks the shards
/// directly, a range of them per worker, instead of through a per-entry iterator.
pub(crate) struct MvMemory {
    hasher: DefaultHashBuilder,
    shards: Box<[CachePadded<Shard>]>,
    /// Locations each transaction's latest incarnation wrote, to retract stale writes.
    last_written: Vec<Mutex<LocationList>>,
}

impl MvMemory {
    /// Lock shards of the location table. Many: a shard is one lock, and every read and write
    /// takes one. Also how [`MvMemory::for_each_last`] is split between workers.
    pub(crate) const SHARDS: usize = 128;

    pub(crate) fn new(block_size: usize) -> Self {
        // Sized for about one location per transaction up front (a larger table costs more to
        // allocate than the rehashes it saves); shards grow independently beyond that.
        let per_shard = block_size.div_ceil(Self::SHARDS);
        Self {
            hasher: DefaultHashBuilder::default(),
            shards: (0..Self::SHARDS)
                .map(|_| CachePadded::new(Shard::new(HashTable::with_capacity(per_shard))))
                .collect(),
            last_written: (0..block_size)
                .map(|_| Mutex::new(LocationList::new()))
                .collect(),
        }
    }

    fn hash(&self, location: &MemoryLocation) -> u64 {
        self.hasher.hash_one(location)
    }

    /// The shard of a hash. Bits the table itself uses little: its low bits pick buckets and
    /// its top seven are the control tags, so taking either would crowd one shard's entries.
    fn shard(&self, hash: u64) -> &Shard {
        &self.shards[(hash >> 32) as usize % Self::SHARDS]
    }

    /// Runs `update` on the versions of `location`, creating them if absent.
    fn update(&self, location: &MemoryLocation, update: impl FnOnce(&mut Versions)) {
        let hash = self.hash(location);
        let mut shard = self.shard(hash).write();
        let entry = shard.entry(hash, |(key, _)| key == location, |(key, _)| self.hash(key));
        update(
            &mut entry
                .or_insert_with(|| (*location, Versions::default()))
                .get_mut()
                .1,
        );
    }

    /// Runs `update` on the versions of `location` if any transaction wrote it.
    fn update_existing(&self, location: &MemoryLocation, update: impl FnOnce(&mut Versions)) {
        let hash = self.hash(location);
        if let Some((_, versions)) = self
            .shard(hash)
            .write()
            .find_mut(hash, |(key, _)| key == location)
        {
            update(versions);
        }
    }

    /// Runs `visit` on the versions of `location`, if any transaction wrote it.
    fn inspect<R>(
        &self,
        location: &MemoryLocation,
        visit: impl FnOnce(&Versions) -> R,
    ) -> Option<R> {
        let hash = self.hash(location);
        self.shard(hash)
            .read()
            .find(hash, |(key, _)| key == location)
            .map(|(_, versions)| visit(versions))
    }

    /// Marks locations `idx` will probably write (its sender's account, say) before anything
    /// runs, so later readers wait for it instead of reading stale values and aborting.
    pub(crate) fn pre_populate(&self, idx: TxIdx, locations: &[MemoryLocation]) {
        let mut last = self.last_written[idx].lock();
        for location in locations {
            if !last.contains(location) {
                self.update(location, |versions| {
                    versions.insert(idx, MemoryEntry::Estimate)
                });
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
        let mut new_locations = LocationList::new();
        for (location, value) in writes {
            self.update(&location, |versions| {
                versions.insert(version.idx, MemoryEntry::Data(version.incarnation, value))
            });
            new_locations.push(location);
        }
        let mut last = self.last_written[version.idx].lock();
        for stale in last
            .iter()
            .filter(|location| !new_locations.contains(location))
        {
            self.update_existing(stale, |versions| versions.remove(version.idx));
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
            self.update_existing(location, |versions| {
                versions.insert(idx, MemoryEntry::Estimate)
            });
        }
    }

    /// The closest write below `reader` of `location`.
    pub(crate) fn read(&self, location: &MemoryLocation, reader: TxIdx) -> Lookup {
        self.inspect(location, |versions| match versions.below(reader).last() {
            None => Lookup::Base,
            Some((idx, MemoryEntry::Estimate)) => Lookup::Blocked(*idx),
            Some((idx, MemoryEntry::Data(incarnation, value))) => Lookup::Versioned(
                TxVersion {
                    idx: *idx,
                    incarnation: *incarnation,
                },
                *value,
            ),
        })
        .unwrap_or(Lookup::Base)
    }

    /// The entries of one location (empty when nobody wrote it), for the final fee replay.
    pub(crate) fn versions(&self, location: &MemoryLocation) -> Versions {
        self.inspect(location, Versions::clone).unwrap_or_default()
    }

    /// Calls `visit` with the last write of every location in the shards `shards` (after every
    /// transaction validated, so no estimates remain).
    pub(crate) fn for_each_last(
        &self,
        shards: std::ops::Range<usize>,
        mut visit: impl FnMut(&MemoryLocation, TxIdx, &MemoryValue),
    ) {
        for shard in &self.shards[shards] {
            for (location, versions) in shard.read().iter() {
                if let Some((idx, MemoryEntry::Data(_, value))) = versions.entries().last() {
                    visit(location, *idx, value);
                }
            }
        }
    }
}

/// `std::sync::Mutex` and `RwLock` with the poison case folded in: a worker that panicked aborts
/// the whole block (the panic is reported), so a poisoned lock's data is never used afterwards.
mod parking_lot_like {
    #[derive(Default)]
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
    }

    pub(crate) struct RwLock<T>(std::sync::RwLock<T>);

    impl<T> RwLock<T> {
        pub(crate) const fn new(value: T) -> Self {
            Self(std::sync::RwLock::new(value))
        }

        pub(crate) fn read(&self) -> std::sync::RwLockReadGuard<'_, T> {
            self.0
                .read()
                .unwrap_or_else(std::sync::PoisonError::into_inner)
        }

        pub(crate) fn write(&self) -> std::sync::RwLockWriteGuard<'_, T> {
            self.0
                .write()
                .unwrap_or_else(std::sync::PoisonError::into_inner)
        }
    }
}

pub(crate) use parking_lot_like::Mutex as PlainMutex;

impl From<BasicValue> for crate::types::AccountChange {
    /// The account part of a change; storage is attached by the caller.
    fn from(value: BasicValue) -> Self {
        Self {
            info: value.info,
            storage_cleared: value.storage_reset_by.is_some(),
            storage: Default::default(),
        }
    }
}
