// SPDX-License-Identifier: MIT OR Apache-2.0
pragma solidity 0.8.30;

import {IDisputeGame} from "./IDisputeGame.sol";

/// @notice Everything a new game needs to know about the dispute, fixed when it is opened.
/// @param outputIndex Index of the disputed proposal in `OutputOracle`.
/// @param defender The proposer of the disputed output.
/// @param challenger The account that opened the dispute.
/// @param startingBlockNumber L2 block of the agreed starting point: the previous proposal (or
///        the oracle's starting output for the first one).
/// @param startingOutputRoot Output root at `startingBlockNumber`.
/// @param disputedBlockNumber L2 block of the disputed proposal.
/// @param disputedOutputRoot The disputed output root.
struct GameParams {
    uint256 outputIndex;
    address defender;
    address challenger;
    uint256 startingBlockNumber;
    bytes32 startingOutputRoot;
    uint256 disputedBlockNumber;
    bytes32 disputedOutputRoot;
}

/// @title IDisputeGameFactory
/// @notice How `OutputOracle.challenge` opens a dispute. Implemented by the dispute-game issue;
///         the oracle only trusts games created by the factory configured in it.
/// @dev The factory must only let the oracle create games (it is called by the oracle, which
///      already holds both bonds; the factory receives no ETH).
interface IDisputeGameFactory {
    /// @notice Creates the game for one dispute and returns it.
    function create(GameParams calldata params) external returns (IDisputeGame game);
}
