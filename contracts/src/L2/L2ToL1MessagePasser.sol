// SPDX-License-Identifier: MIT OR Apache-2.0
pragma solidity 0.8.30;

import {Hashing} from "../lib/Hashing.sol";
import {WithdrawalTx} from "../lib/Types.sol";

/// @title L2ToL1MessagePasser
/// @notice L2 predeploy that records withdrawals (design §2). Its storage root is part of every
///         output root, so the L1 `Portal` can verify a withdrawal with one storage proof.
/// @dev Storage layout — fixed, the L1 portal and the Rust node depend on it:
///        slot 0: sentMessages (mapping bytes32 => bool): sentMessages[h] lives at
///                keccak256(h ‖ uint256(0)) and holds 1 once withdrawal `h` was sent.
///        slot 1: messageNonce (uint256)
///      The value sent with a withdrawal stays in this contract's balance on L2 (it is no longer
///      spendable there: nothing can move it out); the same amount leaves the L1 portal.
contract L2ToL1MessagePasser {
    /// @notice Withdrawals sent, by withdrawal hash (see `Hashing.withdrawalHash`).
    mapping(bytes32 => bool) public sentMessages;
    /// @notice Nonce of the next withdrawal.
    uint256 public messageNonce;

    /// @notice A withdrawal was sent; carries everything needed to prove and finalize it on L1.
    event MessagePassed(
        uint256 indexed nonce,
        address indexed sender,
        address indexed target,
        uint256 value,
        uint256 gasLimit,
        bytes data,
        bytes32 withdrawalHash
    );

    /// @notice Sends a withdrawal: after the output containing it is final on L1, the portal
    ///         calls `target` with `msg.value`, `data` and at least `gasLimit` gas.
    function initiateWithdrawal(address target, uint256 gasLimit, bytes calldata data) external payable {
        uint256 nonce = messageNonce;
        bytes32 withdrawalHash = Hashing.withdrawalHash(
            WithdrawalTx({
                nonce: nonce, sender: msg.sender, target: target, value: msg.value, gasLimit: gasLimit, data: data
            })
        );
        sentMessages[withdrawalHash] = true;
        messageNonce = nonce + 1;
        emit MessagePassed(nonce, msg.sender, target, msg.value, gasLimit, data, withdrawalHash);
    }
}
