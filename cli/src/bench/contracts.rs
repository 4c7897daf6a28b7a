//! The benchmark contracts, hand-assembled (there is no Solidity compiler in the build).
//!
//! Each function documents the Solidity it is equivalent to. Storage layouts follow Solidity's,
//! so a mapping entry lives at `keccak256(pad32(key) . pad32(slot))`; events are emitted with
//! the standard signatures, so a block explorer (or a logs bloom) sees ordinary ERC-20 traffic.

use alloy_primitives::{keccak256, Address, Bytes, B256, U256};
use parallax_executor::revm::bytecode::opcode::*;

use super::asm::Asm;

/// First four bytes of `keccak256(signature)`: a function selector.
pub fn selector(signature: &str) -> [u8; 4] {
    let hash = keccak256(signature.as_bytes());
    [hash[0], hash[1], hash[2], hash[3]]
}

/// `keccak256(signature)`: an event's topic 0.
pub fn event_topic(signature: &str) -> B256 {
    keccak256(signature.as_bytes())
}

/// Storage slot of `mapping(address => _)` entry `key` for a mapping declared at `slot`.
pub fn mapping_slot(key: Address, slot: u64) -> U256 {
    let mut preimage = [0u8; 64];
    preimage[12..32].copy_from_slice(key.as_slice());
    preimage[32..].copy_from_slice(&U256::from(slot).to_be_bytes::<32>());
    U256::from_be_bytes(keccak256(preimage).0)
}

/// ABI encoding of a call: selector followed by 32-byte words.
pub fn calldata(signature: &str, words: &[U256]) -> Bytes {
    let mut data = selector(signature).to_vec();
    for word in words {
        data.extend_from_slice(&word.to_be_bytes::<32>());
    }
    data.into()
}

/// An address as an ABI word.
pub fn address_word(address: Address) -> U256 {
    U256::from_be_slice(address.as_slice())
}

/// Mask keeping the low 160 bits of a word (an address argument).
fn address_mask() -> U256 {
    (U256::from(1) << 160) - U256::from(1)
}

/// Storage slot of the ERC-20 `balanceOf` mapping.
pub const ERC20_BALANCES_SLOT: u64 = 0;
/// Storage slot of the ERC-20 `totalSupply`.
pub const ERC20_TOTAL_SUPPLY_SLOT: u64 = 1;

