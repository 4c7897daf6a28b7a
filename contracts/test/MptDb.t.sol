// SPDX-License-Identifier: MIT OR Apache-2.0
pragma solidity 0.8.30;

import {Test} from "./utils/Test.sol";
import {MptDb} from "../src/verifier/MptDb.sol";
import {MptHarness} from "./harness/MptHarness.sol";

/// @notice MptDb against Ethereum's trie test vectors (branch values, embedded nodes) and
///         against itself: a trie after deletes equals the trie built fresh from what remains.
contract MptDbTest is Test {
    MptHarness internal harness = new MptHarness();

    function _put(MptDb.Store memory db, bytes32 root, string memory k, string memory v)
        internal
        pure
        returns (bytes32)
    {
        return MptDb.put(db, root, bytes(k), bytes(v));
    }

    /// ethereum/tests TrieTests trieanyorder.json "dogs".
    function testDogsVector() public pure {
        MptDb.Store memory db = MptDb.create(new bytes[](0));
        bytes32 r = MptDb.EMPTY_ROOT;
        r = _put(db, r, "doe", "reindeer");
        r = _put(db, r, "dog", "puppy");
        r = _put(db, r, "dogglesworth", "cat");
        assertEq(r, 0x8aad789dff2f538bca5d8ea56e8abe10f4c7ba3a5dea95fea4cd6e7c3a1168d3);
        (bool found, bytes memory v) = MptDb.get(db, r, "dog");
        assertTrue(found);
        assertEq(v, bytes("puppy"));
        (found,) = MptDb.get(db, r, "do");
        assertFalse(found);
    }

    /// ethereum/tests TrieTests trieanyorder.json "puppy": a branch value ("do") and embedded nodes.
    function testPuppyVectorAnyOrderAndDeletes() public pure {
        bytes32 want = 0x5991bb8c6514148a29db676a14ac506cd2cd5775ace63c30a4fe457715e9ac84;
        MptDb.Store memory db = MptDb.create(new bytes[](0));
        bytes32 r = MptDb.EMPTY_ROOT;
        r = _put(db, r, "do", "verb");
        r = _put(db, r, "horse", "stallion");
        r = _put(db, r, "doge", "coin");
        r = _put(db, r, "dog", "puppy");
        assertEq(r, want);
        bytes32 r2 = MptDb.EMPTY_ROOT;
        r2 = _put(db, r2, "dog", "puppy");
        r2 = _put(db, r2, "doge", "coin");
        r2 = _put(db, r2, "horse", "stallion");
        r2 = _put(db, r2, "do", "verb");
        assertEq(r2, want);
        (bool found, bytes memory v) = MptDb.get(db, r, "do");
        assertTrue(found);
        assertEq(v, bytes("verb"));
        // Delete the branch value, then everything.
        bytes32 d = _put(db, r, "do", "");
        bytes32 fresh = MptDb.EMPTY_ROOT;
        fresh = _put(db, fresh, "horse", "stallion");
        fresh = _put(db, fresh, "doge", "coin");
        fresh = _put(db, fresh, "dog", "puppy");
        assertEq(d, fresh);
        d = _put(db, d, "dog", "");
        d = _put(db, d, "horse", "");
        d = _put(db, d, "absent", "");
        d = _put(db, d, "doge", "");
        assertEq(d, MptDb.EMPTY_ROOT);
    }

    function testMissingRootReverts() public {
        bytes32 root = keccak256("not in the witness");
        bytes[] memory keys = new bytes[](1);
        bytes[] memory values = new bytes[](1);
        keys[0] = hex"01";
        values[0] = hex"02";
        vm.expectRevert(abi.encodeWithSelector(MptDb.MissingNode.selector, root));
        harness.mptPut(root, new bytes[](0), keys, values);
    }

    /// Reads `key` from a trie whose only witness node is `node` (the root).
    function _getFromRoot(bytes memory node, bytes memory key) internal view returns (bool, bytes memory) {
        bytes[] memory nodes = new bytes[](1);
        nodes[0] = node;
        (, bool found, bytes memory value) =
            harness.mptPutGet(keccak256(node), nodes, new bytes[](0), new bytes[](0), key);
        return (found, value);
    }

    function testMalformedNodesRevertInvalidNode() public {
        bytes[5] memory bad = [
            // A list of three items: neither a leaf/extension nor a branch.
            bytes(hex"c3010203"),
            // A leaf whose path has the invalid flag nibble 4.
            bytes(hex"c482411101"),
            // An even path with a non-zero padding nibble.
            bytes(hex"c482211101"),
            // An extension whose child is a 5-byte string (neither a hash nor a node).
            bytes(hex"c98200118501020304" hex"05"),
            // A list whose declared length runs past the buffer.
            bytes(hex"c5820011")
        ];
        for (uint256 i; i < bad.length; ++i) {
            vm.expectRevert(MptDb.InvalidNode.selector);
            this.getFromRoot(bad[i], hex"11");
        }
    }

    function getFromRoot(bytes memory node, bytes memory key) external view returns (bool, bytes memory) {
        return _getFromRoot(node, key);
    }

    function testSingleLeafRootUnder32Bytes() public view {
        // A root that is one short leaf (key 0x0011 -> 0x2a): still referenced by its hash.
        bytes memory leaf = hex"c5832000112a";
        (bool found, bytes memory value) = _getFromRoot(leaf, hex"0011");
        assertTrue(found);
        assertEq(value, hex"2a");
        (found,) = _getFromRoot(leaf, hex"0012");
        assertFalse(found);
    }

    /// Random short keys over a small alphabet (shared prefixes, keys that are prefixes of
    /// others, embedded nodes) and short values: insert all, delete some, compare with a fresh
    /// trie of the rest; every remaining key reads back.
    function testFuzzDeleteEqualsFresh(uint256 seed) public pure {
        uint256 n = 24;
        bytes[] memory keys = new bytes[](n);
        bytes[] memory values = new bytes[](n);
        for (uint256 i; i < n; ++i) {
            uint256 h = uint256(keccak256(abi.encode(seed, i)));
            uint256 len = 1 + (h % 3);
            keys[i] = new bytes(len);
            for (uint256 j; j < len; ++j) {
                keys[i][j] = bytes1(uint8((h >> (8 + 8 * j)) % 3) * 0x11);
            }
            // forge-lint: disable-next-line(unsafe-typecast) -- any 16 bits will do
            values[i] = abi.encodePacked(uint16(h >> 64) | 1);
        }
        MptDb.Store memory db = MptDb.create(new bytes[](0));
        bytes32 full = MptDb.EMPTY_ROOT;
        for (uint256 i; i < n; ++i) {
            full = MptDb.put(db, full, keys[i], values[i]);
        }
        // All deletes come after all inserts: a key survives iff no even index holds it.
        bytes32 r = full;
        for (uint256 i; i < n; ++i) {
            if (i % 2 == 0) r = MptDb.put(db, r, keys[i], "");
        }
        MptDb.Store memory db2 = MptDb.create(new bytes[](0));
        bytes32 fresh = MptDb.EMPTY_ROOT;
        for (uint256 i; i < n; ++i) {
            bool deleted;
            for (uint256 j; j < n; ++j) {
                if (j % 2 == 0 && keccak256(keys[j]) == keccak256(keys[i])) deleted = true;
            }
            if (!deleted) fresh = MptDb.put(db2, fresh, keys[i], values[i]);
        }
        assertEq(r, fresh);
    }

    function testFuzzSecureKeysInsertDeleteAll(uint256 seed) public pure {
        MptDb.Store memory db = MptDb.create(new bytes[](0));
        bytes32 r = MptDb.EMPTY_ROOT;
        uint256 n = 40;
        for (uint256 i; i < n; ++i) {
            r = MptDb.put(db, r, abi.encodePacked(keccak256(abi.encode(seed, i))), abi.encodePacked(i + 1));
        }
        for (uint256 i; i < n; ++i) {
            (bool found, bytes memory v) = MptDb.get(db, r, abi.encodePacked(keccak256(abi.encode(seed, i))));
            assertTrue(found);
            assertEq(v, abi.encodePacked(i + 1));
        }
        for (uint256 i = n; i > 0; --i) {
            r = MptDb.put(db, r, abi.encodePacked(keccak256(abi.encode(seed, (i * 7) % n))), "");
        }
        assertEq(r, MptDb.EMPTY_ROOT);
    }
}
