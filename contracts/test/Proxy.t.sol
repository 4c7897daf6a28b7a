// SPDX-License-Identifier: MIT OR Apache-2.0
pragma solidity 0.8.30;

import {SettlementSetup} from "./utils/SettlementSetup.sol";
import {IProxyAdmin, Proxy} from "../src/proxy/Proxy.sol";
import {SystemConfig} from "../src/SystemConfig.sol";
import {Initializable} from "../src/lib/Initializable.sol";

/// @notice A next version of SystemConfig that appends a field and sets it in a reinitializer.
contract SystemConfigV2 is SystemConfig {
    uint256 public extra;

    function initializeV2(uint256 extra_) external reinitializer(2) {
        extra = extra_;
    }
}

contract ProxyTest is SettlementSetup {
    function test_adminSeesOnlyAdminInterface() public {
        vm.prank(admin);
        assertEq(IProxyAdmin(address(config)).admin(), admin);
        vm.prank(admin);
        address impl = IProxyAdmin(address(config)).implementation();
        assertTrue(impl != address(0));
        // The admin cannot reach implementation functions (no selector clash, no accidents).
        vm.expectRevert(Proxy.AdminCannotFallback.selector);
        vm.prank(admin);
        config.batcher();
        // Non-admins reach the implementation, even for the admin selectors.
        vm.expectRevert();
        vm.prank(alice);
        IProxyAdmin(address(config)).upgradeTo(address(0x1234));
    }

    function test_upgradeKeepsStateAndRunsReinitializer() public {
        SystemConfigV2 v2 = new SystemConfigV2();
        vm.expectEmit(true, true, true, true, address(config));
        emit Proxy.Upgraded(address(v2));
        vm.prank(admin);
        IProxyAdmin(address(config)).upgradeToAndCall(address(v2), abi.encodeCall(SystemConfigV2.initializeV2, (42)));
        SystemConfigV2 c = SystemConfigV2(address(config));
        assertEq(c.extra(), 42);
        assertEq(c.batcher(), batcher, "state kept");
        assertEq(c.owner(), owner);
        assertEq(uint256(c.initializedVersion()), 2);
        vm.expectRevert(Initializable.AlreadyInitialized.selector);
        c.initializeV2(7);
    }

    function test_upgradeRejectsNonContract() public {
        vm.expectRevert(abi.encodeWithSelector(Proxy.ImplementationNotContract.selector, address(0x1234)));
        vm.prank(admin);
        IProxyAdmin(address(config)).upgradeTo(address(0x1234));
    }

    function test_changeAdmin() public {
        vm.expectEmit(true, true, true, true, address(config));
        emit Proxy.AdminChanged(admin, bob);
        vm.prank(admin);
        IProxyAdmin(address(config)).changeAdmin(bob);
        vm.prank(bob);
        assertEq(IProxyAdmin(address(config)).admin(), bob);
        // The old admin is now an ordinary caller.
        vm.prank(admin);
        assertEq(config.batcher(), batcher);
        vm.expectRevert(Proxy.ZeroAdmin.selector);
        vm.prank(bob);
        IProxyAdmin(address(config)).changeAdmin(address(0));
    }

    function test_constructorRejectsZeroAdminAndFailingInit() public {
        address impl = address(new SystemConfig());
        vm.expectRevert(Proxy.ZeroAdmin.selector);
        new Proxy(address(0), impl, "");
        vm.expectRevert();
        new Proxy(admin, impl, hex"deadbeef");
    }

    function test_erc1967Slots() public view {
        bytes32 implSlot = bytes32(uint256(keccak256("eip1967.proxy.implementation")) - 1);
        bytes32 adminSlot = bytes32(uint256(keccak256("eip1967.proxy.admin")) - 1);
        assertEq(address(uint160(uint256(vm.load(address(config), adminSlot)))), admin);
        assertTrue(vm.load(address(config), implSlot) != bytes32(0));
    }
}
