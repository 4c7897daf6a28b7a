//! Block-STM: optimistic parallel execution that commits exactly the sequential result.
//!
//! Transactions run speculatively on all threads against a multi-version memory; each
//! execution records what it read, and a validation re-checks those reads once lower
//! transactions have (re)written. A failed validation turns the transaction's writes into
//! estimates and re-executes it. Fee payments to the beneficiary and base-fee vault are not
//! executed but recorded as credits, summed only when a transaction actually reads one of
//! those accounts, so they create no dependencies.

mod mv_memory;
mod scheduler;
mod vm;

use std::{
    collections::{BTreeMap, HashMap},
    num::NonZeroUsize,
    panic::AssertUnwindSafe,
    sync::{
        atomic::{AtomicU64, Ordering},
        Mutex as StdMutex,
    },
};

use alloy_primitives::{map::DefaultHashBuilder, Address, B256, U256};
use dashmap::DashMap;
use revm::{
    context::{result::EVMError, TxEnv},
    primitives::{hardfork::SpecId, KECCAK_EMPTY},
    state::Bytecode,
};

use self::{
    mv_memory::{
        BasicValue, MemoryEntry, MemoryLocation, MemoryValue, MvMemory, PlainMutex, TxVersion,
    },
    scheduler::{Scheduler, Task},
    vm::{validate_reads, ReadOrigin, SharedView, VmDb, VmDbError},
};
use crate::{
    changes::{receipt, seal_receipts, tx_writes, TxFailure},
    evm::{cfg_env, transact, FeeMode, Fees},
    sequential::{view_error, Sequential},
    types::{
        AccountBasic, AccountChange, BlockOutcome, ExecutionEnv, ExecutionError, ExecutionStats,
        InvalidTx, StateChanges, TxIdx, TxReceipt,
    },
    BlockExecutor, StateView,
};

/// Block-STM parallel executor. Its outcome equals [`Sequential`]'s for any thread count.
#[derive(Clone, Copy, Debug)]
pub struct BlockStm {
    threads: NonZeroUsize,
    min_parallel_txs: usize,
}

impl Default for BlockStm {
    fn default() -> Self {
        Self::new(std::thread::available_parallelism().map_or(1, NonZeroUsize::get))
    }
}

impl BlockStm {
    /// Blocks with fewer transactions run sequentially: thread start-up and bookkeeping cost more
    /// than a handful of transactions can win back.
    pub const DEFAULT_MIN_PARALLEL_TXS: usize = 4;

    /// An executor using `threads` worker threads (at least one).
    pub fn new(threads: usize) -> Self {
        Self {
            threads: NonZeroUsize::new(threads).unwrap_or(NonZeroUsize::MIN),
            min_parallel_txs: Self::DEFAULT_MIN_PARALLEL_TXS,
        }
    }

    /// Sets the smallest block run in parallel. Zero turns the up-front heuristics off (block
    /// size and single-sender chains), so even a one-transaction block takes the parallel path:
    /// the equivalence tests use it. The abort-rate fallback stays on.
    pub fn with_min_parallel_txs(mut self, min_parallel_txs: usize) -> Self {
        self.min_parallel_txs = min_parallel_txs;
        self
    }

    /// Worker threads used.
    pub fn threads(&self) -> usize {
        self.threads.get()
    }

    /// Whether the block is better run sequentially before trying: too small, a single thread,
    /// a fork older than EIP-161 (whose touch rules defeat lazy fee accounting), or mostly one
    /// sender's nonce chain, which no scheduling can parallelise.
    fn prefers_sequential(&self, env: &ExecutionEnv, txs: &[TxEnv]) -> bool {
        if self.threads.get() == 1
            || txs.is_empty()
            || !env.spec.is_enabled_in(SpecId::SPURIOUS_DRAGON)
        {
            return true;
        }
        if self.min_parallel_txs == 0 {
            return false;
        }
        if txs.len() < self.min_parallel_txs {
            return true;
        }
        let mut per_sender: HashMap<Address, usize> = HashMap::new();
        let busiest = txs.iter().fold(0, |busiest, tx| {
            let count = per_sender.entry(tx.caller).or_default();
            *count += 1;
            busiest.max(*count)
        });
        busiest * 2 > txs.len()
    }
}

