//! The rollup configuration: the parameters every node of one Parallax chain must agree on.

use alloy_primitives::{address, Address, B256};
use serde::{Deserialize, Serialize};

use crate::block::{BlockId, L2BlockInfo};
use crate::channel::Compression;
use crate::system_config::L1FeeScalars;

/// EIP-1559 parameters of the L2 (design §2: elasticity 2–6, denominator 50–250).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
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
    /// L2 block gas limit before any `SystemConfig` event.
    pub gas_limit: u64,
    /// Largest gas limit a single transaction may ask for.
    pub max_tx_gas: u64,
    /// Base fee floor: the base fee never drops below it, so spam always costs something.
    pub min_base_fee: u64,
    /// EIP-1559 parameters before any `SystemConfig` event.
    #[serde(default)]
    pub eip1559: Eip1559Params,
    /// How far (seconds) an L2 block's timestamp may run ahead of its L1 origin.
    pub max_sequencer_drift: u64,
    /// L1 blocks after which derivation forces in withheld deposits and batches.
    pub sequencing_window: u64,
    /// L2 blocks between output proposals.
    pub proposal_interval: u64,
    /// Batcher before any `SystemConfig` event: the only sender whose batch-inbox transactions
    /// derivation reads until `BatcherUpdated` names another.
    pub batcher_address: Address,
    /// Address (without code) that batcher transactions are sent to.
    pub batch_inbox_address: Address,
    /// L1 `Portal`: its `TransactionDeposited` events become deposits.
    pub portal_address: Address,
    /// L1 `SystemConfig`: derivation replays its events (batcher, gas limit, EIP-1559
    /// parameters, L1 fee scalars); `gas_limit`, `eip1559`, `batcher_address` and
    /// `l1_fee_scalars` here are only the values before its first event.
    pub system_config_address: Address,
    /// L1 data fee scalars before any `SystemConfig` event.
    #[serde(default)]
    pub l1_fee_scalars: L1FeeScalars,
    /// L1 blocks a channel may stay incomplete after its first frame before derivation drops it.
    pub channel_timeout: u64,
    /// Largest decompressed channel derivation accepts (zip-bomb bound), in bytes.
    pub max_channel_decompressed_size: u64,
    /// Most frame data derivation buffers in incomplete channels before dropping the oldest.
    pub max_channel_bank_size: u64,
    /// What the batcher compresses with; derivation accepts both algorithms regardless.
    #[serde(default)]
    pub batch_compression: Compression,
    /// Where the chain starts.
    pub genesis: Genesis,
}

