// SPDX-License-Identifier: MIT OR Apache-2.0
pragma solidity 0.8.30;

import {RLPItem, RLPReader} from "../lib/RLPReader.sol";
import {RLPWriter} from "../lib/RLPWriter.sol";
import {MemoryMap} from "./MemoryMap.sol";

/// @title MptDb
/// @notice An in-memory Ethereum Merkle-Patricia trie over a witness: nodes keyed by keccak256,
///         with reads (`get`) and writes (`put`, an empty value deletes) that return new roots.
/// @dev Why: the step verifier re-executes one L2 transaction on L1 and must compute the
///      post-state root from the pre-state root and only the nodes the transaction touches.
///      Full Ethereum semantics: leaf / extension / branch nodes (branches may hold a value),
///      nodes whose RLP is under 32 bytes embedded in their parent, inserts that split leaves and
///      extensions, deletes that collapse a branch left with one child into an extension or leaf
///      (which needs that child's node: if the witness lacks it, `MissingNode`) and merge
///      extensions. Nodes `put` creates go into the store, so later operations find them.
///      Witness nodes are content-addressed (stored under their own hash), so a wrong node cannot
///      be substituted; a missing one reverts `MissingNode(hash)`, never a wrong root.
///      Internally a child is handled as its "reference", the exact RLP item its parent holds:
///      0x80 (empty), 0xa0 ‖ hash, or an embedded node (a list under 32 bytes).
library MptDb {
    using RLPReader for RLPItem;

    /// @notice Root of the empty trie: keccak256(0x80).
    bytes32 internal constant EMPTY_ROOT = 0x56e81f171bcc55a6ff8345e692c0f86e5b48e01b996cadc001622fb5e363b421;

    /// @notice The walk needs the node with this hash and the witness does not have it.
    error MissingNode(bytes32 hash);
    /// @notice A node is neither a branch (17 items) nor a leaf/extension (2 items), or has a bad
    ///         path encoding or child reference.
    error InvalidNode();

    /// @notice The node store: node hash -> memory pointer to the node's RLP bytes.
    struct Store {
        MemoryMap.Map nodes;
    }

    /// @notice A store holding the witness `nodes` (room for new nodes grows on demand).
    function create(bytes[] memory nodes) internal pure returns (Store memory db) {
        db.nodes = MemoryMap.create(nodes.length + 64);
        for (uint256 i; i < nodes.length; ++i) {
            add(db, nodes[i]);
        }
    }

    /// @notice Adds one node under its hash and returns the hash.
    function add(Store memory db, bytes memory node) internal pure returns (bytes32 h) {
        h = keccak256(node);
        uint256 ptr;
        assembly ("memory-safe") {
            ptr := node
        }
        MemoryMap.set(db.nodes, h, ptr);
    }

    /// @notice Whether the store holds the node with hash `h`.
    function has(Store memory db, bytes32 h) internal pure returns (bool found) {
        (found,) = MemoryMap.get(db.nodes, h);
    }

    /// @notice The value under `key` in the trie with root `root`.
    /// @return found Whether the key is present.
    /// @return value Its value (empty when absent).
    function get(Store memory db, bytes32 root, bytes memory key)
        internal
        pure
        returns (bool found, bytes memory value)
    {
        if (root == EMPTY_ROOT) return (false, "");
        bytes memory nib = _nibbles(key);
        bytes memory node = _load(db, root);
        uint256 idx;
        while (true) {
            RLPItem[] memory items = RLPReader.toItem(node).readList();
            if (items.length == 17) {
                if (idx == nib.length) {
                    if (items[16].isEmptyString()) return (false, "");
                    return (true, items[16].readBytes());
                }
                RLPItem memory c = items[uint8(nib[idx])];
                idx += 1;
                if (c.isEmptyString()) return (false, "");
                node = _resolveItem(db, c);
            } else if (items.length == 2) {
                (bool leaf, bytes memory path) = _decodePath(items[0]);
                uint256 shared = _shared(path, nib, idx);
                if (leaf) {
                    if (shared == path.length && idx + shared == nib.length) return (true, items[1].readBytes());
                    return (false, "");
                }
                if (shared != path.length) return (false, "");
                idx += shared;
                node = _resolveItem(db, items[1]);
            } else {
                revert InvalidNode();
            }
        }
    }

    /// @notice Sets `key` to `value` (an empty value deletes the key) in the trie with root `root`.
    /// @return newRoot The root of the updated trie (new nodes are in the store).
    function put(Store memory db, bytes32 root, bytes memory key, bytes memory value)
        internal
        pure
        returns (bytes32 newRoot)
    {
        bytes memory ref = root == EMPTY_ROOT ? bytes(hex"80") : RLPWriter.encodeBytes32(root);
        bytes memory newRef = _put(db, ref, _nibbles(key), 0, value);
        if (_isEmpty(newRef)) return EMPTY_ROOT;
        if (newRef.length == 33) {
            assembly ("memory-safe") {
                newRoot := mload(add(newRef, 0x21))
            }
            return newRoot;
        }
        // A root node under 32 bytes is embedded nowhere: the root is still its hash.
        return add(db, newRef);
    }

    /// @dev The reference replacing `ref` after setting `nib[idx:]` to `value` below it.
    function _put(Store memory db, bytes memory ref, bytes memory nib, uint256 idx, bytes memory value)
        private
        pure
        returns (bytes memory)
    {
        if (_isEmpty(ref)) {
            if (value.length == 0) return ref;
            return _store(db, _leafNode(nib, idx, nib.length, value));
        }
        RLPItem[] memory items = RLPReader.toItem(_resolveRef(db, ref)).readList();
        if (items.length == 17) return _putBranch(db, ref, items, nib, idx, value);
        if (items.length != 2) revert InvalidNode();
        (bool leaf, bytes memory path) = _decodePath(items[0]);
        uint256 shared = _shared(path, nib, idx);
        if (leaf && shared == path.length && idx + shared == nib.length) {
            // Same key: replace or delete the value.
            if (value.length == 0) return hex"80";
            return _store(db, _leafNode(path, 0, path.length, value));
        }
        if (!leaf && shared == path.length) {
            // The key continues below this extension.
            bytes memory child = items[1].readRawBytes();
            bytes memory newChild = _put(db, child, nib, idx + shared, value);
            if (keccak256(newChild) == keccak256(child)) return ref;
            return _prefixed(db, path, 0, path.length, newChild);
        }
        // The key leaves this node's path: absent, so a delete changes nothing.
        if (value.length == 0) return ref;
        // Split: a branch at the first differing nibble, under an extension for the shared part.
        bytes[] memory refs = _emptyRefs();
        bytes memory branchValue;
        if (leaf) {
            if (shared == path.length) {
                branchValue = items[1].readBytes();
            } else {
                refs[uint8(path[shared])] = _store(db, _leafNode(path, shared + 1, path.length, items[1].readBytes()));
            }
        } else {
            bytes memory child = items[1].readRawBytes();
            refs[uint8(path[shared])] =
                shared + 1 == path.length ? child : _store(db, _extNode(path, shared + 1, path.length, child));
        }
        uint256 at = idx + shared;
        if (at == nib.length) {
            branchValue = value;
        } else {
            refs[uint8(nib[at])] = _store(db, _leafNode(nib, at + 1, nib.length, value));
        }
        bytes memory b = _store(db, _branchNode(refs, branchValue));
        if (shared == 0) return b;
        return _store(db, _extNode(path, 0, shared, b));
    }

    /// @dev `_put` at a branch node.
    function _putBranch(
        Store memory db,
        bytes memory ref,
        RLPItem[] memory items,
        bytes memory nib,
        uint256 idx,
        bytes memory value
    ) private pure returns (bytes memory) {
        bytes[] memory refs = new bytes[](16);
        for (uint256 i; i < 16; ++i) {
            refs[i] = items[i].readRawBytes();
        }
        bytes memory branchValue = items[16].readBytes();
        if (idx == nib.length) {
            if (keccak256(branchValue) == keccak256(value)) return ref;
            branchValue = value;
        } else {
            uint256 n = uint8(nib[idx]);
            bytes memory newChild = _put(db, refs[n], nib, idx + 1, value);
            if (keccak256(newChild) == keccak256(refs[n])) return ref;
            refs[n] = newChild;
        }
        // A branch needs two entries (children or value); with fewer it collapses.
        uint256 count = branchValue.length == 0 ? 0 : 1;
        uint256 last;
        for (uint256 i; i < 16; ++i) {
            if (!_isEmpty(refs[i])) {
                count += 1;
                last = i;
            }
        }
        if (count >= 2) return _store(db, _branchNode(refs, branchValue));
        if (count == 0) return hex"80";
        if (branchValue.length != 0) return _store(db, _leafNode(nib, idx, idx, branchValue));
        bytes memory prefix = new bytes(1);
        prefix[0] = bytes1(uint8(last));
        return _prefixed(db, prefix, 0, 1, refs[last]);
    }

    /// @dev The reference to `child` seen through the path `path[from:to]` (non-empty): an
    ///      extension to a branch, or a leaf/extension child with the path prepended to its own.
    function _prefixed(Store memory db, bytes memory path, uint256 from, uint256 to, bytes memory child)
        private
        pure
        returns (bytes memory)
    {
        if (_isEmpty(child)) return child;
        RLPItem[] memory items = RLPReader.toItem(_resolveRef(db, child)).readList();
        if (items.length == 17) return _store(db, _extNode(path, from, to, child));
        if (items.length != 2) revert InvalidNode();
        (bool leaf, bytes memory childPath) = _decodePath(items[0]);
        bytes memory merged = new bytes(to - from + childPath.length);
        for (uint256 i = from; i < to; ++i) {
            merged[i - from] = path[i];
        }
        for (uint256 i; i < childPath.length; ++i) {
            merged[to - from + i] = childPath[i];
        }
        if (leaf) return _store(db, _leafNode(merged, 0, merged.length, items[1].readBytes()));
        return _store(db, _extNode(merged, 0, merged.length, items[1].readRawBytes()));
    }

    /// @dev The reference to a new node: embedded when under 32 bytes, else stored and hashed.
    function _store(Store memory db, bytes memory node) private pure returns (bytes memory) {
        if (node.length < 32) return node;
        return RLPWriter.encodeBytes32(add(db, node));
    }

    /// @dev The node a (non-empty) reference points to.
    function _resolveRef(Store memory db, bytes memory ref) private pure returns (bytes memory) {
        uint256 first = uint8(ref[0]);
        if (first >= 0xc0) return ref;
        if (first != 0xa0 || ref.length != 33) revert InvalidNode();
        bytes32 h;
        assembly ("memory-safe") {
            h := mload(add(ref, 0x21))
        }
        return _load(db, h);
    }

    /// @dev The node a child item of a node being read points to.
    function _resolveItem(Store memory db, RLPItem memory item) private pure returns (bytes memory) {
        if (item.isList()) {
            if (item.length >= 32) revert InvalidNode();
            return item.readRawBytes();
        }
        if (item.length != 33) revert InvalidNode();
        return _load(db, item.readBytes32());
    }

    /// @dev The stored node with hash `h`, or `MissingNode(h)`.
    function _load(Store memory db, bytes32 h) private pure returns (bytes memory node) {
        (bool found, uint256 ptr) = MemoryMap.get(db.nodes, h);
        if (!found) revert MissingNode(h);
        assembly ("memory-safe") {
            node := ptr
        }
    }

    /// @dev Whether a reference is the empty string.
    function _isEmpty(bytes memory ref) private pure returns (bool) {
        return ref.length == 1 && uint8(ref[0]) == 0x80;
    }

    /// @dev Sixteen empty child references.
    function _emptyRefs() private pure returns (bytes[] memory refs) {
        refs = new bytes[](16);
        bytes memory empty = hex"80";
        for (uint256 i; i < 16; ++i) {
            refs[i] = empty;
        }
    }

    /// @dev RLP of a leaf with path `nib[from:to]`.
    function _leafNode(bytes memory nib, uint256 from, uint256 to, bytes memory value)
        private
        pure
        returns (bytes memory)
    {
        bytes[] memory items = new bytes[](2);
        items[0] = RLPWriter.encodeBytes(_hexPrefix(nib, from, to, true));
        items[1] = RLPWriter.encodeBytes(value);
        return RLPWriter.encodeList(items);
    }

    /// @dev RLP of an extension with path `nib[from:to]` over the child reference `child`.
    function _extNode(bytes memory nib, uint256 from, uint256 to, bytes memory child)
        private
        pure
        returns (bytes memory)
    {
        bytes[] memory items = new bytes[](2);
        items[0] = RLPWriter.encodeBytes(_hexPrefix(nib, from, to, false));
        items[1] = child;
        return RLPWriter.encodeList(items);
    }

    /// @dev RLP of a branch with 16 child references and a value (empty = none).
    function _branchNode(bytes[] memory refs, bytes memory value) private pure returns (bytes memory) {
        bytes[] memory items = new bytes[](17);
        for (uint256 i; i < 16; ++i) {
            items[i] = refs[i];
        }
        items[16] = RLPWriter.encodeBytes(value);
        return RLPWriter.encodeList(items);
    }

    /// @dev Hex-prefix (compact) encoding of `nib[from:to]`: flag nibble 2 for leaves, +1 if odd.
    function _hexPrefix(bytes memory nib, uint256 from, uint256 to, bool leaf) private pure returns (bytes memory out) {
        uint256 len = to - from;
        uint256 odd = len & 1;
        out = new bytes(len / 2 + 1);
        uint256 flag = (leaf ? 2 : 0) + odd;
        uint256 i = from;
        if (odd == 1) {
            out[0] = bytes1(uint8((flag << 4) | uint8(nib[i])));
            i += 1;
        } else {
            out[0] = bytes1(uint8(flag << 4));
        }
        for (uint256 j = 1; i < to; ++j) {
            out[j] = bytes1((uint8(nib[i]) << 4) | uint8(nib[i + 1]));
            i += 2;
        }
    }

    /// @dev Decodes a leaf/extension path item into (is leaf, nibbles).
    function _decodePath(RLPItem memory item) private pure returns (bool leaf, bytes memory path) {
        bytes memory enc = item.readBytes();
        if (enc.length == 0) revert InvalidNode();
        uint256 first = uint8(enc[0]);
        uint256 flag = first >> 4;
        if (flag > 3) revert InvalidNode();
        leaf = flag >= 2;
        uint256 odd = flag & 1;
        if (odd == 0 && first & 0x0f != 0) revert InvalidNode();
        path = new bytes((enc.length - 1) * 2 + odd);
        uint256 j;
        if (odd == 1) {
            path[0] = bytes1(uint8(first & 0x0f));
            j = 1;
        }
        for (uint256 i = 1; i < enc.length; ++i) {
            uint8 b = uint8(enc[i]);
            path[j] = bytes1(b >> 4);
            path[j + 1] = bytes1(b & 0x0f);
            j += 2;
        }
    }

    /// @dev The nibbles of `key`, high nibble first, one per byte.
    function _nibbles(bytes memory key) private pure returns (bytes memory nib) {
        nib = new bytes(key.length * 2);
        for (uint256 i; i < key.length; ++i) {
            uint8 b = uint8(key[i]);
            nib[2 * i] = bytes1(b >> 4);
            nib[2 * i + 1] = bytes1(b & 0x0f);
        }
    }

    /// @dev Length of the common prefix of `path` and `nib[from:]`.
    function _shared(bytes memory path, bytes memory nib, uint256 from) private pure returns (uint256 n) {
        uint256 max = nib.length - from;
        if (path.length < max) max = path.length;
        while (n < max && path[n] == nib[from + n]) {
            ++n;
        }
    }
}
