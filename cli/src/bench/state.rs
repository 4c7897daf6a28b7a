//! `parallax bench state`: state-root maintenance for one block of updates over a large state.
//!
//! Builds a world of `accounts` accounts (every fourth with a few storage slots), then applies
//! one block that changes `updates` of them (balance, nonce, and a slot where they have
//! storage) and measures the incremental root update ([`WorldState::apply`] + root) against a
//! full recomputation of the same final state ([`MemoryState::state_root`]) in the same run. Both
//! roots must agree. This measures hashing only: the database half (node persistence in the
//! chain store) is not built yet.

use std::time::Instant;

use alloy_primitives::{Address, B256, U256};
use parallax_executor::{AccountBasic, AccountChange, StateChanges};
use parallax_state::{MemoryState, WorldState};
use rand::{rngs::StdRng, Rng, SeedableRng};
use serde::Serialize;

/// Arguments of `parallax bench state`.
#[derive(Debug, clap::Args)]
pub struct StateArgs {
    /// Accounts in the state.
    #[arg(long, default_value_t = 100_000)]
    pub accounts: usize,
    /// Accounts changed by the measured block.
    #[arg(long, default_value_t = 20_000)]
    pub updates: usize,
    /// Seed of the generated state.
    #[arg(long, default_value_t = 1)]
    pub seed: u64,
    /// Print one JSON object instead of text.
    #[arg(long)]
    pub json: bool,
}

/// What `parallax bench state` measured.
#[derive(Clone, Debug, Serialize)]
pub struct StateReport {
    /// Accounts in the state.
    pub accounts: usize,
    /// Accounts the block changed.
    pub updates: usize,
    /// Building the initial world (all accounts inserted and hashed once).
    pub build_ms: f64,
    /// Applying the block incrementally and computing the new root.
    pub incremental_ms: f64,
    /// Recomputing the root of the same final state from scratch.
    pub full_recompute_ms: f64,
    /// `full_recompute_ms / incremental_ms`.
    pub incremental_speedup: f64,
    /// Account updates per second, incrementally.
    pub updates_per_sec: f64,
    /// The root both methods computed.
    pub root: B256,
}

impl StateReport {
    /// Human-readable form.
    pub fn to_text(&self) -> String {
        format!(
            "state of {} accounts, block of {} account updates (hashing only, in memory)\n  \
             build            {:>10.1} ms\n  incremental      {:>10.1} ms   ({:.0} updates/s)\n  \
             full recompute   {:>10.1} ms   (incremental is {:.1}x faster)\n  root {}\n",
            self.accounts,
            self.updates,
            self.build_ms,
            self.incremental_ms,
            self.updates_per_sec,
            self.full_recompute_ms,
            self.incremental_speedup,
            self.root
        )
    }
}

/// The state root of two independent implementations differed (a bug, never hidden).
#[derive(Debug, thiserror::Error)]
#[error("incremental root {incremental} != full recomputation {full}")]
pub struct RootMismatch {
    /// Root from [`WorldState`].
    pub incremental: B256,
    /// Root from [`MemoryState`].
    pub full: B256,
}

fn account_address(index: usize) -> Address {
    let mut bytes = [0u8; 20];
    bytes[..8].copy_from_slice(&(index as u64).to_be_bytes());
    bytes[8] = 0xa1;
    Address::from(bytes)
}

/// Runs the benchmark (see the module docs).
pub fn bench_state(
    accounts: usize,
    updates: usize,
    seed: u64,
) -> Result<StateReport, RootMismatch> {
    let mut rng = StdRng::seed_from_u64(seed);
    let slots_of = |index: usize| if index % 4 == 0 { 3u64 } else { 0 };
    let genesis = StateChanges {
        accounts: (0..accounts)
            .map(|index| {
                let change = AccountChange {
                    info: Some(AccountBasic {
                        balance: U256::from(rng.random_range(1u64..u64::MAX)),
                        nonce: rng.random_range(0..1_000),
                        ..Default::default()
                    }),
                    storage_cleared: false,
                    storage: (0..slots_of(index))
                        .map(|slot| (U256::from(slot), U256::from(index as u64 + 1)))
                        .collect(),
                };
                (account_address(index), change)
            })
            .collect(),
        contracts: Default::default(),
    };
    let started = Instant::now();
    let mut world = WorldState::new();
    world.apply(&genesis);
    let _ = world.root();
    let build_ms = started.elapsed().as_secs_f64() * 1e3;

    let block = StateChanges {
        accounts: (0..updates.min(accounts))
            .map(|_| {
                let index = rng.random_range(0..accounts);
                let mut change = genesis.accounts[&account_address(index)].clone();
                if let Some(info) = change.info.as_mut() {
                    info.balance = U256::from(rng.random_range(1u64..u64::MAX));
                    info.nonce += 1;
                }
                change.storage = (0..slots_of(index).min(1))
                    .map(|slot| (U256::from(slot), U256::from(rng.random::<u64>())))
                    .collect();
                (account_address(index), change)
            })
            .collect(),
        contracts: Default::default(),
    };
    let started = Instant::now();
    world.apply(&block);
    let incremental = world.root();
    let incremental_ms = started.elapsed().as_secs_f64() * 1e3;

    let mut memory = MemoryState::new();
    memory.apply(&genesis);
    memory.apply(&block);
    let started = Instant::now();
    let full = memory.state_root();
    let full_recompute_ms = started.elapsed().as_secs_f64() * 1e3;
    if incremental != full {
        return Err(RootMismatch { incremental, full });
    }
    let changed = block.accounts.len();
    Ok(StateReport {
        accounts,
        updates: changed,
        build_ms,
        incremental_ms,
        full_recompute_ms,
        incremental_speedup: full_recompute_ms / incremental_ms,
        updates_per_sec: changed as f64 / (incremental_ms / 1e3),
        root: incremental,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn both_roots_agree_on_a_small_state() {
        let report = bench_state(2_000, 300, 7).expect("roots agree");
        assert_eq!(report.accounts, 2_000);
        assert!(report.updates > 0 && report.updates <= 300);
    }
}
