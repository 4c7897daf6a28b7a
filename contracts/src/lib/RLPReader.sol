// SPDX-License-Identifier: MIT
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
        (uint256 offset, uint256 payloadLen, bool list) = _decodeHeader(item.ptr, item.length);
        if (!list) revert RLPNotAList();
        uint256 start = item.ptr + offset;
        uint256 end = start + payloadLen;

        // First pass counts the elements so the array is allocated exactly once.
        uint256 count;
        uint256 cursor = start;
        while (cursor < end) {
            (uint256 o, uint256 l,) = _decodeHeader(cursor, end - cursor);
            cursor += o + l;
            ++count;
        }
        items = new RLPItem[](count);
        cursor = start;
        for (uint256 i; i < count; ++i) {
            (uint256 o, uint256 l,) = _decodeHeader(cursor, end - cursor);
            items[i] = RLPItem({ptr: cursor, length: o + l});
            cursor += o + l;
        }
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

    /// @notice Decodes the header of the item starting at `ptr`, within `available` bytes.
    /// @return offset Length of the prefix.
    /// @return len Length of the payload.
    /// @return list Whether the item is a list.
    function _decodeHeader(uint256 ptr, uint256 available)
        private
        pure
        returns (uint256 offset, uint256 len, bool list)
    {
        if (available == 0) revert RLPEmptyInput();
        uint256 prefix;
        assembly ("memory-safe") {
            prefix := byte(0, mload(ptr))
        }
        if (prefix < 0x80) {
            // A single byte is its own encoding.
            return (0, 1, false);
        }
        if (prefix < 0xb8) {
            // Short string: 0-55 bytes.
            len = prefix - 0x80;
            if (1 + len > available) revert RLPItemOutOfBounds();
            if (len == 1) {
                uint256 b;
                assembly ("memory-safe") {
                    b := byte(1, mload(ptr))
                }
                if (b < 0x80) revert RLPNonCanonical();
            }
            return (1, len, false);
        }
        if (prefix < 0xc0) {
            // Long string: the next (prefix - 0xb7) bytes give the length.
            uint256 lenOfLen = prefix - 0xb7;
            len = _readLongLength(ptr, lenOfLen, available);
            return (1 + lenOfLen, len, false);
        }
        if (prefix < 0xf8) {
            // Short list: 0-55 bytes of payload.
            len = prefix - 0xc0;
            if (1 + len > available) revert RLPItemOutOfBounds();
            return (1, len, true);
        }
        uint256 listLenOfLen = prefix - 0xf7;
        len = _readLongLength(ptr, listLenOfLen, available);
        return (1 + listLenOfLen, len, true);
    }

    /// @dev Reads a long-form length of `lenOfLen` bytes after the prefix byte and checks it.
    function _readLongLength(uint256 ptr, uint256 lenOfLen, uint256 available) private pure returns (uint256 len) {
        if (1 + lenOfLen > available) revert RLPItemOutOfBounds();
        uint256 first;
        assembly ("memory-safe") {
            first := byte(1, mload(ptr))
            len := shr(mul(8, sub(32, lenOfLen)), mload(add(ptr, 1)))
        }
        // No leading zeros, and the long form only for payloads of 56 bytes or more.
        if (first == 0 || len < 56) revert RLPNonCanonical();
        // lenOfLen <= 8, so `len` < 2^64 and the sum cannot overflow.
        if (1 + lenOfLen + len > available) revert RLPItemOutOfBounds();
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
