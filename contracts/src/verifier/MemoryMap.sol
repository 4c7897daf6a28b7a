// SPDX-License-Identifier: MIT OR Apache-2.0
pragma solidity 0.8.30;

/// @title MemoryMap
/// @notice A hash map from keccak256-derived bytes32 keys to memory pointers (values below 2^32),
///         living in memory: open addressing with linear probing over a power-of-two table.
/// @dev Why: the step verifier looks up trie nodes by hash and pending writes by key hundreds of
///      times per proof, and memory has no mappings; a linear scan over a few hundred entries
///      would cost more than the hashing itself. Keys are keccak256 outputs, so their bits
///      index the table directly (bits 32 and up, the ones a word keeps, so the table can grow). The table doubles when it is half full, so probes stay short.
///      One word per entry: the key's upper 224 bits with the value in the low 32 bits (memory
///      pointers never reach 2^32). Two keys are taken to be equal when their upper 224 bits
///      are: for keccak256 outputs a collision there is as infeasible as a hash collision.
library MemoryMap {
    /// @notice A key with no upper 224 bits would mark an empty slot and cannot be stored.
    error ZeroKey();
    /// @notice Values must be below 2^32 (they are memory pointers).
    error ValueTooLarge();

    /// @dev The part of a word that holds the key.
    uint256 private constant KEY_BITS = 0xffffffffffffffffffffffffffffffffffffffffffffffffffffffff00000000;

    /// @notice The table (one word per entry) and the number of keys stored.
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
        m.slots = new uint256[](cap);
    }

    /// @notice The value stored under `key`, if any.
    function get(Map memory m, bytes32 key) internal pure returns (bool found, uint256 value) {
        uint256[] memory s = m.slots;
        assembly ("memory-safe") {
            let mask := sub(mload(s), 1)
            let base := add(s, 0x20)
            let k := and(key, KEY_BITS)
            for { let i := and(shr(32, key), mask) } 1 { i := and(add(i, 1), mask) } {
                let w := mload(add(base, shl(5, i)))
                if iszero(w) { break }
                if eq(and(w, KEY_BITS), k) {
                    found := 1
                    value := and(w, 0xffffffff)
                    break
                }
            }
        }
    }

    /// @notice Stores `value` under `key` (overwriting any previous value).
    function set(Map memory m, bytes32 key, uint256 value) internal pure {
        if (uint256(key) & KEY_BITS == 0) revert ZeroKey();
        if (value > 0xffffffff) revert ValueTooLarge();
        if ((m.count + 1) * 2 > m.slots.length) _grow(m);
        if (_insert(m.slots, uint256(key), value)) m.count += 1;
    }

    /// @notice Number of table positions, for iteration with `at`.
    function capacity(Map memory m) internal pure returns (uint256) {
        return m.slots.length;
    }

    /// @notice The entry at table position `i`: the key's upper 224 bits (0 = empty position)
    ///         and the value.
    function at(Map memory m, uint256 i) internal pure returns (bytes32 keyBits, uint256 value) {
        uint256 w = m.slots[i];
        return (bytes32(w & KEY_BITS), w & 0xffffffff);
    }

    /// @dev Inserts or overwrites; returns whether the key is new. The table must have a free slot.
    function _insert(uint256[] memory s, uint256 key, uint256 value) private pure returns (bool added) {
        assembly ("memory-safe") {
            let mask := sub(mload(s), 1)
            let base := add(s, 0x20)
            let k := and(key, KEY_BITS)
            for { let i := and(shr(32, key), mask) } 1 { i := and(add(i, 1), mask) } {
                let p := add(base, shl(5, i))
                let w := mload(p)
                if iszero(w) {
                    mstore(p, or(k, value))
                    added := 1
                    break
                }
                if eq(and(w, KEY_BITS), k) {
                    mstore(p, or(k, value))
                    break
                }
            }
        }
    }

    /// @dev Doubles the table and re-inserts every entry (a word holds all its index bits).
    function _grow(Map memory m) private pure {
        uint256[] memory old = m.slots;
        uint256[] memory s = new uint256[](old.length * 2);
        assembly ("memory-safe") {
            let mask := sub(mload(s), 1)
            let base := add(s, 0x20)
            let end := add(add(old, 0x20), shl(5, mload(old)))
            for { let p := add(old, 0x20) } lt(p, end) { p := add(p, 0x20) } {
                let w := mload(p)
                if w {
                    // Keys are distinct: probe for the first free slot.
                    for { let i := and(shr(32, w), mask) } 1 { i := and(add(i, 1), mask) } {
                        let q := add(base, shl(5, i))
                        if iszero(mload(q)) {
                            mstore(q, w)
                            break
                        }
                    }
                }
            }
        }
        m.slots = s;
    }
}
