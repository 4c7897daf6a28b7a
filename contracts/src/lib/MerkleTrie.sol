// SPDX-License-Identifier: MIT OR Apache-2.0
pragma solidity 0.8.30;

import {RLPItem, RLPReader} from "./RLPReader.sol";

/// @title MerkleTrie
/// @notice Verifies Ethereum Merkle-Patricia trie proofs (the `proof` arrays of `eth_getProof`)
///         for both inclusion ("key maps to value") and exclusion ("key is absent").
/// @dev A proof is the list of RLP-encoded nodes on the path from the root towards the key. The
///      walk starts at `root`; every node that its parent references by hash must be the next
///      proof element and hash to that reference; nodes shorter than 32 bytes are embedded in their
///      parent and are read in place. The walk ends at:
///        - a leaf whose remaining path equals the rest of the key       -> inclusion (its value);
///        - a leaf or extension whose path diverges from the key          -> exclusion;
///        - an empty branch slot where the key continues                  -> exclusion;
///        - a branch at the end of the key (value slot set / empty)       -> inclusion / exclusion.
///      The proof must end exactly there: missing nodes, extra nodes, wrong hashes, malformed RLP,
///      bad hex-prefix encodings and unknown node shapes all revert with a custom error, so a
///      caller can never mistake a malformed proof for an exclusion proof.
///      The empty trie (root = keccak256(rlp(""))) is an exclusion with either of the proofs
///      nodes give for it: no nodes (geth) or its one node, the empty string 0x80 (reth, and
///      Parallax's own `eth_getProof`, e.g. for every slot of an account without storage).
library MerkleTrie {
    using RLPReader for RLPItem;

    /// @notice Root of the empty trie: keccak256(0x80).
    bytes32 internal constant EMPTY_TRIE_ROOT = 0x56e81f171bcc55a6ff8345e692c0f86e5b48e01b996cadc001622fb5e363b421;

    /// @notice The proof has no nodes for a non-empty trie.
    error EmptyProof();
    /// @notice The key is empty (every Ethereum trie key has at least one byte).
    error EmptyKey();
    /// @notice A proof node's hash does not match its reference in the parent (or the root).
    error InvalidNodeHash(uint256 proofIndex);
    /// @notice The walk needs another node but the proof has ended.
    error ProofTooShort();
    /// @notice The walk ended before the last proof node: the proof carries nodes it does not need.
    error ProofHasExtraNodes();
    /// @notice A node is neither a branch (17 items) nor a leaf/extension (2 items).
    error InvalidNodeShape();
    /// @notice A child reference is neither empty, a 32-byte hash, nor an embedded node under 32 bytes.
    error InvalidChildReference();
    /// @notice A leaf/extension path has an invalid hex-prefix encoding.
    error InvalidHexPrefix();
    /// @notice A leaf or extension has an empty path where one is required, or a leaf/branch
    ///         value slot holds an empty value (tries never store empty values).
    error InvalidEmptyValue();
    /// @notice An embedded node is 32 bytes or longer (it must have been referenced by hash).
    error EmbeddedNodeTooLong();
    /// @notice The proof shows the key is absent (from `verifyInclusion`).
    error KeyNotFound();
    /// @notice The proof shows the key maps to another value (from `verifyInclusion`).
    error ValueMismatch();

    /// @notice Walks a proof for `key` and reports whether the key is present, and its value.
    /// @param key The raw trie key (already hashed for secure tries).
    /// @param proof The RLP-encoded nodes from the root down, as returned by `eth_getProof`.
    /// @param root The trie root the proof must be rooted in.
    /// @return exists True for an inclusion proof, false for a valid exclusion proof.
    /// @return value The value stored under the key (empty when absent).
    function get(bytes memory key, bytes[] memory proof, bytes32 root)
        internal
        pure
        returns (bool exists, bytes memory value)
    {
        if (key.length == 0) revert EmptyKey();
        if (proof.length == 0) {
            if (root == EMPTY_TRIE_ROOT) return (false, "");
            revert EmptyProof();
        }
        bytes memory nibbles = _toNibbles(key);
        uint256 keyIndex;
        uint256 proofIndex;
        if (keccak256(proof[0]) != root) revert InvalidNodeHash(0);
        // The root node hashed to the empty root, so it is 0x80: the whole (empty) trie.
        if (root == EMPTY_TRIE_ROOT) {
            if (proof.length != 1) revert ProofHasExtraNodes();
            return (false, "");
        }
        RLPItem memory node = RLPReader.toItem(proof[0]);

        while (true) {
            // The element a branch would give for this key: the next nibble's child, or the value
            // slot (16) when the key ends here. One pass validates the node and counts its items.
            uint256 want = keyIndex < nibbles.length ? uint8(nibbles[keyIndex]) : 16;
            (RLPItem memory next, uint256 count) = node.readListElement(want);
            uint256 outcome = CONTINUE;
            if (count == 17) {
                if (want == 16) {
                    // The key ends at this branch: its value slot decides.
                    outcome = next.isEmptyString() ? ABSENT : FOUND;
                    if (outcome == FOUND) value = next.readBytes();
                } else {
                    keyIndex += 1;
                    if (next.isEmptyString()) outcome = ABSENT;
                }
            } else if (count == 2) {
                uint256 consumed;
                (outcome, value, next, consumed) = _visitLeafOrExtension(node, nibbles, keyIndex);
                keyIndex += consumed;
            } else {
                revert InvalidNodeShape();
            }
            if (outcome != CONTINUE) {
                // The walk may only stop at the last proof node.
                if (proofIndex + 1 != proof.length) revert ProofHasExtraNodes();
                return (outcome == FOUND, value);
            }
            (node, proofIndex) = _follow(next, proof, proofIndex);
        }
    }

    /// @notice Reverts unless the proof shows `key` maps to exactly `value`.
    /// @dev Convenience for callers that need inclusion (e.g. withdrawal proofs).
    function verifyInclusion(bytes memory key, bytes memory value, bytes[] memory proof, bytes32 root) internal pure {
        (bool exists, bytes memory found) = get(key, proof, root);
        if (!exists) revert KeyNotFound();
        if (keccak256(found) != keccak256(value)) revert ValueMismatch();
    }

    /// @dev Outcomes of visiting one node.
    uint256 private constant CONTINUE = 0;
    uint256 private constant FOUND = 1;
    uint256 private constant ABSENT = 2;

    /// @dev Visits a 2-item node (leaf or extension) at `keyIndex`.
    /// @return outcome FOUND (with `value`), ABSENT, or CONTINUE into `next`.
    /// @return value The leaf value when FOUND.
    /// @return next The extension's child when CONTINUE.
    /// @return consumed Key nibbles consumed by the extension.
    function _visitLeafOrExtension(RLPItem memory node, bytes memory nibbles, uint256 keyIndex)
        private
        pure
        returns (uint256 outcome, bytes memory value, RLPItem memory next, uint256 consumed)
    {
        RLPItem[] memory items = node.readList();
        (bool isLeaf, bytes memory path) = _decodeHexPrefix(items[0].readBytes());
        uint256 shared = _sharedPrefix(path, nibbles, keyIndex);
        if (isLeaf) {
            if (shared != path.length || keyIndex + shared != nibbles.length) return (ABSENT, "", next, 0);
            value = items[1].readBytes();
            if (value.length == 0) revert InvalidEmptyValue();
            return (FOUND, value, next, 0);
        }
        // Extension: an empty path is never produced by a valid trie.
        if (path.length == 0) revert InvalidEmptyValue();
        // The key leaves the trie inside this extension.
        if (shared != path.length) return (ABSENT, "", next, 0);
        next = items[1];
        if (next.isEmptyString()) revert InvalidChildReference();
        return (CONTINUE, "", next, shared);
    }

    /// @dev Follows a child reference: an embedded node is read in place; a 32-byte hash must be
    ///      the hash of the next proof node.
    function _follow(RLPItem memory ref, bytes[] memory proof, uint256 proofIndex)
        private
        pure
        returns (RLPItem memory node, uint256 nextProofIndex)
    {
        if (ref.isList()) {
            if (ref.length >= 32) revert EmbeddedNodeTooLong();
            return (ref, proofIndex);
        }
        bytes32 hash = _readHashRef(ref);
        nextProofIndex = proofIndex + 1;
        if (nextProofIndex >= proof.length) revert ProofTooShort();
        if (keccak256(proof[nextProofIndex]) != hash) revert InvalidNodeHash(nextProofIndex);
        node = RLPReader.toItem(proof[nextProofIndex]);
    }

    /// @dev A child reference that is not embedded must be a 32-byte string.
    function _readHashRef(RLPItem memory ref) private pure returns (bytes32 hash) {
        // Exactly 0xa0 followed by 32 bytes.
        if (ref.length != 33) revert InvalidChildReference();
        uint256 ptr = ref.ptr;
        uint256 prefix;
        assembly ("memory-safe") {
            prefix := byte(0, mload(ptr))
            hash := mload(add(ptr, 1))
        }
        if (prefix != 0xa0) revert InvalidChildReference();
    }

    /// @dev Splits bytes into nibbles (high nibble first), 16 input bytes per step: the bytes
    ///      are spread into 16-bit lanes by shift-and-mask rounds, then each lane is split into
    ///      (high nibble, low nibble). Output words past 2n bytes are zeroed.
    function _toNibbles(bytes memory data) private pure returns (bytes memory nibbles) {
        uint256 n = data.length;
        nibbles = new bytes(n * 2);
        assembly ("memory-safe") {
            let src := add(data, 0x20)
            let dst := add(nibbles, 0x20)
            for { let i := 0 } lt(i, n) { i := add(i, 16) } {
                let t := shr(128, mload(add(src, i)))
                t := and(or(t, shl(64, t)), 0x0000000000000000ffffffffffffffff0000000000000000ffffffffffffffff)
                t := and(or(t, shl(32, t)), 0x00000000ffffffff00000000ffffffff00000000ffffffff00000000ffffffff)
                t := and(or(t, shl(16, t)), 0x0000ffff0000ffff0000ffff0000ffff0000ffff0000ffff0000ffff0000ffff)
                t := and(or(t, shl(8, t)), 0x00ff00ff00ff00ff00ff00ff00ff00ff00ff00ff00ff00ff00ff00ff00ff00ff)
                let m := 0x000f000f000f000f000f000f000f000f000f000f000f000f000f000f000f000f
                mstore(add(dst, shl(1, i)), or(shl(8, and(shr(4, t), m)), and(t, m)))
            }
            // The last step may have read past `data` and written nibbles past 2n: clear them.
            mstore(add(dst, shl(1, n)), 0)
        }
    }

    /// @dev Decodes a hex-prefix (compact) encoded path: flag nibble 0/1 = extension even/odd,
    ///      2/3 = leaf even/odd; an even path has a zero padding nibble.
    function _decodeHexPrefix(bytes memory encoded) private pure returns (bool isLeaf, bytes memory path) {
        if (encoded.length == 0) revert InvalidHexPrefix();
        uint8 first = uint8(encoded[0]);
        uint8 flag = first >> 4;
        if (flag > 3) revert InvalidHexPrefix();
        isLeaf = flag >= 2;
        bool odd = flag & 1 == 1;
        if (!odd && first & 0x0f != 0) revert InvalidHexPrefix();
        // All nibbles of `encoded`, minus the flag nibble and (for even paths) the padding nibble.
        bytes memory all = _toNibbles(encoded);
        uint256 skip = odd ? 1 : 2;
        uint256 len = all.length - skip;
        assembly ("memory-safe") {
            // Reuse `all` in place: shift its start by `skip` bytes and shorten it.
            path := add(all, skip)
            mstore(path, len)
        }
    }

    /// @dev Length of the common prefix of `path` and `nibbles[from:]`.
    function _sharedPrefix(bytes memory path, bytes memory nibbles, uint256 from) private pure returns (uint256 n) {
        uint256 max = nibbles.length - from;
        if (path.length < max) max = path.length;
        assembly ("memory-safe") {
            let a := add(path, 0x20)
            let b := add(add(nibbles, 0x20), from)
            for {} and(lt(n, max), eq(byte(0, mload(add(a, n))), byte(0, mload(add(b, n))))) {} { n := add(n, 1) }
        }
    }
}
