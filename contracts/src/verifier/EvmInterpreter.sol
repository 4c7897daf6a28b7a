// SPDX-License-Identifier: MIT OR Apache-2.0
pragma solidity 0.8.30;

import {BlockContext} from "../interfaces/IStepVerifier.sol";
import {EvmPrecompiles} from "./EvmPrecompiles.sol";
import {ExecInput, ExecResult, FeeConfig, PostAccount, PostSlot, PreAccount, PreSlot, TxInput} from "./EvmTypes.sol";

/// @title EvmInterpreter
/// @notice Re-executes one L2 transaction exactly as the Parallax executor (revm at Cancun plus the
///         rollup's fee rules) does, on a pre-state that the caller has already proven. It is the
///         execution half of the one-step proof: `EvmStepVerifier` decodes and authenticates the
///         transaction, proves the pre-state accounts and slots against the state root, calls
///         `execute`, and writes the returned account and slot changes back into the trie.
/// @dev Split from the verifier because the interpreter alone is close to the EIP-170 limit and
///      needs no trie code. Machine state lives in memory: a journaled cache of accounts, slots,
///      warm sets and transient storage (a reverting frame unwinds the journal to its checkpoint), and
///      an explicit stack of call frames (no Solidity recursion, so depth 1024 is reachable).
///      Anything the interpreter cannot execute exactly reverts (`Unsupported`, `MissingAccount`,
///      `MissingSlot`, `MissingCode`, `MissingAncestor`): a one-step proof may fail to decide, never decide wrongly.
contract EvmInterpreter {
    /// @notice The transaction is invalid: the sequencer could never have included it.
    /// @param reason Which check failed (see `_validate`).
    error InvalidTransaction(uint8 reason);
    /// @notice The opcode (or precompile input) has no exact implementation here.
    /// @param opcode The opcode.
    error Unsupported(uint8 opcode);
    /// @notice Execution read an account the input does not prove.
    /// @param account The account.
    error MissingAccount(address account);
    /// @notice Execution read a slot the input does not prove.
    /// @param account Owner.
    /// @param slot Key.
    error MissingSlot(address account, uint256 slot);
    /// @notice Execution needs bytecode the input does not carry.
    /// @param codeHash Its hash.
    error MissingCode(bytes32 codeHash);
    /// @notice BLOCKHASH asked for a block of the 256-block window deeper than the proven ancestors.
    /// @param number The block asked for.
    error MissingAncestor(uint256 number);

    /// @param precompiles The deployed `EvmPrecompiles`.
    constructor(EvmPrecompiles precompiles) {
        PRECOMPILES = precompiles;
    }

    /// @dev One account of the journaled cache.
    struct Acc {
        address addr;
        uint64 nonce;
        uint256 balance;
        bytes32 codeHash;
        bool touched;
        bool created;
        bool destructed;
        bool codeLoaded;
        bytes code;
        bool exists0;
    }

    /// @dev One storage slot of the journaled cache.
    struct Slot {
        address addr;
        uint256 key;
        uint256 original;
        uint256 current;
    }

    /// @dev One transient storage slot.
    struct TSlot {
        address addr;
        uint256 key;
        uint256 value;
    }

    /// @dev A call or create frame.
    struct Frame {
        bool isCreate;
        address caller;
        address target;
        uint256 value;
        bool isStatic;
        bytes code;
        bytes input;
        bytes jumpdests;
        uint256 pc;
        uint256 gas;
        int256 refund;
        uint256[] stack;
        uint256 sp;
        bytes mem;
        uint256 memSize;
        bytes retData;
        bytes out;
        uint256 jLen;
        bytes32 logsAcc;
        uint256 retOffset;
        uint256 retSize;
    }

    /// @dev The whole machine.
    struct M {
        Acc[] accs;
        uint256 nAccs;
        Slot[] slots;
        uint256 nSlots;
        TSlot[] ts;
        uint256 nTs;
        uint256[] warmA;
        uint256 nWarmA;
        uint256[] warmS;
        uint256 nWarmS;
        uint256[] jk;
        uint256[] jv;
        uint256 nJ;
        bytes32 logsAcc;
        PreAccount[] pre;
        PreSlot[] preSlots;
        bytes[] codes;
        bytes32[] codeHashes;
        BlockContext ctx;
        bytes32[] blockHashes;
        address origin;
        uint256 gasPrice;
        uint256[] frames;
        uint256 depth;
        uint256 pending;
        bytes table;
        FeeConfig fees;
        uint256 l1Fee;
    }

    /// @notice The precompile runner and opcode table (split off to stay under EIP-170).
    EvmPrecompiles public immutable PRECOMPILES;

    bytes32 internal constant EMPTY_CODE_HASH = 0xc5d2460186f7233c927e7db2dcc703c0e500b653ca82273b7bfad8045d85a470;

    // Frame outcomes.
    uint256 private constant RUNNING = 0;
    uint256 private constant STOP = 1;
    uint256 private constant RETURN = 2;
    uint256 private constant REVERT = 3;
    uint256 private constant ERROR = 4;
    uint256 private constant CHILD = 5;

    // Journal entry kinds (low byte of `jk`, the cache index above it).
    uint256 private constant J_WARMA = 1;
    uint256 private constant J_WARMS = 2;
    uint256 private constant J_SLOT = 3;
    uint256 private constant J_BAL = 4;
    uint256 private constant J_NONCE = 5;
    uint256 private constant J_TOUCH = 6;
    uint256 private constant J_CREATED = 7;
    uint256 private constant J_CODE = 8;
    uint256 private constant J_TSTORE = 9;
    uint256 private constant J_DESTRUCT = 10;

    uint256 private constant MAX_CODE_SIZE = 24576;
    uint256 private constant MAX_INITCODE_SIZE = 49152;
    /// @dev L1Block predeploy and its slots holding the L1 base fee and blob base fee.
    address private constant L1_BLOCK = 0x4200000000000000000000000000000000000015;

    /// @notice Executes `input.txn` on the proven pre-state and returns its receipt data and writes.
    /// @dev Not `view` only because precompiles are reached with `staticcall`; it changes no storage.
    /// @param input Transaction, block, fee configuration and proven pre-state.
    /// @return r Status, gas, logs accumulator and the final values of every written account/slot.
    function execute(ExecInput calldata input) external view returns (ExecResult memory r) {
        M memory m = _init(input);
        TxInput memory t = input.txn;
        bool deposit = t.txType == 0x7E;
        uint256 s = _acc(m, t.from);
        if (deposit && t.mint != 0) _setBal(m, s, m.accs[s].balance + t.mint);
        uint256 intrinsic = _intrinsic(t);
        m.l1Fee = deposit ? 0 : _l1Fee(m, t);
        uint8 reason = _validate(m, t, s, intrinsic, m.l1Fee);
        if (reason != 0) {
            if (!deposit) revert InvalidTransaction(reason);
            return _failedDeposit(m, t);
        }
        m.gasPrice = _effectivePrice(m, t);
        _setBal(m, s, m.accs[s].balance - t.gasLimit * m.gasPrice - m.l1Fee);
        if (!t.isCreate) _setNonce(m, s, m.accs[s].nonce + 1);
        _warmTx(m, t);
        // The first frame and every frame it spawns: outcome, unused gas, refund.
        (uint256 status, uint256 remaining, int256 refund) =
            t.isCreate ? _startCreate(m, t, t.gasLimit - intrinsic) : _startCall(m, t, t.gasLimit - intrinsic);
        r.status = (status == STOP || status == RETURN) ? 1 : 0;
        uint256 used = _settle(m, t, s, r.status == 1 ? refund : int256(0), remaining);
        r.gasUsed = t.isSystem ? 0 : uint64(used);
        r.logsAcc = m.logsAcc;
        (r.accounts, r.slots) = _writes(m);
    }

    // ---------------------------------------------------------------- transaction level

    function _init(ExecInput calldata input) private view returns (M memory m) {
        m.accs = new Acc[](8);
        m.slots = new Slot[](8);
        m.ts = new TSlot[](4);
        m.warmA = new uint256[](16);
        m.warmS = new uint256[](16);
        m.jk = new uint256[](64);
        m.jv = new uint256[](64);
        m.pre = input.accounts;
        m.preSlots = input.slots;
        m.codes = input.codes;
        m.codeHashes = new bytes32[](m.codes.length);
        for (uint256 i = 0; i < m.codes.length; i++) {
            m.codeHashes[i] = keccak256(m.codes[i]);
        }
        m.ctx = input.ctx;
        m.blockHashes = input.blockHashes;
        m.fees = input.fees;
        m.origin = input.txn.from;
        m.frames = new uint256[](1025);
        m.table = PRECOMPILES.opcodeTable();
    }

    function _intrinsic(TxInput memory t) private view returns (uint256) {
        uint256 keys = 0;
        for (uint256 i = 0; i < t.accessList.length; i++) {
            keys += t.accessList[i].keys.length;
        }
        return PRECOMPILES.intrinsicGas(t.data, t.isCreate, t.accessList.length, keys);
    }

    /// @dev protocol/src/fees.rs `l1_data_fee` on the L1Block predeploy's base fee (slot 1), blob
    ///      base fee (slot 2) and fee scalars (slot 5: base scalar bits 0-31, blob scalar bits 32-63)
    ///      in the pre-state: the values the L1-info deposit of the block wrote.
    function _l1Fee(M memory m, TxInput memory t) private view returns (uint256) {
        if (t.l1GasUsed == 0) return 0;
        return
            PRECOMPILES.l1Fee(t.l1GasUsed, _preSlot(m, L1_BLOCK, 1), _preSlot(m, L1_BLOCK, 2), _preSlot(m, L1_BLOCK, 5));
    }

    /// @dev revm's transaction checks at Cancun plus the rollup's L1-fee check. Reasons: 1 gas limit
    ///      above the block's, 2 priority fee above max fee, 3 max fee below base fee, 4 initcode too
    ///      large, 5 intrinsic gas above the gas limit, 6 sender has code, 7 wrong nonce, 8 balance
    ///      below gas * max fee + value, 9 balance below value + L1 fee after gas.
    function _validate(M memory m, TxInput memory t, uint256 s, uint256 intrinsic, uint256 l1Fee)
        private
        pure
        returns (uint8)
    {
        bool deposit = t.txType == 0x7E;
        if (t.gasLimit > m.ctx.gasLimit) return 1;
        if (!deposit) {
            if (t.maxPriorityFeePerGas > t.maxFeePerGas) return 2;
            if (t.maxFeePerGas < m.ctx.baseFee) return 3;
        }
        if (t.isCreate && t.data.length > MAX_INITCODE_SIZE) return 4;
        if (intrinsic > t.gasLimit) return 5;
        Acc memory a = m.accs[s];
        if (a.codeHash != EMPTY_CODE_HASH) return 6;
        if (!deposit && t.nonce != a.nonce) return 7;
        uint256 maxSpend;
        unchecked {
            // revm rejects a fee cap whose product with the gas limit (plus value) overflows.
            maxSpend = uint256(t.gasLimit) * t.maxFeePerGas;
            if (t.maxFeePerGas != 0 && maxSpend / t.maxFeePerGas != t.gasLimit) return 8;
            if (maxSpend + t.value < maxSpend) return 8;
        }
        if (a.balance < maxSpend + t.value) return 8;
        uint256 afterGas = a.balance - uint256(t.gasLimit) * _effectivePrice(m, t);
        if (l1Fee != 0 && afterGas < t.value + l1Fee) return 9;
        return 0;
    }

    function _effectivePrice(M memory m, TxInput memory t) private pure returns (uint256) {
        if (t.txType == 0x7E) return 0;
        if (t.txType != 2) return t.maxFeePerGas;
        uint256 p = m.ctx.baseFee + t.maxPriorityFeePerGas;
        return p < t.maxFeePerGas ? p : t.maxFeePerGas;
    }

    /// @dev A deposit revm refuses: the mint stays, the nonce moves on, the whole gas limit is used.
    function _failedDeposit(M memory m, TxInput memory t) private pure returns (ExecResult memory r) {
        r.status = 0;
        r.gasUsed = t.isSystem ? 0 : t.gasLimit;
        Acc memory a = _preAccount(m, t.from);
        r.accounts = new PostAccount[](1);
        r.accounts[0] = PostAccount({
            addr: t.from,
            deleted: false,
            storageCleared: false,
            nonce: a.nonce + 1,
            balance: type(uint256).max - a.balance < t.mint ? type(uint256).max : a.balance + t.mint,
            codeHash: a.codeHash
        });
        r.slots = new PostSlot[](0);
    }

    function _warmTx(M memory m, TxInput memory t) private pure {
        _warm(m, t.from);
        if (!t.isCreate) _warm(m, t.to);
        _warm(m, m.ctx.coinbase);
        for (uint256 i = 0; i < t.accessList.length; i++) {
            address a = t.accessList[i].addr;
            _warm(m, a);
            for (uint256 k = 0; k < t.accessList[i].keys.length; k++) {
                _warmSlot(m, a, t.accessList[i].keys[k]);
            }
        }
    }

    /// @dev Refund (capped at a fifth, EIP-3529), reimbursement of unused gas, and the fee credits
    ///      (priority fee to the coinbase, base fee and L1 data fee to their vaults). Returns gas used.
    function _settle(M memory m, TxInput memory t, uint256 s, int256 refund, uint256 remaining)
        private
        pure
        returns (uint256 used)
    {
        used = t.gasLimit - remaining;
        uint256 refunded = refund > 0 ? uint256(refund) : 0;
        if (refunded > used / 5) refunded = used / 5;
        used -= refunded;
        _setBal(m, s, m.accs[s].balance + m.gasPrice * (remaining + refunded));
        uint256 baseFee = m.ctx.baseFee;
        uint256 tip = m.gasPrice > baseFee ? m.gasPrice - baseFee : 0;
        uint256 c = _acc(m, m.ctx.coinbase);
        _setBal(m, c, m.accs[c].balance + tip * used);
        uint256 v = _acc(m, m.fees.baseFeeVault);
        _setBal(m, v, m.accs[v].balance + (baseFee < m.gasPrice ? baseFee : m.gasPrice) * used);
        if (m.l1Fee != 0) {
            uint256 l = _acc(m, m.fees.l1FeeVault);
            _setBal(m, l, m.accs[l].balance + m.l1Fee);
        }
    }

    function _startCall(M memory m, TxInput memory t, uint256 gas) private view returns (uint256, uint256, int256) {
        uint256 cp = m.nJ;
        bytes32 logs0 = m.logsAcc;
        if (!_transfer(m, t.from, t.to, t.value)) return (ERROR, 0, 0); // unreachable: validated
        if (_isPrecompile(t.to)) {
            (bool ok, uint256 cost,) = _precompile(t.to, t.data, gas);
            if (!ok) {
                _revertTo(m, cp, logs0);
                return (ERROR, 0, 0);
            }
            return (RETURN, gas - cost, 0);
        }
        bytes memory code = _code(m, _acc(m, t.to));
        if (code.length == 0) return (STOP, gas, 0);
        Frame memory f = _newFrame();
        f.caller = t.from;
        f.target = t.to;
        f.value = t.value;
        f.code = code;
        f.input = t.data;
        f.gas = gas;
        f.jLen = cp;
        f.logsAcc = logs0;
        return _drive(m, f);
    }

    function _startCreate(M memory m, TxInput memory t, uint256 gas) private view returns (uint256, uint256, int256) {
        uint256 s = _acc(m, t.from);
        uint64 nonce = m.accs[s].nonce;
        _setNonce(m, s, nonce + 1);
        address created = PRECOMPILES.createAddress(t.from, nonce);
        _warm(m, created);
        Frame memory f = _newFrame();
        f.gas = gas;
        (f.caller, f.target, f.value, f.code) = (t.from, created, t.value, t.data);
        (bool ok, bool collided) = _enterCreate(m, f);
        if (!ok) return (ERROR, collided ? 0 : gas, 0);
        return _drive(m, f);
    }

    /// @dev The frame loop: runs the innermost frame until it halts or spawns a child.
    function _drive(M memory m, Frame memory root) private view returns (uint256, uint256, int256) {
        m.frames[0] = _ptr(root);
        m.depth = 0;
        while (true) {
            Frame memory f = _frame(m.frames[m.depth]);
            uint256 status = _run(m, f);
            if (status == CHILD) {
                m.depth++;
                m.frames[m.depth] = m.pending;
                continue;
            }
            status = _halt(m, f, status);
            if (m.depth == 0) {
                return (status, status == ERROR ? 0 : f.gas, f.refund);
            }
            m.depth--;
            _resume(m, _frame(m.frames[m.depth]), f, status);
        }
        return (ERROR, 0, 0);
    }

    /// @dev Applies the end of a frame to the journal (code deposit for creates, revert on failure).
    function _halt(M memory m, Frame memory f, uint256 status) private pure returns (uint256) {
        if (status == ERROR) f.gas = 0;
        if (f.isCreate && (status == STOP || status == RETURN)) {
            bytes memory out = status == RETURN ? f.out : new bytes(0);
            uint256 deposit = 200 * out.length;
            if (out.length > MAX_CODE_SIZE || (out.length != 0 && out[0] == 0xEF) || f.gas < deposit) {
                status = ERROR;
                f.gas = 0;
            } else {
                f.gas -= deposit;
                uint256 i = _acc(m, f.target);
                _journal(m, J_CODE | (i << 8), 0);
                m.accs[i].code = out;
                m.accs[i].codeLoaded = true;
                m.accs[i].codeHash = out.length == 0 ? EMPTY_CODE_HASH : keccak256(out);
            }
        }
        if (status == ERROR || status == REVERT) {
            _revertTo(m, f.jLen, f.logsAcc);
            f.refund = 0;
        }
        if (status == ERROR) f.out = new bytes(0);
        return status;
    }

    /// @dev Hands a finished child's result to its parent.
    function _resume(M memory m, Frame memory p, Frame memory c, uint256 status) private pure {
        bool ok = status == STOP || status == RETURN;
        if (status != ERROR) p.gas += c.gas;
        if (ok) p.refund += c.refund;
        if (c.isCreate) {
            p.retData = status == REVERT ? c.out : new bytes(0);
            _push(p, ok ? uint256(uint160(c.target)) : 0);
        } else {
            p.retData = c.out;
            if (ok || status == REVERT) _copyOut(p, c.retOffset, c.retSize, c.out);
            _push(p, ok ? 1 : 0);
        }
        m;
    }

    function _copyOut(Frame memory p, uint256 off, uint256 size, bytes memory out) private pure {
        uint256 n = out.length < size ? out.length : size;
        if (n == 0) return;
        uint256 dst = _memPtr(p) + off;
        assembly ("memory-safe") {
            mcopy(dst, add(out, 32), n)
        }
    }

    // ---------------------------------------------------------------- the step loop

    /// @dev The hot path: stack, arithmetic, comparison, bitwise, PUSH/DUP/SWAP, jumps and in-bounds
    ///      MLOAD/MSTORE run here in assembly on the frame's fields. It stops, leaving the frame as it
    ///      was before that opcode, at the first opcode it does not handle or that would fail (the
    ///      Solidity path in `_run` then executes it, errors included).
    ///      Frame field offsets: jumpdests 0xe0, pc 0x100, gas 0x120, stack 0x160, sp 0x180, mem 0x1a0,
    ///      memSize 0x1c0, code 0xa0.
    function _fast(Frame memory f, bytes memory table) private pure {
        assembly ("memory-safe") {
            let ppc := mload(add(f, 0x100))
            let gasLeft := mload(add(f, 0x120))
            let sp := mload(add(f, 0x180))
            for {} 1 {} {
                let op := 0
                if lt(ppc, mload(mload(add(f, 0xa0)))) {
                    op := byte(0, mload(add(add(mload(add(f, 0xa0)), 32), ppc)))
                }
                let info := shr(224, mload(add(add(table, 32), shl(2, op))))
                if eq(shr(24, info), 0xff) { break }
                if lt(sp, shr(24, info)) { break }
                if gt(add(sub(sp, shr(24, info)), and(shr(16, info), 0xff)), 1024) { break }
                if lt(gasLeft, and(info, 0xffff)) { break }
                let top := add(mload(add(f, 0x160)), shl(5, sp))
                // Dispatch by range first: a Yul switch is a chain of comparisons.
                switch lt(op, 0x60)
                case 0 {
                    if gt(op, 0x9f) { break }
                    switch lt(op, 0x80)
                    case 1 {
                        let v := shr(shl(3, sub(0x7f, op)), mload(add(add(mload(add(f, 0xa0)), 32), add(ppc, 1))))
                        // Bytes past the end of the code read as zero.
                        if gt(add(ppc, sub(op, 0x5e)), mload(mload(add(f, 0xa0)))) {
                            let cut := shl(3, sub(add(ppc, sub(op, 0x5e)), mload(mload(add(f, 0xa0)))))
                            v := shl(cut, shr(cut, v))
                        }
                        mstore(add(top, 32), v)
                        ppc := add(ppc, sub(op, 0x5f))
                    }
                    default {
                        switch lt(op, 0x90)
                        case 1 { mstore(add(top, 32), mload(sub(top, shl(5, sub(op, 0x80))))) }
                        default {
                            let other := sub(top, shl(5, sub(op, 0x8f)))
                            let v := mload(top)
                            mstore(top, mload(other))
                            mstore(other, v)
                        }
                    }
                }
                default {
                    switch lt(op, 0x20)
                    case 0 {
                        switch op
                        case 0x50 {}
                        case 0x51 {
                            if gt(mload(top), 0xffffffff) { break }
                            if gt(add(mload(top), 32), mload(add(f, 0x1c0))) { break }
                            mstore(top, mload(add(add(mload(add(f, 0x1a0)), 32), mload(top))))
                        }
                        case 0x52 {
                            if gt(mload(top), 0xffffffff) { break }
                            if gt(add(mload(top), 32), mload(add(f, 0x1c0))) { break }
                            mstore(add(add(mload(add(f, 0x1a0)), 32), mload(top)), mload(sub(top, 32)))
                        }
                        case 0x56 {
                            if iszero(mload(mload(add(f, 0xe0)))) { break }
                            if iszero(lt(mload(top), mload(mload(add(f, 0xa0))))) { break }
                            if iszero(byte(0, mload(add(add(mload(add(f, 0xe0)), 32), mload(top))))) {
                                break
                            }
                            ppc := sub(mload(top), 1)
                        }
                        case 0x57 {
                            if mload(sub(top, 32)) {
                                if iszero(mload(mload(add(f, 0xe0)))) { break }
                                if iszero(lt(mload(top), mload(mload(add(f, 0xa0))))) { break }
                                if iszero(byte(0, mload(add(add(mload(add(f, 0xe0)), 32), mload(top))))) {
                                    break
                                }
                                ppc := sub(mload(top), 1)
                            }
                        }
                        case 0x58 { mstore(add(top, 32), ppc) }
                        case 0x5a { mstore(add(top, 32), sub(gasLeft, and(info, 0xffff))) }
                        case 0x5b {}
                        case 0x5f { mstore(add(top, 32), 0) }
                        default { break }
                    }
                    default {
                        switch lt(op, 0x10)
                        case 0 {
                            switch op
                            case 0x10 { mstore(sub(top, 32), lt(mload(top), mload(sub(top, 32)))) }
                            case 0x11 { mstore(sub(top, 32), gt(mload(top), mload(sub(top, 32)))) }
                            case 0x12 { mstore(sub(top, 32), slt(mload(top), mload(sub(top, 32)))) }
                            case 0x13 { mstore(sub(top, 32), sgt(mload(top), mload(sub(top, 32)))) }
                            case 0x14 { mstore(sub(top, 32), eq(mload(top), mload(sub(top, 32)))) }
                            case 0x15 { mstore(top, iszero(mload(top))) }
                            case 0x16 { mstore(sub(top, 32), and(mload(top), mload(sub(top, 32)))) }
                            case 0x17 { mstore(sub(top, 32), or(mload(top), mload(sub(top, 32)))) }
                            case 0x18 { mstore(sub(top, 32), xor(mload(top), mload(sub(top, 32)))) }
                            case 0x19 { mstore(top, not(mload(top))) }
                            case 0x1a { mstore(sub(top, 32), byte(mload(top), mload(sub(top, 32)))) }
                            case 0x1b { mstore(sub(top, 32), shl(mload(top), mload(sub(top, 32)))) }
                            case 0x1c { mstore(sub(top, 32), shr(mload(top), mload(sub(top, 32)))) }
                            case 0x1d { mstore(sub(top, 32), sar(mload(top), mload(sub(top, 32)))) }
                            default { break }
                        }
                        default {
                            switch op
                            case 0x01 { mstore(sub(top, 32), add(mload(top), mload(sub(top, 32)))) }
                            case 0x02 { mstore(sub(top, 32), mul(mload(top), mload(sub(top, 32)))) }
                            case 0x03 { mstore(sub(top, 32), sub(mload(top), mload(sub(top, 32)))) }
                            case 0x04 { mstore(sub(top, 32), div(mload(top), mload(sub(top, 32)))) }
                            case 0x05 { mstore(sub(top, 32), sdiv(mload(top), mload(sub(top, 32)))) }
                            case 0x06 { mstore(sub(top, 32), mod(mload(top), mload(sub(top, 32)))) }
                            case 0x07 { mstore(sub(top, 32), smod(mload(top), mload(sub(top, 32)))) }
                            case 0x08 {
                                mstore(sub(top, 64), addmod(mload(top), mload(sub(top, 32)), mload(sub(top, 64))))
                            }
                            case 0x09 {
                                mstore(sub(top, 64), mulmod(mload(top), mload(sub(top, 32)), mload(sub(top, 64))))
                            }
                            case 0x0b { mstore(sub(top, 32), signextend(mload(top), mload(sub(top, 32)))) }
                            default { break }
                        }
                    }
                }
                sp := add(sub(sp, shr(24, info)), and(shr(16, info), 0xff))
                gasLeft := sub(gasLeft, and(info, 0xffff))
                ppc := add(ppc, 1)
            }
            mstore(add(f, 0x100), ppc)
            mstore(add(f, 0x120), gasLeft)
            mstore(add(f, 0x180), sp)
        }
    }

    function _run(M memory m, Frame memory f) private view returns (uint256 status) {
        bytes memory code = f.code;
        bytes memory table = m.table;
        uint256 len = code.length;
        while (true) {
            _fast(f, table);
            uint256 pc = f.pc;
            uint256 op = pc < len ? uint8(code[pc]) : 0;
            uint256 info;
            assembly ("memory-safe") {
                info := shr(224, mload(add(add(table, 32), mul(op, 4))))
            }
            uint256 pops = info >> 24;
            if (pops == 0xff) return ERROR; // INVALID (0xfe) and undefined opcodes
            uint256 sp = f.sp;
            if (sp < pops || sp - pops + ((info >> 16) & 0xff) > 1024) return ERROR;
            uint256 g = info & 0xffff;
            if (f.gas < g) return ERROR;
            f.gas -= g;
            f.pc = pc + 1;
            // `_fast` runs every other opcode below 0x20 and PUSH/DUP/SWAP whenever the checks above
            // pass, so of those only STOP and EXP (dynamic gas) get here.
            if ((op < 0x20 && op != 0 && op != 0x0a) || (op >= 0x60 && op < 0xa0)) revert Unsupported(uint8(op));
            if (op == 0) return STOP;
            if (op == 0x0a) {
                status = _exp(f);
            } else if (op < 0x50) {
                status = _env(m, f, op);
            } else if (op < 0x60) {
                status = _flowMem(m, f, op);
            } else if (op < 0xf0) {
                status = _log(m, f, op);
            } else {
                status = _system(m, f, op);
            }
            if (status != RUNNING) return status;
        }
    }

    // ---------------------------------------------------------------- opcode groups

    /// @dev EXP: 10 static gas plus 50 per byte of the exponent.
    function _exp(Frame memory f) private pure returns (uint256) {
        uint256 a = _pop(f);
        uint256 b = _pop(f);
        uint256 bytesLen = 0;
        for (uint256 e = b; e != 0; e >>= 8) {
            bytesLen++;
        }
        if (!_charge(f, 50 * bytesLen)) return ERROR;
        uint256 r;
        assembly ("memory-safe") {
            r := exp(a, b)
        }
        _push(f, r);
        return RUNNING;
    }

    /// @dev 0x20-0x4f: KECCAK256, environment and block opcodes.
    function _env(M memory m, Frame memory f, uint256 op) private pure returns (uint256) {
        if (op == 0x20) {
            uint256 off = _pop(f);
            uint256 len = _pop(f);
            if (!_charge(f, 6 * _words(len)) || !_expand(f, off, len)) return ERROR;
            uint256 mp = _memPtr(f);
            bytes32 h;
            assembly ("memory-safe") {
                // With len == 0 the offset is unchecked and may wrap: nothing is read.
                h := keccak256(add(mp, off), len)
            }
            _push(f, uint256(h));
        } else if (op == 0x31 || op == 0x3b || op == 0x3f) {
            address a = address(uint160(_pop(f)));
            if (!_charge(f, _warm(m, a) ? 2600 : 100)) return ERROR;
            uint256 i = _acc(m, a);
            if (op == 0x31) {
                _push(f, m.accs[i].balance);
            } else if (op == 0x3b) {
                _push(f, _code(m, i).length);
            } else {
                _push(f, _isEmpty(m.accs[i]) ? 0 : uint256(m.accs[i].codeHash));
            }
        } else if (op == 0x35) {
            _push(f, uint256(_wordAt(f.input, _pop(f))));
        } else if (op == 0x37 || op == 0x39 || op == 0x3e) {
            return _copy(f, op == 0x37 ? f.input : op == 0x39 ? f.code : f.retData, op == 0x3e);
        } else if (op == 0x3c) {
            // As revm: copy gas and memory first, then the account access, so that a failure before
            // the access reads no account (the witness holds only what revm read).
            address a = address(uint160(_pop(f)));
            uint256 copyGas = 3 * _words(f.stack[f.sp - 3]);
            if (!_charge(f, copyGas) || !_expand(f, f.stack[f.sp - 1], f.stack[f.sp - 3])) return ERROR;
            if (!_charge(f, _warm(m, a) ? 2600 : 100)) return ERROR;
            f.gas += copyGas; // `_copy` charges it again
            return _copy(f, _code(m, _acc(m, a)), false);
        } else if (op == 0x40) {
            // As revm (Cancun): the hash of one of the 256 previous blocks, zero for any other number.
            uint256 n = _pop(f);
            uint256 h = 0;
            if (n < m.ctx.number && m.ctx.number - n <= 256) {
                uint256 j = m.ctx.number - n - 1;
                if (j >= m.blockHashes.length) revert MissingAncestor(n);
                h = uint256(m.blockHashes[j]);
            }
            _push(f, h);
        } else if (op == 0x47) {
            _push(f, m.accs[_acc(m, f.target)].balance);
        } else if (op == 0x49) {
            _pop(f);
            _push(f, 0);
        } else {
            _push(f, _envValue(m, f, op));
        }
        return RUNNING;
    }

    function _envValue(M memory m, Frame memory f, uint256 op) private pure returns (uint256) {
        if (op == 0x30) return uint160(f.target);
        if (op == 0x32) return uint160(m.origin);
        if (op == 0x33) return uint160(f.caller);
        if (op == 0x34) return f.value;
        if (op == 0x36) return f.input.length;
        if (op == 0x38) return f.code.length;
        if (op == 0x3a) return m.gasPrice;
        if (op == 0x3d) return f.retData.length;
        if (op == 0x41) return uint160(m.ctx.coinbase);
        if (op == 0x42) return m.ctx.timestamp;
        if (op == 0x43) return m.ctx.number;
        if (op == 0x44) return uint256(m.ctx.prevRandao);
        if (op == 0x45) return m.ctx.gasLimit;
        if (op == 0x46) return m.ctx.chainId;
        if (op == 0x48) return m.ctx.baseFee;
        // 0x4a BLOBBASEFEE: the L2 block env has zero excess blob gas, so the blob price is 1.
        return 1;
    }

    /// @dev CALLDATACOPY / CODECOPY / EXTCODECOPY / RETURNDATACOPY (the last may not read past the end).
    function _copy(Frame memory f, bytes memory src, bool strict) private pure returns (uint256) {
        uint256 dst = _pop(f);
        uint256 off = _pop(f);
        uint256 len = _pop(f);
        if (strict && (off > src.length || len > src.length - off)) return ERROR;
        if (!_charge(f, 3 * _words(len))) return ERROR;
        if (len == 0) return RUNNING;
        if (!_expand(f, dst, len)) return ERROR;
        uint256 p = _memPtr(f) + dst;
        uint256 avail = off >= src.length ? 0 : src.length - off;
        uint256 n = avail < len ? avail : len;
        assembly ("memory-safe") {
            mcopy(p, add(add(src, 32), off), n)
            // Zero the part past the end of the source (memory beyond may hold old data).
            let z := sub(len, n)
            if z { calldatacopy(add(p, n), calldatasize(), z) }
        }
        return RUNNING;
    }

    /// @dev 0x50-0x5f: stack, memory, storage, transient storage and control flow.
    function _flowMem(M memory m, Frame memory f, uint256 op) private pure returns (uint256) {
        if (op == 0x51) {
            uint256 off = _pop(f);
            if (!_expand(f, off, 32)) return ERROR;
            uint256 p = _memPtr(f) + off;
            uint256 v;
            assembly ("memory-safe") {
                v := mload(p)
            }
            _push(f, v);
        } else if (op == 0x52 || op == 0x53) {
            uint256 off = _pop(f);
            uint256 v = _pop(f);
            if (!_expand(f, off, op == 0x52 ? 32 : 1)) return ERROR;
            uint256 p = _memPtr(f) + off;
            assembly ("memory-safe") {
                switch op
                case 0x52 { mstore(p, v) }
                default { mstore8(p, v) }
            }
        } else if (op == 0x54) {
            address a = f.target;
            uint256 key = _pop(f);
            bool cold = _warmSlot(m, a, key);
            if (!_charge(f, cold ? 2100 : 100)) return ERROR;
            uint256 i = _slot(m, a, key);
            _push(f, m.slots[i].current);
        } else if (op == 0x55) {
            return _sstore(m, f);
        } else if (op == 0x56 || op == 0x57) {
            uint256 dest = _pop(f);
            uint256 cond = op == 0x57 ? _pop(f) : 1;
            if (cond != 0) {
                if (!_isJumpdest(f, dest)) return ERROR;
                f.pc = dest;
            }
        } else if (op == 0x59) {
            _push(f, f.memSize);
        } else if (op == 0x5c) {
            uint256 i = _tslot(m, f.target, _pop(f));
            _push(f, m.ts[i].value);
        } else if (op == 0x5d) {
            if (f.isStatic) return ERROR;
            uint256 key = _pop(f);
            uint256 v = _pop(f);
            uint256 i = _tslot(m, f.target, key);
            _journal(m, J_TSTORE | (i << 8), m.ts[i].value);
            m.ts[i].value = v;
        } else if (op == 0x5e) {
            uint256 dst = _pop(f);
            uint256 src = _pop(f);
            uint256 len = _pop(f);
            if (!_charge(f, 3 * _words(len))) return ERROR;
            if (len != 0) {
                if (!_expand(f, dst > src ? dst : src, len)) return ERROR;
                uint256 p = _memPtr(f);
                assembly ("memory-safe") {
                    mcopy(add(p, dst), add(p, src), len)
                }
            }
        } else if (op != 0x5b) {
            // POP, PC, GAS, PUSH0 (and JUMPDEST) always complete in `_fast`.
            revert Unsupported(uint8(op));
        }
        return RUNNING;
    }

    /// @dev SSTORE with EIP-2200 / EIP-2929 gas and EIP-3529 refunds.
    function _sstore(M memory m, Frame memory f) private pure returns (uint256) {
        if (f.isStatic) return ERROR;
        if (f.gas <= 2300) return ERROR;
        address a = f.target;
        uint256 key = _pop(f);
        uint256 v = _pop(f);
        bool cold = _warmSlot(m, a, key);
        uint256 i = _slot(m, a, key);
        uint256 orig = m.slots[i].original;
        uint256 cur = m.slots[i].current;
        uint256 cost = cold ? 2100 : 0;
        if (cur == v || orig != cur) {
            cost += 100;
        } else {
            cost += orig == 0 ? 20000 : 2900;
        }
        if (!_charge(f, cost)) return ERROR;
        if (cur != v) {
            if (orig == cur) {
                if (orig != 0 && v == 0) f.refund += 4800;
            } else {
                if (orig != 0) {
                    if (cur == 0) f.refund -= 4800;
                    else if (v == 0) f.refund += 4800;
                }
                if (orig == v) f.refund += orig == 0 ? int256(19900) : int256(2800);
            }
            _journal(m, J_SLOT | (i << 8), cur);
            m.slots[i].current = v;
        }
        return RUNNING;
    }

    /// @dev LOG0-LOG4: folds the log into the logs accumulator of DISPUTE.md.
    function _log(M memory m, Frame memory f, uint256 op) private pure returns (uint256) {
        if (f.isStatic) return ERROR;
        uint256 off = _pop(f);
        uint256 len = _pop(f);
        uint256 n = op - 0xa0;
        if (len > 0xffffffff || !_charge(f, 8 * len) || !_expand(f, off, len)) return ERROR;
        bytes32[] memory topics = new bytes32[](n);
        for (uint256 i = 0; i < n; i++) {
            topics[i] = bytes32(_pop(f));
        }
        uint256 mp = _memPtr(f);
        bytes32 dataHash;
        assembly ("memory-safe") {
            dataHash := keccak256(add(mp, off), len)
        }
        m.logsAcc = keccak256(abi.encodePacked(m.logsAcc, f.target, uint8(n), topics, dataHash));
        return RUNNING;
    }

    /// @dev 0xf0-0xff: CREATE, CALL family, RETURN, REVERT, SELFDESTRUCT.
    function _system(M memory m, Frame memory f, uint256 op) private view returns (uint256) {
        if (op == 0xf3 || op == 0xfd) {
            uint256 off = _pop(f);
            uint256 len = _pop(f);
            if (!_expand(f, off, len)) return ERROR;
            f.out = _slice(f, off, len);
            return op == 0xf3 ? RETURN : REVERT;
        }
        if (op == 0xf0 || op == 0xf5) return _create(m, f, op == 0xf5);
        if (op == 0xff) return _selfdestruct(m, f);
        return _call(m, f, op);
    }

    function _call(M memory m, Frame memory f, uint256 op) private view returns (uint256) {
        Frame memory c = _newFrame();
        uint256 gasReq = _pop(f);
        address to = address(uint160(_pop(f)));
        c.value = (op == 0xf1 || op == 0xf2) ? _pop(f) : 0;
        uint256 inOff = _pop(f);
        uint256 inLen = _pop(f);
        c.retOffset = _pop(f);
        c.retSize = _pop(f);
        if (op == 0xf1 && f.isStatic && c.value != 0) return ERROR;
        if (!_expand(f, inOff, inLen) || !_expand(f, c.retOffset, c.retSize)) return ERROR;
        // As revm: the value-transfer cost, then the access; a cold account that cannot be paid
        // for is never loaded (so the witness holds only what revm read).
        if (c.value != 0 && !_charge(f, 9000)) return ERROR;
        if (!_charge(f, _warm(m, to) ? 2600 : 100)) return ERROR;
        if (op == 0xf1 && c.value != 0) {
            uint256 t = _acc(m, to);
            if (_isEmpty(m.accs[t]) && !_charge(f, 25000)) return ERROR;
        }
        c.gas = f.gas - f.gas / 64;
        if (gasReq < c.gas) c.gas = gasReq;
        f.gas -= c.gas;
        if (c.value != 0) c.gas += 2300;
        c.input = _slice(f, inOff, inLen);
        return _enterCall(m, f, c, to, op);
    }

    /// @dev Second half of the CALL family: depth, checkpoint, value transfer, then a precompile, an
    ///      empty account (immediate success) or a child frame.
    function _enterCall(M memory m, Frame memory f, Frame memory c, address to, uint256 op)
        private
        view
        returns (uint256)
    {
        f.retData = new bytes(0);
        if (m.depth >= 1024) return _callFailed(f, c.gas);
        c.isStatic = f.isStatic || op == 0xfa;
        c.jLen = m.nJ;
        c.logsAcc = m.logsAcc;
        if (op == 0xf4) {
            (c.caller, c.target, c.value) = (f.caller, f.target, f.value);
        } else {
            (c.caller, c.target) = (f.target, op == 0xf2 ? f.target : to);
            if (!_transfer(m, f.target, c.target, c.value)) {
                _revertTo(m, c.jLen, c.logsAcc);
                return _callFailed(f, c.gas);
            }
        }
        if (_isPrecompile(to)) {
            (bool ok, uint256 used, bytes memory out) = _precompile(to, c.input, c.gas);
            if (!ok) {
                _revertTo(m, c.jLen, c.logsAcc);
                _push(f, 0);
                return RUNNING;
            }
            f.gas += c.gas - used;
            f.retData = out;
            _copyOut(f, c.retOffset, c.retSize, out);
            _push(f, 1);
            return RUNNING;
        }
        c.code = _code(m, _acc(m, to));
        if (c.code.length == 0) {
            f.gas += c.gas;
            _push(f, 1);
            return RUNNING;
        }
        m.pending = _ptr(c);
        return CHILD;
    }

    /// @dev A call that never started (depth or balance): the forwarded gas comes back, 0 is pushed.
    function _callFailed(Frame memory f, uint256 limit) private pure returns (uint256) {
        f.gas += limit;
        _push(f, 0);
        return RUNNING;
    }

    function _create(M memory m, Frame memory f, bool isCreate2) private view returns (uint256) {
        if (f.isStatic) return ERROR;
        uint256 value = _pop(f);
        uint256 off = _pop(f);
        uint256 len = _pop(f);
        uint256 salt = isCreate2 ? _pop(f) : 0;
        if (len > MAX_INITCODE_SIZE) return ERROR;
        if (!_charge(f, (isCreate2 ? 8 : 2) * _words(len)) || !_expand(f, off, len)) return ERROR;
        Frame memory c = _newFrame();
        (c.caller, c.value, c.code) = (f.target, value, _slice(f, off, len));
        c.gas = f.gas - f.gas / 64;
        f.gas -= c.gas;
        f.retData = new bytes(0);
        uint256 s = _acc(m, f.target);
        if (m.depth >= 1024 || m.accs[s].balance < value || m.accs[s].nonce == type(uint64).max) {
            return _callFailed(f, c.gas);
        }
        uint64 nonce = m.accs[s].nonce;
        _setNonce(m, s, nonce + 1);
        c.target = isCreate2
            ? address(uint160(uint256(keccak256(abi.encodePacked(bytes1(0xff), f.target, salt, keccak256(c.code))))))
            : PRECOMPILES.createAddress(f.target, nonce);
        _warm(m, c.target);
        (bool ok, bool collided) = _enterCreate(m, c);
        if (!ok) {
            if (!collided) f.gas += c.gas;
            _push(f, 0);
            return RUNNING;
        }
        m.pending = _ptr(c);
        return CHILD;
    }

    /// @dev Opens a create frame: checkpoint, collision check, account creation, value transfer.
    ///      `c` carries caller, created address (target), value and initcode (code).
    function _enterCreate(M memory m, Frame memory c) private pure returns (bool ok, bool collided) {
        (address caller, address created, uint256 value) = (c.caller, c.target, c.value);
        c.isCreate = true;
        c.jLen = m.nJ;
        c.logsAcc = m.logsAcc;
        uint256 i = _acc(m, created);
        if (m.accs[i].codeHash != EMPTY_CODE_HASH || m.accs[i].nonce != 0) return (false, true);
        _journal(m, J_CREATED | (i << 8), 0);
        m.accs[i].created = true;
        _setNonce(m, i, 1);
        if (!_transfer(m, caller, created, value)) {
            _revertTo(m, c.jLen, c.logsAcc);
            return (false, false);
        }
        return (true, false);
    }

    function _selfdestruct(M memory m, Frame memory f) private pure returns (uint256) {
        if (f.isStatic) return ERROR;
        address to = address(uint160(_pop(f)));
        uint256 self = _acc(m, f.target);
        uint256 balance = m.accs[self].balance;
        uint256 cost = _warm(m, to) ? 2600 : 0;
        // revm does not load a cold target it cannot pay for.
        if (f.gas < cost) return ERROR;
        uint256 t = _acc(m, to);
        if (balance != 0 && _isEmpty(m.accs[t])) cost += 25000;
        if (!_charge(f, cost)) return ERROR;
        if (to != f.target) {
            _touch(m, t);
            _setBal(m, t, m.accs[t].balance + balance);
        }
        if (m.accs[self].created) {
            _setBal(m, self, 0);
            // Journaled only the first time: reverting a later SELFDESTRUCT of an account already
            // destructed must leave it destructed (revm's `was_destroyed`).
            if (!m.accs[self].destructed) {
                _journal(m, J_DESTRUCT | (self << 8), 0);
                m.accs[self].destructed = true;
            }
        } else if (to != f.target) {
            _setBal(m, self, 0);
        }
        return STOP;
    }

    // ---------------------------------------------------------------- precompiles

    function _isPrecompile(address a) private pure returns (bool) {
        return uint160(a) >= 1 && uint160(a) <= 10;
    }

    function _precompile(address a, bytes memory input, uint256 gas)
        private
        view
        returns (bool ok, uint256 cost, bytes memory out)
    {
        return PRECOMPILES.run(a, input, gas);
    }

    // ---------------------------------------------------------------- state cache

    function _acc(M memory m, address a) private pure returns (uint256) {
        uint256 n = m.nAccs;
        for (uint256 i = 0; i < n; i++) {
            if (m.accs[i].addr == a) return i;
        }
        if (n == m.accs.length) {
            // A struct array is an array of pointers: grown as words (the entries past `n` are
            // set before use). The grown array replaces the old one, so a caller must not index
            // `m.accs` in the same expression as its `_acc` call (the old array would be indexed).
            Acc[] memory arr = m.accs;
            uint256[] memory w;
            assembly ("memory-safe") {
                w := arr
            }
            w = _grow(w);
            assembly ("memory-safe") {
                arr := w
            }
            m.accs = arr;
        }
        m.accs[n] = _preAccount(m, a);
        m.nAccs = n + 1;
        return n;
    }

    function _preAccount(M memory m, address a) private pure returns (Acc memory acc) {
        for (uint256 i = 0; i < m.pre.length; i++) {
            PreAccount memory p = m.pre[i];
            if (p.addr != a) continue;
            acc.addr = a;
            acc.exists0 = p.exists;
            acc.codeHash = EMPTY_CODE_HASH;
            if (p.exists) {
                acc.nonce = p.nonce;
                acc.balance = p.balance;
                if (p.codeHash != bytes32(0)) acc.codeHash = p.codeHash;
            }
            return acc;
        }
        revert MissingAccount(a);
    }

    function _preSlot(M memory m, address a, uint256 key) private pure returns (uint256) {
        for (uint256 i = 0; i < m.preSlots.length; i++) {
            if (m.preSlots[i].addr == a && m.preSlots[i].slot == key) return m.preSlots[i].value;
        }
        revert MissingSlot(a, key);
    }

    function _slot(M memory m, address a, uint256 key) private pure returns (uint256) {
        uint256 n = m.nSlots;
        for (uint256 i = 0; i < n; i++) {
            Slot memory s = m.slots[i];
            if (s.key == key && s.addr == a) return i;
        }
        if (n == m.slots.length) {
            // Grown as words, as in `_acc`.
            Slot[] memory arr = m.slots;
            uint256[] memory w;
            assembly ("memory-safe") {
                w := arr
            }
            w = _grow(w);
            assembly ("memory-safe") {
                arr := w
            }
            m.slots = arr;
        }
        // `a` is the running frame's account, cached already, so `_acc` cannot grow `accs` here.
        uint256 v = m.accs[_acc(m, a)].created ? 0 : _preSlot(m, a, key);
        m.slots[n] = Slot({addr: a, key: key, original: v, current: v});
        m.nSlots = n + 1;
        return n;
    }

    function _tslot(M memory m, address a, uint256 key) private pure returns (uint256) {
        uint256 n = m.nTs;
        for (uint256 i = 0; i < n; i++) {
            if (m.ts[i].key == key && m.ts[i].addr == a) return i;
        }
        if (n == m.ts.length) {
            // Grown as words, as in `_acc`.
            TSlot[] memory arr = m.ts;
            uint256[] memory w;
            assembly ("memory-safe") {
                w := arr
            }
            w = _grow(w);
            assembly ("memory-safe") {
                arr := w
            }
            m.ts = arr;
        }
        m.ts[n] = TSlot({addr: a, key: key, value: 0});
        m.nTs = n + 1;
        return n;
    }

    /// @dev Marks `a` warm (EIP-2929); returns whether it was cold. Precompiles are always warm.
    function _warm(M memory m, address a) private pure returns (bool) {
        if (_isPrecompile(a)) return false;
        uint256 key = uint160(a);
        uint256 n = m.nWarmA;
        for (uint256 i = 0; i < n; i++) {
            if (m.warmA[i] == key) return false;
        }
        if (n == m.warmA.length) m.warmA = _grow(m.warmA);
        m.warmA[n] = key;
        m.nWarmA = n + 1;
        _journal(m, J_WARMA, 0);
        return true;
    }

    function _warmSlot(M memory m, address a, uint256 slot) private pure returns (bool) {
        uint256 key = uint256(keccak256(abi.encodePacked(a, slot)));
        uint256 n = m.nWarmS;
        for (uint256 i = 0; i < n; i++) {
            if (m.warmS[i] == key) return false;
        }
        if (n == m.warmS.length) m.warmS = _grow(m.warmS);
        m.warmS[n] = key;
        m.nWarmS = n + 1;
        _journal(m, J_WARMS, 0);
        return true;
    }

    function _grow(uint256[] memory a) private pure returns (uint256[] memory grown) {
        grown = new uint256[](2 * a.length);
        for (uint256 i = 0; i < a.length; i++) {
            grown[i] = a[i];
        }
    }

    function _journal(M memory m, uint256 k, uint256 v) private pure {
        uint256 n = m.nJ;
        if (n == m.jk.length) {
            m.jk = _grow(m.jk);
            m.jv = _grow(m.jv);
        }
        m.jk[n] = k;
        m.jv[n] = v;
        m.nJ = n + 1;
    }

    function _touch(M memory m, uint256 i) private pure {
        if (m.accs[i].touched) return;
        _journal(m, J_TOUCH | (i << 8), 0);
        m.accs[i].touched = true;
    }

    function _setBal(M memory m, uint256 i, uint256 v) private pure {
        _touch(m, i);
        _journal(m, J_BAL | (i << 8), m.accs[i].balance);
        m.accs[i].balance = v;
    }

    function _setNonce(M memory m, uint256 i, uint64 v) private pure {
        _touch(m, i);
        _journal(m, J_NONCE | (i << 8), m.accs[i].nonce);
        m.accs[i].nonce = v;
    }

    /// @dev revm's journal transfer: a zero value only touches the recipient; otherwise both are
    ///      touched and the sender must afford it (false if not, nothing changed).
    function _transfer(M memory m, address from, address to, uint256 value) private pure returns (bool) {
        uint256 t = _acc(m, to);
        if (value == 0) {
            _touch(m, t);
            return true;
        }
        uint256 f = _acc(m, from);
        if (m.accs[f].balance < value) return false;
        _setBal(m, f, m.accs[f].balance - value);
        _setBal(m, t, m.accs[t].balance + value);
        return true;
    }

    /// @dev Unwinds the journal to `len` and restores the logs accumulator.
    function _revertTo(M memory m, uint256 len, bytes32 logsAcc) private pure {
        while (m.nJ > len) {
            uint256 n = m.nJ - 1;
            m.nJ = n;
            uint256 k = m.jk[n];
            uint256 v = m.jv[n];
            uint256 kind = k & 0xff;
            uint256 i = k >> 8;
            if (kind == J_WARMA) m.nWarmA--;
            else if (kind == J_WARMS) m.nWarmS--;
            else if (kind == J_SLOT) m.slots[i].current = v;
            else if (kind == J_BAL) m.accs[i].balance = v;
            else if (kind == J_NONCE) m.accs[i].nonce = uint64(v);
            else if (kind == J_TOUCH) m.accs[i].touched = m.accs[i].addr == address(3); // revm keeps RIPEMD touched
            else if (kind == J_CREATED) m.accs[i].created = false;
            else if (kind == J_TSTORE) m.ts[i].value = v;
            else if (kind == J_DESTRUCT) m.accs[i].destructed = false;
            else if (kind == J_CODE) (m.accs[i].code, m.accs[i].codeHash) = (new bytes(0), EMPTY_CODE_HASH);
        }
        m.logsAcc = logsAcc;
    }

    function _code(M memory m, uint256 i) private pure returns (bytes memory) {
        Acc memory a = m.accs[i];
        if (!a.codeLoaded) {
            a.codeLoaded = true;
            if (a.codeHash != EMPTY_CODE_HASH) {
                uint256 j = 0;
                while (j < m.codeHashes.length && m.codeHashes[j] != a.codeHash) j++;
                if (j == m.codeHashes.length) revert MissingCode(a.codeHash);
                a.code = m.codes[j];
            }
        }
        return a.code;
    }

    function _isEmpty(Acc memory a) private pure returns (bool) {
        return a.nonce == 0 && a.balance == 0 && a.codeHash == EMPTY_CODE_HASH;
    }

    /// @dev The transaction's writes under revm's commit rules: untouched accounts are reads only; a
    ///      self-destructed or (EIP-161) empty touched account is deleted; slots of surviving accounts
    ///      whose value changed are written.
    function _writes(M memory m) private pure returns (PostAccount[] memory accs, PostSlot[] memory slots) {
        accs = new PostAccount[](m.nAccs);
        uint256 n = 0;
        for (uint256 i = 0; i < m.nAccs; i++) {
            Acc memory a = m.accs[i];
            bool deleted = _deleted(a);
            if (!a.touched || (deleted && !a.exists0)) continue;
            accs[n++] = PostAccount(a.addr, deleted, a.created, a.nonce, a.balance, a.codeHash);
        }
        assembly ("memory-safe") {
            mstore(accs, n)
        }
        slots = new PostSlot[](m.nSlots);
        n = 0;
        for (uint256 i = 0; i < m.nSlots; i++) {
            Slot memory s = m.slots[i];
            // Every slot's owner is cached already (`_slot` loads it), so `_acc` cannot grow `accs`.
            if (s.current == s.original || _deleted(m.accs[_acc(m, s.addr)])) continue;
            slots[n++] = PostSlot(s.addr, s.key, s.current);
        }
        assembly ("memory-safe") {
            mstore(slots, n)
        }
    }

    /// @dev Whether a touched account leaves the trie: self-destructed, or empty (EIP-161).
    function _deleted(Acc memory a) private pure returns (bool) {
        return a.touched && (a.destructed || _isEmpty(a));
    }

    // ---------------------------------------------------------------- frames, stack, memory

    function _newFrame() private pure returns (Frame memory f) {
        f.stack = new uint256[](1024);
    }

    function _ptr(Frame memory f) private pure returns (uint256 p) {
        assembly ("memory-safe") {
            p := f
        }
    }

    function _frame(uint256 p) private pure returns (Frame memory f) {
        assembly ("memory-safe") {
            f := p
        }
    }

    function _push(Frame memory f, uint256 v) private pure {
        uint256[] memory s = f.stack;
        uint256 sp = f.sp;
        assembly ("memory-safe") {
            mstore(add(s, add(32, mul(sp, 32))), v)
        }
        f.sp = sp + 1;
    }

    function _pop(Frame memory f) private pure returns (uint256 v) {
        uint256[] memory s = f.stack;
        uint256 sp = f.sp - 1;
        assembly ("memory-safe") {
            v := mload(add(s, add(32, mul(sp, 32))))
        }
        f.sp = sp;
    }

    function _charge(Frame memory f, uint256 cost) private pure returns (bool) {
        if (f.gas < cost) return false;
        f.gas -= cost;
        return true;
    }

    function _words(uint256 len) private pure returns (uint256) {
        return len > 2 ** 64 ? 2 ** 64 : (len + 31) / 32;
    }

    function _memPtr(Frame memory f) private pure returns (uint256 p) {
        bytes memory mm = f.mem;
        assembly ("memory-safe") {
            p := add(mm, 32)
        }
    }

    /// @dev Charges EIP-150 memory expansion for [off, off + len) and grows the frame's memory.
    function _expand(Frame memory f, uint256 off, uint256 len) private pure returns (bool) {
        if (len == 0) return true;
        if (off > 0xffffffff || len > 0xffffffff) return false;
        uint256 words = (off + len + 31) / 32;
        uint256 cur = f.memSize / 32;
        if (words <= cur) return true;
        uint256 cost = 3 * (words - cur) + (words * words) / 512 - (cur * cur) / 512;
        if (f.gas < cost) return false;
        f.gas -= cost;
        uint256 size = words * 32;
        if (size > f.mem.length) {
            uint256 cap = 2 * f.mem.length;
            bytes memory grown = new bytes(cap > size ? cap : size);
            bytes memory old = f.mem;
            uint256 used = f.memSize;
            assembly ("memory-safe") {
                mcopy(add(grown, 32), add(old, 32), used)
            }
            f.mem = grown;
        }
        f.memSize = size;
        return true;
    }

    /// @dev A copy of memory [off, off + len) (already expanded).
    function _slice(Frame memory f, uint256 off, uint256 len) private pure returns (bytes memory out) {
        out = new bytes(len);
        if (len == 0) return out;
        uint256 p = _memPtr(f) + off;
        assembly ("memory-safe") {
            mcopy(add(out, 32), p, len)
        }
    }

    /// @dev 32 bytes of `data` at `off`, zero-padded past the end.
    function _wordAt(bytes memory data, uint256 off) private pure returns (bytes32 v) {
        uint256 len = data.length;
        if (off >= len) return 0;
        assembly ("memory-safe") {
            v := mload(add(add(data, 32), off))
        }
        uint256 avail = len - off;
        if (avail < 32) v = bytes32((uint256(v) >> (8 * (32 - avail))) << (8 * (32 - avail)));
    }

    function _isJumpdest(Frame memory f, uint256 dest) private pure returns (bool) {
        bytes memory code = f.code;
        if (dest >= code.length) return false;
        if (f.jumpdests.length == 0) f.jumpdests = _analyze(code);
        return f.jumpdests[dest] == 0x01;
    }

    /// @dev Jump destination analysis: 1 at each JUMPDEST that is not PUSH data.
    function _analyze(bytes memory code) private pure returns (bytes memory jd) {
        jd = new bytes(code.length);
        assembly ("memory-safe") {
            let c := add(code, 32)
            let end := add(c, mload(code))
            let out := sub(add(jd, 32), c)
            for { let p := c } lt(p, end) {} {
                let op := byte(0, mload(p))
                if eq(op, 0x5b) { mstore8(add(out, p), 1) }
                p := add(p, 1)
                if and(gt(op, 0x5f), lt(op, 0x80)) { p := add(p, sub(op, 0x5f)) }
            }
        }
    }
}
