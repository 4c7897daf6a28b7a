// SPDX-License-Identifier: MIT OR Apache-2.0
pragma solidity 0.8.30;

/// @notice A withdrawal initiated on L2 through `L2ToL1MessagePasser` and executed on L1 by the
///         `Portal`. Its hash (see `Hashing.withdrawalHash`) is the key the message passer sets.
/// @param nonce Unique per withdrawal: the message passer's counter when it was sent.
/// @param sender The L2 account that sent it (`msg.sender` of `initiateWithdrawal`).
/// @param target The L1 account the portal calls.
/// @param value Wei the portal sends with the call (burnt on L2 when the withdrawal was sent).
/// @param gasLimit Minimum gas the portal must forward to the call.
/// @param data Calldata of the call.
struct WithdrawalTx {
    uint256 nonce;
    address sender;
    address target;
    uint256 value;
    uint256 gasLimit;
    bytes data;
}

/// @notice The preimage of an output root (design §2):
///         outputRoot = keccak256(version ‖ stateRoot ‖ messagePasserStorageRoot ‖ blockHash).
/// @param version Output format version; only version 0 (bytes32(0)) exists.
/// @param stateRoot State root of the L2 block.
/// @param messagePasserStorageRoot Storage root of the `L2ToL1MessagePasser` predeploy in that state.
/// @param blockHash Hash of the L2 block.
struct OutputRootProof {
    bytes32 version;
    bytes32 stateRoot;
    bytes32 messagePasserStorageRoot;
    bytes32 blockHash;
}
