// SPDX-License-Identifier: MIT OR Apache-2.0
pragma solidity 0.8.30;

import {SettlementSetup} from "./utils/SettlementSetup.sol";
import {GameFixture} from "./utils/GameFixture.sol";
import {MockStepVerifier} from "./utils/Mocks.sol";
import {DisputeGame, Stage} from "../src/DisputeGame.sol";
import {DisputeGameFactory} from "../src/DisputeGameFactory.sol";
import {OutputOracle} from "../src/OutputOracle.sol";
import {GameStatus} from "../src/interfaces/IDisputeGame.sol";
import {GameParams} from "../src/interfaces/IDisputeGameFactory.sol";

/// @notice The real game behind the real oracle: challenge -> game -> resolve -> bonds and
///         proposals, then a correct proposal finalizes.
contract DisputeGameOracleTest is SettlementSetup, GameFixture {
    MockStepVerifier internal verifier;
    DisputeGameFactory internal gameFactory;

    function setUp() public override {
        super.setUp();
        _loadFixture();
        verifier = new MockStepVerifier();
        gameFactory = new DisputeGameFactory(address(oracle), verifier, CLOCK, CHAIN_ID);
        vm.prank(owner);
        oracle.setDisputeGameFactory(address(gameFactory));
        // The fixture's parties are the oracle's proposer and a challenger.
        defender = proposer;
        challenger = alice;
    }

    /// @dev Proposes `root` at the next block and challenges it as `challenger`.
    function _proposeAndChallenge(bytes32 root) internal returns (uint256 index, DisputeGame game) {
        (index,) = _propose(root);
        vm.prank(challenger);
        game = DisputeGame(address(oracle.challenge{value: CHALLENGE_BOND}(index)));
    }

    function test_challenge_createsTheGame() public {
        (uint256 index, DisputeGame game) = _proposeAndChallenge(_claim(INTERVAL));
        assertTrue(gameFactory.isGame(address(game)));
        assertEq(address(oracle.getOutput(index).game), address(game));
        assertEq(game.defender(), proposer);
        assertEq(game.challenger(), alice);
        assertEq(game.lo(), 0);
        assertEq(game.hi(), INTERVAL);
        assertEq(game.claimLo(), keccak256("genesis"));
        assertEq(game.claimHi(), _claim(INTERVAL));
        assertEq(game.params().outputIndex, index);
    }

    function test_onlyTheOracleCreatesGames() public {
        GameParams memory p = GameParams({
            outputIndex: 0,
            defender: proposer,
            challenger: alice,
            startingBlockNumber: 0,
            startingOutputRoot: keccak256("genesis"),
            disputedBlockNumber: INTERVAL,
            disputedOutputRoot: _claim(INTERVAL)
        });
        vm.prank(alice);
        vm.expectRevert(DisputeGameFactory.NotOracle.selector);
        gameFactory.create(p);
    }

    /// @dev The defender never answers: the challenger wins, the proposal (and the later one)
    ///      is deleted, the challenger gets both bonds, and a correct proposal then finalizes.
    function test_wrongOutput_challengerWinsByTimeout_thenCorrectProposalFinalizes() public {
        (uint256 index, DisputeGame game) = _proposeAndChallenge(_claim(INTERVAL));
        _propose(keccak256("later")); // a later proposal, deleted with it
        vm.expectRevert(abi.encodeWithSelector(OutputOracle.GameNotResolved.selector, index));
        oracle.resolve(index);
        vm.warp(block.timestamp + CLOCK);
        game.resolve();
        oracle.resolve(index);
        assertEq(oracle.outputCount(), 0);
        assertEq(oracle.credit(alice), PROPOSAL_BOND + CHALLENGE_BOND);
        assertEq(oracle.credit(proposer), PROPOSAL_BOND, "the later proposal's bond is refunded");

        (uint256 again,) = _propose(keccak256("correct"));
        assertEq(again, 0);
        vm.warp(block.timestamp + WINDOW);
        assertTrue(oracle.isFinalized(0));
        (, bytes32 root) = oracle.latestFinalizedOutput();
        assertEq(root, keccak256("correct"));
    }

    /// @dev The challenger stops answering: the defender wins, collects the challenge bond, and
    ///      the proposal finalizes after a fresh window.
    function test_correctOutput_defenderWinsByTimeout_thenFinalizes() public {
        (uint256 index, DisputeGame game) = _proposeAndChallenge(_claim(INTERVAL));
        vm.prank(proposer);
        game.defendBlock(_claim(5));
        vm.warp(block.timestamp + CLOCK);
        game.resolve();
        assertEq(uint8(game.status()), uint8(GameStatus.DEFENDER_WINS));
        oracle.resolve(index);
        assertEq(oracle.credit(proposer), CHALLENGE_BOND);
        assertEq(oracle.outputCount(), 1);
        assertEq(address(oracle.getOutput(index).game), address(0));
        assertFalse(oracle.isFinalized(index));
        vm.warp(block.timestamp + WINDOW);
        assertTrue(oracle.isFinalized(index));
        oracle.checkpoint(1);
        assertEq(oracle.credit(proposer), CHALLENGE_BOND + PROPOSAL_BOND);
    }

    /// @dev The whole game through both levels: the step's verifier disagrees with the
    ///      defender's claim, the challenger wins, the output is deleted.
    function test_fullGame_stepDisagrees_challengerWins() public {
        (uint256 index, DisputeGame game) = _proposeAndChallenge(_claim(INTERVAL));
        _fullGameToStep(game, 77);
        verifier.setResult(keccak256("the real D_78"));
        _step(game);
        assertEq(uint8(game.status()), uint8(GameStatus.CHALLENGER_WINS));
        oracle.resolve(index);
        assertEq(oracle.outputCount(), 0);
        assertEq(oracle.credit(alice), PROPOSAL_BOND + CHALLENGE_BOND);
        // Re-proposed correctly, it finalizes.
        _propose(keccak256("correct"));
        vm.warp(block.timestamp + WINDOW);
        assertTrue(oracle.isFinalized(0));
    }

    /// @dev The whole game through both levels: the step confirms the defender's claim.
    function test_fullGame_stepAgrees_defenderWins() public {
        (uint256 index, DisputeGame game) = _proposeAndChallenge(_claim(INTERVAL));
        _fullGameToStep(game, 129);
        verifier.setResult(_d(130, fxTxCount));
        _step(game);
        assertEq(uint8(game.status()), uint8(GameStatus.DEFENDER_WINS));
        oracle.resolve(index);
        assertEq(oracle.credit(proposer), CHALLENGE_BOND);
        vm.warp(block.timestamp + WINDOW);
        assertTrue(oracle.isFinalized(index));
    }

    /// @dev A wrong transaction count in the opened block loses the game for the defender.
    function test_fullGame_txCountDisproven() public {
        (uint256 index, DisputeGame game) = _proposeAndChallenge(_claim(INTERVAL));
        _bisectBlocks(game, fxNumber);
        _openBlock(game, fxTxCount + 1);
        vm.prank(challenger);
        game.proveTxCountTooHigh(_absentProof(130));
        oracle.resolve(index);
        assertEq(oracle.outputCount(), 0);
    }

    function _fullGameToStep(DisputeGame game, uint256 txIndex) internal {
        _bisectBlocks(game, fxNumber);
        assertEq(uint8(game.stage()), uint8(Stage.OPEN_BLOCK));
        _openBlock(game, fxTxCount);
        _bisectTxs(game, txIndex);
        assertEq(uint8(game.stage()), uint8(Stage.STEP));
    }
}
