// SPDX-License-Identifier: MIT OR Apache-2.0
pragma solidity 0.8.30;

import {BlockContext, IStepVerifier} from "./interfaces/IStepVerifier.sol";

/// @title UnavailableStepVerifier
/// @notice Placeholder deployed when a deployment names no step verifier (`stepVerifier` = 0 in
///         the deploy config) while the real `EvmStepVerifier` is not part of this build: every
///         step reverts, so a game can be played through both bisection levels but never
///         decided by a step — the defender, whose clock runs at the step, then loses by timeout.
/// @dev Devnet only, and temporary: it lets the factory and games be deployed and exercised
///      (bisection, openBlock, tx-count proofs, timeouts) before the verifier lands. Never use it
///      where an honest defender could be challenged.
contract UnavailableStepVerifier is IStepVerifier {
    /// @notice No transaction can be verified by this placeholder.
    error StepVerifierUnavailable();

    /// @inheritdoc IStepVerifier
    function verifyTransaction(
        BlockContext calldata,
        uint256,
        bytes32,
        uint256,
        bytes32,
        bytes calldata,
        bytes calldata
    ) external pure returns (bytes32) {
        revert StepVerifierUnavailable();
    }
}