impl BlockExecutor for BlockStm {
    fn execute_block_with_stats<S: StateView>(
        &self,
        env: &ExecutionEnv,
        txs: &[TxEnv],
        state: &S,
    ) -> Result<(BlockOutcome, ExecutionStats), ExecutionError> {
        if !self.prefers_sequential(env, txs) {
            match ParallelRun::new(env, txs, state, self.threads.get()).run() {
                Ok(done) => return Ok(done),
                Err(Stop::Error(error)) => return Err(error),
                Err(Stop::Fallback(stats)) => {
                    tracing::debug!(
                        txs = txs.len(),
                        ?stats,
                        "block is a dependency chain; running it sequentially"
                    );
                    let (outcome, sequential) =
                        Sequential.execute_block_with_stats(env, txs, state)?;
                    let stats = ExecutionStats {
                        executions: stats.executions + sequential.executions,
                        fell_back_to_sequential: true,
                        ..stats
                    };
                    return Ok((outcome, stats));
                }
            }
        }
        Sequential.execute_block_with_stats(env, txs, state)
    }
}

/// Why a parallel run stopped before completing.
enum Stop {
    /// Conflicts are so frequent that sequential execution is faster: rerun sequentially.
    Fallback(ExecutionStats),
    /// The block cannot be executed.
    Error(ExecutionError),
}

/// What the latest incarnation of a transaction produced.
enum TxResult {
    Executed {
        receipt: TxReceipt,
        contracts: Vec<(B256, Bytecode)>,
    },
    Invalid(InvalidTx),
}

/// Result of one incarnation.
enum Execution {
    Done {
        writes: Vec<(MemoryLocation, MemoryValue)>,
        result: TxResult,
    },
    Blocked(TxIdx),
    Fatal(ExecutionError),
}

/// Abort rate above which, once enough executions are seen, the block is declared a chain.
const FALLBACK_MIN_EXECUTIONS: u64 = 24;

struct ParallelRun<'a, S> {
    env: &'a ExecutionEnv,
    cfg: revm::context::CfgEnv,
    txs: &'a [TxEnv],
    view: &'a S,
    threads: usize,
    mv: MvMemory,
    scheduler: Scheduler,
    new_code: DashMap<B256, Bytecode, DefaultHashBuilder>,
    fee_recipients: Vec<Address>,
    reads: Vec<PlainMutex<Vec<(MemoryLocation, ReadOrigin)>>>,
    results: Vec<PlainMutex<Option<TxResult>>>,
    executions: AtomicU64,
    aborts: AtomicU64,
    validations: AtomicU64,
    stop: StdMutex<Option<Stop>>,
}

impl<'a, S: StateView> ParallelRun<'a, S> {
    fn new(env: &'a ExecutionEnv, txs: &'a [TxEnv], view: &'a S, threads: usize) -> Self {
        let mv = MvMemory::new(txs.len());
        for (idx, tx) in txs.iter().enumerate() {
            // Every transaction writes its sender; a value transfer also writes its recipient.
            let mut likely = vec![MemoryLocation::Basic(tx.caller)];
            if let (revm::primitives::TxKind::Call(to), false) = (tx.kind, tx.value.is_zero()) {
                likely.push(MemoryLocation::Basic(to));
            }
            mv.pre_populate(idx, &likely);
        }
        Self {
            env,
            cfg: cfg_env(env),
            txs,
            view,
            threads,
            mv,
            scheduler: Scheduler::new(txs.len()),
            new_code: DashMap::with_hasher(DefaultHashBuilder::default()),
            fee_recipients: env.fee_recipients().collect(),
            reads: (0..txs.len())
                .map(|_| PlainMutex::new(Vec::new()))
                .collect(),
            results: (0..txs.len()).map(|_| PlainMutex::new(None)).collect(),
            executions: AtomicU64::new(0),
            aborts: AtomicU64::new(0),
            validations: AtomicU64::new(0),
            stop: StdMutex::new(None),
        }
    }

