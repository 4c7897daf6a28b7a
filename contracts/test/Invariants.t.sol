// SPDX-License-Identifier: MIT OR Apache-2.0
pragma solidity 0.8.30;

import {SettlementSetup} from "./utils/SettlementSetup.sol";
import {MockDisputeGame, MockDisputeGameFactory} from "./utils/Mocks.sol";
import {vm} from "./utils/Vm.sol";
import {OutputOracle, Proposal} from "../src/OutputOracle.sol";
import {Portal} from "../src/Portal.sol";
import {GameStatus} from "../src/interfaces/IDisputeGame.sol";
import {Hashing} from "../src/lib/Hashing.sol";
import {OutputRootProof, WithdrawalTx} from "../src/lib/Types.sol";

/// @notice Random sequences of oracle actions by the proposer and several challengers.
contract OracleHandler {
    OutputOracle internal immutable oracle;
    MockDisputeGameFactory internal immutable factory;
    address internal immutable proposer;
    address[] internal actors;

    uint256 public ghostIn;
    uint256 public ghostOut;
    /// @dev Proposals observed final: index -> root (they must never change).
    uint256[] public finalIndexes;
    mapping(uint256 => bytes32) public finalRoots;

    constructor(OutputOracle oracle_, MockDisputeGameFactory factory_, address proposer_) {
        oracle = oracle_;
        factory = factory_;
        proposer = proposer_;
        actors.push(proposer_);
        actors.push(address(0xC1));
        actors.push(address(0xC2));
        actors.push(address(0xC3));
        for (uint256 i; i < actors.length; ++i) {
            vm.deal(actors[i], 1_000_000 ether);
        }
    }

    function actorCount() external view returns (uint256) {
        return actors.length;
    }

    function actor(uint256 i) external view returns (address) {
        return actors[i];
    }

    function propose(bytes32 root, uint256 bondSeed) external {
        uint256 l2Block = oracle.nextBlockNumber();
        uint256 ts = oracle.computeL2Timestamp(l2Block);
        if (block.timestamp < ts) vm.warp(ts);
        // Mostly the right bond; sometimes a wrong one (must revert and move nothing).
        uint256 bond = bondSeed % 8 == 0 ? bondSeed % 3 ether : oracle.proposalBond();
        vm.prank(proposer);
        try oracle.propose{value: bond}(l2Block, root == bytes32(0) ? bytes32(uint256(1)) : root) {
            ghostIn += bond;
        } catch {}
    }

    function challenge(uint256 indexSeed, uint256 actorSeed) external {
        uint256 n = oracle.outputCount();
        if (n == 0) return;
        address who = actors[actorSeed % actors.length];
        uint256 bond = oracle.challengeBond();
        vm.prank(who);
        try oracle.challenge{value: bond}(indexSeed % n) {
            ghostIn += bond;
        } catch {}
    }

    function resolve(uint256 indexSeed, bool challengerWins) external {
        uint256 n = oracle.outputCount();
        if (n == 0) return;
        uint256 index = indexSeed % n;
        Proposal memory p = oracle.getOutput(index);
        if (address(p.game) == address(0)) return;
        MockDisputeGame(address(p.game))
            .setStatus(challengerWins ? GameStatus.CHALLENGER_WINS : GameStatus.DEFENDER_WINS);
        oracle.resolve(index);
    }

    function warp(uint256 secs) external {
        vm.warp(block.timestamp + (secs % 4 days));
    }

    function checkpoint(uint256 steps) external {
        oracle.checkpoint(steps % 8);
    }

    function claim(uint256 actorSeed) external {
        address who = actors[actorSeed % actors.length];
        uint256 owed = oracle.credit(who);
        vm.prank(who);
        try oracle.claimCredit() {
            ghostOut += owed;
        } catch {}
    }

    /// @dev Records every proposal that is final now (called by the fuzzer too).
    function observeFinal() public {
        uint256 count = oracle.finalizedCount();
        for (uint256 i; i < count; ++i) {
            if (finalRoots[i] == bytes32(0)) {
                finalRoots[i] = oracle.getOutput(i).outputRoot;
                finalIndexes.push(i);
            }
        }
    }

    function finalCount() external view returns (uint256) {
        return finalIndexes.length;
    }
}

contract OracleInvariantTest is SettlementSetup {
    OracleHandler internal handler;

    function setUp() public override {
        super.setUp();
        handler = new OracleHandler(oracle, factory, proposer);
        targetContract(address(handler));
    }

    /// @notice Bonds are conserved: the oracle holds exactly the bonds of live proposals and
    ///         open challenges plus unclaimed credit, and that equals what came in minus what left.
    function invariant_bondsConserved() public view {
        uint256 held;
        uint256 n = oracle.outputCount();
        for (uint256 i; i < n; ++i) {
            Proposal memory p = oracle.getOutput(i);
            held += uint256(p.bond) + p.challengerBond;
        }
        for (uint256 i; i < handler.actorCount(); ++i) {
            held += oracle.credit(handler.actor(i));
        }
        assertEq(address(oracle).balance, held, "balance = live bonds + credit");
        assertEq(address(oracle).balance, handler.ghostIn() - handler.ghostOut(), "balance = in - out");
    }

    /// @notice A final proposal never changes or disappears.
    function invariant_finalIsFinal() public {
        handler.observeFinal();
        uint256 n = handler.finalCount();
        for (uint256 k; k < n; ++k) {
            uint256 i = handler.finalIndexes(k);
            assertTrue(oracle.isFinalized(i), "still final");
            assertEq(oracle.getOutput(i).outputRoot, handler.finalRoots(i), "same root");
        }
    }

    /// @notice Proposals stay one sequence at `proposalInterval` steps.
    function invariant_sequence() public view {
        uint256 n = oracle.outputCount();
        for (uint256 i; i < n; ++i) {
            assertEq(uint256(oracle.getOutput(i).l2BlockNumber), (i + 1) * INTERVAL, "block numbers");
        }
        assertEq(oracle.nextBlockNumber(), oracle.latestBlockNumber() + INTERVAL);
        assertLe(oracle.finalizedCheckpoint(), n, "checkpoint within range");
    }
}

