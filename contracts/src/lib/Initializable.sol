// SPDX-License-Identifier: MIT OR Apache-2.0
pragma solidity 0.8.30;

/// @title Initializable
/// @notice Initializer guard for contracts that live behind a `Proxy`.
/// @dev Why: a proxy's storage is written by the implementation's `initialize` (constructors run
///      in the implementation's own storage), so `initialize` must run once per version and never
///      on the bare implementation. The initialized version lives in a namespaced slot
///      (`INITIALIZED_SLOT`), not in the sequential layout, so inheriting it changes no slot of
///      the inheriting contract.
abstract contract Initializable {
    /// @notice keccak256("parallax.initializable.version") - 1.
    bytes32 private constant INITIALIZED_SLOT = bytes32(uint256(keccak256("parallax.initializable.version")) - 1);

    /// @notice Emitted when the contract is initialized to `version`.
    event Initialized(uint8 version);

    /// @notice `initialize` already ran for this (or a later) version, or the contract is an
    ///         implementation whose initializers are disabled.
    error AlreadyInitialized();

    /// @notice Runs the function once, as version 1.
    modifier initializer() {
        _initializeTo(1);
        _;
    }

    /// @notice Runs the function once, as `version` (for upgrades that need new state set).
    modifier reinitializer(uint8 version) {
        _initializeTo(version);
        _;
    }

    /// @notice The version this contract's storage is initialized to (0 = never).
    function initializedVersion() public view returns (uint8 version) {
        bytes32 slot = INITIALIZED_SLOT;
        assembly ("memory-safe") {
            version := sload(slot)
        }
    }

    /// @notice Locks initialization forever; implementations call this in their constructor.
    function _disableInitializers() internal {
        _setVersion(type(uint8).max);
    }

    function _initializeTo(uint8 version) private {
        if (initializedVersion() >= version) revert AlreadyInitialized();
        _setVersion(version);
        emit Initialized(version);
    }

    function _setVersion(uint8 version) private {
        bytes32 slot = INITIALIZED_SLOT;
        assembly ("memory-safe") {
            sstore(slot, version)
        }
    }
}
