//! Output roots: the commitment the proposer posts to L1 and the challenger disputes.

use alloy_primitives::{keccak256, B256};

/// Version tag of the only output-root layout so far.
pub const OUTPUT_VERSION_V0: B256 = B256::ZERO;

/// The three commitments an output root binds together for one L2 block.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct OutputRootInput {
    /// State root after the block.
    pub state_root: B256,
    /// Storage root of the `L2ToL1MessagePasser` predeploy: withdrawals are proven against it.
    pub message_passer_storage_root: B256,
    /// Hash of the L2 block.
    pub block_hash: B256,
}

/// `keccak256(version ‖ state_root ‖ message_passer_storage_root ‖ block_hash)` (design §2).
pub fn output_root(input: &OutputRootInput) -> B256 {
    let mut preimage = [0u8; 128];
    preimage[..32].copy_from_slice(OUTPUT_VERSION_V0.as_slice());
    preimage[32..64].copy_from_slice(input.state_root.as_slice());
    preimage[64..96].copy_from_slice(input.message_passer_storage_root.as_slice());
    preimage[96..].copy_from_slice(input.block_hash.as_slice());
    keccak256(preimage)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn output_root_is_keccak_of_the_concatenation() {
        let input = OutputRootInput {
            state_root: B256::repeat_byte(0x11),
            message_passer_storage_root: B256::repeat_byte(0x22),
            block_hash: B256::repeat_byte(0x33),
        };
        let mut concatenated = Vec::new();
        concatenated.extend_from_slice(&[0u8; 32]);
        concatenated.extend_from_slice(&[0x11; 32]);
        concatenated.extend_from_slice(&[0x22; 32]);
        concatenated.extend_from_slice(&[0x33; 32]);
        assert_eq!(output_root(&input), keccak256(&concatenated));
    }
}
