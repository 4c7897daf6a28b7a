// SPDX-License-Identifier: MIT OR Apache-2.0
pragma solidity 0.8.30;

import {SettlementSetup} from "./utils/SettlementSetup.sol";
import {MockDisputeGame, ZeroGameFactory, EthRejecter} from "./utils/Mocks.sol";
import {OutputOracle, OutputOracleInit, Proposal} from "../src/OutputOracle.sol";
import {GameParams} from "../src/interfaces/IDisputeGameFactory.sol";
import {GameStatus} from "../src/interfaces/IDisputeGame.sol";
import {Proxy} from "../src/proxy/Proxy.sol";

contract OutputOracleTest is SettlementSetup {
    bytes32 internal constant ROOT = keccak256("root");

    // ------------------------------------------------------------------ propose

    function test_propose_storesProposalAndEmits() public {
        uint256 l2Block = INTERVAL;
        vm.warp(genesisTime + l2Block);
        vm.expectEmit(true, true, true, true, address(oracle));
        emit OutputOracle.OutputProposed(ROOT, 0, l2Block, block.timestamp);
        vm.prank(proposer);
        oracle.propose{value: PROPOSAL_BOND}(l2Block, ROOT);

        Proposal memory p = oracle.getOutput(0);
        assertEq(p.outputRoot, ROOT);
        assertEq(p.proposer, proposer);
        assertEq(uint256(p.l2BlockNumber), l2Block);
        assertEq(uint256(p.proposedAt), block.timestamp);
        assertEq(uint256(p.challengeDeadline), block.timestamp + WINDOW);
        assertEq(uint256(p.bond), PROPOSAL_BOND);
        assertEq(oracle.outputCount(), 1);
        assertEq(oracle.outputRootAt(0), ROOT);
        assertEq(oracle.outputRootAt(1), bytes32(0));
        assertEq(oracle.latestBlockNumber(), l2Block);
        assertEq(oracle.nextBlockNumber(), l2Block + INTERVAL);
        assertEq(address(oracle).balance, PROPOSAL_BOND);
    }

    function test_propose_gas() public {
        uint256 l2Block = INTERVAL;
        vm.warp(genesisTime + l2Block);
        vm.prank(proposer);
        oracle.propose{value: PROPOSAL_BOND}(l2Block, ROOT);
        uint256 first = vm.lastCallGas().gasTotalUsed;
        vm.warp(genesisTime + 2 * l2Block);
        vm.prank(proposer);
        oracle.propose{value: PROPOSAL_BOND}(2 * l2Block, ROOT);
        uint256 second = vm.lastCallGas().gasTotalUsed;
        assertLt(second, 160_000, "propose gas");
        assertLt(first, 160_000, "first propose gas");
    }

    function test_propose_revertsForNonProposer() public {
        vm.warp(genesisTime + INTERVAL);
        vm.expectRevert(OutputOracle.NotProposer.selector);
        vm.prank(alice);
        oracle.propose{value: PROPOSAL_BOND}(INTERVAL, ROOT);
        assertEq(address(oracle).balance, 0);
    }

    function testFuzz_propose_revertsOnWrongBond(uint256 bond) public {
        bond = bound(bond, 0, 100 ether);
        vm.assume(bond != PROPOSAL_BOND);
        vm.warp(genesisTime + INTERVAL);
        vm.expectRevert(abi.encodeWithSelector(OutputOracle.IncorrectBond.selector, bond, PROPOSAL_BOND));
        vm.prank(proposer);
        oracle.propose{value: bond}(INTERVAL, ROOT);
        assertEq(address(oracle).balance, 0);
        assertEq(proposer.balance, 1_000 ether);
    }

    function testFuzz_propose_onlyAtNextBlockNumber(uint256 l2Block) public {
        l2Block = bound(l2Block, 0, 1_000_000);
        vm.assume(l2Block != INTERVAL);
        vm.warp(genesisTime + 2_000_000);
        vm.expectRevert(abi.encodeWithSelector(OutputOracle.UnexpectedBlockNumber.selector, l2Block, INTERVAL));
        vm.prank(proposer);
        oracle.propose{value: PROPOSAL_BOND}(l2Block, ROOT);
    }

    function test_propose_revertsForFutureBlock() public {
        // Block INTERVAL has timestamp genesis + INTERVAL seconds.
        vm.warp(genesisTime + INTERVAL - 1);
        vm.expectRevert(abi.encodeWithSelector(OutputOracle.BlockInFuture.selector, INTERVAL, genesisTime + INTERVAL));
        vm.prank(proposer);
        oracle.propose{value: PROPOSAL_BOND}(INTERVAL, ROOT);
        // Exactly at the block's timestamp it is accepted.
        vm.warp(genesisTime + INTERVAL);
        vm.prank(proposer);
        oracle.propose{value: PROPOSAL_BOND}(INTERVAL, ROOT);
    }

    function test_propose_revertsOnZeroRoot() public {
        vm.warp(genesisTime + INTERVAL);
        vm.expectRevert(OutputOracle.EmptyOutputRoot.selector);
        vm.prank(proposer);
        oracle.propose{value: PROPOSAL_BOND}(INTERVAL, bytes32(0));
    }

    function test_propose_followsProposerRotation() public {
        vm.prank(owner);
        config.setProposer(bob);
        vm.warp(genesisTime + INTERVAL);
        vm.expectRevert(OutputOracle.NotProposer.selector);
        vm.prank(proposer);
        oracle.propose{value: PROPOSAL_BOND}(INTERVAL, ROOT);
        vm.prank(bob);
        oracle.propose{value: PROPOSAL_BOND}(INTERVAL, ROOT);
    }

    function test_computeL2Timestamp_subSecondBlocks() public {
        OutputOracleInit memory oi = _init();
        oi.l2BlockTimeMs = 250;
        OutputOracle o = _deployOracle(oi);
        assertEq(o.computeL2Timestamp(0), genesisTime);
        assertEq(o.computeL2Timestamp(3), genesisTime); // 750 ms
        assertEq(o.computeL2Timestamp(4), genesisTime + 1);
        assertEq(o.computeL2Timestamp(41), genesisTime + 10); // 10.25 s
    }

    // ------------------------------------------------------------------ finality

    function test_finalizes_afterWindowOnly() public {
        (uint256 i,) = _propose(ROOT);
        assertFalse(oracle.isFinalized(i));
        vm.warp(block.timestamp + WINDOW - 1);
        assertFalse(oracle.isFinalized(i));
        assertEq(oracle.finalizedCount(), 0);
        vm.expectRevert(OutputOracle.NoFinalizedOutput.selector);
        oracle.latestFinalizedIndex();
        (uint256 b, bytes32 r) = oracle.latestFinalizedOutput();
        assertEq(b, 0);
        assertEq(r, keccak256("genesis"));
        vm.warp(block.timestamp + 1);
        assertTrue(oracle.isFinalized(i));
        assertEq(oracle.latestFinalizedIndex(), i);
        (b, r) = oracle.latestFinalizedOutput();
        assertEq(b, INTERVAL);
        assertEq(r, ROOT);
        assertFalse(oracle.isFinalized(i + 1));
    }

    function test_finality_isSequential() public {
        (uint256 i0,) = _propose(ROOT);
        (uint256 i1,) = _propose(keccak256("r1"));
        vm.prank(bob);
        oracle.challenge{value: CHALLENGE_BOND}(i0);
        vm.warp(block.timestamp + 2 * WINDOW);
        // i1's own window passed, but i0 is under dispute, so i1 is not final.
        assertFalse(oracle.isFinalized(i0));
        assertFalse(oracle.isFinalized(i1));
        // And i1 can no longer be challenged (its window closed).
        vm.expectRevert(abi.encodeWithSelector(OutputOracle.ChallengeWindowClosed.selector, i1));
        vm.prank(bob);
        oracle.challenge{value: CHALLENGE_BOND}(i1);
    }

    function test_checkpoint_releasesBonds() public {
        _propose(ROOT);
        _propose(keccak256("r1"));
        _propose(keccak256("r2"));
        vm.warp(block.timestamp + WINDOW);
        assertEq(oracle.finalizedCount(), 3);
        assertEq(oracle.checkpoint(2), 2);
        assertEq(oracle.credit(proposer), 2 * PROPOSAL_BOND);
        assertEq(oracle.checkpoint(10), 3);
        assertEq(oracle.credit(proposer), 3 * PROPOSAL_BOND);
        assertEq(oracle.checkpoint(10), 3);
        assertTrue(oracle.isFinalized(2));

        uint256 before = proposer.balance;
        vm.prank(proposer);
        oracle.claimCredit();
        assertEq(proposer.balance, before + 3 * PROPOSAL_BOND);
        assertEq(address(oracle).balance, 0);
        vm.expectRevert(OutputOracle.NoCredit.selector);
        vm.prank(proposer);
        oracle.claimCredit();
    }

    function test_propose_advancesCheckpoint() public {
        _propose(ROOT);
        _propose(keccak256("r1"));
        _propose(keccak256("r2"));
        vm.warp(block.timestamp + WINDOW);
        assertEq(oracle.finalizedCheckpoint(), 0);
        _propose(keccak256("r3"));
        assertEq(oracle.finalizedCheckpoint(), 2, "two steps per proposal");
        assertEq(oracle.credit(proposer), 2 * PROPOSAL_BOND);
        _propose(keccak256("r4"));
        assertEq(oracle.finalizedCheckpoint(), 3, "stops at the first unfinal proposal");
        assertEq(oracle.credit(proposer), 3 * PROPOSAL_BOND);
    }

    function test_checkpoint_stopsAtUnfinalized() public {
        _propose(ROOT);
        vm.warp(block.timestamp + WINDOW);
        _propose(keccak256("r1"));
        assertEq(oracle.checkpoint(10), 1);
        assertEq(oracle.credit(proposer), PROPOSAL_BOND);
    }

    // ------------------------------------------------------------------ challenge

    function test_challenge_opensGameWithParams() public {
        (uint256 i0,) = _propose(ROOT);
        (uint256 i1, uint256 b1) = _propose(keccak256("r1"));
        vm.prank(bob);
        oracle.challenge{value: CHALLENGE_BOND}(i1);
        MockDisputeGame game = factory.lastGame();
        GameParams memory gp = game.params();
        assertEq(gp.outputIndex, i1);
        assertEq(gp.defender, proposer);
        assertEq(gp.challenger, bob);
        assertEq(gp.startingBlockNumber, oracle.getOutput(i0).l2BlockNumber);
        assertEq(gp.startingOutputRoot, ROOT);
        assertEq(gp.disputedBlockNumber, b1);
        assertEq(gp.disputedOutputRoot, keccak256("r1"));
        Proposal memory p = oracle.getOutput(i1);
        assertEq(address(p.game), address(game));
        assertEq(p.challenger, bob);
        assertEq(uint256(p.challengerBond), CHALLENGE_BOND);
        assertEq(address(oracle).balance, 2 * PROPOSAL_BOND + CHALLENGE_BOND);
    }

    function test_challenge_firstProposalAnchorsOnStartingOutput() public {
        (uint256 i0,) = _propose(ROOT);
        vm.prank(bob);
        oracle.challenge{value: CHALLENGE_BOND}(i0);
        GameParams memory gp = factory.lastGame().params();
        assertEq(gp.startingBlockNumber, 0);
        assertEq(gp.startingOutputRoot, keccak256("genesis"));
    }

    function testFuzz_challenge_revertsOnWrongBond(uint256 bond) public {
        bond = bound(bond, 0, 100 ether);
        vm.assume(bond != CHALLENGE_BOND);
        (uint256 i,) = _propose(ROOT);
        vm.expectRevert(abi.encodeWithSelector(OutputOracle.IncorrectBond.selector, bond, CHALLENGE_BOND));
        vm.prank(bob);
        oracle.challenge{value: bond}(i);
        assertEq(address(oracle).balance, PROPOSAL_BOND);
    }

    function test_challenge_reverts() public {
        vm.expectRevert(abi.encodeWithSelector(OutputOracle.OutputNotFound.selector, 0));
        vm.prank(bob);
        oracle.challenge{value: CHALLENGE_BOND}(0);

        (uint256 i,) = _propose(ROOT);
        vm.prank(bob);
        oracle.challenge{value: CHALLENGE_BOND}(i);
        vm.expectRevert(abi.encodeWithSelector(OutputOracle.AlreadyChallenged.selector, i));
        vm.prank(alice);
        oracle.challenge{value: CHALLENGE_BOND}(i);

        (uint256 j,) = _propose(keccak256("r1"));
        vm.warp(block.timestamp + WINDOW);
        vm.expectRevert(abi.encodeWithSelector(OutputOracle.ChallengeWindowClosed.selector, j));
        vm.prank(alice);
        oracle.challenge{value: CHALLENGE_BOND}(j);
    }

    function test_challenge_restrictedToChallengerRole() public {
        vm.prank(owner);
        config.setChallenger(bob);
        (uint256 i,) = _propose(ROOT);
        vm.expectRevert(OutputOracle.NotChallenger.selector);
        vm.prank(alice);
        oracle.challenge{value: CHALLENGE_BOND}(i);
        vm.prank(bob);
        oracle.challenge{value: CHALLENGE_BOND}(i);
    }

    function test_challenge_requiresFactory() public {
        OutputOracleInit memory oi = _init();
        oi.disputeGameFactory = address(0);
        OutputOracle o = _deployOracle(oi);
        vm.warp(genesisTime + INTERVAL);
        vm.prank(proposer);
        o.propose{value: PROPOSAL_BOND}(INTERVAL, ROOT);
        vm.expectRevert(OutputOracle.DisputeGameFactoryNotSet.selector);
        vm.prank(bob);
        o.challenge{value: CHALLENGE_BOND}(0);

        address zeroFactory = address(new ZeroGameFactory());
        vm.expectRevert(OutputOracle.NotOwner.selector);
        o.setDisputeGameFactory(zeroFactory);
        vm.prank(owner);
        o.setDisputeGameFactory(zeroFactory);
        vm.expectRevert(OutputOracle.InvalidGame.selector);
        vm.prank(bob);
        o.challenge{value: CHALLENGE_BOND}(0);
    }

    // ------------------------------------------------------------------ resolve

    function test_resolve_challengerWins_deletesLaterAndPays() public {
        (uint256 i0,) = _propose(ROOT);
        (uint256 i1,) = _propose(keccak256("bad"));
        (uint256 i2,) = _propose(keccak256("r2"));
        (uint256 i3,) = _propose(keccak256("r3"));
        vm.prank(bob);
        oracle.challenge{value: CHALLENGE_BOND}(i1);
        MockDisputeGame g1 = factory.lastGame();
        vm.prank(alice);
        oracle.challenge{value: CHALLENGE_BOND}(i3);

        vm.expectRevert(abi.encodeWithSelector(OutputOracle.GameNotResolved.selector, i1));
        oracle.resolve(i1);

        g1.setStatus(GameStatus.CHALLENGER_WINS);
        vm.expectEmit(true, true, true, true, address(oracle));
        emit OutputOracle.OutputsDeleted(i1, 4);
        oracle.resolve(i1);

        assertEq(oracle.outputCount(), 1);
        assertEq(oracle.outputRootAt(0), ROOT);
        assertEq(oracle.outputRootAt(1), bytes32(0));
        assertEq(oracle.latestBlockNumber(), oracle.getOutput(i0).l2BlockNumber);
        assertEq(oracle.nextBlockNumber(), 2 * INTERVAL);
        assertEq(oracle.credit(bob), PROPOSAL_BOND + CHALLENGE_BOND, "challenger gets both bonds");
        // i2 and i3 were not proven wrong: bonds refunded, alice's open challenge refunded.
        assertEq(oracle.credit(proposer), 2 * PROPOSAL_BOND);
        assertEq(oracle.credit(alice), CHALLENGE_BOND);
        assertEq(address(oracle).balance, PROPOSAL_BOND + oracle.credit(bob) + oracle.credit(proposer) + CHALLENGE_BOND);
        vm.expectRevert(abi.encodeWithSelector(OutputOracle.OutputNotFound.selector, i2));
        oracle.getOutput(i2);

        // The sequence continues from i0.
        (uint256 again, uint256 b) = _propose(keccak256("good"));
        assertEq(again, 1);
        assertEq(b, 2 * INTERVAL);
    }

    function test_resolve_defenderWins_paysProposerAndReopensWindow() public {
        (uint256 i,) = _propose(ROOT);
        vm.warp(block.timestamp + WINDOW - 10);
        vm.prank(bob);
        oracle.challenge{value: CHALLENGE_BOND}(i);
        MockDisputeGame g = factory.lastGame();
        vm.warp(block.timestamp + 3 days);
        assertFalse(oracle.isFinalized(i));
        g.setStatus(GameStatus.DEFENDER_WINS);
        oracle.resolve(i);

        assertEq(oracle.credit(proposer), CHALLENGE_BOND);
        Proposal memory p = oracle.getOutput(i);
        assertEq(address(p.game), address(0));
        assertEq(uint256(p.challengeDeadline), block.timestamp + WINDOW);
        assertFalse(oracle.isFinalized(i));
        // A fresh challenge is possible during the new window...
        vm.prank(alice);
        oracle.challenge{value: CHALLENGE_BOND}(i);
        factory.lastGame().setStatus(GameStatus.DEFENDER_WINS);
        oracle.resolve(i);
        vm.warp(block.timestamp + WINDOW);
        assertTrue(oracle.isFinalized(i));
        assertEq(oracle.credit(proposer), 2 * CHALLENGE_BOND);
        vm.expectRevert(abi.encodeWithSelector(OutputOracle.NoOpenChallenge.selector, i));
        oracle.resolve(i);
    }

    function test_resolve_reverts() public {
        vm.expectRevert(abi.encodeWithSelector(OutputOracle.OutputNotFound.selector, 0));
        oracle.resolve(0);
        (uint256 i,) = _propose(ROOT);
        vm.expectRevert(abi.encodeWithSelector(OutputOracle.NoOpenChallenge.selector, i));
        oracle.resolve(i);
    }

    function test_claimCredit_rejectingRecipientKeepsCredit() public {
        EthRejecter rejecter = new EthRejecter();
        vm.deal(address(rejecter), 10 ether);
        (uint256 i,) = _propose(ROOT);
        vm.prank(address(rejecter));
        oracle.challenge{value: CHALLENGE_BOND}(i);
        factory.lastGame().setStatus(GameStatus.CHALLENGER_WINS);
        oracle.resolve(i);
        uint256 owed = oracle.credit(address(rejecter));
        assertEq(owed, PROPOSAL_BOND + CHALLENGE_BOND);
        vm.expectRevert(OutputOracle.CreditTransferFailed.selector);
        vm.prank(address(rejecter));
        oracle.claimCredit();
        assertEq(oracle.credit(address(rejecter)), owed);
        assertEq(address(oracle).balance, owed);
    }

    // ------------------------------------------------------------------ init / upgrade safety

    function test_initialize_onlyOnce() public {
        vm.expectRevert(bytes4(keccak256("AlreadyInitialized()")));
        oracle.initialize(_init());
        OutputOracle impl = new OutputOracle();
        vm.expectRevert(bytes4(keccak256("AlreadyInitialized()")));
        impl.initialize(_init());
    }

    function test_initialize_rejectsBadParameters() public {
        OutputOracleInit memory oi = _init();
        oi.proposalInterval = 0;
        _expectInitRevert(oi);
        oi = _init();
        oi.challengeWindow = 0;
        _expectInitRevert(oi);
        oi = _init();
        oi.l2BlockTimeMs = 0;
        _expectInitRevert(oi);
        oi = _init();
        oi.proposalBond = uint256(type(uint96).max) + 1;
        _expectInitRevert(oi);
    }

    function _expectInitRevert(OutputOracleInit memory oi) internal {
        address impl = address(new OutputOracle());
        vm.expectRevert(
            abi.encodeWithSelector(
                Proxy.InitializationFailed.selector, abi.encodeWithSelector(OutputOracle.InvalidParameter.selector)
            )
        );
        new Proxy(admin, impl, abi.encodeCall(OutputOracle.initialize, (oi)));
    }

    function _init() internal view returns (OutputOracleInit memory) {
        return OutputOracleInit({
            systemConfig: address(config),
            disputeGameFactory: address(factory),
            proposalInterval: INTERVAL,
            l2BlockTimeMs: BLOCK_TIME_MS,
            genesisL2Timestamp: genesisTime,
            startingBlockNumber: 0,
            startingOutputRoot: keccak256("genesis"),
            challengeWindow: WINDOW,
            proposalBond: PROPOSAL_BOND,
            challengeBond: CHALLENGE_BOND
        });
    }

    function _deployOracle(OutputOracleInit memory oi) internal returns (OutputOracle) {
        return OutputOracle(
            address(new Proxy(admin, address(new OutputOracle()), abi.encodeCall(OutputOracle.initialize, (oi))))
        );
    }
}
