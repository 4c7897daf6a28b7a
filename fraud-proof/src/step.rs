//! The `witness` argument of `EvmStepVerifier.verifyTransaction` (contracts/DISPUTE.md,
//! "EvmStepVerifier as built"): `abi.encode(bytes[] nodes, bytes[] codes, address[] accounts,
//! address[] slotOwners, uint256[] slotKeys)`.
//!
//! The account and slot lists are the transaction's reads: every account and slot revm loads,
//! plus, for a signed transaction, the `L1Block` slots its L1 data fee is computed from
//! ([`L1_FEE_SLOTS`]). The verifier proves each through `WorldState` against the pre-state root;
//! `nodes` must therefore come from a [`StateWitnessBuilder`](crate::StateWitnessBuilder) given the
//! same reads.

use alloy_primitives::{Address, Bytes, U256};
use parallax_protocol::predeploys::L1_BLOCK;

/// `L1Block` slots the verifier reads for a signed transaction: L1 base fee (1), L1 blob base fee
/// (2) and the fee scalars (5).
pub const L1_FEE_SLOTS: [(Address, U256); 3] = [
    (L1_BLOCK, U256::from_limbs([1, 0, 0, 0])),
    (L1_BLOCK, U256::from_limbs([2, 0, 0, 0])),
    (L1_BLOCK, U256::from_limbs([5, 0, 0, 0])),
];

/// Everything `EvmStepVerifier` needs besides the transaction itself.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct StepWitness {
    /// Pre-state trie nodes ([`StateWitness::nodes`](crate::StateWitness)).
    pub nodes: Vec<Bytes>,
    /// Bytecode of every account whose code runs or is read.
    pub codes: Vec<Bytes>,
    /// Accounts the transaction reads.
    pub accounts: Vec<Address>,
    /// Slots the transaction reads, with their owners.
    pub slots: Vec<(Address, U256)>,
}

impl StepWitness {
    /// The ABI encoding the verifier decodes.
    pub fn encode(&self) -> Bytes {
        let heads = [
            encode_bytes_array(&self.nodes),
            encode_bytes_array(&self.codes),
            encode_words(self.accounts.iter().map(|a| address_word(*a))),
            encode_words(self.slots.iter().map(|(a, _)| address_word(*a))),
            encode_words(self.slots.iter().map(|(_, slot)| slot.to_be_bytes::<32>())),
        ];
        let mut out = Vec::new();
        let mut offset = 32 * heads.len();
        for tail in &heads {
            out.extend_from_slice(&word(offset));
            offset += tail.len();
        }
        for tail in heads {
            out.extend_from_slice(&tail);
        }
        out.into()
    }
}

fn word(value: usize) -> [u8; 32] {
    U256::from(value).to_be_bytes::<32>()
}

fn address_word(address: Address) -> [u8; 32] {
    let mut out = [0u8; 32];
    out[12..].copy_from_slice(address.as_slice());
    out
}

/// A dynamic array of static 32-byte words: length, then the words.
fn encode_words(words: impl ExactSizeIterator<Item = [u8; 32]>) -> Vec<u8> {
    let mut out = word(words.len()).to_vec();
    for w in words {
        out.extend_from_slice(&w);
    }
    out
}

/// A dynamic array of `bytes`: length, one offset per element (from the end of the length word),
/// then each element as length + right-padded data.
fn encode_bytes_array(items: &[Bytes]) -> Vec<u8> {
    let mut out = word(items.len()).to_vec();
    let mut tails = Vec::new();
    for item in items {
        out.extend_from_slice(&word(32 * items.len() + tails.len()));
        tails.extend_from_slice(&word(item.len()));
        tails.extend_from_slice(item);
        tails.resize(tails.len().next_multiple_of(32), 0);
    }
    out.extend_from_slice(&tails);
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloy::sol_types::SolValue;

    #[test]
    fn encoding_matches_solidity_abi() {
        let witness = StepWitness {
            nodes: vec![
                Bytes::from_static(&[1, 2, 3]),
                Bytes::new(),
                Bytes::from(vec![7u8; 40]),
            ],
            codes: vec![Bytes::from(vec![0x60u8; 33])],
            accounts: vec![Address::repeat_byte(1), Address::repeat_byte(2)],
            slots: vec![(Address::repeat_byte(3), U256::from(9)), L1_FEE_SLOTS[2]],
        };
        let owners: Vec<Address> = witness.slots.iter().map(|(a, _)| *a).collect();
        let keys: Vec<U256> = witness.slots.iter().map(|(_, k)| *k).collect();
        let expected = (
            witness.nodes.clone(),
            witness.codes.clone(),
            witness.accounts.clone(),
            owners,
            keys,
        )
            .abi_encode_params();
        assert_eq!(witness.encode().to_vec(), expected);
        assert_eq!(StepWitness::default().encode().len(), 5 * 64);
    }
}