/// Runtime code of a minimal ERC-20 token:
///
/// ```solidity
/// contract Token {
///     mapping(address => uint256) public balanceOf;   // slot 0
///     uint256 public totalSupply;                     // slot 1
///     event Transfer(address indexed from, address indexed to, uint256 value);
///
///     function transfer(address to, uint256 amount) external returns (bool) {
///         uint256 fromBalance = balanceOf[msg.sender];
///         require(fromBalance >= amount);             // revert(0, 0)
///         balanceOf[msg.sender] = fromBalance - amount;
///         balanceOf[to] += amount;                    // checked: reverts on overflow
///         emit Transfer(msg.sender, to, amount);
///         return true;
///     }
/// }
/// ```
///
/// All functions are non-payable; unknown selectors revert. Like hand-written assembly (and
/// unlike solc), it masks the `to` argument rather than rejecting dirty high bits and does not
/// check the calldata length.
pub fn erc20_runtime() -> Bytes {
    let mut a = Asm::new();
    // Dispatcher: selector = calldata[0..4].
    a.push(0u64).ops(&[CALLDATALOAD]).push(0xe0u64).ops(&[SHR]);
    a.ops(&[DUP1])
        .push_bytes(&selector("transfer(address,uint256)"))
        .ops(&[EQ])
        .jumpi("transfer");
    a.ops(&[DUP1])
        .push_bytes(&selector("balanceOf(address)"))
        .ops(&[EQ])
        .jumpi("balance_of");
    a.ops(&[DUP1])
        .push_bytes(&selector("totalSupply()"))
        .ops(&[EQ])
        .jumpi("total_supply");
    a.label("revert").push(0u64).ops(&[DUP1, REVERT]);

    // transfer(address to, uint256 amount)                              stack: [sel]
    a.label("transfer").ops(&[POP, CALLVALUE]).jumpi("revert");
    // key_from = keccak256(msg.sender . 0)
    a.ops(&[CALLER]).push(0u64).ops(&[MSTORE]);
    a.push(ERC20_BALANCES_SLOT).push(0x20u64).ops(&[MSTORE]);
    a.push(0x40u64).push(0u64).ops(&[KECCAK256]); //                    [kf]
    a.ops(&[DUP1, SLOAD]); //                                           [kf, bf]
    a.push(0x24u64).ops(&[CALLDATALOAD]); //                            [kf, bf, amt]
    a.ops(&[DUP1, DUP3, LT]).jumpi("revert"); //                        bf < amt: revert
    a.ops(&[DUP1, DUP3, SUB]); //                                       [kf, bf, amt, bf-amt]
    a.ops(&[DUP4, SSTORE]); //                                          balanceOf[from] = bf - amt
    a.push(4u64)
        .ops(&[CALLDATALOAD])
        .push(address_mask())
        .ops(&[AND]); // [kf, bf, amt, to]
                      // key_to = keccak256(to . 0); memory[0x20..0x40] still holds the slot number.
    a.ops(&[DUP1]).push(0u64).ops(&[MSTORE]);
    a.push(0x40u64).push(0u64).ops(&[KECCAK256]); //                    [kf, bf, amt, to, kt]
    a.ops(&[DUP1, SLOAD, DUP4, ADD]); //                                [kf, bf, amt, to, kt, bt+amt]
    a.ops(&[DUP4, DUP2, LT]).jumpi("revert"); //                        overflow: revert
    a.ops(&[SWAP1, SSTORE]); //                                         balanceOf[to] = bt + amt
                             // emit Transfer(msg.sender, to, amount)                             [kf, bf, amt, to]
    a.ops(&[DUP2]).push(0u64).ops(&[MSTORE]);
    a.ops(&[CALLER])
        .push(event_topic("Transfer(address,address,uint256)"));
    a.push(0x20u64).push(0u64).ops(&[LOG3]); //                         [kf, bf, amt]
    a.push(1u64)
        .push(0u64)
        .ops(&[MSTORE])
        .push(0x20u64)
        .push(0u64)
        .ops(&[RETURN]);

    // balanceOf(address owner)
    a.label("balance_of").ops(&[POP, CALLVALUE]).jumpi("revert");
    a.push(4u64)
        .ops(&[CALLDATALOAD])
        .push(address_mask())
        .ops(&[AND])
        .push(0u64)
        .ops(&[MSTORE]);
    a.push(ERC20_BALANCES_SLOT).push(0x20u64).ops(&[MSTORE]);
    a.push(0x40u64)
        .push(0u64)
        .ops(&[KECCAK256, SLOAD])
        .push(0u64)
        .ops(&[MSTORE]);
    a.push(0x20u64).push(0u64).ops(&[RETURN]);

    // totalSupply()
    a.label("total_supply")
        .ops(&[POP, CALLVALUE])
        .jumpi("revert");
    a.push(ERC20_TOTAL_SUPPLY_SLOT)
        .ops(&[SLOAD])
        .push(0u64)
        .ops(&[MSTORE]);
    a.push(0x20u64).push(0u64).ops(&[RETURN]);
    a.assemble()
}

/// Storage slot of a pool's ETH reserve.
pub const POOL_RESERVE_ETH_SLOT: u64 = 0;
/// Storage slot of a pool's token reserve.
pub const POOL_RESERVE_TOKEN_SLOT: u64 = 1;
/// Storage slot of a pool's token address.
pub const POOL_TOKEN_SLOT: u64 = 2;

