//! Differential test of the one-step-proof EVM (`EvmInterpreter`, run as bytecode inside revm)
//! against the reference executor (`parallax_executor::Sequential` with `RollupTx`, i.e. revm at
//! Cancun plus Parallax's deposit and fee rules).
//!
//! A scripted sequence of transactions (the L1-info system deposit calling `L1Block`, user and
//! failing deposits, plain transfers, an ERC-20 style transfer, deployments, CREATE/CREATE2, calls
//! of every kind, reverts, out-of-gas, INVALID, storage refunds, logs, transient storage,
//! precompiles, EIP-6780 self-destructs, nested reverting calls, EIP-1559 and EIP-2930
//! transactions, invalid transactions) followed by seeded random calls, each run by both sides
//! on the same pre-state. For every transaction the status, gas used, logs accumulator
//! (DISPUTE.md) and the whole post-state (every account and slot) must agree; an invalid
//! transaction must make the interpreter revert `InvalidTransaction`.
//!
//! The interpreter's pre-state input is built the way a witness builder would: every account,
//! slot and code of the (small) world, plus whatever it then reports missing
//! (`MissingAccount` / `MissingSlot`: absent accounts, zero slots), retried until it runs.

mod common;

use std::{collections::BTreeMap, convert::Infallible};

use alloy::{
    eips::eip2930::{AccessList, AccessListItem},
    primitives::{address, keccak256, Address, Bytes, Log, B256, U256},
    sol_types::{SolCall, SolConstructor, SolInterface},
};
use common::Chain;
use parallax_executor::{
    revm::{
        context::{result::ExecutionResult, BlockEnv, TxEnv},
        database_interface::DatabaseRef,
        primitives::{eip4844::BLOB_BASE_FEE_UPDATE_FRACTION_CANCUN, hardfork::SpecId, TxKind},
        state::{AccountInfo, Bytecode},
    },
    AccountBasic, BlockExecutor, ExecutionEnv, ExecutionError, RollupTx, Sequential, StateChanges,
    TxFunding,
};
use parallax_protocol::{
    deposit::DepositTx,
    l1_data_fee,
    l1_info::L1Info,
    predeploys::{BASE_FEE_VAULT, L1_BLOCK, L1_FEE_VAULT, SEQUENCER_FEE_VAULT},
    L1FeeScalars,
};
use rand::{rngs::StdRng, Rng, SeedableRng};

alloy::sol!(
    #[derive(Debug)]
    EvmInterpreter,
    "artifacts/EvmInterpreter.json"
);
alloy::sol!(EvmPrecompiles, "artifacts/EvmPrecompiles.json");
alloy::sol!(
    #[derive(Debug)]
    EvmSamples,
    "artifacts/test/EvmSamples.json"
);
alloy::sol!(L1Block, "artifacts/L1Block.json");

const CHAIN_ID: u64 = 901;
const ALICE: Address = address!("a11ce00000000000000000000000000000000001");
const BOB: Address = address!("b0b0000000000000000000000000000000000002");
const CAROL: Address = address!("ca401000000000000000000000000000000000c3");
const SCALARS: L1FeeScalars = L1FeeScalars {
    base_fee_scalar: 1368,
    blob_base_fee_scalar: 810_949,
};
const BASE_FEE: u64 = 1_000_000_000;

/// A flat L2 world: the executor reads it as its pre-state, the interpreter gets it as proven input.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
struct World {
    accounts: BTreeMap<Address, AccountBasic>,
    storage: BTreeMap<Address, BTreeMap<U256, U256>>,
    codes: BTreeMap<B256, Bytes>,
}

impl DatabaseRef for World {
    type Error = Infallible;

    fn basic_ref(&self, address: Address) -> Result<Option<AccountInfo>, Infallible> {
        Ok(self.accounts.get(&address).map(|basic| {
            let mut info = AccountInfo::from(*basic);
            info.code = self
                .codes
                .get(&basic.code_hash)
                .map(|code| Bytecode::new_raw(code.clone()));
            info
        }))
    }

    fn code_by_hash_ref(&self, hash: B256) -> Result<Bytecode, Infallible> {
        Ok(self
            .codes
            .get(&hash)
            .map(|code| Bytecode::new_raw(code.clone()))
            .unwrap_or_default())
    }

