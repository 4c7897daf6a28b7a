// SPDX-License-Identifier: MIT OR Apache-2.0
pragma solidity 0.8.30;

import {OutputRootProof, WithdrawalTx} from "./Types.sol";

/// @title Hashing
/// @notice The hashes both chains must agree on, in one place (the Rust node computes the same).
library Hashing {
    /// @notice The only output root version.
    bytes32 internal constant OUTPUT_VERSION_V0 = bytes32(0);

    /// @notice Hash identifying a withdrawal:
    ///         keccak256(abi.encode(nonce, sender, target, value, gasLimit, data)),
    ///         i.e. the standard ABI encoding of the tuple (uint256, address, address, uint256,
    ///         uint256, bytes) — six head words, the bytes offset (0xc0), length and padded data.
    /// @dev `L2ToL1MessagePasser` sets `sentMessages[withdrawalHash] = true`; the portal proves that.
    function withdrawalHash(WithdrawalTx memory w) internal pure returns (bytes32) {
        return keccak256(abi.encode(w.nonce, w.sender, w.target, w.value, w.gasLimit, w.data));
    }

    /// @notice Output root: keccak256(version ‖ stateRoot ‖ messagePasserStorageRoot ‖ blockHash),
    ///         four 32-byte words packed (128 bytes), as in design §2.
    function outputRoot(OutputRootProof memory p) internal pure returns (bytes32) {
        return keccak256(abi.encode(p.version, p.stateRoot, p.messagePasserStorageRoot, p.blockHash));
    }

    /// @notice Storage slot of `sentMessages[withdrawalHash]` in `L2ToL1MessagePasser`: the mapping
    ///         is at slot 0, so the slot is keccak256(withdrawalHash ‖ uint256(0)).
    function sentMessageSlot(bytes32 withdrawalHash_) internal pure returns (bytes32) {
        return keccak256(abi.encode(withdrawalHash_, uint256(0)));
    }
}
