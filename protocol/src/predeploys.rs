//! Fixed L2 addresses: predeployed contracts and the system depositor.
//!
//! They sit in the `0x4200…` range (as on the OP Stack, so tooling that knows those addresses finds
//! the same roles here) and are part of consensus: genesis places code at them, derivation targets
//! [`L1_BLOCK`] with the L1-info deposit, and the executor credits fees to the vaults. Changing one
//! is a hard fork.

use alloy_primitives::{address, Address};

/// `L1Block`: stores the L1 origin (number, timestamp, hash, base fee, blob base fee, sequence
/// number, batcher hash) written by the L1-info deposit at the start of every L2 block, so L2
/// contracts and the L1 data fee can read them.
pub const L1_BLOCK: Address = address!("4200000000000000000000000000000000000015");

/// `L2ToL1MessagePasser`: records withdrawals (`sentMessages[hash] = true`, mapping at slot 0);
/// its storage root is part of the output root.
pub const L2_TO_L1_MESSAGE_PASSER: Address = address!("4200000000000000000000000000000000000016");

/// Sequencer fee vault: the block's coinbase (fee recipient) of every derived L2 block, so
/// priority fees land at an address every replica agrees on.
pub const SEQUENCER_FEE_VAULT: Address = address!("4200000000000000000000000000000000000011");

/// Base fee vault: receives the L2 base fee (burned on Ethereum, kept on Parallax).
pub const BASE_FEE_VAULT: Address = address!("4200000000000000000000000000000000000019");

/// L1 fee vault: receives the L1 data fee each transaction pays for its share of the batch.
pub const L1_FEE_VAULT: Address = address!("420000000000000000000000000000000000001a");

/// Sender of the L1-info deposit. No key exists for it; only derivation creates its deposits, and
/// `L1Block` accepts writes from it alone.
pub const L1_INFO_DEPOSITOR: Address = address!("deaddeaddeaddeaddeaddeaddeaddeaddead0001");
