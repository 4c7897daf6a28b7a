//! The rollup configuration: the parameters every node of one Parallax chain must agree on.

use serde::{Deserialize, Serialize};

/// EIP-1559 parameters of the L2 (design §2: elasticity 2–6, denominator 50–250).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Eip1559Params {
    /// Gas limit / gas target.
    pub elasticity: u64,
    /// Bounds the per-block base fee change to `1 / denominator`.
    pub denominator: u64,
}

impl Default for Eip1559Params {
    fn default() -> Self {
        // OP Stack's values: gentle changes suit 1-second blocks.
        Self {
            elasticity: 6,
            denominator: 250,
        }
    }
}

/// Consensus parameters of a Parallax chain.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", deny_unknown_fields)]
pub struct RollupConfig {
    /// L2 chain id (EIP-155).
    pub l2_chain_id: u64,
    /// Target time between L2 blocks, in milliseconds.
    pub block_time_ms: u64,
    /// Gas limit of every L2 block.
    pub gas_limit: u64,
    /// Largest gas limit a single transaction may ask for.
    pub max_tx_gas: u64,
    /// Base fee floor: the base fee never drops below it, so spam always costs something.
    pub min_base_fee: u64,
    /// EIP-1559 parameters.
    #[serde(default)]
    pub eip1559: Eip1559Params,
    /// How far (seconds) an L2 block's timestamp may run ahead of its L1 origin.
    pub max_sequencer_drift: u64,
    /// L1 blocks after which derivation forces in withheld deposits and batches.
    pub sequencing_window: u64,
    /// L2 blocks between output proposals.
    pub proposal_interval: u64,
}

impl Default for RollupConfig {
    fn default() -> Self {
        Self {
            l2_chain_id: 901,
            block_time_ms: 1_000,
            gas_limit: 30_000_000,
            max_tx_gas: 30_000_000,
            min_base_fee: 1_000_000, // 0.001 gwei
            eip1559: Eip1559Params::default(),
            max_sequencer_drift: 600,
            sequencing_window: 3_600,
            proposal_interval: 120,
        }
    }
}

/// A configuration value outside what the protocol supports.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum ConfigError {
    /// `block_time_ms` below the 100 ms floor.
    #[error("block_time_ms must be at least 100, got {0}")]
    BlockTimeTooShort(u64),
    /// EIP-1559 elasticity outside 2..=6.
    #[error("eip1559.elasticity must be within 2..=6, got {0}")]
    Elasticity(u64),
    /// EIP-1559 denominator outside 50..=250.
    #[error("eip1559.denominator must be within 50..=250, got {0}")]
    Denominator(u64),
    /// Per-transaction gas cap above the block gas limit, or a block too small for a transfer.
    #[error("gas limits invalid: block {gas_limit}, per transaction {max_tx_gas} (need 21000 <= per tx <= block)")]
    GasLimits {
        /// Block gas limit.
        gas_limit: u64,
        /// Per-transaction cap.
        max_tx_gas: u64,
    },
    /// A zero that would stall the chain.
    #[error("{0} must be greater than zero")]
    Zero(&'static str),
}

impl RollupConfig {
    /// Checks every bound; nodes refuse to start on an invalid configuration.
    pub fn validate(&self) -> Result<(), ConfigError> {
        if self.l2_chain_id == 0 {
            return Err(ConfigError::Zero("l2_chain_id"));
        }
        if self.block_time_ms < 100 {
            return Err(ConfigError::BlockTimeTooShort(self.block_time_ms));
        }
        if !(2..=6).contains(&self.eip1559.elasticity) {
            return Err(ConfigError::Elasticity(self.eip1559.elasticity));
        }
        if !(50..=250).contains(&self.eip1559.denominator) {
            return Err(ConfigError::Denominator(self.eip1559.denominator));
        }
        if self.max_tx_gas < 21_000 || self.max_tx_gas > self.gas_limit {
            return Err(ConfigError::GasLimits {
                gas_limit: self.gas_limit,
                max_tx_gas: self.max_tx_gas,
            });
        }
        for (name, value) in [
            ("sequencing_window", self.sequencing_window),
            ("proposal_interval", self.proposal_interval),
            ("max_sequencer_drift", self.max_sequencer_drift),
        ] {
            if value == 0 {
                return Err(ConfigError::Zero(name));
            }
        }
        Ok(())
    }

    /// Base fee of the next L2 block: EIP-1559 with this chain's parameters, floored.
    pub fn next_base_fee(
        &self,
        parent_gas_used: u64,
        parent_gas_limit: u64,
        parent_base_fee: u64,
    ) -> u64 {
        crate::fees::next_base_fee(
            parent_gas_used,
            parent_gas_limit,
            parent_base_fee,
            self.eip1559,
        )
        .max(self.min_base_fee)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn default_is_valid_and_round_trips() {
        let config = RollupConfig::default();
        assert_eq!(config.validate(), Ok(()));
        let json = serde_json::to_string(&config).expect("serialize");
        assert_eq!(
            serde_json::from_str::<RollupConfig>(&json).expect("parse"),
            config
        );
    }

    #[test]
    fn rejects_out_of_range_values() {
        let bad = |change: fn(&mut RollupConfig)| {
            let mut config = RollupConfig::default();
            change(&mut config);
            config.validate()
        };
        assert_eq!(
            bad(|c| c.block_time_ms = 99),
            Err(ConfigError::BlockTimeTooShort(99))
        );
        assert_eq!(
            bad(|c| c.eip1559.elasticity = 7),
            Err(ConfigError::Elasticity(7))
        );
        assert_eq!(
            bad(|c| c.eip1559.denominator = 8),
            Err(ConfigError::Denominator(8))
        );
        assert!(matches!(
            bad(|c| c.max_tx_gas = c.gas_limit + 1),
            Err(ConfigError::GasLimits { .. })
        ));
        assert_eq!(
            bad(|c| c.proposal_interval = 0),
            Err(ConfigError::Zero("proposal_interval"))
        );
        // Unknown fields are errors, not silently ignored typos.
        let typo = r#"{"l2_chain_id":1,"block_time_ms":1000,"gas_limit":1,"max_tx_gas":1,"min_base_fee":0,"max_sequencer_drift":1,"sequencing_window":1,"proposal_interval":1,"gas_limt":5}"#;
        assert!(serde_json::from_str::<RollupConfig>(typo).is_err());
    }

    #[test]
    fn base_fee_never_drops_below_the_floor() {
        let config = RollupConfig::default();
        assert_eq!(
            config.next_base_fee(0, config.gas_limit, config.min_base_fee),
            config.min_base_fee
        );
    }
}
