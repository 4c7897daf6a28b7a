// SPDX-License-Identifier: MIT OR Apache-2.0
pragma solidity 0.8.30;

/// @title AddressAliasing
/// @notice Maps an L1 contract address to the address it acts as on L2.
/// @dev Why: a contract on L1 and a contract on L2 may share an address with different code (and
///      owners). If an L1 contract's deposit executed on L2 as that same address, it could act
///      for the unrelated L2 contract. Deposits from contracts therefore execute as
///      `l1Address + OFFSET (mod 2^160)`. EOAs are not aliased: their keys control both chains.
library AddressAliasing {
    /// @notice The alias offset.
    uint160 internal constant OFFSET = uint160(0x1111000000000000000000000000000000001111);

    /// @notice L1 address -> aliased L2 sender.
    function applyAlias(address l1Address) internal pure returns (address l2Address) {
        unchecked {
            l2Address = address(uint160(l1Address) + OFFSET);
        }
    }

    /// @notice Aliased L2 sender -> L1 address.
    function undoAlias(address l2Address) internal pure returns (address l1Address) {
        unchecked {
            l1Address = address(uint160(l2Address) - OFFSET);
        }
    }
}