    fn storage_ref(&self, address: Address, index: U256) -> Result<U256, Infallible> {
        Ok(self
            .storage
            .get(&address)
            .and_then(|slots| slots.get(&index))
            .copied()
            .unwrap_or_default())
    }

    fn block_hash_ref(&self, number: u64) -> Result<B256, Infallible> {
        Ok(keccak256(number.to_be_bytes()))
    }
}

impl World {
    fn set_slot(&mut self, address: Address, slot: U256, value: U256) {
        let slots = self.storage.entry(address).or_default();
        if value.is_zero() {
            slots.remove(&slot);
        } else {
            slots.insert(slot, value);
        }
        if slots.is_empty() {
            self.storage.remove(&address);
        }
    }

    fn install(&mut self, address: Address, code: &Bytes) {
        let hash = keccak256(code);
        self.codes.insert(hash, code.clone());
        self.accounts.insert(
            address,
            AccountBasic {
                balance: U256::ZERO,
                nonce: 1,
                code_hash: hash,
            },
        );
    }

    /// The executor's block changes.
    fn apply_executor(&mut self, changes: &StateChanges) {
        for (hash, code) in &changes.contracts {
            self.codes.insert(*hash, code.original_bytes());
        }
        for (address, change) in &changes.accounts {
            if change.storage_cleared {
                self.storage.remove(address);
            }
            match change.info {
                None => {
                    self.accounts.remove(address);
                    self.storage.remove(address);
                    continue;
                }
                Some(info) => {
                    self.accounts.insert(*address, info);
                }
            }
            for (slot, value) in &change.storage {
                self.set_slot(*address, *slot, *value);
            }
        }
    }

    /// The interpreter's writes.
    fn apply_interpreter(&mut self, result: &EvmInterpreter::ExecResult) {
        for account in &result.accounts {
            if account.deleted || account.storageCleared {
                self.storage.remove(&account.addr);
            }
            if account.deleted {
                self.accounts.remove(&account.addr);
            } else {
                self.accounts.insert(
                    account.addr,
                    AccountBasic {
                        balance: account.balance,
                        nonce: account.nonce,
                        code_hash: account.codeHash,
                    },
                );
            }
        }
        for slot in &result.slots {
            self.set_slot(slot.addr, slot.slot, slot.value);
        }
    }
}

/// One test transaction: what the executor runs and the raw bytes its L1 data fee is charged on.
struct TestTx {
    name: String,
    rollup: RollupTx,
    access_list: Vec<(Address, Vec<U256>)>,
    raw: Vec<u8>,
}

/// What a run of the interpreter gave.
enum Verdict {
    Executed(EvmInterpreter::ExecResult, u64),
    Invalid(u8),
}

struct Harness {
    chain: Chain,
    interpreter: Address,
    world: World,
    env: ExecutionEnv,
    /// Absent accounts and zero slots the interpreter asked for, kept across transactions.
    absent: Vec<Address>,
    zero_slots: Vec<(Address, U256)>,
    nonce: u64,
    l1_gas: BTreeMap<String, u64>,
}

impl Harness {
    fn new() -> Self {
        let mut chain = Chain::default();
        let deployer = Address::repeat_byte(0xde);
        let precompiles = chain.deploy(deployer, EvmPrecompiles::BYTECODE.clone());
        let mut initcode = EvmInterpreter::BYTECODE.to_vec();
        initcode.extend(EvmInterpreter::constructorCall::new((precompiles,)).abi_encode());
        let interpreter = chain.deploy(deployer, initcode.into());

        let mut world = World::default();
        world.install(L1_BLOCK, &L1Block::DEPLOYED_BYTECODE);
        world.accounts.insert(
            ALICE,
            AccountBasic {
                balance: U256::from(10u128.pow(21)),
                ..Default::default()
            },
        );
        let mut block = BlockEnv {
            number: U256::from(100),
            beneficiary: SEQUENCER_FEE_VAULT,
            timestamp: U256::from(1_700_000_000u64),
            gas_limit: 30_000_000,
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
            base_fee_recipient: Some(BASE_FEE_VAULT),
            l1_fee_recipient: Some(L1_FEE_VAULT),
        };
        Self {
            chain,
            interpreter,
            world,
            env,
            absent: Vec::new(),
            zero_slots: Vec::new(),
            nonce: 0,
            l1_gas: BTreeMap::new(),
        }
    }

