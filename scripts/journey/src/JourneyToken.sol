// SPDX-License-Identifier: MIT OR Apache-2.0
pragma solidity 0.8.30;

/// @title JourneyToken
/// @notice A plain ERC-20 (EIP-20) the user journey (scripts/journey/) deploys and transfers on L2:
///         the whole supply is minted to the deployer; no owner, no hooks.
contract JourneyToken {
    /// @notice Token name.
    string public name;
    /// @notice Token symbol.
    string public symbol;
    /// @notice Decimals of the display unit.
    uint8 public constant decimals = 18;
    /// @notice All tokens in existence.
    uint256 public totalSupply;
    /// @notice Balance of each holder.
    mapping(address => uint256) public balanceOf;
    /// @notice What `spender` may still move from `owner`'s balance.
    mapping(address => mapping(address => uint256)) public allowance;

    /// @notice `value` tokens moved from `from` to `to` (`from` = 0 when minted).
    event Transfer(address indexed from, address indexed to, uint256 value);
    /// @notice `owner` let `spender` move up to `value` of its tokens.
    event Approval(address indexed owner, address indexed spender, uint256 value);

    /// @notice The sender's balance (or allowance) is below the amount.
    error InsufficientBalance(uint256 available, uint256 needed);
    /// @notice Transfers to the zero address would burn tokens by mistake.
    error ZeroAddress();

    /// @notice Mints `supply` tokens to the deployer.
    constructor(string memory name_, string memory symbol_, uint256 supply) {
        name = name_;
        symbol = symbol_;
        totalSupply = supply;
        balanceOf[msg.sender] = supply;
        emit Transfer(address(0), msg.sender, supply);
    }

    /// @notice Moves `value` of the sender's tokens to `to`.
    function transfer(address to, uint256 value) external returns (bool) {
        _move(msg.sender, to, value);
        return true;
    }

    /// @notice Lets `spender` move up to `value` of the sender's tokens.
    function approve(address spender, uint256 value) external returns (bool) {
        allowance[msg.sender][spender] = value;
        emit Approval(msg.sender, spender, value);
        return true;
    }

    /// @notice Moves `value` of `from`'s tokens to `to`, spending the sender's allowance.
    function transferFrom(address from, address to, uint256 value) external returns (bool) {
        uint256 allowed = allowance[from][msg.sender];
        if (allowed != type(uint256).max) {
            if (allowed < value) revert InsufficientBalance(allowed, value);
            allowance[from][msg.sender] = allowed - value;
        }
        _move(from, to, value);
        return true;
    }

    function _move(address from, address to, uint256 value) private {
        if (to == address(0)) revert ZeroAddress();
        uint256 balance = balanceOf[from];
        if (balance < value) revert InsufficientBalance(balance, value);
        unchecked {
            balanceOf[from] = balance - value;
        }
        balanceOf[to] += value;
        emit Transfer(from, to, value);
    }
}
