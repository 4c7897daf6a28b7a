// SPDX-License-Identifier: MIT OR Apache-2.0
pragma solidity 0.8.30;

import {Test} from "./utils/Test.sol";
import {MemoryMap} from "../src/verifier/MemoryMap.sol";

/// @notice The in-memory hash map behind MptDb and WorldState: semantics across growth, and that a
///         lookup stays cheap (one probe on average) with hundreds of entries.
contract MemoryMapTest is Test {
    /// Emitted by the gas test so `forge test -vvvv` shows the measured numbers.
    event LookupGas(uint256 entries, uint256 gasPerLookup);

    function _key(uint256 i) internal pure returns (bytes32) {
        return keccak256(abi.encode(i));
    }

    function _key(uint256 seed, uint256 i) internal pure returns (bytes32) {
        return keccak256(abi.encode(seed, i));
    }

    function testFuzzSetGetAcrossGrowth(uint256 seed, uint8 n) public pure {
        MemoryMap.Map memory m = MemoryMap.create(1);
        for (uint256 i; i < n; ++i) {
            MemoryMap.set(m, _key(seed, i), i + 1);
        }
        // Overwrites do not add keys.
        for (uint256 i; i < n; i += 3) {
            MemoryMap.set(m, _key(seed, i), 1000 + i);
        }
        assertEq(m.count, n);
        for (uint256 i; i < n; ++i) {
            (bool found, uint256 v) = MemoryMap.get(m, _key(seed, i));
            assertTrue(found);
            assertEq(v, i % 3 == 0 ? 1000 + i : i + 1);
        }
        (bool absent,) = MemoryMap.get(m, _key(seed, n));
        assertFalse(absent);
        uint256 seen;
        for (uint256 i; i < MemoryMap.capacity(m); ++i) {
            (bytes32 k,) = MemoryMap.at(m, i);
            if (k != 0) seen += 1;
        }
        assertEq(seen, n);
    }

    function testZeroKeyReverts() public {
        vm.expectRevert(MemoryMap.ZeroKey.selector);
        this.setZero();
    }

    function testValueTooLargeReverts() public {
        vm.expectRevert(MemoryMap.ValueTooLarge.selector);
        this.setLarge();
    }

    function setLarge() external pure {
        MemoryMap.Map memory m = MemoryMap.create(1);
        MemoryMap.set(m, keccak256("k"), 1 << 32);
    }

    function setZero() external pure {
        MemoryMap.Map memory m = MemoryMap.create(1);
        MemoryMap.set(m, 0, 1);
    }

    /// Average gas of a hit, with the map grown from small to 100 / 300 / 1000 entries.
    function testGasLookupStaysFlat() public {
        uint256[3] memory sizes = [uint256(100), 300, 1000];
        for (uint256 s; s < 3; ++s) {
            MemoryMap.Map memory m = MemoryMap.create(1);
            for (uint256 i; i < sizes[s]; ++i) {
                MemoryMap.set(m, _key(i), i);
            }
            bytes32[] memory keys = new bytes32[](100);
            for (uint256 i; i < 100; ++i) {
                keys[i] = _key(i * sizes[s] / 100);
            }
            // The loop alone, to subtract.
            uint256 start = gasleft();
            for (uint256 i; i < 100; ++i) {
                keys[i];
            }
            uint256 loop = start - gasleft();
            start = gasleft();
            for (uint256 i; i < 100; ++i) {
                MemoryMap.get(m, keys[i]);
            }
            uint256 per = (start - gasleft() - loop) / 100;
            emit LookupGas(sizes[s], per);
            assertLt(per, 400, "lookup");
        }
    }
}
