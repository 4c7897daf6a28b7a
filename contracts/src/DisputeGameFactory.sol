// SPDX-License-Identifier: MIT OR Apache-2.0
pragma solidity 0.8.30;

import {IDisputeGame} from "./interfaces/IDisputeGame.sol";
import {GameParams, IDisputeGameFactory} from "./interfaces/IDisputeGameFactory.sol";
import {IStepVerifier} from "./interfaces/IStepVerifier.sol";
import {DisputeGame} from "./DisputeGame.sol";

/// @title DisputeGameFactory
/// @notice Opens one `DisputeGame` per challenge for the `OutputOracle` (the only caller it
///         accepts) and keeps the list of games it created, so challengers can find them.
/// @dev Games are EIP-1167 minimal proxies of one implementation deployed in the constructor:
///      a challenge costs a 55-byte clone plus the game's initial storage instead of a full
///      contract deployment. The verifier, the clock and the chain id are immutables of that
///      implementation; changing them means a new factory (`OutputOracle.setDisputeGameFactory`),
///      and open games keep their rules.
contract DisputeGameFactory is IDisputeGameFactory {
    /// @notice The only account that may create games.
    address public immutable oracle;
    /// @notice The game code every clone delegates to.
    DisputeGame public immutable implementation;

    /// @notice Every game created, in order.
    IDisputeGame[] public games;
    /// @notice Whether an address is a game this factory created.
    mapping(address => bool) public isGame;

    /// @notice Game `game` (number `gameIndex`) was opened on output `outputIndex`; the
    ///         parameters are the game's starting state, so a challenger can follow it from logs.
    event GameCreated(
        address indexed game,
        uint256 indexed outputIndex,
        uint256 gameIndex,
        address defender,
        address challenger,
        uint256 startingBlockNumber,
        bytes32 startingOutputRoot,
        uint256 disputedBlockNumber,
        bytes32 disputedOutputRoot
    );

    /// @notice `create` called by someone other than the oracle.
    error NotOracle();
    /// @notice A constructor parameter is zero.
    error InvalidParameter();
    /// @notice Deploying the clone failed.
    error CloneFailed();

    /// @param oracle_ The `OutputOracle` (proxy) allowed to create games.
    /// @param verifier_ The step verifier every game calls.
    /// @param clockSeconds_ Seconds on each party's chess clock (devnet 60-120, default 3.5 days).
    /// @param chainId_ The L2 chain id.
    constructor(address oracle_, IStepVerifier verifier_, uint256 clockSeconds_, uint256 chainId_) {
        if (oracle_ == address(0)) revert InvalidParameter();
        oracle = oracle_;
        implementation = new DisputeGame(verifier_, clockSeconds_, chainId_);
    }

    /// @inheritdoc IDisputeGameFactory
    function create(GameParams calldata params) external returns (IDisputeGame game) {
        if (msg.sender != oracle) revert NotOracle();
        bytes memory code = abi.encodePacked(
            hex"3d602d80600a3d3981f3363d3d373d3d3d363d73", address(implementation), hex"5af43d82803e903d91602b57fd5bf3"
        );
        address clone;
        assembly ("memory-safe") {
            clone := create(0, add(code, 0x20), mload(code))
        }
        if (clone == address(0)) revert CloneFailed();
        DisputeGame(clone).initialize(params);
        game = IDisputeGame(clone);
        isGame[clone] = true;
        games.push(game);
        emit GameCreated(
            clone,
            params.outputIndex,
            games.length - 1,
            params.defender,
            params.challenger,
            params.startingBlockNumber,
            params.startingOutputRoot,
            params.disputedBlockNumber,
            params.disputedOutputRoot
        );
    }

    /// @notice Number of games created.
    function gameCount() external view returns (uint256) {
        return games.length;
    }

    /// @notice Seconds on each party's clock in this factory's games.
    function clockSeconds() external view returns (uint64) {
        return implementation.clockSeconds();
    }

    /// @notice The step verifier of this factory's games.
    function verifier() external view returns (IStepVerifier) {
        return implementation.verifier();
    }

    /// @notice The L2 chain id of this factory's games.
    function chainId() external view returns (uint256) {
        return implementation.chainId();
    }
}
