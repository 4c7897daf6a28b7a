// SPDX-License-Identifier: MIT OR Apache-2.0
pragma solidity 0.8.30;

import {MptDb} from "../../src/verifier/MptDb.sol";
import {Account, WorldState} from "../../src/verifier/WorldState.sol";

/// @title MptHarness
/// @notice Test-only external entry points to `MptDb` and `WorldState`: forge tests use it to
///         expect reverts, and the Rust tests run its exported artifact
///         (`artifacts/test/MptHarness.json`) in revm against witnesses from the Rust twin
///         (`parallax_fraud_proof::mpt`). Never deployed.
contract MptHarness {
    /// @notice One `WorldState` call: kind 0 getAccount, 1 getStorage, 2 setAccount,
    ///         3 setStorage, 4 stateRoot.
    struct Op {
        uint8 kind;
        address addr;
        uint256 slot;
        uint256 value;
        Account account;
    }

    /// @notice Applies `keys[i] := values[i]` in order (empty value = delete) and returns the root
    ///         and the gas each put used.
    function mptPut(bytes32 root, bytes[] memory nodes, bytes[] memory keys, bytes[] memory values)
        external
        view
        returns (bytes32, uint256[] memory gas)
    {
        MptDb.Store memory db = MptDb.create(nodes);
        gas = new uint256[](keys.length);
        for (uint256 i; i < keys.length; ++i) {
            uint256 start = gasleft();
            root = MptDb.put(db, root, keys[i], values[i]);
            gas[i] = start - gasleft();
        }
        return (root, gas);
    }

    /// @notice Applies puts, then reads `key` from the resulting trie.
    function mptPutGet(bytes32 root, bytes[] memory nodes, bytes[] memory keys, bytes[] memory values, bytes memory key)
        external
        pure
        returns (bytes32, bool, bytes memory)
    {
        MptDb.Store memory db = MptDb.create(nodes);
        for (uint256 i; i < keys.length; ++i) {
            root = MptDb.put(db, root, keys[i], values[i]);
        }
        (bool found, bytes memory value) = MptDb.get(db, root, key);
        return (root, found, value);
    }

    /// @notice Runs `ops` on `WorldState.open(root, nodes)`.
    /// @return newRoot The root after a final `stateRoot()`.
    /// @return reads Per op: the storage value (getStorage), the balance (getAccount), else 0.
    /// @return gas Per op: the gas it used (the final `stateRoot` is `gas[ops.length]`).
    function run(bytes32 root, bytes[] memory nodes, Op[] memory ops)
        external
        view
        returns (bytes32 newRoot, uint256[] memory reads, uint256[] memory gas)
    {
        uint256 start = gasleft();
        WorldState.DB memory db = WorldState.open(root, nodes);
        uint256 openGas = start - gasleft();
        reads = new uint256[](ops.length);
        gas = new uint256[](ops.length + 2);
        for (uint256 i; i < ops.length; ++i) {
            Op memory op = ops[i];
            start = gasleft();
            if (op.kind == 0) {
                Account memory a = WorldState.getAccount(db, op.addr);
                reads[i] = a.exists ? a.balance : type(uint256).max;
            } else if (op.kind == 1) {
                reads[i] = WorldState.getStorage(db, op.addr, op.slot);
            } else if (op.kind == 2) {
                WorldState.setAccount(db, op.addr, op.account);
            } else if (op.kind == 3) {
                WorldState.setStorage(db, op.addr, op.slot, op.value);
            } else {
                reads[i] = uint256(WorldState.stateRoot(db));
            }
            gas[i] = start - gasleft();
        }
        start = gasleft();
        newRoot = WorldState.stateRoot(db);
        gas[ops.length] = start - gasleft();
        gas[ops.length + 1] = openGas;
    }
}
