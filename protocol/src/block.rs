//! Block references shared by derivation and the services around it.

use alloy_primitives::B256;
use serde::{Deserialize, Serialize};

/// A block by number and hash: enough to name one block on one fork.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BlockId {
    /// Block number.
    pub number: u64,
    /// Block hash.
    pub hash: B256,
}

/// What derivation needs from an L1 header: identity, parent link (reorg detection), the time
/// (origin rules) and the fees the L1-info deposit publishes to L2.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub struct L1BlockInfo {
    /// Block number.
    pub number: u64,
    /// Block hash.
    pub hash: B256,
    /// Parent hash.
    pub parent_hash: B256,
    /// Timestamp in seconds.
    pub timestamp: u64,
    /// EIP-1559 base fee (wei).
    pub base_fee: u128,
    /// EIP-4844 blob base fee (wei); the minimum (1) before Cancun.
    pub blob_base_fee: u128,
}

impl L1BlockInfo {
    /// Number and hash.
    pub fn id(&self) -> BlockId {
        BlockId {
            number: self.number,
            hash: self.hash,
        }
    }
}

/// An executed L2 block as derivation needs to know it to derive the next one. The node fills
/// it from the block it executed (`hash`) and the attributes it executed (origin, sequence
/// number): derivation itself never executes.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub struct L2BlockInfo {
    /// Block number.
    pub number: u64,
    /// Block hash (the parent hash the next batch must name).
    pub hash: B256,
    /// L1 origin (epoch) of the block.
    pub l1_origin: BlockId,
    /// Position of the block within its epoch: 0 for the first L2 block of an L1 origin.
    pub sequence_number: u64,
}

impl L2BlockInfo {
    /// Number and hash.
    pub fn id(&self) -> BlockId {
        BlockId {
            number: self.number,
            hash: self.hash,
        }
    }
}
