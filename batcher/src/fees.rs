//! L1 prices and what a payload costs as calldata or as blobs: the numbers the tx manager prices
//! transactions with and the `auto` DA mode decides on.

use alloy::eips::eip4844::DATA_GAS_PER_BLOB;
use parallax_protocol::{
    blob::MAX_BLOB_DATA_LEN,
    frame::{FRAME_OVERHEAD, MAX_CALLDATA_PAYLOAD},
};
pub use parallax_txmgr::L1Fees;

/// Gas of a plain transaction before its data.
pub const TX_BASE_GAS: u128 = 21_000;

/// Most blobs one transaction carries (Cancun's per-block maximum, design §5).
pub const MAX_BLOBS_PER_TX: usize = 6;

/// How calldata is charged: 16 gas per non-zero byte on Cancun. Compressed channel data is close
/// to uniformly random (1 byte in 256 is zero), so every byte is counted as non-zero. On Prague
/// (EIP-7623) data-heavy transactions pay the 40-gas floor per byte instead: configure that there.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct CostModel {
    /// Gas per calldata byte.
    pub calldata_gas_per_byte: u128,
}

impl Default for CostModel {
    fn default() -> Self {
        Self {
            calldata_gas_per_byte: 16,
        }
    }
}

/// Frame data one inbox payload of `max_payload` bytes carries (`0x00 ‖ frame` overhead off).
fn frame_data_per_payload(max_payload: usize) -> usize {
    max_payload.saturating_sub(1 + FRAME_OVERHEAD).max(1)
}

impl CostModel {
    /// Wei to post `bytes` of channel data as calldata: one transaction per 120 KB payload.
    pub fn calldata_cost(&self, fees: &L1Fees, bytes: usize) -> u128 {
        let txs = bytes
            .div_ceil(frame_data_per_payload(MAX_CALLDATA_PAYLOAD))
            .max(1) as u128;
        let payload = bytes as u128 + txs * (1 + FRAME_OVERHEAD as u128);
        let gas = txs * TX_BASE_GAS + payload * self.calldata_gas_per_byte;
        gas.saturating_mul(fees.gas_price())
    }

    /// Wei to post `bytes` of channel data in blobs: whole blobs (a blob costs the same full or
    /// not), up to six per transaction, each transaction paying its base gas.
    pub fn blob_cost(&self, fees: &L1Fees, bytes: usize) -> u128 {
        let blobs = bytes
            .div_ceil(frame_data_per_payload(MAX_BLOB_DATA_LEN))
            .max(1) as u128;
        let txs = blobs.div_ceil(MAX_BLOBS_PER_TX as u128);
        let blob_gas = blobs * u128::from(DATA_GAS_PER_BLOB);
        blob_gas
            .saturating_mul(fees.blob_base_fee.max(1))
            .saturating_add((txs * TX_BASE_GAS).saturating_mul(fees.gas_price()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn costs_follow_the_fee_schedule() {
        let model = CostModel::default();
        let fees = L1Fees {
            base_fee: 10,
            priority_fee: 1,
            blob_base_fee: 3,
        };
        // 1,000 bytes: one tx, payload 1,024 bytes.
        assert_eq!(
            model.calldata_cost(&fees, 1_000),
            (21_000 + 1_024 * 16) * 11
        );
        // One blob, one tx.
        assert_eq!(model.blob_cost(&fees, 1_000), 131_072 * 3 + 21_000 * 11);
        // 7 blobs need two transactions.
        let seven_blobs = 6 * (MAX_BLOB_DATA_LEN - 24) + 1;
        assert_eq!(
            model.blob_cost(&fees, seven_blobs),
            7 * 131_072 * 3 + 2 * 21_000 * 11
        );
        // 200 KB of calldata is two transactions.
        let two = model.calldata_cost(&fees, 200_000);
        assert_eq!(two, (2 * 21_000 + (200_000 + 48) * 16) * 11);
    }
}