/// The anchor of derivation: the first L2 block and the L1 block it is built on.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", deny_unknown_fields)]
pub struct Genesis {
    /// L1 block the L2 genesis block takes as origin; derivation reads L1 from here.
    pub l1: BlockId,
    /// The L2 genesis block (number and hash).
    pub l2: BlockId,
    /// L2 genesis timestamp, in seconds.
    pub l2_timestamp: u64,
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
            // contracts/deploy/devnet.json (anvil accounts) and the addresses Deploy.s.sol gets
            // from anvil's first account on a fresh chain (nonces 1 and 5).
            batcher_address: address!("90F79bf6EB2c4f870365E785982E1f101E93b906"),
            batch_inbox_address: address!("Ff00000000000000000000000000000000000901"),
            portal_address: address!("5FC8d32690cc91D4c39d9d3abcBD16989F875707"),
            system_config_address: address!("e7f1725E7734CE288F8367e1Bb143E90bb3F0512"),
            l1_fee_scalars: L1FeeScalars::default(),
            channel_timeout: 50,
            max_channel_decompressed_size: 10_000_000,
            max_channel_bank_size: 100_000_000,
            batch_compression: Compression::Zstd,
            // Devnet bring-up writes the real hashes and time here.
            genesis: Genesis {
                l1: BlockId {
                    number: 0,
                    hash: B256::ZERO,
                },
                l2: BlockId {
                    number: 0,
                    hash: B256::ZERO,
                },
                l2_timestamp: 0,
            },
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
    /// A required L1 address left at zero.
    #[error("{0} must not be the zero address")]
    ZeroAddress(&'static str),
    /// A sequencing window too short for forced inclusion to see the next L1 origin.
    #[error("sequencing_window must be at least 2 L1 blocks, got {0}")]
    SequencingWindow(u64),
}

/// Domain of the default Celestia namespace (see [`RollupConfig::celestia_namespace_id`]).
const CELESTIA_NAMESPACE_DOMAIN: &[u8] = b"parallax/celestia-namespace/v0";

impl RollupConfig {
    /// The default 10-byte id of the chain's Celestia namespace (version 0):
    /// `keccak256(domain ‖ l2_chain_id:u64)[..10]`. The batcher submits blobs there and
    /// derivation accepts Celestia blobs only from there, so both sides derive it from the one
    /// value they already share; a deployment may name another namespace on both sides.
    pub fn celestia_namespace_id(&self) -> [u8; 10] {
        let mut preimage = CELESTIA_NAMESPACE_DOMAIN.to_vec();
        preimage.extend_from_slice(&self.l2_chain_id.to_be_bytes());
        let hash = alloy_primitives::keccak256(&preimage);
        let mut id = [0u8; 10];
        id.copy_from_slice(&hash[..10]);
        id
    }

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
            ("channel_timeout", self.channel_timeout),
            (
                "max_channel_decompressed_size",
                self.max_channel_decompressed_size,
            ),
            ("max_channel_bank_size", self.max_channel_bank_size),
        ] {
            if value == 0 {
                return Err(ConfigError::Zero(name));
            }
        }
        if self.sequencing_window < 2 {
            return Err(ConfigError::SequencingWindow(self.sequencing_window));
        }
        for (name, value) in [
            ("batcher_address", self.batcher_address),
            ("batch_inbox_address", self.batch_inbox_address),
            ("portal_address", self.portal_address),
            ("system_config_address", self.system_config_address),
        ] {
            if value == Address::ZERO {
                return Err(ConfigError::ZeroAddress(name));
            }
        }
        Ok(())
    }

    /// Time of L2 block `number` in milliseconds: blocks follow a fixed schedule from genesis,
    /// `genesis.l2_timestamp * 1000 + (number - genesis.l2.number) * block_time_ms`. `None`
    /// before genesis or on overflow.
    pub fn l2_timestamp_ms(&self, number: u64) -> Option<u64> {
        let blocks = number.checked_sub(self.genesis.l2.number)?;
        self.genesis
            .l2_timestamp
            .checked_mul(1000)?
            .checked_add(blocks.checked_mul(self.block_time_ms)?)
    }

    /// The L2 genesis block as derivation's first safe head.
    pub fn genesis_block_info(&self) -> L2BlockInfo {
        L2BlockInfo {
            number: self.genesis.l2.number,
            hash: self.genesis.l2.hash,
            l1_origin: self.genesis.l1,
            sequence_number: 0,
        }
    }

    /// Decompressed channel limit as a size.
    pub fn max_channel_decompressed(&self) -> usize {
        usize::try_from(self.max_channel_decompressed_size).unwrap_or(usize::MAX)
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
        let mut json = serde_json::to_value(RollupConfig::default()).expect("serialize");
        json["gas_limt"] = 5.into();
        assert!(serde_json::from_value::<RollupConfig>(json).is_err());
        assert_eq!(
            bad(|c| c.sequencing_window = 1),
            Err(ConfigError::SequencingWindow(1))
        );
        assert_eq!(
            bad(|c| c.batcher_address = Address::ZERO),
            Err(ConfigError::ZeroAddress("batcher_address"))
        );
        assert_eq!(
            bad(|c| c.channel_timeout = 0),
            Err(ConfigError::Zero("channel_timeout"))
        );
    }

    #[test]
    fn devnet_addresses_match_the_deploy_script() {
        let deployer = address!("f39Fd6e51aad88F6F4ce6aB8827279cffFb92266");
        let config = RollupConfig::default();
        assert_eq!(deployer.create(1), config.system_config_address);
        assert_eq!(deployer.create(5), config.portal_address);
    }

    #[test]
    fn l2_time_follows_the_schedule() {
        let mut config = RollupConfig {
            block_time_ms: 250,
            ..RollupConfig::default()
        };
        config.genesis.l2 = BlockId {
            number: 10,
            hash: B256::ZERO,
        };
        config.genesis.l2_timestamp = 1_000;
        assert_eq!(config.l2_timestamp_ms(10), Some(1_000_000));
        assert_eq!(config.l2_timestamp_ms(14), Some(1_001_000));
        assert_eq!(config.l2_timestamp_ms(9), None);
        assert_eq!(config.l2_timestamp_ms(u64::MAX), None);
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
