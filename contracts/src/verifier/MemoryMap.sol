// SPDX-License-Identifier: MIT OR Apache-2.0
pragma solidity 0.8.30;

/// @title MemoryMap
/// @notice A hash map from non-zero bytes32 keys to uint256 values (usually memory pointers),
///         living in memory: open addressing with linear probing over a power-of-two table.
/// @dev Why: the step verifier looks up trie nodes by hash and pending writes by key hundreds of
///      times per proof, and memory has no mappings; a linear scan over a few hundred entries
///      would cost more than the hashing itself. Keys are keccak256 outputs, so their low bits
///      index the table directly. The table doubles when it is half full, so probes stay short.
///      Slot `2i` holds key i (0 = empty), slot `2i + 1` its value.
library MemoryMap {
    /// @notice Key 0 marks an empty slot and cannot be stored.
    error ZeroKey();

    /// @notice The table (2 words per entry) and the number of keys stored.
    struct Map {
        uint256[] slots;
        uint256 count;
    }

    /// @notice A map sized for about `expected` keys without growing.
    function create(uint256 expected) internal pure returns (Map memory m) {
        uint256 cap = 16;
        while (cap < expected * 2) {
            cap <<= 1;
        }
        m.slots = new uint256[](cap * 2);
    }

    /// @notice The value stored under `key`, if any.
    function get(Map memory m, bytes32 key) internal pure returns (bool found, uint256 value) {
        uint256[] memory s = m.slots;
        assembly ("memory-safe") {
            let mask := sub(shr(1, mload(s)), 1)
            let base := add(s, 0x20)
            for { let i := and(key, mask) } 1 { i := and(add(i, 1), mask) } {
                let p := add(base, shl(6, i))
                let k := mload(p)
                if iszero(k) { break }
                if eq(k, key) {
                    found := 1
                    value := mload(add(p, 0x20))
                    break
                }
            }
        }
    }

    /// @notice Stores `value` under `key` (overwriting any previous value).
    function set(Map memory m, bytes32 key, uint256 value) internal pure {
        if (key == 0) revert ZeroKey();
        if ((m.count + 1) * 4 > m.slots.length) _grow(m);
        if (_insert(m.slots, key, value)) m.count += 1;
    }

    /// @notice Number of table positions, for iteration with `at`.
    function capacity(Map memory m) internal pure returns (uint256) {
        return m.slots.length / 2;
    }

    /// @notice The entry at table position `i` (key 0 = empty position).
    function at(Map memory m, uint256 i) internal pure returns (bytes32 key, uint256 value) {
        uint256[] memory s = m.slots;
        assembly ("memory-safe") {
            let p := add(add(s, 0x20), shl(6, i))
            key := mload(p)
            value := mload(add(p, 0x20))
        }
    }

    /// @dev Inserts or overwrites; returns whether the key is new. The table must have a free slot.
    function _insert(uint256[] memory s, bytes32 key, uint256 value) private pure returns (bool added) {
        assembly ("memory-safe") {
            let mask := sub(shr(1, mload(s)), 1)
            let base := add(s, 0x20)
            for { let i := and(key, mask) } 1 { i := and(add(i, 1), mask) } {
                let p := add(base, shl(6, i))
                let k := mload(p)
                if iszero(k) {
                    mstore(p, key)
                    mstore(add(p, 0x20), value)
                    added := 1
                    break
                }
                if eq(k, key) {
                    mstore(add(p, 0x20), value)
                    break
                }
            }
        }
    }

    /// @dev Doubles the table and re-inserts every entry.
    function _grow(Map memory m) private pure {
        uint256[] memory old = m.slots;
        uint256[] memory s = new uint256[](old.length * 2);
        assembly ("memory-safe") {
            let mask := sub(shr(1, mload(s)), 1)
            let base := add(s, 0x20)
            let end := add(add(old, 0x20), shl(5, mload(old)))
            for { let p := add(old, 0x20) } lt(p, end) { p := add(p, 0x40) } {
                let key := mload(p)
                if key {
                    // Keys are distinct: probe for the first free slot.
                    for { let i := and(key, mask) } 1 { i := and(add(i, 1), mask) } {
                        let q := add(base, shl(6, i))
                        if iszero(mload(q)) {
                            mstore(q, key)
                            mstore(add(q, 0x20), mload(add(p, 0x20)))
                            break
                        }
                    }
                }
            }
        }
        m.slots = s;
    }
}
