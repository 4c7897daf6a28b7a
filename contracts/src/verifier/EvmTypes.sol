// SPDX-License-Identifier: MIT OR Apache-2.0
pragma solidity 0.8.30;

import {BlockContext} from "../interfaces/IStepVerifier.sol";

/// @notice An account of the pre-state, already proven against the state root by the caller of the
///         interpreter (the verifier reads it through `WorldState`), so the interpreter needs no trie.
/// @param addr The account's address.
/// @param nonce Its nonce.
/// @param balance Its balance in wei.
/// @param codeHash keccak256 of its code (keccak256("") or zero for none).
/// @param exists Whether the account is in the trie at all.
struct PreAccount {
    address addr;
    uint64 nonce;
    uint256 balance;
    bytes32 codeHash;
    bool exists;
}

/// @notice A storage slot of the pre-state, proven by the caller like `PreAccount`.
/// @param addr Owner of the slot.
/// @param slot The slot key.
/// @param value Its value (zero when absent).
struct PreSlot {
    address addr;
    uint256 slot;
    uint256 value;
}

/// @notice A storage key warmed by the transaction's EIP-2930 access list.
/// @param addr The account.
/// @param keys Its storage keys.
struct AccessListItem {
    address addr;
    uint256[] keys;
}

/// @notice A decoded transaction with its sender, everything the interpreter needs to run it.
/// @param txType EIP-2718 type as the receipt reports it (0, 1, 2, or 0x7E for a deposit).
/// @param from The sender (recovered signer, or the deposit's `from`).
/// @param to The callee; ignored for creations.
/// @param isCreate Whether the transaction deploys a contract.
/// @param nonce The signed nonce (ignored for deposits).
/// @param gasLimit Gas limit of the transaction.
/// @param maxFeePerGas Gas price (legacy / 2930) or max fee per gas (1559); zero for deposits.
/// @param maxPriorityFeePerGas Priority fee cap (1559); equals `maxFeePerGas` for legacy / 2930.
/// @param value Wei sent.
/// @param data Calldata or initcode.
/// @param accessList EIP-2930 access list.
/// @param mint Wei minted into `from` first (deposits only).
/// @param isSystem The L1-info deposit: its gas counts zero towards the block.
/// @param l1GasUsed Calldata gas of the raw envelope (4 per zero byte, 16 per other byte) from which
///        the L1 data fee is computed; zero for deposits.
struct TxInput {
    uint8 txType;
    address from;
    address to;
    bool isCreate;
    uint64 nonce;
    uint64 gasLimit;
    uint256 maxFeePerGas;
    uint256 maxPriorityFeePerGas;
    uint256 value;
    bytes data;
    AccessListItem[] accessList;
    uint256 mint;
    bool isSystem;
    uint256 l1GasUsed;
}

/// @notice The rollup's fee recipients (immutables of the verifier). The L1 fee scalars are not here:
///         they are read from `L1Block` storage (slot 5) in the pre-state, like the L1 fees.
/// @param baseFeeVault Receiver of the L2 base fee (0x4200…0019).
/// @param l1FeeVault Receiver of the L1 data fee (0x4200…001a).
struct FeeConfig {
    address baseFeeVault;
    address l1FeeVault;
}

/// @notice An account the transaction wrote, with its final fields.
/// @param addr The account.
/// @param deleted The account must be removed from the trie (EIP-161 empty, or self-destructed).
/// @param storageCleared Its storage starts from empty before `PostSlot`s apply (created in the tx).
/// @param nonce Final nonce.
/// @param balance Final balance.
/// @param codeHash Final code hash.
struct PostAccount {
    address addr;
    bool deleted;
    bool storageCleared;
    uint64 nonce;
    uint256 balance;
    bytes32 codeHash;
}

/// @notice A storage slot whose final value differs from the pre-state (of an account not deleted).
/// @param addr Owner.
/// @param slot Key.
/// @param value Final value.
struct PostSlot {
    address addr;
    uint256 slot;
    uint256 value;
}

/// @notice What executing one transaction did.
/// @param status 1 success, 0 failure (revert, exceptional halt, or a refused deposit).
/// @param gasUsed Gas counted towards the block (0 for the L1-info deposit).
/// @param logsAcc The logs accumulator of DISPUTE.md.
/// @param accounts Written accounts.
/// @param slots Written slots.
struct ExecResult {
    uint8 status;
    uint64 gasUsed;
    bytes32 logsAcc;
    PostAccount[] accounts;
    PostSlot[] slots;
}

/// @notice Everything the interpreter reads: the transaction, the block, the fee configuration and the
///         proven pre-state it may touch (anything else it needs makes it revert).
/// @param ctx Block context.
/// @param txn The transaction.
/// @param fees Fee configuration.
/// @param accounts Proven pre-state accounts.
/// @param slots Proven pre-state slots.
/// @param codes Bytecodes, found by hash.
/// @param blockHashes Proven hashes of the previous blocks, nearest first: `blockHashes[j]` is the hash
///        of block `ctx.number - 1 - j` (so `blockHashes[0]` is the parent hash). BLOCKHASH of a block in
///        the 256-block window deeper than the list reverts `MissingAncestor`.
struct ExecInput {
    BlockContext ctx;
    TxInput txn;
    FeeConfig fees;
    PreAccount[] accounts;
    PreSlot[] slots;
    bytes[] codes;
    bytes32[] blockHashes;
}
