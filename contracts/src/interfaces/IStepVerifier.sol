// SPDX-License-Identifier: MIT OR Apache-2.0
pragma solidity 0.8.30;

/// @notice The block environment of the disputed L2 block, taken from its header (which the
///         dispute game checked against the disputed output root) and the game's chain id.
/// @param chainId The L2 chain id (CHAINID, and the chain id signed transactions must carry).
/// @param number The L2 block number (NUMBER).
/// @param timestamp The block's timestamp (TIMESTAMP).
/// @param coinbase The header beneficiary: the sequencer fee vault (COINBASE).
/// @param gasLimit The block gas limit (GASLIMIT).
/// @param baseFee The block base fee (BASEFEE).
/// @param prevRandao The header's mixHash (PREVRANDAO).
/// @param parentHash The header's parentHash: the hash of block `number - 1`, which the game checked
///        against the agreed output root. It anchors the ancestor headers of the witness, from which
///        BLOCKHASH of the 256 previous blocks is proven.
struct BlockContext {
    uint256 chainId;
    uint256 number;
    uint256 timestamp;
    address coinbase;
    uint256 gasLimit;
    uint256 baseFee;
    bytes32 prevRandao;
    bytes32 parentHash;
}

/// @title IStepVerifier
/// @notice Executes one L2 transaction on L1 (contracts/DISPUTE.md, "IStepVerifier"): the single
///         step the dispute game cannot bisect further. The game calls it with a pre-state it
///         has already checked against the agreed commitment `D_i` and compares the returned
///         commitment with the disputed `D_{i+1}`.
/// @dev Commitments: `D = keccak256(abi.encodePacked(bytes32 stateRoot, uint256 cumulativeGas,
///      bytes32 receiptsHash))`. The verifier must never return a wrong commitment: a node or
///      bytecode missing from `witness` reverts (`MissingNode(hash)` / `MissingCode(hash)`, and an
///      ancestor header BLOCKHASH needs `MissingAncestor(number)`), so the caller can retry with a
///      complete witness.
interface IStepVerifier {
    /// @notice Executes transaction `txIndex` (`txRlp`, the EIP-2718 envelope as in the block)
    ///         on the pre-state and returns the post-state commitment.
    /// @param ctx The block environment.
    /// @param txIndex The transaction's position in the block (0 is the L1-info deposit).
    /// @param preStateRoot State root before the transaction.
    /// @param preCumulativeGas Block gas used before the transaction.
    /// @param preReceiptsHash Receipts accumulator before the transaction.
    /// @param txRlp The transaction as it appears in the block's transactions trie.
    /// @param witness Pre-state trie nodes and bytecode the execution needs, keyed by hash, and the
    ///        ancestor headers BLOCKHASH needs.
    /// @return postCommitment `D_{txIndex+1}` as computed by executing the transaction.
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
