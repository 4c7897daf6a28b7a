// SPDX-License-Identifier: MIT OR Apache-2.0
pragma solidity 0.8.30;

import {SettlementSetup} from "./utils/SettlementSetup.sol";
import {Vm} from "./utils/Vm.sol";
import {Forwarder, WithdrawalTarget} from "./utils/Mocks.sol";
import {Portal} from "../src/Portal.sol";
import {GameStatus} from "../src/interfaces/IDisputeGame.sol";
import {AddressAliasing} from "../src/lib/AddressAliasing.sol";
import {Hashing} from "../src/lib/Hashing.sol";
import {MerkleTrie} from "../src/lib/MerkleTrie.sol";
import {OutputRootProof, WithdrawalTx} from "../src/lib/Types.sol";

contract PortalDepositTest is SettlementSetup {
    function test_deposit_emitsDocumentedEncoding() public {
        bytes memory data = hex"deadbeef";
        bytes memory opaque = abi.encodePacked(uint256(3 ether), uint256(1 ether), uint64(50_000), false, data);
        assertEq(opaque.length, 73 + data.length);
        vm.expectEmit(true, true, true, true, address(portal));
        emit Portal.TransactionDeposited(alice, bob, 0, opaque);
        vm.prank(alice, alice);
        portal.depositTransaction{value: 3 ether}(bob, 1 ether, 50_000, false, data);
        assertEq(address(portal).balance, 3 ether);
    }

    function test_deposit_byteLayout() public {
        vm.recordLogs();
        vm.prank(alice, alice);
        portal.depositTransaction{value: 0x0102}(address(0), 0x0304, 0x01020304, true, hex"aabb");
        bytes memory opaque = abi.decode(vm.getRecordedLogs()[0].data, (bytes));
        bytes memory expected = abi.encodePacked(
            bytes32(uint256(0x0102)), bytes32(uint256(0x0304)), hex"0000000001020304", hex"01", hex"aabb"
        );
        assertEq(opaque, expected);
    }

    function test_deposit_aliasesContractSenders() public {
        Forwarder fwd = new Forwarder();
        address aliased = address(uint160(address(fwd)) + uint160(0x1111000000000000000000000000000000001111));
        assertEq(AddressAliasing.applyAlias(address(fwd)), aliased);
        assertEq(AddressAliasing.undoAlias(aliased), address(fwd));
        bytes memory opaque = abi.encodePacked(uint256(1 ether), uint256(0), uint64(21_000), false, "");
        vm.expectEmit(true, true, true, true, address(portal));
        emit Portal.TransactionDeposited(aliased, bob, 0, opaque);
        vm.prank(alice, alice);
        fwd.forward{value: 1 ether}(
            address(portal), abi.encodeCall(Portal.depositTransaction, (bob, 0, 21_000, false, ""))
        );
    }

    function testFuzz_deposit_encoding(
        uint96 mint,
        uint256 value,
        uint64 gasLimit,
        bool isCreation,
        bytes calldata data
    ) public {
        vm.assume(data.length <= 5_000);
        gasLimit = uint64(bound(gasLimit, portal.minimumGasLimit(data.length), 30_000_000));
        address to = isCreation ? address(0) : bob;
        vm.deal(alice, mint);
        vm.recordLogs();
        vm.prank(alice, alice);
        portal.depositTransaction{value: mint}(to, value, gasLimit, isCreation, data);
        Vm.Log[] memory logs = vm.getRecordedLogs();
        assertEq(logs.length, 1);
        assertEq(logs[0].topics[0], Portal.TransactionDeposited.selector);
        assertEq(logs[0].topics[1], bytes32(uint256(uint160(alice))));
        assertEq(logs[0].topics[2], bytes32(uint256(uint160(to))));
        assertEq(logs[0].topics[3], bytes32(0));
        bytes memory opaque = abi.decode(logs[0].data, (bytes));
        // Decode by offsets, as the Rust watcher does.
        assertEq(opaque.length, 73 + data.length);
        uint256 gotMint;
        uint256 gotValue;
        uint256 gotGasWord;
        assembly {
            gotMint := mload(add(opaque, 32))
            gotValue := mload(add(opaque, 64))
            gotGasWord := mload(add(opaque, 96))
        }
        assertEq(gotMint, mint);
        assertEq(gotValue, value);
        assertEq(gotGasWord >> 192, gasLimit);
        assertEq(uint8(opaque[72]), isCreation ? 1 : 0);
        for (uint256 i; i < data.length; ++i) {
            assertTrue(opaque[73 + i] == data[i]);
        }
        assertEq(address(portal).balance, mint);
    }

    function testFuzz_alias_wrapsAround(address a) public pure {
        assertEq(AddressAliasing.undoAlias(AddressAliasing.applyAlias(a)), a);
    }

    function test_alias_overflowWraps() public pure {
        address high = address(0xFFfFfFffFFfffFFfFFfFFFFFffFFFffffFfFFFfF);
        assertEq(AddressAliasing.applyAlias(high), address(0x1111000000000000000000000000000000001110));
    }

    function test_deposit_receiveDepositsToSender() public {
        bytes memory opaque = abi.encodePacked(uint256(2 ether), uint256(2 ether), uint64(100_000), false, "");
        vm.expectEmit(true, true, true, true, address(portal));
        emit Portal.TransactionDeposited(alice, alice, 0, opaque);
        vm.prank(alice, alice);
        (bool ok,) = address(portal).call{value: 2 ether}("");
        assertTrue(ok);
        assertEq(address(portal).balance, 2 ether);
    }

    function testFuzz_deposit_minimumGas(uint256 len, uint64 gasLimit) public {
        len = bound(len, 0, 2_000);
        uint256 minimum = portal.minimumGasLimit(len);
        assertEq(minimum, 21_000 + 40 * len);
        bytes memory data = new bytes(len);
        if (gasLimit < minimum) {
            vm.expectRevert(abi.encodeWithSelector(Portal.GasLimitTooLow.selector, gasLimit, minimum));
        } else if (gasLimit > 30_000_000) {
            vm.expectRevert(abi.encodeWithSelector(Portal.GasLimitTooHigh.selector, gasLimit, 30_000_000));
        }
        vm.prank(alice, alice);
        portal.depositTransaction{value: 1}(bob, 0, gasLimit, false, data);
    }

    function test_deposit_rejectsBadInput() public {
        vm.startPrank(alice, alice);
        vm.expectRevert(Portal.CreationWithTarget.selector);
        portal.depositTransaction{value: 1 ether}(bob, 0, 100_000, true, hex"00");

        bytes memory big = new bytes(120_001);
        vm.expectRevert(abi.encodeWithSelector(Portal.DepositDataTooLarge.selector, 120_001));
        portal.depositTransaction{value: 1 ether}(bob, 0, 29_000_000, false, big);
        vm.stopPrank();
        assertEq(address(portal).balance, 0, "no ETH moved");
    }

    function test_deposit_gasLimitFollowsSystemConfig() public {
        vm.prank(owner);
        config.setGasLimit(10_000_000);
        vm.expectRevert(abi.encodeWithSelector(Portal.GasLimitTooHigh.selector, 10_000_001, 10_000_000));
        vm.prank(alice, alice);
        portal.depositTransaction(bob, 0, 10_000_001, false, "");
    }

    function test_deposit_gas() public {
        vm.prank(alice, alice);
        portal.depositTransaction{value: 1 ether}(bob, 0, 100_000, false, hex"");
        assertLt(vm.lastCallGas().gasTotalUsed, 40_000, "deposit gas");
    }
}

