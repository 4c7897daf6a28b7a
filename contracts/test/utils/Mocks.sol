// SPDX-License-Identifier: MIT OR Apache-2.0
pragma solidity 0.8.30;

import {GameStatus, IDisputeGame} from "../../src/interfaces/IDisputeGame.sol";
import {GameParams, IDisputeGameFactory} from "../../src/interfaces/IDisputeGameFactory.sol";
import {BlockContext, IStepVerifier} from "../../src/interfaces/IStepVerifier.sol";

/// @notice A dispute game whose outcome the test sets (the real game comes with its own issue).
contract MockDisputeGame is IDisputeGame {
    GameStatus public status;
    GameParams internal _params;

    constructor(GameParams memory params_) {
        _params = params_;
    }

    function params() external view returns (GameParams memory) {
        return _params;
    }

    function setStatus(GameStatus s) external {
        status = s;
    }
}

/// @notice Creates `MockDisputeGame`s and remembers the last one.
contract MockDisputeGameFactory is IDisputeGameFactory {
    MockDisputeGame public lastGame;
    uint256 public gamesCreated;

    function create(GameParams calldata params) external returns (IDisputeGame) {
        lastGame = new MockDisputeGame(params);
        ++gamesCreated;
        return lastGame;
    }
}

/// @notice A factory that returns no game.
contract ZeroGameFactory is IDisputeGameFactory {
    function create(GameParams calldata) external pure returns (IDisputeGame) {
        return IDisputeGame(address(0));
    }
}

/// @notice A withdrawal target that records calls and can be told to revert or to re-enter.
contract WithdrawalTarget {
    uint256 public calls;
    bytes public lastData;
    uint256 public lastValue;
    address public lastL2Sender;
    bool public shouldRevert;
    address public reenterTarget;
    bytes public reenterData;
    bool public reenterSucceeded;
    bytes public reenterRevertData;

    function setShouldRevert(bool v) external {
        shouldRevert = v;
    }

    function setReenter(address target, bytes calldata data) external {
        reenterTarget = target;
        reenterData = data;
    }

    receive() external payable {
        _handle();
    }

    fallback() external payable {
        _handle();
    }

    function _handle() internal {
        if (shouldRevert) revert("target reverts");
        calls += 1;
        lastData = msg.data;
        lastValue = msg.value;
        (bool ok, bytes memory ret) = msg.sender.staticcall(abi.encodeWithSignature("l2Sender()"));
        if (ok) lastL2Sender = abi.decode(ret, (address));
        if (reenterTarget != address(0)) {
            (reenterSucceeded, reenterRevertData) = reenterTarget.call(reenterData);
        }
    }
}

/// @notice Forwards a call so that msg.sender is a contract (tx.origin stays the EOA).
contract Forwarder {
    function forward(address target, bytes calldata data) external payable returns (bytes memory) {
        (bool ok, bytes memory ret) = target.call{value: msg.value}(data);
        if (!ok) {
            assembly {
                revert(add(ret, 0x20), mload(ret))
            }
        }
        return ret;
    }
}

/// @notice Rejects ETH (to test pull payments).
contract EthRejecter {
    function call(address target, bytes calldata data) external payable {
        (bool ok, bytes memory ret) = target.call{value: msg.value}(data);
        if (!ok) {
            assembly {
                revert(add(ret, 0x20), mload(ret))
            }
        }
    }

    receive() external payable {
        revert("no ETH");
    }
}

/// @notice A step verifier whose answer the test sets; it records a hash of its last call's
///         arguments so tests can check what the game passed.
contract MockStepVerifier is IStepVerifier {
    bytes32 public result;
    bytes32 public lastCall;
    uint256 public calls;

    function setResult(bytes32 r) external {
        result = r;
    }

    function verifyTransaction(
        BlockContext calldata ctx,
        uint256 txIndex,
        bytes32 preStateRoot,
        uint256 preCumulativeGas,
        bytes32 preReceiptsHash,
        bytes calldata txRlp,
        bytes calldata witness
    ) external returns (bytes32) {
        lastCall = keccak256(
            abi.encode(
                ctx, txIndex, preStateRoot, preCumulativeGas, preReceiptsHash, keccak256(txRlp), keccak256(witness)
            )
        );
        ++calls;
        return result;
    }
}

/// @notice A step verifier that costs (almost) nothing: for measuring the game's own step gas.
contract ConstStepVerifier is IStepVerifier {
    function verifyTransaction(
        BlockContext calldata,
        uint256,
        bytes32,
        uint256,
        bytes32,
        bytes calldata,
        bytes calldata
    ) external pure returns (bytes32) {
        return bytes32(uint256(1));
    }
}
