// SPDX-License-Identifier: MIT OR Apache-2.0
pragma solidity 0.8.30;

/// @notice The header fields of the disputed L2 block that the EVM can observe (DISPUTE.md).
/// @param chainId L2 chain id (CHAINID, EIP-155 / typed-transaction checks).
/// @param number L2 block number (NUMBER).
/// @param timestamp L2 block timestamp (TIMESTAMP).
/// @param coinbase Header beneficiary: the sequencer fee vault, paid the priority fee (COINBASE).
/// @param gasLimit Block gas limit (GASLIMIT; a transaction may not ask for more).
/// @param baseFee EIP-1559 base fee of the block (BASEFEE).
/// @param prevRandao Header mixHash (PREVRANDAO).
struct BlockContext {
    uint256 chainId;
    uint256 number;
    uint256 timestamp;
    address coinbase;
    uint256 gasLimit;
    uint256 baseFee;
    bytes32 prevRandao;
}

/// @notice One-step proof of one L2 transaction: re-executes it on L1 from a committed pre-state so
///         the dispute game can decide which party's per-transaction commitment is right.
interface IStepVerifier {
    /// @notice Executes transaction `txIndex` of the block described by `ctx` on the state committed
    ///         by (`preStateRoot`, `preCumulativeGas`, `preReceiptsHash`) and returns the commitment
    ///         `keccak256(abi.encodePacked(postStateRoot, cumulativeGas, receiptsHash))` of the result.
    ///         Reverts when the witness lacks something execution needs (never a wrong result).
    function verifyTransaction(
        BlockContext calldata ctx,
        uint256 txIndex,
        bytes32 preStateRoot,
        uint256 preCumulativeGas,
        bytes32 preReceiptsHash,
        bytes calldata txRlp,
        bytes calldata witness
    ) external returns (bytes32 postCommitment);
}