    fn fee(&self, raw: &[u8]) -> U256 {
        l1_data_fee(
            raw,
            self.world.storage_ref(L1_BLOCK, U256::from(1)).unwrap(),
            self.world.storage_ref(L1_BLOCK, U256::from(2)).unwrap(),
            SCALARS,
        )
    }

    /// A signed transaction from Alice (nonce tracked here) of EIP-2718 type `tx_type`.
    fn signed(&mut self, name: &str, to: TxKind, value: u128, data: Vec<u8>, gas: u64) -> TestTx {
        self.signed_typed(name, 0, to, value, data, gas)
    }

    fn signed_typed(
        &mut self,
        name: &str,
        tx_type: u8,
        to: TxKind,
        value: u128,
        data: Vec<u8>,
        gas: u64,
    ) -> TestTx {
        // Raw bytes the L1 fee is charged on: any bytes do (both sides see the same ones).
        let mut raw = vec![tx_type.max(0xf8)];
        raw.extend_from_slice(&data);
        raw.extend_from_slice(&[0, 0, 1, 2, 3]);
        let fee = self.fee(&raw);
        let (gas_price, gas_priority_fee) = match tx_type {
            2 => (3 * u128::from(BASE_FEE), Some(u128::from(BASE_FEE / 2))),
            _ => (2 * u128::from(BASE_FEE), None),
        };
        let env = TxEnv {
            tx_type,
            caller: ALICE,
            gas_limit: gas,
            gas_price,
            gas_priority_fee,
            kind: to,
            value: U256::from(value),
            data: data.into(),
            nonce: self.nonce,
            chain_id: Some(CHAIN_ID),
            ..TxEnv::default()
        };
        TestTx {
            name: name.to_string(),
            rollup: RollupTx {
                env,
                funding: TxFunding::Signed { l1_data_fee: fee },
            },
            access_list: Vec::new(),
            raw,
        }
    }

    fn deposit(&self, name: &str, deposit: &DepositTx) -> TestTx {
        TestTx {
            name: name.to_string(),
            rollup: RollupTx::deposit(deposit),
            access_list: Vec::new(),
            raw: Vec::new(),
        }
    }

    fn input(&self, tx: &TestTx) -> EvmInterpreter::ExecInput {
        let env = &tx.rollup.env;
        let (deposit, mint, system) = match tx.rollup.funding {
            TxFunding::Deposit { mint, system } => (true, mint, system),
            TxFunding::Signed { .. } => (false, U256::ZERO, false),
        };
        let zeros = tx.raw.iter().filter(|byte| **byte == 0).count() as u64;
        let l1_gas = zeros * 4 + (tx.raw.len() as u64 - zeros) * 16;
        let block = &self.env.block;
        let mut accounts: Vec<EvmInterpreter::PreAccount> = self
            .world
            .accounts
            .iter()
            .map(|(address, basic)| EvmInterpreter::PreAccount {
                addr: *address,
                nonce: basic.nonce,
                balance: basic.balance,
                codeHash: basic.code_hash,
                exists: true,
            })
            .collect();
        accounts.extend(
            self.absent
                .iter()
                .filter(|address| !self.world.accounts.contains_key(*address))
                .map(|address| EvmInterpreter::PreAccount {
                    addr: *address,
                    nonce: 0,
                    balance: U256::ZERO,
                    codeHash: B256::ZERO,
                    exists: false,
                }),
        );
        let mut slots: Vec<EvmInterpreter::PreSlot> = Vec::new();
        for (address, storage) in &self.world.storage {
            for (slot, value) in storage {
                slots.push(EvmInterpreter::PreSlot {
                    addr: *address,
                    slot: *slot,
                    value: *value,
                });
            }
        }
        for (address, slot) in &self.zero_slots {
            if self.world.storage_ref(*address, *slot).unwrap().is_zero() {
                slots.push(EvmInterpreter::PreSlot {
                    addr: *address,
                    slot: *slot,
                    value: U256::ZERO,
                });
            }
        }
        EvmInterpreter::ExecInput {
            ctx: EvmInterpreter::BlockContext {
                chainId: U256::from(CHAIN_ID),
                number: block.number,
                timestamp: block.timestamp,
                coinbase: block.beneficiary,
                gasLimit: U256::from(block.gas_limit),
                baseFee: U256::from(block.basefee),
                prevRandao: block.prevrandao.unwrap_or_default(),
            },
            txn: EvmInterpreter::TxInput {
                txType: if deposit { 0x7e } else { env.tx_type },
                from: env.caller,
                to: env.kind.to().copied().unwrap_or_default(),
                isCreate: env.kind.is_create(),
                nonce: env.nonce,
                gasLimit: env.gas_limit,
                maxFeePerGas: U256::from(env.gas_price),
                maxPriorityFeePerGas: U256::from(env.gas_priority_fee.unwrap_or(env.gas_price)),
                value: env.value,
                data: env.data.clone(),
                accessList: tx
                    .access_list
                    .iter()
                    .map(|(addr, keys)| EvmInterpreter::AccessListItem {
                        addr: *addr,
                        keys: keys.clone(),
                    })
                    .collect(),
                mint,
                isSystem: system,
                l1GasUsed: U256::from(if deposit { 0 } else { l1_gas }),
            },
            fees: EvmInterpreter::FeeConfig {
                baseFeeVault: BASE_FEE_VAULT,
                l1FeeVault: L1_FEE_VAULT,
            },
            accounts,
            slots,
            codes: self.world.codes.values().cloned().collect(),
        }
    }

