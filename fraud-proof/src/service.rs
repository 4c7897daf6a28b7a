//! The long-running loop around a [`GamePlayer`]: poll the tx manager (confirmations, fee
//! bumps, reorgs), take one player step, count what happened, sleep.

use std::{
    sync::atomic::{AtomicU64, Ordering},
    time::Duration,
};

use parallax_state::store::ChainStore;
use parallax_txmgr::TxManager;
use tokio::sync::watch;

use crate::player::{Action, GamePlayer};

/// Counters of a player, for the Prometheus endpoint of the process that runs it.
#[derive(Debug, Default)]
pub struct PlayerMetrics {
    /// Games opened by us.
    pub challenges: AtomicU64,
    /// Moves played (claims, choices, openBlock, tx-count proofs, steps).
    pub moves: AtomicU64,
    /// One-step proofs submitted.
    pub steps: AtomicU64,
    /// Games ended by a timeout we called.
    pub timeouts: AtomicU64,
    /// Game outcomes reported to the oracle.
    pub settled: AtomicU64,
    /// Wei of bonds withdrawn.
    pub credit_claimed_wei: AtomicU64,
    /// Steps that failed (retried).
    pub errors: AtomicU64,
}

impl PlayerMetrics {
    /// Prometheus text exposition, with `prefix` before every name.
    pub fn render(&self, prefix: &str) -> String {
        let counters = [
            ("challenges_total", "Dispute games opened", &self.challenges),
            ("moves_total", "Dispute game moves played", &self.moves),
            ("steps_total", "One-step proofs submitted", &self.steps),
            (
                "timeouts_total",
                "Games ended by a clock timeout",
                &self.timeouts,
            ),
            (
                "settled_total",
                "Game outcomes reported to the oracle",
                &self.settled,
            ),
            (
                "credit_claimed_wei_total",
                "Bond wei withdrawn",
                &self.credit_claimed_wei,
            ),
            (
                "errors_total",
                "Player steps that failed and were retried",
                &self.errors,
            ),
        ];
        let mut out = String::new();
        for (name, help, value) in counters {
            out.push_str(&format!(
                "# HELP {prefix}_{name} {help}\n# TYPE {prefix}_{name} counter\n{prefix}_{name} {}\n",
                value.load(Ordering::Relaxed)
            ));
        }
        out
    }

    fn record(&self, action: &Action) {
        let counter = match action {
            Action::Challenged { .. } => &self.challenges,
            Action::Moved { the_move, .. } => {
                if matches!(the_move, crate::game::Move::Step { .. }) {
                    self.steps.fetch_add(1, Ordering::Relaxed);
                }
                &self.moves
            }
            Action::TimedOut { .. } => &self.timeouts,
            Action::Settled { .. } => &self.settled,
            Action::ClaimedCredit { amount } => {
                let wei = u64::try_from(*amount).unwrap_or(u64::MAX);
                self.credit_claimed_wei.fetch_add(wei, Ordering::Relaxed);
                return;
            }
            Action::Idle | Action::Waiting => return,
        };
        counter.fetch_add(1, Ordering::Relaxed);
    }
}

/// Runs `player` with `txmgr` every `interval` until `shutdown` turns true. Errors are logged,
/// counted and retried: a flaky L1 or a game it cannot read never stops the service.
pub async fn run_player<S: ChainStore>(
    player: GamePlayer<S>,
    txmgr: TxManager<S>,
    interval: Duration,
    metrics: &PlayerMetrics,
    mut shutdown: watch::Receiver<bool>,
) {
    loop {
        if let Err(error) = txmgr.poll().await {
            tracing::warn!(%error, "tx manager poll failed");
            metrics.errors.fetch_add(1, Ordering::Relaxed);
        }
        match player.step(&txmgr).await {
            Ok(action) => {
                if !matches!(action, Action::Idle | Action::Waiting) {
                    tracing::info!(?action, "challenger");
                }
                metrics.record(&action);
            }
            Err(error) => {
                tracing::warn!(%error, "challenger step failed; retrying");
                metrics.errors.fetch_add(1, Ordering::Relaxed);
            }
        }
        tokio::select! {
            _ = shutdown.wait_for(|stop| *stop) => return,
            () = tokio::time::sleep(interval) => {}
        }
    }
}
