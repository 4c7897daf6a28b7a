//! The collaborative scheduler of Block-STM (Gelashvili et al., 2022, Algorithms 4–5).
//!
//! Two shared counters hand out the lowest transaction to execute and the lowest to validate;
//! every thread takes whichever is lower, so validation trails execution closely and conflicts
//! are found early. `num_active_tasks` counts tasks a thread holds; the block is done when both
//! counters are past the end, no task is held, and no counter was lowered meanwhile.

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};

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

pub(crate) struct Scheduler {
    block_size: usize,
    execution_idx: AtomicUsize,
    validation_idx: AtomicUsize,
    decrease_cnt: AtomicUsize,
    num_active_tasks: AtomicUsize,
    done: AtomicBool,
    /// Set when the block must stop early (worker panic, state error, fallback decision).
    halted: AtomicBool,
    states: Vec<Mutex<TxState>>,
    dependents: Vec<Mutex<Vec<TxIdx>>>,
}

impl Scheduler {
    pub(crate) fn new(block_size: usize) -> Self {
        Self {
            block_size,
            execution_idx: AtomicUsize::new(0),
            validation_idx: AtomicUsize::new(0),
            decrease_cnt: AtomicUsize::new(0),
            num_active_tasks: AtomicUsize::new(0),
            done: AtomicBool::new(block_size == 0),
            halted: AtomicBool::new(false),
            states: (0..block_size)
                .map(|_| {
                    Mutex::new(TxState {
                        incarnation: 0,
                        status: Status::ReadyToExecute,
                    })
                })
                .collect(),
            dependents: (0..block_size).map(|_| Mutex::new(Vec::new())).collect(),
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
        let mut state = self.states[idx].lock();
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

    fn next_version_to_execute(&self) -> Option<TxVersion> {
        if self.execution_idx.load(Ordering::SeqCst) >= self.block_size {
            self.check_done();
            return None;
        }
        self.num_active_tasks.fetch_add(1, Ordering::SeqCst);
        let idx = self.execution_idx.fetch_add(1, Ordering::SeqCst);
        let version = self.try_incarnate(idx);
        if version.is_none() {
            self.num_active_tasks.fetch_sub(1, Ordering::SeqCst);
        }
        version
    }

    fn next_version_to_validate(&self) -> Option<TxVersion> {
        if self.validation_idx.load(Ordering::SeqCst) >= self.block_size {
            self.check_done();
            return None;
        }
        self.num_active_tasks.fetch_add(1, Ordering::SeqCst);
        let idx = self.validation_idx.fetch_add(1, Ordering::SeqCst);
        if idx < self.block_size {
            let state = self.states[idx].lock();
            if state.status == Status::Executed {
                return Some(TxVersion {
                    idx,
                    incarnation: state.incarnation,
                });
            }
        }
        self.num_active_tasks.fetch_sub(1, Ordering::SeqCst);
        None
    }

    /// The next task, or `None` once the block is finished.
    pub(crate) fn next_task(&self) -> Option<Task> {
        let mut idle_rounds = 0u32;
        while !self.finished() {
            let task = if self.validation_idx.load(Ordering::SeqCst)
                < self.execution_idx.load(Ordering::SeqCst)
            {
                self.next_version_to_validate().map(Task::Validation)
            } else {
                self.next_version_to_execute().map(Task::Execution)
            };
            if task.is_some() {
                return task;
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
        None
    }

    /// Registers that `idx` read an estimate written by `blocking`. Returns `false` when
    /// `blocking` has meanwhile finished executing, in which case `idx` simply retries.
    pub(crate) fn add_dependency(&self, idx: TxIdx, blocking: TxIdx) -> bool {
        let mut dependents = self.dependents[blocking].lock();
        if self.states[blocking].lock().status == Status::Executed {
            return false;
        }
        self.states[idx].lock().status = Status::Aborting;
        dependents.push(idx);
        drop(dependents);
        self.num_active_tasks.fetch_sub(1, Ordering::SeqCst);
        true
    }

    fn set_ready_status(&self, idx: TxIdx) {
        let mut state = self.states[idx].lock();
        state.incarnation += 1;
        state.status = Status::ReadyToExecute;
    }

    /// Marks `version` executed, wakes its dependents, and says what its thread does next.
    pub(crate) fn finish_execution(
        &self,
        version: TxVersion,
        wrote_new_location: bool,
    ) -> Option<Task> {
        self.states[version.idx].lock().status = Status::Executed;
        let dependents = std::mem::take(&mut *self.dependents[version.idx].lock());
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
        let mut state = self.states[version.idx].lock();
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
