// SPDX-License-Identifier: MIT OR Apache-2.0
pragma solidity 0.8.30;

/// @notice Outcome of a dispute game over one output proposal.
/// @dev IN_PROGRESS = not decided yet; CHALLENGER_WINS = the proposal is wrong;
///      DEFENDER_WINS = the proposal stands.
enum GameStatus {
    IN_PROGRESS,
    CHALLENGER_WINS,
    DEFENDER_WINS
}

/// @title IDisputeGame
/// @notice What `OutputOracle` needs from a dispute game: its outcome. The game itself (two-party
///         bisection with chess clocks and a one-step proof, design §6) implements this.
/// @dev A game must never change its status once it has left IN_PROGRESS; the oracle reads it
///      once in `resolve` and acts on it.
interface IDisputeGame {
    /// @notice The game's current outcome.
    function status() external view returns (GameStatus);
}
