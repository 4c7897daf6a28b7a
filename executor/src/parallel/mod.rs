//! Block-STM: optimistic parallel execution that commits exactly the sequential result.
//!
//! Transactions run speculatively on all threads against a multi-version memory; each
//! execution records what it read, and a validation re-checks those reads once lower
//! transactions have (re)written. A failed validation turns the transaction's writes into
//! estimates and re-executes it. Fee payments to the beneficiary and base-fee vault are not
//! executed but recorded as credits, summed only when a transaction actually reads one of
//! those accounts, so they create no dependencies.

mod lazy;
mod mv_memory;
mod scheduler;
mod vm;

use std::{
    collections::BTreeMap,
    num::NonZeroUsize,
    panic::AssertUnwindSafe,
    sync::{
        atomic::{AtomicU64, AtomicUsize, Ordering},
        Mutex as StdMutex,
    },
};

use alloy_primitives::{
    map::{AddressMap, DefaultHashBuilder},
    Address, B256, U256,
};
use crossbeam_utils::CachePadded;
use dashmap::DashMap;
use revm::{context::result::EVMError, primitives::hardfork::SpecId, state::Bytecode};

use self::{
    lazy::{Credits, FeeCredits},
    mv_memory::{BasicValue, MemoryLocation, MemoryValue, MvMemory, PlainMutex, TxVersion},
    scheduler::{Scheduler, Task},
    vm::{validate_reads, ReadOrigin, ReadSet, SharedView, VmDb, VmDbError},
};
use crate::{
    changes::{seal_receipts, tx_receipt, tx_writes, TxFailure},
    evm::{cfg_env, transact, FeeMode, KeepFrames},
    sequential::{view_error, Sequential},
    types::{
        AccountBasic, AccountChange, BlockOutcome, ExecutionEnv, ExecutionError, ExecutionStats,
        InvalidTx, StateChanges, TxIdx, TxReceipt,
    },
    BlockExecutor, BlockTransaction, StateView,
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
    pub const DEFAULT_MIN_PARALLEL_TXS: usize = 16;

    /// An executor using `threads` worker threads (at least one).
    pub fn new(threads: usize) -> Self {
        Self {
            threads: NonZeroUsize::new(threads).unwrap_or(NonZeroUsize::MIN),
            min_parallel_txs: Self::DEFAULT_MIN_PARALLEL_TXS,
        }
    }

    /// Sets the smallest block run in parallel. Zero turns the up-front heuristics off (block
    /// size and single-sender chains), so even a one-transaction block takes the parallel path:
    /// the equivalence tests use it. The run-time fallbacks (abort rate, critical path) stay on.
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
    fn prefers_sequential<T: BlockTransaction>(&self, env: &ExecutionEnv, txs: &[T]) -> bool {
        if txs.is_empty() || !env.spec.is_enabled_in(SpecId::SPURIOUS_DRAGON) {
            return true;
        }
        if self.min_parallel_txs == 0 {
            // Forced: even one thread runs the Block-STM machinery (measures its overhead).
            return false;
        }
        if self.threads.get() == 1 {
            return true;
        }
        if txs.len() < self.min_parallel_txs {
            return true;
        }
        let mut per_sender: AddressMap<usize> = AddressMap::default();
        let busiest = txs.iter().fold(0, |busiest, tx| {
            let count = per_sender.entry(tx.env().caller).or_default();
            *count += 1;
            busiest.max(*count)
        });
        busiest * 2 > txs.len()
    }
}

