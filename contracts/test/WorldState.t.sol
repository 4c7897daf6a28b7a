// SPDX-License-Identifier: MIT OR Apache-2.0
pragma solidity 0.8.30;

import {Test} from "./utils/Test.sol";
import {MptDb} from "../src/verifier/MptDb.sol";
import {Account, WorldState} from "../src/verifier/WorldState.sol";

/// @notice WorldState semantics: buffered reads/writes, order independence of the final root,
///         account deletion dropping storage, no-op writes. (Roots against Ethereum's are
///         checked from Rust against alloy-trie, fraud-proof/tests/solidity_twin.rs.)
contract WorldStateTest is Test {
    address internal constant A = address(0xA11CE);
    address internal constant B = address(0xB0B);
    address internal constant C = address(0xC0FFEE);

    function _acct(uint64 nonce, uint256 balance) internal pure returns (Account memory) {
        return Account(nonce, balance, bytes32(0), keccak256("code"), true);
    }

    function _empty() internal pure returns (WorldState.DB memory) {
        return WorldState.open(MptDb.EMPTY_ROOT, new bytes[](0));
    }

    function testAbsentAccountDefaults() public pure {
        WorldState.DB memory db = _empty();
        Account memory a = WorldState.getAccount(db, A);
        assertFalse(a.exists);
        assertEq(a.storageRoot, MptDb.EMPTY_ROOT);
        assertEq(a.codeHash, keccak256(""));
        assertEq(WorldState.getStorage(db, A, 1), 0);
        assertEq(WorldState.stateRoot(db), MptDb.EMPTY_ROOT);
    }

    function testReadsSeePendingWritesAndOrderDoesNotMatter() public pure {
        WorldState.DB memory x = _empty();
        WorldState.setAccount(x, A, _acct(1, 100));
        WorldState.setStorage(x, A, 1, 7);
        WorldState.setStorage(x, A, 2, 8);
        WorldState.setAccount(x, B, _acct(0, 5));
        WorldState.setStorage(x, A, 2, 9);
        assertEq(WorldState.getStorage(x, A, 2), 9);
        assertEq(WorldState.getAccount(x, B).balance, 5);
        bytes32 rx = WorldState.stateRoot(x);

        WorldState.DB memory y = _empty();
        WorldState.setAccount(y, B, _acct(0, 5));
        WorldState.setStorage(y, A, 2, 9);
        WorldState.setAccount(y, A, _acct(1, 100));
        WorldState.setStorage(y, A, 1, 7);
        assertEq(WorldState.stateRoot(y), rx);
        // Storage root is committed by stateRoot.
        assertTrue(WorldState.getAccount(y, A).storageRoot != MptDb.EMPTY_ROOT);
        // Calling again without writes changes nothing.
        assertEq(WorldState.stateRoot(y), rx);
    }

    function testDeleteAccountDropsStorage() public pure {
        WorldState.DB memory x = _empty();
        WorldState.setAccount(x, A, _acct(1, 100));
        WorldState.setAccount(x, B, _acct(2, 200));
        bytes32 onlyAB = WorldState.stateRoot(x);
        WorldState.setAccount(x, C, _acct(3, 300));
        WorldState.setStorage(x, C, 5, 55);
        bytes32 withC = WorldState.stateRoot(x);
        assertTrue(withC != onlyAB);
        assertEq(WorldState.getStorage(x, C, 5), 55);
        WorldState.setAccount(x, C, Account(0, 0, bytes32(0), bytes32(0), false));
        assertEq(WorldState.getStorage(x, C, 5), 0);
        assertEq(WorldState.stateRoot(x), onlyAB);
        // Re-created: storage starts empty.
        WorldState.setAccount(x, C, _acct(3, 300));
        bytes32 cNoStorage = WorldState.stateRoot(x);
        WorldState.setStorage(x, C, 5, 55);
        assertEq(WorldState.stateRoot(x), withC);
        WorldState.setStorage(x, C, 5, 0);
        assertEq(WorldState.stateRoot(x), cNoStorage);
    }

    function testNoOpWritesKeepRoot() public pure {
        WorldState.DB memory x = _empty();
        WorldState.setAccount(x, A, _acct(1, 100));
        WorldState.setStorage(x, A, 1, 7);
        bytes32 r = WorldState.stateRoot(x);
        WorldState.setStorage(x, A, 1, 8);
        WorldState.setStorage(x, A, 1, 7);
        WorldState.setStorage(x, A, 3, 0);
        WorldState.setAccount(x, A, _acct(1, 100));
        WorldState.setAccount(x, B, Account(0, 0, bytes32(0), bytes32(0), false));
        assertEq(WorldState.stateRoot(x), r);
    }
}