    /// Runs the interpreter, adding what it reports missing until it runs.
    fn interpret(&mut self, tx: &TestTx) -> Verdict {
        for _ in 0..500 {
            let call = EvmInterpreter::executeCall {
                input: self.input(tx),
            };
            match self.chain.call(
                Address::ZERO,
                self.interpreter,
                call.abi_encode().into(),
                1_000_000_000,
            ) {
                ExecutionResult::Success { output, gas, .. } => {
                    let gas_used = gas.tx_gas_used();
                    let result = EvmInterpreter::executeCall::abi_decode_returns(output.data())
                        .expect("interpreter output decodes");
                    return Verdict::Executed(result, gas_used);
                }
                ExecutionResult::Revert { output, .. } => {
                    match EvmInterpreter::EvmInterpreterErrors::abi_decode(&output) {
                        Ok(EvmInterpreter::EvmInterpreterErrors::MissingAccount(missing)) => {
                            assert!(!self.absent.contains(&missing.account), "{missing:?} again");
                            self.absent.push(missing.account);
                        }
                        Ok(EvmInterpreter::EvmInterpreterErrors::MissingSlot(missing)) => {
                            let key = (missing.account, missing.slot);
                            assert!(!self.zero_slots.contains(&key), "{key:?} again");
                            self.zero_slots.push(key);
                        }
                        Ok(EvmInterpreter::EvmInterpreterErrors::InvalidTransaction(invalid)) => {
                            return Verdict::Invalid(invalid.reason);
                        }
                        other => panic!("{}: interpreter reverted: {other:?} ({output})", tx.name),
                    }
                }
                halt => panic!("{}: interpreter halted: {halt:?}", tx.name),
            }
        }
        panic!("{}: the interpreter kept asking for more state", tx.name)
    }