    fn shared(&self) -> SharedView<'_, S> {
        SharedView {
            mv: &self.mv,
            view: self.view,
            new_code: &self.new_code,
            fee_recipients: &self.fee_recipients,
            state_clear: self.env.spec.is_enabled_in(SpecId::SPURIOUS_DRAGON),
        }
    }

    fn stats(&self) -> ExecutionStats {
        ExecutionStats {
            executions: self.executions.load(Ordering::Relaxed),
            aborts: self.aborts.load(Ordering::Relaxed),
            validations: self.validations.load(Ordering::Relaxed),
            fell_back_to_sequential: false,
        }
    }

    /// Stops the run; the first reason wins.
    fn stop_with(&self, stop: Stop) {
        let mut slot = self
            .stop
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        slot.get_or_insert(stop);
        self.scheduler.halt();
    }

    fn record_abort(&self) {
        let aborts = self.aborts.fetch_add(1, Ordering::Relaxed) + 1;
        let executions = self.executions.load(Ordering::Relaxed);
        if executions >= FALLBACK_MIN_EXECUTIONS && aborts * 2 > executions {
            self.stop_with(Stop::Fallback(self.stats()));
        }
    }

    fn run(self) -> Result<(BlockOutcome, ExecutionStats), Stop> {
        std::thread::scope(|scope| {
            for _ in 0..self.threads {
                scope.spawn(|| {
                    let worker = std::panic::catch_unwind(AssertUnwindSafe(|| self.work()));
                    if let Err(panic) = worker {
                        let message = panic
                            .downcast_ref::<&str>()
                            .map(|s| s.to_string())
                            .or_else(|| panic.downcast_ref::<String>().cloned())
                            .unwrap_or_else(|| "unknown panic".into());
                        self.stop_with(Stop::Error(ExecutionError::WorkerPanic(message)));
                    }
                });
            }
        });
        if let Some(stop) = self
            .stop
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .take()
        {
            return Err(stop);
        }
        self.finish().map_err(Stop::Error)
    }

    fn work(&self) {
        let shared = self.shared();
        let mut task = None;
        loop {
            task = match task.or_else(|| self.scheduler.next_task()) {
                None => return,
                Some(Task::Execution(version)) => self.try_execute(&shared, version),
                Some(Task::Validation(version)) => self.validate(&shared, version),
            };
            if self.scheduler.was_halted() {
                return;
            }
        }
    }

    fn try_execute(&self, shared: &SharedView<'_, S>, version: TxVersion) -> Option<Task> {
        loop {
            self.executions.fetch_add(1, Ordering::Relaxed);
            let mut db = VmDb::new(shared, version.idx);
            match self.execute(&mut db, version.idx) {
                Execution::Blocked(blocking) => {
                    if self.scheduler.add_dependency(version.idx, blocking) {
                        self.record_abort();
                        return None;
                    }
                    // The dependency finished meanwhile: run again right away.
                }
                Execution::Fatal(error) => {
                    self.stop_with(Stop::Error(error));
                    return None;
                }
                Execution::Done { writes, result } => {
                    if let TxResult::Executed { contracts, .. } = &result {
                        for (hash, code) in contracts {
                            self.new_code.entry(*hash).or_insert_with(|| code.clone());
                        }
                    }
                    *self.reads[version.idx].lock() = db.reads;
                    *self.results[version.idx].lock() = Some(result);
                    let wrote_new_location = self.mv.record(version, writes.into_iter());
                    return self.scheduler.finish_execution(version, wrote_new_location);
                }
            }
        }
    }

    fn validate(&self, shared: &SharedView<'_, S>, version: TxVersion) -> Option<Task> {
        self.validations.fetch_add(1, Ordering::Relaxed);
        let valid = validate_reads(shared, version.idx, &self.reads[version.idx].lock());
        let aborted = !valid && self.scheduler.try_validation_abort(version);
        if aborted {
            self.mv.convert_writes_to_estimates(version.idx);
            self.record_abort();
        }
        self.scheduler.finish_validation(version.idx, aborted)
    }

    /// Runs transaction `idx` once through `db`.
    fn execute(&self, db: &mut VmDb<'_, S>, idx: TxIdx) -> Execution {
        let tx = &self.txs[idx];
        let output = match transact(self.env, &self.cfg, tx, &mut *db, FeeMode::Deferred) {
            Ok(output) => output,
            Err(EVMError::Database(VmDbError::Blocked(blocking))) => {
                return Execution::Blocked(blocking)
            }
            Err(error) => {
                return match TxFailure::from(error) {
                    // Possibly an artefact of a speculative read (a nonce not yet bumped):
                    // validation decides; only the final incarnation's verdict counts.
                    TxFailure::Invalid(reason) => Execution::Done {
                        writes: Vec::new(),
                        result: TxResult::Invalid(reason),
                    },
                    TxFailure::Header(reason) => {
                        Execution::Fatal(ExecutionError::InvalidHeader(reason))
                    }
                    TxFailure::State(VmDbError::Blocked(blocking)) => Execution::Blocked(blocking),
                    TxFailure::State(VmDbError::View(error)) => {
                        Execution::Fatal(TxFailure::State(error).at(idx))
                    }
                };
            }
        };
        let spec = self.env.spec;
        let writes = tx_writes(&output.state, spec);
        let mut mv_writes = Vec::with_capacity(writes.accounts.len() + writes.storage.len() + 2);
        let mut credited = [false; 2];
        for write in &writes.accounts {
            let (mut info, mut reset) = (write.info, write.storage_reset);
            if let Some(slot) = self.fee_recipients.iter().position(|r| *r == write.address) {
                // The transaction itself touched a fee recipient: its write carries the full value,
                // so add this transaction's own (deferred) credit the way revm would have.
                credited[slot] = true;
                let account = output.state.get(&write.address);
                if !account.is_some_and(|a| a.is_selfdestructed()) {
                    let mut basic = info.unwrap_or(AccountBasic {
                        code_hash: KECCAK_EMPTY,
                        ..Default::default()
                    });
                    basic.balance = basic.balance.saturating_add(self.credit(slot, output.fees));
                    if basic.is_empty() {
                        (info, reset) = (None, true);
                    } else {
                        info = Some(basic);
                        reset = account.is_some_and(|a| a.is_created());
                    }
                }
            }
            let storage_reset_by = if reset {
                Some(idx)
            } else {
                match db.storage_epoch(write.address) {
                    Ok(epoch) => epoch,
                    Err(VmDbError::Blocked(blocking)) => return Execution::Blocked(blocking),
                    Err(VmDbError::View(error)) => {
                        return Execution::Fatal(TxFailure::State(error).at(idx))
                    }
                }
            };
            mv_writes.push((
                MemoryLocation::Basic(write.address),
                MemoryValue::Basic(BasicValue {
                    info,
                    storage_reset_by,
                }),
            ));
        }
        for (slot, recipient) in self.fee_recipients.iter().enumerate() {
            if !credited[slot] {
                // Recorded even when zero: the recipient is touched, which matters for EIP-161.
                mv_writes.push((
                    MemoryLocation::Basic(*recipient),
                    MemoryValue::FeeCredit(self.credit(slot, output.fees)),
                ));
            }
        }
        for (address, slot, value) in &writes.storage {
            mv_writes.push((
                MemoryLocation::Storage(*address, *slot),
                MemoryValue::Storage(*value),
            ));
        }
        let result = TxResult::Executed {
            receipt: receipt(tx.tx_type, output.result),
            contracts: writes.contracts,
        };
        Execution::Done {
            writes: mv_writes,
            result,
        }
    }

    /// The credit fee recipient number `slot` gets from one transaction's fees.
    fn credit(&self, slot: usize, fees: Fees) -> U256 {
        let vault_is_beneficiary = self.env.base_fee_recipient == Some(self.env.block.beneficiary);
        match slot {
            0 if vault_is_beneficiary => fees.beneficiary.saturating_add(fees.base_fee_vault),
            0 => fees.beneficiary,
            _ => fees.base_fee_vault,
        }
    }

    /// Assembles the outcome once every transaction has validated.
    fn finish(self) -> Result<(BlockOutcome, ExecutionStats), ExecutionError> {
        let stats = self.stats();
        let mut receipts = Vec::with_capacity(self.txs.len());
        let mut contracts = BTreeMap::new();
        for (idx, result) in self.results.into_iter().enumerate() {
            match result.into_inner() {
                Some(TxResult::Executed {
                    receipt,
                    contracts: deployed,
                }) => {
                    receipts.push(receipt);
                    contracts.extend(deployed);
                }
                Some(TxResult::Invalid(reason)) => {
                    return Err(ExecutionError::InvalidTransaction { index: idx, reason })
                }
                None => {
                    return Err(ExecutionError::WorkerPanic(format!(
                        "transaction {idx} never executed"
                    )))
                }
            }
        }
        let gas_used = seal_receipts(&mut receipts);
        let state_clear = self.env.spec.is_enabled_in(SpecId::SPURIOUS_DRAGON);
        let fee_recipients = self.fee_recipients.clone();
        let view = self.view;

        let mut accounts: BTreeMap<Address, AccountChange> = BTreeMap::new();
        let mut epochs: HashMap<Address, TxIdx> = HashMap::new();
        let mut storage_writes = Vec::new();
        for (location, versions) in self.mv.into_final() {
            match location {
                MemoryLocation::Storage(address, slot) => {
                    if let Some((idx, MemoryEntry::Data(_, MemoryValue::Storage(value)))) =
                        versions.last_key_value()
                    {
                        storage_writes.push((address, slot, *idx, *value));
                    }
                }
                MemoryLocation::Basic(address) if fee_recipients.contains(&address) => {
                    let base = view
                        .basic_ref(address)
                        .map_err(|e| ExecutionError::State(Box::new(view_error(e))))?;
                    let (change, epoch) = replay_fee_recipient(
                        base.map(|i| AccountBasic::from(&i)),
                        &versions,
                        state_clear,
                    );
                    if let Some(change) = change {
                        if let Some(epoch) = epoch {
                            epochs.insert(address, epoch);
                        }
                        accounts.insert(address, change);
                    }
                }
                MemoryLocation::Basic(address) => {
                    if let Some((_, MemoryEntry::Data(_, MemoryValue::Basic(value)))) =
                        versions.last_key_value()
                    {
                        if let Some(epoch) = value.storage_reset_by {
                            epochs.insert(address, epoch);
                        }
                        accounts.insert(
                            address,
                            AccountChange {
                                info: value.info,
                                storage_cleared: value.storage_reset_by.is_some(),
                                storage: BTreeMap::new(),
                            },
                        );
                    }
                }
            }
        }
        for (address, slot, idx, value) in storage_writes {
            // Slots written before the account's last wipe are gone.
            if epochs.get(&address).is_some_and(|wiped_by| idx < *wiped_by) {
                continue;
            }
            accounts
                .entry(address)
                .or_default()
                .storage
                .insert(slot, value);
        }
        let state_changes = StateChanges {
            accounts,
            contracts,
        };
        Ok((
            BlockOutcome {
                receipts,
                state_changes,
                gas_used,
            },
            stats,
        ))
    }
}

