//! The L1 `SystemConfig` values derivation follows, rebuilt from the contract's events.
//!
//! `SystemConfig` emits one event per value at initialization and on every change, so replaying
//! its logs in (block, log index) order gives the values in force at any L1 block without state
//! access. Derivation applies the events of L1 block `n` before reading `n`'s batcher
//! transactions, and the values in force at an L2 block's L1 origin govern that block (gas
//! limit, EIP-1559 parameters, L1 fee scalars, batcher hash in the L1-info deposit).
//!
//! Events read (others, e.g. ownership or proposer changes, do not affect derivation):
//! - `BatcherUpdated(address indexed batcher)`
//! - `GasLimitUpdated(uint64 gasLimit)`
//! - `Eip1559ParamsUpdated(uint32 elasticity, uint32 denominator)`
//! - `L1FeeScalarsUpdated(uint32 baseFeeScalar, uint32 blobBaseFeeScalar)`

use alloy_primitives::{b256, Address, Log, B256, U256};
use serde::{Deserialize, Serialize};

use crate::config::{Eip1559Params, RollupConfig};

/// `keccak256("BatcherUpdated(address)")`.
pub const BATCHER_UPDATED_TOPIC: B256 =
    b256!("9573c4b392bf35726d0e40d888ff69844bac79c257393c921aad7b852f95176c");
/// `keccak256("GasLimitUpdated(uint64)")`.
pub const GAS_LIMIT_UPDATED_TOPIC: B256 =
    b256!("3e66595cf36c5cc8ad0c1f4bf0323388d84d26b4c6459e33965ea74587d4415f");
/// `keccak256("Eip1559ParamsUpdated(uint32,uint32)")`.
pub const EIP1559_PARAMS_UPDATED_TOPIC: B256 =
    b256!("db5c79823e5b74b6362d4c85b08b061e55a91c8024e46ccb2c8c057325b518d6");
/// `keccak256("L1FeeScalarsUpdated(uint32,uint32)")`.
pub const L1_FEE_SCALARS_UPDATED_TOPIC: B256 =
    b256!("a6959ac49b2c244ff001c91c58975faa999147ced99ceaf412a0e046be80b2d1");

/// Scalars of the L1 data fee (their formula is the executor's; derivation only carries them).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", deny_unknown_fields)]
pub struct L1FeeScalars {
    /// Weight of the L1 base fee.
    pub base_fee_scalar: u32,
    /// Weight of the L1 blob base fee.
    pub blob_base_fee_scalar: u32,
}

impl Default for L1FeeScalars {
    fn default() -> Self {
        // contracts/deploy/devnet.json (OP Stack's Ecotone defaults).
        Self {
            base_fee_scalar: 1368,
            blob_base_fee_scalar: 810_949,
        }
    }
}

/// The `SystemConfig` values in force at one L1 block.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct SystemConfigState {
    /// The only sender whose batch-inbox transactions count.
    pub batcher: Address,
    /// L2 block gas limit.
    pub gas_limit: u64,
    /// L2 EIP-1559 parameters.
    pub eip1559: Eip1559Params,
    /// L1 data fee scalars.
    pub l1_fee_scalars: L1FeeScalars,
    /// Floor of the L2 base fee: the rollup config's, which no event changes. It travels with
    /// the other base-fee rules so a block's L1-info deposit carries all of them.
    pub min_base_fee: u64,
}

