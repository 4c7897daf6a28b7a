//! Synthetic blocks for the executor benchmark and for randomized differential tests.
//!
//! [`build`] returns a [`Workload`]: a Cancun block environment, a pre-state with funded accounts
//! and deployed contracts (see [`super::contracts`]), and a block of EIP-1559 transactions with
//! their senders set directly (no signatures). Every transaction is valid when the block runs in
//! order; the same `(kind, txs, seed)` always builds the same workload.

use std::{collections::HashMap, fmt, str::FromStr};

use alloy_primitives::{keccak256, Address, Bytes, B256, U256};
use parallax_executor::{
    revm::{
        context::{BlockEnv, TxEnv},
        database::{CacheDB, EmptyDB},
        primitives::{eip4844::BLOB_BASE_FEE_UPDATE_FRACTION_CANCUN, hardfork::SpecId, TxKind},
        state::{AccountInfo, Bytecode},
    },
    ExecutionEnv,
};
use rand::{rngs::StdRng, Rng, SeedableRng};

use super::contracts::{
    address_word, calldata, counter_runtime, deploy_code, erc20_runtime, mapping_slot,
    pool_runtime, ERC20_BALANCES_SLOT, ERC20_TOTAL_SUPPLY_SLOT, POOL_RESERVE_ETH_SLOT,
    POOL_RESERVE_TOKEN_SLOT, POOL_TOKEN_SLOT,
};

/// One gwei in wei.
pub const GWEI: u128 = 1_000_000_000;
/// Base fee of every workload block.
pub const BASE_FEE: u64 = GWEI as u64;
/// `max_fee_per_gas` of every workload transaction.
pub const MAX_FEE_PER_GAS: u128 = 2 * GWEI;
/// `max_priority_fee_per_gas` of every workload transaction.
pub const PRIORITY_FEE_PER_GAS: u128 = GWEI;
/// Chain id of the workloads.
pub const CHAIN_ID: u64 = 1;

/// Gas limit of an ETH transfer.
const TRANSFER_GAS: u64 = 21_000;
/// Gas limit of an ERC-20 transfer (about 52k when the recipient's slot is new).
const ERC20_GAS: u64 = 100_000;
/// Gas limit of a swap (about 90k: two reserve writes, a token transfer and a log).
const SWAP_GAS: u64 = 200_000;
/// Gas limit of a counter increment.
const COUNTER_GAS: u64 = 100_000;
/// Gas limit of a counter deployment.
const CREATE_GAS: u64 = 300_000;

/// ETH every sender starts with.
fn ether(n: u64) -> U256 {
    U256::from(n) * U256::from(10u64).pow(U256::from(18))
}

/// The synthetic block shapes, from embarrassingly parallel to fully sequential.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum WorkloadKind {
    /// ETH transfers, every sender and every recipient distinct: no conflicts at all.
    Transfers,
    /// Transfers of one ERC-20 token from distinct holders to random holders: few conflicts
    /// (5 % of transfers pay another sender).
    Erc20,
    /// Swaps on four hot constant-product pools, interleaved with independent ETH and token
    /// transfers: each pool is a dependency chain.
    Uniswap,
    /// Every transaction increments one shared counter: one long dependency chain.
    Chain,
    /// A realistic blend: transfers, token transfers, swaps, a shared counter, contract
    /// creations and calls into them, reverts, senders with several transactions, and ETH passed
    /// along paths where each hop spends what the previous one sent it.
    Mixed,
}

impl WorkloadKind {
    /// Every workload, in order of increasing contention (mixed last).
    pub const ALL: [Self; 5] = [
        Self::Transfers,
        Self::Erc20,
        Self::Uniswap,
        Self::Chain,
        Self::Mixed,
    ];

    /// Name used on the command line and in reports.
    pub fn name(self) -> &'static str {
        match self {
            Self::Transfers => "transfers",
            Self::Erc20 => "erc20",
            Self::Uniswap => "uniswap",
            Self::Chain => "chain",
            Self::Mixed => "mixed",
        }
    }
}

impl fmt::Display for WorkloadKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// An unknown workload name.
#[derive(Debug, thiserror::Error)]
#[error("unknown workload {0:?} (expected transfers, erc20, uniswap, chain or mixed)")]
pub struct UnknownWorkload(String);

