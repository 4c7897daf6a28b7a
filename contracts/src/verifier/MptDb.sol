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

    /// @notice A store holding the witness `nodes`, with room for about as many new nodes (a
    ///      write creates at most its path's length plus two nodes, and its path is in the
    ///      witness); the table still grows if more are made.
    function create(bytes[] memory nodes) internal pure returns (Store memory db) {
        db.nodes = MemoryMap.create(2 * nodes.length + 64);
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
            uint256 want = idx < nib.length ? uint8(nib[idx]) : 16;
            (RLPItem memory c, uint256 count) = _element(node, want);
            if (count == 17) {
                if (c.isEmptyString()) return (false, "");
                if (want == 16) return (true, c.readBytes());
                idx += 1;
                node = _resolveItem(db, c);
            } else if (count == 2) {
                bool done;
                (done, found, value, node, idx) = _getShort(db, node, nib, idx);
                if (done) return (found, value);
            } else {
                revert InvalidNode();
            }
        }
    }

    /// @dev One step of `get` at a leaf or extension: either the answer (`done`), or the next
    ///      node and key position.
    function _getShort(Store memory db, bytes memory node, bytes memory nib, uint256 idx)
        private
        pure
        returns (bool done, bool found, bytes memory value, bytes memory next, uint256 nextIdx)
    {
        RLPItem[] memory items = _pair(node);
        (bool leaf, bytes memory path) = _decodePath(items[0]);
        uint256 shared = _shared(path, nib, idx);
        if (leaf) {
            if (shared == path.length && idx + shared == nib.length) {
                return (true, true, items[1].readBytes(), next, 0);
            }
            return (true, false, "", next, 0);
        }
        if (shared != path.length) return (true, false, "", next, 0);
        return (false, false, "", _resolveItem(db, items[1]), idx + shared);
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
        RLPItem[] memory items;
        {
            bytes memory node = _resolveRef(db, ref);
            (RLPItem memory el, uint256 count) = _element(node, idx < nib.length ? uint8(nib[idx]) : 16);
            if (count == 17) return _putBranch(db, ref, node, el, nib, idx, value);
            if (count != 2) revert InvalidNode();
            items = _pair(node);
        }
        (bool leaf, bytes memory path) = _decodePath(items[0]);
        uint256 shared = _shared(path, nib, idx);
        if (leaf && shared == path.length && idx + shared == nib.length) {
            // Same key: replace the value in place (the leaf's path item stays), or delete.
            if (value.length == 0) return hex"80";
            return _store(
                db, _spliceRange(items[0].ptr, items[1].ptr + items[1].length, items[1], RLPWriter.encodeBytes(value))
            );
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

    /// @dev `_put` at a branch node `node` whose element for this key (child `nib[idx]`, or the
    ///      value at 16 when the key ends here) is `el`. The new branch is the old one with that
    ///      element replaced. Only a delete can leave a branch with fewer than two entries, and
    ///      only then are they counted (to collapse it).
    function _putBranch(
        Store memory db,
        bytes memory ref,
        bytes memory node,
        RLPItem memory el,
        bytes memory nib,
        uint256 idx,
        bytes memory value
    ) private pure returns (bytes memory) {
        bytes memory newItem;
        if (idx == nib.length) {
            if (keccak256(el.readBytes()) == keccak256(value)) return ref;
            newItem = RLPWriter.encodeBytes(value);
        } else {
            bytes memory child = el.readRawBytes();
            newItem = _put(db, child, nib, idx + 1, value);
            if (keccak256(newItem) == keccak256(child)) return ref;
        }
        bytes memory updated = _splice(node, el, newItem);
        if (value.length != 0) return _store(db, updated);
        (uint256 count, uint256 last) = _entries(updated);
        if (count >= 2) return _store(db, updated);
        if (count == 0) return hex"80";
        (RLPItem memory only,) = _element(updated, last);
        if (last == 16) return _store(db, _leafNode(nib, idx, idx, only.readBytes()));
        bytes memory prefix = new bytes(1);
        // forge-lint: disable-next-line(unsafe-typecast) -- last < 16
        prefix[0] = bytes1(uint8(last));
        return _prefixed(db, prefix, 0, 1, only.readRawBytes());
    }

    /// @dev The list `node` with its element `el` replaced by the encoded item `newItem`.
    function _splice(bytes memory node, RLPItem memory el, bytes memory newItem)
        private
        pure
        returns (bytes memory out)
    {
        // The payload is everything after the list prefix (1 byte, or 1 + length-of-length).
        uint256 prefix = uint8(node[0]);
        prefix = prefix < 0xf8 ? 1 : prefix - 0xf6;
        uint256 start;
        assembly ("memory-safe") {
            start := add(add(node, 0x20), prefix)
        }
        return _spliceRange(start, start + node.length - prefix, el, newItem);
    }

    /// @dev A list whose payload is the memory range [start, end) with its element `el` replaced
    ///      by the encoded item `newItem`.
    function _spliceRange(uint256 start, uint256 end, RLPItem memory el, bytes memory newItem)
        private
        pure
        returns (bytes memory out)
    {
        uint256 payload = end - start - el.length + newItem.length;
        uint256 before = el.ptr - start;
        out = RLPWriter.listPrefixed(payload);
        assembly ("memory-safe") {
            let dst := add(add(out, 0x20), sub(mload(out), payload))
            mcopy(dst, start, before)
            dst := add(dst, before)
            mcopy(dst, add(newItem, 0x20), mload(newItem))
            dst := add(dst, mload(newItem))
            let elEnd := add(mload(el), mload(add(el, 0x20)))
            mcopy(dst, elEnd, sub(end, elEnd))
        }
    }

    /// @dev The reference to `child` seen through the path `path[from:to]` (non-empty): an
    ///      extension to a branch, or a leaf/extension child with the path prepended to its own.
    function _prefixed(Store memory db, bytes memory path, uint256 from, uint256 to, bytes memory child)
        private
        pure
        returns (bytes memory)
    {
        if (_isEmpty(child)) return child;
        RLPItem[] memory items;
        {
            bytes memory node = _resolveRef(db, child);
            (, uint256 count) = _element(node, 0);
            if (count == 17) return _store(db, _extNode(path, from, to, child));
            if (count != 2) revert InvalidNode();
            items = _pair(node);
        }
        (bool leaf, bytes memory childPath) = _decodePath(items[0]);
        bytes memory merged = new bytes(to - from + childPath.length);
        assembly ("memory-safe") {
            mcopy(add(merged, 0x20), add(add(path, 0x20), from), sub(to, from))
            mcopy(add(add(merged, 0x20), sub(to, from)), add(childPath, 0x20), mload(childPath))
        }
        if (leaf) return _store(db, _leafNode(merged, 0, merged.length, items[1].readBytes()));
        return _store(db, _extNode(merged, 0, merged.length, items[1].readRawBytes()));
    }

    /// @notice Element `index` of the RLP list `list` (an empty view when it has fewer) and the
    ///         number of elements: the trie's own list scan, offered for short lists the verifier
    ///         decodes (account leaves), so that RLPReader's general list decoder is not needed.
    /// @dev Validates what `_scan` validates; read elements through RLPReader's strict accessors.
    function listElement(bytes memory list, uint256 index) internal pure returns (RLPItem memory el, uint256 count) {
        return _element(list, index);
    }

    /// @dev Element `index` of the node `node` (empty view when it has fewer) and its number of
    ///      elements. See `_scan`.
    function _element(bytes memory node, uint256 index) private pure returns (RLPItem memory el, uint256 count) {
        uint256 ptr;
        uint256 len;
        assembly ("memory-safe") {
            let start := add(node, 0x20)
            // Fast path for the commonest node of a large trie, a full branch: 16 hashes and no
            // value, i.e. 0xf90211, sixteen times 0xa0 ‖ hash, 0x80 (532 bytes). Every element's
            // prefix is checked, so this accepts exactly what the full scan would.
            if and(eq(mload(node), 532), eq(shr(232, mload(start)), 0xf90211)) {
                let bad := xor(byte(0, mload(add(start, 531))), 0x80)
                bad := or(bad, xor(byte(0, mload(add(start, 3))), 0xa0))
                bad := or(bad, xor(byte(0, mload(add(start, 36))), 0xa0))
                bad := or(bad, xor(byte(0, mload(add(start, 69))), 0xa0))
                bad := or(bad, xor(byte(0, mload(add(start, 102))), 0xa0))
                bad := or(bad, xor(byte(0, mload(add(start, 135))), 0xa0))
                bad := or(bad, xor(byte(0, mload(add(start, 168))), 0xa0))
                bad := or(bad, xor(byte(0, mload(add(start, 201))), 0xa0))
                bad := or(bad, xor(byte(0, mload(add(start, 234))), 0xa0))
                bad := or(bad, xor(byte(0, mload(add(start, 267))), 0xa0))
                bad := or(bad, xor(byte(0, mload(add(start, 300))), 0xa0))
                bad := or(bad, xor(byte(0, mload(add(start, 333))), 0xa0))
                bad := or(bad, xor(byte(0, mload(add(start, 366))), 0xa0))
                bad := or(bad, xor(byte(0, mload(add(start, 399))), 0xa0))
                bad := or(bad, xor(byte(0, mload(add(start, 432))), 0xa0))
                bad := or(bad, xor(byte(0, mload(add(start, 465))), 0xa0))
                bad := or(bad, xor(byte(0, mload(add(start, 498))), 0xa0))
                let ok := iszero(bad)
                if ok {
                    count := 17
                    if lt(index, 16) {
                        ptr := add(start, add(3, mul(index, 33)))
                        len := 33
                    }
                    if eq(index, 16) {
                        ptr := add(start, 531)
                        len := 1
                    }
                }
            }
        }
        if (count == 0) (count, ptr, len,,) = _scan(node, index);
        el = RLPItem(ptr, len);
    }

    /// @dev The two elements of a leaf or extension node (reverts for other shapes).
    function _pair(bytes memory node) private pure returns (RLPItem[] memory items) {
        (uint256 count, uint256 p0, uint256 l0,,) = _scan(node, 0);
        if (count != 2) revert InvalidNode();
        // The scan checked that the two elements fill the list exactly: the second runs to its end.
        uint256 end;
        assembly ("memory-safe") {
            end := add(add(node, 0x20), mload(node))
        }
        items = new RLPItem[](2);
        items[0] = RLPItem(p0, l0);
        items[1] = RLPItem(p0 + l0, end - p0 - l0);
    }

    /// @dev Number of non-empty elements of a branch (children and value) and the last one's index.
    function _entries(bytes memory node) private pure returns (uint256 used, uint256 last) {
        (,,, used, last) = _scan(node, 17);
    }

    /// @dev One pass over a node's list: its element count, element `index` (memory pointer and
    ///      total length, prefix included), the number of elements that are not the empty string
    ///      and the index of the last such. Why not `RLPReader.readListElement`: a branch has 17
    ///      elements and every trie step scans one, so this scan only does what trie nodes need:
    ///      the list must fill the buffer exactly and every element must lie inside it (checked),
    ///      while canonical-form checks are left out. That is safe here because every node is
    ///      found by its keccak256 (the witness is content-addressed) and the node's elements are
    ///      read again through RLPReader's strict accessors (`readBytes`, `readBytes32`, ...).
    function _scan(bytes memory node, uint256 index)
        private
        pure
        returns (uint256 count, uint256 ptr, uint256 len, uint256 used, uint256 last)
    {
        bool bad;
        assembly ("memory-safe") {
            let start := add(node, 0x20)
            let total := mload(node)
            let w := mload(start)
            let p := byte(0, w)
            let c
            let end
            switch lt(p, 0xf8)
            case 1 {
                bad := lt(p, 0xc0)
                c := add(start, 1)
                end := add(c, sub(p, 0xc0))
            }
            default {
                let ll := sub(p, 0xf7)
                c := add(add(start, 1), ll)
                end := add(c, shr(mul(8, sub(32, ll)), mload(add(start, 1))))
            }
            bad := or(bad, iszero(eq(end, add(start, total))))
            if bad { end := c }
            for {} lt(c, end) {} {
                let q := byte(0, mload(c))
                // 1 for a single byte and the empty string, 33 for a hash, 1 + n for short strings.
                let t := add(1, mul(gt(q, 0x80), sub(q, 0x80)))
                if gt(q, 0xb7) {
                    switch and(gt(q, 0xbf), lt(q, 0xf8))
                    case 1 { t := sub(q, 0xbf) }
                    default {
                        // Long string or long list: 1 + length-of-length + length.
                        let ll := sub(q, add(0xb7, mul(gt(q, 0xbf), 0x40)))
                        t := add(add(1, ll), shr(mul(8, sub(32, ll)), mload(add(c, 1))))
                    }
                }
                if iszero(eq(q, 0x80)) {
                    used := add(used, 1)
                    last := count
                }
                if eq(count, index) {
                    ptr := c
                    len := t
                }
                c := add(c, t)
                count := add(count, 1)
            }
            bad := or(bad, iszero(eq(c, end)))
        }
        if (bad) revert InvalidNode();
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
        uint256 ptr = item.ptr;
        uint256 first;
        bytes32 h;
        assembly ("memory-safe") {
            first := byte(0, mload(ptr))
            h := mload(add(ptr, 1))
        }
        if (first == 0xa0 && item.length == 33) return _load(db, h);
        if (first < 0xc0 || item.length >= 32) revert InvalidNode();
        return item.readRawBytes();
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
        out = new bytes(len / 2 + 1);
        assembly ("memory-safe") {
            let odd := and(len, 1)
            let src := add(add(nib, 0x20), from)
            let dst := add(out, 0x20)
            switch odd
            case 1 {
                mstore8(dst, or(shl(4, add(mul(leaf, 2), 1)), byte(0, mload(src))))
                src := add(src, 1)
            }
            default { mstore8(dst, shl(4, mul(leaf, 2))) }
            dst := add(dst, 1)
            // Pack 32 nibbles (one per byte) into 16 bytes per step: pair them into 16-bit
            // lanes, then squeeze the lanes together by shift-and-mask rounds.
            let pairs := shr(1, len)
            for { let i := 0 } lt(i, pairs) { i := add(i, 16) } {
                let w := mload(add(src, shl(1, i)))
                let t := and(or(shr(4, w), w), 0x00ff00ff00ff00ff00ff00ff00ff00ff00ff00ff00ff00ff00ff00ff00ff00ff)
                t := and(or(t, shr(8, t)), 0x0000ffff0000ffff0000ffff0000ffff0000ffff0000ffff0000ffff0000ffff)
                t := and(or(t, shr(16, t)), 0x00000000ffffffff00000000ffffffff00000000ffffffff00000000ffffffff)
                t := and(or(t, shr(32, t)), 0x0000000000000000ffffffffffffffff0000000000000000ffffffffffffffff)
                t := and(or(t, shr(64, t)), 0xffffffffffffffffffffffffffffffff)
                mstore(add(dst, i), shl(128, t))
            }
            // The last step may have written bytes past the path: clear them (free memory).
            mstore(add(dst, pairs), 0)
        }
    }

    /// @dev Decodes a leaf/extension path item into (is leaf, nibbles).
    function _decodePath(RLPItem memory item) private pure returns (bool leaf, bytes memory path) {
        // The path is a byte string of 1 to 33 bytes (a short string, or a single byte).
        uint256 ptr = item.ptr;
        uint256 p0;
        uint256 b1;
        assembly ("memory-safe") {
            p0 := byte(0, mload(ptr))
            b1 := byte(1, mload(ptr))
        }
        uint256 dataLen = 1;
        if (p0 >= 0x80) {
            if (p0 >= 0xb8 || p0 == 0x80 || (p0 == 0x81 && b1 < 0x80)) revert InvalidNode();
            dataLen = p0 - 0x80;
            ptr += 1;
        }
        if (item.length != (p0 >= 0x80 ? 1 + dataLen : 1)) revert InvalidNode();
        uint256 first = p0 >= 0x80 ? b1 : p0;
        uint256 flag = first >> 4;
        if (flag > 3) revert InvalidNode();
        leaf = flag >= 2;
        uint256 skip = 2 - (flag & 1);
        if (skip == 2 && first & 0x0f != 0) revert InvalidNode();
        // All nibbles of the string, minus the flag nibble and (for even paths) the padding one.
        bytes memory all = _nibblesAt(ptr, dataLen);
        uint256 len = all.length - skip;
        assembly ("memory-safe") {
            // Reuse `all` in place: shift its start by `skip` bytes and shorten it.
            path := add(all, skip)
            mstore(path, len)
        }
    }

    /// @dev The nibbles of `key`, high nibble first, one per byte: 16 input bytes per step, spread
    ///      into 16-bit lanes by shift-and-mask rounds, each lane split into (high, low) nibble.
    function _nibbles(bytes memory data) private pure returns (bytes memory nib) {
        uint256 src;
        assembly ("memory-safe") {
            src := add(data, 0x20)
        }
        return _nibblesAt(src, data.length);
    }

    /// @dev `_nibbles` of the `n` bytes at memory address `src`.
    function _nibblesAt(uint256 src, uint256 n) private pure returns (bytes memory nib) {
        nib = new bytes(n * 2);
        assembly ("memory-safe") {
            let dst := add(nib, 0x20)
            for { let i := 0 } lt(i, n) { i := add(i, 16) } {
                let t := shr(128, mload(add(src, i)))
                t := and(or(t, shl(64, t)), 0x0000000000000000ffffffffffffffff0000000000000000ffffffffffffffff)
                t := and(or(t, shl(32, t)), 0x00000000ffffffff00000000ffffffff00000000ffffffff00000000ffffffff)
                t := and(or(t, shl(16, t)), 0x0000ffff0000ffff0000ffff0000ffff0000ffff0000ffff0000ffff0000ffff)
                t := and(or(t, shl(8, t)), 0x00ff00ff00ff00ff00ff00ff00ff00ff00ff00ff00ff00ff00ff00ff00ff00ff)
                let m := 0x000f000f000f000f000f000f000f000f000f000f000f000f000f000f000f000f
                mstore(add(dst, shl(1, i)), or(shl(8, and(shr(4, t), m)), and(t, m)))
            }
            // The last step may have written nibbles past 2n: clear them (the free memory pointer
            // is past them, so this only touches unallocated memory).
            mstore(add(dst, shl(1, n)), 0)
        }
    }

    /// @dev Length of the common prefix of `path` and `nib[from:]`, compared a word (32
    ///      nibbles) at a time; in the first differing word, the first differing byte is found by
    ///      halving. Bytes past either array may be read but the result is capped at their length.
    function _shared(bytes memory path, bytes memory nib, uint256 from) private pure returns (uint256 n) {
        uint256 max = nib.length - from;
        if (path.length < max) max = path.length;
        assembly ("memory-safe") {
            let a := add(path, 0x20)
            let b := add(add(nib, 0x20), from)
            for {} lt(n, max) {} {
                let x := xor(mload(add(a, n)), mload(add(b, n)))
                if iszero(x) {
                    n := add(n, 32)
                    continue
                }
                if iszero(shr(128, x)) {
                    n := add(n, 16)
                    x := shl(128, x)
                }
                if iszero(shr(192, x)) {
                    n := add(n, 8)
                    x := shl(64, x)
                }
                if iszero(shr(224, x)) {
                    n := add(n, 4)
                    x := shl(32, x)
                }
                if iszero(shr(240, x)) {
                    n := add(n, 2)
                    x := shl(16, x)
                }
                if iszero(shr(248, x)) { n := add(n, 1) }
                break
            }
            if gt(n, max) { n := max }
        }
    }
}
