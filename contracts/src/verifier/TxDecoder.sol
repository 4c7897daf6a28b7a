// SPDX-License-Identifier: MIT OR Apache-2.0
pragma solidity 0.8.30;

import {RLPItem, RLPReader} from "../lib/RLPReader.sol";
import {AccessListItem, TxInput} from "./EvmTypes.sol";

/// @title TxDecoder
/// @notice Decodes an L2 transaction (EIP-2718 envelope as in the block) into what the interpreter
///         runs, recovering the signer: legacy with EIP-155 replay protection, EIP-2930, EIP-1559 and
///         the deposit type 0x7E (protocol/src/deposit.rs). Anything the sequencer could never
///         include (blob or other types, pre-EIP-155 legacy, wrong chain id, bad signature, s in the
///         upper half, malformed RLP) reverts.
library TxDecoder {
    using RLPReader for RLPItem;

    /// @notice The transaction could not have been included: `reason` says why (20 empty, 21 type not
    ///         allowed on L2, 22 wrong field count, 23 pre-EIP-155 or wrong chain id, 24 bad signature,
    ///         25 malformed field, 26 nonce 2^64-1, which EIP-2681 forbids: it can never be incremented).
    error InvalidTransaction(uint8 reason);

    /// @dev secp256k1 group order.
    uint256 private constant N = 0xFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFEBAAEDCE6AF48A03BBFD25E8CD0364141;

    /// @notice Decodes `raw` for chain `chainId`.
    /// @param raw The EIP-2718 envelope.
    /// @param chainId The L2 chain id.
    /// @return t The transaction with its sender; `l1GasUsed` is the calldata gas of `raw` (0 for deposits).
    function decode(bytes memory raw, uint256 chainId) internal view returns (TxInput memory t) {
        if (raw.length == 0) revert InvalidTransaction(20);
        uint8 first = uint8(raw[0]);
        if (first >= 0xc0) {
            _legacy(raw, chainId, t);
        } else if (first == 0x7e) {
            _deposit(_tail(raw), t);
            return t;
        } else if (first == 1 || first == 2) {
            _typed(raw, first, chainId, t);
        } else {
            revert InvalidTransaction(21);
        }
        if (t.nonce == type(uint64).max) revert InvalidTransaction(26);
        t.l1GasUsed = _calldataGas(raw);
    }

    function _legacy(bytes memory raw, uint256 chainId, TxInput memory t) private view {
        RLPItem[] memory f = RLPReader.toItem(raw).readList();
        if (f.length != 9) revert InvalidTransaction(22);
        t.txType = 0;
        t.nonce = _u64(f[0]);
        t.maxFeePerGas = f[1].readUint256();
        t.maxPriorityFeePerGas = t.maxFeePerGas;
        t.gasLimit = _u64(f[2]);
        _to(f[3], t);
        t.value = f[4].readUint256();
        t.data = f[5].readBytes();
        t.accessList = new AccessListItem[](0);
        uint256 v = f[6].readUint256();
        if (v < 35 || (v - 35) / 2 != chainId) revert InvalidTransaction(23);
        // Signing payload: the six fields, then chainId, 0, 0 (EIP-155).
        bytes memory tail = abi.encodePacked(_rlpUint(chainId), hex"8080");
        bytes memory payload = abi.encodePacked(_span(f, 6), tail);
        bytes32 h = keccak256(abi.encodePacked(_listHeader(payload.length), payload));
        t.from = _recover(h, (v - 35) % 2, f[7].readUint256(), f[8].readUint256());
    }

    function _typed(bytes memory raw, uint8 txType, uint256 chainId, TxInput memory t) private view {
        RLPItem[] memory f = RLPReader.toItem(_tail(raw)).readList();
        uint256 n = txType == 1 ? 11 : 12;
        if (f.length != n) revert InvalidTransaction(22);
        if (f[0].readUint256() != chainId) revert InvalidTransaction(23);
        t.txType = txType;
        t.nonce = _u64(f[1]);
        uint256 i = 2;
        if (txType == 2) {
            t.maxPriorityFeePerGas = f[2].readUint256();
            t.maxFeePerGas = f[3].readUint256();
            i = 4;
        } else {
            t.maxFeePerGas = f[2].readUint256();
            t.maxPriorityFeePerGas = t.maxFeePerGas;
            i = 3;
        }
        t.gasLimit = _u64(f[i]);
        _to(f[i + 1], t);
        t.value = f[i + 2].readUint256();
        t.data = f[i + 3].readBytes();
        t.accessList = _accessList(f[i + 4]);
        uint256 parity = f[n - 3].readUint256();
        if (parity > 1) revert InvalidTransaction(24);
        bytes memory payload = _span(f, n - 3);
        bytes32 h = keccak256(abi.encodePacked(txType, _listHeader(payload.length), payload));
        t.from = _recover(h, parity, f[n - 2].readUint256(), f[n - 1].readUint256());
    }

    /// @dev 0x7E ‖ rlp([sourceHash, from, to, mint, value, gasLimit, isSystem, data]).
    function _deposit(bytes memory body, TxInput memory t) private pure {
        RLPItem[] memory f = RLPReader.toItem(body).readList();
        if (f.length != 8) revert InvalidTransaction(22);
        f[0].readBytes32();
        t.txType = 0x7e;
        t.from = _address(f[1]);
        _to(f[2], t);
        t.mint = f[3].readUint256();
        t.value = f[4].readUint256();
        t.gasLimit = _u64(f[5]);
        uint256 system = f[6].readUint256();
        if (system > 1) revert InvalidTransaction(25);
        t.isSystem = system == 1;
        t.data = f[7].readBytes();
        t.accessList = new AccessListItem[](0);
    }

    function _accessList(RLPItem memory item) private pure returns (AccessListItem[] memory list) {
        RLPItem[] memory entries = item.readList();
        list = new AccessListItem[](entries.length);
        for (uint256 i = 0; i < entries.length; i++) {
            RLPItem[] memory e = entries[i].readList();
            if (e.length != 2) revert InvalidTransaction(25);
            list[i].addr = _address(e[0]);
            RLPItem[] memory keys = e[1].readList();
            list[i].keys = new uint256[](keys.length);
            for (uint256 k = 0; k < keys.length; k++) {
                list[i].keys[k] = uint256(keys[k].readBytes32());
            }
        }
    }

    function _recover(bytes32 h, uint256 parity, uint256 r, uint256 s) private view returns (address a) {
        if (r == 0 || r >= N || s == 0 || s > N / 2) revert InvalidTransaction(24);
        a = ecrecover(h, uint8(27 + parity), bytes32(r), bytes32(s));
        if (a == address(0)) revert InvalidTransaction(24);
    }

    function _to(RLPItem memory item, TxInput memory t) private pure {
        if (item.isEmptyString()) {
            t.isCreate = true;
        } else {
            t.to = _address(item);
        }
    }

    function _address(RLPItem memory item) private pure returns (address) {
        bytes memory b = item.readBytes();
        if (b.length != 20) revert InvalidTransaction(25);
        return address(bytes20(b));
    }

    function _u64(RLPItem memory item) private pure returns (uint64) {
        uint256 v = item.readUint256();
        if (v > type(uint64).max) revert InvalidTransaction(25);
        return uint64(v);
    }

    /// @dev The raw encodings of items [0, count) of a list: contiguous in its payload.
    function _span(RLPItem[] memory f, uint256 count) private pure returns (bytes memory out) {
        uint256 start = f[0].ptr;
        uint256 len = f[count - 1].ptr + f[count - 1].length - start;
        out = new bytes(len);
        assembly ("memory-safe") {
            mcopy(add(out, 32), start, len)
        }
    }

    function _tail(bytes memory raw) private pure returns (bytes memory out) {
        uint256 len = raw.length - 1;
        out = new bytes(len);
        assembly ("memory-safe") {
            mcopy(add(out, 32), add(raw, 33), len)
        }
    }

    function _listHeader(uint256 len) private pure returns (bytes memory) {
        if (len < 56) return abi.encodePacked(uint8(0xc0 + len));
        bytes memory l = _be(len);
        return abi.encodePacked(uint8(0xf7 + l.length), l);
    }

    function _rlpUint(uint256 v) private pure returns (bytes memory) {
        if (v == 0) return hex"80";
        if (v < 0x80) return abi.encodePacked(uint8(v));
        bytes memory b = _be(v);
        return abi.encodePacked(uint8(0x80 + b.length), b);
    }

    /// @dev Minimal big-endian bytes of a non-zero value.
    function _be(uint256 v) private pure returns (bytes memory b) {
        uint256 n = 0;
        for (uint256 x = v; x != 0; x >>= 8) {
            n++;
        }
        b = new bytes(n);
        for (uint256 i = 0; i < n; i++) {
            b[n - 1 - i] = bytes1(uint8(v >> (8 * i)));
        }
    }

    /// @dev protocol/src/fees.rs: 4 gas per zero byte, 16 per other byte of the raw envelope.
    function _calldataGas(bytes memory raw) private pure returns (uint256 gas) {
        for (uint256 i = 0; i < raw.length; i++) {
            gas += raw[i] == 0 ? 4 : 16;
        }
    }
}
