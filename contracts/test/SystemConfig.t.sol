// SPDX-License-Identifier: MIT OR Apache-2.0
pragma solidity 0.8.30;

import {SettlementSetup} from "./utils/SettlementSetup.sol";
import {SystemConfig, SystemConfigInit} from "../src/SystemConfig.sol";
import {Proxy} from "../src/proxy/Proxy.sol";
import {Vm} from "./utils/Vm.sol";

contract SystemConfigTest is SettlementSetup {
    function test_initialValues() public view {
        assertEq(config.owner(), owner);
        assertEq(config.batcher(), batcher);
        assertEq(config.batchInbox(), batchInbox);
        assertEq(config.proposer(), proposer);
        assertEq(config.challenger(), address(0));
        assertEq(config.guardian(), guardian);
        assertEq(uint256(config.gasLimit()), 30_000_000);
        assertEq(uint256(config.eip1559Elasticity()), 2);
        assertEq(uint256(config.eip1559Denominator()), 50);
        assertEq(uint256(config.l1BaseFeeScalar()), 1_368);
        assertEq(uint256(config.l1BlobBaseFeeScalar()), 810_949);
        assertEq(config.startBlock(), block.number);
        assertFalse(config.paused());
        assertEq(uint256(config.initializedVersion()), 1);
    }

    function test_initialize_emitsEveryValue() public {
        SystemConfigInit memory ci = _init();
        address impl = address(new SystemConfig());
        vm.recordLogs();
        new Proxy(admin, impl, abi.encodeCall(SystemConfig.initialize, (ci)));
        Vm.Log[] memory logs = vm.getRecordedLogs();
        // Upgraded, AdminChanged, Initialized... plus one event per value: check a few topics.
        assertTrue(_hasTopic(logs, SystemConfig.BatcherUpdated.selector), "BatcherUpdated");
        assertTrue(_hasTopic(logs, SystemConfig.BatchInboxSet.selector), "BatchInboxSet");
        assertTrue(_hasTopic(logs, SystemConfig.ProposerUpdated.selector), "ProposerUpdated");
        assertTrue(_hasTopic(logs, SystemConfig.GasLimitUpdated.selector), "GasLimitUpdated");
        assertTrue(_hasTopic(logs, SystemConfig.Eip1559ParamsUpdated.selector), "Eip1559ParamsUpdated");
        assertTrue(_hasTopic(logs, SystemConfig.L1FeeScalarsUpdated.selector), "L1FeeScalarsUpdated");
        assertTrue(_hasTopic(logs, SystemConfig.OwnershipTransferred.selector), "OwnershipTransferred");
    }

    function test_setters_onlyOwner_andEmit() public {
        vm.startPrank(alice);
        vm.expectRevert(SystemConfig.NotOwner.selector);
        config.setBatcher(bob);
        vm.expectRevert(SystemConfig.NotOwner.selector);
        config.setProposer(bob);
        vm.expectRevert(SystemConfig.NotOwner.selector);
        config.setChallenger(bob);
        vm.expectRevert(SystemConfig.NotOwner.selector);
        config.setGuardian(bob);
        vm.expectRevert(SystemConfig.NotOwner.selector);
        config.setGasLimit(40_000_000);
        vm.expectRevert(SystemConfig.NotOwner.selector);
        config.setEip1559Params(4, 100);
        vm.expectRevert(SystemConfig.NotOwner.selector);
        config.setL1FeeScalars(1, 2);
        vm.expectRevert(SystemConfig.NotOwner.selector);
        config.transferOwnership(alice);
        vm.stopPrank();

        vm.startPrank(owner);
        vm.expectEmit(true, true, true, true, address(config));
        emit SystemConfig.BatcherUpdated(bob);
        config.setBatcher(bob);
        assertEq(config.batcher(), bob);
        vm.expectEmit(true, true, true, true, address(config));
        emit SystemConfig.ProposerUpdated(bob);
        config.setProposer(bob);
        vm.expectEmit(true, true, true, true, address(config));
        emit SystemConfig.ChallengerUpdated(bob);
        config.setChallenger(bob);
        vm.expectEmit(true, true, true, true, address(config));
        emit SystemConfig.GuardianUpdated(bob);
        config.setGuardian(bob);
        vm.expectEmit(true, true, true, true, address(config));
        emit SystemConfig.GasLimitUpdated(40_000_000);
        config.setGasLimit(40_000_000);
        vm.expectEmit(true, true, true, true, address(config));
        emit SystemConfig.Eip1559ParamsUpdated(6, 250);
        config.setEip1559Params(6, 250);
        vm.expectEmit(true, true, true, true, address(config));
        emit SystemConfig.L1FeeScalarsUpdated(7, 8);
        config.setL1FeeScalars(7, 8);
        vm.stopPrank();
        assertEq(uint256(config.gasLimit()), 40_000_000);
        assertEq(uint256(config.eip1559Elasticity()), 6);
        assertEq(uint256(config.l1BlobBaseFeeScalar()), 8);
    }

    function test_setters_validate() public {
        vm.startPrank(owner);
        vm.expectRevert(SystemConfig.ZeroAddress.selector);
        config.setBatcher(address(0));
        vm.expectRevert(SystemConfig.ZeroAddress.selector);
        config.setProposer(address(0));
        vm.expectRevert(abi.encodeWithSelector(SystemConfig.GasLimitOutOfRange.selector, uint64(7_999_999)));
        config.setGasLimit(7_999_999);
        vm.expectRevert(abi.encodeWithSelector(SystemConfig.GasLimitOutOfRange.selector, uint64(500_000_001)));
        config.setGasLimit(500_000_001);
        vm.expectRevert(abi.encodeWithSelector(SystemConfig.ElasticityOutOfRange.selector, uint32(1)));
        config.setEip1559Params(1, 50);
        vm.expectRevert(abi.encodeWithSelector(SystemConfig.ElasticityOutOfRange.selector, uint32(7)));
        config.setEip1559Params(7, 50);
        vm.expectRevert(abi.encodeWithSelector(SystemConfig.DenominatorOutOfRange.selector, uint32(49)));
        config.setEip1559Params(2, 49);
        vm.expectRevert(abi.encodeWithSelector(SystemConfig.DenominatorOutOfRange.selector, uint32(251)));
        config.setEip1559Params(2, 251);
        // Challenger and guardian may be cleared.
        config.setChallenger(address(0));
        config.setGuardian(address(0));
        vm.stopPrank();
    }

    function testFuzz_setEip1559Params(uint32 elasticity, uint32 denominator) public {
        bool ok = elasticity >= 2 && elasticity <= 6 && denominator >= 50 && denominator <= 250;
        if (!ok) vm.expectRevert();
        vm.prank(owner);
        config.setEip1559Params(elasticity, denominator);
        if (ok) assertEq(uint256(config.eip1559Denominator()), denominator);
    }

    function test_ownership_twoStep() public {
        vm.prank(owner);
        config.transferOwnership(alice);
        assertEq(config.owner(), owner);
        assertEq(config.pendingOwner(), alice);
        vm.expectRevert(SystemConfig.NotPendingOwner.selector);
        vm.prank(bob);
        config.acceptOwnership();
        vm.prank(alice);
        config.acceptOwnership();
        assertEq(config.owner(), alice);
        assertEq(config.pendingOwner(), address(0));
        vm.expectRevert(SystemConfig.NotOwner.selector);
        vm.prank(owner);
        config.setBatcher(bob);
    }

    function test_pause_onlyGuardian() public {
        vm.expectRevert(SystemConfig.NotGuardian.selector);
        vm.prank(owner);
        config.setPaused(true);
        vm.expectEmit(true, true, true, true, address(config));
        emit SystemConfig.PausedUpdated(true);
        vm.prank(guardian);
        config.setPaused(true);
        assertTrue(config.paused());
    }

    function test_initialize_once_andNotOnImplementation() public {
        vm.expectRevert(bytes4(keccak256("AlreadyInitialized()")));
        config.initialize(_init());
        SystemConfig impl = new SystemConfig();
        vm.expectRevert(bytes4(keccak256("AlreadyInitialized()")));
        impl.initialize(_init());
    }

    function test_storageLayout_documented() public view {
        // slot 2 = batcher, slot 6 = guardian | paused | gasLimit, slot 8 = startBlock.
        assertEq(address(uint160(uint256(vm.load(address(config), bytes32(uint256(2)))))), batcher);
        bytes32 s6 = vm.load(address(config), bytes32(uint256(6)));
        assertEq(address(uint160(uint256(s6))), guardian);
        assertEq(uint256(s6 >> 168) & type(uint64).max, 30_000_000);
        assertEq(uint256(vm.load(address(config), bytes32(uint256(8)))), config.startBlock());
    }

    // ---------------------------------------------------------------- helpers

    function _hasTopic(Vm.Log[] memory logs, bytes32 topic) internal pure returns (bool) {
        for (uint256 i; i < logs.length; ++i) {
            if (logs[i].topics.length > 0 && logs[i].topics[0] == topic) return true;
        }
        return false;
    }

    function _init() internal view returns (SystemConfigInit memory) {
        return SystemConfigInit({
            owner: owner,
            batcher: batcher,
            batchInbox: batchInbox,
            proposer: proposer,
            challenger: address(0),
            guardian: guardian,
            gasLimit: 30_000_000,
            eip1559Elasticity: 2,
            eip1559Denominator: 50,
            l1BaseFeeScalar: 1_368,
            l1BlobBaseFeeScalar: 810_949
        });
    }
}
