// SPDX-License-Identifier: MIT OR Apache-2.0
pragma solidity 0.8.30;

import {Test} from "./utils/Test.sol";
import {L1Block} from "../src/L2/L1Block.sol";

/// @notice The L1-info deposit's packed calldata (layout in `L1Block`'s docs and in the Rust
///         `parallax_protocol::l1_info`) decoded by `L1Block`: the layout byte by byte, the access
///         checks, the storage layout, and a fuzzed round trip through the getters.
contract L1BlockTest is Test {
    L1Block internal l1Block;
    address internal constant DEPOSITOR = 0xDeaDDEaDDeAdDeAdDEAdDEaddeAddEAdDEAd0001;

    /// @dev Every field's bytes differ from every other field's, so a field read at a wrong offset
    ///      or with a wrong width cannot pass. The Rust test `contracts/tests/l1block.rs` checks
    ///      that `L1Info::encode` produces exactly these bytes for the same values.
    bytes internal constant VECTOR = hex"c058103c" hex"0102030405060708" hex"1112131415161718"
        hex"202122232425262728292a2b2c2d2e2f303132333435363738393a3b3c3d3e3f"
        hex"404142434445464748494a4b4c4d4e4f505152535455565758595a5b5c5d5e5f"
        hex"606162636465666768696a6b6c6d6e6f707172737475767778797a7b7c7d7e7f" hex"8182838485868788"
        hex"000000000000000000000000a0a1a2a3a4a5a6a7a8a9aaabacadaeafb0b1b2b3" hex"c1c2c3c4" hex"d1d2d3d4"
        hex"e1e2e3e4e5e6e7e8" hex"f1f2f3f4" hex"b5b6b7b8" hex"9192939495969798";

    struct Values {
        uint64 number;
        uint64 timestamp;
        uint256 basefee;
        uint256 blobBaseFee;
        bytes32 hash;
        uint64 sequenceNumber;
        bytes32 batcherHash;
        uint32 baseFeeScalar;
        uint32 blobBaseFeeScalar;
        uint64 gasLimit;
        uint32 eip1559Elasticity;
        uint32 eip1559Denominator;
        uint64 minBaseFee;
    }

    function setUp() public {
        l1Block = new L1Block();
    }

    function test_constants() public view {
        assertEq(l1Block.DEPOSITOR(), DEPOSITOR);
        assertEq(l1Block.CALLDATA_LENGTH(), 188);
        assertEq(L1Block.setL1BlockValuesV3.selector, bytes4(0xc058103c));
        assertEq(keccak256(bytes(l1Block.version())), keccak256("3.0.0"));
    }

    /// @notice The calldata built one byte at a time at the documented offsets is the packed
    ///         encoding, equals the fixed vector, and is read back field by field.
    function test_layout_byteByByte() public {
        Values memory v = _vectorValues();
        bytes memory data = new bytes(188);
        _put(data, 0, 0xc058103c, 4);
        _put(data, 4, v.number, 8);
        _put(data, 12, v.timestamp, 8);
        _put(data, 20, v.basefee, 32);
        _put(data, 52, v.blobBaseFee, 32);
        _put(data, 84, uint256(v.hash), 32);
        _put(data, 116, v.sequenceNumber, 8);
        _put(data, 124, uint256(v.batcherHash), 32);
        _put(data, 156, v.baseFeeScalar, 4);
        _put(data, 160, v.blobBaseFeeScalar, 4);
        _put(data, 164, v.gasLimit, 8);
        _put(data, 172, v.eip1559Elasticity, 4);
        _put(data, 176, v.eip1559Denominator, 4);
        _put(data, 180, v.minBaseFee, 8);
        assertEq(data, VECTOR, "byte-by-byte != vector");
        assertEq(_encode(v), VECTOR, "encodePacked != vector");

        _set(VECTOR);
        _assertStored(v);
    }

    function testFuzz_roundTrip(Values memory v) public {
        _set(_encode(v));
        _assertStored(v);
        // A second write replaces every field (no stale bits in the packed slots).
        Values memory w = Values(
            ~v.number,
            ~v.timestamp,
            ~v.basefee,
            ~v.blobBaseFee,
            ~v.hash,
            ~v.sequenceNumber,
            ~v.batcherHash,
            ~v.baseFeeScalar,
            ~v.blobBaseFeeScalar,
            ~v.gasLimit,
            ~v.eip1559Elasticity,
            ~v.eip1559Denominator,
            ~v.minBaseFee
        );
        _set(_encode(w));
        _assertStored(w);
    }

    function test_storageLayout_documented() public {
        _set(VECTOR);
        bytes32 s0 = vm.load(address(l1Block), bytes32(uint256(0)));
        assertEq(uint256(s0) & type(uint64).max, 0x0102030405060708, "slot 0 bytes 0-7: number");
        assertEq(uint256(s0 >> 64) & type(uint64).max, 0x1112131415161718, "slot 0 bytes 8-15: timestamp");
        assertEq(uint256(s0 >> 128) & type(uint64).max, 0x8182838485868788, "slot 0 bytes 16-23: sequenceNumber");
        assertEq(uint256(s0 >> 192), 0, "slot 0 bytes 24-31: unused");
        Values memory v = _vectorValues();
        assertEq(uint256(vm.load(address(l1Block), bytes32(uint256(1)))), v.basefee, "slot 1: basefee");
        assertEq(uint256(vm.load(address(l1Block), bytes32(uint256(2)))), v.blobBaseFee, "slot 2: blobBaseFee");
        assertEq(vm.load(address(l1Block), bytes32(uint256(3))), v.hash, "slot 3: hash");
        assertEq(vm.load(address(l1Block), bytes32(uint256(4))), v.batcherHash, "slot 4: batcherHash");
        bytes32 s5 = vm.load(address(l1Block), bytes32(uint256(5)));
        assertEq(uint256(s5) & type(uint32).max, 0xc1c2c3c4, "slot 5 bytes 0-3: baseFeeScalar");
        assertEq(uint256(s5 >> 32) & type(uint32).max, 0xd1d2d3d4, "slot 5 bytes 4-7: blobBaseFeeScalar");
        assertEq(uint256(s5 >> 64) & type(uint64).max, 0xe1e2e3e4e5e6e7e8, "slot 5 bytes 8-15: gasLimit");
        assertEq(uint256(s5 >> 128) & type(uint32).max, 0xf1f2f3f4, "slot 5 bytes 16-19: eip1559Elasticity");
        assertEq(uint256(s5 >> 160) & type(uint32).max, 0xb5b6b7b8, "slot 5 bytes 20-23: eip1559Denominator");
        assertEq(uint256(s5 >> 192), 0x9192939495969798, "slot 5 bytes 24-31: minBaseFee");
    }

    function testFuzz_otherSender_reverts(address sender) public {
        vm.assume(sender != DEPOSITOR);
        vm.prank(sender);
        vm.expectRevert(abi.encodeWithSelector(L1Block.NotDepositor.selector, sender));
        _call(VECTOR);
    }

    function test_wrongLength_reverts() public {
        bytes memory short = new bytes(187);
        bytes memory long = new bytes(189);
        for (uint256 i; i < 187; ++i) {
            short[i] = VECTOR[i];
            long[i] = VECTOR[i];
        }
        long[187] = VECTOR[187];
        _expectLengthRevert(short);
        _expectLengthRevert(long);
        // The ABI-encoded call (selector only) is not a valid update either.
        _expectLengthRevert(abi.encodeCall(L1Block.setL1BlockValuesV3, ()));
        assertEq(l1Block.number(), 0, "nothing stored");
    }

    function testFuzz_wrongLength_reverts(uint256 length) public {
        length = bound(length, 4, 1024);
        vm.assume(length != 188);
        bytes memory data = new bytes(length);
        _put(data, 0, 0xc058103c, 4);
        _expectLengthRevert(data);
    }

    /// @notice The first write of a block touches six fresh slots; it must stay far below the
    ///         deposit's gas limit (`L1_INFO_GAS_LIMIT` = 1,000,000).
    function test_gas_firstWrite() public {
        uint256 start = gasleft();
        _set(VECTOR);
        uint256 used = start - gasleft();
        assertLt(used, 150_000, "setL1BlockValues gas");
    }

    // ---------------------------------------------------------------- helpers

    function _vectorValues() internal pure returns (Values memory v) {
        v.number = 0x0102030405060708;
        v.timestamp = 0x1112131415161718;
        v.basefee = 0x202122232425262728292a2b2c2d2e2f303132333435363738393a3b3c3d3e3f;
        v.blobBaseFee = 0x404142434445464748494a4b4c4d4e4f505152535455565758595a5b5c5d5e5f;
        v.hash = 0x606162636465666768696a6b6c6d6e6f707172737475767778797a7b7c7d7e7f;
        v.sequenceNumber = 0x8182838485868788;
        v.batcherHash = bytes32(uint256(uint160(0xa0A1A2a3A4A5a6a7a8a9AaaBaCADAeAfb0B1b2b3)));
        v.baseFeeScalar = 0xc1c2c3c4;
        v.blobBaseFeeScalar = 0xd1d2d3d4;
        v.gasLimit = 0xe1e2e3e4e5e6e7e8;
        v.eip1559Elasticity = 0xf1f2f3f4;
        v.eip1559Denominator = 0xb5b6b7b8;
        v.minBaseFee = 0x9192939495969798;
    }

    function _encode(Values memory v) internal pure returns (bytes memory) {
        return abi.encodePacked(
            L1Block.setL1BlockValuesV3.selector,
            v.number,
            v.timestamp,
            v.basefee,
            v.blobBaseFee,
            v.hash,
            v.sequenceNumber,
            v.batcherHash,
            v.baseFeeScalar,
            v.blobBaseFeeScalar,
            v.gasLimit,
            v.eip1559Elasticity,
            v.eip1559Denominator,
            v.minBaseFee
        );
    }

    /// @dev Writes `value`'s low `size` bytes big-endian at `offset`, one byte at a time.
    function _put(bytes memory data, uint256 offset, uint256 value, uint256 size) internal pure {
        for (uint256 i; i < size; ++i) {
            // forge-lint: disable-next-line(unsafe-typecast) -- truncating to one byte is the point
            data[offset + size - 1 - i] = bytes1(uint8(value >> (8 * i)));
        }
    }

    function _call(bytes memory data) internal returns (bool ok, bytes memory ret) {
        (ok, ret) = address(l1Block).call(data);
    }

    function _set(bytes memory data) internal {
        vm.prank(DEPOSITOR);
        (bool ok,) = _call(data);
        assertTrue(ok, "setL1BlockValues from the depositor");
    }

    function _expectLengthRevert(bytes memory data) internal {
        vm.prank(DEPOSITOR);
        vm.expectRevert(abi.encodeWithSelector(L1Block.InvalidCalldataLength.selector, data.length));
        _call(data);
    }

    function _assertStored(Values memory v) internal view {
        assertEq(l1Block.number(), v.number, "number");
        assertEq(l1Block.timestamp(), v.timestamp, "timestamp");
        assertEq(l1Block.basefee(), v.basefee, "basefee");
        assertEq(l1Block.blobBaseFee(), v.blobBaseFee, "blobBaseFee");
        assertEq(l1Block.hash(), v.hash, "hash");
        assertEq(l1Block.sequenceNumber(), v.sequenceNumber, "sequenceNumber");
        assertEq(l1Block.batcherHash(), v.batcherHash, "batcherHash");
        assertEq(l1Block.baseFeeScalar(), v.baseFeeScalar, "baseFeeScalar");
        assertEq(l1Block.blobBaseFeeScalar(), v.blobBaseFeeScalar, "blobBaseFeeScalar");
        assertEq(l1Block.gasLimit(), v.gasLimit, "gasLimit");
        assertEq(l1Block.eip1559Elasticity(), v.eip1559Elasticity, "eip1559Elasticity");
        assertEq(l1Block.eip1559Denominator(), v.eip1559Denominator, "eip1559Denominator");
        assertEq(l1Block.minBaseFee(), v.minBaseFee, "minBaseFee");
    }
}
