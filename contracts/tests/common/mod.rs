//! A minimal in-memory L2 for running compiled contracts inside revm (the executor's pinned
//! version): code placed at fixed addresses as genesis does, and calls committed one by one, so
//! a test can check the Solidity side against the Rust side bit for bit.

// Each test binary uses a subset of these helpers.
#![allow(dead_code)]

use alloy::primitives::{Address, Bytes, U256};
use parallax_executor::revm::{
    context::{result::ExecutionResult, Context, TxEnv},
    database::{CacheDB, EmptyDB},
    primitives::{hardfork::SpecId, TxKind},
    state::{AccountInfo, Bytecode},
    ExecuteCommitEvm, MainBuilder, MainContext,
};

/// Accounts and storage, kept between calls.
#[derive(Default)]
pub(crate) struct Chain {
    db: CacheDB<EmptyDB>,
}

impl Chain {
    /// Places `runtime` at `address` with nonce 1, as genesis places predeploys.
    pub(crate) fn install(&mut self, address: Address, runtime: &[u8]) {
        let info = AccountInfo::default()
            .with_code(Bytecode::new_raw(Bytes::copy_from_slice(runtime)))
            .with_nonce(1);
        self.db.insert_account_info(address, info);
    }

    /// A storage slot of `address` as committed.
    pub(crate) fn storage(&self, address: Address, slot: U256) -> U256 {
        self.db
            .cache
            .accounts
            .get(&address)
            .and_then(|account| account.storage.get(&slot).copied())
            .unwrap_or_default()
    }

    /// Calls `to` from `from` with `data` on Cancun rules, at gas price 0 (base fee and nonce
    /// checks off: these are system-style calls, not user transactions), and commits the result.
    pub(crate) fn call(
        &mut self,
        from: Address,
        to: Address,
        data: Bytes,
        gas_limit: u64,
    ) -> ExecutionResult {
        let mut evm = Context::mainnet()
            .with_db(&mut self.db)
            .modify_cfg_chained(|cfg| {
                cfg.spec = SpecId::CANCUN;
                cfg.disable_base_fee = true;
                cfg.disable_nonce_check = true;
            })
            .build_mainnet();
        let tx = TxEnv {
            caller: from,
            kind: TxKind::Call(to),
            data,
            gas_limit,
            gas_price: 0,
            ..Default::default()
        };
        evm.transact_commit(tx).expect("the transaction is valid")
    }

    /// Deploys `initcode` from `from` with a create transaction and returns the new address.
    pub(crate) fn deploy(&mut self, from: Address, initcode: Bytes) -> Address {
        let mut evm = Context::mainnet()
            .with_db(&mut self.db)
            .modify_cfg_chained(|cfg| {
                cfg.spec = SpecId::CANCUN;
                cfg.disable_base_fee = true;
                cfg.disable_nonce_check = true;
            })
            .build_mainnet();
        let tx = TxEnv {
            caller: from,
            kind: TxKind::Create,
            data: initcode,
            gas_limit: 30_000_000,
            gas_price: 0,
            ..Default::default()
        };
        match evm.transact_commit(tx).expect("the transaction is valid") {
            ExecutionResult::Success {
                output: parallax_executor::revm::context::result::Output::Create(_, Some(address)),
                ..
            } => address,
            other => panic!("deployment failed: {other:?}"),
        }
    }

    /// A view call that must succeed; returns its output.
    pub(crate) fn view(&mut self, to: Address, data: Vec<u8>) -> Bytes {
        match self.call(Address::ZERO, to, data.into(), 30_000_000) {
            ExecutionResult::Success { output, .. } => output.into_data(),
            other => panic!("view call to {to} failed: {other:?}"),
        }
    }
}

/// A chain of Ethereum headers (blocks `first .. end`), each naming the previous one's hash as
/// its parentHash: the block hashes BLOCKHASH returns in a test, and the ancestor headers the
/// one-step witness proves them with. Block 0's parent hash is zero; a chain starting later
/// hangs from an arbitrary hash.
pub(crate) struct HeaderChain {
    first: u64,
    headers: Vec<Bytes>,
    hashes: Vec<alloy::primitives::B256>,
}

impl HeaderChain {
    /// Headers of blocks `first .. end`.
    pub(crate) fn new(first: u64, end: u64) -> Self {
        let mut parent = if first == 0 {
            alloy::primitives::B256::ZERO
        } else {
            alloy::primitives::keccak256(b"below the test chain")
        };
        let mut headers = Vec::new();
        let mut hashes = Vec::new();
        for number in first..end {
            let header = alloy::consensus::Header {
                parent_hash: parent,
                number,
                gas_limit: 30_000_000,
                timestamp: 1_700_000_000 + 2 * number,
                ..Default::default()
            };
            let rlp = Bytes::from(alloy_rlp::encode(&header));
            parent = alloy::primitives::keccak256(&rlp);
            headers.push(rlp);
            hashes.push(parent);
        }
        Self {
            first,
            headers,
            hashes,
        }
    }

    /// The 256 blocks before `number` (fewer near genesis): what BLOCKHASH can read there.
    pub(crate) fn window(number: u64) -> Self {
        Self::new(number.saturating_sub(256), number)
    }

    /// Blocks and their hashes, oldest first.
    pub(crate) fn hashes(&self) -> impl Iterator<Item = (u64, alloy::primitives::B256)> + '_ {
        (self.first..).zip(self.hashes.iter().copied())
    }

    /// The hash of block `number`, if the chain has it.
    pub(crate) fn hash(&self, number: u64) -> Option<alloy::primitives::B256> {
        let index = usize::try_from(number.checked_sub(self.first)?).ok()?;
        self.hashes.get(index).copied()
    }

    /// The proven hashes the interpreter takes for block `number`, nearest first (`[0]` is the
    /// parent's), `count` of them at most.
    pub(crate) fn hashes_before(&self, number: u64, count: usize) -> Vec<alloy::primitives::B256> {
        (0..count as u64)
            .map_while(|depth| self.hash(number.checked_sub(depth + 1)?))
            .collect()
    }

    /// The ancestor headers a challenger has for block `number`: `number - 1` down to
    /// `number - 255` (never genesis), nearest first.
    pub(crate) fn ancestors_of(&self, number: u64) -> Vec<Bytes> {
        (1..=255u64)
            .map_while(|depth| {
                let block = number.checked_sub(depth).filter(|block| *block >= 1)?;
                let index = usize::try_from(block.checked_sub(self.first)?).ok()?;
                self.headers.get(index).cloned()
            })
            .collect()
    }
}
