// SPDX-License-Identifier: MIT OR Apache-2.0
pragma solidity 0.8.30;

import {Test} from "./utils/Test.sol";
import {MerkleTrie} from "../src/lib/MerkleTrie.sol";
import {RLPReader} from "../src/lib/RLPReader.sol";
import {Account} from "../src/lib/SecureMerkleTrie.sol";
import {TrieHarness} from "./harness/TrieHarness.sol";

/// @notice Proofs produced by anvil's `eth_getProof` (test/fixtures/storage_proofs.json, made by
///         tools/gen-fixtures.js): account and storage inclusion and exclusion, and tampering.
contract MerkleTrieFixtureTest is Test {
    TrieHarness internal h;
    string internal json;
    bytes32 internal stateRoot;
    bytes32 internal storageRoot;
    address internal account;

    function setUp() public {
        h = new TrieHarness();
        json = vm.readFile(string.concat(vm.projectRoot(), "/test/fixtures/storage_proofs.json"));
        stateRoot = vm.parseJsonBytes32(json, ".stateRoot");
        storageRoot = vm.parseJsonBytes32(json, ".storageRoot");
        account = vm.parseJsonAddress(json, ".address");
    }

    function _present(uint256 i) internal view returns (bytes32 slot, uint256 value, bytes[] memory proof) {
        string memory k = string.concat(".present[", vm.toString(i), "]");
        slot = vm.parseJsonBytes32(json, string.concat(k, ".key"));
        value = uint256(vm.parseJsonBytes32(json, string.concat(k, ".value")));
        proof = vm.parseJsonBytesArray(json, string.concat(k, ".proof"));
    }

    function _absent(uint256 i) internal view returns (bytes32 slot, bytes[] memory proof) {
        string memory k = string.concat(".absent[", vm.toString(i), "]");
        slot = vm.parseJsonBytes32(json, string.concat(k, ".key"));
        proof = vm.parseJsonBytesArray(json, string.concat(k, ".proof"));
    }

    function test_accountProof_givesStorageRoot() public view {
        bytes[] memory proof = vm.parseJsonBytesArray(json, ".accountProof");
        (bool exists, Account memory a) = h.getAccount(account, proof, stateRoot);
        assertTrue(exists, "account exists");
        assertEq(a.storageRoot, storageRoot);
        assertEq(a.codeHash, vm.parseJsonBytes32(json, ".codeHash"));
        assertEq(a.nonce, 1);
        assertEq(a.balance, 0);
    }

    function test_accountExclusion() public view {
        bytes[] memory proof = vm.parseJsonBytesArray(json, ".absentAccount.proof");
        address absent = vm.parseJsonAddress(json, ".absentAccount.address");
        (bool exists, Account memory a) = h.getAccount(absent, proof, stateRoot);
        assertFalse(exists, "absent account");
        assertEq(a.storageRoot, MerkleTrie.EMPTY_TRIE_ROOT);
        assertEq(a.codeHash, keccak256(""));
    }

    function test_storageInclusion_allFixtures() public view {
        uint256 n = vm.parseJsonUint(json, ".presentCount");
        assertGe(n, 9, "fixture has present slots");
        for (uint256 i; i < n; ++i) {
            (bytes32 slot, uint256 value, bytes[] memory proof) = _present(i);
            assertTrue(value != 0, "present slot has a value");
            assertEq(h.getStorage(slot, proof, storageRoot), value, "slot value");
        }
    }

    function test_storageExclusion_allFixtures() public view {
        uint256 n = vm.parseJsonUint(json, ".absentCount");
        assertGe(n, 6, "fixture has absent slots");
        for (uint256 i; i < n; ++i) {
            (bytes32 slot, bytes[] memory proof) = _absent(i);
            assertEq(h.getStorage(slot, proof, storageRoot), 0, "absent slot reads 0");
            (bool exists,) = h.get(abi.encodePacked(keccak256(abi.encodePacked(slot))), proof, storageRoot);
            assertFalse(exists);
        }
    }

    function test_verifyInclusion_rlpValue() public {
        (bytes32 slot, uint256 value, bytes[] memory proof) = _present(0);
        bytes memory key = abi.encodePacked(keccak256(abi.encodePacked(slot)));
        assertEq(value, 1);
        h.verifyInclusion(key, hex"01", proof, storageRoot);
        vm.expectRevert(MerkleTrie.ValueMismatch.selector);
        h.verifyInclusion(key, hex"02", proof, storageRoot);
        (bytes32 absentSlot, bytes[] memory absentProof) = _absent(0);
        vm.expectRevert(MerkleTrie.KeyNotFound.selector);
        h.verifyInclusion(abi.encodePacked(keccak256(abi.encodePacked(absentSlot))), hex"01", absentProof, storageRoot);
    }

    function test_wrongRootReverts() public {
        (bytes32 slot,, bytes[] memory proof) = _present(1);
        vm.expectRevert(abi.encodeWithSelector(MerkleTrie.InvalidNodeHash.selector, 0));
        h.getStorage(slot, proof, keccak256("wrong root"));
    }

    function test_tamperedNodesRevert() public {
        uint256 n = vm.parseJsonUint(json, ".presentCount");
        for (uint256 i; i < n; ++i) {
            (bytes32 slot,, bytes[] memory proof) = _present(i);
            for (uint256 j; j < proof.length; ++j) {
                bytes memory original = proof[j];
                // Flip one byte in the middle and one at the end of node j.
                uint256[2] memory positions = [original.length / 2, original.length - 1];
                for (uint256 p; p < 2; ++p) {
                    bytes memory tampered = bytes.concat(original);
                    tampered[positions[p]] = bytes1(uint8(tampered[positions[p]]) ^ 0x01);
                    proof[j] = tampered;
                    vm.expectRevert(abi.encodeWithSelector(MerkleTrie.InvalidNodeHash.selector, j));
                    h.getStorage(slot, proof, storageRoot);
                }
                proof[j] = original;
            }
        }
    }

    function test_truncatedProofReverts() public {
        (bytes32 slot,, bytes[] memory proof) = _present(0);
        bytes[] memory shorter = new bytes[](proof.length - 1);
        for (uint256 i; i < shorter.length; ++i) {
            shorter[i] = proof[i];
        }
        vm.expectRevert(MerkleTrie.ProofTooShort.selector);
        h.getStorage(slot, shorter, storageRoot);
    }

    function test_extraNodesRevert() public {
        (bytes32 slot,, bytes[] memory proof) = _present(0);
        bytes[] memory longer = new bytes[](proof.length + 1);
        for (uint256 i; i < proof.length; ++i) {
            longer[i] = proof[i];
        }
        longer[proof.length] = proof[0];
        vm.expectRevert(MerkleTrie.ProofHasExtraNodes.selector);
        h.getStorage(slot, longer, storageRoot);

        // The same for an exclusion proof: extra nodes cannot hide behind an absent key.
        (bytes32 absentSlot, bytes[] memory absentProof) = _absent(0);
        bytes[] memory longerAbsent = new bytes[](absentProof.length + 1);
        for (uint256 i; i < absentProof.length; ++i) {
            longerAbsent[i] = absentProof[i];
        }
        longerAbsent[absentProof.length] = proof[proof.length - 1];
        vm.expectRevert(MerkleTrie.ProofHasExtraNodes.selector);
        h.getStorage(absentSlot, longerAbsent, storageRoot);
    }

    function test_proofForOtherKeyNeverProvesInclusion() public view {
        // Using slot A's proof for slot B must not return A's value for B.
        (bytes32 slotA, uint256 valueA, bytes[] memory proofA) = _present(0);
        (bytes32 slotB,,) = _present(1);
        assertTrue(slotA != slotB);
        try h.getStorage(slotB, proofA, storageRoot) returns (uint256 v) {
            assertTrue(v != valueA || v == 0, "proof of A answered for B");
            assertEq(v, 0, "only an exclusion is possible");
        } catch {}
    }

    function test_emptyProofOnlyForEmptyTrie() public {
        bytes[] memory none = new bytes[](0);
        assertEq(h.getStorage(bytes32(0), none, MerkleTrie.EMPTY_TRIE_ROOT), 0);
        vm.expectRevert(MerkleTrie.EmptyProof.selector);
        h.getStorage(bytes32(0), none, storageRoot);
    }

    /// @notice reth and Parallax prove the empty trie with its one node, the empty string 0x80.
    function test_emptyNodeProofOnlyForEmptyTrie() public {
        bytes[] memory emptyNode = new bytes[](1);
        emptyNode[0] = hex"80";
        assertEq(h.getStorage(bytes32(0), emptyNode, MerkleTrie.EMPTY_TRIE_ROOT), 0);
        (bool exists, bytes memory value) = h.get(hex"01", emptyNode, MerkleTrie.EMPTY_TRIE_ROOT);
        assertFalse(exists, "absent from the empty trie");
        assertEq(value.length, 0);
        (exists,) = h.getAccount(account, emptyNode, MerkleTrie.EMPTY_TRIE_ROOT);
        assertFalse(exists, "no account in the empty state");
        vm.expectRevert(MerkleTrie.KeyNotFound.selector);
        h.verifyInclusion(hex"01", hex"01", emptyNode, MerkleTrie.EMPTY_TRIE_ROOT);

        // Against any other root, or followed by more nodes, it proves nothing.
        vm.expectRevert(abi.encodeWithSelector(MerkleTrie.InvalidNodeHash.selector, 0));
        h.getStorage(bytes32(0), emptyNode, storageRoot);
        bytes[] memory extended = new bytes[](2);
        extended[0] = hex"80";
        extended[1] = hex"80";
        vm.expectRevert(MerkleTrie.ProofHasExtraNodes.selector);
        h.getStorage(bytes32(0), extended, MerkleTrie.EMPTY_TRIE_ROOT);
    }

    /// @notice A mutated root node (with the root recomputed, so the hash check passes) is either
    ///         rejected with a custom error or read as a valid node: never a panic, and never the
    ///         original value for the original key unless the mutation kept it.
    function testFuzz_mutatedRootNode(uint256 which, uint256 pos, uint8 xor) public view {
        vm.assume(xor != 0);
        (bytes32 slot,, bytes[] memory proof) = _present(bound(which, 0, 8));
        bytes memory node = bytes.concat(proof[0]);
        pos = bound(pos, 0, node.length - 1);
        node[pos] = bytes1(uint8(node[pos]) ^ xor);
        proof[0] = node;
        try h.get(abi.encodePacked(keccak256(abi.encodePacked(slot))), proof, keccak256(node)) {}
        catch (bytes memory reason) {
            _assertCustomError(reason);
        }
    }

    /// @notice Arbitrary bytes as a one-node proof: custom errors only.
    function testFuzz_garbageNode(bytes calldata node, bytes calldata key) public view {
        vm.assume(node.length > 0 && key.length > 0);
        bytes[] memory proof = new bytes[](1);
        proof[0] = node;
        try h.get(key, proof, keccak256(node)) {}
        catch (bytes memory reason) {
            _assertCustomError(reason);
        }
    }

    function _assertCustomError(bytes memory reason) internal pure {
        assertGe(reason.length, 4, "revert without an error");
        // forge-lint: disable-next-line(unsafe-typecast) -- the selector is the first 4 bytes
        bytes4 sel = bytes4(reason);
        assertTrue(sel != bytes4(0x4e487b71), "panic instead of a custom error");
        assertTrue(sel != bytes4(0x08c379a0), "string error instead of a custom error");
    }

    function test_gas_storageProof() public view {
        (bytes32 slot,, bytes[] memory proof) = _present(5);
        uint256 used = h.getStorageGas(slot, proof, storageRoot);
        assertLt(used, 150_000, "storage proof verification gas");
    }
}