/// Runtime code of a Uniswap-v1-style constant-product pool selling a token for ETH:
///
/// ```solidity
/// contract Pool {
///     uint256 reserveEth;     // slot 0
///     uint256 reserveToken;   // slot 1
///     Token token;            // slot 2 (an `erc20_runtime` token holding the pool's reserve)
///     event Swap(address indexed sender, uint256 amountIn, uint256 amountOut);
///
///     function swap(uint256 minOut) external payable returns (uint256 out) {
///         require(msg.value > 0);
///         uint256 inWithFee = msg.value * 997;        // 0.3 % fee
///         out = inWithFee * reserveToken / (reserveEth * 1000 + inWithFee);
///         require(out > 0 && out >= minOut);          // slippage protection
///         reserveEth += msg.value;
///         reserveToken -= out;
///         require(token.transfer(msg.sender, out));
///         emit Swap(msg.sender, msg.value, out);
///     }
/// }
/// ```
///
/// Every swap reads and writes both reserves: swaps on one pool are a dependency chain.
pub fn pool_runtime() -> Bytes {
    let mut a = Asm::new();
    a.push(0u64).ops(&[CALLDATALOAD]).push(0xe0u64).ops(&[SHR]);
    a.push_bytes(&selector("swap(uint256)"))
        .ops(&[EQ])
        .jumpi("swap");
    a.label("revert").push(0u64).ops(&[DUP1, REVERT]);

    a.label("swap").ops(&[CALLVALUE]); //                               [in]
    a.ops(&[DUP1, ISZERO]).jumpi("revert");
    a.push(997u64).ops(&[DUP2, MUL]); //                                [in, inFee]
    a.push(POOL_RESERVE_TOKEN_SLOT).ops(&[SLOAD, DUP2, MUL]); //        [in, inFee, inFee*rT]
    a.push(POOL_RESERVE_ETH_SLOT)
        .ops(&[SLOAD])
        .push(1000u64)
        .ops(&[MUL]); // [.., rE*1000]
    a.ops(&[DUP3, ADD, SWAP1, DIV]); //                                 [in, inFee, out]
    a.ops(&[SWAP1, POP]); //                                            [in, out]
    a.ops(&[DUP1, ISZERO]).jumpi("revert");
    a.push(4u64).ops(&[CALLDATALOAD, DUP2, LT]).jumpi("revert"); //     out < minOut: revert
                                                                 // reserveEth += msg.value
    a.push(POOL_RESERVE_ETH_SLOT)
        .ops(&[SLOAD, DUP3, ADD])
        .push(POOL_RESERVE_ETH_SLOT)
        .ops(&[SSTORE]);
    // reserveToken -= out (out < reserveToken by construction)
    a.push(POOL_RESERVE_TOKEN_SLOT)
        .ops(&[SLOAD, DUP2, SWAP1, SUB]);
    a.push(POOL_RESERVE_TOKEN_SLOT).ops(&[SSTORE]);
    // token.transfer(msg.sender, out): calldata at memory[0..0x44], result at memory[0..0x20]
    a.push_bytes(&selector("transfer(address,uint256)"))
        .push(0xe0u64)
        .ops(&[SHL]);
    a.push(0u64).ops(&[MSTORE]);
    a.ops(&[CALLER]).push(4u64).ops(&[MSTORE]);
    a.ops(&[DUP1]).push(0x24u64).ops(&[MSTORE]);
    a.push(0x20u64)
        .push(0u64)
        .push(0x44u64)
        .push(0u64)
        .push(0u64);
    a.push(POOL_TOKEN_SLOT)
        .ops(&[SLOAD, GAS, CALL, ISZERO])
        .jumpi("revert");
    a.push(0u64).ops(&[MLOAD, ISZERO]).jumpi("revert");
    // emit Swap(msg.sender, msg.value, out)                             [in, out]
    a.ops(&[DUP2]).push(0u64).ops(&[MSTORE]);
    a.ops(&[DUP1]).push(0x20u64).ops(&[MSTORE]);
    a.ops(&[CALLER])
        .push(event_topic("Swap(address,uint256,uint256)"));
    a.push(0x40u64).push(0u64).ops(&[LOG2]);
    a.push(0u64)
        .ops(&[MSTORE])
        .push(0x20u64)
        .push(0u64)
        .ops(&[RETURN]);
    a.assemble()
}

/// Runtime code of a shared counter, the archetypal dependency chain:
///
/// ```solidity
/// contract Counter {
///     uint256 count;   // slot 0
///     event Incremented(address indexed by, uint256 count);
///
///     fallback(bytes calldata) external returns (bytes memory) {
///         count += 1;
///         emit Incremented(msg.sender, count);
///         return abi.encode(count);
///     }
/// }
/// ```
///
/// Every call reads the value the previous call wrote, and its log and output depend on it.
pub fn counter_runtime() -> Bytes {
    let mut a = Asm::new();
    a.ops(&[CALLVALUE]).jumpi("revert");
    a.push(0u64).ops(&[SLOAD]).push(1u64).ops(&[ADD]); //               [count + 1]
    a.ops(&[DUP1]).push(0u64).ops(&[SSTORE]);
    a.ops(&[DUP1]).push(0u64).ops(&[MSTORE]);
    a.ops(&[CALLER])
        .push(event_topic("Incremented(address,uint256)"));
    a.push(0x20u64).push(0u64).ops(&[LOG2, POP]);
    a.push(0x20u64).push(0u64).ops(&[RETURN]);
    a.label("revert").push(0u64).ops(&[DUP1, REVERT]);
    a.assemble()
}

