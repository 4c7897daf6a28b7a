//! Precompiles 0x01–0x0a as `EvmPrecompiles.run` prices and runs them: the L2 (Cancun) gas is
//! computed here exactly like the Solidity side; the computation itself — which the Solidity
//! side delegates to the same precompile on L1 — uses revm's Cancun implementations.

use alloy_primitives::{Address, Bytes, U256};
use parallax_executor::revm::precompile::{PrecompileSpecId, PrecompileStatus, Precompiles};

use super::{word_at, words, StepModelError};

/// Whether `address` is one of the Cancun precompiles 0x01–0x0a.
pub fn is_precompile(address: Address) -> bool {
    let value = U256::from_be_slice(address.as_slice());
    value >= U256::from(1) && value <= U256::from(10)
}

/// What running a precompile gave: `None` for an exceptional halt (all the gas it was given
/// is consumed), else the gas used and the output.
pub type PrecompileRun = Option<(u64, Bytes)>;

/// Runs precompile `address` on `input` with `gas` L2 gas.
pub fn run(address: Address, input: &[u8], gas: u64) -> Result<PrecompileRun, StepModelError> {
    let id = address.as_slice()[19];
    let w = words(U256::from(input.len()));
    let cost: U256 = match id {
        1 => U256::from(3000),
        2 => U256::from(60) + U256::from(12) * w,
        3 => U256::from(600) + U256::from(120) * w,
        4 => U256::from(15) + U256::from(3) * w,
        5 => modexp_gas(input),
        6 => U256::from(150),
        7 => U256::from(6000),
        8 => U256::from(45_000) + U256::from(34_000) * U256::from(input.len() / 192),
        9 if input.len() == 213 => {
            U256::from(u32::from_be_bytes([input[0], input[1], input[2], input[3]]))
        }
        9 => U256::MAX,
        _ => U256::from(50_000),
    };
    if cost > U256::from(gas) {
        return Ok(None);
    }
    // `cost <= gas < 2^64` here.
    let cost = cost.saturating_to::<u64>();
    if id == 4 {
        return Ok(Some((cost, Bytes::copy_from_slice(input))));
    }
    if id == 5 {
        let limit = U256::from(1024);
        let base_len = U256::from_be_bytes(word_at(input, U256::ZERO));
        let exp_len = U256::from_be_bytes(word_at(input, U256::from(32)));
        let mod_len = U256::from_be_bytes(word_at(input, U256::from(64)));
        if base_len.is_zero() && mod_len.is_zero() {
            // Empty result whatever the exponent (even one longer than EIP-7823 allows).
            return Ok(Some((cost, Bytes::new())));
        }
        if base_len > limit || mod_len > limit || exp_len > limit {
            // L1 may run Osaka (EIP-7823 caps modexp lengths): the verifier cannot prove these.
            return Err(StepModelError::Unsupported(5));
        }
    }
    let precompile = Precompiles::new(PrecompileSpecId::CANCUN)
        .get(&address)
        .ok_or(StepModelError::Unsupported(id))?;
    match precompile.execute(input, u64::MAX, 0) {
        Ok(output) if output.status == PrecompileStatus::Success => Ok(Some((cost, output.bytes))),
        _ => Ok(None),
    }
}

/// EIP-2565 modexp gas, as `EvmPrecompiles._modexpGas` computes it.
fn modexp_gas(input: &[u8]) -> U256 {
    let bl = U256::from_be_bytes(word_at(input, U256::ZERO));
    let el = U256::from_be_bytes(word_at(input, U256::from(32)));
    let ml = U256::from_be_bytes(word_at(input, U256::from(64)));
    if bl > U256::from(1u64 << 32) || ml > U256::from(1u64 << 32) {
        return U256::MAX;
    }
    if bl.is_zero() && ml.is_zero() {
        // Zero multiplication complexity: the minimum price, however long the exponent.
        return U256::from(200);
    }
    if el > U256::from(1u128 << 64) {
        return U256::MAX;
    }
    let head_len = el.min(U256::from(32)).saturating_to::<usize>();
    let mut head = U256::ZERO;
    if head_len != 0 {
        head = U256::from_be_bytes(word_at(input, U256::from(96) + bl)) >> (8 * (32 - head_len));
    }
    let max_len = bl.max(ml);
    let w = (max_len + U256::from(7)) / U256::from(8);
    let bits = U256::from(head.bit_len());
    let mut iter = if el <= U256::from(32) {
        if head.is_zero() {
            U256::ZERO
        } else {
            bits - U256::from(1)
        }
    } else {
        U256::from(8) * (el - U256::from(32))
            + if bits.is_zero() {
                U256::ZERO
            } else {
                bits - U256::from(1)
            }
    };
    if iter.is_zero() {
        iter = U256::from(1);
    }
    let gas = w * w * iter / U256::from(3);
    gas.max(U256::from(200))
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// revm's Cancun modexp on `input` with `gas`: `None` for a halt, else gas used and output.
    fn revm_modexp(input: &[u8], gas: u64) -> PrecompileRun {
        let precompile = Precompiles::new(PrecompileSpecId::CANCUN)
            .get(&Address::with_last_byte(5))
            .expect("modexp is a Cancun precompile");
        match precompile.execute(input, gas, 0) {
            Ok(output) if output.status == PrecompileStatus::Success => {
                Some((output.gas_used, output.bytes))
            }
            _ => None,
        }
    }

    fn header(base_len: U256, exp_len: U256, mod_len: U256) -> Vec<u8> {
        [base_len, exp_len, mod_len]
            .iter()
            .flat_map(|w| w.to_be_bytes::<32>())
            .collect()
    }

    #[test]
    fn modexp_with_empty_base_and_modulus_costs_the_minimum_whatever_the_exponent() {
        for exp_len in [
            U256::ZERO,
            U256::from(1u64 << 40),
            U256::from(1) << 255,
            U256::MAX,
        ] {
            let input = header(U256::ZERO, exp_len, U256::ZERO);
            let model = run(Address::with_last_byte(5), &input, 100_000).expect("supported");
            assert_eq!(model, Some((200, Bytes::new())), "exp_len {exp_len}");
            assert_eq!(model, revm_modexp(&input, 100_000), "exp_len {exp_len}");
        }
    }

    proptest! {
        /// Gas and output equal revm's for small operands and any length words, including
        /// lengths far beyond the input and beyond EIP-7823's cap (which the model refuses).
        #[test]
        fn modexp_agrees_with_revm(
            lens in proptest::array::uniform3(prop_oneof![
                0u64..70, Just(1u64 << 33), Just(u64::MAX)
            ]),
            body in proptest::collection::vec(any::<u8>(), 0..200),
            gas in prop_oneof![Just(199u64), Just(200u64), 0u64..5_000_000],
        ) {
            let mut input = header(U256::from(lens[0]), U256::from(lens[1]), U256::from(lens[2]));
            input.extend_from_slice(&body);
            match run(Address::with_last_byte(5), &input, gas) {
                Ok(model) => prop_assert_eq!(model, revm_modexp(&input, gas)),
                Err(StepModelError::Unsupported(5)) => {}
                Err(other) => prop_assert!(false, "unexpected error {other}"),
            }
        }
    }
}
