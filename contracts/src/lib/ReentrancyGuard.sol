// SPDX-License-Identifier: MIT OR Apache-2.0
pragma solidity 0.8.30;

/// @title ReentrancyGuard
/// @notice A reentrancy lock in transient storage (EIP-1153, Cancun).
/// @dev Why transient: the lock costs ~200 gas instead of ~5,000, clears itself at the end of the
///      transaction (a lock can never be left set), and occupies no persistent storage slot, so it
///      does not take part in the storage layout of upgradeable contracts.
abstract contract ReentrancyGuard {
    bool private transient _locked;

    /// @notice A guarded function was entered again before it returned.
    error Reentrancy();

    /// @notice Forbids re-entering any function carrying this modifier in the same contract.
    modifier nonReentrant() {
        if (_locked) revert Reentrancy();
        _locked = true;
        _;
        _locked = false;
    }
}
