//! The proposer service: posts `output_root(n)` with the bond to the L1 `OutputOracle` for every
//! block the oracle expects next (`nextBlockNumber`, every `proposalInterval` blocks) once that
//! block's data is on L1.
//!
//! "On L1" is the store's **safe head** by default: the sequencer's own derivation moves it only
//! over blocks that L1 data derives to exactly ([`ProposeAfter::SafeHead`]). Without derivation
//! (a sequencer not following L1), [`ProposeAfter::ConfirmedFrames`] settles for "covered by
//! frames whose transactions are confirmed" ([`confirmed_through`]). The output root is computed
//! from the store exactly as `rollup_outputAtBlock` serves it ([`output_root_input`]).
//!
//! # Restarts and double proposals
//! The oracle itself is the cursor: the next block to propose is read from the contract. A
//! proposal sent but not yet confirmed is an open intent in the tx manager's journal; while one is
//! open the proposer sends nothing, so a restart in between waits for it instead of proposing the
//! same block twice. The `proposals` table is the record for operators: `pending` when sent,
//! `proposed` (with the oracle index) or `reverted` once confirmed.

use std::{collections::HashMap, sync::Arc, time::Duration};

use alloy::{
    eips::BlockNumberOrTag,
    primitives::{Address, B256, U256},
    providers::{DynProvider, Provider},
    sol_types::SolCall,
};
use parallax_contracts::{OutputOracle, SystemConfig};
use parallax_protocol::output_root;
use parallax_state::store::{output_root_input, ChainStore, HeadKind, Proposal};
use tokio::sync::watch;

use parallax_fraud_proof::{
    player::{Action, GamePlayer, PlayerConfig},
    truth::{ChainTruth, Corruption, Lie},
};
use parallax_protocol::RollupConfig;

use crate::{
    batcher::confirmed_through,
    metrics::Metrics,
    txmgr::{Confirmation, TxCandidate, TxEvent, TxManager},
    Error,
};

/// When a block's data counts as on L1, so that its output may be proposed.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum ProposeAfter {
    /// The block is at or below the store's safe head: derivation from L1 produced exactly it.
    #[default]
    SafeHead,
    /// The block is covered by frames whose L1 transactions are confirmed (no derivation needed;
    /// for sequencers that do not follow L1).
    ConfirmedFrames,
}

/// Where and how often to propose.
#[derive(Clone, Debug)]
pub struct ProposerConfig {
    /// The `OutputOracle` (proxy) address.
    pub oracle: Address,
    /// The L2 genesis block number (nothing at or below it is proposed).
    pub genesis: u64,
    /// Time between steps.
    pub poll_interval: Duration,
    /// Which blocks may be proposed.
    pub after: ProposeAfter,
    /// Defend the proposals in dispute games (the proposer's key is the only one that may).
    pub defend: Option<DefendConfig>,
}

/// How the proposer takes part in dispute games over its proposals.
#[derive(Clone, Debug)]
pub struct DefendConfig {
    /// The rollup, to replay disputed blocks.
    pub rollup: RollupConfig,
    /// **For demos and tests only** (`parallax devnet --malicious-proposer`): the first proposal
    /// at or after this L2 block posts a wrong output root (that block as [`DefendConfig::lie`]
    /// falsifies it) and defends it consistently, so the challenger has to take the game down
    /// to the one-step proof or the header proof. Later proposals are honest.
    pub malicious_from: Option<u64>,
    /// The malicious proposer's lie; [`DefendConfig::balance_lie`] (1 ETH more in
    /// [`LIE_ACCOUNT`]) unless a test wants another.
    pub lie: Lie,
}

impl DefendConfig {
    /// The devnet's lie: one block's post-state with 1 ETH more in [`LIE_ACCOUNT`].
    pub fn balance_lie() -> Lie {
        Lie::Balance {
            account: LIE_ACCOUNT,
            extra_wei: U256::from(10u64).pow(U256::from(18)),
        }
    }
}

/// The account a malicious proposer credits out of thin air.
pub const LIE_ACCOUNT: Address = Address::repeat_byte(0x1e);

