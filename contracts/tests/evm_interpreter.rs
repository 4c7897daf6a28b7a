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
    consensus::{SignableTransaction, TxEip1559, TxEip2930, TxEnvelope, TxLegacy},
    eips::{
        eip2718::Encodable2718,
        eip2930::{AccessList, AccessListItem},
    },
    primitives::{address, keccak256, Address, Bytes, Log, B256, U256},
    signers::{local::PrivateKeySigner, SignerSync},
    sol_types::{SolCall, SolConstructor, SolInterface, SolValue},
};
use common::{Chain, HeaderChain};
use parallax_contracts::{EvmInterpreter, EvmPrecompiles, EvmStepVerifier, L1Block};
use parallax_executor::{
    revm::{
        context::{result::ExecutionResult, BlockEnv},
        database_interface::DatabaseRef,
        primitives::{eip4844::BLOB_BASE_FEE_UPDATE_FRACTION_CANCUN, hardfork::SpecId, TxKind},
        state::{AccountInfo, Bytecode},
    },
    AccountBasic, BlockExecutor, ExecutionEnv, ExecutionError, RollupTx, Sequential, StateChanges,
    TxFunding,
};
use parallax_fraud_proof::{
    step::step_witness,
    step_model::{self, StepModelError},
    trace::TraceState,
    MemoryNodes, StateReads, StateWitnessBuilder,
};
use parallax_protocol::{
    deposit::DepositTx,
    l1_data_fee,
    l1_info::L1Info,
    predeploys::{BASE_FEE_VAULT, L1_BLOCK, L1_FEE_VAULT, SEQUENCER_FEE_VAULT},
    L1FeeScalars,
};
use parallax_state::WorldState as TrieWorld;
use rand::{rngs::StdRng, Rng, SeedableRng};

alloy::sol!(
    #[derive(Debug)]
    EvmSamples,
    "artifacts/test/EvmSamples.json"
);
alloy::sol! {
    /// `Child` of test/harness/EvmSamples.sol.
    interface IChild {
        function kill(address to) external;
    }
}

const CHAIN_ID: u64 = 901;
/// Alice's key (her address is `alice().address()`).
fn alice() -> PrivateKeySigner {
    PrivateKeySigner::from_bytes(&B256::repeat_byte(0xa1)).expect("key")
}
const BOB: Address = address!("b0b0000000000000000000000000000000000002");
const CAROL: Address = address!("ca401000000000000000000000000000000000c3");
const SCALARS: L1FeeScalars = L1FeeScalars {
    base_fee_scalar: 1368,
    blob_base_fee_scalar: 810_949,
};
const BASE_FEE: u64 = 1_000_000_000;
/// The block every test transaction is in: deep enough that BLOCKHASH has a full 256-block
/// window (blocks 44..=299) and numbers below it.
const NUMBER: u64 = 300;

/// A flat L2 world: the executor reads it as its pre-state, the interpreter gets it as proven input.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
struct World {
    accounts: BTreeMap<Address, AccountBasic>,
    storage: BTreeMap<Address, BTreeMap<U256, U256>>,
    codes: BTreeMap<B256, Bytes>,
    /// The hashes of the blocks before `NUMBER` (revm asks only inside the window).
    block_hashes: BTreeMap<u64, B256>,
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
        Ok(self.block_hashes.get(&number).copied().unwrap_or_default())
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

/// One test transaction: what the executor runs and its EIP-2718 envelope (the L1 data fee is
/// charged on it, and the verifier decodes it).
struct TestTx {
    name: String,
    rollup: RollupTx,
    raw: Vec<u8>,
}

/// What a run of the interpreter gave.
enum Verdict {
    Executed(EvmInterpreter::ExecResult, u64),
    Invalid(u8),
}

/// The pre-state a transaction needs: discovered by running the interpreter and adding what it
/// reports missing, as a challenger's witness builder can.
#[derive(Default)]
struct Needs {
    accounts: Vec<Address>,
    slots: Vec<(Address, U256)>,
    codes: Vec<B256>,
    /// Proven previous-block hashes (nearest first) BLOCKHASH needs: the parent's plus one per
    /// ancestor header.
    block_hashes: usize,
}

struct Harness {
    chain: Chain,
    interpreter: Address,
    verifier: Address,
    world: World,
    /// The blocks before `NUMBER`.
    headers: HeaderChain,
    /// The same state as a Merkle-Patricia world, and every trie node it ever had.
    trie: TrieWorld,
    nodes: Vec<Vec<u8>>,
    trace: TraceState,
    env: ExecutionEnv,
    key: PrivateKeySigner,
    nonce: u64,
    l1_gas: BTreeMap<String, (u64, u64)>,
    /// Transactions whose BLOCKHASH read a block inside the window, and the deepest depth.
    blockhash_reads: usize,
    deepest_blockhash: usize,
}

impl Harness {
    fn new() -> Self {
        let mut chain = Chain::default();
        let deployer = Address::repeat_byte(0xde);
        let precompiles = chain.deploy(deployer, EvmPrecompiles::BYTECODE.clone());
        let mut initcode = EvmInterpreter::BYTECODE.to_vec();
        initcode.extend(EvmInterpreter::constructorCall::new((precompiles,)).abi_encode());
        let interpreter = chain.deploy(deployer, initcode.into());
        let mut initcode = EvmStepVerifier::BYTECODE.to_vec();
        initcode.extend(
            EvmStepVerifier::constructorCall::new((
                interpreter,
                U256::from(CHAIN_ID),
                BASE_FEE_VAULT,
                L1_FEE_VAULT,
            ))
            .abi_encode(),
        );
        let verifier = chain.deploy(deployer, initcode.into());

        let key = alice();
        let mut world = World::default();
        world.install(L1_BLOCK, &L1Block::DEPLOYED_BYTECODE);
        world.accounts.insert(
            key.address(),
            AccountBasic {
                balance: U256::from(10u128.pow(21)),
                ..Default::default()
            },
        );
        let mut genesis = StateChanges::default();
        for (address, basic) in &world.accounts {
            genesis.accounts.insert(
                *address,
                parallax_executor::AccountChange {
                    info: Some(*basic),
                    storage_cleared: false,
                    storage: BTreeMap::new(),
                },
            );
        }
        let headers = HeaderChain::new(0, NUMBER);
        world.block_hashes = headers.hashes().collect();
        let mut trie = TrieWorld::new();
        trie.apply(&genesis);
        for (number, hash) in headers.hashes() {
            trie.record_block_hash(number, hash);
        }
        for (hash, code) in &world.codes {
            trie.insert_code(*hash, Bytecode::new_raw(code.clone()));
        }
        let nodes = trie
            .unpersisted_nodes()
            .into_iter()
            .map(|(_, rlp)| rlp)
            .collect();
        trie.mark_persisted();
        let trace = TraceState::start(trie.root());

        let mut block = BlockEnv {
            number: U256::from(NUMBER),
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
            verifier,
            world,
            headers,
            trie,
            nodes,
            trace,
            env,
            key,
            nonce: 0,
            l1_gas: BTreeMap::new(),
            blockhash_reads: 0,
            deepest_blockhash: 0,
        }
    }

