// SPDX-License-Identifier: MIT OR Apache-2.0
pragma solidity 0.8.30;

/// @title RLPWriter
/// @notice Canonical Recursive Length Prefix encoding of byte strings, integers and lists.
/// @dev Why: the step verifier rebuilds trie nodes and account leaves on L1, and the roots it
///      computes only match Ethereum's if every encoding is the unique canonical one (shortest
///      length prefix, integers without leading zeros, a single byte below 0x80 as itself).
library RLPWriter {
    /// @notice Encodes a byte string.
    function encodeBytes(bytes memory b) internal pure returns (bytes memory out) {
        uint256 len = b.length;
        if (len == 1 && uint8(b[0]) < 0x80) return b;
        out = _withPrefix(len, 0x80);
        assembly ("memory-safe") {
            mcopy(add(out, add(0x20, sub(mload(out), len))), add(b, 0x20), len)
        }
    }

    /// @notice Encodes a 32-byte hash (always a 33-byte string: 0xa0 followed by the hash).
    function encodeBytes32(bytes32 h) internal pure returns (bytes memory out) {
        out = new bytes(33);
        assembly ("memory-safe") {
            mstore8(add(out, 0x20), 0xa0)
            mstore(add(out, 0x21), h)
        }
    }

    /// @notice Encodes an unsigned integer as its minimal big-endian byte string (0 is the empty string).
    function encodeUint(uint256 v) internal pure returns (bytes memory out) {
        if (v == 0) return hex"80";
        if (v < 0x80) {
            out = new bytes(1);
            // forge-lint: disable-next-line(unsafe-typecast) -- v < 0x80
            out[0] = bytes1(uint8(v));
            return out;
        }
        uint256 n;
        for (uint256 t = v; t != 0; t >>= 8) {
            ++n;
        }
        out = new bytes(n + 1);
        // forge-lint: disable-next-line(unsafe-typecast) -- n <= 32
        out[0] = bytes1(uint8(0x80 + n));
        for (uint256 i; i < n; ++i) {
            // forge-lint: disable-next-line(unsafe-typecast) -- one byte of v, truncation intended
            out[1 + i] = bytes1(uint8(v >> (8 * (n - 1 - i))));
        }
    }

    /// @notice Encodes a list whose items are already RLP-encoded.
    function encodeList(bytes[] memory items) internal pure returns (bytes memory out) {
        uint256 total;
        for (uint256 i; i < items.length; ++i) {
            total += items[i].length;
        }
        out = _withPrefix(total, 0xc0);
        uint256 dst;
        assembly ("memory-safe") {
            dst := add(out, add(0x20, sub(mload(out), total)))
        }
        for (uint256 i; i < items.length; ++i) {
            bytes memory item = items[i];
            assembly ("memory-safe") {
                let l := mload(item)
                mcopy(dst, add(item, 0x20), l)
                dst := add(dst, l)
            }
        }
    }

    /// @notice A buffer for a list with a `payloadLength`-byte payload: the list prefix is
    ///         written, the payload (the buffer's last `payloadLength` bytes) is left to the caller.
    function listPrefixed(uint256 payloadLength) internal pure returns (bytes memory out) {
        return _withPrefix(payloadLength, 0xc0);
    }

    /// @dev A buffer of prefix + `len` bytes with the length prefix for `len` written at the start
    ///      (`base` = 0x80 for strings, 0xc0 for lists); the payload is left for the caller.
    function _withPrefix(uint256 len, uint256 base) private pure returns (bytes memory out) {
        uint256 lenOfLen;
        if (len >= 56) {
            for (uint256 t = len; t != 0; t >>= 8) {
                ++lenOfLen;
            }
        }
        out = new bytes(1 + lenOfLen + len);
        assembly ("memory-safe") {
            let p := add(out, 0x20)
            switch lenOfLen
            case 0 { mstore8(p, add(base, len)) }
            default {
                // The prefix byte, then `len` big-endian in `lenOfLen` bytes.
                mstore8(p, add(base, add(55, lenOfLen)))
                for { let i := 0 } lt(i, lenOfLen) { i := add(i, 1) } {
                    mstore8(add(add(p, 1), i), byte(sub(32, sub(lenOfLen, i)), len))
                }
            }
        }
    }
}