/// @notice Random deposits and withdrawals through the portal, including replays and early
///         finalization attempts.
contract PortalHandler {
    Portal internal immutable portal;
    OutputOracle internal immutable oracle;
    address internal immutable proposer;
    address public immutable recipient = address(0xBEEF00);

    uint256 public ghostDeposited;
    uint256 public ghostWithdrawn;
    uint256 public nextNonce;
    WithdrawalTx[] internal pending;
    mapping(bytes32 => uint256) public executions;
    bytes32[] public finalizedHashes;

    constructor(Portal portal_, OutputOracle oracle_, address proposer_) {
        portal = portal_;
        oracle = oracle_;
        proposer = proposer_;
        vm.deal(address(this), 1_000_000 ether);
    }

    function deposit(uint256 amount, uint64 gasLimit, bytes calldata data) external {
        amount = amount % 100 ether;
        vm.prank(address(this), address(this));
        try portal.depositTransaction{value: amount}(address(0xD0), 0, gasLimit, false, data) {
            ghostDeposited += amount;
        } catch {}
    }

    /// @dev Sends a withdrawal on "L2": proposes an output whose storage holds it, and proves it.
    function initiateWithdrawal(uint256 value) external {
        value = value % 50 ether;
        WithdrawalTx memory w = WithdrawalTx({
            nonce: nextNonce++, sender: address(0x5E), target: recipient, value: value, gasLimit: 50_000, data: ""
        });
        bytes32 h = Hashing.withdrawalHash(w);
        bytes32 key = keccak256(abi.encode(Hashing.sentMessageSlot(h)));
        bytes[] memory proof = new bytes[](1);
        proof[0] = abi.encodePacked(bytes1(0xe3), bytes1(0xa1), bytes1(0x20), key, bytes1(0x01));
        OutputRootProof memory orp = OutputRootProof(bytes32(0), keccak256("s"), keccak256(proof[0]), keccak256("b"));
        uint256 l2Block = oracle.nextBlockNumber();
        uint256 ts = oracle.computeL2Timestamp(l2Block);
        if (block.timestamp < ts) vm.warp(ts);
        uint256 index = oracle.outputCount();
        uint256 bond = oracle.proposalBond();
        vm.deal(proposer, bond);
        vm.prank(proposer);
        oracle.propose{value: bond}(l2Block, Hashing.outputRoot(orp));
        portal.proveWithdrawal(w, index, orp, proof);
        pending.push(w);
    }

    function finalize(uint256 seed) external {
        if (pending.length == 0) return;
        WithdrawalTx memory w = pending[seed % pending.length];
        bytes32 h = Hashing.withdrawalHash(w);
        uint256 before = recipient.balance;
        try portal.finalizeWithdrawal(w) {
            executions[h] += 1;
            finalizedHashes.push(h);
            ghostWithdrawn += recipient.balance - before;
        } catch {}
    }

    function warp(uint256 secs) external {
        vm.warp(block.timestamp + (secs % 3 days));
    }

    function finalizedCount() external view returns (uint256) {
        return finalizedHashes.length;
    }

    receive() external payable {}
}

contract PortalInvariantTest is SettlementSetup {
    PortalHandler internal handler;

    function setUp() public override {
        super.setUp();
        handler = new PortalHandler(portal, oracle, proposer);
        // Seed the portal so withdrawals can be paid before deposits accumulate.
        vm.deal(address(this), 1_000 ether);
        vm.prank(address(this), address(this));
        portal.depositTransaction{value: 1_000 ether}(address(this), 0, 21_000, false, "");
        targetContract(address(handler));
    }

    /// @notice ETH held by the portal = everything deposited - everything withdrawn.
    function invariant_portalEthConserved() public view {
        assertEq(
            address(portal).balance, 1_000 ether + handler.ghostDeposited() - handler.ghostWithdrawn(), "portal balance"
        );
        assertEq(handler.recipient().balance, handler.ghostWithdrawn(), "recipient got exactly the withdrawals");
    }

    /// @notice No withdrawal executes twice, and each executed one is marked finalized.
    function invariant_noDoubleWithdrawal() public view {
        uint256 n = handler.finalizedCount();
        for (uint256 i; i < n; ++i) {
            bytes32 h = handler.finalizedHashes(i);
            assertEq(handler.executions(h), 1, "executed once");
            assertTrue(portal.finalizedWithdrawals(h));
        }
    }
}