contract PortalWithdrawalTest is SettlementSetup {
    WithdrawalTarget internal target;

    function setUp() public override {
        super.setUp();
        target = new WithdrawalTarget();
        vm.deal(address(portal), 100 ether);
    }

    /// @dev Proposes an output whose message passer storage holds `w` and returns its index.
    function _proposeWithdrawal(WithdrawalTx memory w)
        internal
        returns (uint256 index, OutputRootProof memory orp, bytes[] memory proof)
    {
        bytes32 storageRoot;
        (storageRoot, proof) = _singleLeafProof(Hashing.withdrawalHash(w));
        orp = _outputProof(storageRoot);
        (index,) = _propose(Hashing.outputRoot(orp));
    }

    function _proveAndMature(WithdrawalTx memory w) internal returns (uint256 index) {
        OutputRootProof memory orp;
        bytes[] memory proof;
        (index, orp, proof) = _proposeWithdrawal(w);
        portal.proveWithdrawal(w, index, orp, proof);
        vm.warp(block.timestamp + WINDOW);
    }

    function test_withdrawal_happyPath() public {
        WithdrawalTx memory w = _withdrawal(0, address(target), 3 ether, hex"c0ffee");
        bytes32 h = Hashing.withdrawalHash(w);
        (uint256 index, OutputRootProof memory orp, bytes[] memory proof) = _proposeWithdrawal(w);

        vm.expectEmit(true, true, true, true, address(portal));
        emit Portal.WithdrawalProven(h, alice, address(target), index);
        portal.proveWithdrawal(w, index, orp, proof);
        (bytes32 root, uint64 provenAt, uint192 idx) = portal.provenWithdrawals(h);
        assertEq(root, Hashing.outputRoot(orp));
        assertEq(uint256(provenAt), block.timestamp);
        assertEq(uint256(idx), index);

        vm.warp(block.timestamp + WINDOW);
        vm.expectEmit(true, true, true, true, address(portal));
        emit Portal.WithdrawalFinalized(h);
        portal.finalizeWithdrawal(w);
        assertTrue(portal.finalizedWithdrawals(h));
        assertEq(target.calls(), 1);
        assertEq(target.lastValue(), 3 ether);
        assertEq(target.lastData(), hex"c0ffee");
        assertEq(target.lastL2Sender(), alice, "l2Sender during the call");
        assertEq(address(portal).balance, 97 ether);
        vm.expectRevert(Portal.NotInWithdrawal.selector);
        portal.l2Sender();
    }

    function test_withdrawal_hashFormula() public pure {
        WithdrawalTx memory w = WithdrawalTx({
            nonce: 7, sender: address(0x1234), target: address(0x5678), value: 9, gasLimit: 100_000, data: hex"aa"
        });
        bytes memory enc = abi.encodePacked(
            uint256(7),
            uint256(uint160(address(0x1234))),
            uint256(uint160(address(0x5678))),
            uint256(9),
            uint256(100_000),
            uint256(0xc0),
            uint256(1),
            hex"aa00000000000000000000000000000000000000000000000000000000000000"
        );
        assertEq(Hashing.withdrawalHash(w), keccak256(enc));
    }

    function test_prove_revertsOnForgedProofs() public {
        WithdrawalTx memory w = _withdrawal(0, address(target), 1 ether, "");
        (uint256 index, OutputRootProof memory orp, bytes[] memory proof) = _proposeWithdrawal(w);

        // Output root preimage that does not match.
        OutputRootProof memory badOrp = _outputProof(orp.messagePasserStorageRoot);
        badOrp.stateRoot = keccak256("other");
        vm.expectRevert(Portal.InvalidOutputRootProof.selector);
        portal.proveWithdrawal(w, index, badOrp, proof);

        // Unknown version.
        badOrp = _outputProof(orp.messagePasserStorageRoot);
        badOrp.version = bytes32(uint256(1));
        vm.expectRevert(abi.encodeWithSelector(Portal.UnsupportedOutputVersion.selector, bytes32(uint256(1))));
        portal.proveWithdrawal(w, index, badOrp, proof);

        // A different withdrawal (not in the trie): the proof is an exclusion proof for it.
        WithdrawalTx memory other = _withdrawal(1, address(target), 1 ether, "");
        vm.expectRevert(Portal.InvalidWithdrawalProof.selector);
        portal.proveWithdrawal(other, index, orp, proof);

        // Tampered node: hash no longer matches the storage root.
        bytes[] memory tampered = new bytes[](1);
        tampered[0] = proof[0];
        tampered[0][35] = 0x02;
        vm.expectRevert(abi.encodeWithSelector(MerkleTrie.InvalidNodeHash.selector, 0));
        portal.proveWithdrawal(w, index, orp, tampered);

        // A storage root committing to value 2 instead of 1.
        bytes32 key = keccak256(abi.encode(Hashing.sentMessageSlot(Hashing.withdrawalHash(w))));
        bytes[] memory twoProof = new bytes[](1);
        twoProof[0] = abi.encodePacked(bytes1(0xe3), bytes1(0xa1), bytes1(0x20), key, bytes1(0x02));
        OutputRootProof memory twoOrp = _outputProof(keccak256(twoProof[0]));
        (uint256 twoIndex,) = _propose(Hashing.outputRoot(twoOrp));
        vm.expectRevert(Portal.InvalidWithdrawalProof.selector);
        portal.proveWithdrawal(w, twoIndex, twoOrp, twoProof);

        // Nonexistent output.
        vm.expectRevert(abi.encodeWithSelector(Portal.OutputNotFound.selector, 99));
        portal.proveWithdrawal(w, 99, orp, proof);

        // Target = portal.
        WithdrawalTx memory self = _withdrawal(0, address(portal), 1 ether, "");
        vm.expectRevert(Portal.TargetIsPortal.selector);
        portal.proveWithdrawal(self, index, orp, proof);
    }

    function test_prove_cannotBeRestartedWhileOutputLive() public {
        WithdrawalTx memory w = _withdrawal(0, address(target), 1 ether, "");
        (uint256 index, OutputRootProof memory orp, bytes[] memory proof) = _proposeWithdrawal(w);
        portal.proveWithdrawal(w, index, orp, proof);
        vm.expectRevert(abi.encodeWithSelector(Portal.WithdrawalAlreadyProven.selector, Hashing.withdrawalHash(w)));
        vm.prank(bob);
        portal.proveWithdrawal(w, index, orp, proof);
    }

    function test_finalize_notBeforeWindow() public {
        WithdrawalTx memory w = _withdrawal(0, address(target), 1 ether, "");
        (uint256 index, OutputRootProof memory orp, bytes[] memory proof) = _proposeWithdrawal(w);
        // Prove late in the output's window: the output finalizes before the proof matures.
        vm.warp(block.timestamp + WINDOW / 2);
        portal.proveWithdrawal(w, index, orp, proof);
        uint256 readyAt = block.timestamp + WINDOW;
        vm.warp(readyAt - 1);
        assertTrue(oracle.isFinalized(index));
        vm.expectRevert(abi.encodeWithSelector(Portal.ProofNotMatured.selector, readyAt));
        portal.finalizeWithdrawal(w);
        assertEq(address(portal).balance, 100 ether);
        vm.warp(readyAt);
        portal.finalizeWithdrawal(w);
    }

    function test_finalize_requiresFinalizedOutput() public {
        WithdrawalTx memory w = _withdrawal(0, address(target), 1 ether, "");
        (uint256 index, OutputRootProof memory orp, bytes[] memory proof) = _proposeWithdrawal(w);
        portal.proveWithdrawal(w, index, orp, proof);
        vm.warp(block.timestamp + WINDOW - 1);
        vm.prank(bob);
        oracle.challenge{value: CHALLENGE_BOND}(index);
        vm.warp(block.timestamp + 30 days);
        vm.expectRevert(abi.encodeWithSelector(Portal.OutputNotFinalized.selector, index));
        portal.finalizeWithdrawal(w);
        assertEq(address(portal).balance, 100 ether);
    }

    function test_finalize_rejectsDeletedOutput_thenReprove() public {
        WithdrawalTx memory w = _withdrawal(0, address(target), 1 ether, "");
        (uint256 index, OutputRootProof memory orp, bytes[] memory proof) = _proposeWithdrawal(w);
        portal.proveWithdrawal(w, index, orp, proof);
        vm.prank(bob);
        oracle.challenge{value: CHALLENGE_BOND}(index);
        factory.lastGame().setStatus(GameStatus.CHALLENGER_WINS);
        oracle.resolve(index);
        vm.warp(block.timestamp + WINDOW);
        vm.expectRevert(abi.encodeWithSelector(Portal.ProvenOutputChanged.selector, index));
        portal.finalizeWithdrawal(w);

        // A different output at the same index: still rejected.
        (uint256 again,) = _propose(keccak256("honest but without w"));
        assertEq(again, index);
        vm.warp(block.timestamp + WINDOW);
        vm.expectRevert(abi.encodeWithSelector(Portal.ProvenOutputChanged.selector, index));
        portal.finalizeWithdrawal(w);

        // Proven again against a new output containing it, it finalizes after a fresh wait.
        (uint256 idx2, OutputRootProof memory orp2, bytes[] memory proof2) = _proposeWithdrawal(w);
        portal.proveWithdrawal(w, idx2, orp2, proof2);
        vm.warp(block.timestamp + WINDOW);
        portal.finalizeWithdrawal(w);
        assertEq(target.lastValue(), 1 ether);
    }

    function test_finalize_noReplay() public {
        WithdrawalTx memory w = _withdrawal(0, address(target), 1 ether, "");
        uint256 index = _proveAndMature(w);
        portal.finalizeWithdrawal(w);
        bytes32 h = Hashing.withdrawalHash(w);
        vm.expectRevert(abi.encodeWithSelector(Portal.WithdrawalAlreadyFinalized.selector, h));
        portal.finalizeWithdrawal(w);
        // Proving it again is refused too.
        (bytes32 sr, bytes[] memory proof) = _singleLeafProof(h);
        vm.expectRevert(abi.encodeWithSelector(Portal.WithdrawalAlreadyFinalized.selector, h));
        portal.proveWithdrawal(w, index, _outputProof(sr), proof);
        assertEq(address(portal).balance, 99 ether);
        assertEq(target.calls(), 1);
    }

    function test_finalize_unprovenReverts() public {
        WithdrawalTx memory w = _withdrawal(0, address(target), 1 ether, "");
        vm.expectRevert(abi.encodeWithSelector(Portal.WithdrawalNotProven.selector, Hashing.withdrawalHash(w)));
        portal.finalizeWithdrawal(w);
    }

    function test_finalize_failedCallRevertsAndCanRetry() public {
        WithdrawalTx memory w = _withdrawal(0, address(target), 1 ether, "");
        _proveAndMature(w);
        target.setShouldRevert(true);
        vm.expectRevert(abi.encodeWithSelector(Portal.WithdrawalCallFailed.selector, Hashing.withdrawalHash(w)));
        portal.finalizeWithdrawal(w);
        assertFalse(portal.finalizedWithdrawals(Hashing.withdrawalHash(w)));
        assertEq(address(portal).balance, 100 ether);
        target.setShouldRevert(false);
        portal.finalizeWithdrawal(w);
        assertEq(address(portal).balance, 99 ether);
    }

    function test_finalize_insufficientGasReverts() public {
        WithdrawalTx memory w = _withdrawal(0, address(target), 1 ether, "");
        w.gasLimit = 1_000_000;
        _proveAndMature(w);
        vm.expectRevert(Portal.InsufficientGas.selector);
        portal.finalizeWithdrawal{gas: 1_000_000}(w);
        assertFalse(portal.finalizedWithdrawals(Hashing.withdrawalHash(w)));
        portal.finalizeWithdrawal{gas: 1_200_000}(w);
        assertTrue(portal.finalizedWithdrawals(Hashing.withdrawalHash(w)));
    }

    function test_finalize_reentrancyBlocked() public {
        WithdrawalTx memory w1 = _withdrawal(0, address(target), 1 ether, "");
        WithdrawalTx memory w2 = _withdrawal(1, address(target), 1 ether, "");
        w1.gasLimit = 1_000_000;
        _proveAndMature(w1);
        _proveAndMature(w2);
        // While w1 executes, the target tries to finalize w1 again and w2.
        target.setReenter(address(portal), abi.encodeCall(Portal.finalizeWithdrawal, (w1)));
        portal.finalizeWithdrawal(w1);
        assertFalse(target.reenterSucceeded());
        assertEq(target.reenterRevertData(), abi.encodeWithSelector(bytes4(keccak256("Reentrancy()"))));
        assertEq(address(portal).balance, 99 ether);
        target.setReenter(address(0), "");
        portal.finalizeWithdrawal(w2);
        assertEq(address(portal).balance, 98 ether);
    }

    function test_pause_blocksWithdrawalsNotDeposits() public {
        WithdrawalTx memory w = _withdrawal(0, address(target), 1 ether, "");
        (uint256 index, OutputRootProof memory orp, bytes[] memory proof) = _proposeWithdrawal(w);
        vm.prank(guardian);
        config.setPaused(true);
        vm.expectRevert(Portal.Paused.selector);
        portal.proveWithdrawal(w, index, orp, proof);
        vm.prank(guardian);
        config.setPaused(false);
        portal.proveWithdrawal(w, index, orp, proof);
        vm.warp(block.timestamp + WINDOW);
        vm.prank(guardian);
        config.setPaused(true);
        vm.expectRevert(Portal.Paused.selector);
        portal.finalizeWithdrawal(w);
        vm.prank(alice, alice);
        portal.depositTransaction{value: 1 ether}(alice, 0, 21_000, false, "");
    }

    function test_withdrawal_gas() public {
        WithdrawalTx memory w = _withdrawal(0, address(target), 1 ether, "");
        (uint256 index, OutputRootProof memory orp, bytes[] memory proof) = _proposeWithdrawal(w);
        portal.proveWithdrawal(w, index, orp, proof);
        assertLt(vm.lastCallGas().gasTotalUsed, 150_000, "prove gas (1-node proof)");
        vm.warp(block.timestamp + WINDOW);
        portal.finalizeWithdrawal(w);
        assertLt(vm.lastCallGas().gasTotalUsed, 200_000, "finalize gas");
    }

    function testFuzz_withdrawal_provedAndFinalizedOnce(
        uint256 nonce,
        address sender,
        uint96 value,
        uint32 gasLimit,
        bytes calldata data
    ) public {
        value = uint96(bound(value, 0, 100 ether));
        gasLimit = uint32(bound(gasLimit, 0, 5_000_000));
        address recipient = address(uint160(uint256(keccak256("recipient without code"))));
        WithdrawalTx memory w = WithdrawalTx({
            nonce: nonce, sender: sender, target: recipient, value: value, gasLimit: gasLimit, data: data
        });
        _proveAndMature(w);
        portal.finalizeWithdrawal(w);
        assertEq(address(portal).balance, 100 ether - value);
        assertEq(recipient.balance, value);
        vm.expectRevert(abi.encodeWithSelector(Portal.WithdrawalAlreadyFinalized.selector, Hashing.withdrawalHash(w)));
        portal.finalizeWithdrawal(w);
        assertEq(recipient.balance, value);
    }
}
