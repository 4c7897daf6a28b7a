// SPDX-License-Identifier: MIT OR Apache-2.0
pragma solidity 0.8.30;

/// @notice Deployed on anvil by tools/gen-fixtures.js to obtain real storage proofs: it fills
///         slots 0..count-1 with values whose byte lengths vary (short and 32-byte values) and a
///         mapping at slot 100, so the storage trie has branches, extensions and leaves.
contract StorageFixture {
    function fill(uint256 count) external {
        for (uint256 i; i < count; ++i) {
            uint256 v = i % 3 == 0 ? i + 1 : uint256(keccak256(abi.encode(i)));
            assembly {
                sstore(i, v)
            }
        }
    }

    function setSlots(bytes32[] calldata slots, uint256[] calldata values) external {
        for (uint256 i; i < slots.length; ++i) {
            bytes32 slot = slots[i];
            uint256 v = values[i];
            assembly {
                sstore(slot, v)
            }
        }
    }

    function setMapping(bytes32 key, uint256 value) external {
        bytes32 slot = keccak256(abi.encode(key, uint256(100)));
        assembly {
            sstore(slot, value)
        }
    }
}