/// A `SystemConfig` event with one of the topics above but a malformed body: the contract
/// cannot emit it, so the L1 source is broken.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
pub enum SystemConfigError {
    /// Wrong number of topics or data length for the event.
    #[error("malformed {0} event")]
    Malformed(&'static str),
    /// A value wider than its Solidity type.
    #[error("{0} event value out of range")]
    OutOfRange(&'static str),
}

impl SystemConfigState {
    /// The values the rollup config starts from, before any event.
    pub fn from_rollup_config(config: &RollupConfig) -> Self {
        Self {
            batcher: config.batcher_address,
            gas_limit: config.gas_limit,
            eip1559: config.eip1559,
            l1_fee_scalars: config.l1_fee_scalars,
            min_base_fee: config.min_base_fee,
        }
    }

    /// Applies one log emitted by the `SystemConfig` contract; logs of other events are ignored.
    /// Returns whether the log was one of the events derivation follows.
    pub fn apply(&mut self, log: &Log) -> Result<bool, SystemConfigError> {
        let topics = log.data.topics();
        let data = &log.data.data;
        let Some(&topic0) = topics.first() else {
            return Ok(false);
        };
        let words = |name: &'static str, count: usize| -> Result<Vec<U256>, SystemConfigError> {
            if topics.len() != 1 || data.len() != 32 * count {
                return Err(SystemConfigError::Malformed(name));
            }
            Ok(data.chunks_exact(32).map(U256::from_be_slice).collect())
        };
        let narrow =
            |name: &'static str, value: U256, bits: usize| -> Result<u64, SystemConfigError> {
                if value.bit_len() > bits {
                    return Err(SystemConfigError::OutOfRange(name));
                }
                Ok(value.to::<u64>())
            };
        if topic0 == BATCHER_UPDATED_TOPIC {
            let [_, batcher] = topics else {
                return Err(SystemConfigError::Malformed("BatcherUpdated"));
            };
            if !data.is_empty() || batcher[..12].iter().any(|&b| b != 0) {
                return Err(SystemConfigError::Malformed("BatcherUpdated"));
            }
            self.batcher = Address::from_slice(&batcher[12..]);
        } else if topic0 == GAS_LIMIT_UPDATED_TOPIC {
            let words = words("GasLimitUpdated", 1)?;
            self.gas_limit = narrow("GasLimitUpdated", words[0], 64)?;
        } else if topic0 == EIP1559_PARAMS_UPDATED_TOPIC {
            let words = words("Eip1559ParamsUpdated", 2)?;
            self.eip1559 = Eip1559Params {
                elasticity: narrow("Eip1559ParamsUpdated", words[0], 32)?,
                denominator: narrow("Eip1559ParamsUpdated", words[1], 32)?,
            };
        } else if topic0 == L1_FEE_SCALARS_UPDATED_TOPIC {
            let words = words("L1FeeScalarsUpdated", 2)?;
            let scalar = |w: U256| -> Result<u32, SystemConfigError> {
                u32::try_from(narrow("L1FeeScalarsUpdated", w, 32)?)
                    .map_err(|_| SystemConfigError::OutOfRange("L1FeeScalarsUpdated"))
            };
            self.l1_fee_scalars = L1FeeScalars {
                base_fee_scalar: scalar(words[0])?,
                blob_base_fee_scalar: scalar(words[1])?,
            };
        } else {
            return Ok(false);
        }
        Ok(true)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloy_primitives::{keccak256, LogData};

    fn log(topics: Vec<B256>, data: Vec<u8>) -> Log {
        Log {
            address: Address::ZERO,
            data: LogData::new_unchecked(topics, data.into()),
        }
    }

    fn word(value: u64) -> Vec<u8> {
        U256::from(value).to_be_bytes::<32>().to_vec()
    }

    #[test]
    fn topics_are_the_event_signatures() {
        assert_eq!(keccak256("BatcherUpdated(address)"), BATCHER_UPDATED_TOPIC);
        assert_eq!(
            keccak256("GasLimitUpdated(uint64)"),
            GAS_LIMIT_UPDATED_TOPIC
        );
        assert_eq!(
            keccak256("Eip1559ParamsUpdated(uint32,uint32)"),
            EIP1559_PARAMS_UPDATED_TOPIC
        );
        assert_eq!(
            keccak256("L1FeeScalarsUpdated(uint32,uint32)"),
            L1_FEE_SCALARS_UPDATED_TOPIC
        );
    }

    #[test]
    fn applies_each_event() {
        let mut state = SystemConfigState::from_rollup_config(&RollupConfig::default());
        let batcher = Address::repeat_byte(0x42);
        assert_eq!(
            state.apply(&log(
                vec![BATCHER_UPDATED_TOPIC, batcher.into_word()],
                vec![]
            )),
            Ok(true)
        );
        assert_eq!(state.batcher, batcher);
        assert_eq!(
            state.apply(&log(vec![GAS_LIMIT_UPDATED_TOPIC], word(60_000_000))),
            Ok(true)
        );
        assert_eq!(state.gas_limit, 60_000_000);
        let mut two = word(4);
        two.extend(word(100));
        assert_eq!(
            state.apply(&log(vec![EIP1559_PARAMS_UPDATED_TOPIC], two.clone())),
            Ok(true)
        );
        assert_eq!(
            state.eip1559,
            Eip1559Params {
                elasticity: 4,
                denominator: 100
            }
        );
        assert_eq!(
            state.apply(&log(vec![L1_FEE_SCALARS_UPDATED_TOPIC], two)),
            Ok(true)
        );
        assert_eq!(state.l1_fee_scalars.blob_base_fee_scalar, 100);
        // Other events change nothing.
        let before = state;
        assert_eq!(state.apply(&log(vec![B256::ZERO], vec![1])), Ok(false));
        assert_eq!(state.apply(&log(vec![], vec![])), Ok(false));
        assert_eq!(state, before);
    }

    #[test]
    fn rejects_malformed_events() {
        let mut state = SystemConfigState::from_rollup_config(&RollupConfig::default());
        let before = state;
        for bad in [
            log(vec![BATCHER_UPDATED_TOPIC], vec![]),
            log(vec![BATCHER_UPDATED_TOPIC, B256::repeat_byte(1)], vec![]),
            log(vec![GAS_LIMIT_UPDATED_TOPIC], vec![1; 31]),
            log(vec![GAS_LIMIT_UPDATED_TOPIC], vec![1; 32]),
            log(vec![EIP1559_PARAMS_UPDATED_TOPIC], word(1)),
            log(vec![L1_FEE_SCALARS_UPDATED_TOPIC, B256::ZERO], vec![0; 64]),
        ] {
            assert!(state.apply(&bad).is_err(), "{bad:?}");
        }
        assert_eq!(state, before);
    }
}
