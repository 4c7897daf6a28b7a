//! `auto`: calldata or blobs, whichever L1 prices make cheaper, with hysteresis so the choice
//! does not flap when the two costs are close.
//!
//! Each channel opening is one decision: the cost of the expected channel as calldata and as
//! blobs is computed from the current base fee, tip and blob base fee ([`CostModel`]). The very
//! first decision takes the cheaper backend. After that the batcher switches only when the other
//! backend has been cheaper by at least `margin_percent` (its cost at most `100 − margin` % of
//! the current one) for `consecutive` decisions in a row; any decision that does not meet the
//! margin resets the count.

use std::sync::Mutex;

use parallax_protocol::frame::Frame;

use super::{BlobDa, CalldataDa, DaBackend, DaClient, DaPlan};
use crate::{
    fees::{CostModel, L1Fees},
    txmgr::TxCandidate,
    Error,
};

/// When to switch.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct AutoPolicy {
    /// How much cheaper (percent of the current backend's cost) the other backend must be.
    pub margin_percent: u128,
    /// For how many consecutive decisions.
    pub consecutive: u32,
    /// How costs are computed.
    pub costs: CostModel,
}

impl Default for AutoPolicy {
    fn default() -> Self {
        Self {
            margin_percent: 20,
            consecutive: 3,
            costs: CostModel::default(),
        }
    }
}

/// The decision state: the backend in use and how many decisions in a row favoured the other.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Hysteresis {
    current: Option<DaBackend>,
    streak: u32,
}

impl Hysteresis {
    /// The backend in use, once a decision was made.
    pub fn current(&self) -> Option<DaBackend> {
        self.current
    }

    /// One decision from the two costs (wei) of the same payload.
    pub fn decide(
        &mut self,
        policy: &AutoPolicy,
        calldata_cost: u128,
        blob_cost: u128,
    ) -> DaBackend {
        let Some(current) = self.current else {
            let first = if blob_cost < calldata_cost {
                DaBackend::Blobs
            } else {
                DaBackend::Calldata
            };
            self.current = Some(first);
            return first;
        };
        let (current_cost, other_cost, other) = match current {
            DaBackend::Blobs => (blob_cost, calldata_cost, DaBackend::Calldata),
            _ => (calldata_cost, blob_cost, DaBackend::Blobs),
        };
        let keep = 100u128.saturating_sub(policy.margin_percent);
        if other_cost.saturating_mul(100) <= current_cost.saturating_mul(keep) {
            self.streak += 1;
            if self.streak >= policy.consecutive.max(1) {
                self.current = Some(other);
                self.streak = 0;
                return other;
            }
        } else {
            self.streak = 0;
        }
        current
    }
}

/// Calldata or blobs by price (module docs).
#[derive(Debug)]
pub struct AutoDa {
    calldata: CalldataDa,
    blobs: BlobDa,
    policy: AutoPolicy,
    state: Mutex<Hysteresis>,
}

impl AutoDa {
    /// Chooses between `calldata` and `blobs` under `policy`.
    pub fn new(calldata: CalldataDa, blobs: BlobDa, policy: AutoPolicy) -> Self {
        Self {
            calldata,
            blobs,
            policy,
            state: Mutex::new(Hysteresis::default()),
        }
    }

    /// The backend in use, once a decision was made.
    pub fn current(&self) -> Option<DaBackend> {
        self.state.lock().ok().and_then(|state| state.current())
    }
}

impl DaClient for AutoDa {
    fn plan(&self, fees: &L1Fees, channel_bytes: usize) -> DaPlan {
        let bytes = channel_bytes.clamp(1, self.blobs.fixed_plan().channel_target());
        let calldata_cost = self.policy.costs.calldata_cost(fees, bytes);
        let blob_cost = self.policy.costs.blob_cost(fees, bytes);
        let backend = match self.state.lock() {
            Ok(mut state) => {
                let before = state.current();
                let backend = state.decide(&self.policy, calldata_cost, blob_cost);
                if before != Some(backend) {
                    tracing::info!(
                        backend = backend.name(),
                        calldata_cost,
                        blob_cost,
                        bytes,
                        "auto DA: switching backend"
                    );
                }
                backend
            }
            // A panic while deciding cannot leave a half-made decision: fall back to calldata.
            Err(_) => DaBackend::Calldata,
        };
        match backend {
            DaBackend::Blobs => self.blobs.fixed_plan(),
            _ => self.calldata.fixed_plan(),
        }
    }