/// Replays a fee recipient's entries in block order, as sequential commits would have applied
/// them. Returns its change (if any transaction touched it) and the last storage wipe.
fn replay_fee_recipient(
    base: Option<AccountBasic>,
    versions: &BTreeMap<TxIdx, MemoryEntry>,
    state_clear: bool,
) -> (Option<AccountChange>, Option<TxIdx>) {
    let mut info = base;
    let mut epoch = None;
    let mut touched = false;
    for (idx, entry) in versions {
        match entry {
            MemoryEntry::Data(_, MemoryValue::Basic(value)) => {
                touched = true;
                info = value.info;
                if value.storage_reset_by == Some(*idx) {
                    epoch = Some(*idx);
                }
            }
            MemoryEntry::Data(_, MemoryValue::FeeCredit(amount)) => {
                touched = true;
                let mut basic = info.unwrap_or(AccountBasic {
                    code_hash: KECCAK_EMPTY,
                    ..Default::default()
                });
                basic.balance = basic.balance.saturating_add(*amount);
                if state_clear && basic.is_empty() {
                    info = None;
                    epoch = Some(*idx);
                } else {
                    info = Some(basic);
                }
            }
            MemoryEntry::Data(_, MemoryValue::Storage(_)) | MemoryEntry::Estimate => {}
        }
    }
    let change = touched.then(|| AccountChange {
        info,
        storage_cleared: epoch.is_some(),
        storage: BTreeMap::new(),
    });
    (change, epoch)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fee_recipient_replay_deletes_untouched_empty_beneficiary() {
        let mut versions = BTreeMap::new();
        versions.insert(0, MemoryEntry::Data(0, MemoryValue::FeeCredit(U256::ZERO)));
        let (change, epoch) = replay_fee_recipient(None, &versions, true);
        assert_eq!(
            change,
            Some(AccountChange {
                info: None,
                storage_cleared: true,
                storage: BTreeMap::new()
            })
        );
        assert_eq!(epoch, Some(0));
    }

    #[test]
    fn fee_recipient_replay_sums_credits_over_last_write() {
        let mut versions = BTreeMap::new();
        let written = AccountBasic {
            balance: U256::from(5),
            nonce: 1,
            code_hash: KECCAK_EMPTY,
        };
        versions.insert(
            0,
            MemoryEntry::Data(0, MemoryValue::FeeCredit(U256::from(7))),
        );
        versions.insert(
            1,
            MemoryEntry::Data(
                0,
                MemoryValue::Basic(BasicValue {
                    info: Some(written),
                    storage_reset_by: None,
                }),
            ),
        );
        versions.insert(
            2,
            MemoryEntry::Data(0, MemoryValue::FeeCredit(U256::from(3))),
        );
        let (change, _) = replay_fee_recipient(None, &versions, true);
        let info = change.and_then(|c| c.info).map(|i| i.balance);
        assert_eq!(info, Some(U256::from(8)));
    }
}