impl FromStr for WorkloadKind {
    type Err = UnknownWorkload;

    fn from_str(name: &str) -> Result<Self, Self::Err> {
        Self::ALL
            .into_iter()
            .find(|kind| kind.name().eq_ignore_ascii_case(name))
            .ok_or_else(|| UnknownWorkload(name.to_owned()))
    }
}

/// A block ready to execute: environment, transactions and the state they run on.
#[derive(Debug)]
pub struct Workload {
    /// What was built.
    pub kind: WorkloadKind,
    /// Cancun, chain id 1, base fee [`BASE_FEE`], base fee credited to a vault.
    pub env: ExecutionEnv,
    /// The block's transactions, in order.
    pub txs: Vec<TxEnv>,
    /// The pre-state: revm's in-memory database (read-only, shareable across threads).
    pub state: CacheDB<EmptyDB>,
}

/// Builds `txs` transactions of workload `kind`, with randomness drawn from `seed`.
pub fn build(kind: WorkloadKind, txs: usize, seed: u64) -> Workload {
    let mut builder = Builder::new(seed);
    match kind {
        WorkloadKind::Transfers => builder.transfers(txs),
        WorkloadKind::Erc20 => builder.erc20(txs),
        WorkloadKind::Uniswap => builder.uniswap(txs),
        WorkloadKind::Chain => builder.chain(txs),
        WorkloadKind::Mixed => builder.mixed(txs),
    }
    builder.finish(kind)
}

/// A constant-product pool and the token it sells.
#[derive(Clone, Copy, Debug)]
struct Pool {
    pool: Address,
    token: Address,
}

/// A later hop of an ETH path: `from` forwards `value`, which it receives just before.
#[derive(Clone, Copy, Debug)]
struct PendingHop {
    due: usize,
    from: Address,
    value: U256,
    remaining: usize,
}

struct Builder {
    rng: StdRng,
    state: CacheDB<EmptyDB>,
    nonces: HashMap<Address, u64>,
    next_address: u64,
    txs: Vec<TxEnv>,
    /// Token balances set so far, per token (for `totalSupply`).
    supplies: HashMap<Address, U256>,
}

impl Builder {
    fn new(seed: u64) -> Self {
        Self {
            rng: StdRng::seed_from_u64(seed),
            state: CacheDB::new(EmptyDB::default()),
            nonces: HashMap::new(),
            next_address: 0,
            txs: Vec::new(),
            supplies: HashMap::new(),
        }
    }

    /// A new address no other part of the workload uses.
    fn fresh_address(&mut self) -> Address {
        self.next_address += 1;
        let hash = keccak256(format!("parallax-bench/{}", self.next_address));
        Address::from_slice(&hash[12..])
    }

    /// A new externally owned account holding `balance` wei.
    fn account(&mut self, balance: U256) -> Address {
        let address = self.fresh_address();
        self.state
            .insert_account_info(address, AccountInfo::from_balance(balance));
        address
    }

    /// A new funded sender (100 ETH).
    fn sender(&mut self) -> Address {
        self.account(ether(100))
    }

    /// A new contract running `code`.
    fn contract(&mut self, code: Bytes) -> Address {
        self.contract_with_balance(code, U256::ZERO)
    }

    /// A new contract running `code` and holding `balance` wei.
    fn contract_with_balance(&mut self, code: Bytes, balance: U256) -> Address {
        let address = self.fresh_address();
        let info = AccountInfo {
            nonce: 1,
            balance,
            ..AccountInfo::default()
        }
        .with_code(Bytecode::new_raw(code));
        self.state.insert_account_info(address, info);
        address
    }

    fn set_storage(&mut self, address: Address, slot: U256, value: U256) {
        // The account was inserted first, so the empty database is never consulted.
        let Ok(()) = self.state.insert_account_storage(address, slot, value);
    }

    /// Gives `holder` `amount` of `token` and keeps `totalSupply` in step.
    fn mint(&mut self, token: Address, holder: Address, amount: U256) {
        self.set_storage(token, mapping_slot(holder, ERC20_BALANCES_SLOT), amount);
        let supply = self.supplies.entry(token).or_default();
        *supply += amount;
        let supply = *supply;
        self.set_storage(token, U256::from(ERC20_TOTAL_SUPPLY_SLOT), supply);
    }

