// SPDX-License-Identifier: MIT OR Apache-2.0
pragma solidity 0.8.30;

/// @notice A view of one RLP item inside memory: where its encoding starts and how long it is
///         (prefix included). Items are never copied until a caller asks for bytes.
struct RLPItem {
    uint256 ptr;
    uint256 length;
}

/// @title RLPReader
/// @notice Strict decoder for Recursive Length Prefix encoding, as used by Merkle-Patricia proofs.
/// @dev Why strict: a proof verifier that accepts several encodings of the same node could be
///      tricked into reading a value that the hashed node does not commit to. Every decoding path
///      therefore rejects non-canonical input (a single byte below 0x80 wrapped in a string
///      prefix, long-form lengths under 56, lengths with leading zeros), items that run past their
///      enclosing buffer, and list payloads that are not exactly covered by their items. Each
///      failure reverts with its own custom error; nothing is ever silently truncated.
library RLPReader {
    /// @notice The input buffer (or list payload) is empty where an item was expected.
    error RLPEmptyInput();
    /// @notice An item's declared length runs past the end of the buffer that holds it.
    error RLPItemOutOfBounds();
    /// @notice The bytes after the top-level item (or list payload) do not form exactly one item.
    error RLPTrailingBytes();
    /// @notice An encoding that RLP forbids because a shorter one exists (or a length has leading zeros).
    error RLPNonCanonical();
    /// @notice A list was expected and a byte string was found.
    error RLPNotAList();
    /// @notice A byte string was expected and a list was found.
    error RLPNotAString();
    /// @notice A byte string meant as an integer or hash is longer than 32 bytes.
    error RLPValueTooLong();

    /// @notice Wraps a whole buffer as exactly one RLP item.
    /// @dev Reverts unless `data` is a single, canonical item with no trailing bytes.
    function toItem(bytes memory data) internal pure returns (RLPItem memory item) {
        if (data.length == 0) revert RLPEmptyInput();
        uint256 ptr;
        assembly ("memory-safe") {
            ptr := add(data, 0x20)
        }
        (uint256 offset, uint256 len,) = _decodeHeader(ptr, data.length);
        if (offset + len != data.length) revert RLPTrailingBytes();
        item = RLPItem({ptr: ptr, length: data.length});
    }

    /// @notice Whether an item is a list.
    function isList(RLPItem memory item) internal pure returns (bool) {
        (,, bool list) = _decodeHeader(item.ptr, item.length);
        return list;
    }

    /// @notice Decodes a list item into its elements (views into the same memory).
    /// @dev Reverts with `RLPNotAList` for strings; each element is checked for bounds and
    ///      canonical form, and the elements must cover the payload exactly.
    function readList(RLPItem memory item) internal pure returns (RLPItem[] memory items) {
        (uint256 start, uint256 end) = _listPayload(item);
        // The element structs are written from the free memory pointer during the scan; the
        // array (length + pointers) follows them once the count is known.
        uint256 structs;
        assembly ("memory-safe") {
            structs := mload(0x40)
        }
        (uint256 count,,) = _scanList(start, end, type(uint256).max, structs);
        assembly ("memory-safe") {
            items := add(structs, shl(6, count))
            mstore(items, count)
            for { let i := 0 } lt(i, count) { i := add(i, 1) } {
                mstore(add(items, add(0x20, shl(5, i))), add(structs, shl(6, i)))
            }
            mstore(0x40, add(items, add(0x20, shl(5, count))))
        }
    }

    /// @notice Validates a whole list and returns its element `index` (if it has one) and its
    ///         number of elements, without allocating: what a trie walk needs from a branch node.
    /// @return element Element `index`, or an empty view (length 0) when `index >= count`.
    /// @return count Number of elements in the list.
    function readListElement(RLPItem memory item, uint256 index)
        internal
        pure
        returns (RLPItem memory element, uint256 count)
    {
        (uint256 start, uint256 end) = _listPayload(item);
        uint256 ptr;
        uint256 len;
        (count, ptr, len) = _scanList(start, end, index, 0);
        element = RLPItem({ptr: ptr, length: len});
    }

    /// @notice Returns the payload of a byte-string item (a copy).
    function readBytes(RLPItem memory item) internal pure returns (bytes memory out) {
        (uint256 offset, uint256 len, bool list) = _decodeHeader(item.ptr, item.length);
        if (list) revert RLPNotAString();
        out = _copy(item.ptr + offset, len);
    }

    /// @notice Returns the whole encoding of an item, prefix included (a copy).
    /// @dev Used for nodes embedded in their parent, whose raw encoding is the node itself.
    function readRawBytes(RLPItem memory item) internal pure returns (bytes memory out) {
        out = _copy(item.ptr, item.length);
    }

    /// @notice Returns a byte string of at most 32 bytes as a big-endian unsigned integer.
    /// @dev Integers in RLP have no leading zero bytes; a leading zero is rejected as non-canonical.
    function readUint256(RLPItem memory item) internal pure returns (uint256 value) {
        (uint256 offset, uint256 len, bool list) = _decodeHeader(item.ptr, item.length);
        if (list) revert RLPNotAString();
        if (len > 32) revert RLPValueTooLong();
        if (len == 0) return 0;
        uint256 ptr = item.ptr + offset;
        uint256 first;
        assembly ("memory-safe") {
            first := byte(0, mload(ptr))
            value := shr(mul(8, sub(32, len)), mload(ptr))
        }
        if (first == 0) revert RLPNonCanonical();
    }

    /// @notice Returns a byte string of exactly 32 bytes as a bytes32 (hashes, roots).
    function readBytes32(RLPItem memory item) internal pure returns (bytes32 value) {
        (uint256 offset, uint256 len, bool list) = _decodeHeader(item.ptr, item.length);
        if (list) revert RLPNotAString();
        if (len != 32) revert RLPValueTooLong();
        uint256 ptr = item.ptr + offset;
        assembly ("memory-safe") {
            value := mload(ptr)
        }
    }

    /// @notice Whether an item is the empty byte string (encoded as 0x80).
    function isEmptyString(RLPItem memory item) internal pure returns (bool) {
        if (item.length != 1) return false;
        uint256 b;
        uint256 ptr = item.ptr;
        assembly ("memory-safe") {
            b := byte(0, mload(ptr))
        }
        return b == 0x80;
    }

    /// @dev The payload bounds of a list item; `RLPNotAList` for strings.
    function _listPayload(RLPItem memory item) private pure returns (uint256 start, uint256 end) {
        (uint256 offset, uint256 payloadLen, bool list) = _decodeHeader(item.ptr, item.length);
        if (!list) revert RLPNotAList();
        start = item.ptr + offset;
        end = start + payloadLen;
    }

    /// @dev One pass over the list payload [start, end): validates every element (the same checks
    ///      as `_decodeHeader`, in assembly because a branch node has 17 elements and a proof visits
    ///      several), counts them, returns element `index` (ptr, total length), and, when
    ///      `structsOut` is not 0, writes an `RLPItem` (ptr, length) per element from there on.
    function _scanList(uint256 start, uint256 end, uint256 index, uint256 structsOut)
        private
        pure
        returns (uint256 count, uint256 foundPtr, uint256 foundLen)
    {
        // 0 = ok, 1 = out of bounds, 2 = non-canonical.
        uint256 err;
        assembly ("memory-safe") {
            // Total length (prefix + payload) of the element at `p`, within `avail` (> 0) bytes.
            function itemLength(p, avail) -> total, e {
                let w := mload(p)
                let prefix := byte(0, w)
                // Fast paths for what trie nodes are made of: 32-byte hashes and empty strings.
                if eq(prefix, 0xa0) {
                    total := 33
                    if gt(33, avail) { e := 1 }
                    leave
                }
                if eq(prefix, 0x80) {
                    total := 1
                    leave
                }
                switch lt(prefix, 0x80)
                case 1 { total := 1 }
                default {
                    let isLst := gt(prefix, 0xbf)
                    switch or(lt(prefix, 0xb8), and(isLst, lt(prefix, 0xf8)))
                    case 1 {
                        let len := sub(prefix, add(0x80, mul(isLst, 0x40)))
                        total := add(1, len)
                        switch gt(total, avail)
                        case 1 { e := 1 }
                        default { if and(iszero(isLst), and(eq(len, 1), lt(byte(1, w), 0x80))) { e := 2 } }
                    }
                    default {
                        let lenOfLen := sub(prefix, add(0xb7, mul(isLst, 0x40)))
                        switch gt(add(1, lenOfLen), avail)
                        case 1 { e := 1 }
                        default {
                            let len := shr(mul(8, sub(32, lenOfLen)), mload(add(p, 1)))
                            switch or(iszero(byte(1, w)), lt(len, 56))
                            case 1 { e := 2 }
                            default {
                                total := add(add(1, lenOfLen), len)
                                if gt(total, avail) { e := 1 }
                            }
                        }
                    }
                }
            }

            for { let c := start } lt(c, end) {} {
                let t, e := itemLength(c, sub(end, c))
                if e {
                    err := e
                    break
                }
                if eq(count, index) {
                    foundPtr := c
                    foundLen := t
                }
                if structsOut {
                    let sp := add(structsOut, shl(6, count))
                    mstore(sp, c)
                    mstore(add(sp, 0x20), t)
                }
                c := add(c, t)
                count := add(count, 1)
            }
        }
        if (err == 1) revert RLPItemOutOfBounds();
        if (err == 2) revert RLPNonCanonical();
    }

    /// @notice Decodes the header of the item starting at `ptr`, within `available` bytes.
    /// @dev Written in assembly because every proof node visit decodes dozens of headers.
    ///      Checks, in order: the prefix (and long-form length bytes) fit, the encoding is
    ///      canonical, the payload fits.
    /// @return offset Length of the prefix.
    /// @return len Length of the payload.
    /// @return list Whether the item is a list.
    function _decodeHeader(uint256 ptr, uint256 available)
        private
        pure
        returns (uint256 offset, uint256 len, bool list)
    {
        if (available == 0) revert RLPEmptyInput();
        // 0 = ok, 1 = out of bounds, 2 = non-canonical.
        uint256 err;
        assembly ("memory-safe") {
            let w := mload(ptr)
            let prefix := byte(0, w)
            switch lt(prefix, 0x80)
            case 1 {
                // A single byte is its own encoding.
                len := 1
            }
            default {
                let short := or(lt(prefix, 0xb8), and(gt(prefix, 0xbf), lt(prefix, 0xf8)))
                list := gt(prefix, 0xbf)
                switch short
                case 1 {
                    offset := 1
                    len := sub(prefix, add(0x80, mul(list, 0x40)))
                    switch gt(add(1, len), available)
                    case 1 { err := 1 }
                    default {
                        // A one-byte string below 0x80 must be encoded as the byte itself.
                        if and(iszero(list), and(eq(len, 1), lt(byte(1, w), 0x80))) { err := 2 }
                    }
                }
                default {
                    // Long form: the next `lenOfLen` bytes (1-8) give the payload length.
                    let lenOfLen := sub(prefix, add(0xb7, mul(list, 0x40)))
                    offset := add(1, lenOfLen)
                    switch gt(offset, available)
                    case 1 { err := 1 }
                    default {
                        len := shr(mul(8, sub(32, lenOfLen)), mload(add(ptr, 1)))
                        // No leading zeros, and the long form only for payloads of 56 bytes or more.
                        switch or(iszero(byte(1, w)), lt(len, 56))
                        case 1 { err := 2 }
                        default {
                            // len < 2^64, so the sum cannot overflow.
                            if gt(add(offset, len), available) { err := 1 }
                        }
                    }
                }
            }
        }
        if (err == 1) revert RLPItemOutOfBounds();
        if (err == 2) revert RLPNonCanonical();
    }

    /// @dev Copies `len` bytes from memory at `src` into a fresh bytes array.
    function _copy(uint256 src, uint256 len) private pure returns (bytes memory out) {
        out = new bytes(len);
        if (len == 0) return out;
        assembly ("memory-safe") {
            mcopy(add(out, 0x20), src, len)
        }
    }
}