    /// Runs `tx` on both sides, compares, and moves the world on. Returns the L1 gas used.
    fn check(&mut self, tx: TestTx) -> Option<u64> {
        let executed =
            Sequential.execute_block(&self.env, std::slice::from_ref(&tx.rollup), &self.world);
        let verdict = self.interpret(&tx);
        let outcome = match (executed, verdict) {
            (Err(ExecutionError::InvalidTransaction { .. }), Verdict::Invalid(_)) => return None,
            (Err(error), _) => panic!("{}: executor failed: {error}", tx.name),
            (Ok(outcome), Verdict::Invalid(reason)) => {
                panic!(
                    "{}: valid for the executor, invalid ({reason}) for the interpreter: {:?}",
                    tx.name, outcome.receipts
                )
            }
            (Ok(outcome), Verdict::Executed(result, l1_gas)) => (outcome, result, l1_gas),
        };
        let (outcome, result, l1_gas) = outcome;
        let receipt = &outcome.receipts[0];
        if result.status == 1 && !receipt.status.is_success()
            || result.status == 0 && receipt.status.is_success()
            || result.gasUsed != receipt.gas_used
        {
            eprintln!("{}: interpreter {result:?}\nexecutor {receipt:?}", tx.name);
        }
        assert_eq!(
            result.status == 1,
            receipt.status.is_success(),
            "{}: status (executor {:?})",
            tx.name,
            receipt.status
        );
        assert_eq!(result.gasUsed, receipt.gas_used, "{}: gas used", tx.name);
        assert_eq!(result.logsAcc, logs_acc(&receipt.logs), "{}: logs", tx.name);
        let mut expected = self.world.clone();
        expected.apply_executor(&outcome.state_changes);
        let mut actual = self.world.clone();
        actual.apply_interpreter(&result);
        actual.codes = expected.codes.clone();
        if expected != actual {
            for (address, basic) in &expected.accounts {
                if actual.accounts.get(address) != Some(basic) {
                    eprintln!(
                        "account {address}: executor {basic:?}, interpreter {:?}",
                        actual.accounts.get(address)
                    );
                }
            }
            for address in actual.accounts.keys() {
                if !expected.accounts.contains_key(address) {
                    eprintln!("account {address}: only the interpreter has it");
                }
            }
            for (address, slots) in &expected.storage {
                if actual.storage.get(address) != Some(slots) {
                    eprintln!(
                        "storage {address}: executor {slots:?}, interpreter {:?}",
                        actual.storage.get(address)
                    );
                }
            }
            for address in actual.storage.keys() {
                if !expected.storage.contains_key(address) {
                    eprintln!(
                        "storage {address}: only the interpreter has {:?}",
                        actual.storage.get(address)
                    );
                }
            }
            panic!(
                "{}: post-states differ (status {:?})",
                tx.name, receipt.status
            );
        }
        self.world = expected;
        if let TxFunding::Signed { .. } = tx.rollup.funding {
            self.nonce += 1;
        }
        self.l1_gas.insert(tx.name.clone(), l1_gas);
        Some(l1_gas)
    }
}

/// The logs accumulator of DISPUTE.md.
fn logs_acc(logs: &[Log]) -> B256 {
    let mut acc = B256::ZERO;
    for log in logs {
        let mut packed = acc.to_vec();
        packed.extend_from_slice(log.address.as_slice());
        packed.push(log.topics().len() as u8);
        for topic in log.topics() {
            packed.extend_from_slice(topic.as_slice());
        }
        packed.extend_from_slice(keccak256(&log.data.data).as_slice());
        acc = keccak256(&packed);
    }
    acc
}

fn call(to: Address) -> TxKind {
    TxKind::Call(to)
}

fn l1_info_deposit(sequence_number: u64) -> DepositTx {
    L1Info {
        number: 18_000_000,
        timestamp: 1_699_999_000,
        base_fee: U256::from(25_000_000_000u64),
        blob_base_fee: U256::from(3u64),
        hash: B256::repeat_byte(0x11),
        sequence_number,
        batcher_hash: B256::repeat_byte(0x22),
        scalars: SCALARS,
    }
    .deposit()
}

