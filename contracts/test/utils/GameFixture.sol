// SPDX-License-Identifier: MIT OR Apache-2.0
pragma solidity 0.8.30;

import {Test} from "./Test.sol";
import {DisputeGame, Stage} from "../../src/DisputeGame.sol";

/// @notice The real block of test/fixtures/dispute_block.json (anvil, 130 transactions, see
///         tools/gen-game-fixture.js) and helpers that play honest-looking games around it:
///         claims at every block / tx position, steering the bisection to a chosen block or tx.
abstract contract GameFixture is Test {
    address internal defender = address(0xDEF);
    address internal challenger = address(0xC4A1);
    uint256 internal constant CLOCK = 1 hours;
    uint256 internal constant CHAIN_ID = 901;
    /// @dev The message passer's storage root in the parent block (not checked by the game).
    bytes32 internal constant PRE_PASSER_ROOT = keccak256("pre passer root");
    /// @dev The defender's claimed receipts accumulator after the last transaction.
    bytes32 internal constant FINAL_RECEIPTS = keccak256("final receipts");

    /// @dev Everything `step` takes but the witness.
    struct StepArgs {
        bytes32 root;
        uint256 gas;
        bytes32 receipts;
        bytes txRlp;
        bytes proof;
    }

    string internal fx;
    uint256 internal fxNumber;
    bytes32 internal fxParentHash;
    bytes32 internal fxParentStateRoot;
    bytes32 internal fxBlockHash;
    bytes32 internal fxStateRoot;
    bytes32 internal fxPasserRoot;
    bytes32 internal fxTxRoot;
    bytes internal fxHeader;
    uint256 internal fxGasUsed;
    uint256 internal fxTxCount;
    bytes internal fxPasserProof;

    function _loadFixture() internal {
        fx = vm.readFile(string.concat(vm.projectRoot(), "/test/fixtures/dispute_block.json"));
        fxNumber = vm.parseJsonUint(fx, ".number");
        fxParentHash = vm.parseJsonBytes32(fx, ".parentHash");
        fxParentStateRoot = vm.parseJsonBytes32(fx, ".parentStateRoot");
        fxBlockHash = vm.parseJsonBytes32(fx, ".blockHash");
        fxStateRoot = vm.parseJsonBytes32(fx, ".stateRoot");
        fxPasserRoot = vm.parseJsonBytes32(fx, ".passerStorageRoot");
        fxTxRoot = vm.parseJsonBytes32(fx, ".transactionsRoot");
        fxHeader = vm.parseJsonBytes(fx, ".headerRlp");
        fxGasUsed = vm.parseJsonUint(fx, ".gasUsed");
        fxTxCount = vm.parseJsonUint(fx, ".txCount");
        fxPasserProof = abi.encode(vm.parseJsonBytesArray(fx, ".passerAccountProof"));
        require(keccak256(fxHeader) == fxBlockHash, "fixture header");
    }

    function _tx(uint256 i) internal view returns (bytes memory) {
        return vm.parseJsonBytes(fx, string.concat(".txs[", vm.toString(i), "]"));
    }

    /// @dev `abi.encode(bytes[])` of the inclusion proof of tx `i`.
    function _txProof(uint256 i) internal view returns (bytes memory) {
        return abi.encode(vm.parseJsonBytesArray(fx, string.concat(".txProofs[", vm.toString(i), "]")));
    }

    function _absentProof(uint256 i) internal view returns (bytes memory) {
        return abi.encode(vm.parseJsonBytesArray(fx, string.concat(".proofAbsent", vm.toString(i))));
    }

    function _output(bytes32 stateRoot, bytes32 passerRoot, bytes32 blockHash) internal pure returns (bytes32) {
        return keccak256(abi.encode(bytes32(0), stateRoot, passerRoot, blockHash));
    }

    function _preOutput() internal view returns (bytes32) {
        return _output(fxParentStateRoot, PRE_PASSER_ROOT, fxParentHash);
    }

    function _postOutput() internal view returns (bytes32) {
        return _output(fxStateRoot, fxPasserRoot, fxBlockHash);
    }

    /// @dev The output root the defender claims at block `b`: the real ones around the fixture
    ///      block, arbitrary (distinct) ones elsewhere.
    function _claim(uint256 b) internal view returns (bytes32) {
        if (b + 1 == fxNumber) return _preOutput();
        if (b == fxNumber) return _postOutput();
        return keccak256(abi.encode("output", b));
    }

    /// @dev The preimage of `D_i` the defender claims (T = `txCount`): D_0 from the parent state,
    ///      D_T from the header and FINAL_RECEIPTS, arbitrary in between.
    function _pre(uint256 i, uint256 txCount) internal view returns (bytes32 root, uint256 gas, bytes32 receipts) {
        if (i == 0) return (fxParentStateRoot, 0, bytes32(0));
        if (i == txCount) return (fxStateRoot, fxGasUsed, FINAL_RECEIPTS);
        return (keccak256(abi.encode("state", i)), i * 21_000, keccak256(abi.encode("receipts", i)));
    }

    function _d(uint256 i, uint256 txCount) internal view returns (bytes32) {
        (bytes32 root, uint256 gas, bytes32 receipts) = _pre(i, txCount);
        return keccak256(abi.encodePacked(root, gas, receipts));
    }

    /// @dev Plays level 1 until the interval is (target - 1, target).
    function _bisectBlocks(DisputeGame game, uint256 target) internal {
        while (game.stage() == Stage.BLOCKS) {
            uint256 m = game.mid();
            vm.prank(defender);
            game.defendBlock(_claim(m));
            vm.prank(challenger);
            game.chooseBlock(m < target);
        }
        assertEq(game.lo() + 1, target, "bisected to the target block");
    }

    /// @dev Opens the fixture block with `txCount` transactions; the challenger accepts the header.
    function _openBlock(DisputeGame game, uint256 txCount) internal {
        _openBlockOnly(game, txCount);
        vm.prank(challenger);
        game.acceptHeader();
    }

    /// @dev Opens the fixture block with `txCount` transactions (the game waits in HEADER).
    function _openBlockOnly(DisputeGame game, uint256 txCount) internal {
        vm.prank(defender);
        game.openBlock(
            fxParentStateRoot,
            PRE_PASSER_ROOT,
            fxParentHash,
            fxStateRoot,
            fxPasserRoot,
            fxHeader,
            txCount,
            FINAL_RECEIPTS,
            fxPasserProof
        );
    }

    /// @dev Plays level 2 until the interval is (target, target + 1).
    function _bisectTxs(DisputeGame game, uint256 target) internal {
        uint256 txCount = game.txCount();
        while (game.stage() == Stage.TXS) {
            uint256 m = game.mid();
            vm.prank(defender);
            game.defendTx(_d(m, txCount));
            vm.prank(challenger);
            game.chooseTx(m <= target);
        }
        assertEq(game.lo(), target, "bisected to the target tx");
    }

    function _stepArgs(uint256 i, uint256 txCount) internal view returns (StepArgs memory a) {
        (a.root, a.gas, a.receipts) = _pre(i, txCount);
        a.txRlp = _tx(i);
        a.proof = _txProof(i);
    }

    /// @dev Steps tx `lo()` with the defender's claimed pre-state and the real tx and proof.
    function _step(DisputeGame game) internal {
        uint256 i = game.lo();
        (bytes32 root, uint256 gas, bytes32 receipts) = _pre(i, game.txCount());
        game.step(root, gas, receipts, _tx(i), _txProof(i), hex"beef");
    }
}
