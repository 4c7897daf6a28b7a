//! Polling filters (`eth_newFilter`, `eth_newBlockFilter`, `eth_newPendingTransactionFilter`,
//! `eth_getFilterChanges`, ...): what HTTP-only clients (ethers, viem, web3.py watchers) use to
//! follow the chain. A filter not polled for [`FILTER_TIMEOUT`] is removed, as in geth.

use std::{
    collections::HashMap,
    time::{Duration, Instant},
};

use alloy::rpc::types::Filter;
use alloy_primitives::{B256, U256};

/// Idle time after which a filter is dropped.
pub(super) const FILTER_TIMEOUT: Duration = Duration::from_secs(300);

/// Most pending transaction hashes a filter buffers between polls.
const MAX_PENDING_BUFFER: usize = 10_000;

/// What a filter reports.
#[derive(Clone, Debug)]
pub(super) enum FilterKind {
    /// Hashes of blocks from `next` on.
    Blocks {
        /// First block not yet reported.
        next: u64,
    },
    /// Logs matching `filter` in blocks from `next` on.
    Logs {
        /// The criteria.
        filter: Box<Filter>,
        /// First block not yet reported.
        next: u64,
    },
    /// Hashes of transactions accepted since the last poll.
    PendingTransactions {
        /// Buffered hashes.
        hashes: Vec<B256>,
    },
}

#[derive(Debug)]
struct Installed {
    kind: FilterKind,
    last_poll: Instant,
}

/// The installed filters.
#[derive(Debug, Default)]
pub(super) struct Filters {
    next_id: u64,
    installed: HashMap<U256, Installed>,
}

impl Filters {
    fn expire(&mut self) {
        self.installed
            .retain(|_, filter| filter.last_poll.elapsed() < FILTER_TIMEOUT);
    }

    /// Installs a filter; returns its id.
    pub(super) fn install(&mut self, kind: FilterKind) -> U256 {
        self.expire();
        self.next_id += 1;
        let id = U256::from(self.next_id);
        self.installed.insert(
            id,
            Installed {
                kind,
                last_poll: Instant::now(),
            },
        );
        id
    }

    /// Removes a filter; whether it existed.
    pub(super) fn uninstall(&mut self, id: &U256) -> bool {
        self.installed.remove(id).is_some()
    }

    /// The filter's state for a poll (marking it polled), if installed.
    pub(super) fn poll(&mut self, id: &U256) -> Option<&mut FilterKind> {
        self.expire();
        let filter = self.installed.get_mut(id)?;
        filter.last_poll = Instant::now();
        Some(&mut filter.kind)
    }

    /// Records an accepted transaction for every pending-transaction filter.
    pub(super) fn on_pending(&mut self, hash: B256) {
        for filter in self.installed.values_mut() {
            if let FilterKind::PendingTransactions { hashes } = &mut filter.kind {
                if hashes.len() < MAX_PENDING_BUFFER {
                    hashes.push(hash);
                }
            }
        }
    }
}