impl BlockExecutor for BlockStm {
    fn execute_block_with_stats<S: StateView, T: BlockTransaction>(
        &self,
        env: &ExecutionEnv,
        txs: &[T],
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

/// Marks, before anything runs, the accounts a transaction will write that another transaction
/// of the block also touches: its sender (nonce, balance) and a value transfer's recipient.
/// Readers of those then wait for the writer instead of reading a stale value and aborting.
/// Accounts no other transaction touches are left alone: marking them costs without helping.
fn pre_populate<T: BlockTransaction>(mv: &MvMemory, txs: &[T]) {
    let likely_writes = |tx: &T| {
        let tx = tx.env();
        let recipient = match tx.kind {
            revm::primitives::TxKind::Call(to) if !tx.value.is_zero() => Some(to),
            _ => None,
        };
        std::iter::once(tx.caller).chain(recipient)
    };
    let mut touches: AddressMap<u32> =
        AddressMap::with_capacity_and_hasher(txs.len() * 2, Default::default());
    for tx in txs {
        for address in likely_writes(tx) {
            *touches.entry(address).or_default() += 1;
        }
        let tx = tx.env();
        if let revm::primitives::TxKind::Call(to) = tx.kind {
            if tx.value.is_zero() {
                *touches.entry(to).or_default() += 1;
            }
        }
    }
    for (idx, tx) in txs.iter().enumerate() {
        let shared: smallvec::SmallVec<[MemoryLocation; 2]> = likely_writes(tx)
            .filter(|address| touches.get(address).is_some_and(|count| *count > 1))
            .map(MemoryLocation::Basic)
            .collect();
        if !shared.is_empty() {
            mv.pre_populate(idx, &shared);
        }
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
        credits: Credits,
        result: TxResult,
    },
    Blocked(TxIdx),
    Fatal(ExecutionError),
}

/// Per-transaction data of a run. Not cache-padded: workers claim batches of consecutive
/// transactions, so neighbours mostly share a thread, and padding would multiply the memory
/// every block must allocate and fault in.
#[derive(Default)]
struct TxSlot {
    reads: PlainMutex<ReadSet>,
    result: PlainMutex<Option<TxResult>>,
    /// Length of the longest chain of transactions this one (transitively) read from.
    depth: AtomicUsize,
}

/// Counters of one worker thread (summed for [`ExecutionStats`]).
#[derive(Default)]
struct WorkerCounters {
    executions: AtomicU64,
    validations: AtomicU64,
}

/// Executions after which the abort rate is trusted to declare the block a dependency chain.
const FALLBACK_MIN_EXECUTIONS: u64 = 64;

/// Completed transactions after which the critical path is trusted to declare the block a
/// dependency chain.
const CHAIN_SAMPLE: usize = 32;

struct ParallelRun<'a, S, T> {
    env: &'a ExecutionEnv,
    cfg: revm::context::CfgEnv,
    txs: &'a [T],
    view: &'a S,
    mv: MvMemory,
    scheduler: Scheduler,
    new_code: DashMap<B256, Bytecode, DefaultHashBuilder>,
    fee_recipients: Vec<Address>,
    credits: FeeCredits,
    slots: Vec<TxSlot>,
    workers: Vec<CachePadded<WorkerCounters>>,
    aborts: CachePadded<AtomicU64>,
    /// The longest dependency chain seen so far (see [`ParallelRun::detect_chain`]).
    critical_path: CachePadded<AtomicUsize>,
    /// Transactions that completed at least one execution.
    completed: CachePadded<AtomicUsize>,
    stop: StdMutex<Option<Stop>>,
    /// The next [`CollectTask`] to hand out once every transaction has validated.
    next_collect: CachePadded<AtomicUsize>,
    /// What the collect tasks produced, for [`ParallelRun::finish`].
    collected: PlainMutex<Collected>,
}

/// Shards of the multi-version memory one collect task walks: a few tasks per worker, so a
/// worker that finishes early takes more.
const SHARDS_PER_COLLECT: usize = 8;

/// One share of assembling the block's outcome, done by whichever worker claims it (see
/// [`ParallelRun::collect`]): the assembly touches every location, and on one thread it would
/// take a quarter of a cheap block's time.
#[derive(Clone, Debug, PartialEq, Eq)]
enum CollectTask {
    /// Take the receipts and deployed code out of the transaction slots.
    Receipts,
    /// Replay one fee recipient's writes and credits (index into the fee recipients).
    FeeRecipient(usize),
    /// The last writes of every location in these shards.
    Shards(std::ops::Range<usize>),
}

impl CollectTask {
    /// The `n`th task of a block with `recipients` fee recipients; `None` past the last.
    fn nth(n: usize, recipients: usize) -> Option<Self> {
        if n == 0 {
            return Some(Self::Receipts);
        }
        if n <= recipients {
            return Some(Self::FeeRecipient(n - 1));
        }
        let first = (n - 1 - recipients) * SHARDS_PER_COLLECT;
        (first < MvMemory::SHARDS)
            .then(|| Self::Shards(first..(first + SHARDS_PER_COLLECT).min(MvMemory::SHARDS)))
    }
}

/// Receipts in block order and the code deployed by the block.
type ReceiptsAndCode = (Vec<TxReceipt>, BTreeMap<B256, Bytecode>);

/// Last writes of some shards, each list sorted.
#[derive(Default)]
struct LastWrites {
    /// Account writes (fee recipients excluded: they are replayed), by address.
    accounts: Vec<(Address, BasicValue)>,
    /// Storage writes with their writer, by address and slot.
    storage: Vec<(Address, U256, TxIdx, U256)>,
}

/// Results of the collect tasks.
#[derive(Default)]
struct Collected {
    receipts: Option<Result<ReceiptsAndCode, ExecutionError>>,
    /// Final value of each fee recipient the block changed.
    fee_recipients: Vec<Result<Option<(Address, BasicValue)>, ExecutionError>>,
    last_writes: Vec<LastWrites>,
}

impl<'a, S: StateView, T: BlockTransaction> ParallelRun<'a, S, T> {
    fn new(env: &'a ExecutionEnv, txs: &'a [T], view: &'a S, threads: usize) -> Self {
        let mv = MvMemory::new(txs.len());
        pre_populate(&mv, txs);
        Self {
            env,
            cfg: cfg_env(env),
            txs,
            view,
            mv,
            scheduler: Scheduler::new(txs.len(), threads),
            new_code: DashMap::with_hasher(DefaultHashBuilder::default()),
            fee_recipients: env.fee_recipients(),
            credits: FeeCredits::new(txs.len()),
            slots: (0..txs.len()).map(|_| TxSlot::default()).collect(),
            workers: (0..threads).map(|_| CachePadded::default()).collect(),
            aborts: CachePadded::new(AtomicU64::new(0)),
            critical_path: CachePadded::new(AtomicUsize::new(0)),
            completed: CachePadded::new(AtomicUsize::new(0)),
            stop: StdMutex::new(None),
            next_collect: CachePadded::new(AtomicUsize::new(0)),
            collected: PlainMutex::new(Collected::default()),
        }
    }