    fn alice(&self) -> Address {
        self.key.address()
    }

    fn fee(&self, raw: &[u8]) -> U256 {
        l1_data_fee(
            raw,
            self.world.storage_ref(L1_BLOCK, U256::from(1)).unwrap(),
            self.world.storage_ref(L1_BLOCK, U256::from(2)).unwrap(),
            SCALARS,
        )
    }

    /// A legacy (EIP-155) transaction from Alice.
    fn signed(&mut self, name: &str, to: TxKind, value: u128, data: Vec<u8>, gas: u64) -> TestTx {
        self.signed_full(
            name,
            0,
            to,
            value,
            data,
            gas,
            AccessList::default(),
            self.nonce,
        )
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
        self.signed_full(
            name,
            tx_type,
            to,
            value,
            data,
            gas,
            AccessList::default(),
            self.nonce,
        )
    }

    #[allow(clippy::too_many_arguments)]
    fn signed_full(
        &mut self,
        name: &str,
        tx_type: u8,
        to: TxKind,
        value: u128,
        data: Vec<u8>,
        gas_limit: u64,
        access_list: AccessList,
        nonce: u64,
    ) -> TestTx {
        let value = U256::from(value);
        let input: Bytes = data.into();
        let gas_price = 2 * u128::from(BASE_FEE);
        let envelope = match tx_type {
            0 => {
                let tx = TxLegacy {
                    chain_id: Some(CHAIN_ID),
                    nonce,
                    gas_price,
                    gas_limit,
                    to,
                    value,
                    input,
                };
                let signature = self.key.sign_hash_sync(&tx.signature_hash()).expect("sign");
                TxEnvelope::from(tx.into_signed(signature))
            }
            1 => {
                let tx = TxEip2930 {
                    chain_id: CHAIN_ID,
                    nonce,
                    gas_price,
                    gas_limit,
                    to,
                    value,
                    access_list,
                    input,
                };
                let signature = self.key.sign_hash_sync(&tx.signature_hash()).expect("sign");
                TxEnvelope::from(tx.into_signed(signature))
            }
            _ => {
                let tx = TxEip1559 {
                    chain_id: CHAIN_ID,
                    nonce,
                    gas_limit,
                    max_fee_per_gas: 3 * u128::from(BASE_FEE),
                    max_priority_fee_per_gas: u128::from(BASE_FEE / 2),
                    to,
                    value,
                    access_list,
                    input,
                };
                let signature = self.key.sign_hash_sync(&tx.signature_hash()).expect("sign");
                TxEnvelope::from(tx.into_signed(signature))
            }
        };
        let raw = envelope.encoded_2718();
        let fee = self.fee(&raw);
        TestTx {
            name: name.to_string(),
            rollup: RollupTx::signed(&envelope, self.alice(), fee),
            raw,
        }
    }

    fn deposit(&self, name: &str, deposit: &DepositTx) -> TestTx {
        TestTx {
            name: name.to_string(),
            rollup: RollupTx::deposit(deposit),
            raw: deposit.encode().to_vec(),
        }
    }

    fn ctx(&self) -> EvmInterpreter::BlockContext {
        let block = &self.env.block;
        EvmInterpreter::BlockContext {
            chainId: U256::from(CHAIN_ID),
            number: block.number,
            timestamp: block.timestamp,
            coinbase: block.beneficiary,
            gasLimit: U256::from(block.gas_limit),
            baseFee: U256::from(block.basefee),
            prevRandao: block.prevrandao.unwrap_or_default(),
            parentHash: self.parent_hash(),
        }
    }

    fn parent_hash(&self) -> B256 {
        self.headers
            .hash(NUMBER - 1)
            .expect("the parent is in the chain")
    }

