//! The collaborative scheduler of Block-STM (Gelashvili et al., 2022, Algorithms 4–5).
//!
//! Two shared counters hand out the lowest transaction to execute and the lowest to validate;
//! every thread takes whichever is lower, so validation trails execution closely and conflicts
//! are found early. `num_active_tasks` counts tasks a thread holds; the block is done when both
//! counters are past the end, no task is held, and no counter was lowered meanwhile.
//!
//! Unlike the paper, a thread claims a small batch of consecutive tasks with one atomic
//! operation per counter: on a conflict-free block every claim is a cache-line transfer between
//! cores, and paying it once per transaction costs as much as executing a simple transfer. Each
//! claimed task is accounted individually, so the algorithm's invariants are unchanged.

use std::{
    collections::VecDeque,
    sync::atomic::{AtomicBool, AtomicUsize, Ordering},
};

use crossbeam_utils::CachePadded;

use super::mv_memory::{Incarnation, PlainMutex as Mutex, TxVersion};
use crate::types::TxIdx;

/// Work a thread does next.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Task {
    Execution(TxVersion),
    Validation(TxVersion),
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Status {
    ReadyToExecute,
    Executing,
    Executed,
    Aborting,
}

struct TxState {
    incarnation: Incarnation,
    status: Status,
}

/// Per-transaction scheduling state.
struct TxSchedule {
    state: Mutex<TxState>,
    dependents: Mutex<Vec<TxIdx>>,
}

pub(crate) struct Scheduler {
    block_size: usize,
    /// Tasks claimed at once (see the module docs).
    batch: usize,
    // Each counter on its own cache line: they are the hottest shared words of a run.
    execution_idx: CachePadded<AtomicUsize>,
    validation_idx: CachePadded<AtomicUsize>,
    decrease_cnt: CachePadded<AtomicUsize>,
    num_active_tasks: CachePadded<AtomicUsize>,
    done: CachePadded<AtomicBool>,
    /// Set when the block must stop early (worker panic, state error, fallback decision).
    halted: AtomicBool,
    txs: Vec<TxSchedule>,
}

impl Scheduler {
    /// A scheduler for `block_size` transactions and `threads` workers.
    pub(crate) fn new(block_size: usize, threads: usize) -> Self {
        Self {
            block_size,
            // Small enough that every thread gets work and a conflict wastes little; large
            // enough to amortise the claim. At least one.
            batch: (block_size / (threads.max(1) * 16)).clamp(1, 8),
            execution_idx: CachePadded::new(AtomicUsize::new(0)),
            validation_idx: CachePadded::new(AtomicUsize::new(0)),
            decrease_cnt: CachePadded::new(AtomicUsize::new(0)),
            num_active_tasks: CachePadded::new(AtomicUsize::new(0)),
            done: CachePadded::new(AtomicBool::new(block_size == 0)),
            halted: AtomicBool::new(false),
            txs: (0..block_size)
                .map(|_| TxSchedule {
                    state: Mutex::new(TxState {
                        incarnation: 0,
                        status: Status::ReadyToExecute,
                    }),
                    dependents: Mutex::new(Vec::new()),
                })
                .collect(),
        }
    }

    /// Whether all work is finished or the block was halted.
    pub(crate) fn finished(&self) -> bool {
        self.done.load(Ordering::Acquire) || self.halted.load(Ordering::Acquire)
    }

    /// Stops every worker as soon as it looks for its next task.
    pub(crate) fn halt(&self) {
        self.halted.store(true, Ordering::Release);
    }

    pub(crate) fn was_halted(&self) -> bool {
        self.halted.load(Ordering::Acquire)
    }

    fn check_done(&self) {
        let observed = self.decrease_cnt.load(Ordering::SeqCst);
        let execution_idx = self.execution_idx.load(Ordering::SeqCst);
        let validation_idx = self.validation_idx.load(Ordering::SeqCst);
        if execution_idx.min(validation_idx) >= self.block_size
            && self.num_active_tasks.load(Ordering::SeqCst) == 0
            && observed == self.decrease_cnt.load(Ordering::SeqCst)
        {
            self.done.store(true, Ordering::Release);
        }
    }

    fn decrease_execution_idx(&self, target: TxIdx) {
        self.execution_idx.fetch_min(target, Ordering::SeqCst);
        self.decrease_cnt.fetch_add(1, Ordering::SeqCst);
    }

    fn decrease_validation_idx(&self, target: TxIdx) {
        self.validation_idx.fetch_min(target, Ordering::SeqCst);
        self.decrease_cnt.fetch_add(1, Ordering::SeqCst);
    }

    /// Moves `idx` from ready to executing. Does not touch the active-task count.
    fn try_incarnate(&self, idx: TxIdx) -> Option<TxVersion> {
        if idx >= self.block_size {
            return None;
        }
        let mut state = self.txs[idx].state.lock();
        if state.status == Status::ReadyToExecute {
            state.status = Status::Executing;
            Some(TxVersion {
                idx,
                incarnation: state.incarnation,
            })
        } else {
            None
        }
    }