#[test]
fn interpreter_matches_the_executor() {
    let mut h = Harness::new();
    assert!(h
        .check(h.deposit("l1-info deposit", &l1_info_deposit(0)))
        .is_some());

    let samples = Address::create(&ALICE, 0);
    let deploy = h.signed(
        "deploy EvmSamples",
        TxKind::Create,
        5,
        EvmSamples::BYTECODE.to_vec(),
        3_000_000,
    );
    h.check(deploy).unwrap();
    assert!(
        h.world.accounts[&samples].code_hash != parallax_executor::revm::primitives::KECCAK_EMPTY
    );

    let tx = h.signed("plain transfer", call(BOB), 10u128.pow(18), vec![], 21_000);
    h.check(tx).unwrap();
    let data = EvmSamples::transferCall {
        to: BOB,
        amount: U256::from(100),
    }
    .abi_encode();
    let tx = h.signed("erc20 transfer", call(samples), 0, data, 100_000);
    h.check(tx).unwrap();

    let calls: Vec<(&str, Vec<u8>, u128, u64)> = vec![
        (
            "loop",
            EvmSamples::loopCall { n: U256::from(40) }.abi_encode(),
            0,
            2_000_000,
        ),
        (
            "store",
            EvmSamples::storeCall {
                k: U256::from(5),
                v: U256::from(9),
            }
            .abi_encode(),
            0,
            100_000,
        ),
        (
            "clear (refund)",
            EvmSamples::storeCall {
                k: U256::from(1),
                v: U256::ZERO,
            }
            .abi_encode(),
            0,
            100_000,
        ),
        (
            "churn",
            EvmSamples::churnCall { k: U256::from(2) }.abi_encode(),
            0,
            200_000,
        ),
        (
            "churn fresh",
            EvmSamples::churnCall { k: U256::from(20) }.abi_encode(),
            0,
            200_000,
        ),
        (
            "logs",
            EvmSamples::emitLogsCall { n: U256::from(3) }.abi_encode(),
            0,
            200_000,
        ),
        (
            "revert",
            EvmSamples::failCall {
                code: U256::from(7),
            }
            .abi_encode(),
            0,
            100_000,
        ),
        (
            "out of gas",
            EvmSamples::burnCall {}.abi_encode(),
            0,
            200_000,
        ),
        (
            "invalid opcode",
            EvmSamples::invalidCall {}.abi_encode(),
            0,
            100_000,
        ),
        (
            "deploy children",
            EvmSamples::deployCall {
                salt: B256::repeat_byte(7),
            }
            .abi_encode(),
            1000,
            3_000_000,
        ),
        (
            "precompiles",
            EvmSamples::precompilesCall {
                data: Bytes::from_static(b"parallax one-step proof"),
            }
            .abi_encode(),
            0,
            500_000,
        ),
        (
            "env",
            EvmSamples::envCall { other: samples }.abi_encode(),
            3,
            300_000,
        ),
        (
            "env of an absent account",
            EvmSamples::envCall { other: CAROL }.abi_encode(),
            0,
            300_000,
        ),
        (
            "nested reverts",
            EvmSamples::nestCall {
                depth: U256::from(6),
            }
            .abi_encode(),
            0,
            2_000_000,
        ),
        (
            "pay a new account",
            EvmSamples::payCall { to: CAROL }.abi_encode(),
            77,
            200_000,
        ),
        (
            "pay an existing account",
            EvmSamples::payCall { to: BOB }.abi_encode(),
            1,
            200_000,
        ),
    ];
    for (name, data, value, gas) in calls {
        let tx = h.signed(name, call(samples), value, data, gas);
        h.check(tx).unwrap();
    }
    let child = Address::create(&samples, 1);
    let data = EvmSamples::destructCall {
        existing: child,
        beneficiary: BOB,
    }
    .abi_encode();
    let tx = h.signed("selfdestruct", call(samples), 500, data, 1_000_000);
    h.check(tx).unwrap();

    // Transaction types and direct precompile calls.
    let data = EvmSamples::storeCall {
        k: U256::from(6),
        v: U256::from(1),
    }
    .abi_encode();
    let tx = h.signed_typed("eip-1559", 2, call(samples), 0, data, 100_000);
    h.check(tx).unwrap();
    let data = EvmSamples::storeCall {
        k: U256::from(7),
        v: U256::from(1),
    }
    .abi_encode();
    let mut tx = h.signed_typed("eip-2930", 1, call(samples), 0, data, 100_000);
    tx.access_list = vec![(samples, vec![U256::from(7), U256::from(8)]), (BOB, vec![])];
    tx.rollup.env.access_list = AccessList(
        tx.access_list
            .iter()
            .map(|(address, keys)| AccessListItem {
                address: *address,
                storage_keys: keys.iter().map(|key| B256::from(*key)).collect(),
            })
            .collect(),
    );
    h.check(tx).unwrap();
    let tx = h.signed(
        "sha256 precompile",
        call(Address::with_last_byte(2)),
        0,
        b"abc".to_vec(),
        50_000,
    );
    h.check(tx).unwrap();
    let tx = h.signed(
        "identity precompile, out of gas",
        call(Address::with_last_byte(4)),
        0,
        vec![1; 64],
        21_000 + 64 * 16 + 10,
    );
    h.check(tx).unwrap();
    let tx = h.signed(
        "create that reverts",
        TxKind::Create,
        0,
        vec![0x60, 0x00, 0x60, 0x00, 0xfd],
        100_000,
    );
    h.check(tx).unwrap();
    let tx = h.signed(
        "create returning 0xef",
        TxKind::Create,
        0,
        vec![0x60, 0xef, 0x60, 0x00, 0x53, 0x60, 0x01, 0x60, 0x00, 0xf3],
        100_000,
    );
    h.check(tx).unwrap();

    // Deposits: a user deposit with mint calling a contract, one revm refuses, and a new L1-info.
    let user = DepositTx {
        source_hash: B256::repeat_byte(1),
        from: CAROL,
        to: TxKind::Call(samples),
        mint: U256::from(10u128.pow(18)),
        value: U256::from(5),
        gas_limit: 200_000,
        is_system: false,
        data: EvmSamples::storeCall {
            k: U256::from(9),
            v: U256::from(3),
        }
        .abi_encode()
        .into(),
    };
    h.check(h.deposit("user deposit", &user)).unwrap();
    let refused = DepositTx {
        source_hash: B256::repeat_byte(2),
        from: BOB,
        to: TxKind::Call(CAROL),
        mint: U256::from(1),
        value: U256::from(10u128.pow(24)),
        gas_limit: 50_000,
        is_system: false,
        data: Bytes::new(),
    };
    h.check(h.deposit("refused deposit", &refused)).unwrap();
    h.check(h.deposit("second l1-info deposit", &l1_info_deposit(1)))
        .unwrap();

    // Invalid signed transactions: the interpreter must refuse them too.
    let mut tx = h.signed("wrong nonce", call(BOB), 1, vec![], 21_000);
    tx.rollup.env.nonce += 5;
    assert!(h.check(tx).is_none());
    let tx = h.signed("intrinsic gas too low", call(BOB), 1, vec![1, 2, 3], 21_000);
    assert!(h.check(tx).is_none());
    let tx = h.signed("unaffordable", call(BOB), 10u128.pow(25), vec![], 21_000);
    assert!(h.check(tx).is_none());

    // Seeded random calls.
    let mut rng = StdRng::seed_from_u64(9);
    for i in 0..40 {
        let k = U256::from(rng.random_range(0..12u64));
        let (name, data, gas) = match rng.random_range(0..8u32) {
            0 => (
                "store",
                EvmSamples::storeCall {
                    k,
                    v: U256::from(rng.random_range(0..3u64)),
                }
                .abi_encode(),
                80_000,
            ),
            1 => ("churn", EvmSamples::churnCall { k }.abi_encode(), 120_000),
            2 => (
                "loop",
                EvmSamples::loopCall {
                    n: U256::from(rng.random_range(0..20u64)),
                }
                .abi_encode(),
                rng.random_range(25_000..400_000),
            ),
            3 => (
                "transfer",
                EvmSamples::transferCall {
                    to: Address::with_last_byte(rng.random()),
                    amount: U256::from(rng.random_range(0..1000u64)),
                }
                .abi_encode(),
                90_000,
            ),
            4 => (
                "logs",
                EvmSamples::emitLogsCall { n: k }.abi_encode(),
                rng.random_range(22_000..120_000),
            ),
            5 => (
                "nest",
                EvmSamples::nestCall {
                    depth: U256::from(rng.random_range(0..5u64)),
                }
                .abi_encode(),
                rng.random_range(30_000..600_000),
            ),
            6 => (
                "fail",
                EvmSamples::failCall { code: k }.abi_encode(),
                60_000,
            ),
            _ => (
                "deploy",
                EvmSamples::deployCall {
                    salt: B256::from(U256::from(i)),
                }
                .abi_encode(),
                rng.random_range(100_000..2_000_000),
            ),
        };
        let tx = h.signed(
            &format!("random {i} {name}"),
            call(samples),
            rng.random_range(0..3u128),
            data,
            gas,
        );
        h.check(tx).unwrap();
    }

    for (name, gas) in &h.l1_gas {
        eprintln!("L1 gas {gas:>10}  {name}");
    }
}
