// SPDX-License-Identifier: MIT OR Apache-2.0
pragma solidity 0.8.30;

import {BlockContext, IStepVerifier} from "../interfaces/IStepVerifier.sol";
import {EvmInterpreter} from "./EvmInterpreter.sol";
import {ExecInput, ExecResult, FeeConfig, PostAccount, PostSlot, PreAccount, PreSlot, TxInput} from "./EvmTypes.sol";
import {TxDecoder} from "./TxDecoder.sol";
import {Account, WorldState} from "./WorldState.sol";

/// @title EvmStepVerifier
/// @notice The one-step proof of the dispute game (DISPUTE.md, phase 1): re-executes one L2
///         transaction on L1 from the committed pre-state and returns the commitment of the state
///         after it, `keccak256(abi.encodePacked(postStateRoot, cumulativeGas, receiptsHash))`.
/// @dev Three contracts, each under EIP-170: this one (transaction decoding and signature recovery,
///      the Merkle-Patricia state through `WorldState`, the commitments), `EvmInterpreter` (the EVM and
///      the rollup's fee rules on a flat proven pre-state) and `EvmPrecompiles` (precompiles, opcode
///      table), reached by plain external calls with ABI-encoded inputs and results.
///
///      Witness encoding: `abi.encode(bytes[] nodes, bytes[] codes, address[] accounts,
///      address[] slotOwners, uint256[] slotKeys, bytes[] ancestors)`:
///        - `nodes`: the pre-state trie nodes (account and storage proofs of everything listed below,
///          plus the nodes the canonical-order writes need; built by
///          `parallax_fraud_proof::witness::StateWitnessBuilder`), any order; missing → `MissingNode`;
///        - `codes`: the bytecode of every account whose code runs or is read, found by hash;
///          missing → `MissingCode(hash)`;
///        - `accounts`, (`slotOwners[i]`, `slotKeys[i]`): every account and slot the transaction reads
///          (including the sender, the fee recipients and `L1Block` slots 1, 2 and 5 for a signed
///          transaction). Each is read through `WorldState`, so each value is proven; one execution
///          needs but the list lacks makes the interpreter revert `MissingAccount` / `MissingSlot`;
///        - `ancestors`: the RLP headers of blocks `number - 1`, `number - 2`, … (nearest first, at most
///          255), as deep as the transaction's BLOCKHASH needs: BLOCKHASH(number - 1) is
///          `ctx.parentHash` itself, and header `number - j` proves the hash of block `number - j - 1`
///          (its parentHash field). Each header must hash to the hash proven before it
///          (`AncestorMismatch`); a BLOCKHASH deeper than the chain reverts `MissingAncestor` in the
///          interpreter. The chain is walked once, over the headers given (the challenger gives only
///          those BLOCKHASH asked for), so a transaction without BLOCKHASH pays nothing for it.
///      A missing or malformed piece of witness therefore always reverts: a step can fail to decide,
///      never decide wrongly.
contract EvmStepVerifier is IStepVerifier {
    /// @notice The witness lists a different number of slot owners and slot keys, or more ancestor
    ///         headers than the 256-block window (or the chain) has.
    error MalformedWitness();
    /// @notice The witness's header of block `number` does not hash to that block's proven hash.
    /// @param number The block whose header is wrong.
    error AncestorMismatch(uint256 number);
    /// @notice The witness's header of block `number` hashes right but does not start with a
    ///         32-byte parentHash field (RLP list whose first item is 32 bytes).
    /// @param number The block whose header is malformed.
    error MalformedAncestor(uint256 number);

    /// @notice The interpreter that executes the transaction.
    EvmInterpreter public immutable INTERPRETER;
    /// @notice L2 chain id (EIP-155 and typed-transaction checks, CHAINID).
    uint256 public immutable CHAIN_ID;
    /// @notice Receiver of the L2 base fee (0x4200…0019 on Parallax).
    address public immutable BASE_FEE_VAULT;
    /// @notice Receiver of the L1 data fee (0x4200…001a on Parallax).
    address public immutable L1_FEE_VAULT;

    /// @param interpreter The deployed `EvmInterpreter`.
    /// @param chainId The L2 chain id.
    /// @param baseFeeVault Base-fee vault predeploy.
    /// @param l1FeeVault L1-fee vault predeploy.
    constructor(EvmInterpreter interpreter, uint256 chainId, address baseFeeVault, address l1FeeVault) {
        INTERPRETER = interpreter;
        CHAIN_ID = chainId;
        BASE_FEE_VAULT = baseFeeVault;
        L1_FEE_VAULT = l1FeeVault;
    }

    /// @inheritdoc IStepVerifier
    /// @dev `ctx.chainId` is replaced by the verifier's own `CHAIN_ID`. `txIndex` is not needed by
    ///      execution (the game has already proven the transaction's position).
    function verifyTransaction(
        BlockContext calldata ctx,
        uint256 txIndex,
        bytes32 preStateRoot,
        uint256 preCumulativeGas,
        bytes32 preReceiptsHash,
        bytes calldata txRlp,
        bytes calldata witness
    ) external view returns (bytes32 postCommitment) {
        txIndex;
        (bytes32 postStateRoot, uint8 txType, ExecResult memory r) = _execute(ctx, preStateRoot, txRlp, witness);
        uint256 cumulativeGas = preCumulativeGas + r.gasUsed;
        bytes32 leaf = keccak256(abi.encodePacked(txType, r.status, uint64(cumulativeGas), r.logsAcc));
        bytes32 receiptsHash = keccak256(abi.encodePacked(preReceiptsHash, leaf));
        return keccak256(abi.encodePacked(postStateRoot, cumulativeGas, receiptsHash));
    }

    /// @notice Executes without committing: the post-state root, the receipt type and the raw
    ///         interpreter result (for tests and for the challenger's local checks).
    /// @param ctx Block context.
    /// @param preStateRoot State root before the transaction.
    /// @param txRlp EIP-2718 envelope.
    /// @param witness See the contract documentation.
    /// @return postStateRoot State root after the transaction.
    /// @return txType Receipt type (0x7E for deposits).
    /// @return r Status, gas, logs accumulator and writes.
    function execute(BlockContext calldata ctx, bytes32 preStateRoot, bytes calldata txRlp, bytes calldata witness)
        external
        view
        returns (bytes32 postStateRoot, uint8 txType, ExecResult memory r)
    {
        return _execute(ctx, preStateRoot, txRlp, witness);
    }

    function _execute(BlockContext calldata ctx, bytes32 preStateRoot, bytes calldata txRlp, bytes calldata witness)
        private
        view
        returns (bytes32 postStateRoot, uint8 txType, ExecResult memory r)
    {
        (
            ExecInput memory input,
            bytes[] memory nodes,
            address[] memory accounts,
            address[] memory owners,
            uint256[] memory keys
        ) = _decodeWitness(ctx, witness);
        WorldState.DB memory db = WorldState.open(preStateRoot, nodes);
        input.ctx = ctx;
        input.ctx.chainId = CHAIN_ID;
        input.txn = TxDecoder.decode(txRlp, CHAIN_ID);
        input.fees = FeeConfig({baseFeeVault: BASE_FEE_VAULT, l1FeeVault: L1_FEE_VAULT});
        input.accounts = new PreAccount[](accounts.length);
        for (uint256 i = 0; i < accounts.length; i++) {
            Account memory a = WorldState.getAccount(db, accounts[i]);
            input.accounts[i] = PreAccount(accounts[i], a.nonce, a.balance, a.codeHash, a.exists);
        }
        input.slots = new PreSlot[](keys.length);
        for (uint256 i = 0; i < keys.length; i++) {
            input.slots[i] = PreSlot(owners[i], keys[i], WorldState.getStorage(db, owners[i], keys[i]));
        }
        r = INTERPRETER.execute(input);
        _apply(db, r);
        return (WorldState.stateRoot(db), input.txn.txType, r);
    }

    /// @dev Decodes the witness: the codes and the proven ancestor hashes go straight into `input`.
    function _decodeWitness(BlockContext calldata ctx, bytes calldata witness)
        private
        pure
        returns (
            ExecInput memory input,
            bytes[] memory nodes,
            address[] memory accounts,
            address[] memory owners,
            uint256[] memory keys
        )
    {
        bytes[] memory ancestors;
        (nodes, input.codes, accounts, owners, keys, ancestors) =
            abi.decode(witness, (bytes[], bytes[], address[], address[], uint256[], bytes[]));
        if (owners.length != keys.length) revert MalformedWitness();
        input.blockHashes = _blockHashes(ctx.number, ctx.parentHash, ancestors);
    }

    /// @dev The hashes of blocks `number - 1`, `number - 2`, … proven from `parentHash` down the
    ///      `headers` chain (header `i` is block `number - 1 - i` and must hash to `hashes[i]`; its
    ///      parentHash field is `hashes[i + 1]`). Header `number - 1 - i`'s parentHash is read as the
    ///      first item of its RLP list: after the keccak check the header is the block's real one, so
    ///      this minimal parse is exact, and the Rust model parses the same way.
    function _blockHashes(uint256 number, bytes32 parentHash, bytes[] memory headers)
        private
        pure
        returns (bytes32[] memory hashes)
    {
        // Block 0 has no parent, and 255 headers reach the oldest block of the window.
        if (headers.length > 255 || headers.length >= number) revert MalformedWitness();
        hashes = new bytes32[](headers.length + 1);
        hashes[0] = parentHash;
        for (uint256 i = 0; i < headers.length; i++) {
            bytes memory h = headers[i];
            uint256 n = number - 1 - i;
            if (keccak256(h) != hashes[i]) revert AncestorMismatch(n);
            // A list prefix: 0xc0-0xf7 short, 0xf8-0xff with (prefix - 0xf7) length bytes.
            uint256 off = h.length == 0 || uint8(h[0]) < 0xc0
                ? type(uint256).max
                : uint8(h[0]) <= 0xf7 ? 1 : uint256(uint8(h[0])) - 0xf6;
            if (off > h.length || h.length - off < 33 || uint8(h[off]) != 0xa0) revert MalformedAncestor(n);
            bytes32 parent;
            assembly ("memory-safe") {
                parent := mload(add(add(h, 0x21), off))
            }
            hashes[i + 1] = parent;
        }
    }

    /// @dev Writes the interpreter's final values. A created account starts from empty storage.
    function _apply(WorldState.DB memory db, ExecResult memory r) private pure {
        for (uint256 i = 0; i < r.accounts.length; i++) {
            PostAccount memory p = r.accounts[i];
            if (p.deleted || p.storageCleared) {
                WorldState.setAccount(db, p.addr, Account(0, 0, 0, 0, false));
                if (p.deleted) continue;
            }
            WorldState.setAccount(db, p.addr, Account(p.nonce, p.balance, 0, p.codeHash, true));
        }
        for (uint256 i = 0; i < r.slots.length; i++) {
            PostSlot memory s = r.slots[i];
            WorldState.setStorage(db, s.addr, s.slot, s.value);
        }
    }
}
