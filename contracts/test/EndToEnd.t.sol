// SPDX-License-Identifier: MIT OR Apache-2.0
pragma solidity 0.8.30;

import {SettlementSetup} from "./utils/SettlementSetup.sol";
import {Portal} from "../src/Portal.sol";
import {Hashing} from "../src/lib/Hashing.sol";
import {MerkleTrie} from "../src/lib/MerkleTrie.sol";
import {Account, SecureMerkleTrie} from "../src/lib/SecureMerkleTrie.sol";
import {OutputRootProof, WithdrawalTx} from "../src/lib/Types.sol";

/// @notice The whole withdrawal path with a real proof: tools/gen-fixtures.js deployed
///         L2ToL1MessagePasser on anvil, sent withdrawals, and saved `eth_getProof` of
///         sentMessages[hash] (test/fixtures/withdrawal_proof.json). Here the output root is
///         built from that block's state root, the passer's storage root and the block hash;
///         it is proposed, the window passes, and the withdrawal is proven and finalized.
contract EndToEndWithdrawalTest is SettlementSetup {
    string internal json;
    WithdrawalTx internal w;
    OutputRootProof internal orp;
    bytes[] internal storageProof;

    function setUp() public override {
        super.setUp();
        json = vm.readFile(string.concat(vm.projectRoot(), "/test/fixtures/withdrawal_proof.json"));
        w = WithdrawalTx({
            nonce: vm.parseJsonUint(json, ".withdrawal.nonce"),
            sender: vm.parseJsonAddress(json, ".withdrawal.sender"),
            target: vm.parseJsonAddress(json, ".withdrawal.target"),
            value: vm.parseJsonUint(json, ".withdrawal.value"),
            gasLimit: vm.parseJsonUint(json, ".withdrawal.gasLimit"),
            data: vm.parseJsonBytes(json, ".withdrawal.data")
        });
        orp = OutputRootProof({
            version: bytes32(0),
            stateRoot: vm.parseJsonBytes32(json, ".stateRoot"),
            messagePasserStorageRoot: vm.parseJsonBytes32(json, ".storageRoot"),
            blockHash: vm.parseJsonBytes32(json, ".blockHash")
        });
        storageProof = vm.parseJsonBytesArray(json, ".storageProof");
        // ETH deposited earlier that the withdrawal takes out.
        vm.deal(alice, 10 ether);
        vm.prank(alice, alice);
        portal.depositTransaction{value: 5 ether}(alice, 0, 21_000, false, "");
    }

    function test_fixtureIsConsistent() public view {
        // The withdrawal hash computed here equals the one the passer emitted on anvil.
        assertEq(Hashing.withdrawalHash(w), vm.parseJsonBytes32(json, ".withdrawalHash"));
        assertEq(Hashing.sentMessageSlot(Hashing.withdrawalHash(w)), vm.parseJsonBytes32(json, ".slot"));
        // The passer's storage root is what the state root commits to.
        (bool exists, Account memory a) = SecureMerkleTrie.getAccount(
            vm.parseJsonAddress(json, ".messagePasser"), vm.parseJsonBytesArray(json, ".accountProof"), orp.stateRoot
        );
        assertTrue(exists);
        assertEq(a.storageRoot, orp.messagePasserStorageRoot);
    }

    function test_depositProposeProveFinalize() public {
        bytes32 outputRoot = Hashing.outputRoot(orp);
        (uint256 index,) = _propose(outputRoot);
        bytes32 h = Hashing.withdrawalHash(w);

        portal.proveWithdrawal(w, index, orp, storageProof);
        uint256 proveGas = vm.lastCallGas().gasTotalUsed;

        // Not before the window.
        vm.warp(block.timestamp + WINDOW - 1);
        vm.expectRevert(abi.encodeWithSelector(Portal.ProofNotMatured.selector, block.timestamp + 1));
        portal.finalizeWithdrawal(w);

        vm.warp(block.timestamp + 1);
        assertTrue(oracle.isFinalized(index));
        uint256 before = w.target.balance;
        portal.finalizeWithdrawal(w);
        uint256 finalizeGas = vm.lastCallGas().gasTotalUsed;
        assertEq(w.target.balance, before + w.value, "target paid");
        assertEq(address(portal).balance, 5 ether - w.value, "portal keeps the rest");
        assertTrue(portal.finalizedWithdrawals(h));
        vm.expectRevert(abi.encodeWithSelector(Portal.WithdrawalAlreadyFinalized.selector, h));
        portal.finalizeWithdrawal(w);

        // Gas budgets (real 4-node proof): see the figures in contracts/README.md.
        assertLt(proveGas, 200_000, "proveWithdrawal gas");
        assertLt(finalizeGas, 120_000, "finalizeWithdrawal gas");
    }

    function test_forgedFieldsFailTheRealProof() public {
        (uint256 index,) = _propose(Hashing.outputRoot(orp));
        WithdrawalTx memory forged = WithdrawalTx(w.nonce, w.sender, w.target, w.value + 1, w.gasLimit, w.data);
        _expectProofRejected(forged, index);
        forged = WithdrawalTx(w.nonce, w.sender, alice, w.value, w.gasLimit, w.data);
        _expectProofRejected(forged, index);
        forged = WithdrawalTx(w.nonce + 1, w.sender, w.target, w.value, w.gasLimit, w.data);
        _expectProofRejected(forged, index);
        assertEq(address(portal).balance, 5 ether);
    }

    /// @dev A proof of another key is rejected: as an exclusion proof (`InvalidWithdrawalProof`)
    ///      or, when the forged key leaves the proven path early, because the proof then carries
    ///      nodes the walk does not use (`ProofHasExtraNodes`) or does not hash to the next
    ///      reference (`InvalidNodeHash`) — which one depends on the trie's shape.
    function _expectProofRejected(WithdrawalTx memory forged, uint256 index) internal {
        try portal.proveWithdrawal(forged, index, orp, storageProof) {
            revert("forged withdrawal was proven");
        } catch (bytes memory reason) {
            // forge-lint: disable-next-line(unsafe-typecast) -- the selector is the first 4 bytes
            bytes4 sel = bytes4(reason);
            assertTrue(
                sel == Portal.InvalidWithdrawalProof.selector || sel == MerkleTrie.ProofHasExtraNodes.selector
                    || sel == MerkleTrie.InvalidNodeHash.selector,
                "rejected with a proof error"
            );
        }
    }
}