    /// Claims up to a batch of transactions to execute, queueing the ones ready to run.
    fn claim_executions(&self, queue: &mut VecDeque<Task>) {
        if self.execution_idx.load(Ordering::SeqCst) >= self.block_size {
            self.check_done();
            return;
        }
        // Counted active before the claim so `check_done` never sees claimed work as finished.
        self.num_active_tasks
            .fetch_add(self.batch, Ordering::SeqCst);
        let first = self.execution_idx.fetch_add(self.batch, Ordering::SeqCst);
        let mut claimed = 0;
        for idx in first..first + self.batch {
            if let Some(version) = self.try_incarnate(idx) {
                queue.push_back(Task::Execution(version));
                claimed += 1;
            }
        }
        if claimed < self.batch {
            self.num_active_tasks
                .fetch_sub(self.batch - claimed, Ordering::SeqCst);
        }
    }

    /// Claims up to a batch of transactions to validate, queueing the executed ones.
    fn claim_validations(&self, queue: &mut VecDeque<Task>) {
        if self.validation_idx.load(Ordering::SeqCst) >= self.block_size {
            self.check_done();
            return;
        }
        self.num_active_tasks
            .fetch_add(self.batch, Ordering::SeqCst);
        let first = self.validation_idx.fetch_add(self.batch, Ordering::SeqCst);
        let mut claimed = 0;
        for idx in first..(first + self.batch).min(self.block_size) {
            let state = self.txs[idx].state.lock();
            if state.status == Status::Executed {
                queue.push_back(Task::Validation(TxVersion {
                    idx,
                    incarnation: state.incarnation,
                }));
                claimed += 1;
            }
        }
        if claimed < self.batch {
            self.num_active_tasks
                .fetch_sub(self.batch - claimed, Ordering::SeqCst);
        }
    }

    /// Fills `queue` with the next tasks; returns `false` once the block is finished.
    pub(crate) fn next_tasks(&self, queue: &mut VecDeque<Task>) -> bool {
        let mut idle_rounds = 0u32;
        while !self.finished() {
            if self.validation_idx.load(Ordering::SeqCst)
                < self.execution_idx.load(Ordering::SeqCst)
            {
                self.claim_validations(queue);
            } else {
                self.claim_executions(queue);
            }
            if !queue.is_empty() {
                return true;
            }
            // Nothing to hand out: other threads hold the remaining work. Spin briefly, then
            // yield the core so the thread holding a dependency can finish it.
            idle_rounds += 1;
            if idle_rounds < 64 {
                std::hint::spin_loop();
            } else {
                std::thread::yield_now();
            }
        }
        false
    }

    /// Registers that `idx` read an estimate written by `blocking`. Returns `false` when
    /// `blocking` has meanwhile finished executing, in which case `idx` simply retries.
    pub(crate) fn add_dependency(&self, idx: TxIdx, blocking: TxIdx) -> bool {
        let mut dependents = self.txs[blocking].dependents.lock();
        if self.txs[blocking].state.lock().status == Status::Executed {
            return false;
        }
        self.txs[idx].state.lock().status = Status::Aborting;
        dependents.push(idx);
        drop(dependents);
        self.num_active_tasks.fetch_sub(1, Ordering::SeqCst);
        true
    }

    fn set_ready_status(&self, idx: TxIdx) {
        let mut state = self.txs[idx].state.lock();
        state.incarnation += 1;
        state.status = Status::ReadyToExecute;
    }

    /// Marks `version` executed, wakes its dependents, and says what its thread does next.
    pub(crate) fn finish_execution(
        &self,
        version: TxVersion,
        wrote_new_location: bool,
    ) -> Option<Task> {
        self.txs[version.idx].state.lock().status = Status::Executed;
        let dependents = std::mem::take(&mut *self.txs[version.idx].dependents.lock());
        if let Some(min_dependent) = dependents.iter().copied().min() {
            for dependent in dependents {
                self.set_ready_status(dependent);
            }
            self.decrease_execution_idx(min_dependent);
        }
        if self.validation_idx.load(Ordering::SeqCst) > version.idx {
            if wrote_new_location {
                // Transactions above may have validated against the missing write.
                self.decrease_validation_idx(version.idx);
            } else {
                return Some(Task::Validation(version));
            }
        }
        self.num_active_tasks.fetch_sub(1, Ordering::SeqCst);
        None
    }

    /// Claims the right to abort `version` after a failed validation (only one validator wins).
    pub(crate) fn try_validation_abort(&self, version: TxVersion) -> bool {
        let mut state = self.txs[version.idx].state.lock();
        if state.incarnation == version.incarnation && state.status == Status::Executed {
            state.status = Status::Aborting;
            true
        } else {
            false
        }
    }

    /// Ends a validation task; after an abort, re-executes the transaction on the same thread.
    pub(crate) fn finish_validation(&self, idx: TxIdx, aborted: bool) -> Option<Task> {
        if aborted {
            self.set_ready_status(idx);
            self.decrease_validation_idx(idx + 1);
            if self.execution_idx.load(Ordering::SeqCst) > idx {
                if let Some(version) = self.try_incarnate(idx) {
                    return Some(Task::Execution(version));
                }
            }
        }
        self.num_active_tasks.fetch_sub(1, Ordering::SeqCst);
        None
    }
}