/// Proposes output roots; see the module docs.
#[derive(Debug)]
pub struct Proposer<S> {
    store: S,
    txmgr: TxManager<S>,
    config: ProposerConfig,
    metrics: Arc<Metrics>,
    oracle: OutputOracle::OutputOracleInstance<DynProvider>,
    /// Sent proposals by intent, until confirmed.
    in_flight: HashMap<B256, u64>,
    /// Plays the games over our proposals (with `defend`).
    player: Option<GamePlayer<S>>,
    /// The lie still to tell (with `malicious_from`), as the first block it may be told at.
    lie_from: Option<u64>,
    /// The oracle's challenge window in seconds. The oracle fixes it at initialization, so it is
    /// read once here rather than once per confirmed proposal.
    challenge_window: u64,
}

/// Gas a `propose` may need beyond what the node estimates: `propose` also moves the oracle's
/// finality checkpoint over up to `PROPOSE_CHECKPOINT_STEPS` (2) proposals, crediting their
/// bonds, and whether it does depends on `block.timestamp` at inclusion, not at estimation. An
/// estimate made just before a challenge window ends misses those writes (the soak measured
/// 143,265 gas estimated, then 171,803 used when it reverted out of gas, and 205,438 for the
/// same proposal with both checkpoint steps).
pub const PROPOSE_CHECKPOINT_GAS: u64 = 100_000;

/// The gas limit of a `propose` whose estimate is `estimate`: 20% margin plus the checkpoint
/// steps the estimate may have missed.
fn propose_gas_limit(estimate: u64) -> u64 {
    estimate
        .saturating_add(estimate / 5)
        .saturating_add(PROPOSE_CHECKPOINT_GAS)
}

fn to_u64(value: U256) -> u64 {
    u64::try_from(value).unwrap_or(u64::MAX)
}

impl<S: ChainStore> Proposer<S> {
    /// A proposer for the oracle at `config.oracle`; refuses a key that is not the proposer the
    /// oracle's `SystemConfig` names (the oracle would revert every proposal).
    pub async fn new(
        store: S,
        txmgr: TxManager<S>,
        config: ProposerConfig,
        metrics: Arc<Metrics>,
    ) -> Result<Self, Error> {
        let provider = txmgr.provider().clone();
        let oracle = OutputOracle::new(config.oracle, provider.clone());
        let system_config = SystemConfig::new(oracle.systemConfig().call().await?, provider);
        let expected = system_config.proposer().call().await?;
        if expected != txmgr.address() {
            return Err(Error::WrongKey {
                role: "proposer",
                key: txmgr.address(),
                expected,
            });
        }
        let latest = to_u64(oracle.latestBlockNumber().call().await?);
        let challenge_window = to_u64(oracle.challengeWindow().call().await?);
        let mut in_flight = HashMap::new();
        for proposal in store.proposals(latest).await? {
            if let (Some(intent), "pending") = (proposal.l1_tx_hash, proposal.status.as_str()) {
                in_flight.insert(intent, proposal.l2_block_number);
            }
        }
        Metrics::set(&metrics.proposed_block, latest);
        tracing::info!(
            oracle = %config.oracle,
            proposer = %txmgr.address(),
            latest,
            open = txmgr.open_intents().await.len(),
            "proposer resuming"
        );
        let player = config
            .defend
            .as_ref()
            .map(|defend| defender(&store, &txmgr, config.oracle, defend.rollup.clone(), None));
        let lie_from = config
            .defend
            .as_ref()
            .and_then(|defend| defend.malicious_from);
        Ok(Self {
            store,
            txmgr,
            config,
            metrics,
            oracle,
            in_flight,
            player,
            lie_from,
            challenge_window,
        })
    }

    /// The tx manager.
    pub fn txmgr(&self) -> &TxManager<S> {
        &self.txmgr
    }

    /// Runs [`step`](Self::step) every `poll_interval` until `shutdown` turns true; transient
    /// failures are logged and retried.
    pub async fn run(mut self, mut shutdown: watch::Receiver<bool>) -> Result<(), Error> {
        loop {
            if let Err(error) = self.step().await {
                if !error.is_transient() {
                    tracing::error!(%error, "proposer stopped");
                    return Err(error);
                }
                Metrics::add(&self.metrics.step_errors, 1);
                tracing::warn!(%error, "proposer step failed; retrying");
            }
            tokio::select! {
                () = tokio::time::sleep(self.config.poll_interval) => {}
                _ = shutdown.wait_for(|stop| *stop) => return Ok(()),
            }
        }
    }

