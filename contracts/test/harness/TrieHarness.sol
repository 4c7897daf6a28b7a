// SPDX-License-Identifier: MIT OR Apache-2.0
pragma solidity 0.8.30;

import {MerkleTrie} from "../../src/lib/MerkleTrie.sol";
import {Account, SecureMerkleTrie} from "../../src/lib/SecureMerkleTrie.sol";

/// @title TrieHarness
/// @notice Test-only external entry points to the (internal) proof libraries: forge tests use it
///         to expect reverts from inside them, and the Rust tests run its exported artifact
///         (`artifacts/test/TrieHarness.json`) in revm to check the libraries against proofs
///         from the `parallax-state` trie. Never deployed; not part of the production surface.
contract TrieHarness {
    function get(bytes memory key, bytes[] memory proof, bytes32 root) external pure returns (bool, bytes memory) {
        return MerkleTrie.get(key, proof, root);
    }

    function verifyInclusion(bytes memory key, bytes memory value, bytes[] memory proof, bytes32 root) external pure {
        MerkleTrie.verifyInclusion(key, value, proof, root);
    }

    function getAccount(address a, bytes[] memory proof, bytes32 root) external pure returns (bool, Account memory) {
        return SecureMerkleTrie.getAccount(a, proof, root);
    }

    function getStorage(bytes32 slot, bytes[] memory proof, bytes32 root) external pure returns (uint256) {
        return SecureMerkleTrie.getStorage(slot, proof, root);
    }

    function getStorageGas(bytes32 slot, bytes[] memory proof, bytes32 root) external view returns (uint256 used) {
        uint256 start = gasleft();
        SecureMerkleTrie.getStorage(slot, proof, root);
        used = start - gasleft();
    }
}
