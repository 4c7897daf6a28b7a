// SPDX-License-Identifier: MIT OR Apache-2.0
pragma solidity 0.8.30;

import {MerkleTrie} from "./MerkleTrie.sol";
import {RLPItem, RLPReader} from "./RLPReader.sol";

/// @notice An Ethereum account as committed in the state trie.
struct Account {
    uint256 nonce;
    uint256 balance;
    bytes32 storageRoot;
    bytes32 codeHash;
}

/// @title SecureMerkleTrie
/// @notice Proof verification for Ethereum's "secure" tries, whose keys are keccak256 of the
///         logical key: the state trie (key = keccak256(address)) and storage tries
///         (key = keccak256(bytes32 slot)). Wraps `MerkleTrie` and decodes accounts and slots.
library SecureMerkleTrie {
    using RLPReader for RLPItem;

    /// @notice An account leaf does not hold a 4-item list.
    error InvalidAccountEncoding();

    /// @notice `MerkleTrie.get` with the key hashed first.
    function get(bytes memory key, bytes[] memory proof, bytes32 root)
        internal
        pure
        returns (bool exists, bytes memory value)
    {
        return MerkleTrie.get(abi.encodePacked(keccak256(key)), proof, root);
    }

    /// @notice `MerkleTrie.verifyInclusion` with the key hashed first.
    function verifyInclusion(bytes memory key, bytes memory value, bytes[] memory proof, bytes32 root) internal pure {
        MerkleTrie.verifyInclusion(abi.encodePacked(keccak256(key)), value, proof, root);
    }

    /// @notice Reads an account from a state-trie proof (the `accountProof` of `eth_getProof`).
    /// @return exists False when the proof shows the account is absent (then `account` is empty,
    ///         with the empty storage root and empty code hash, as Ethereum treats absent accounts).
    function getAccount(address addr, bytes[] memory proof, bytes32 stateRoot)
        internal
        pure
        returns (bool exists, Account memory account)
    {
        bytes memory encoded;
        (exists, encoded) = get(abi.encodePacked(addr), proof, stateRoot);
        if (!exists) {
            account.storageRoot = MerkleTrie.EMPTY_TRIE_ROOT;
            account.codeHash = keccak256("");
            return (false, account);
        }
        RLPItem[] memory fields = RLPReader.toItem(encoded).readList();
        if (fields.length != 4) revert InvalidAccountEncoding();
        account.nonce = fields[0].readUint256();
        account.balance = fields[1].readUint256();
        account.storageRoot = fields[2].readBytes32();
        account.codeHash = fields[3].readBytes32();
    }

    /// @notice Reads a storage slot from a storage-trie proof (an entry of `storageProof`).
    /// @return value The slot's value; 0 when the proof shows the slot is absent (Ethereum never
    ///         stores zero, so an exclusion proof is how a zero slot is proven).
    function getStorage(bytes32 slot, bytes[] memory proof, bytes32 storageRoot) internal pure returns (uint256 value) {
        (bool exists, bytes memory encoded) = get(abi.encodePacked(slot), proof, storageRoot);
        if (!exists) return 0;
        value = RLPReader.toItem(encoded).readUint256();
    }
}