    /// A token contract, without holders yet.
    fn token(&mut self) -> Address {
        self.contract(erc20_runtime())
    }

    /// A pool with deep reserves (10,000 ETH against 10,000,000 tokens) and its own token.
    fn pool(&mut self) -> Pool {
        let token = self.token();
        let pool = self.contract_with_balance(pool_runtime(), ether(10_000));
        let token_reserve = ether(10_000_000);
        self.mint(token, pool, token_reserve);
        self.set_storage(pool, U256::from(POOL_RESERVE_ETH_SLOT), ether(10_000));
        self.set_storage(pool, U256::from(POOL_RESERVE_TOKEN_SLOT), token_reserve);
        self.set_storage(pool, U256::from(POOL_TOKEN_SLOT), address_word(token));
        Pool { pool, token }
    }

    /// Appends an EIP-1559 transaction from `from` with its next nonce.
    fn tx(&mut self, from: Address, kind: TxKind, value: U256, data: Bytes, gas_limit: u64) {
        let nonce = self.nonces.entry(from).or_default();
        let tx = TxEnv {
            tx_type: 2,
            caller: from,
            gas_limit,
            gas_price: MAX_FEE_PER_GAS,
            gas_priority_fee: Some(PRIORITY_FEE_PER_GAS),
            kind,
            value,
            data,
            nonce: *nonce,
            chain_id: Some(CHAIN_ID),
            ..TxEnv::default()
        };
        *nonce += 1;
        self.txs.push(tx);
    }

    /// A random transfer amount between 1 szabo and 1 ETH.
    fn eth_amount(&mut self) -> U256 {
        U256::from(
            self.rng
                .random_range(1_000_000_000_000u64..=1_000_000_000_000_000_000),
        )
    }

    /// A random token amount, at most 1,000 tokens.
    fn token_amount(&mut self) -> U256 {
        U256::from(self.rng.random_range(1u64..=1_000_000)) * U256::from(1_000_000_000_000_000u64)
    }

    fn eth_transfer(&mut self, from: Address, to: Address) {
        let value = self.eth_amount();
        self.tx(from, TxKind::Call(to), value, Bytes::new(), TRANSFER_GAS);
    }

    fn token_transfer(&mut self, from: Address, token: Address, to: Address, amount: U256) {
        let data = calldata("transfer(address,uint256)", &[address_word(to), amount]);
        self.tx(from, TxKind::Call(token), U256::ZERO, data, ERC20_GAS);
    }

    fn swap(&mut self, from: Address, pool: Pool, min_out: U256) {
        // Between 0.01 and 1 ETH: well below the reserves, so the price moves little.
        let value = U256::from(self.rng.random_range(1u64..=100)) * ether(1) / U256::from(100);
        let data = calldata("swap(uint256)", &[min_out]);
        self.tx(from, TxKind::Call(pool.pool), value, data, SWAP_GAS);
    }

    /// Distinct senders, distinct recipients; half the recipients already exist.
    fn transfers(&mut self, txs: usize) {
        for _ in 0..txs {
            let from = self.sender();
            let to = if self.rng.random_bool(0.5) {
                self.account(ether(1))
            } else {
                self.fresh_address()
            };
            self.eth_transfer(from, to);
        }
    }

    /// Distinct senders, each holding tokens, paying random holders: mostly members of a set of
    /// four times as many other holders (half of them with a balance already), and in 5 % of
    /// transfers another sender, which makes that sender's own transfer depend on this one when
    /// it comes later in the block.
    fn erc20(&mut self, txs: usize) {
        let token = self.token();
        let senders: Vec<Address> = (0..txs).map(|_| self.sender()).collect();
        let holders: Vec<Address> = (0..4 * txs.max(1)).map(|_| self.fresh_address()).collect();
        for &sender in &senders {
            self.mint(token, sender, ether(1_000_000));
        }
        for &holder in &holders {
            if self.rng.random_bool(0.5) {
                self.mint(token, holder, ether(1_000));
            }
        }
        for &from in &senders {
            let to = if self.rng.random_bool(0.05) {
                senders[self.rng.random_range(0..senders.len())]
            } else {
                holders[self.rng.random_range(0..holders.len())]
            };
            let amount = self.token_amount();
            self.token_transfer(from, token, to, amount);
        }
    }