    fn shared(&self) -> SharedView<'_, S> {
        SharedView {
            mv: &self.mv,
            view: self.view,
            new_code: &self.new_code,
            fee_recipients: &self.fee_recipients,
            credits: &self.credits,
            state_clear: self.env.spec.is_enabled_in(SpecId::SPURIOUS_DRAGON),
        }
    }

    fn stats(&self) -> ExecutionStats {
        let sum = |counter: fn(&WorkerCounters) -> &AtomicU64| {
            self.workers
                .iter()
                .map(|worker| counter(worker).load(Ordering::Relaxed))
                .sum()
        };
        ExecutionStats {
            executions: sum(|worker| &worker.executions),
            aborts: self.aborts.load(Ordering::Relaxed),
            validations: sum(|worker| &worker.validations),
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
        let stats = self.stats();
        if stats.executions >= FALLBACK_MIN_EXECUTIONS && aborts * 4 > stats.executions * 3 {
            self.stop_with(Stop::Fallback(stats));
        }
    }

    /// Tracks the block's critical path: a transaction's depth is one more than the deepest
    /// transaction it read a value from. When, after a fair sample, the deepest chain spans most
    /// of the executed transactions, the block is a dependency chain: threads mostly wait for each
    /// other, and sequential execution is faster. (Aborts alone do not show it: with dependency
    /// waits a chain aborts rarely but still runs one transaction at a time.)
    fn detect_chain(&self, idx: TxIdx, reads: &ReadSet) {
        let depth = 1 + reads
            .iter()
            .filter_map(|(_, origin)| match origin {
                ReadOrigin::Versioned(version) => {
                    Some(self.slots[version.idx].depth.load(Ordering::Relaxed))
                }
                _ => None,
            })
            .max()
            .unwrap_or(0);
        // Compared with the transactions completed so far, not with attempts: under dependency
        // waits a chain's attempts mostly stop early at the blocked read.
        let first_completion = self.slots[idx].depth.swap(depth, Ordering::Relaxed) == 0;
        let completed = if first_completion {
            self.completed.fetch_add(1, Ordering::Relaxed) + 1
        } else {
            self.completed.load(Ordering::Relaxed)
        };
        let critical_path = self
            .critical_path
            .fetch_max(depth, Ordering::Relaxed)
            .max(depth);
        if completed >= CHAIN_SAMPLE && critical_path * 4 > completed * 3 {
            self.stop_with(Stop::Fallback(self.stats()));
        }
    }

    fn run(self) -> Result<(BlockOutcome, ExecutionStats), Stop> {
        // The calling thread is worker 0: it starts at once, while the others are spawned. (A
        // kept pool was tried: waking a parked thread took up to 2 ms on these VMs, as the
        // scheduler queued it behind the waker, whereas a new thread goes to an idle core.)
        std::thread::scope(|scope| {
            for worker in 1..self.workers.len() {
                let run = &self;
                scope.spawn(move || run.worker(worker));
            }
            self.worker(0);
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

    /// One worker's whole part: execute and validate until the block is done, then collect.
    /// A panic stops the block with an error instead of unwinding into the caller.
    fn worker(&self, worker: usize) {
        let _frames = KeepFrames::new();
        let outcome = std::panic::catch_unwind(AssertUnwindSafe(|| {
            self.work(worker);
            if !self.scheduler.was_halted() {
                self.collect();
            }
        }));
        if let Err(panic) = outcome {
            let message = panic
                .downcast_ref::<&str>()
                .map(|s| s.to_string())
                .or_else(|| panic.downcast_ref::<String>().cloned())
                .unwrap_or_else(|| "unknown panic".into());
            self.stop_with(Stop::Error(ExecutionError::WorkerPanic(message)));
        }
    }

    fn work(&self, worker: usize) {
        let shared = self.shared();
        let counters = &self.workers[worker];
        let mut queue = std::collections::VecDeque::with_capacity(16);
        loop {
            let Some(task) = queue.pop_front() else {
                if self.scheduler.next_tasks(&mut queue) {
                    continue;
                }
                return;
            };
            let follow_up = match task {
                Task::Execution(version) => self.try_execute(&shared, counters, version),
                Task::Validation(version) => self.validate(&shared, counters, version),
            };
            if let Some(next) = follow_up {
                queue.push_front(next);
            }
            if self.scheduler.was_halted() {
                return;
            }
        }
    }

    fn try_execute(
        &self,
        shared: &SharedView<'_, S>,
        counters: &WorkerCounters,
        version: TxVersion,
    ) -> Option<Task> {
        loop {
            counters.executions.fetch_add(1, Ordering::Relaxed);
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
                Execution::Done {
                    writes,
                    credits,
                    result,
                } => {
                    if let TxResult::Executed { contracts, .. } = &result {
                        for (hash, code) in contracts {
                            self.new_code.entry(*hash).or_insert_with(|| code.clone());
                        }
                    }
                    let slot = &self.slots[version.idx];
                    self.detect_chain(version.idx, &db.reads);
                    *slot.reads.lock() = db.reads;
                    *slot.result.lock() = Some(result);
                    self.credits.set(version.idx, credits);
                    let wrote_new_location = self.mv.record(version, writes.into_iter());
                    return self.scheduler.finish_execution(version, wrote_new_location);
                }
            }
        }
    }

    fn validate(
        &self,
        shared: &SharedView<'_, S>,
        counters: &WorkerCounters,
        version: TxVersion,
    ) -> Option<Task> {
        counters.validations.fetch_add(1, Ordering::Relaxed);
        let valid = validate_reads(shared, version.idx, &self.slots[version.idx].reads.lock());
        let aborted = !valid && self.scheduler.try_validation_abort(version);
        if aborted {
            self.mv.convert_writes_to_estimates(version.idx);
            self.credits.invalidate(version.idx);
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
                    // validation decides; only the final incarnation's verdict counts. An
                    // invalid transaction is not included, so it credits nobody.
                    TxFailure::Invalid(reason) => Execution::Done {
                        writes: Vec::new(),
                        credits: Credits::default(),
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
        let state_clear = self.env.spec.is_enabled_in(SpecId::SPURIOUS_DRAGON);
        let writes = tx_writes(&output.state, self.env.spec, |address| db.loaded(address));
        let mut credits = Credits::default();
        for (credit, recipient) in credits.iter_mut().zip(&self.fee_recipients) {
            *credit = output.fees.owed_to(self.env, *recipient);
        }
        let mut mv_writes = Vec::with_capacity(writes.accounts.len() + writes.storage.len());
        for write in &writes.accounts {
            // The storage epoch the account had when this transaction read it.
            let inherited = match db.storage_epoch(write.address) {
                Ok(epoch) => epoch,
                Err(VmDbError::Blocked(blocking)) => return Execution::Blocked(blocking),
                Err(VmDbError::View(error)) => {
                    return Execution::Fatal(TxFailure::State(error).at(idx))
                }
            };
            let mut value = BasicValue {
                info: write.info,
                storage_reset_by: if write.storage_reset {
                    Some(idx)
                } else {
                    inherited
                },
            };
            if let Some(recipient) = lazy::recipient_index(&self.fee_recipients, &write.address) {
                // The transaction changed a fee recipient itself, so its write carries the full
                // value: add this transaction's own deferred credit the way revm would have
                // (after execution; a self-destructed recipient loses it with everything else).
                let account = output.state.get(&write.address);
                if !account.is_some_and(|account| account.is_selfdestructed()) {
                    lazy::credit(&mut value, credits[recipient], idx, state_clear);
                    let created = account.is_some_and(|account| account.is_created());
                    if value.info.is_some() && write.info.is_none() && !created {
                        // Emptied by the transaction, revived by its own fee: it was never deleted.
                        value.storage_reset_by = inherited;
                    }
                }
            }
            mv_writes.push((
                MemoryLocation::Basic(write.address),
                MemoryValue::Basic(value),
            ));
        }
        for (address, slot, value) in &writes.storage {
            mv_writes.push((
                MemoryLocation::Storage(*address, *slot),
                MemoryValue::Storage(*value),
            ));
        }
        let result = TxResult::Executed {
            receipt: tx_receipt(tx, output.result),
            contracts: writes.contracts,
        };
        Execution::Done {
            writes: mv_writes,
            credits,
            result,
        }
    }

    /// Runs collect tasks until none is left; every worker calls it once the block validated.
    fn collect(&self) {
        let recipients = self.fee_recipients.len();
        while let Some(task) = CollectTask::nth(
            self.next_collect.fetch_add(1, Ordering::Relaxed),
            recipients,
        ) {
            match task {
                CollectTask::Receipts => {
                    let receipts = self.collect_receipts();
                    self.collected.lock().receipts = Some(receipts);
                }
                CollectTask::FeeRecipient(recipient) => {
                    let value = self.replay_fee_recipient(recipient);
                    self.collected.lock().fee_recipients.push(value);
                }
                CollectTask::Shards(shards) => {
                    let writes = self.collect_last_writes(shards);
                    self.collected.lock().last_writes.push(writes);
                }
            }
        }
    }

    fn collect_receipts(&self) -> Result<ReceiptsAndCode, ExecutionError> {
        let mut receipts = Vec::with_capacity(self.txs.len());
        let mut contracts = BTreeMap::new();
        for (idx, slot) in self.slots.iter().enumerate() {
            match slot.result.lock().take() {
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
        Ok((receipts, contracts))
    }

    /// A fee recipient's final value, if the block changed it: every transaction touched it,
    /// so its writes and credits are replayed in order.
    fn replay_fee_recipient(
        &self,
        recipient: usize,
    ) -> Result<Option<(Address, BasicValue)>, ExecutionError> {
        let address = self.fee_recipients[recipient];
        let versions = self.mv.versions(&MemoryLocation::Basic(address));
        let (value, changed) = lazy::replay(
            &versions,
            &self.credits,
            recipient,
            self.base_info(address)?,
            self.txs.len(),
            self.env.spec.is_enabled_in(SpecId::SPURIOUS_DRAGON),
        );
        Ok(changed.then_some((address, value)))
    }

    fn collect_last_writes(&self, shards: std::ops::Range<usize>) -> LastWrites {
        let mut writes = LastWrites::default();
        self.mv
            .for_each_last(shards, |location, idx, value| match (location, value) {
                (MemoryLocation::Storage(address, slot), MemoryValue::Storage(value)) => {
                    writes.storage.push((*address, *slot, idx, *value));
                }
                (MemoryLocation::Basic(address), MemoryValue::Basic(value))
                    if !self.fee_recipients.contains(address) =>
                {
                    writes.accounts.push((*address, *value));
                }
                _ => {}
            });
        writes
            .accounts
            .sort_unstable_by_key(|(address, _)| *address);
        writes
            .storage
            .sort_unstable_by(|a, b| (a.0, a.1).cmp(&(b.0, b.1)));
        writes
    }

    /// An account as the block found it.
    fn base_info(&self, address: Address) -> Result<Option<AccountBasic>, ExecutionError> {
        let info = self
            .view
            .basic_ref(address)
            .map_err(|e| ExecutionError::State(Box::new(view_error(e))))?;
        Ok(info.as_ref().map(AccountBasic::from))
    }

    /// Assembles the outcome from what the workers collected.
    fn finish(self) -> Result<(BlockOutcome, ExecutionStats), ExecutionError> {
        let stats = self.stats();
        let collected = std::mem::take(&mut *self.collected.lock());
        let (mut receipts, contracts) = collected.receipts.ok_or_else(|| {
            ExecutionError::WorkerPanic("the block's receipts were never collected".into())
        })??;
        let gas_used = seal_receipts(&mut receipts);

        // Each part is sorted: a stable sort of their concatenation merges the runs.
        let mut accounts: Vec<(Address, BasicValue)> = Vec::new();
        let mut storage = Vec::new();
        for part in collected.last_writes {
            accounts.extend(part.accounts);
            storage.extend(part.storage);
        }
        for recipient in collected.fee_recipients {
            accounts.extend(recipient?);
        }
        accounts.sort_by_key(|(address, _)| *address);
        storage.sort_by(|a, b| (a.0, a.1).cmp(&(b.0, b.1)));

        let mut changes: Vec<(Address, AccountChange)> = accounts
            .iter()
            .map(|(address, value)| (*address, (*value).into()))
            .collect();
        // Attach storage; accounts whose storage alone changed keep their pre-state fields.
        let mut storage_only = Vec::new();
        for group in storage.chunk_by(|a, b| a.0 == b.0) {
            let address = group[0].0;
            let position = accounts.binary_search_by_key(&address, |(address, _)| *address);
            // Slots written before their account's last wipe are gone.
            let wiped_by = position
                .ok()
                .and_then(|position| accounts[position].1.storage_reset_by);
            let slots = group
                .iter()
                .filter(|(_, _, idx, _)| wiped_by.is_none_or(|wiped_by| *idx >= wiped_by))
                .map(|(_, slot, _, value)| (*slot, *value))
                .collect();
            match position {
                Ok(position) => changes[position].1.storage = slots,
                Err(_) => storage_only.push((
                    address,
                    AccountChange {
                        info: self.base_info(address)?,
                        storage_cleared: false,
                        storage: slots,
                    },
                )),
            }
        }
        if !storage_only.is_empty() {
            changes.extend(storage_only);
            changes.sort_by_key(|(address, _)| *address);
        }
        // Sorted input: the map is bulk-built rather than inserted into one by one.
        let accounts: BTreeMap<Address, AccountChange> = changes.into_iter().collect();
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

#[cfg(test)]
mod tests {
    use alloy_primitives::U256;

    use super::{
        lazy::{replay, Credits, FeeCredits},
        mv_memory::{BasicValue, MemoryEntry, MemoryValue, Versions},
    };
    use crate::types::AccountBasic;

    #[test]
    fn fee_recipient_replay_applies_eip161() {
        let credits = FeeCredits::new(1);
        credits.set(0, Credits::default());
        // A non-existent beneficiary paid nothing stays absent and unchanged.
        let (value, changed) = replay(&Versions::default(), &credits, 0, None, 1, true);
        assert_eq!(
            (value, changed),
            (
                BasicValue {
                    info: None,
                    storage_reset_by: None
                },
                false
            )
        );
        // An existing empty one is deleted by the touch (EIP-161).
        let empty = AccountBasic::default();
        let (value, changed) = replay(&Versions::default(), &credits, 0, Some(empty), 1, true);
        assert_eq!(
            (value, changed),
            (
                BasicValue {
                    info: None,
                    storage_reset_by: Some(0)
                },
                true
            )
        );
    }

    #[test]
    fn fee_recipient_replay_sums_credits_over_last_write() {
        let credits = FeeCredits::new(3);
        credits.set(0, [U256::from(7), U256::ZERO, U256::ZERO]);
        credits.set(1, [U256::from(100), U256::ZERO, U256::ZERO]); // included in tx 1's full write below
        credits.set(2, [U256::from(3), U256::ZERO, U256::ZERO]);
        let written = AccountBasic {
            balance: U256::from(5),
            nonce: 1,
            code_hash: revm::primitives::KECCAK_EMPTY,
        };
        let mut versions = Versions::default();
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
        let (value, changed) = replay(&versions, &credits, 0, None, 3, true);
        assert_eq!(value.info.map(|info| info.balance), Some(U256::from(8)));
        assert!(changed);
    }
}