/// Init code deploying `runtime` unchanged, with a constructor that records the deployer:
///
/// ```solidity
/// constructor() { owner = msg.sender; }   // slot 1 (slot 0 is the counter's)
/// ```
pub fn deploy_code(runtime: &[u8]) -> Bytes {
    let mut a = Asm::new();
    a.ops(&[CALLER]).push(1u64).ops(&[SSTORE]);
    a.push(runtime.len() as u64)
        .ops(&[DUP1])
        .push_label("runtime")
        .push(0u64)
        .ops(&[CODECOPY]);
    a.push(0u64).ops(&[RETURN]);
    a.mark("runtime").raw(runtime);
    debug_assert!(a.len() > runtime.len());
    a.assemble()
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use parallax_executor::{
        revm::{
            context::{BlockEnv, TxEnv},
            database::{CacheDB, EmptyDB},
            primitives::{hardfork::SpecId, TxKind},
            state::{AccountInfo, Bytecode},
        },
        BlockExecutor, BlockOutcome, ExecutionEnv, Sequential, TxStatus,
    };

    use super::*;

    /// Runs `calls` (caller, to, value, data; `to == None` creates) as one Cancun block.
    fn run(
        db: &CacheDB<EmptyDB>,
        calls: &[(Address, Option<Address>, u64, Bytes)],
    ) -> BlockOutcome {
        let mut nonces = BTreeMap::new();
        let txs: Vec<TxEnv> = calls
            .iter()
            .map(|(caller, to, value, data)| {
                let nonce = nonces.entry(*caller).or_insert(0u64);
                *nonce += 1;
                TxEnv {
                    caller: *caller,
                    kind: to.map_or(TxKind::Create, TxKind::Call),
                    value: U256::from(*value),
                    data: data.clone(),
                    gas_limit: 1_000_000,
                    gas_price: 0,
                    nonce: *nonce - 1,
                    chain_id: Some(1),
                    ..Default::default()
                }
            })
            .collect();
        let block = BlockEnv {
            gas_limit: 30_000_000,
            basefee: 0,
            ..Default::default()
        };
        let env = ExecutionEnv::ethereum(SpecId::CANCUN, 1, block);
        Sequential
            .execute_block(&env, &txs, db)
            .expect("valid block")
    }

    fn with_code(db: &mut CacheDB<EmptyDB>, address: Address, code: Bytes) {
        db.insert_account_info(
            address,
            AccountInfo::default().with_code(Bytecode::new_raw(code)),
        );
    }

    fn slot(outcome: &BlockOutcome, address: Address, slot: U256) -> Option<U256> {
        outcome
            .state_changes
            .accounts
            .get(&address)?
            .storage
            .get(&slot)
            .copied()
    }

    fn word(output: &[u8]) -> U256 {
        U256::from_be_slice(output)
    }

    #[test]
    fn erc20_transfers_and_reverts() {
        let token = Address::repeat_byte(0x70);
        let alice = Address::repeat_byte(0xa1);
        let bob = Address::repeat_byte(0xb0);
        let mut db = CacheDB::new(EmptyDB::default());
        with_code(&mut db, token, erc20_runtime());
        db.insert_account_info(alice, AccountInfo::from_balance(U256::from(10)));
        db.insert_account_storage(token, mapping_slot(alice, 0), U256::from(100))
            .unwrap();
        db.insert_account_storage(token, U256::from(1), U256::from(100))
            .unwrap();
        let transfer = |to: Address, amount: u64| {
            calldata(
                "transfer(address,uint256)",
                &[address_word(to), U256::from(amount)],
            )
        };
        let outcome = run(
            &db,
            &[
                (alice, Some(token), 0, transfer(bob, 30)),
                (bob, Some(token), 0, transfer(alice, 31)),
                (alice, Some(token), 0, transfer(alice, 70)),
                (alice, Some(token), 1, transfer(bob, 1)),
            ],
        );
        let receipts = &outcome.receipts;
        assert_eq!(receipts[0].status, TxStatus::Success);
        assert_eq!(receipts[0].logs.len(), 1);
        let log = &receipts[0].logs[0];
        assert_eq!(log.address, token);
        assert_eq!(
            log.topics()[0],
            event_topic("Transfer(address,address,uint256)")
        );
        assert_eq!(log.topics()[1], B256::left_padding_from(alice.as_slice()));
        assert_eq!(log.topics()[2], B256::left_padding_from(bob.as_slice()));
        assert_eq!(word(&log.data.data), U256::from(30));
        assert!(
            matches!(receipts[1].status, TxStatus::Revert(_)),
            "overdraft must revert"
        );
        assert_eq!(receipts[2].status, TxStatus::Success, "self-transfer");
        assert!(
            matches!(receipts[3].status, TxStatus::Revert(_)),
            "non-payable"
        );
        assert_eq!(
            slot(&outcome, token, mapping_slot(alice, 0)),
            Some(U256::from(70))
        );
        assert_eq!(
            slot(&outcome, token, mapping_slot(bob, 0)),
            Some(U256::from(30))
        );
    }

    #[test]
    fn pool_swaps_at_constant_product() {
        let token = Address::repeat_byte(0x70);
        let pool = Address::repeat_byte(0x90);
        let alice = Address::repeat_byte(0xa1);
        let mut db = CacheDB::new(EmptyDB::default());
        with_code(&mut db, token, erc20_runtime());
        with_code(&mut db, pool, pool_runtime());
        db.insert_account_info(alice, AccountInfo::from_balance(U256::from(10_000)));
        db.insert_account_storage(token, mapping_slot(pool, 0), U256::from(1_000_000))
            .unwrap();
        db.insert_account_storage(pool, U256::from(0), U256::from(1_000))
            .unwrap();
        db.insert_account_storage(pool, U256::from(1), U256::from(1_000_000))
            .unwrap();
        db.insert_account_storage(pool, U256::from(2), address_word(token))
            .unwrap();
        let swap = |min_out: U256| calldata("swap(uint256)", &[min_out]);
        let outcome = run(
            &db,
            &[
                (alice, Some(pool), 100, swap(U256::from(1))),
                (alice, Some(pool), 100, swap(U256::MAX)),
            ],
        );
        let expected: u64 = 100 * 997 * 1_000_000 / (1_000 * 1000 + 100 * 997);
        assert_eq!(outcome.receipts[0].status, TxStatus::Success);
        assert_eq!(outcome.receipts[0].logs.len(), 2, "Transfer and Swap");
        assert!(
            matches!(outcome.receipts[1].status, TxStatus::Revert(_)),
            "slippage must revert"
        );
        assert_eq!(
            slot(&outcome, token, mapping_slot(alice, 0)),
            Some(U256::from(expected))
        );
        assert_eq!(
            slot(&outcome, token, mapping_slot(pool, 0)),
            Some(U256::from(1_000_000 - expected))
        );
        assert_eq!(slot(&outcome, pool, U256::from(0)), Some(U256::from(1_100)));
        assert_eq!(
            slot(&outcome, pool, U256::from(1)),
            Some(U256::from(1_000_000 - expected))
        );
        let swap_log = &outcome.receipts[0].logs[1];
        assert_eq!(
            swap_log.topics()[0],
            event_topic("Swap(address,uint256,uint256)")
        );
        assert_eq!(word(&swap_log.data.data[32..]), U256::from(expected));
    }

    #[test]
    fn counter_counts_and_deploys() {
        let counter = Address::repeat_byte(0xc0);
        let alice = Address::repeat_byte(0xa1);
        let bob = Address::repeat_byte(0xb0);
        let mut db = CacheDB::new(EmptyDB::default());
        with_code(&mut db, counter, counter_runtime());
        let outcome = run(
            &db,
            &[
                (alice, Some(counter), 0, Bytes::new()),
                (bob, Some(counter), 0, Bytes::new()),
                (alice, None, 0, deploy_code(&counter_runtime())),
            ],
        );
        for (i, receipt) in outcome.receipts[..2].iter().enumerate() {
            assert_eq!(receipt.status, TxStatus::Success);
            assert_eq!(word(&receipt.logs[0].data.data), U256::from(i + 1));
        }
        assert_eq!(slot(&outcome, counter, U256::ZERO), Some(U256::from(2)));
        let created = outcome.receipts[2].contract_address.expect("deployed");
        assert_eq!(created, alice.create(1));
        let code_hash = outcome.state_changes.accounts[&created]
            .info
            .expect("exists")
            .code_hash;
        assert_eq!(code_hash, keccak256(counter_runtime()));
        assert_eq!(
            slot(&outcome, created, U256::from(1)),
            Some(address_word(alice))
        );
    }
}
