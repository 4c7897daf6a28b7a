// SPDX-License-Identifier: MIT OR Apache-2.0
pragma solidity 0.8.30;

import {Test} from "./utils/Test.sol";
import {RLPItem, RLPReader} from "../src/lib/RLPReader.sol";

/// @notice External entry points for the RLP decoder.
contract RLPHarness {
    using RLPReader for RLPItem;

    /// @dev Decodes the whole structure recursively; returns the number of items visited.
    function walk(bytes memory data) external pure returns (uint256) {
        return _walk(RLPReader.toItem(data));
    }

    function _walk(RLPItem memory item) internal pure returns (uint256 n) {
        if (item.isList()) {
            RLPItem[] memory items = item.readList();
            n = 1;
            for (uint256 i; i < items.length; ++i) {
                n += _walk(items[i]);
            }
        } else {
            item.readBytes();
            n = 1;
        }
    }

    function readBytes(bytes memory data) external pure returns (bytes memory) {
        return RLPReader.toItem(data).readBytes();
    }

    function readUint(bytes memory data) external pure returns (uint256) {
        return RLPReader.toItem(data).readUint256();
    }

    function readBytes32(bytes memory data) external pure returns (bytes32) {
        return RLPReader.toItem(data).readBytes32();
    }

    function listLength(bytes memory data) external pure returns (uint256) {
        return RLPReader.toItem(data).readList().length;
    }

    function raw(bytes memory data, uint256 index) external pure returns (bytes memory) {
        return RLPReader.toItem(data).readList()[index].readRawBytes();
    }
}

/// @notice ethereum/tests RLPTests (test/fixtures/rlp_tests.json) plus targeted cases.
contract RLPReaderTest is Test {
    RLPHarness internal h;
    string internal json;

    function setUp() public {
        h = new RLPHarness();
        json = vm.readFile(string.concat(vm.projectRoot(), "/test/fixtures/rlp_tests.json"));
    }

    function test_ethereumTests_valid() public view {
        uint256 n = vm.parseJsonUint(json, ".validCount");
        assertGe(n, 28, "all valid vectors");
        for (uint256 i; i < n; ++i) {
            string memory k = string.concat(".valid[", vm.toString(i), "]");
            bytes memory rlp = vm.parseJsonBytes(json, string.concat(k, ".rlp"));
            assertGe(h.walk(rlp), 1, vm.parseJsonString(json, string.concat(k, ".name")));
            if (!vm.parseJsonBool(json, string.concat(k, ".isList"))) {
                assertEq(
                    h.readBytes(rlp),
                    vm.parseJsonBytes(json, string.concat(k, ".payload")),
                    vm.parseJsonString(json, string.concat(k, ".name"))
                );
            }
        }
    }

    function test_ethereumTests_invalid() public view {
        uint256 n = vm.parseJsonUint(json, ".invalidCount");
        assertGe(n, 26, "all invalid vectors");
        for (uint256 i; i < n; ++i) {
            string memory k = string.concat(".invalid[", vm.toString(i), "]");
            bytes memory rlp = vm.parseJsonBytes(json, string.concat(k, ".rlp"));
            string memory name = vm.parseJsonString(json, string.concat(k, ".name"));
            try h.walk(rlp) {
                revert(string.concat("accepted invalid RLP: ", name));
            } catch (bytes memory reason) {
                // forge-lint: disable-next-line(unsafe-typecast) -- the selector is the first 4 bytes
                bytes4 sel = bytes4(reason);
                assertTrue(
                    sel == RLPReader.RLPEmptyInput.selector || sel == RLPReader.RLPItemOutOfBounds.selector
                        || sel == RLPReader.RLPTrailingBytes.selector || sel == RLPReader.RLPNonCanonical.selector,
                    string.concat("custom error for ", name)
                );
            }
        }
    }

    function test_specificErrors() public {
        vm.expectRevert(RLPReader.RLPEmptyInput.selector);
        h.walk("");
        vm.expectRevert(RLPReader.RLPNonCanonical.selector);
        h.walk(hex"8100");
        vm.expectRevert(RLPReader.RLPNonCanonical.selector);
        h.walk(hex"b800");
        vm.expectRevert(RLPReader.RLPNonCanonical.selector);
        h.walk(hex"b90001ff");
        vm.expectRevert(RLPReader.RLPItemOutOfBounds.selector);
        h.walk(hex"83aabb");
        vm.expectRevert(RLPReader.RLPTrailingBytes.selector);
        h.walk(hex"8261626364");
        // A list whose payload ends inside its last item.
        vm.expectRevert(RLPReader.RLPItemOutOfBounds.selector);
        h.walk(hex"c3018261");
        vm.expectRevert(RLPReader.RLPNotAList.selector);
        h.listLength(hex"8261ff");
        vm.expectRevert(RLPReader.RLPNotAString.selector);
        h.readBytes(hex"c0");
    }

    function test_integers() public {
        assertEq(h.readUint(hex"80"), 0);
        assertEq(h.readUint(hex"01"), 1);
        assertEq(h.readUint(hex"7f"), 127);
        assertEq(h.readUint(hex"8180"), 128);
        assertEq(h.readUint(hex"820400"), 1024);
        assertEq(h.readUint(hex"a0ffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff"), type(uint256).max);
        vm.expectRevert(RLPReader.RLPNonCanonical.selector);
        h.readUint(hex"820001");
        vm.expectRevert(RLPReader.RLPValueTooLong.selector);
        h.readUint(hex"a1010000000000000000000000000000000000000000000000000000000000000000");
        vm.expectRevert(RLPReader.RLPValueTooLong.selector);
        h.readBytes32(hex"8180");
        assertEq(h.readBytes32(abi.encodePacked(hex"a0", bytes32(uint256(5)))), bytes32(uint256(5)));
    }

    function test_rawBytesOfEmbeddedItem() public view {
        // ["cat", ["a"]] -> raw encoding of the second element is c161.
        assertEq(h.raw(hex"c683636174c161", 1), hex"c161");
        assertEq(h.listLength(hex"c0"), 0);
    }

    function testFuzz_neverAcceptsTruncated(bytes calldata data, uint256 cut) public view {
        // Any valid encoding of a byte string minus its last byte must be rejected.
        vm.assume(data.length > 0 && data.length < 300);
        bytes memory enc = _encodeBytes(data);
        cut = bound(cut, 1, enc.length);
        bytes memory truncated = new bytes(enc.length - cut);
        for (uint256 i; i < truncated.length; ++i) {
            truncated[i] = enc[i];
        }
        assertEq(h.readBytes(enc), data);
        try h.walk(truncated) {
            // Only possible if the truncation happens to leave a complete single-byte item,
            // which a prefix of a longer encoding never is (data.length > 1 or data[0] >= 0x80).
            assertTrue(data.length == 1 && uint8(data[0]) < 0x80 && truncated.length == 0, "truncated accepted");
        } catch {}
    }

    function _encodeBytes(bytes memory data) internal pure returns (bytes memory) {
        if (data.length == 1 && uint8(data[0]) < 0x80) return data;
        if (data.length < 56) return bytes.concat(bytes1(uint8(0x80 + data.length)), data);
        if (data.length < 256) return bytes.concat(hex"b8", bytes1(uint8(data.length)), data);
        return bytes.concat(hex"b9", bytes2(uint16(data.length)), data);
    }
}
