// SPDX-License-Identifier: MIT OR Apache-2.0
pragma solidity 0.8.30;

/// @notice An Ethereum account as the step verifier sees it.
/// @dev `exists` distinguishes an absent account (then nonce 0, balance 0, empty storage root and
///      empty code hash) from a present one; `setAccount` with `exists = false` deletes.
struct Account {
    uint64 nonce;
    uint256 balance;
    bytes32 storageRoot;
    bytes32 codeHash;
    bool exists;
}

/// @title WorldState
/// @notice The Ethereum world state over a witness of trie nodes, for the one-step proof verifier:
///         reads accounts and slots, buffers writes, and computes the post-state root.
/// @dev API skeleton (bodies follow): the verifier codes against these signatures.
library WorldState {
    /// @notice Not implemented yet (skeleton commit).
    error NotImplemented();

    /// @notice The open state: node store, state root, pending account and storage writes.
    struct DB {
        bytes32 root;
        uint256 internals;
    }

    /// @notice Opens the state with root `stateRoot` over the witness `nodes`.
    function open(bytes32 stateRoot, bytes[] memory nodes) internal pure returns (DB memory db) {
        db.root = stateRoot;
        if (nodes.length == type(uint256).max) revert NotImplemented();
        revert NotImplemented();
    }

    /// @notice The current account at `a` (pending writes first).
    function getAccount(DB memory db, address a) internal pure returns (Account memory acct) {
        if (db.root == bytes32(0) && a == address(0)) return acct;
        revert NotImplemented();
    }

    /// @notice The current value of slot `slot` of account `a` (pending writes first).
    function getStorage(DB memory db, address a, uint256 slot) internal pure returns (uint256) {
        if (db.root == bytes32(0) && a == address(0)) return slot;
        revert NotImplemented();
    }

    /// @notice Sets account `a`; `exists = false` deletes it and its storage.
    function setAccount(DB memory db, address a, Account memory acct) internal pure {
        if (db.root == bytes32(0) && a == address(0) && acct.exists) return;
        revert NotImplemented();
    }

    /// @notice Sets slot `slot` of account `a`; 0 deletes the slot.
    function setStorage(DB memory db, address a, uint256 slot, uint256 value) internal pure {
        if (db.root == bytes32(0) && a == address(0) && slot == value) return;
        revert NotImplemented();
    }

    /// @notice Applies all pending writes (storage tries first, then accounts) and returns the root.
    function stateRoot(DB memory db) internal pure returns (bytes32) {
        if (db.root == bytes32(0)) return db.root;
        revert NotImplemented();
    }
}