    /// Watches the proposal in flight; when none is, proposes the block the oracle expects if
    /// its data is confirmed and the oracle's clock allows it. Returns the block proposed.
    pub async fn step(&mut self) -> Result<Option<u64>, Error> {
        for event in self.txmgr.poll().await? {
            match event {
                TxEvent::Confirmed(confirmation) => self.confirmed(&confirmation).await?,
                TxEvent::Bumped { .. } => Metrics::add(&self.metrics.fee_bumps, 1),
                TxEvent::Reorged { .. } => Metrics::add(&self.metrics.l1_reorgs, 1),
                TxEvent::Renonced { .. } => Metrics::add(&self.metrics.renonces, 1),
            }
        }
        if !self.txmgr.open_intents().await.is_empty() {
            return Ok(None);
        }
        if let Some(player) = &self.player {
            // Defending comes first: a clock may be running.
            match player.step(&self.txmgr).await {
                Ok(Action::Idle | Action::Waiting) => {}
                Ok(action) => {
                    tracing::info!(?action, "proposer in a dispute game");
                    return Ok(None);
                }
                Err(error) => tracing::warn!(%error, "dispute game step failed; retrying"),
            }
        }
        let next = to_u64(self.oracle.nextBlockNumber().call().await?);
        let ready = self.ready_through().await?;
        if next > ready {
            tracing::debug!(next, ready, "next proposal waits for its data on L1");
            return Ok(None);
        }
        let l2_time = to_u64(
            self.oracle
                .computeL2Timestamp(U256::from(next))
                .call()
                .await?,
        );
        let l1_time = self
            .txmgr
            .provider()
            .get_block_by_number(BlockNumberOrTag::Latest)
            .await?
            .map_or(0, |block| block.header.timestamp);
        if l2_time > l1_time {
            tracing::debug!(
                next,
                l2_time,
                l1_time,
                "next proposal is ahead of the L1 clock"
            );
            return Ok(None);
        }
        let lie_from = self.lie_from;
        let root = match (self.lie_from, &self.config.defend) {
            (Some(from), Some(defend)) if next >= from => {
                let lie = Corruption {
                    block: next,
                    lie: defend.lie,
                };
                let liar = ChainTruth::corrupted(self.store.clone(), defend.rollup.clone(), lie);
                let root = liar
                    .output_root(next)
                    .await
                    .map_err(|error| Error::Truth(error.to_string()))?;
                tracing::warn!(block = next, %root, "MALICIOUS PROPOSER: posting a wrong output root");
                self.player = Some(defender(
                    &self.store,
                    &self.txmgr,
                    self.config.oracle,
                    defend.rollup.clone(),
                    Some(lie),
                ));
                self.lie_from = None;
                root
            }
            _ => output_root(&output_root_input(&self.store, next).await?),
        };
        let bond = self.oracle.proposalBond().call().await?;
        let call = OutputOracle::proposeCall {
            l2BlockNumber: U256::from(next),
            outputRoot: root,
        };
        let data: alloy::primitives::Bytes = call.abi_encode().into();
        let request = alloy::rpc::types::TransactionRequest::default()
            .from(self.txmgr.address())
            .to(self.config.oracle)
            .value(bond)
            .input(data.clone().into());
        let estimate = match self.txmgr.provider().estimate_gas(request).await {
            Ok(estimate) => estimate,
            Err(error) => {
                // L1 moves between our calls: a game resolved meanwhile may have deleted
                // proposals (the oracle then expects an earlier block), or a proposal landed.
                // That is not a failure: propose what the oracle expects on the next step. The
                // estimate may run on the pending block, where a resolution is already in, so
                // both views are asked.
                let mut expected = to_u64(self.oracle.nextBlockNumber().call().await?);
                if expected == next {
                    expected = to_u64(
                        self.oracle
                            .nextBlockNumber()
                            .block(alloy::eips::BlockId::pending())
                            .call()
                            .await?,
                    );
                }
                if expected != next {
                    tracing::info!(next, expected, "the oracle moved while proposing; retrying");
                    self.lie_from = lie_from;
                    return Ok(None);
                }
                return Err(error.into());
            }
        };
        let candidate = TxCandidate {
            to: self.config.oracle,
            data,
            value: bond,
            gas_limit: Some(propose_gas_limit(estimate)),
            ..TxCandidate::default()
        };
        let intents = self.txmgr.send(vec![candidate]).await?;
        let intent = intents.first().copied();
        self.store
            .put_proposal(&Proposal {
                l2_block_number: next,
                output_root: root,
                oracle_index: None,
                l1_tx_hash: intent,
                status: "pending".into(),
                finalizes_at: None,
            })
            .await?;
        if let Some(intent) = intent {
            self.in_flight.insert(intent, next);
        }
        Metrics::add(&self.metrics.proposals_sent, 1);
        tracing::info!(block = next, %root, bond = %bond, "proposal sent");
        Ok(Some(next))
    }

