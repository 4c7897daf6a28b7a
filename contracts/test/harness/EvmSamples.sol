// SPDX-License-Identifier: MIT OR Apache-2.0
pragma solidity 0.8.30;

/// @notice Test-only: contracts whose functions exercise most of the EVM, run by the Rust
///         differential test of `EvmInterpreter` (contracts/tests/evm_interpreter.rs) through both the
///         executor (revm) and the Solidity interpreter.
contract EvmSamples {
    /// @notice Emitted by `emitLogs` and `token transfer`-like paths.
    event Note(address indexed who, uint256 indexed n, bytes data);

    /// @notice Storage the samples write.
    mapping(uint256 => uint256) public slots;
    /// @notice ERC-20 style balances.
    mapping(address => uint256) public balanceOf;

    error Failed(uint256 code);

    /// @notice Funds the deployer with tokens and leaves a few non-zero slots for refund tests.
    constructor() payable {
        balanceOf[msg.sender] = 1e24;
        slots[1] = 1;
        slots[2] = 2;
    }

    /// @notice Accepts plain value transfers.
    receive() external payable {}

    /// @notice ERC-20 style transfer: two SSTOREs and a LOG3.
    function transfer(address to, uint256 amount) external returns (bool) {
        uint256 b = balanceOf[msg.sender];
        if (b < amount) revert Failed(1);
        balanceOf[msg.sender] = b - amount;
        balanceOf[to] += amount;
        emit Note(to, amount, "");
        return true;
    }

    /// @notice Arithmetic-heavy loop (most 0x00-0x1d opcodes); stores the result.
    function loop(uint256 n) external returns (uint256 x) {
        x = 7;
        assembly {
            for { let i := 0 } lt(i, n) { i := add(i, 1) } {
                x := add(mul(x, 0x9e3779b97f4a7c15), i)
                x := xor(x, shr(7, x))
                x := or(x, shl(3, and(x, 0xff)))
                x := addmod(x, i, 0xfffffffffffffffb)
                x := add(x, mulmod(x, x, 1000000007))
                x := add(x, exp(3, and(i, 0x3f)))
                x := add(x, signextend(1, x))
                x := add(x, byte(3, x))
                x := add(x, sar(1, x))
                x := add(x, sdiv(x, add(i, 3)))
                x := add(x, smod(x, add(i, 5)))
                x := add(x, div(x, add(i, 1)))
                x := add(x, mod(x, 1000))
                x := add(x, sub(lt(x, i), gt(x, i)))
                x := add(x, add(slt(x, i), sgt(x, i)))
                x := add(x, add(eq(x, i), iszero(x)))
                x := add(x, not(x))
            }
        }
        slots[100] = x;
    }

    /// @notice Writes `v` to slot `k` (0 to clear: refunds).
    function store(uint256 k, uint256 v) external {
        slots[k] = v;
    }

    /// @notice Sets then restores slots inside one transaction (EIP-2200 refund paths).
    function churn(uint256 k) external {
        uint256 old = slots[k];
        slots[k] = old + 1;
        slots[k] = 0;
        slots[k] = old;
        slots[k + 1] = 5;
        slots[k + 1] = 0;
    }

    /// @notice LOG0-LOG4.
    function emitLogs(uint256 n) external {
        bytes memory data = abi.encode(n, msg.sender);
        assembly {
            let p := add(data, 32)
            let l := mload(data)
            log0(p, l)
            log1(p, l, 1)
            log2(p, 3, 1, 2)
            log3(p, 0, 1, 2, n)
            log4(p, l, 1, 2, 3, caller())
        }
        emit Note(msg.sender, n, data);
    }

    /// @notice Reverts with data after writing (the write must roll back).
    function fail(uint256 code) external {
        slots[50] = code;
        revert Failed(code);
    }

    /// @notice Burns gas forever (out of gas).
    function burn() external {
        uint256 i;
        while (true) {
            slots[i++] = i;
        }
    }

    /// @notice INVALID opcode.
    function invalid() external pure {
        assembly {
            invalid()
        }
    }

    /// @notice CREATE and CREATE2 of a child, calls into it (CALL, STATICCALL, DELEGATECALL).
    function deploy(bytes32 salt) external payable returns (address a, address b) {
        Child c1 = new Child{value: msg.value / 2}(1);
        Child c2 = new Child{salt: salt}(2);
        c1.set(10);
        c2.set(20);
        (bool ok, bytes memory out) = address(c2).staticcall(abi.encodeCall(Child.get, ()));
        require(ok && abi.decode(out, (uint256)) == 20);
        (ok,) = address(c1).delegatecall(abi.encodeCall(Child.set, (77)));
        require(ok);
        // A call that reverts inside: its writes must roll back, ours stay.
        try c1.boom() {} catch {}
        slots[200] = uint256(uint160(address(c1))) ^ uint256(uint160(address(c2)));
        return (address(c1), address(c2));
    }

    /// @notice A child whose constructor self-destructs (EIP-6780: deleted), and a pre-existing
    ///         contract that self-destructs (only its balance moves).
    function destruct(address existing, address payable beneficiary) external payable {
        new Doomed{value: msg.value}(beneficiary);
        Child(payable(existing)).kill(beneficiary);
    }

    /// @notice Precompiles 1-5 (plus 6/7/8 when asked), storing a digest of their outputs.
    function precompiles(bytes calldata data) external returns (bytes32 acc) {
        acc = sha256(data);
        acc ^= bytes32(bytes20(ripemd160(data)));
        acc ^= bytes32(uint256(uint160(ecrecover(keccak256(data), 27, keccak256("r"), keccak256("s")))));
        (bool ok, bytes memory out) = address(4).staticcall(data);
        require(ok);
        acc ^= keccak256(out);
        (ok, out) =
            address(5).staticcall(abi.encodePacked(uint256(1), uint256(1), uint256(1), uint8(3), uint8(5), uint8(7)));
        require(ok);
        acc ^= keccak256(out);
        (ok, out) = address(6).staticcall(abi.encode(uint256(1), uint256(2), uint256(1), uint256(2)));
        acc ^= keccak256(abi.encode(ok, out));
        (ok, out) = address(7).staticcall(abi.encode(uint256(1), uint256(2), uint256(3)));
        acc ^= keccak256(abi.encode(ok, out));
        (ok, out) = address(8).staticcall("");
        acc ^= keccak256(abi.encode(ok, out));
        bytes memory blake = new bytes(213);
        blake[3] = 0x02;
        blake[212] = 0x01;
        (ok, out) = address(9).staticcall(blake);
        acc ^= keccak256(abi.encode(ok, out));
        (ok, out) = address(10).staticcall{gas: 60_000}(new bytes(192));
        acc ^= keccak256(abi.encode(ok, out));
        slots[300] = uint256(acc);
    }

    /// @notice TSTORE / TLOAD, MCOPY, KECCAK and environment opcodes folded into a slot.
    function env(address other) external payable returns (bytes32 h) {
        assembly {
            tstore(7, callvalue())
            let p := mload(0x40)
            mstore(p, tload(7))
            mstore(add(p, 32), add(timestamp(), number()))
            mcopy(add(p, 64), p, 64)
            mstore(add(p, 128), xor(coinbase(), origin()))
            mstore(add(p, 160), add(gaslimit(), chainid()))
            mstore(add(p, 192), add(basefee(), blobbasefee()))
            mstore(add(p, 224), add(blobhash(0), prevrandao()))
            mstore(add(p, 256), add(balance(other), selfbalance()))
            mstore(add(p, 288), add(extcodesize(other), codesize()))
            mstore(add(p, 320), xor(extcodehash(other), extcodehash(caller())))
            mstore(add(p, 352), add(gasprice(), calldatasize()))
            extcodecopy(other, add(p, 384), 0, 40)
            codecopy(add(p, 448), 3, 50)
            calldatacopy(add(p, 512), 0, 100)
            mstore(add(p, 640), returndatasize())
            h := keccak256(p, 672)
            sstore(400, h)
            sstore(401, gt(gas(), 1000))
        }
    }

    /// @notice Recursion through external self-calls; every odd level reverts its own writes.
    function nest(uint256 depth) external returns (uint256) {
        slots[1000 + depth] = depth;
        if (depth == 0) return 1;
        try this.nest(depth - 1) returns (uint256 r) {
            if (depth % 2 == 1) revert Failed(depth);
            return r + 1;
        } catch {
            return 0;
        }
    }

    /// @notice Edge cases folded into slot 500: CALLCODE, a static-context write, a call without
    ///         funds, transient storage rolled back by a revert, oversized initcode and code.
    function edges(address child) external payable returns (uint256 acc) {
        assembly {
            let p := mload(0x40)
            mstore(p, shl(224, 0x60fe47b1))
            mstore(add(p, 4), 55)
            acc := callcode(gas(), child, 0, p, 36, 0, 0)
        }
        (bool ok,) = address(this).staticcall(abi.encodeCall(this.store, (1, 2)));
        acc = acc * 2 + (ok ? 1 : 0);
        (ok,) = payable(child).call{value: address(this).balance + 1}("");
        acc = acc * 2 + (ok ? 1 : 0);
        try this.tstoreThenRevert() {} catch {}
        uint256 t;
        assembly {
            t := tload(99)
        }
        acc = acc * 2 + t;
        try this.bigInitcode() {}
        catch {
            acc = acc * 2 + 1;
        }
        try this.bigCode() returns (address a) {
            acc = acc * 2 + (a == address(0) ? 1 : 0);
        } catch {}
        slots[500] = acc;
    }

    /// @notice TSTORE then revert (the write must roll back).
    function tstoreThenRevert() external {
        assembly {
            tstore(99, 1)
        }
        revert Failed(0);
    }

    /// @notice CREATE with initcode over the EIP-3860 limit: an exceptional halt.
    function bigInitcode() external {
        assembly {
            pop(create(0, 0, 50000))
        }
    }

    /// @notice CREATE of code over the EIP-170 limit (24,577 bytes): the creation fails.
    function bigCode() external returns (address a) {
        bytes memory init = hex"6160016000f3";
        assembly {
            a := create(0, add(init, 32), mload(init))
        }
    }

    /// @notice Sends value to `to` with CALL (value transfer, stipend, new-account gas).
    function pay(address payable to) external payable {
        (bool ok,) = to.call{value: msg.value}("");
        require(ok);
    }
}

/// @notice A small contract the samples create and call.
contract Child {
    /// @notice Its one slot.
    uint256 public v;

    /// @notice Stores the seed (code deposit after a constructor write).
    constructor(uint256 seed) payable {
        v = seed;
    }

    /// @notice Sets the slot.
    function set(uint256 x) external {
        v = x;
    }

    /// @notice Reads the slot.
    function get() external view returns (uint256) {
        return v;
    }

    /// @notice Writes then reverts.
    function boom() external {
        v = 999;
        revert("boom");
    }

    /// @notice SELFDESTRUCT of an existing contract (EIP-6780: balance moves, account stays).
    function kill(address payable to) external {
        selfdestruct(to);
    }
}

/// @notice Self-destructs in its constructor (created in the same transaction: deleted).
contract Doomed {
    /// @notice Destroys itself, sending its value to `to`.
    constructor(address payable to) payable {
        selfdestruct(to);
    }
}
