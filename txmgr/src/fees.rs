//! L1 prices as the tx manager reads them.

/// Current L1 prices, in wei.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct L1Fees {
    /// Base fee per gas of the latest block.
    pub base_fee: u128,
    /// Priority fee per gas the node suggests.
    pub priority_fee: u128,
    /// Blob base fee per blob gas for the next block.
    pub blob_base_fee: u128,
}

impl L1Fees {
    /// What one gas of execution costs now: base fee plus tip.
    pub fn gas_price(&self) -> u128 {
        self.base_fee.saturating_add(self.priority_fee)
    }
}
