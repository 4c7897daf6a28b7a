// SPDX-License-Identifier: MIT
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
///      The empty trie (root = keccak256(rlp(""))) is accepted with an empty proof as an exclusion.
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
        RLPItem memory node = RLPReader.toItem(proof[0]);

        while (true) {
            RLPItem[] memory items = node.readList();
            RLPItem memory next;
            if (items.length == 17) {
                if (keyIndex == nibbles.length) {
                    // The key ends at this branch: its value slot decides.
                    _requireLast(proofIndex, proof.length);
                    if (items[16].isEmptyString()) return (false, "");
                    return (true, items[16].readBytes());
                }
                next = items[uint8(nibbles[keyIndex])];
                keyIndex += 1;
                if (next.isEmptyString()) {
                    _requireLast(proofIndex, proof.length);
                    return (false, "");
                }
            } else if (items.length == 2) {
                (bool isLeaf, bytes memory path) = _decodeHexPrefix(items[0].readBytes());
                uint256 shared = _sharedPrefix(path, nibbles, keyIndex);
                if (isLeaf) {
                    _requireLast(proofIndex, proof.length);
                    if (shared == path.length && keyIndex + shared == nibbles.length) {
                        bytes memory leafValue = items[1].readBytes();
                        if (leafValue.length == 0) revert InvalidEmptyValue();
                        return (true, leafValue);
                    }
                    return (false, "");
                }
                // Extension: an empty path is never produced by a valid trie.
                if (path.length == 0) revert InvalidEmptyValue();
                if (shared != path.length) {
                    // The key leaves the trie inside this extension.
                    _requireLast(proofIndex, proof.length);
                    return (false, "");
                }
                keyIndex += shared;
                next = items[1];
                if (next.isEmptyString()) revert InvalidChildReference();
            } else {
                revert InvalidNodeShape();
            }

            // Follow the child reference: embedded node or hash of the next proof node.
            if (next.isList()) {
                if (next.length >= 32) revert EmbeddedNodeTooLong();
                node = next;
            } else {
                bytes memory ref = next.readBytes();
                if (ref.length != 32) revert InvalidChildReference();
                proofIndex += 1;
                if (proofIndex >= proof.length) revert ProofTooShort();
                // forge-lint: disable-next-line(unsafe-typecast) -- ref is exactly 32 bytes
                if (keccak256(proof[proofIndex]) != bytes32(ref)) revert InvalidNodeHash(proofIndex);
                node = RLPReader.toItem(proof[proofIndex]);
            }
        }
    }

    /// @notice Reverts unless the proof shows `key` maps to exactly `value`.
    /// @dev Convenience for callers that need inclusion (e.g. withdrawal proofs).
    function verifyInclusion(bytes memory key, bytes memory value, bytes[] memory proof, bytes32 root) internal pure {
        (bool exists, bytes memory found) = get(key, proof, root);
        if (!exists) revert KeyNotFound();
        if (keccak256(found) != keccak256(value)) revert ValueMismatch();
    }

    /// @dev The walk may only stop at the last proof node.
    function _requireLast(uint256 proofIndex, uint256 proofLength) private pure {
        if (proofIndex + 1 != proofLength) revert ProofHasExtraNodes();
    }

    /// @dev Splits bytes into nibbles (high nibble first).
    function _toNibbles(bytes memory data) private pure returns (bytes memory nibbles) {
        uint256 n = data.length;
        nibbles = new bytes(n * 2);
        for (uint256 i; i < n; ++i) {
            uint8 b = uint8(data[i]);
            nibbles[2 * i] = bytes1(b >> 4);
            nibbles[2 * i + 1] = bytes1(b & 0x0f);
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
        uint256 len = (encoded.length - 1) * 2 + (odd ? 1 : 0);
        path = new bytes(len);
        uint256 j;
        if (odd) {
            path[0] = bytes1(first & 0x0f);
            j = 1;
        }
        for (uint256 i = 1; i < encoded.length; ++i) {
            uint8 b = uint8(encoded[i]);
            path[j] = bytes1(b >> 4);
            path[j + 1] = bytes1(b & 0x0f);
            j += 2;
        }
    }

    /// @dev Length of the common prefix of `path` and `nibbles[from:]`.
    function _sharedPrefix(bytes memory path, bytes memory nibbles, uint256 from) private pure returns (uint256 n) {
        uint256 max = nibbles.length - from;
        if (path.length < max) max = path.length;
        while (n < max && path[n] == nibbles[from + n]) {
            ++n;
        }
    }
}