    /// Half swaps on four pools, half independent ETH or token transfers, shuffled.
    fn uniswap(&mut self, txs: usize) {
        let pools: Vec<Pool> = (0..4).map(|_| self.pool()).collect();
        for _ in 0..txs {
            let from = self.sender();
            if self.rng.random_bool(0.5) {
                let pool = pools[self.rng.random_range(0..pools.len())];
                self.swap(from, pool, U256::from(1));
            } else if self.rng.random_bool(0.5) {
                let to = self.fresh_address();
                self.eth_transfer(from, to);
            } else {
                let token = pools[self.rng.random_range(0..pools.len())].token;
                self.mint(token, from, ether(10_000));
                let to = self.fresh_address();
                let amount = self.token_amount();
                self.token_transfer(from, token, to, amount);
            }
        }
    }

    /// Distinct senders all incrementing one counter.
    fn chain(&mut self, txs: usize) {
        let counter = self.contract(counter_runtime());
        for _ in 0..txs {
            let from = self.sender();
            self.tx(
                from,
                TxKind::Call(counter),
                U256::ZERO,
                Bytes::new(),
                COUNTER_GAS,
            );
        }
    }

    /// See [`WorkloadKind::Mixed`].
    fn mixed(&mut self, txs: usize) {
        let token = self.token();
        let pools: Vec<Pool> = (0..4).map(|_| self.pool()).collect();
        let counter = self.contract(counter_runtime());
        // A few busy accounts (exchanges, bots) that send many transactions each.
        let busy: Vec<Address> = (0..8).map(|_| self.account(ether(10_000))).collect();
        for &account in &busy {
            self.mint(token, account, ether(1_000_000));
        }
        let mut deployed: Vec<Address> = Vec::new();
        let mut hops: Vec<PendingHop> = Vec::new();
        while self.txs.len() < txs {
            let position = self.txs.len();
            if let Some(at) = hops.iter().position(|hop| hop.due <= position) {
                let hop = hops.swap_remove(at);
                let to = self.path_account();
                self.tx(
                    hop.from,
                    TxKind::Call(to),
                    hop.value,
                    Bytes::new(),
                    TRANSFER_GAS,
                );
                if hop.remaining > 0 {
                    let due = position + 1 + self.rng.random_range(0..8);
                    hops.push(PendingHop {
                        due,
                        from: to,
                        value: hop.value,
                        remaining: hop.remaining - 1,
                    });
                }
                continue;
            }
            let from = if self.rng.random_bool(0.1) {
                busy[self.rng.random_range(0..busy.len())]
            } else {
                self.sender()
            };
            match self.rng.random_range(0..100u32) {
                0..30 => {
                    let to = if self.rng.random_bool(0.3) {
                        busy[self.rng.random_range(0..busy.len())]
                    } else {
                        self.fresh_address()
                    };
                    self.eth_transfer(from, to);
                }
                30..55 => {
                    if !busy.contains(&from) {
                        self.mint(token, from, ether(10_000));
                    }
                    let to = if self.rng.random_bool(0.3) {
                        busy[self.rng.random_range(0..busy.len())]
                    } else {
                        self.fresh_address()
                    };
                    let amount = self.token_amount();
                    self.token_transfer(from, token, to, amount);
                }
                55..75 => {
                    let pool = pools[self.rng.random_range(0..pools.len())];
                    self.swap(from, pool, U256::from(1));
                }
                75..80 => self.tx(
                    from,
                    TxKind::Call(counter),
                    U256::ZERO,
                    Bytes::new(),
                    COUNTER_GAS,
                ),
                80..84 => {
                    let nonce = self.nonces.get(&from).copied().unwrap_or_default();
                    deployed.push(from.create(nonce));
                    let code = deploy_code(&counter_runtime());
                    self.tx(from, TxKind::Create, U256::ZERO, code, CREATE_GAS);
                }
                84..88 => {
                    let target = if deployed.is_empty() {
                        counter
                    } else {
                        deployed[self.rng.random_range(0..deployed.len())]
                    };
                    self.tx(
                        from,
                        TxKind::Call(target),
                        U256::ZERO,
                        Bytes::new(),
                        COUNTER_GAS,
                    );
                }
                88..90 => {
                    // Overdraft: a holder of 10 tokens sends 11.
                    let poor = self.sender();
                    self.mint(token, poor, ether(10));
                    let to = self.fresh_address();
                    self.token_transfer(poor, token, to, ether(11));
                }
                90..92 => {
                    // Slippage: no swap can return 2^256 - 1 tokens.
                    let pool = pools[self.rng.random_range(0..pools.len())];
                    self.swap(from, pool, U256::MAX);
                }
                _ => {
                    // The first hop of a path: each later hop forwards what it just received
                    // and cannot pay for it before the previous hop has run.
                    let to = self.path_account();
                    let value = self.eth_amount();
                    self.tx(from, TxKind::Call(to), value, Bytes::new(), TRANSFER_GAS);
                    let due = position + 1 + self.rng.random_range(0..8);
                    let remaining = self.rng.random_range(0..3);
                    hops.push(PendingHop {
                        due,
                        from: to,
                        value,
                        remaining,
                    });
                }
            }
        }
    }

