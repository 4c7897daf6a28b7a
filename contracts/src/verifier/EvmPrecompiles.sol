// SPDX-License-Identifier: MIT OR Apache-2.0
pragma solidity 0.8.30;

/// @title EvmPrecompiles
/// @notice The part of the one-step-proof EVM interpreter that does not fit in `EvmInterpreter`
///         (EIP-170): the Cancun precompiles with revm's gas schedule, and the opcode table.
contract EvmPrecompiles {
    /// @notice The opcode (or precompile input) has no exact implementation here.
    /// @param opcode The opcode (the precompile address for precompiles).
    error Unsupported(uint8 opcode);
    /// @notice A precompile staticcall on L1 ran out of L1 gas: the result would not be the L2's.
    error PrecompileOutOfL1Gas();

    /// @dev Per opcode: stack items popped (0xff = undefined opcode), pushed, and static gas (2 bytes).
    bytes public constant TABLE =
        hex"000000000201000302010005020100030201000502010005020100050201000503010008030100080201000a02010005ff000000ff000000ff000000ff0000000201000302010003020100030201000302010003010100030201000302010003020100030101000302010003020100030201000302010003ff000000ff0000000201001eff000000ff000000ff000000ff000000ff000000ff000000ff000000ff000000ff000000ff000000ff000000ff000000ff000000ff000000ff000000000100020101000000010002000100020001000201010003000100020300000300010002030000030001000201010000040000000001000203000003010100000101001400010002000100020001000200010002000100020001000200010005000100020101000300010002ff000000ff000000ff000000ff000000ff000000010000020101000302000003020000030101000002000000010000080200000a000100020001000200010002000000010101006402000064030000030001000200010003000100030001000300010003000100030001000300010003000100030001000300010003000100030001000300010003000100030001000300010003000100030001000300010003000100030001000300010003000100030001000300010003000100030001000300010003000100030001000300010003000100030102000302030003030400030405000305060003060700030708000308090003090a00030a0b00030b0c00030c0d00030d0e00030e0f00030f1000031011000302020003030300030404000305050003060600030707000308080003090900030a0a00030b0b00030c0c00030d0d00030e0e00030f0f0003101000031111000302000177030002ee04000465050005dc06000753ff000000ff000000ff000000ff000000ff000000ff000000ff000000ff000000ff000000ff000000ff000000ff000000ff000000ff000000ff000000ff000000ff000000ff000000ff000000ff000000ff000000ff000000ff000000ff000000ff000000ff000000ff000000ff000000ff000000ff000000ff000000ff000000ff000000ff000000ff000000ff000000ff000000ff000000ff000000ff000000ff000000ff000000ff000000ff000000ff000000ff000000ff000000ff000000ff000000ff000000ff000000ff000000ff000000ff000000ff000000ff000000ff000000ff000000ff000000ff000000ff000000ff000000ff000000ff000000ff000000ff000000ff000000ff000000ff000000ff000000ff000000ff000000ff000000ff000000ff00000003017d000701000007010000020000000601000004017d00ff000000ff000000ff000000ff00000006010000ff000000ff00000002000000ff00000001001388";

    /// @notice The opcode table `EvmInterpreter` copies into memory once per transaction.
    /// @return The table: per opcode, stack items popped (0xff = undefined), pushed, static gas (2 bytes).
    function opcodeTable() external pure returns (bytes memory) {
        return TABLE;
    }

    /// @notice Runs precompile `a` (Cancun set 0x01-0x0a) with revm's gas, delegating the computation
    ///         to the same precompile on L1 (whose results are the same at Cancun and later forks).
    /// @param a The precompile address.
    /// @param input Its input.
    /// @param gas L2 gas available to it.
    /// @return ok False for an exceptional halt (all gas consumed).
    /// @return cost L2 gas it used.
    /// @return out Its output.
    function run(address a, bytes memory input, uint256 gas)
        external
        view
        returns (bool ok, uint256 cost, bytes memory out)
    {
        uint256 id = uint160(a);
        uint256 w = _words(input.length);
        if (id == 1) cost = 3000;
        else if (id == 2) cost = 60 + 12 * w;
        else if (id == 3) cost = 600 + 120 * w;
        else if (id == 4) cost = 15 + 3 * w;
        else if (id == 5) cost = _modexpGas(input);
        else if (id == 6) cost = 150;
        else if (id == 7) cost = 6000;
        else if (id == 8) cost = 45000 + 34000 * (input.length / 192);
        else if (id == 9) cost = input.length == 213 ? uint32(bytes4(_wordAt(input, 0))) : type(uint256).max;
        else cost = 50000;
        if (cost > gas) return (false, gas, out);
        if (id == 4) return (true, cost, input);
        // Zero-length base and modulus: an empty result whatever the exponent (even one longer than
        // EIP-7823 lets L1 run).
        if (id == 5 && _wordAt(input, 0) == 0 && _wordAt(input, 64) == 0) return (true, cost, new bytes(0));
        if (id == 5 && (_wordAt(input, 0) > bytes32(uint256(1024)) || _wordAt(input, 64) > bytes32(uint256(1024)))) {
            // L1 may run Osaka (EIP-7823 caps modexp lengths at 1024 bytes): not provable here.
            revert Unsupported(0x05);
        }
        if (id == 5 && _wordAt(input, 32) > bytes32(uint256(1024))) revert Unsupported(0x05);
        // A failing precompile burns all the gas it is given, so "failed" and "ran out of L1 gas" can
        // only be told apart by giving it surely enough: 8x its Cancun price (later L1 forks price
        // modexp up to ~3x higher, the others the same) plus a margin.
        uint256 forward = cost * 8 + 20_000;
        if (gasleft() < forward + forward / 63 + 10_000) revert PrecompileOutOfL1Gas();
        bool success;
        (success, out) = a.staticcall{gas: forward}(input);
        if (!success) return (false, gas, new bytes(0));
        return (true, cost, out);
    }

    /// @dev EIP-2565 modexp gas.
    function _modexpGas(bytes memory input) private pure returns (uint256) {
        uint256 bl = uint256(_wordAt(input, 0));
        uint256 el = uint256(_wordAt(input, 32));
        uint256 ml = uint256(_wordAt(input, 64));
        if (bl > 2 ** 32 || ml > 2 ** 32) return type(uint256).max;
        // Zero multiplication complexity: the minimum price, however long the exponent.
        if (bl == 0 && ml == 0) return 200;
        if (el > 2 ** 64) return type(uint256).max;
        uint256 headLen = el < 32 ? el : 32;
        uint256 head = 0;
        if (headLen != 0) head = uint256(_wordAt(input, 96 + bl)) >> (8 * (32 - headLen));
        uint256 maxLen = bl > ml ? bl : ml;
        uint256 words = (maxLen + 7) / 8;
        uint256 bits = 0;
        for (uint256 h = head; h != 0; h >>= 1) {
            bits++;
        }
        uint256 iter;
        if (el <= 32) iter = head == 0 ? 0 : bits - 1;
        else iter = 8 * (el - 32) + (bits == 0 ? 0 : bits - 1);
        if (iter == 0) iter = 1;
        uint256 g = words * words * iter / 3;
        return g < 200 ? 200 : g;
    }

    /// @notice Intrinsic gas of a transaction at Cancun: 21000, 32000 more and 2 per initcode word
    ///         for a creation (EIP-3860), 4 per zero and 16 per other calldata byte, 2400 per
    ///         access-list address and 1900 per storage key.
    /// @param data Calldata or initcode.
    /// @param isCreate Whether the transaction creates a contract.
    /// @param addresses Access-list addresses.
    /// @param keys Access-list storage keys.
    /// @return gas The intrinsic gas.
    function intrinsicGas(bytes calldata data, bool isCreate, uint256 addresses, uint256 keys)
        external
        pure
        returns (uint256 gas)
    {
        gas = 21000 + 2400 * addresses + 1900 * keys;
        uint256 nonZero = 0;
        for (uint256 i = 0; i < data.length; i++) {
            if (data[i] != 0) nonZero++;
        }
        gas += 16 * nonZero + 4 * (data.length - nonZero);
        if (isCreate) gas += 32000 + 2 * ((data.length + 31) / 32);
    }

    /// @notice The L1 data fee of protocol/src/fees.rs `l1_data_fee`, saturating like it.
    /// @param l1GasUsed Calldata gas of the raw transaction.
    /// @param baseFee L1 base fee (L1Block slot 1).
    /// @param blobFee L1 blob base fee (L1Block slot 2).
    /// @param scalars L1Block slot 5: base fee scalar in bits 0-31, blob base fee scalar in bits 32-63.
    /// @return The fee in wei.
    function l1Fee(uint256 l1GasUsed, uint256 baseFee, uint256 blobFee, uint256 scalars)
        external
        pure
        returns (uint256)
    {
        uint256 weighted = _satAdd(_satMul(16 * uint32(scalars), baseFee), _satMul(uint32(scalars >> 32), blobFee));
        return _satMul(l1GasUsed, weighted) / 16_000_000;
    }

    function _satMul(uint256 a, uint256 b) private pure returns (uint256) {
        unchecked {
            if (a == 0) return 0;
            uint256 c = a * b;
            return c / a == b ? c : type(uint256).max;
        }
    }

    function _satAdd(uint256 a, uint256 b) private pure returns (uint256) {
        unchecked {
            uint256 c = a + b;
            return c < a ? type(uint256).max : c;
        }
    }

    /// @notice The CREATE address keccak256(rlp([sender, nonce]))[12:].
    /// @param sender The creating account.
    /// @param nonce Its nonce before the creation.
    /// @return The new account's address.
    function createAddress(address sender, uint64 nonce) external pure returns (address) {
        bytes memory n;
        if (nonce == 0) {
            n = hex"80";
        } else if (nonce < 0x80) {
            n = abi.encodePacked(uint8(nonce));
        } else {
            uint256 len = 0;
            for (uint64 x = nonce; x != 0; x >>= 8) {
                len++;
            }
            n = abi.encodePacked(uint8(0x80 + len));
            for (uint256 b = len; b > 0; b--) {
                n = abi.encodePacked(n, uint8(nonce >> (8 * (b - 1))));
            }
        }
        bytes memory list = abi.encodePacked(uint8(0xc0 + 21 + n.length), uint8(0x94), sender, n);
        return address(uint160(uint256(keccak256(list))));
    }

    function _words(uint256 len) private pure returns (uint256) {
        return len > 2 ** 64 ? 2 ** 64 : (len + 31) / 32;
    }

    function _wordAt(bytes memory data, uint256 off) private pure returns (bytes32 v) {
        uint256 len = data.length;
        if (off >= len) return 0;
        assembly ("memory-safe") {
            v := mload(add(add(data, 32), off))
        }
        uint256 avail = len - off;
        if (avail < 32) v = bytes32((uint256(v) >> (8 * (32 - avail))) << (8 * (32 - avail)));
    }
}
