// SPDX-License-Identifier: MIT OR Apache-2.0
pragma solidity 0.8.30;

/// A tiny contract the compatibility suites deploy and call (scripts/compat/): state, an
/// indexed event, a payable path and a custom-error revert, so clients' log and revert
/// decoding meet real data.
contract Counter {
    /// Emitted on every change; `by` is indexed so log filters by topic can be tested.
    event Incremented(address indexed by, uint256 amount, uint256 newCount);

    /// The revert `fail` raises (clients decode its selector and argument).
    error Nope(uint256 code);

    uint256 public count;
    address public immutable deployer;

    constructor(uint256 start) {
        count = start;
        deployer = msg.sender;
    }

    function increment() external {
        add(1);
    }

    function add(uint256 amount) public {
        count += amount;
        emit Incremented(msg.sender, amount, count);
    }

    /// Always reverts with `Nope(code)`.
    function fail(uint256 code) external pure {
        revert Nope(code);
    }
}
