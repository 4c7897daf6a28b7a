// SPDX-License-Identifier: MIT OR Apache-2.0
pragma solidity 0.8.30;

/// @title Proxy
/// @notice A transparent ERC-1967 proxy: every call is delegated to the implementation except
///         calls from the admin, which reach only the upgrade functions below.
/// @dev Why transparent: the admin (the upgrade key, kept apart from operator keys such as the
///      SystemConfig owner, proposer or batcher) can never trigger implementation logic by
///      accident, and users can never hit an upgrade function through a selector clash.
///      Storage layout: the implementation and admin live in the ERC-1967 slots
///      (`IMPLEMENTATION_SLOT`, `ADMIN_SLOT`), far from the implementation's sequential slots.
///      The constructor sets the implementation and runs its initializer in the same transaction,
///      so nobody can front-run initialization.
contract Proxy {
    /// @notice bytes32(uint256(keccak256("eip1967.proxy.implementation")) - 1).
    bytes32 internal constant IMPLEMENTATION_SLOT = 0x360894a13ba1a3210667c828492db98dca3e2076cc3735a920a3ca505d382bbc;
    /// @notice bytes32(uint256(keccak256("eip1967.proxy.admin")) - 1).
    bytes32 internal constant ADMIN_SLOT = 0xb53127684a568b3173ae13b9f8a6016e243e63b6e8ee1178d6a717850b5d6103;

    /// @notice ERC-1967: the implementation changed.
    event Upgraded(address indexed implementation);
    /// @notice ERC-1967: the admin changed.
    event AdminChanged(address previousAdmin, address newAdmin);

    /// @notice The admin may not be the zero address (upgrades would be lost forever).
    error ZeroAdmin();
    /// @notice The implementation has no code.
    error ImplementationNotContract(address implementation);
    /// @notice The initializer (or upgrade call) reverted; carries its revert data.
    error InitializationFailed(bytes reason);
    /// @notice The admin called a function that is not an upgrade function.
    error AdminCannotFallback();

    /// @param admin_ The upgrade key.
    /// @param implementation_ The first implementation.
    /// @param initData Calldata for the implementation's initializer (empty: none).
    constructor(address admin_, address implementation_, bytes memory initData) payable {
        _setAdmin(admin_);
        _upgradeToAndCall(implementation_, initData);
    }

    /// @notice Routes a call: admin calls to the upgrade functions, all others to the implementation.
    fallback() external payable {
        if (msg.sender == _admin()) {
            _adminDispatch();
        } else {
            _delegate(_implementation());
        }
    }

    /// @notice Plain ETH transfers reach the implementation too (e.g. Portal's deposit-on-receive).
    receive() external payable {
        if (msg.sender == _admin()) revert AdminCannotFallback();
        _delegate(_implementation());
    }

    /// @dev The admin interface, reachable only by the admin: upgradeTo(address),
    ///      upgradeToAndCall(address,bytes), changeAdmin(address), admin(), implementation().
    function _adminDispatch() private {
        bytes4 selector = msg.sig;
        bytes memory ret;
        if (selector == bytes4(keccak256("upgradeTo(address)"))) {
            _upgradeToAndCall(abi.decode(msg.data[4:], (address)), "");
        } else if (selector == bytes4(keccak256("upgradeToAndCall(address,bytes)"))) {
            (address impl, bytes memory data) = abi.decode(msg.data[4:], (address, bytes));
            _upgradeToAndCall(impl, data);
        } else if (selector == bytes4(keccak256("changeAdmin(address)"))) {
            _setAdmin(abi.decode(msg.data[4:], (address)));
        } else if (selector == bytes4(keccak256("admin()"))) {
            ret = abi.encode(_admin());
        } else if (selector == bytes4(keccak256("implementation()"))) {
            ret = abi.encode(_implementation());
        } else {
            revert AdminCannotFallback();
        }
        assembly ("memory-safe") {
            return(add(ret, 0x20), mload(ret))
        }
    }

    function _upgradeToAndCall(address impl, bytes memory data) private {
        if (impl.code.length == 0) revert ImplementationNotContract(impl);
        assembly ("memory-safe") {
            sstore(IMPLEMENTATION_SLOT, impl)
        }
        emit Upgraded(impl);
        if (data.length > 0) {
            (bool ok, bytes memory reason) = impl.delegatecall(data);
            if (!ok) revert InitializationFailed(reason);
        }
    }

    function _setAdmin(address newAdmin) private {
        if (newAdmin == address(0)) revert ZeroAdmin();
        address previous = _admin();
        assembly ("memory-safe") {
            sstore(ADMIN_SLOT, newAdmin)
        }
        emit AdminChanged(previous, newAdmin);
    }

    function _admin() private view returns (address a) {
        assembly ("memory-safe") {
            a := sload(ADMIN_SLOT)
        }
    }

    function _implementation() private view returns (address impl) {
        assembly ("memory-safe") {
            impl := sload(IMPLEMENTATION_SLOT)
        }
    }

    function _delegate(address impl) private {
        assembly {
            calldatacopy(0, 0, calldatasize())
            let ok := delegatecall(gas(), impl, 0, calldatasize(), 0, 0)
            returndatacopy(0, 0, returndatasize())
            if iszero(ok) { revert(0, returndatasize()) }
            return(0, returndatasize())
        }
    }
}

/// @title IProxyAdmin
/// @notice The functions a `Proxy` answers when called by its admin.
interface IProxyAdmin {
    function upgradeTo(address implementation) external;
    function upgradeToAndCall(address implementation, bytes calldata data) external;
    function changeAdmin(address newAdmin) external;
    function admin() external returns (address);
    function implementation() external returns (address);
}
