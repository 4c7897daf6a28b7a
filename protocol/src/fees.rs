//! Fee rules every node must apply identically: the L2 base fee (EIP-1559 with the rollup's own
//! elasticity and change denominator) and the L1 data fee each signed transaction pays for its
//! share of the batch posted to L1.

use alloy_primitives::U256;

use crate::config::Eip1559Params;
use crate::system_config::L1FeeScalars;

/// Divisor of the L1 data fee: 16 (the calldata gas per non-zero byte the weights are scaled
/// by) times 10^6 (the scalars carry six decimals).
const L1_FEE_DIVISOR: u64 = 16 * 1_000_000;

/// The L1 calldata gas of a signed transaction with EIP-2718 encoding `raw`: 4 per zero byte,
/// 16 per other byte. The gas the L1 data fee is priced on, and what receipts report as
/// `l1GasUsed` (as the OP Stack's Ecotone receipts do).
pub fn l1_calldata_gas(raw: &[u8]) -> u64 {
    let zeros = raw.iter().filter(|byte| **byte == 0).count() as u64;
    zeros * 4 + (raw.len() as u64 - zeros) * 16
}

/// The L1 data fee of a signed transaction with EIP-2718 encoding `raw`, charged at an L1 origin
/// with `l1_base_fee` and `l1_blob_base_fee`.
///
/// The OP Stack's Ecotone formula, so operators can reuse its scalar tuning: the transaction's
/// calldata gas on L1 (`4` per zero byte, `16` per other byte) times a weighted price
/// `16 · base_fee_scalar · l1_base_fee + blob_base_fee_scalar · l1_blob_base_fee`, divided by
/// `16 · 10^6`. It uses the uncompressed size: a per-transaction estimate of the compressed
/// size would depend on its neighbours, and every node must compute the same fee from the
/// transaction alone. U256 throughout, so no fee level overflows.
pub fn l1_data_fee(
    raw: &[u8],
    l1_base_fee: U256,
    l1_blob_base_fee: U256,
    scalars: L1FeeScalars,
) -> U256 {
    let calldata_gas = U256::from(l1_calldata_gas(raw));
    let weighted = U256::from(16u64 * u64::from(scalars.base_fee_scalar))
        .saturating_mul(l1_base_fee)
        .saturating_add(U256::from(scalars.blob_base_fee_scalar).saturating_mul(l1_blob_base_fee));
    calldata_gas.saturating_mul(weighted) / U256::from(L1_FEE_DIVISOR)
}

/// Base fee of the block after a parent that used `parent_gas_used` of `parent_gas_limit` at
/// `parent_base_fee`, under `params`. Integer arithmetic exactly as EIP-1559 specifies, in
/// u128 so no configuration can overflow it; the result saturates at `u64::MAX`.
///
/// Blocks at the gas target keep the base fee; fuller blocks raise it by at least 1 wei (so it
/// can climb from any value); emptier blocks lower it, never below zero.
pub fn next_base_fee(
    parent_gas_used: u64,
    parent_gas_limit: u64,
    parent_base_fee: u64,
    params: Eip1559Params,
) -> u64 {
    let elasticity = u128::from(params.elasticity.max(1));
    let denominator = u128::from(params.denominator.max(1));
    let target = u128::from(parent_gas_limit) / elasticity;
    let used = u128::from(parent_gas_used);
    let base_fee = u128::from(parent_base_fee);
    if target == 0 || used == target {
        return parent_base_fee;
    }
    let next = if used > target {
        let delta = (base_fee * (used - target) / target / denominator).max(1);
        base_fee + delta
    } else {
        let delta = base_fee * (target - used) / target / denominator;
        base_fee.saturating_sub(delta)
    };
    u64::try_from(next).unwrap_or(u64::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloy_eips::eip1559::{calc_next_block_base_fee, BaseFeeParams};
    use proptest::prelude::*;

    proptest! {
        /// Agrees with alloy's implementation (the reference reth and op-reth use) for every
        /// parameter choice the rollup config allows.
        #[test]
        fn matches_alloy(
            gas_limit in 1_000_000u64..100_000_000,
            used_fraction in 0u64..=1000,
            base_fee in 0u64..1_000_000_000_000,
            elasticity in 2u64..=6,
            denominator in 50u64..=250,
        ) {
            let gas_used = gas_limit / 1000 * used_fraction;
            let params = Eip1559Params { elasticity, denominator };
            let expected = calc_next_block_base_fee(
                gas_used,
                gas_limit,
                base_fee,
                BaseFeeParams::new(u128::from(denominator), u128::from(elasticity)),
            );
            prop_assert_eq!(next_base_fee(gas_used, gas_limit, base_fee, params), expected);
        }
    }

    #[test]
    fn l1_data_fee_follows_the_ecotone_formula() {
        let scalars = L1FeeScalars {
            base_fee_scalar: 1368,
            blob_base_fee_scalar: 810_949,
        };
        // 100 bytes, 20 of them zero: 20·4 + 80·16 = 1360 gas. At 10 gwei base fee and
        // 1 wei blob base fee: 1360 · (16·1368·10^10 + 810949) / (16·10^6).
        let mut raw = vec![1u8; 100];
        raw[..20].fill(0);
        let base = U256::from(10_000_000_000u64);
        let expected = U256::from(1360u64)
            * (U256::from(16u64 * 1368) * base + U256::from(810_949u64))
            / U256::from(16_000_000u64);
        assert_eq!(l1_data_fee(&raw, base, U256::from(1u64), scalars), expected);
        // Free L1, or no data: no fee.
        assert_eq!(
            l1_data_fee(&raw, U256::ZERO, U256::ZERO, scalars),
            U256::ZERO
        );
        assert_eq!(l1_data_fee(&[], base, base, scalars), U256::ZERO);
        // Absurd fee levels saturate instead of overflowing.
        assert!(l1_data_fee(&raw, U256::MAX, U256::MAX, scalars) > U256::ZERO);
    }

    #[test]
    fn ethereum_examples() {
        let mainnet = Eip1559Params {
            elasticity: 2,
            denominator: 8,
        };
        // Full block: +12.5%; empty block: -12.5%; at target: unchanged.
        assert_eq!(
            next_base_fee(30_000_000, 30_000_000, 1_000_000_000, mainnet),
            1_125_000_000
        );
        assert_eq!(
            next_base_fee(0, 30_000_000, 1_000_000_000, mainnet),
            875_000_000
        );
        assert_eq!(
            next_base_fee(15_000_000, 30_000_000, 1_000_000_000, mainnet),
            1_000_000_000
        );
        // A full block always raises the fee, even from 0 or 1 wei.
        assert_eq!(next_base_fee(30_000_000, 30_000_000, 0, mainnet), 1);
    }
}