    async fn candidate(&self, plan: &DaPlan, frames: &[Frame]) -> Result<TxCandidate, Error> {
        match plan.backend {
            DaBackend::Blobs => self.blobs.build(plan, frames).await,
            _ => self.calldata.build(plan, frames),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const POLICY: AutoPolicy = AutoPolicy {
        margin_percent: 20,
        consecutive: 3,
        costs: CostModel {
            calldata_gas_per_byte: 16,
        },
    };

    #[test]
    fn the_first_decision_takes_the_cheaper_backend() {
        let mut state = Hysteresis::default();
        assert_eq!(state.decide(&POLICY, 100, 99), DaBackend::Blobs);
        let mut state = Hysteresis::default();
        assert_eq!(state.decide(&POLICY, 100, 100), DaBackend::Calldata);
    }

    #[test]
    fn switches_only_after_enough_consecutive_decisions_past_the_margin() {
        let mut state = Hysteresis::default();
        assert_eq!(state.decide(&POLICY, 100, 200), DaBackend::Calldata);
        // Blobs 30% cheaper twice, then only 10% cheaper: the streak resets.
        assert_eq!(state.decide(&POLICY, 100, 70), DaBackend::Calldata);
        assert_eq!(state.decide(&POLICY, 100, 70), DaBackend::Calldata);
        assert_eq!(state.decide(&POLICY, 100, 90), DaBackend::Calldata);
        // Exactly 20% cheaper counts; the third in a row switches.
        assert_eq!(state.decide(&POLICY, 100, 80), DaBackend::Calldata);
        assert_eq!(state.decide(&POLICY, 100, 50), DaBackend::Calldata);
        assert_eq!(state.decide(&POLICY, 100, 79), DaBackend::Blobs);
        // And back, under the same rule.
        assert_eq!(state.decide(&POLICY, 100, 110), DaBackend::Blobs);
        assert_eq!(state.decide(&POLICY, 70, 100), DaBackend::Blobs);
        assert_eq!(state.decide(&POLICY, 70, 100), DaBackend::Blobs);
        assert_eq!(state.decide(&POLICY, 70, 100), DaBackend::Calldata);
    }

    #[test]
    fn costs_oscillating_within_the_margin_never_flap() {
        let mut state = Hysteresis::default();
        assert_eq!(state.decide(&POLICY, 100, 101), DaBackend::Calldata);
        for round in 0..100u128 {
            let blob = if round % 2 == 0 { 85 } else { 115 };
            assert_eq!(state.decide(&POLICY, 100, blob), DaBackend::Calldata);
        }
    }

    #[test]
    fn prices_drive_the_plan() {
        let auto = AutoDa::new(
            CalldataDa::new(alloy::primitives::Address::ZERO),
            BlobDa::new(alloy::primitives::Address::ZERO),
            AutoPolicy {
                consecutive: 2,
                ..POLICY
            },
        );
        // Blob gas at 1 wei and execution gas at 10 gwei: a full channel is far cheaper in blobs.
        let cheap_blobs = L1Fees {
            base_fee: 10_000_000_000,
            priority_fee: 1_000_000_000,
            blob_base_fee: 1,
        };
        // Blob base fee at 1,000 gwei: calldata is cheaper.
        let dear_blobs = L1Fees {
            blob_base_fee: 1_000_000_000_000,
            ..cheap_blobs
        };
        let bytes = 100_000;
        assert_eq!(auto.plan(&dear_blobs, bytes).backend, DaBackend::Calldata);
        assert_eq!(auto.plan(&cheap_blobs, bytes).backend, DaBackend::Calldata);
        assert_eq!(auto.plan(&cheap_blobs, bytes).backend, DaBackend::Blobs);
        assert_eq!(
            auto.plan(&cheap_blobs, bytes),
            BlobDa::new(alloy::primitives::Address::ZERO).fixed_plan()
        );
        assert_eq!(auto.current(), Some(DaBackend::Blobs));
        // A tiny channel costs a whole blob: calldata wins it back after two decisions.
        assert_eq!(auto.plan(&cheap_blobs, 10).backend, DaBackend::Blobs);
        let pricier = L1Fees {
            blob_base_fee: 1_000_000_000,
            ..cheap_blobs
        };
        assert_eq!(auto.plan(&pricier, 100).backend, DaBackend::Blobs);
        assert_eq!(auto.plan(&pricier, 100).backend, DaBackend::Calldata);
    }
}
