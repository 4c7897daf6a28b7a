//! The L2 base fee rule: EIP-1559 with the rollup's own elasticity and change denominator.

use crate::config::Eip1559Params;

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