    /// An account holding exactly enough ETH to pay for one transfer at the maximum fee.
    fn path_account(&mut self) -> Address {
        self.account(U256::from(u128::from(TRANSFER_GAS) * MAX_FEE_PER_GAS))
    }

    fn finish(self, kind: WorkloadKind) -> Workload {
        let gas: u64 = self.txs.iter().map(|tx| tx.gas_limit).sum();
        let mut block = BlockEnv {
            number: U256::from(20_000_000u64),
            beneficiary: Address::repeat_byte(0xbe),
            timestamp: U256::from(1_720_000_000u64),
            gas_limit: gas.max(30_000_000),
            basefee: BASE_FEE,
            difficulty: U256::ZERO,
            prevrandao: Some(B256::repeat_byte(0x42)),
            ..BlockEnv::default()
        };
        block.set_blob_excess_gas_and_price(0, BLOB_BASE_FEE_UPDATE_FRACTION_CANCUN);
        let env = ExecutionEnv {
            spec: SpecId::CANCUN,
            chain_id: CHAIN_ID,
            block,
            base_fee_recipient: Some(Address::repeat_byte(0xfe)),
            l1_fee_recipient: None,
        };
        Workload {
            kind,
            env,
            txs: self.txs,
            state: self.state,
        }
    }
}

#[cfg(test)]
mod tests {
    use parallax_executor::{BlockExecutor, BlockStm, Sequential, TxStatus};

    use super::*;

    #[test]
    fn workloads_are_deterministic_valid_and_engines_agree() {
        for kind in WorkloadKind::ALL {
            let workload = build(kind, 300, 7);
            assert_eq!(workload.txs.len(), 300, "{kind}");
            assert_eq!(
                build(kind, 300, 7).txs,
                workload.txs,
                "{kind} is deterministic"
            );
            let sequential = Sequential
                .execute_block(&workload.env, &workload.txs, &workload.state)
                .unwrap_or_else(|error| panic!("{kind}: {error}"));
            let parallel = BlockStm::new(4)
                .with_min_parallel_txs(0)
                .execute_block(&workload.env, &workload.txs, &workload.state)
                .unwrap_or_else(|error| panic!("{kind}: {error}"));
            assert!(
                sequential == parallel,
                "{kind}: Block-STM differs from Sequential"
            );
            let reverted = sequential
                .receipts
                .iter()
                .filter(|receipt| !receipt.status.is_success())
                .count();
            match kind {
                WorkloadKind::Mixed => assert!(reverted > 0, "mixed has reverts"),
                _ => assert_eq!(
                    reverted,
                    0,
                    "{kind}: {:?}",
                    sequential
                        .receipts
                        .iter()
                        .find(|r| r.status != TxStatus::Success)
                ),
            }
        }
    }

    #[test]
    fn mixed_deploys_and_calls_new_contracts() {
        let workload = build(WorkloadKind::Mixed, 1_000, 1);
        let outcome = Sequential
            .execute_block(&workload.env, &workload.txs, &workload.state)
            .unwrap();
        assert!(outcome
            .receipts
            .iter()
            .any(|receipt| receipt.contract_address.is_some()));
    }
}
