// SPDX-License-Identifier: MIT OR Apache-2.0
pragma solidity 0.8.30;

import {GameFixture} from "./utils/GameFixture.sol";
import {MockStepVerifier, ConstStepVerifier} from "./utils/Mocks.sol";
import {DisputeGame, Stage} from "../src/DisputeGame.sol";
import {DisputeGameFactory} from "../src/DisputeGameFactory.sol";
import {GameStatus} from "../src/interfaces/IDisputeGame.sol";
import {GameParams} from "../src/interfaces/IDisputeGameFactory.sol";
import {BlockContext, IStepVerifier} from "../src/interfaces/IStepVerifier.sol";
import {MerkleTrie} from "../src/lib/MerkleTrie.sol";

/// @notice The dispute game on its own: the factory's oracle is this test contract, the block
///         is the real anvil block of the fixture, the verifier a mock whose answer we set.
contract DisputeGameTest is GameFixture {
    MockStepVerifier internal verifier;
    DisputeGameFactory internal factory;

    event log_named_uint(string key, uint256 val);

    function setUp() public {
        vm.warp(1_700_000_000);
        _loadFixture();
        verifier = new MockStepVerifier();
        factory = new DisputeGameFactory(address(this), verifier, CLOCK, CHAIN_ID);
    }

    function _params(uint256 start, bytes32 startRoot, uint256 disputed, bytes32 disputedRoot)
        internal
        view
        returns (GameParams memory)
    {
        return GameParams({
            outputIndex: 3,
            defender: defender,
            challenger: challenger,
            startingBlockNumber: start,
            startingOutputRoot: startRoot,
            disputedBlockNumber: disputed,
            disputedOutputRoot: disputedRoot
        });
    }

    function _create(uint256 start, uint256 disputed) internal returns (DisputeGame) {
        return DisputeGame(address(factory.create(_params(start, _claim(start), disputed, _claim(disputed)))));
    }

    /// @dev A game at the start of level 2 over the fixture block with `txCount` transactions.
    function _level2(uint256 txCount) internal returns (DisputeGame game) {
        game = _create(0, 10);
        _bisectBlocks(game, fxNumber);
        _openBlock(game, txCount);
    }

    function _expireTurn(DisputeGame game) internal {
        (uint64 d, uint64 c) = game.clocksNow();
        vm.warp(block.timestamp + (game.defenderToMove() ? d : c));
    }

    // ------------------------------------------------------------------ creation

    function test_create_initialState() public {
        DisputeGame game = _create(0, 10);
        assertEq(uint8(game.status()), uint8(GameStatus.IN_PROGRESS));
        assertEq(uint8(game.stage()), uint8(Stage.BLOCKS));
        assertEq(game.level(), 1);
        assertEq(game.lo(), 0);
        assertEq(game.hi(), 10);
        assertEq(game.mid(), 5);
        assertEq(game.claimLo(), _claim(0));
        assertEq(game.claimHi(), _claim(10));
        assertEq(game.defender(), defender);
        assertEq(game.challenger(), challenger);
        assertEq(game.turn(), defender);
        assertEq(game.defenderClock(), CLOCK);
        assertEq(game.challengerClock(), CLOCK);
        assertEq(game.turnStartedAt(), block.timestamp);
        assertEq(game.params().outputIndex, 3);
        assertEq(address(game.verifier()), address(verifier));
        assertEq(game.chainId(), CHAIN_ID);
        assertEq(game.clockSeconds(), CLOCK);
        assertEq(factory.gameCount(), 1);
        assertEq(address(factory.games(0)), address(game));
        assertTrue(factory.isGame(address(game)));
        assertEq(address(factory.verifier()), address(verifier));
        assertEq(factory.clockSeconds(), CLOCK);
        assertEq(factory.chainId(), CHAIN_ID);
    }

    function test_create_emitsGameCreated() public {
        GameParams memory p = _params(0, _claim(0), 10, _claim(10));
        vm.recordLogs();
        address game = address(factory.create(p));
        assertEq(vm.getRecordedLogs().length, 1);
        assertTrue(factory.isGame(game));
    }

    function test_create_oneBlockApartStartsAtOpenBlock() public {
        DisputeGame game = _create(fxNumber - 1, fxNumber);
        assertEq(uint8(game.stage()), uint8(Stage.OPEN_BLOCK));
        assertEq(game.turn(), defender);
    }

    function test_create_revertsForOthersThanTheOracle() public {
        vm.prank(challenger);
        vm.expectRevert(DisputeGameFactory.NotOracle.selector);
        factory.create(_params(0, _claim(0), 10, _claim(10)));
    }

    function test_create_revertsOnEmptyInterval() public {
        vm.expectRevert(DisputeGame.InvalidParameter.selector);
        factory.create(_params(10, _claim(10), 10, _claim(10)));
    }

    function test_initialize_onlyFactoryOnce() public {
        DisputeGame game = _create(0, 10);
        GameParams memory p = _params(0, _claim(0), 10, _claim(10));
        vm.expectRevert(DisputeGame.NotFactory.selector);
        game.initialize(p);
        vm.prank(address(factory));
        vm.expectRevert(DisputeGame.AlreadyInitialized.selector);
        game.initialize(p);
    }

    function test_constructors_rejectBadParameters() public {
        vm.expectRevert(DisputeGameFactory.InvalidParameter.selector);
        new DisputeGameFactory(address(0), verifier, CLOCK, CHAIN_ID);
        vm.expectRevert(DisputeGame.InvalidParameter.selector);
        new DisputeGameFactory(address(this), IStepVerifier(address(0)), CLOCK, CHAIN_ID);
        vm.expectRevert(DisputeGame.InvalidParameter.selector);
        new DisputeGameFactory(address(this), verifier, 0, CHAIN_ID);
        vm.expectRevert(DisputeGame.InvalidParameter.selector);
        new DisputeGameFactory(address(this), verifier, uint256(type(uint32).max) + 1, CHAIN_ID);
    }

    // ------------------------------------------------------------------ level 1

    function test_level1_bisectionAndEvents() public {
        DisputeGame game = _create(0, 10);
        vm.warp(block.timestamp + 100);
        vm.expectEmit(address(game));
        // forge-lint: disable-next-line(unsafe-typecast) -- test values in range
        emit DisputeGame.Defended(1, defender, 5, _claim(5), 0, 10, uint64(CLOCK - 100));
        vm.prank(defender);
        game.defendBlock(_claim(5));
        assertTrue(game.midClaimed());
        assertEq(game.midClaim(), _claim(5));
        assertEq(game.turn(), challenger);
        assertEq(game.defenderClock(), CLOCK - 100);

        vm.warp(block.timestamp + 40);
        vm.expectEmit(address(game));
        // forge-lint: disable-next-line(unsafe-typecast) -- test values in range
        emit DisputeGame.Chosen(1, challenger, false, 5, 0, 5, uint64(CLOCK - 40));
        vm.prank(challenger);
        game.chooseBlock(false);
        assertEq(game.hi(), 5);
        assertEq(game.claimHi(), _claim(5));
        assertEq(game.challengerClock(), CLOCK - 40);
        assertEq(game.turn(), defender);

        vm.prank(defender);
        game.defendBlock(_claim(2));
        vm.prank(challenger);
        game.chooseBlock(true);
        assertEq(game.lo(), 2);
        assertEq(game.claimLo(), _claim(2));
        assertEq(uint8(game.stage()), uint8(Stage.BLOCKS));
    }

    function test_level1_reachesOpenBlock() public {
        DisputeGame game = _create(0, 10);
        _bisectBlocks(game, fxNumber);
        assertEq(uint8(game.stage()), uint8(Stage.OPEN_BLOCK));
        assertEq(game.claimLo(), _preOutput());
        assertEq(game.claimHi(), _postOutput());
        assertEq(game.turn(), defender);
    }

    function test_level1_defenderTimesOut_challengerWins() public {
        DisputeGame game = _create(0, 10);
        vm.warp(block.timestamp + CLOCK - 1);
        vm.expectRevert(DisputeGame.GameNotOver.selector);
        game.resolve();
        vm.warp(block.timestamp + 1);
        assertTrue(game.expired());
        vm.prank(defender);
        vm.expectRevert(DisputeGame.ClockExpired.selector);
        game.defendBlock(_claim(5));
        vm.expectEmit(address(game));
        emit DisputeGame.Resolved(GameStatus.CHALLENGER_WINS);
        game.resolve();
        assertEq(uint8(game.status()), uint8(GameStatus.CHALLENGER_WINS));
        assertEq(game.turn(), address(0));
    }

    function test_level1_challengerTimesOut_defenderWins() public {
        DisputeGame game = _create(0, 10);
        vm.prank(defender);
        game.defendBlock(_claim(5));
        vm.warp(block.timestamp + CLOCK);
        vm.prank(challenger);
        vm.expectRevert(DisputeGame.ClockExpired.selector);
        game.chooseBlock(true);
        game.resolve();
        assertEq(uint8(game.status()), uint8(GameStatus.DEFENDER_WINS));
    }

    function test_clocks_areChessClocks() public {
        DisputeGame game = _create(0, 10);
        // The defender uses 30 min, the challenger 50 min; the defender then has 30 min left
        // even though 80 min have passed.
        vm.warp(block.timestamp + 30 minutes);
        vm.prank(defender);
        game.defendBlock(_claim(5));
        vm.warp(block.timestamp + 50 minutes);
        vm.prank(challenger);
        game.chooseBlock(false);
        (uint64 d, uint64 c) = game.clocksNow();
        assertEq(d, 30 minutes);
        assertEq(c, 10 minutes);
        vm.warp(block.timestamp + 29 minutes);
        vm.prank(defender);
        game.defendBlock(_claim(2));
        (d, c) = game.clocksNow();
        assertEq(d, 1 minutes);
        vm.warp(block.timestamp + 10 minutes);
        assertTrue(game.expired());
        game.resolve();
        assertEq(uint8(game.status()), uint8(GameStatus.DEFENDER_WINS));
    }

    function test_level1_outOfTurnAndWrongParty() public {
        DisputeGame game = _create(0, 10);
        vm.prank(challenger);
        vm.expectRevert(DisputeGame.NotDefender.selector);
        game.defendBlock(_claim(5));
        vm.prank(challenger);
        vm.expectRevert(DisputeGame.NotYourTurn.selector);
        game.chooseBlock(true);
        vm.prank(defender);
        vm.expectRevert(DisputeGame.NotChallenger.selector);
        game.chooseBlock(true);
        vm.prank(defender);
        game.defendBlock(_claim(5));
        vm.prank(defender);
        vm.expectRevert(DisputeGame.NotYourTurn.selector);
        game.defendBlock(_claim(5));
    }

    function test_wrongLevelMovesRevert() public {
        DisputeGame game = _create(0, 10);
        vm.startPrank(defender);
        vm.expectRevert(abi.encodeWithSelector(DisputeGame.WrongStage.selector, Stage.TXS, Stage.BLOCKS));
        game.defendTx(bytes32(0));
        vm.expectRevert(abi.encodeWithSelector(DisputeGame.WrongStage.selector, Stage.OPEN_BLOCK, Stage.BLOCKS));
        game.openBlock(0, 0, 0, 0, 0, fxHeader, 1, 0, fxPasserProof);
        vm.stopPrank();
        vm.startPrank(challenger);
        vm.expectRevert(abi.encodeWithSelector(DisputeGame.WrongStage.selector, Stage.TXS, Stage.BLOCKS));
        game.chooseTx(true);
        vm.expectRevert(abi.encodeWithSelector(DisputeGame.WrongStage.selector, Stage.TXS, Stage.BLOCKS));
        game.proveTxCountTooLow(_absentProof(130));
        vm.expectRevert(abi.encodeWithSelector(DisputeGame.WrongStage.selector, Stage.STEP, Stage.BLOCKS));
        game.step(0, 0, 0, "", "", "");
        vm.stopPrank();

        _bisectBlocks(game, fxNumber);
        vm.prank(defender);
        vm.expectRevert(abi.encodeWithSelector(DisputeGame.WrongStage.selector, Stage.BLOCKS, Stage.OPEN_BLOCK));
        game.defendBlock(bytes32(0));
        _openBlock(game, fxTxCount);
        vm.prank(defender);
        vm.expectRevert(abi.encodeWithSelector(DisputeGame.WrongStage.selector, Stage.BLOCKS, Stage.TXS));
        game.defendBlock(bytes32(0));
        vm.prank(challenger);
        vm.expectRevert(abi.encodeWithSelector(DisputeGame.WrongStage.selector, Stage.BLOCKS, Stage.TXS));
        game.chooseBlock(true);
        vm.prank(defender);
        vm.expectRevert(abi.encodeWithSelector(DisputeGame.WrongStage.selector, Stage.OPEN_BLOCK, Stage.TXS));
        game.openBlock(0, 0, 0, 0, 0, fxHeader, 1, 0, fxPasserProof);
    }

    // ------------------------------------------------------------------ openBlock

    function test_openBlock_startsLevel2() public {
        DisputeGame game = _create(0, 10);
        _bisectBlocks(game, fxNumber);
        bytes32 d0 = _d(0, fxTxCount);
        bytes32 dT = _d(fxTxCount, fxTxCount);
        vm.expectEmit(address(game));
        emit DisputeGame.HeaderOpened(fxBlockHash, fxHeader);
        vm.expectEmit(address(game));
        // forge-lint: disable-next-line(unsafe-typecast) -- test values in range
        emit DisputeGame.BlockOpened(defender, fxNumber, fxTxCount, fxTxRoot, d0, dT, uint64(CLOCK));
        _openBlock(game, fxTxCount);
        assertEq(uint8(game.stage()), uint8(Stage.TXS));
        assertEq(game.level(), 2);
        assertEq(game.lo(), 0);
        assertEq(game.hi(), fxTxCount);
        assertEq(game.claimLo(), d0);
        assertEq(game.claimHi(), dT);
        assertEq(game.txCount(), fxTxCount);
        assertEq(game.transactionsRoot(), fxTxRoot);
        BlockContext memory ctx = game.blockContext();
        assertEq(ctx.chainId, CHAIN_ID);
        assertEq(ctx.number, fxNumber);
        assertEq(ctx.timestamp, vm.parseJsonUint(fx, ".timestamp"));
        assertEq(ctx.coinbase, vm.parseJsonAddress(fx, ".beneficiary"));
        assertEq(ctx.gasLimit, vm.parseJsonUint(fx, ".gasLimit"));
        assertEq(ctx.baseFee, vm.parseJsonUint(fx, ".baseFee"));
        assertEq(ctx.prevRandao, vm.parseJsonBytes32(fx, ".mixHash"));
        assertEq(ctx.parentHash, fxParentHash);
        assertEq(game.turn(), defender);
    }

    /// @dev A game with the fixture block open and its header not yet judged.
    function _openOnly(uint256 txCount) internal returns (DisputeGame game) {
        game = _create(0, 10);
        _bisectBlocks(game, fxNumber);
        _openBlockOnly(game, txCount);
    }

    function test_header_challengerJudgesTheOpenedHeaderFirst() public {
        DisputeGame game = _openOnly(1);
        assertEq(uint8(game.stage()), uint8(Stage.HEADER));
        assertEq(game.level(), 2);
        assertEq(game.turn(), challenger, "the challenger's clock runs");
        assertEq(game.blockHash(), fxBlockHash);
        // Nobody plays the transactions before the header is judged, so a step cannot end the
        // game ahead of a header proof.
        (bytes32 root, uint256 gas, bytes32 receipts) = _pre(0, 1);
        vm.expectRevert(abi.encodeWithSelector(DisputeGame.WrongStage.selector, Stage.STEP, Stage.HEADER));
        game.step(root, gas, receipts, _tx(0), _txProof(0), "");
        vm.prank(defender);
        vm.expectRevert(abi.encodeWithSelector(DisputeGame.WrongStage.selector, Stage.TXS, Stage.HEADER));
        game.defendTx(bytes32(0));
        vm.prank(defender);
        vm.expectRevert(DisputeGame.NotChallenger.selector);
        game.acceptHeader();

        vm.warp(block.timestamp + 10);
        vm.expectEmit(address(game));
        emit DisputeGame.HeaderAccepted(challenger, uint64(CLOCK - 10));
        vm.prank(challenger);
        game.acceptHeader();
        assertEq(uint8(game.stage()), uint8(Stage.STEP), "one transaction: straight to the step");
        assertEq(game.turn(), defender);
        vm.prank(challenger);
        vm.expectRevert(abi.encodeWithSelector(DisputeGame.WrongStage.selector, Stage.HEADER, Stage.STEP));
        game.acceptHeader();
    }

    function test_header_acceptedMultiTxBlockBisects() public {
        DisputeGame game = _openOnly(fxTxCount);
        vm.prank(challenger);
        game.acceptHeader();
        assertEq(uint8(game.stage()), uint8(Stage.TXS));
        assertEq(game.turn(), defender);
    }

    function test_header_challengerTimesOut_defenderWins() public {
        DisputeGame game = _openOnly(fxTxCount);
        _expireTurn(game);
        vm.prank(challenger);
        vm.expectRevert(DisputeGame.ClockExpired.selector);
        game.acceptHeader();
        game.resolve();
        assertEq(uint8(game.status()), uint8(GameStatus.DEFENDER_WINS));
    }

    function test_header_txCountProofAllowedBeforeAcceptance() public {
        DisputeGame game = _openOnly(fxTxCount - 1);
        vm.prank(challenger);
        game.proveTxCountTooLow(_txProof(fxTxCount - 1));
        assertEq(uint8(game.status()), uint8(GameStatus.CHALLENGER_WINS));
    }

    function test_proveHeaderInvalid_checksItsInputs() public {
        DisputeGame game = _create(0, 10);
        vm.prank(challenger);
        vm.expectRevert(abi.encodeWithSelector(DisputeGame.WrongStage.selector, Stage.TXS, Stage.BLOCKS));
        game.proveHeaderInvalid(fxHeader, "", "");

        game = _openOnly(fxTxCount);
        vm.prank(defender);
        vm.expectRevert(DisputeGame.NotChallenger.selector);
        game.proveHeaderInvalid(fxHeader, "", "");
        // Only the header `openBlock` received (and published) can be judged.
        bytes memory other = bytes.concat(fxHeader, hex"00");
        vm.prank(challenger);
        vm.expectRevert(DisputeGame.HeaderNotOpened.selector);
        game.proveHeaderInvalid(other, "", "");
        vm.prank(challenger);
        vm.expectRevert(DisputeGame.ParentHeaderMismatch.selector);
        game.proveHeaderInvalid(fxHeader, fxHeader, "");
        assertEq(uint8(game.status()), uint8(GameStatus.IN_PROGRESS));
    }

    function test_openBlock_oneTxGoesStraightToStep() public {
        DisputeGame game = _level2(1);
        assertEq(uint8(game.stage()), uint8(Stage.STEP));
        assertEq(game.lo(), 0);
        assertEq(game.hi(), 1);
    }

    function test_openBlock_defenderTimesOut_challengerWins() public {
        DisputeGame game = _create(0, 10);
        _bisectBlocks(game, fxNumber);
        _expireTurn(game);
        vm.prank(defender);
        vm.expectRevert(DisputeGame.ClockExpired.selector);
        game.openBlock(
            fxParentStateRoot,
            PRE_PASSER_ROOT,
            fxParentHash,
            fxStateRoot,
            fxPasserRoot,
            fxHeader,
            fxTxCount,
            FINAL_RECEIPTS,
            fxPasserProof
        );
        game.resolve();
        assertEq(uint8(game.status()), uint8(GameStatus.CHALLENGER_WINS));
    }

    function test_openBlock_onlyDefender() public {
        DisputeGame game = _create(fxNumber - 1, fxNumber);
        vm.prank(challenger);
        vm.expectRevert(DisputeGame.NotDefender.selector);
        game.openBlock(0, 0, 0, 0, 0, fxHeader, 1, 0, fxPasserProof);
    }

    function test_openBlock_revertsOnWrongPreimages() public {
        DisputeGame game = _create(fxNumber - 1, fxNumber);
        vm.startPrank(defender);
        vm.expectRevert(DisputeGame.PreOutputMismatch.selector);
        game.openBlock(
            fxParentStateRoot, bytes32(0), fxParentHash, fxStateRoot, fxPasserRoot, fxHeader, 1, 0, fxPasserProof
        );
        vm.expectRevert(DisputeGame.PostOutputMismatch.selector);
        game.openBlock(
            fxParentStateRoot, PRE_PASSER_ROOT, fxParentHash, fxStateRoot, bytes32(0), fxHeader, 1, 0, fxPasserProof
        );
        // A header that is not the committed one changes the block hash.
        bytes memory header = bytes.concat(fxHeader);
        header[40] = bytes1(uint8(header[40]) ^ 1);
        vm.expectRevert(DisputeGame.PostOutputMismatch.selector);
        game.openBlock(
            fxParentStateRoot, PRE_PASSER_ROOT, fxParentHash, fxStateRoot, fxPasserRoot, header, 1, 0, fxPasserProof
        );
        vm.stopPrank();
    }

    function test_openBlock_revertsOnHeaderParentMismatch() public {
        bytes32 otherParent = keccak256("other parent");
        GameParams memory p =
            _params(fxNumber - 1, _output(fxParentStateRoot, PRE_PASSER_ROOT, otherParent), fxNumber, _postOutput());
        DisputeGame game = DisputeGame(address(factory.create(p)));
        vm.prank(defender);
        vm.expectRevert(DisputeGame.HeaderParentMismatch.selector);
        game.openBlock(
            fxParentStateRoot, PRE_PASSER_ROOT, otherParent, fxStateRoot, fxPasserRoot, fxHeader, 1, 0, fxPasserProof
        );
    }

    function test_openBlock_revertsOnHeaderNumberMismatch() public {
        // The block's output claimed for the next block number.
        DisputeGame game =
            DisputeGame(address(factory.create(_params(fxNumber, _preOutput(), fxNumber + 1, _postOutput()))));
        vm.prank(defender);
        vm.expectRevert(abi.encodeWithSelector(DisputeGame.HeaderNumberMismatch.selector, fxNumber, fxNumber + 1));
        game.openBlock(
            fxParentStateRoot, PRE_PASSER_ROOT, fxParentHash, fxStateRoot, fxPasserRoot, fxHeader, 1, 0, fxPasserProof
        );
    }

    function test_openBlock_revertsOnHeaderStateRootMismatch() public {
        bytes32 otherState = keccak256("other state");
        DisputeGame game = DisputeGame(
            address(
                factory.create(
                    _params(fxNumber - 1, _preOutput(), fxNumber, _output(otherState, fxPasserRoot, fxBlockHash))
                )
            )
        );
        vm.prank(defender);
        vm.expectRevert(DisputeGame.HeaderStateRootMismatch.selector);
        game.openBlock(
            fxParentStateRoot, PRE_PASSER_ROOT, fxParentHash, otherState, fxPasserRoot, fxHeader, 1, 0, fxPasserProof
        );
    }

    function test_openBlock_revertsOnMessagePasserRootMismatch() public {
        bytes32 otherPasser = keccak256("other passer");
        DisputeGame game = DisputeGame(
            address(
                factory.create(
                    _params(fxNumber - 1, _preOutput(), fxNumber, _output(fxStateRoot, otherPasser, fxBlockHash))
                )
            )
        );
        vm.prank(defender);
        vm.expectRevert(DisputeGame.MessagePasserRootMismatch.selector);
        game.openBlock(
            fxParentStateRoot, PRE_PASSER_ROOT, fxParentHash, fxStateRoot, otherPasser, fxHeader, 1, 0, fxPasserProof
        );
    }

    function test_openBlock_revertsOnBadAccountProof() public {
        DisputeGame game = _create(fxNumber - 1, fxNumber);
        bytes[] memory proof = vm.parseJsonBytesArray(fx, ".passerAccountProof");
        proof[1][5] = bytes1(uint8(proof[1][5]) ^ 1);
        vm.prank(defender);
        vm.expectRevert(abi.encodeWithSelector(MerkleTrie.InvalidNodeHash.selector, 1));
        game.openBlock(
            fxParentStateRoot,
            PRE_PASSER_ROOT,
            fxParentHash,
            fxStateRoot,
            fxPasserRoot,
            fxHeader,
            1,
            0,
            abi.encode(proof)
        );
    }

    function test_openBlock_revertsOnZeroTxCount() public {
        DisputeGame game = _create(fxNumber - 1, fxNumber);
        vm.prank(defender);
        vm.expectRevert(DisputeGame.ZeroTxCount.selector);
        game.openBlock(
            fxParentStateRoot, PRE_PASSER_ROOT, fxParentHash, fxStateRoot, fxPasserRoot, fxHeader, 0, 0, fxPasserProof
        );
    }

    function test_openBlock_revertsOnShortHeader() public {
        // A committed "header" with 3 fields.
        bytes memory header = hex"c3010203";
        DisputeGame game = DisputeGame(
            address(
                factory.create(
                    _params(fxNumber - 1, _preOutput(), fxNumber, _output(fxStateRoot, fxPasserRoot, keccak256(header)))
                )
            )
        );
        vm.prank(defender);
        vm.expectRevert(DisputeGame.InvalidHeader.selector);
        game.openBlock(
            fxParentStateRoot, PRE_PASSER_ROOT, fxParentHash, fxStateRoot, fxPasserRoot, header, 1, 0, fxPasserProof
        );
    }

    // ------------------------------------------------------------------ level 2 and step

    function test_level2_bisectionEvents() public {
        DisputeGame game = _level2(fxTxCount);
        assertEq(game.mid(), 65);
        vm.expectEmit(address(game));
        // forge-lint: disable-next-line(unsafe-typecast) -- test values in range
        emit DisputeGame.Defended(2, defender, 65, _d(65, fxTxCount), 0, 130, uint64(CLOCK));
        vm.prank(defender);
        game.defendTx(_d(65, fxTxCount));
        vm.expectEmit(address(game));
        // forge-lint: disable-next-line(unsafe-typecast) -- test values in range
        emit DisputeGame.Chosen(2, challenger, true, 65, 65, 130, uint64(CLOCK));
        vm.prank(challenger);
        game.chooseTx(true);
        assertEq(game.claimLo(), _d(65, fxTxCount));
    }

    function _stepGame(uint256 target, bool matching) internal returns (DisputeGame game) {
        game = _level2(fxTxCount);
        _bisectTxs(game, target);
        assertEq(uint8(game.stage()), uint8(Stage.STEP));
        assertEq(game.hi(), target + 1);
        bytes32 expected = _d(target + 1, fxTxCount);
        bytes32 result = matching ? expected : keccak256("other");
        verifier.setResult(result);
        StepArgs memory a = _stepArgs(target, fxTxCount);
        GameStatus outcome = matching ? GameStatus.DEFENDER_WINS : GameStatus.CHALLENGER_WINS;
        vm.expectEmit(address(game));
        emit DisputeGame.StepVerified(address(0xA11), target, result, expected, outcome);
        vm.prank(address(0xA11));
        game.step(a.root, a.gas, a.receipts, a.txRlp, a.proof, hex"beef");
        assertEq(uint8(game.status()), uint8(outcome), "outcome");
        // The verifier got the header's context and the agreed pre-state.
        assertEq(
            verifier.lastCall(),
            keccak256(
                abi.encode(
                    game.blockContext(), target, a.root, a.gas, a.receipts, keccak256(a.txRlp), keccak256(hex"beef")
                )
            )
        );
    }

    function test_step_defenderWins_firstTx() public {
        _stepGame(0, true);
    }

    function test_step_challengerWins_firstTx() public {
        _stepGame(0, false);
    }

    function test_step_defenderWins_middleTx() public {
        _stepGame(64, true);
    }

    function test_step_challengerWins_middleTx() public {
        _stepGame(77, false);
    }

    function test_step_twoByteKeys() public {
        _stepGame(128, true);
        _stepGame(129, false);
    }

    function test_step_lastTx_finalCommitment() public {
        DisputeGame game = _stepGame(fxTxCount - 1, true);
        assertEq(game.claimHi(), _d(fxTxCount, fxTxCount));
    }

    function test_step_singleTxBlock() public {
        DisputeGame game = _level2(1);
        verifier.setResult(_d(1, 1));
        _step(game);
        assertEq(uint8(game.status()), uint8(GameStatus.DEFENDER_WINS));
    }

    function test_step_revertsOnBadPreimage() public {
        DisputeGame game = _level2(fxTxCount);
        _bisectTxs(game, 10);
        (bytes32 root, uint256 gas, bytes32 receipts) = _pre(10, fxTxCount);
        vm.expectRevert(DisputeGame.PreCommitmentMismatch.selector);
        game.step(root, gas + 1, receipts, _tx(10), _txProof(10), "");
    }

    function test_step_revertsOnWrongTx() public {
        DisputeGame game = _level2(fxTxCount);
        _bisectTxs(game, 10);
        (bytes32 root, uint256 gas, bytes32 receipts) = _pre(10, fxTxCount);
        // Another tx of the block with this position's proof.
        vm.expectRevert(abi.encodeWithSelector(DisputeGame.TxNotInBlock.selector, 10));
        game.step(root, gas, receipts, _tx(11), _txProof(10), "");
        // A tampered proof.
        bytes[] memory proof = vm.parseJsonBytesArray(fx, ".txProofs[10]");
        proof[0][3] = bytes1(uint8(proof[0][3]) ^ 1);
        vm.expectRevert(abi.encodeWithSelector(MerkleTrie.InvalidNodeHash.selector, 0));
        game.step(root, gas, receipts, _tx(10), abi.encode(proof), "");
        assertEq(verifier.calls(), 0);
    }

    function test_step_positionPastTheEndCannotBeProven() public {
        // The defender claims 131 transactions; position 130 does not exist, so the step fails
        // and the defender, whose clock runs at the step, loses.
        DisputeGame game = _level2(131);
        _bisectTxs(game, 130);
        (bytes32 root, uint256 gas, bytes32 receipts) = _pre(130, 131);
        vm.expectRevert(abi.encodeWithSelector(DisputeGame.TxNotInBlock.selector, 130));
        game.step(root, gas, receipts, _tx(129), _absentProof(130), "");
        _expireTurn(game);
        game.resolve();
        assertEq(uint8(game.status()), uint8(GameStatus.CHALLENGER_WINS));
    }

    function test_level2_defenderTimesOut() public {
        DisputeGame game = _level2(fxTxCount);
        _expireTurn(game);
        vm.prank(defender);
        vm.expectRevert(DisputeGame.ClockExpired.selector);
        game.defendTx(_d(65, fxTxCount));
        game.resolve();
        assertEq(uint8(game.status()), uint8(GameStatus.CHALLENGER_WINS));
    }

    function test_level2_challengerTimesOut() public {
        DisputeGame game = _level2(fxTxCount);
        vm.prank(defender);
        game.defendTx(_d(65, fxTxCount));
        _expireTurn(game);
        vm.prank(challenger);
        vm.expectRevert(DisputeGame.ClockExpired.selector);
        game.chooseTx(true);
        game.resolve();
        assertEq(uint8(game.status()), uint8(GameStatus.DEFENDER_WINS));
    }

    function test_level2_outOfTurn() public {
        DisputeGame game = _level2(fxTxCount);
        vm.prank(challenger);
        vm.expectRevert(DisputeGame.NotYourTurn.selector);
        game.chooseTx(true);
        vm.prank(challenger);
        vm.expectRevert(DisputeGame.NotDefender.selector);
        game.defendTx(0);
        vm.prank(defender);
        game.defendTx(0);
        vm.prank(defender);
        vm.expectRevert(DisputeGame.NotYourTurn.selector);
        game.defendTx(0);
        vm.prank(defender);
        vm.expectRevert(DisputeGame.NotChallenger.selector);
        game.chooseTx(false);
    }

    function test_step_defenderTimesOut_challengerWins() public {
        DisputeGame game = _level2(fxTxCount);
        _bisectTxs(game, 3);
        assertEq(game.turn(), defender, "the defender's clock runs at the step");
        _expireTurn(game);
        (bytes32 root, uint256 gas, bytes32 receipts) = _pre(3, fxTxCount);
        vm.expectRevert(DisputeGame.ClockExpired.selector);
        game.step(root, gas, receipts, _tx(3), _txProof(3), "");
        game.resolve();
        assertEq(uint8(game.status()), uint8(GameStatus.CHALLENGER_WINS));
    }

    function test_movesAfterResolutionRevert() public {
        DisputeGame game = _stepGame(5, true);
        vm.expectRevert(DisputeGame.GameAlreadyResolved.selector);
        game.resolve();
        StepArgs memory a = _stepArgs(5, fxTxCount);
        vm.expectRevert(DisputeGame.GameAlreadyResolved.selector);
        game.step(a.root, a.gas, a.receipts, a.txRlp, a.proof, "");
        vm.prank(challenger);
        vm.expectRevert(DisputeGame.GameAlreadyResolved.selector);
        game.proveTxCountTooLow(_txProof(5));
        vm.prank(defender);
        vm.expectRevert(DisputeGame.GameAlreadyResolved.selector);
        game.defendTx(0);
        vm.prank(challenger);
        vm.expectRevert(DisputeGame.GameAlreadyResolved.selector);
        game.chooseBlock(true);
        // Timeouts cannot change a decided game either.
        vm.warp(block.timestamp + 10 * CLOCK);
        vm.expectRevert(DisputeGame.GameAlreadyResolved.selector);
        game.resolve();
        assertEq(uint8(game.status()), uint8(GameStatus.DEFENDER_WINS));
    }

    // ------------------------------------------------------------------ tx count

    function test_txCount_tooLow_challengerWins() public {
        DisputeGame game = _level2(fxTxCount - 1);
        vm.prank(challenger);
        vm.expectEmit(address(game));
        emit DisputeGame.TxCountDisproven(challenger, fxTxCount - 1, true);
        game.proveTxCountTooLow(_txProof(fxTxCount - 1));
        assertEq(uint8(game.status()), uint8(GameStatus.CHALLENGER_WINS));
    }

    function test_txCount_tooHigh_challengerWins() public {
        DisputeGame game = _level2(fxTxCount + 1);
        vm.prank(challenger);
        game.proveTxCountTooHigh(_absentProof(130));
        assertEq(uint8(game.status()), uint8(GameStatus.CHALLENGER_WINS));
    }

    function test_txCount_tooHigh_atStepStage() public {
        // Far too many: 132 claimed, 130 real; disproven after the bisection reached the step.
        DisputeGame game = _level2(fxTxCount + 2);
        _bisectTxs(game, 40);
        vm.prank(challenger);
        game.proveTxCountTooHigh(_absentProof(131));
        assertEq(uint8(game.status()), uint8(GameStatus.CHALLENGER_WINS));
    }

    function test_txCount_correctCountCannotBeDisproven() public {
        DisputeGame game = _level2(fxTxCount);
        vm.startPrank(challenger);
        vm.expectRevert(DisputeGame.TxCountNotDisproven.selector);
        game.proveTxCountTooLow(_absentProof(130));
        vm.expectRevert(DisputeGame.TxCountNotDisproven.selector);
        game.proveTxCountTooHigh(_txProof(129));
        // A proof for another key does not fit this one.
        vm.expectRevert();
        game.proveTxCountTooHigh(_txProof(5));
        vm.stopPrank();
        vm.prank(defender);
        vm.expectRevert(DisputeGame.NotChallenger.selector);
        game.proveTxCountTooLow(_txProof(129));
        assertEq(uint8(game.status()), uint8(GameStatus.IN_PROGRESS));
    }

    function test_txCount_afterTimeoutReverts() public {
        DisputeGame game = _level2(fxTxCount - 1);
        _expireTurn(game);
        vm.prank(challenger);
        vm.expectRevert(DisputeGame.ClockExpired.selector);
        game.proveTxCountTooLow(_txProof(fxTxCount - 1));
    }

    // ------------------------------------------------------------------ fuzz

    /// @dev Any block of any interval is reachable; every midpoint is strictly inside the
    ///      interval; the number of rounds is ceil(log2(length)).
    function testFuzz_bisection_reachesAnyBlock(uint256 start, uint256 length, uint256 target) public {
        start = bound(start, 0, type(uint64).max);
        length = bound(length, 1, 1 << 40);
        target = bound(target, start + 1, start + length);
        GameParams memory p = _params(start, keccak256("lo"), start + length, keccak256("hi"));
        DisputeGame game = DisputeGame(address(factory.create(p)));
        uint256 rounds;
        while (game.stage() == Stage.BLOCKS) {
            uint256 lo = game.lo();
            uint256 hi = game.hi();
            uint256 m = game.mid();
            assertTrue(lo < m && m < hi, "mid inside");
            assertEq(m, (lo + hi) / 2);
            vm.prank(defender);
            game.defendBlock(keccak256(abi.encode(m)));
            vm.prank(challenger);
            game.chooseBlock(m < target);
            ++rounds;
        }
        assertEq(game.hi(), target);
        assertEq(game.lo(), target - 1);
        uint256 maxRounds;
        while ((uint256(1) << maxRounds) < length) ++maxRounds;
        assertLe(rounds, maxRounds, "rounds");
        assertEq(uint8(game.stage()), uint8(Stage.OPEN_BLOCK));
    }

    /// @dev Any tx position of any count is reachable at level 2.
    function testFuzz_bisection_reachesAnyTx(uint256 txCount, uint256 target) public {
        txCount = bound(txCount, 1, 1 << 32);
        target = bound(target, 0, txCount - 1);
        DisputeGame game = _level2(txCount);
        while (game.stage() == Stage.TXS) {
            uint256 m = game.mid();
            assertTrue(game.lo() < m && m < game.hi(), "mid inside");
            vm.prank(defender);
            game.defendTx(keccak256(abi.encode(m)));
            vm.prank(challenger);
            game.chooseTx(m <= target);
        }
        assertEq(game.lo(), target);
        assertEq(game.hi(), target + 1);
        assertEq(uint8(game.stage()), uint8(Stage.STEP));
    }

    /// @dev Chess clocks under random thinking times: only the mover is charged, a move is
    ///      allowed strictly before its clock runs out, and the mover who runs out loses.
    function testFuzz_clocks_chargeOnlyTheMover(uint256 seed, uint256 moves) public {
        moves = bound(moves, 0, 30);
        DisputeGame game = _create(0, 1 << 20);
        uint256 dUsed;
        uint256 cUsed;
        for (uint256 i; i < moves; ++i) {
            bool defenderTurn = game.defenderToMove();
            uint256 left = CLOCK - (defenderTurn ? dUsed : cUsed);
            uint256 wait = uint256(keccak256(abi.encode(seed, i))) % (left / 3 + 1);
            vm.warp(block.timestamp + wait);
            if (defenderTurn) {
                vm.prank(defender);
                game.defendBlock(bytes32(i));
                dUsed += wait;
            } else {
                vm.prank(challenger);
                game.chooseBlock(uint256(keccak256(abi.encode(seed, i, "agree"))) % 2 == 0);
                cUsed += wait;
            }
            assertEq(game.defenderClock(), CLOCK - dUsed, "defender clock");
            assertEq(game.challengerClock(), CLOCK - cUsed, "challenger clock");
        }
        bool defenderLoses = game.defenderToMove();
        uint256 remaining = CLOCK - (defenderLoses ? dUsed : cUsed);
        vm.warp(block.timestamp + remaining - 1);
        assertFalse(game.expired(), "one second left");
        vm.expectRevert(DisputeGame.GameNotOver.selector);
        game.resolve();
        vm.warp(block.timestamp + 1);
        assertTrue(game.expired(), "ran out");
        game.resolve();
        assertEq(uint8(game.status()), uint8(defenderLoses ? GameStatus.CHALLENGER_WINS : GameStatus.DEFENDER_WINS));
    }

    // ------------------------------------------------------------------ gas

    /// @dev Gas of each move kind (call gas, without the 21k intrinsic and calldata), printed
    ///      with `forge test -vv --match-test test_gas_moves`.
    function test_gas_moves() public {
        DisputeGameFactory f = new DisputeGameFactory(address(this), new ConstStepVerifier(), CLOCK, CHAIN_ID);
        DisputeGame game = DisputeGame(address(f.create(_params(0, _claim(0), 10, _claim(10)))));
        emit log_named_uint("create (factory.create: clone + initialize)", vm.lastCallGas().gasTotalUsed);
        vm.prank(defender);
        game.defendBlock(_claim(5));
        emit log_named_uint("defendBlock", vm.lastCallGas().gasTotalUsed);
        vm.prank(challenger);
        game.chooseBlock(false);
        emit log_named_uint("chooseBlock", vm.lastCallGas().gasTotalUsed);
        _bisectBlocks(game, fxNumber);
        _openBlock(game, fxTxCount);
        emit log_named_uint("openBlock (20-field header, 4-node account proof)", vm.lastCallGas().gasTotalUsed);
        vm.prank(defender);
        game.defendTx(_d(65, fxTxCount));
        emit log_named_uint("defendTx", vm.lastCallGas().gasTotalUsed);
        vm.prank(challenger);
        game.chooseTx(false);
        emit log_named_uint("chooseTx", vm.lastCallGas().gasTotalUsed);
        _bisectTxs(game, 20);
        _step(game);
        emit log_named_uint("step (3-node tx proof, no-op verifier)", vm.lastCallGas().gasTotalUsed);

        DisputeGame timed = DisputeGame(address(f.create(_params(0, _claim(0), 10, _claim(10)))));
        vm.warp(block.timestamp + CLOCK);
        timed.resolve();
        emit log_named_uint("resolve (timeout)", vm.lastCallGas().gasTotalUsed);
        assertLt(vm.lastCallGas().gasTotalUsed, 50_000, "resolve gas");
    }
}