    /// The highest block whose data is on L1 under the configured rule.
    pub async fn ready_through(&self) -> Result<u64, Error> {
        Ok(match self.config.after {
            ProposeAfter::SafeHead => self
                .store
                .head(HeadKind::Safe)
                .await?
                .map_or(self.config.genesis, |head| head.number),
            ProposeAfter::ConfirmedFrames => {
                confirmed_through(&self.store, self.config.genesis).await?
            }
        })
    }

    async fn confirmed(&mut self, confirmation: &Confirmation) -> Result<(), Error> {
        let metrics = &self.metrics;
        Metrics::add(&metrics.proposer_l1_gas, confirmation.receipt.gas_used);
        Metrics::add(
            &metrics.proposer_l1_fee_gwei,
            u64::try_from(confirmation.fee_wei() / 1_000_000_000).unwrap_or(u64::MAX),
        );
        let sent = self.in_flight.remove(&confirmation.intent);
        if sent.is_none() {
            // Not a proposal: a move in a dispute game over one of ours (the player reads the
            // game's new position from L1 on its next step).
            tracing::info!(
                hash = %confirmation.hash,
                success = confirmation.success(),
                gas = confirmation.receipt.gas_used,
                "dispute game transaction confirmed"
            );
            return Ok(());
        }
        let proposed = confirmation.receipt.inner.logs().iter().find_map(|log| {
            (log.address() == self.config.oracle)
                .then(|| log.log_decode::<OutputOracle::OutputProposed>().ok())
                .flatten()
        });
        match proposed {
            Some(log) if confirmation.success() => {
                let event = &log.inner.data;
                let block = to_u64(event.l2BlockNumber);
                // For operators: when the proposal leaves the challenge window, unchallenged.
                let finalizes_at = to_u64(event.l1Timestamp).saturating_add(self.challenge_window);
                self.store
                    .put_proposal(&Proposal {
                        l2_block_number: block,
                        output_root: event.outputRoot,
                        oracle_index: Some(to_u64(event.outputIndex)),
                        l1_tx_hash: Some(confirmation.hash),
                        status: "proposed".into(),
                        finalizes_at: Some(finalizes_at),
                    })
                    .await?;
                Metrics::add(&metrics.proposals_confirmed, 1);
                Metrics::set(&metrics.proposed_block, block);
                tracing::info!(
                    block,
                    index = %event.outputIndex,
                    root = %event.outputRoot,
                    l1_block = confirmation.block.number,
                    "proposal confirmed"
                );
            }
            _ => {
                Metrics::add(&metrics.proposals_reverted, 1);
                tracing::warn!(
                    intent = %confirmation.intent,
                    hash = %confirmation.hash,
                    block = ?sent,
                    "proposal transaction reverted; the next step reads the oracle again"
                );
                if let Some(block) = sent {
                    let mut records = self.store.proposals(block).await?;
                    records.retain(|record| record.l2_block_number == block);
                    for mut record in records {
                        record.status = "reverted".into();
                        record.l1_tx_hash = Some(confirmation.hash);
                        self.store.put_proposal(&record).await?;
                    }
                }
            }
        }
        Ok(())
    }
}

/// A player that defends our proposals (never challenges), judging with the local chain, or
/// with the chain as `lie` falsifies it.
fn defender<S: ChainStore>(
    store: &S,
    txmgr: &TxManager<S>,
    oracle: Address,
    rollup: RollupConfig,
    lie: Option<Corruption>,
) -> GamePlayer<S> {
    let truth = match lie {
        Some(lie) => ChainTruth::corrupted(store.clone(), rollup, lie),
        None => ChainTruth::new(store.clone(), rollup),
    };
    GamePlayer::new(
        truth,
        store.clone(),
        txmgr.provider().clone(),
        txmgr.address(),
        PlayerConfig {
            oracle,
            challenge: false,
            max_scan: 64,
        },
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn propose_gas_covers_the_checkpoint_steps_the_estimate_missed() {
        // Measured in the soak: estimated without checkpoint steps, needed with both.
        assert!(propose_gas_limit(143_265) >= 205_438);
        assert_eq!(propose_gas_limit(u64::MAX), u64::MAX);
    }
}