/// @notice Hand-built tries covering node shapes that secure tries from a real node rarely
///         contain: embedded (< 32 byte) nodes, values in branch nodes, and malformed nodes.
contract MerkleTrieSyntheticTest is Test {
    TrieHarness internal h;
    string internal constant VALUE = "aaaaaaaaaaaaaaaaaaaa";

    function setUp() public {
        h = new TrieHarness();
    }

    /// @dev A trie with keys 0x01 -> "aaaa...a" (20 bytes) and 0x0102 -> "b" (non-secure):
    ///      root = extension [0x00 0x01 (path "01")] -> branch{value, child[0] -> leaf [0x32, "b"]}
    ///      The leaf rlp([0x32, 0x62]) = 0xc23262 is 3 bytes, so it is embedded in the branch; the
    ///      branch is 40 bytes, so the extension references it by hash.
    function _twoKeyTrie() internal pure returns (bytes32 root, bytes memory ext, bytes memory branch) {
        // branch: 17 items; item 0 = embedded leaf list c23262 (path odd leaf nibble 2 -> 0x32), value "a" (0x61).
        bytes memory items = hex"c23262";
        for (uint256 i = 1; i < 16; ++i) {
            items = bytes.concat(items, hex"80");
        }
        items = bytes.concat(items, hex"94", bytes(VALUE));
        branch = bytes.concat(bytes1(uint8(0xc0 + items.length)), items);
        // extension: path nibbles [0,1] even -> hex-prefix 0x00 0x01 -> rlp string 0x820001; child = hash(branch).
        ext = bytes.concat(hex"e4", hex"820001", hex"a0", abi.encodePacked(keccak256(branch)));
        root = keccak256(ext);
    }

    function test_embeddedNodeAndBranchValue() public view {
        (bytes32 root, bytes memory ext, bytes memory branch) = _twoKeyTrie();
        bytes[] memory proof = new bytes[](2);
        proof[0] = ext;
        proof[1] = branch;
        (bool exists, bytes memory v) = h.get(hex"01", proof, root);
        assertTrue(exists, "value in branch");
        assertEq(v, bytes(VALUE));
        (exists, v) = h.get(hex"0102", proof, root);
        assertTrue(exists, "embedded leaf");
        assertEq(v, bytes("b"));
        (exists,) = h.get(hex"0103", proof, root);
        assertFalse(exists, "diverging embedded leaf");
        (exists,) = h.get(hex"0112", proof, root);
        assertFalse(exists, "empty branch slot");
        bytes[] memory one = new bytes[](1);
        one[0] = ext;
        (exists,) = h.get(hex"02", one, root);
        assertFalse(exists, "key leaves the trie inside the extension");
    }

    /// @notice A one-leaf trie for a random key (1-70 bytes) and value: the leaf's even path is
    ///         hex-prefix 0x20 ‖ key. Its key is found, any other key is absent.
    function testFuzz_singleLeaf(bytes calldata key, bytes calldata value, bytes calldata other) public view {
        vm.assume(key.length > 0 && key.length <= 70 && value.length > 0 && value.length <= 100);
        vm.assume(other.length > 0 && other.length <= 70 && keccak256(other) != keccak256(key));
        bytes memory payload = bytes.concat(_rlpString(bytes.concat(hex"20", key)), _rlpString(value));
        bytes[] memory proof = new bytes[](1);
        proof[0] = bytes.concat(_rlpListHeader(payload.length), payload);
        bytes32 root = keccak256(proof[0]);
        (bool exists, bytes memory v) = h.get(key, proof, root);
        assertTrue(exists, "key found");
        assertEq(v, value);
        (exists,) = h.get(other, proof, root);
        assertFalse(exists, "other key absent");
    }

    function _rlpString(bytes memory b) internal pure returns (bytes memory) {
        if (b.length == 1 && uint8(b[0]) < 0x80) return b;
        if (b.length < 56) return bytes.concat(bytes1(uint8(0x80 + b.length)), b);
        return bytes.concat(hex"b8", bytes1(uint8(b.length)), b);
    }

    function _rlpListHeader(uint256 len) internal pure returns (bytes memory) {
        // forge-lint: disable-next-line(unsafe-typecast) -- len < 56
        if (len < 56) return abi.encodePacked(uint8(0xc0 + len));
        // forge-lint: disable-next-line(unsafe-typecast) -- the fuzz bounds keep len < 256
        return abi.encodePacked(uint8(0xf8), uint8(len));
    }

    function test_malformedNodesRevert() public {
        // A 3-item list is no trie node.
        bytes[] memory proof = new bytes[](1);
        proof[0] = hex"c3010203";
        vm.expectRevert(MerkleTrie.InvalidNodeShape.selector);
        h.get(hex"01", proof, keccak256(proof[0]));

        // Hex-prefix flag 4 is invalid: rlp([0x42ab, "a"]).
        proof[0] = hex"c48242ab61";
        vm.expectRevert(MerkleTrie.InvalidHexPrefix.selector);
        h.get(hex"2ab0", proof, keccak256(proof[0]));

        // Even-length path with a non-zero padding nibble.
        proof[0] = hex"c48221ab61";
        vm.expectRevert(MerkleTrie.InvalidHexPrefix.selector);
        h.get(hex"ab", proof, keccak256(proof[0]));

        // Child reference of 5 bytes (neither hash nor embedded node).
        proof[0] = hex"c982001185aabbccddee";
        vm.expectRevert(MerkleTrie.InvalidChildReference.selector);
        h.get(hex"11", proof, keccak256(proof[0]));

        // Leaf with an empty value: rlp([0x2011, ""]).
        proof[0] = hex"c482201180";
        vm.expectRevert(MerkleTrie.InvalidEmptyValue.selector);
        h.get(hex"11", proof, keccak256(proof[0]));

        // Malformed RLP (declared list length beyond the node).
        proof[0] = hex"c5822011";
        vm.expectRevert(RLPReader.RLPItemOutOfBounds.selector);
        h.get(hex"11", proof, keccak256(proof[0]));

        // Empty key.
        vm.expectRevert(MerkleTrie.EmptyKey.selector);
        h.get("", proof, keccak256(proof[0]));
    }

    function test_embeddedNodeTooLongReverts() public {
        // Extension whose child is an inline list of 33 bytes (must have been a hash reference).
        // inner is a 32-byte list: 0xdf + (0x9e + 30 bytes).
        bytes memory inner = bytes.concat(hex"df", hex"9e", new bytes(30));
        // rlp([0x0000 (extension, path 00), inner])
        bytes memory ext = bytes.concat(hex"e3", hex"820000", inner);
        bytes[] memory proof = new bytes[](1);
        proof[0] = ext;
        vm.expectRevert(MerkleTrie.EmbeddedNodeTooLong.selector);
        h.get(hex"00", proof, keccak256(ext));
    }
}