    /// The ancestor headers (nearest first) that prove `needs.block_hashes` hashes.
    fn ancestors(&self, needs: &Needs) -> Vec<Bytes> {
        let mut headers = self.headers.ancestors_of(NUMBER);
        headers.truncate(needs.block_hashes.saturating_sub(1));
        headers
    }

    /// The interpreter's input for `tx`, with the pre-state values of what `needs` lists.
    fn input(&self, tx: &TestTx, needs: &Needs) -> EvmInterpreter::ExecInput {
        let env = &tx.rollup.env;
        let (deposit, mint, system) = match tx.rollup.funding {
            TxFunding::Deposit { mint, system } => (true, mint, system),
            TxFunding::Signed { .. } => (false, U256::ZERO, false),
        };
        let zeros = tx.raw.iter().filter(|byte| **byte == 0).count() as u64;
        let l1_gas = zeros * 4 + (tx.raw.len() as u64 - zeros) * 16;
        let accounts = needs
            .accounts
            .iter()
            .map(|address| match self.world.accounts.get(address) {
                Some(basic) => EvmInterpreter::PreAccount {
                    addr: *address,
                    nonce: basic.nonce,
                    balance: basic.balance,
                    codeHash: basic.code_hash,
                    exists: true,
                },
                None => EvmInterpreter::PreAccount {
                    addr: *address,
                    nonce: 0,
                    balance: U256::ZERO,
                    codeHash: B256::ZERO,
                    exists: false,
                },
            })
            .collect();
        let slots = needs
            .slots
            .iter()
            .map(|(address, slot)| EvmInterpreter::PreSlot {
                addr: *address,
                slot: *slot,
                value: self.world.storage_ref(*address, *slot).unwrap(),
            })
            .collect();
        EvmInterpreter::ExecInput {
            ctx: self.ctx(),
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
                accessList: env
                    .access_list
                    .0
                    .iter()
                    .map(|item| EvmInterpreter::AccessListItem {
                        addr: item.address,
                        keys: item
                            .storage_keys
                            .iter()
                            .map(|key| U256::from_be_bytes(key.0))
                            .collect(),
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
            codes: needs
                .codes
                .iter()
                .map(|hash| self.world.codes[hash].clone())
                .collect(),
            blockHashes: self.headers.hashes_before(NUMBER, needs.block_hashes),
        }
    }

    /// Runs the interpreter, adding what it reports missing until it runs.
    fn interpret(&mut self, tx: &TestTx, needs: &mut Needs) -> Verdict {
        for _ in 0..500 {
            let call = EvmInterpreter::executeCall {
                input: self.input(tx, needs),
            };
            match self.chain.call(
                Address::ZERO,
                self.interpreter,
                call.abi_encode().into(),
                1_000_000_000,
            ) {
                ExecutionResult::Success { output, gas, .. } => {
                    let result = EvmInterpreter::executeCall::abi_decode_returns(output.data())
                        .expect("interpreter output decodes");
                    return Verdict::Executed(result, gas.tx_gas_used());
                }
                ExecutionResult::Revert { output, .. } => {
                    match EvmInterpreter::EvmInterpreterErrors::abi_decode(&output) {
                        Ok(EvmInterpreter::EvmInterpreterErrors::MissingAccount(missing)) => {
                            assert!(
                                !needs.accounts.contains(&missing.account),
                                "{missing:?} again"
                            );
                            needs.accounts.push(missing.account);
                        }
                        Ok(EvmInterpreter::EvmInterpreterErrors::MissingSlot(missing)) => {
                            let key = (missing.account, missing.slot);
                            assert!(!needs.slots.contains(&key), "{key:?} again");
                            needs.slots.push(key);
                        }
                        Ok(EvmInterpreter::EvmInterpreterErrors::MissingCode(missing)) => {
                            assert!(
                                !needs.codes.contains(&missing.codeHash),
                                "{missing:?} again"
                            );
                            needs.codes.push(missing.codeHash);
                        }
                        Ok(EvmInterpreter::EvmInterpreterErrors::MissingAncestor(missing)) => {
                            let depth = (NUMBER - missing.number.to::<u64>()) as usize;
                            assert!(depth > needs.block_hashes, "{missing:?} again");
                            needs.block_hashes = depth;
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

    /// Runs `tx` on both sides, compares, runs the full step verifier on a real witness, and moves
    /// the world on. Returns the L1 gas of the verifier (None for an invalid transaction).
    fn check(&mut self, tx: TestTx) -> Option<u64> {
        let executed =
            Sequential.execute_block(&self.env, std::slice::from_ref(&tx.rollup), &self.world);
        let mut needs = Needs::default();
        let verdict = self.interpret(&tx, &mut needs);
        let (outcome, result, interpreter_gas) = match (executed, verdict) {
            (Err(ExecutionError::InvalidTransaction { .. }), Verdict::Invalid(reason)) => {
                self.model_rejects(&tx, &needs, reason);
                return None;
            }
            (Err(error), _) => panic!("{}: executor failed: {error}", tx.name),
            (Ok(outcome), Verdict::Invalid(reason)) => {
                panic!(
                    "{}: valid for the executor, invalid ({reason}) for the interpreter: {:?}",
                    tx.name, outcome.receipts
                )
            }
            (Ok(outcome), Verdict::Executed(result, l1_gas)) => (outcome, result, l1_gas),
        };
        let receipt = &outcome.receipts[0];
        if (result.status == 1) != receipt.status.is_success() || result.gasUsed != receipt.gas_used
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

        // The whole one-step proof: witness from the fraud-proof builder, commitment vs the trace.
        let verifier_gas = self.verify(&tx, &needs, &outcome.state_changes, receipt, &result);

        self.world = expected;
        if needs.block_hashes > 0 {
            self.blockhash_reads += 1;
            self.deepest_blockhash = self.deepest_blockhash.max(needs.block_hashes);
        }
        if let TxFunding::Signed { .. } = tx.rollup.funding {
            self.nonce += 1;
        }
        self.l1_gas
            .insert(tx.name.clone(), (verifier_gas, interpreter_gas));
        Some(verifier_gas)
    }

    /// The step model's inputs for `tx` on the current trace state with `witness`.
    fn model(
        &self,
        tx: &TestTx,
        witness: &[u8],
    ) -> Result<step_model::ModelOutcome, StepModelError> {
        let block = &self.env.block;
        step_model::execute_transaction(&step_model::StepInput {
            ctx: step_model::BlockContext {
                number: block.number,
                timestamp: block.timestamp,
                coinbase: block.beneficiary,
                gas_limit: U256::from(block.gas_limit),
                base_fee: U256::from(block.basefee),
                prev_randao: block.prevrandao.unwrap_or_default(),
                parent_hash: self.parent_hash(),
            },
            config: step_model::ChainConfig {
                chain_id: CHAIN_ID,
                base_fee_vault: BASE_FEE_VAULT,
                l1_fee_vault: L1_FEE_VAULT,
            },
            pre_state_root: self.trace.state_root,
            pre_cumulative_gas: self.trace.cumulative_gas,
            pre_receipts_hash: self.trace.receipts_hash,
            tx_rlp: &tx.raw,
            witness,
        })
    }

    /// The witness the interpreter was found to need, as `EvmStepVerifier` takes it.
    fn encode_witness(&self, tx: &TestTx, needs: &Needs, changes: &StateChanges) -> Bytes {
        let mut reads = StateReads::default();
        reads.accounts.extend(needs.accounts.iter().copied());
        for (address, slot) in &needs.slots {
            reads.slots.entry(*address).or_default().insert(*slot);
        }
        let source: MemoryNodes = self.nodes.iter().cloned().collect();
        let witness = StateWitnessBuilder::new(&source, self.trie.root())
            .build(&reads, changes)
            .unwrap_or_else(|error| panic!("{}: witness: {error}", tx.name));
        let codes: Vec<Bytes> = needs
            .codes
            .iter()
            .map(|hash| self.world.codes[hash].clone())
            .collect();
        let owners: Vec<Address> = needs.slots.iter().map(|(address, _)| *address).collect();
        let keys: Vec<U256> = needs.slots.iter().map(|(_, slot)| *slot).collect();
        let ancestors = self.ancestors(needs);
        (
            witness.nodes,
            codes,
            needs.accounts.clone(),
            owners,
            keys,
            ancestors,
        )
            .abi_encode_params()
            .into()
    }

    /// A transaction the executor and the interpreter refuse: the step model refuses it too,
    /// for the same reason.
    fn model_rejects(&self, tx: &TestTx, needs: &Needs, reason: u8) {
        let witness = self.encode_witness(tx, needs, &StateChanges::default());
        assert_eq!(
            self.model(tx, &witness),
            Err(StepModelError::InvalidTransaction(reason)),
            "{}: step model on an invalid transaction",
            tx.name
        );
    }

    /// The step model on `witness` agrees with the executor, the interpreter and the verifier.
    fn check_model(
        &self,
        tx: &TestTx,
        witness: &[u8],
        interpreter: &EvmInterpreter::ExecResult,
        post_root: B256,
        commitment: B256,
    ) {
        let model = self
            .model(tx, witness)
            .unwrap_or_else(|error| panic!("{}: step model failed: {error}", tx.name));
        let r = &model.result;
        assert_eq!(
            r.success,
            interpreter.status == 1,
            "{}: model status",
            tx.name
        );
        assert_eq!(r.gas_used, interpreter.gasUsed, "{}: model gas", tx.name);
        assert_eq!(r.logs_acc, interpreter.logsAcc, "{}: model logs", tx.name);
        let accounts: Vec<_> = interpreter
            .accounts
            .iter()
            .map(|a| step_model::PostAccount {
                address: a.addr,
                deleted: a.deleted,
                storage_cleared: a.storageCleared,
                nonce: a.nonce,
                balance: a.balance,
                code_hash: a.codeHash,
            })
            .collect();
        assert_eq!(r.accounts, accounts, "{}: model account writes", tx.name);
        let slots: Vec<_> = interpreter
            .slots
            .iter()
            .map(|s| step_model::PostSlot {
                address: s.addr,
                slot: s.slot,
                value: s.value,
            })
            .collect();
        assert_eq!(r.slots, slots, "{}: model slot writes", tx.name);
        assert_eq!(
            model.post_state_root, post_root,
            "{}: model state root",
            tx.name
        );
        assert_eq!(
            model.commitment, commitment,
            "{}: model commitment",
            tx.name
        );
    }

    fn verify(
        &mut self,
        tx: &TestTx,
        needs: &Needs,
        changes: &StateChanges,
        receipt: &parallax_executor::TxReceipt,
        interpreter: &EvmInterpreter::ExecResult,
    ) -> u64 {
        let mut reads = StateReads::default();
        reads.accounts.extend(needs.accounts.iter().copied());
        for (address, slot) in &needs.slots {
            reads.slots.entry(*address).or_default().insert(*slot);
        }
        let source: MemoryNodes = self.nodes.iter().cloned().collect();
        let witness = StateWitnessBuilder::new(&source, self.trie.root())
            .build(&reads, changes)
            .unwrap_or_else(|error| panic!("{}: witness: {error}", tx.name));
        let mut post = self.trie.clone();
        post.apply(changes);
        assert_eq!(
            witness.post_state_root,
            post.root(),
            "{}: witness builder root",
            tx.name
        );
        let next = self.trace.advance(receipt, receipt.gas_used, post.root());

        let codes: Vec<Bytes> = needs
            .codes
            .iter()
            .map(|hash| self.world.codes[hash].clone())
            .collect();
        let owners: Vec<Address> = needs.slots.iter().map(|(address, _)| *address).collect();
        let keys: Vec<U256> = needs.slots.iter().map(|(_, slot)| *slot).collect();
        let encoded: Bytes = (
            witness.nodes.clone(),
            codes,
            needs.accounts.clone(),
            owners,
            keys,
            self.ancestors(needs),
        )
            .abi_encode_params()
            .into();
        let ctx = self.ctx();
        let call = EvmStepVerifier::verifyTransactionCall {
            ctx: EvmStepVerifier::BlockContext {
                chainId: ctx.chainId,
                number: ctx.number,
                timestamp: ctx.timestamp,
                coinbase: ctx.coinbase,
                gasLimit: ctx.gasLimit,
                baseFee: ctx.baseFee,
                prevRandao: ctx.prevRandao,
                parentHash: ctx.parentHash,
            },
            txIndex: U256::ZERO,
            preStateRoot: self.trace.state_root,
            preCumulativeGas: U256::from(self.trace.cumulative_gas),
            preReceiptsHash: self.trace.receipts_hash,
            txRlp: tx.raw.clone().into(),
            witness: encoded,
        };
        let gas = match self.chain.call(
            Address::ZERO,
            self.verifier,
            call.abi_encode().into(),
            1_000_000_000,
        ) {
            ExecutionResult::Success { output, gas, .. } => {
                let commitment =
                    EvmStepVerifier::verifyTransactionCall::abi_decode_returns(output.data())
                        .expect("verifier output decodes");
                assert_eq!(
                    commitment,
                    next.commitment(),
                    "{}: step commitment",
                    tx.name
                );
                gas.tx_gas_used()
            }
            other => panic!("{}: verifier failed: {other:?}", tx.name),
        };

        // The Rust step model on the same witness: same writes, root and commitment.
        self.check_model(
            tx,
            &call.witness,
            interpreter,
            post.root(),
            next.commitment(),
        );

        // The challenger's own witness (`parallax_fraud_proof::step::step_witness`, reads recorded
        // from revm) must prove the same commitment.
        let mut call = call;
        let challenger = step_witness(
            &self.env,
            &tx.rollup,
            &self.trie,
            &self.headers.ancestors_of(NUMBER),
        )
        .unwrap_or_else(|error| panic!("{}: step_witness: {error}", tx.name));
        assert_eq!(
            challenger.post_state_root,
            post.root(),
            "{}: step_witness root",
            tx.name
        );
        call.witness = challenger.encoded;
        self.check_model(
            tx,
            &call.witness,
            interpreter,
            post.root(),
            next.commitment(),
        );
        match self.chain.call(
            Address::ZERO,
            self.verifier,
            call.abi_encode().into(),
            1_000_000_000,
        ) {
            ExecutionResult::Success { output, .. } => {
                let commitment =
                    EvmStepVerifier::verifyTransactionCall::abi_decode_returns(output.data())
                        .expect("verifier output decodes");
                assert_eq!(
                    commitment,
                    next.commitment(),
                    "{}: challenger witness",
                    tx.name
                );
            }
            other => panic!(
                "{}: verifier on the challenger's witness: {other:?}",
                tx.name
            ),
        }

        for (hash, code) in &changes.contracts {
            post.insert_code(*hash, code.clone());
        }
        self.nodes
            .extend(post.unpersisted_nodes().into_iter().map(|(_, rlp)| rlp));
        post.mark_persisted();
        self.trie = post;
        self.trace = next;
        gas
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

/// A runtime that stores `BLOCKHASH(numbers[i])` in slot `i`.
fn blockhash_program(numbers: &[u64]) -> Vec<u8> {
    let mut code = Vec::new();
    for (slot, number) in numbers.iter().enumerate() {
        code.push(0x67); // PUSH8
        code.extend_from_slice(&number.to_be_bytes());
        code.extend_from_slice(&[0x40, 0x60, slot as u8, 0x55]); // BLOCKHASH PUSH1 slot SSTORE
    }
    code
}

/// Initcode that deploys `runtime` as is.
fn initcode_for(runtime: &[u8]) -> Vec<u8> {
    let len = u16::try_from(runtime.len()).expect("small runtime");
    let mut code = vec![0x61];
    code.extend_from_slice(&len.to_be_bytes());
    // PUSH2 len DUP1 PUSH1 14 PUSH1 0 CODECOPY PUSH1 0 RETURN
    code.extend_from_slice(&[0x80, 0x60, 0x0e, 0x60, 0x00, 0x39, 0x60, 0x00, 0xf3]);
    code.extend_from_slice(&[0x00, 0x00]);
    code.extend_from_slice(runtime);
    code
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
        gas_limit: 30_000_000,
        eip1559: Default::default(),
        min_base_fee: 1_000_000,
    }
    .deposit()
}

#[test]
fn interpreter_matches_the_executor() {
    let mut h = Harness::new();
    assert!(h
        .check(h.deposit("l1-info deposit", &l1_info_deposit(0)))
        .is_some());

    let samples = Address::create(&h.alice(), 0);
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

    // Edge cases: CALLCODE, static writes, calls without funds, TSTORE rolled back, EIP-3860 and
    // EIP-170 limits; a CREATE2 collision (same salt twice: the whole call reverts).
    let data = EvmSamples::edgesCall { child }.abi_encode();
    let tx = h.signed("edges", call(samples), 9, data, 3_000_000);
    h.check(tx).unwrap();
    let data = EvmSamples::deployCall {
        salt: B256::repeat_byte(7),
    }
    .abi_encode();
    let tx = h.signed("create2 collision", call(samples), 0, data, 3_000_000);
    h.check(tx).unwrap();
    let data = IChild::killCall { to: child }.abi_encode();
    let tx = h.signed("selfdestruct to itself", call(child), 0, data, 100_000);
    h.check(tx).unwrap();

    // Raw programs: MSTORE8 / MSIZE / CODECOPY and CALLDATALOAD past the end; RETURNDATACOPY out
    // of bounds (exceptional halt); a deep self-recursion that runs out of gas.
    let programs: Vec<(&str, Vec<u8>)> = vec![
        (
            "msize",
            alloy::hex::decode("60ff604053596000556020600060003960033560015560406000206002556000")
                .unwrap(),
        ),
        (
            "returndatacopy out of bounds",
            alloy::hex::decode("60016000556020600060003e").unwrap(),
        ),
        (
            "recursion",
            alloy::hex::decode("60016000540160005560008080808030620186a0f1").unwrap(),
        ),
        ("undefined opcode", vec![0x60, 0x01, 0x60, 0x00, 0x55, 0x0c]),
        // BLOCKHASH (block 300): the parent's hash needs no ancestor header, deeper blocks the
        // headers down to them (the challenger's witness carries only those), blocks outside the
        // window (below 44, the current one, the future) are zero.
        ("blockhash of the parent", blockhash_program(&[NUMBER - 1])),
        ("blockhash two back", blockhash_program(&[NUMBER - 2])),
        (
            "blockhash at several depths",
            blockhash_program(&[NUMBER - 1, NUMBER - 3, NUMBER - 50, NUMBER - 100, 250]),
        ),
        (
            "blockhash of the window's oldest block",
            blockhash_program(&[NUMBER - 256]),
        ),
        (
            "blockhash outside the window",
            blockhash_program(&[NUMBER - 257, NUMBER, NUMBER + 1, 0, u64::MAX]),
        ),
    ];
    for (name, runtime) in programs {
        let address = Address::create(&h.alice(), h.nonce);
        let tx = h.signed(
            &format!("deploy {name}"),
            TxKind::Create,
            0,
            initcode_for(&runtime),
            200_000,
        );
        h.check(tx).unwrap();
        assert!(h.world.accounts.contains_key(&address), "{name} deployed");
        let tx = h.signed(name, call(address), 0, vec![0xab; 7], 2_000_000);
        h.check(tx).unwrap();
    }

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
    let access = AccessList(vec![
        AccessListItem {
            address: samples,
            storage_keys: vec![B256::from(U256::from(7)), B256::from(U256::from(8))],
        },
        AccessListItem {
            address: BOB,
            storage_keys: vec![],
        },
    ]);
    let nonce = h.nonce;
    let tx = h.signed_full(
        "eip-2930",
        1,
        call(samples),
        0,
        data,
        100_000,
        access,
        nonce,
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
    let nonce = h.nonce + 5;
    let tx = h.signed_full(
        "wrong nonce",
        0,
        call(BOB),
        1,
        vec![],
        21_000,
        AccessList::default(),
        nonce,
    );
    assert!(h.check(tx).is_none());
    let tx = h.signed("intrinsic gas too low", call(BOB), 1, vec![1, 2, 3], 21_000);
    assert!(h.check(tx).is_none());
    let tx = h.signed("unaffordable", call(BOB), 10u128.pow(25), vec![], 21_000);
    assert!(h.check(tx).is_none());
    let tx = h.signed(
        "gas above the block limit",
        call(BOB),
        1,
        vec![],
        30_000_001,
    );
    assert!(h.check(tx).is_none());
    let tx = h.signed(
        "initcode above EIP-3860",
        TxKind::Create,
        0,
        vec![0; 49_153],
        29_000_000,
    );
    assert!(h.check(tx).is_none());

    // A deposit that deploys, and one that sends value to a new account.
    let create = DepositTx {
        source_hash: B256::repeat_byte(3),
        from: BOB,
        to: TxKind::Create,
        mint: U256::from(1000),
        value: U256::from(10),
        gas_limit: 500_000,
        is_system: false,
        data: initcode_for(&[0x60, 0x2a, 0x60, 0x00, 0x55]).into(),
    };
    h.check(h.deposit("deposit creating a contract", &create))
        .unwrap();
    let send = DepositTx {
        source_hash: B256::repeat_byte(4),
        from: Address::repeat_byte(0x55),
        to: TxKind::Call(Address::repeat_byte(0x66)),
        mint: U256::from(1000),
        value: U256::from(999),
        gas_limit: 21_000,
        is_system: false,
        data: Bytes::new(),
    };
    h.check(h.deposit("deposit to a new account", &send))
        .unwrap();

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

    for (name, (verifier, interpreter)) in &h.l1_gas {
        eprintln!("L1 gas: verifier {verifier:>10}  interpreter alone {interpreter:>10}  {name}");
    }
}

/// The largest L2 transaction (a loop of arithmetic, `EvmSamples.loop`) whose one-step proof fits
/// in 30M L1 gas: binary search on the loop count, each candidate proven by the full verifier.
#[test]
fn largest_provable_loop_within_30m_l1_gas() {
    let mut h = Harness::new();
    h.check(h.deposit("l1-info deposit", &l1_info_deposit(0)))
        .unwrap();
    let samples = Address::create(&h.alice(), 0);
    let deploy = h.signed(
        "deploy",
        TxKind::Create,
        0,
        EvmSamples::BYTECODE.to_vec(),
        3_000_000,
    );
    h.check(deploy).unwrap();
    let (mut lo, mut hi) = (0u64, 4096u64);
    let mut best = (0u64, 0u64, 0u64);
    while lo < hi {
        let n = (lo + hi).div_ceil(2);
        let data = EvmSamples::loopCall { n: U256::from(n) }.abi_encode();
        let tx = h.signed(&format!("loop {n}"), call(samples), 0, data, 29_000_000);
        let l1 = h.check(tx).expect("valid");
        let l2 = h.trace.cumulative_gas;
        if l1 <= 30_000_000 {
            lo = n;
            best = (n, l1, l2);
        } else {
            hi = n - 1;
        }
        // Only the gas of this transaction matters: reset the running block gas.
        h.trace.cumulative_gas = 0;
        eprintln!("loop {n}: L2 gas {l2}, L1 gas {l1}");
    }
    eprintln!(
        "largest provable: loop {} = {} L2 gas in {} L1 gas ({:.1} L1 gas per L2 gas)",
        best.0,
        best.2,
        best.1,
        best.1 as f64 / best.2 as f64
    );
    assert!(best.0 > 0);
}

/// The verifier refuses what the sequencer can never include: a blob transaction, a legacy
/// transaction without EIP-155, one signed for another chain, a high-s signature.
#[test]
fn verifier_rejects_transactions_the_sequencer_cannot_include() {
    let mut h = Harness::new();
    let key = alice();
    let legacy = |chain_id: Option<u64>| TxLegacy {
        chain_id,
        nonce: 0,
        gas_price: 2 * u128::from(BASE_FEE),
        gas_limit: 21_000,
        to: TxKind::Call(BOB),
        value: U256::from(1),
        input: Bytes::new(),
    };
    let sign = |tx: TxLegacy| {
        let signature = key.sign_hash_sync(&tx.signature_hash()).expect("sign");
        TxEnvelope::from(tx.into_signed(signature)).encoded_2718()
    };
    let mut high_s = sign(legacy(Some(CHAIN_ID)));
    // Replace s (the last 32 bytes) by n - s: the same signature in the upper half.
    let n = U256::from_str_radix(
        "FFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFEBAAEDCE6AF48A03BBFD25E8CD0364141",
        16,
    )
    .unwrap();
    let len = high_s.len();
    let s = U256::from_be_slice(&high_s[len - 32..]);
    high_s[len - 32..].copy_from_slice(&(n - s).to_be_bytes::<32>());
    let cases: Vec<(&str, Vec<u8>, u8)> = vec![
        ("blob type", vec![0x03, 0xc0], 21),
        ("pre-EIP-155 legacy", sign(legacy(None)), 23),
        ("another chain", sign(legacy(Some(1))), 23),
        ("high s", high_s, 24),
    ];
    let witness = (
        Vec::<Bytes>::new(),
        Vec::<Bytes>::new(),
        Vec::<Address>::new(),
        Vec::<Address>::new(),
        Vec::<U256>::new(),
        Vec::<Bytes>::new(),
    )
        .abi_encode_params();
    for (name, raw, reason) in cases {
        let ctx = h.ctx();
        let call = EvmStepVerifier::verifyTransactionCall {
            ctx: EvmStepVerifier::BlockContext {
                chainId: ctx.chainId,
                number: ctx.number,
                timestamp: ctx.timestamp,
                coinbase: ctx.coinbase,
                gasLimit: ctx.gasLimit,
                baseFee: ctx.baseFee,
                prevRandao: ctx.prevRandao,
                parentHash: ctx.parentHash,
            },
            txIndex: U256::ZERO,
            preStateRoot: h.trie.root(),
            preCumulativeGas: U256::ZERO,
            preReceiptsHash: B256::ZERO,
            txRlp: raw.into(),
            witness: witness.clone().into(),
        };
        match h.chain.call(
            Address::ZERO,
            h.verifier,
            call.abi_encode().into(),
            30_000_000,
        ) {
            ExecutionResult::Revert { output, .. } => {
                let mut expected = keccak256("InvalidTransaction(uint8)")[..4].to_vec();
                expected.extend_from_slice(&U256::from(reason).to_be_bytes::<32>());
                assert_eq!(output.to_vec(), expected, "{name}");
            }
            other => panic!("{name}: {other:?}"),
        }
        let tx = TestTx {
            name: name.to_string(),
            rollup: RollupTx::deposit(&l1_info_deposit(0)),
            raw: call.txRlp.to_vec(),
        };
        assert_eq!(
            h.model(&tx, &witness),
            Err(StepModelError::InvalidTransaction(reason)),
            "{name}: step model"
        );
    }
}

/// Random programs: straight-line bytecode over most opcodes (small operands so memory, storage,
/// jumps and calls do something), each deployed and called on both sides. Half the BLOCKHASHes
/// ask for a block at a random depth below `NUMBER` (inside the window or just below it), the
/// others take whatever is on the stack.
#[test]
fn random_programs_match_the_executor() {
    let (mut programs, mut blockhash_reads, mut deepest) = (0, 0, 0);
    for seed in [0x5eed, 7, 42] {
        let (deployed, reads, depth) = random_programs(seed, 300);
        programs += deployed;
        blockhash_reads += reads;
        deepest = deepest.max(depth);
    }
    eprintln!(
        "{programs} random programs ran on both sides; {blockhash_reads} read BLOCKHASH inside the window (deepest {deepest} blocks back)"
    );
    assert!(programs > 600);
    assert!(blockhash_reads > 10 && deepest > 200);
}

/// Deploys and calls `count` random programs from `seed`; returns how many deployed, how many
/// calls read BLOCKHASH inside the window, and the deepest such read (blocks back).
fn random_programs(seed: u64, count: usize) -> (usize, usize, usize) {
    let mut h = Harness::new();
    h.check(h.deposit("l1-info deposit", &l1_info_deposit(0)))
        .unwrap();
    let mut rng = StdRng::seed_from_u64(seed);
    const OPS: &[u8] = &[
        0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x07, 0x08, 0x09, 0x0a, 0x0b, 0x10, 0x11, 0x12, 0x13,
        0x14, 0x15, 0x16, 0x17, 0x18, 0x19, 0x1a, 0x1b, 0x1c, 0x1d, 0x20, 0x30, 0x31, 0x32, 0x33,
        0x34, 0x35, 0x36, 0x37, 0x38, 0x39, 0x3a, 0x3b, 0x3c, 0x3d, 0x3e, 0x3f, 0x41, 0x42, 0x43,
        0x44, 0x45, 0x46, 0x47, 0x48, 0x49, 0x4a, 0x50, 0x51, 0x52, 0x53, 0x54, 0x55, 0x56, 0x57,
        0x58, 0x59, 0x5a, 0x5b, 0x5c, 0x5d, 0x5e, 0x5f, 0x80, 0x81, 0x82, 0x83, 0x90, 0x91, 0x92,
        0xa0, 0xa1, 0xa2, 0xa3, 0xa4, 0xf0, 0xf1, 0xf2, 0xf3, 0xf4, 0xf5, 0xfa, 0xfd, 0xff, 0xfe,
        0x0c, 0x8a, 0x8f, 0x9a, 0x9f, 0x21, 0x4b, 0xef, 0x40,
    ];
    let mut programs = 0;
    for i in 0..count {
        let mut code = Vec::new();
        for _ in 0..rng.random_range(1..8) {
            code.extend_from_slice(&[0x60, rng.random_range(0..4u8)]);
        }
        for _ in 0..rng.random_range(5..60) {
            match rng.random_range(0..10u8) {
                0..=3 => {
                    // PUSH1 small / PUSH2 / PUSH32 random.
                    match rng.random_range(0..4u8) {
                        0 => code.extend_from_slice(&[0x60, rng.random_range(0..0x40u8)]),
                        1 => code.extend_from_slice(&[0x61, 0x00, rng.random()]),
                        2 => {
                            code.push(0x7f);
                            code.extend_from_slice(&rng.random::<[u8; 32]>());
                        }
                        _ => code.extend_from_slice(&[0x60, rng.random_range(1..12u8)]),
                    }
                }
                _ => {
                    let op = OPS[rng.random_range(0..OPS.len())];
                    if matches!(op, 0xf1 | 0xf2 | 0xf4 | 0xfa) {
                        // A call with small gas to self, a precompile or an absent account.
                        let target = match rng.random_range(0..3u8) {
                            0 => 0x30,
                            _ => 0x00,
                        };
                        code.extend_from_slice(&[0x60, 0x20, 0x60, 0x00, 0x60, 0x20, 0x60, 0x00]);
                        if matches!(op, 0xf1 | 0xf2) {
                            code.extend_from_slice(&[0x60, rng.random_range(0..2u8)]);
                        }
                        if target == 0x30 {
                            code.push(0x30);
                        } else {
                            code.extend_from_slice(&[0x60, rng.random_range(1..12u8)]);
                        }
                        code.extend_from_slice(&[0x61, 0x27, 0x10, op]);
                    } else if op == 0x40 && rng.random() {
                        let number = NUMBER - rng.random_range(1..=260u64);
                        code.push(0x61);
                        code.extend_from_slice(&(number as u16).to_be_bytes());
                        code.push(op);
                    } else {
                        code.push(op);
                    }
                }
            }
        }
        let address = Address::create(&h.alice(), h.nonce);
        let tx = h.signed(
            &format!("deploy program {i}"),
            TxKind::Create,
            0,
            initcode_for(&code),
            400_000,
        );
        h.check(tx).unwrap();
        if !h.world.accounts.contains_key(&address) {
            continue;
        }
        programs += 1;
        let data: Vec<u8> = (0..rng.random_range(0..40)).map(|_| rng.random()).collect();
        let tx = h.signed(
            &format!("seed {seed} program {i}: {}", alloy::hex::encode(&code)),
            call(address),
            rng.random_range(0..3u128),
            data,
            300_000,
        );
        h.check(tx).unwrap();
    }
    (programs, h.blockhash_reads, h.deepest_blockhash)
}
