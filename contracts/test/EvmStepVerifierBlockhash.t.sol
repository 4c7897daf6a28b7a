// SPDX-License-Identifier: MIT OR Apache-2.0
pragma solidity 0.8.30;

import {Test} from "./utils/Test.sol";
import {BlockContext} from "../src/interfaces/IStepVerifier.sol";
import {RLPWriter} from "../src/lib/RLPWriter.sol";
import {EvmInterpreter} from "../src/verifier/EvmInterpreter.sol";
import {EvmPrecompiles} from "../src/verifier/EvmPrecompiles.sol";
import {EvmStepVerifier} from "../src/verifier/EvmStepVerifier.sol";
import {ExecResult} from "../src/verifier/EvmTypes.sol";

/// @notice BLOCKHASH in the one-step proof, through the whole `EvmStepVerifier` (witness decoding,
///         the ancestor header chain, the interpreter): a deposit on an empty pre-state deploys a
///         contract whose initcode returns `BLOCKHASH(n)` as the runtime code, so the created
///         account's code hash tells what BLOCKHASH returned. The ancestors are a synthetic chain
///         of RLP headers linked by their first field (parentHash), which is all the verifier reads;
///         short and long RLP lists alternate so both list prefixes are parsed.
contract EvmStepVerifierBlockhashTest is Test {
    EvmStepVerifier internal verifier;

    address internal constant FROM = address(0xA11CE);
    address internal constant COINBASE = address(0x4200000000000000000000000000000000000011);
    address internal constant BASE_FEE_VAULT = address(0x4200000000000000000000000000000000000019);
    address internal constant L1_FEE_VAULT = address(0x420000000000000000000000000000000000001A);
    /// @dev keccak256(rlp("")): the empty trie.
    bytes32 internal constant EMPTY_ROOT = 0x56e81f171bcc55a6ff8345e692c0f86e5b48e01b996cadc001622fb5e363b421;
    uint256 internal constant NUMBER = 1000;
    /// @dev Headers built below the disputed block (more than the window, to reach outside it).
    uint256 internal constant DEPTH = 300;

    /// @dev headers[j] is the header of block NUMBER - 1 - j; hashes[j] its hash.
    bytes[] internal headers;
    bytes32[] internal hashes;

    function setUp() public {
        EvmInterpreter interpreter = new EvmInterpreter(new EvmPrecompiles());
        verifier = new EvmStepVerifier(interpreter, 901, BASE_FEE_VAULT, L1_FEE_VAULT);
        bytes[] memory chain = new bytes[](DEPTH);
        bytes32 parent = keccak256("below the chain");
        // Oldest first, so each header can name its parent's hash.
        for (uint256 k = DEPTH; k > 0; k--) {
            uint256 number = NUMBER - k;
            chain[k - 1] = _header(parent, number);
            parent = keccak256(chain[k - 1]);
        }
        for (uint256 j = 0; j < DEPTH; j++) {
            headers.push(chain[j]);
            hashes.push(keccak256(chain[j]));
        }
    }

    /// @dev A header-shaped RLP list: parentHash first; every other block carries a 40-byte extra
    ///      field so its list is longer than 55 bytes (the 0xf8 prefix).
    function _header(bytes32 parent, uint256 number) internal pure returns (bytes memory) {
        bytes[] memory fields = new bytes[](number % 2 == 0 ? 3 : 2);
        fields[0] = RLPWriter.encodeBytes32(parent);
        fields[1] = RLPWriter.encodeUint(number);
        if (fields.length == 3) fields[2] = RLPWriter.encodeBytes(new bytes(40));
        return RLPWriter.encodeList(fields);
    }

    function _ctx() internal view returns (BlockContext memory) {
        return BlockContext({
            chainId: 901,
            number: NUMBER,
            timestamp: 1000,
            coinbase: COINBASE,
            gasLimit: 30_000_000,
            baseFee: 7,
            prevRandao: bytes32(uint256(42)),
            parentHash: hashes[0]
        });
    }

    /// @dev A deposit from FROM creating a contract with initcode
    ///      `PUSH32 n BLOCKHASH PUSH0 MSTORE PUSH1 32 PUSH0 RETURN`.
    function _deposit(uint256 n) internal pure returns (bytes memory) {
        bytes memory initcode = abi.encodePacked(hex"7f", n, hex"405f5260205ff3");
        bytes[] memory f = new bytes[](8);
        f[0] = RLPWriter.encodeBytes32(keccak256("source"));
        f[1] = RLPWriter.encodeBytes(abi.encodePacked(FROM));
        f[2] = RLPWriter.encodeBytes("");
        f[3] = RLPWriter.encodeUint(0);
        f[4] = RLPWriter.encodeUint(0);
        f[5] = RLPWriter.encodeUint(1_000_000);
        f[6] = RLPWriter.encodeUint(0);
        f[7] = RLPWriter.encodeBytes(initcode);
        return abi.encodePacked(hex"7e", RLPWriter.encodeList(f));
    }

    /// @dev FROM's first CREATE address: keccak256(rlp([FROM, 0]))[12:].
    function _created() internal pure returns (address) {
        return address(uint160(uint256(keccak256(abi.encodePacked(hex"d694", FROM, hex"80")))));
    }

    /// @dev The witness over the empty pre-state with the `count` nearest ancestor headers.
    function _witness(bytes[] memory ancestors) internal pure returns (bytes memory) {
        address[] memory accounts = new address[](5);
        accounts[0] = FROM;
        accounts[1] = _created();
        accounts[2] = COINBASE;
        accounts[3] = BASE_FEE_VAULT;
        accounts[4] = L1_FEE_VAULT;
        return abi.encode(new bytes[](0), new bytes[](0), accounts, new address[](0), new uint256[](0), ancestors);
    }

    function _nearest(uint256 count) internal view returns (bytes[] memory out) {
        out = new bytes[](count);
        for (uint256 i = 0; i < count; i++) {
            out[i] = headers[i];
        }
    }

    /// @dev What BLOCKHASH(n) returned, with the `count` nearest ancestor headers as witness.
    function _blockhash(uint256 n, uint256 count) internal view returns (bytes32) {
        return _blockhashWith(n, _nearest(count));
    }

    function _blockhashWith(uint256 n, bytes[] memory ancestors) internal view returns (bytes32) {
        (,, ExecResult memory r) = verifier.execute(_ctx(), EMPTY_ROOT, _deposit(n), _witness(ancestors));
        assertEq(r.status, 1, "the deposit succeeds");
        for (uint256 i = 0; i < r.accounts.length; i++) {
            if (r.accounts[i].addr == _created()) {
                bytes32 codeHash = r.accounts[i].codeHash;
                // The runtime code is the 32-byte word BLOCKHASH returned; find which one it was.
                if (codeHash == keccak256(abi.encode(bytes32(0)))) return bytes32(0);
                for (uint256 j = 0; j < hashes.length; j++) {
                    if (codeHash == keccak256(abi.encode(hashes[j]))) return hashes[j];
                }
                revert("code hash of an unknown word");
            }
        }
        revert("no contract created");
    }

    function test_parentNeedsNoHeader() public view {
        assertEq(_blockhash(NUMBER - 1, 0), hashes[0]);
        // Extra headers change nothing.
        assertEq(_blockhash(NUMBER - 1, 3), hashes[0]);
    }

    function test_deeperAncestorThroughTheHeaderChain() public view {
        assertEq(_blockhash(NUMBER - 2, 1), hashes[1]);
        assertEq(_blockhash(NUMBER - 37, 36), hashes[36]);
        assertEq(_blockhash(NUMBER - 200, 199), hashes[199]);
    }

    function test_oldestBlockOfTheWindow() public view {
        assertEq(_blockhash(NUMBER - 256, 255), hashes[255]);
    }

    function test_outsideTheWindowIsZero() public view {
        assertEq(_blockhash(NUMBER - 257, 0), bytes32(0));
        assertEq(_blockhash(NUMBER - 257, 255), bytes32(0));
        assertEq(_blockhash(0, 0), bytes32(0));
    }

    function test_currentAndFutureBlocksAreZero() public view {
        assertEq(_blockhash(NUMBER, 0), bytes32(0));
        assertEq(_blockhash(NUMBER + 1, 0), bytes32(0));
        assertEq(_blockhash(type(uint256).max, 0), bytes32(0));
    }

    function test_missingAncestorReverts() public {
        vm.expectRevert(abi.encodeWithSelector(EvmInterpreter.MissingAncestor.selector, NUMBER - 2));
        this.blockhashOf(NUMBER - 2, 0);
        vm.expectRevert(abi.encodeWithSelector(EvmInterpreter.MissingAncestor.selector, NUMBER - 6));
        this.blockhashOf(NUMBER - 6, 4);
        vm.expectRevert(abi.encodeWithSelector(EvmInterpreter.MissingAncestor.selector, NUMBER - 256));
        this.blockhashOf(NUMBER - 256, 254);
    }

    function test_brokenChainReverts() public {
        // The first header is not the parent's.
        bytes[] memory ancestors = _nearest(3);
        ancestors[0] = headers[1];
        vm.expectRevert(abi.encodeWithSelector(EvmStepVerifier.AncestorMismatch.selector, NUMBER - 1));
        this.blockhashWith(NUMBER - 3, ancestors);
        // A header further down is replaced by a different one claiming the same parent.
        ancestors = _nearest(3);
        ancestors[2] = _header(hashes[3], NUMBER - 3 + 1000);
        vm.expectRevert(abi.encodeWithSelector(EvmStepVerifier.AncestorMismatch.selector, NUMBER - 3));
        this.blockhashWith(NUMBER - 3, ancestors);
        // A gap: the header of NUMBER - 2 left out.
        ancestors = new bytes[](2);
        ancestors[0] = headers[0];
        ancestors[1] = headers[2];
        vm.expectRevert(abi.encodeWithSelector(EvmStepVerifier.AncestorMismatch.selector, NUMBER - 2));
        this.blockhashWith(NUMBER - 3, ancestors);
    }

    function test_brokenChainRevertsEvenWithoutBlockhashDeepEnough() public {
        // The chain given is checked as a whole: a wrong header never passes silently.
        bytes[] memory ancestors = _nearest(2);
        ancestors[1] = hex"c0";
        vm.expectRevert(abi.encodeWithSelector(EvmStepVerifier.AncestorMismatch.selector, NUMBER - 2));
        this.blockhashWith(NUMBER - 1, ancestors);
    }

    function test_tooManyHeadersIsMalformed() public {
        vm.expectRevert(EvmStepVerifier.MalformedWitness.selector);
        this.blockhashOf(NUMBER - 1, 256);
    }

    function test_headerWithoutParentHashIsMalformed() public {
        // The parent hash is the hash of something that is not a header: hashing checks out,
        // parsing does not.
        bytes[] memory ancestors = new bytes[](1);
        ancestors[0] = RLPWriter.encodeList(new bytes[](0));
        BlockContext memory ctx = _ctx();
        ctx.parentHash = keccak256(ancestors[0]);
        vm.expectRevert(abi.encodeWithSelector(EvmStepVerifier.MalformedAncestor.selector, NUMBER - 1));
        verifier.execute(ctx, EMPTY_ROOT, _deposit(NUMBER - 2), _witness(ancestors));
        ancestors[0] = hex"a0";
        ctx.parentHash = keccak256(ancestors[0]);
        vm.expectRevert(abi.encodeWithSelector(EvmStepVerifier.MalformedAncestor.selector, NUMBER - 1));
        verifier.execute(ctx, EMPTY_ROOT, _deposit(NUMBER - 2), _witness(ancestors));
    }

    function test_headersBeyondGenesisAreMalformed() public {
        // Block 2 has two ancestors (1 and 0); the header of block 0 proves nothing more.
        BlockContext memory ctx = _ctx();
        ctx.number = 2;
        vm.expectRevert(EvmStepVerifier.MalformedWitness.selector);
        verifier.execute(ctx, EMPTY_ROOT, _deposit(0), _witness(_nearest(2)));
    }

    /// @dev External so `expectRevert` sees the call's revert.
    function blockhashOf(uint256 n, uint256 count) external view returns (bytes32) {
        return _blockhash(n, count);
    }

    /// @dev External so `expectRevert` sees the call's revert.
    function blockhashWith(uint256 n, bytes[] memory ancestors) external view returns (bytes32) {
        return _blockhashWith(n, ancestors);
    }
}
