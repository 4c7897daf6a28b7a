//! Ethereum GeneralStateTests through all three executions of one transaction: the sequential
//! executor (revm with Parallax's fee rules), the Rust step model
//! (`parallax_fraud_proof::step_model`) and the Solidity `EvmStepVerifier` run as bytecode
//! inside revm.
//!
//! Each Cancun entry is adapted into a one-transaction Parallax block: the fixture's pre-state
//! plus an `L1Block` predeploy holding L1 fee parameters (so every signed transaction pays an L1
//! data fee to the vault), the fixture's block fields with zero excess blob gas (an L2 block),
//! the base fee credited to the base-fee vault, and the transaction re-signed with the fixture's
//! secret key under EIP-155 for the fixture's chain id (the verifier is deployed for that chain
//! id and refuses pre-EIP-155 signatures). The witness is the challenger's own
//! (`step::step_witness`, reads recorded from revm).
//!
//! BLOCKHASH: the fixtures' convention (block n's hash is keccak256 of n in decimal) has no
//! header chain behind it, so each entry runs on a chain of real headers instead (the 256 blocks
//! before the fixture's number, `common::HeaderChain`): the executor reads their hashes, and the
//! witness carries the ancestor headers the verifier proves them with. Only agreement between the
//! three executions is checked, never the fixture's post-state, so the substitution is sound.
//!
//! Agreement means: the executor and both step implementations accept the transaction with the
//! same status, gas, logs accumulator, post-state root and commitment, or all three refuse it
//! (the model and the verifier for the same reason). Skipped, and counted: blob and set-code
//! transactions (not L2 transactions), fields that do not fit a signed envelope, entries where
//! the model and the verifier agree they cannot decide (`Unsupported`: large modexp), and entries whose verification does not fit the L1 gas budget (for
//! those the model is still checked against the executor). Any other difference fails the test
//! with the fixture file and entry.
//!
//! `ETHTEST_STEP_SAMPLE=n` runs one entry in n (default 6, chosen by hash of the entry name,
//! so the sample is deterministic); `ETHTEST_STEP_SAMPLE=1` runs them all. The entries that
//! once disagreed (`REGRESSIONS`) run on every run, whatever the sample.

mod common;

use std::{
    collections::BTreeMap,
    path::{Path, PathBuf},
};

use alloy::{
    consensus::{SignableTransaction, TxEip1559, TxEip2930, TxEnvelope, TxLegacy},
    eips::eip2718::Encodable2718,
    primitives::{keccak256, Address, Bytes, B256, U256},
    signers::{local::PrivateKeySigner, SignerSync},
    sol_types::{SolCall, SolConstructor, SolValue},
};
use common::{Chain, HeaderChain};
use parallax_contracts::{EvmInterpreter, EvmPrecompiles, EvmStepVerifier};
use parallax_executor::{
    revm::{
        context::{result::ExecutionResult, BlockEnv},
        primitives::{eip4844::BLOB_BASE_FEE_UPDATE_FRACTION_CANCUN, hardfork::SpecId, TxKind},
    },
    BlockExecutor, ExecutionEnv, ExecutionError, RollupTx, Sequential, StateChanges,
};
use parallax_fraud_proof::{
    mpt::MptError,
    step::{step_witness, L1_FEE_SLOTS},
    step_model::{self, StepModelError},
    trace::{logs_accumulator, TraceState},
    MemoryNodes, StateReads, StateWitnessBuilder,
};
use parallax_protocol::{
    l1_data_fee,
    predeploys::{BASE_FEE_VAULT, L1_BLOCK, L1_FEE_VAULT},
    L1FeeScalars,
};
use parallax_state::{MemoryState, WorldState};
use revm_statetest_types::{SpecName, TestSuite, TestUnit};

/// What one execution concluded.
#[derive(Clone, Debug, PartialEq, Eq)]
enum Verdict {
    /// Executed: the commitment it returns (and, for the model, status and gas).
    Committed(B256),
    /// The transaction is invalid, with the interpreter's or decoder's reason.
    Invalid(u8),
    /// An opcode or precompile input the verifier cannot prove.
    Unsupported(u8),
    /// The witness lacks something (account, slot, code or node).
    Missing(String),
    /// The L1 execution ran out of L1 gas.
    OverBudget,
    /// Anything else (a bug on some side).
    Other(String),
}

/// L1 gas a one-step proof may use (an L1 block's worth, as in `evm_interpreter.rs`).
const L1_GAS_BUDGET: u64 = 30_000_000;
/// L1 gas for a second run of a proof over the budget, so it is still compared.
const EXTENDED_L1_GAS: u64 = 2_000_000_000;
const SCALARS: L1FeeScalars = L1FeeScalars {
    base_fee_scalar: 1368,
    blob_base_fee_scalar: 810_949,
};

/// The verifiers deployed so far, by chain id.
struct Verifiers {
    chain: Chain,
    by_chain: BTreeMap<u64, Address>,
    interpreter: Address,
}

impl Verifiers {
    fn new() -> Self {
        let mut chain = Chain::default();
        let deployer = Address::repeat_byte(0xde);
        let precompiles = chain.deploy(deployer, EvmPrecompiles::BYTECODE.clone());
        let mut initcode = EvmInterpreter::BYTECODE.to_vec();
        initcode.extend(EvmInterpreter::constructorCall::new((precompiles,)).abi_encode());
        let interpreter = chain.deploy(deployer, initcode.into());
        Self {
            chain,
            by_chain: BTreeMap::new(),
            interpreter,
        }
    }

    fn verifier(&mut self, chain_id: u64) -> Address {
        if let Some(address) = self.by_chain.get(&chain_id) {
            return *address;
        }
        let mut initcode = EvmStepVerifier::BYTECODE.to_vec();
        initcode.extend(
            EvmStepVerifier::constructorCall::new((
                self.interpreter,
                U256::from(chain_id),
                BASE_FEE_VAULT,
                L1_FEE_VAULT,
            ))
            .abi_encode(),
        );
        let address = self
            .chain
            .deploy(Address::repeat_byte(0xde), initcode.into());
        self.by_chain.insert(chain_id, address);
        address
    }
}

/// Counts of the run.
#[derive(Debug, Default)]
struct Counts {
    entries: usize,
    sampled_out: usize,
    agreed_executed: usize,
    agreed_invalid: usize,
    /// Agreed, but only with more L1 gas than `L1_GAS_BUDGET`.
    over_budget: usize,
    /// Agreed on a transaction that read BLOCKHASH inside the 256-block window.
    agreed_blockhash: usize,
    skipped: BTreeMap<String, usize>,
    disagreements: Vec<String>,
}

impl Counts {
    fn skip(&mut self, reason: &str) {
        *self.skipped.entry(reason.to_string()).or_default() += 1;
    }

    /// One line: entries, run, agreed, skipped by reason, disagreements, time; then each
    /// disagreement on a line of its own.
    fn summary(&self, started: std::time::Instant) -> String {
        let ran = self.entries - self.sampled_out;
        let skipped: usize = self.skipped.values().sum();
        let mut out = format!(
            "{} Cancun entries, {ran} run, {} agreed ({} executed, of which {} need more than {L1_GAS_BUDGET} L1 gas and {} read BLOCKHASH in the window; {} invalid on all three), {skipped} skipped {:?}, {} disagreements, {:.0?}",
            self.entries,
            self.agreed_executed + self.agreed_invalid,
            self.agreed_executed,
            self.over_budget,
            self.agreed_blockhash,
            self.agreed_invalid,
            self.skipped,
            self.disagreements.len(),
            started.elapsed()
        );
        for d in &self.disagreements {
            out.push_str(&format!("\nDISAGREEMENT {d}"));
        }
        out
    }

    fn assert_agreed(&self) {
        assert!(
            self.disagreements.is_empty(),
            "{} ethtest entries disagree (first: {})",
            self.disagreements.len(),
            self.disagreements[0]
        );
        assert!(
            self.agreed_executed + self.agreed_invalid > 0,
            "no entry agreed"
        );
    }
}

fn ethtests_dir() -> Option<PathBuf> {
    let dir = std::env::var_os("ETHTESTS_DIR").map_or_else(
        || Path::new(env!("CARGO_MANIFEST_DIR")).join("../../shared/ethtests"),
        PathBuf::from,
    );
    let dir = dir.join("GeneralStateTests");
    if dir.is_dir() {
        return Some(dir);
    }
    assert!(
        std::env::var("CI").as_deref() != Ok("true"),
        "{} is missing (clone ethereum/tests and set ETHTESTS_DIR)",
        dir.display()
    );
    eprintln!(
        "skipping: {} is missing (clone ethereum/tests and set ETHTESTS_DIR)",
        dir.display()
    );
    None
}

fn json_files(dir: &Path, out: &mut Vec<PathBuf>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    let mut paths: Vec<PathBuf> = entries.flatten().map(|e| e.path()).collect();
    paths.sort();
    for path in paths {
        if path.is_dir() {
            json_files(&path, out);
        } else if path.extension().is_some_and(|ext| ext == "json") {
            out.push(path);
        }
    }
}

#[test]
fn ethtests_agree_across_executor_model_and_verifier() {
    let Some(dir) = ethtests_dir() else {
        return;
    };
    let sample: u64 = std::env::var("ETHTEST_STEP_SAMPLE")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(6)
        .max(1);
    let mut files = Vec::new();
    json_files(&dir, &mut files);
    let mut verifiers = Verifiers::new();
    let mut counts = Counts::default();
    let started = std::time::Instant::now();
    run_files(&dir, &files, &mut verifiers, &mut counts, |case| {
        let pick = keccak256(case.as_bytes());
        u64::from_be_bytes(pick[..8].try_into().expect("8 bytes")) % sample == 0
    });
    eprintln!("ethtests (1 in {sample}): {}", counts.summary(started));
    counts.assert_agreed();
    assert!(counts.agreed_executed > 0, "no entry executed");
}

/// Entries that once disagreed, each for a different root cause (issue #9), run whatever the
/// sample (all entries of the file whose case name contains the filter):
/// - an interpreter lookup that grew its cache array (slots, transient slots, accounts) while
///   the old array was being indexed reverted `Panic(0x32)`;
/// - reverting a second SELFDESTRUCT of an account created in the transaction revived it
///   (EIP-6780 keeps it destructed);
/// - a transaction with nonce 2^64-1 overflowed where it must be refused (EIP-2681);
/// - a CALL with value loaded the callee before charging the transfer cost, reading an account
///   revm (and so the challenger's witness) never reads.
const REGRESSIONS: &[(&str, &str)] = &[
    ("stWalletTest/walletConfirm.json", ""),
    ("stRandom/randomStatetest384.json", ""),
    ("stEIP2930/variedContext.json", "[d=20,"),
    ("stEIP2930/variedContext.json", "[d=21,"),
    ("Pyspecs/cancun/eip1153_tstore/contract_creation.json", ""),
    (
        "Pyspecs/cancun/eip6780_selfdestruct/selfdestruct_created_in_same_tx_with_revert.json",
        "",
    ),
    ("stCreateTest/CreateTransactionHighNonce.json", ""),
    ("stCallCodes/call_OOG_additionalGasCosts2.json", ""),
];

#[test]
fn ethtest_regressions_agree_across_executor_model_and_verifier() {
    let Some(dir) = ethtests_dir() else {
        return;
    };
    let mut verifiers = Verifiers::new();
    let started = std::time::Instant::now();
    for (file, filter) in REGRESSIONS {
        let mut counts = Counts::default();
        run_files(
            &dir,
            &[dir.join(file)],
            &mut verifiers,
            &mut counts,
            |case| case.contains(filter),
        );
        let ran = counts.entries - counts.sampled_out;
        assert!(ran > 0, "{file} {filter}: no such entry");
        assert!(
            counts.skipped.is_empty(),
            "{file} {filter}: skipped {:?}",
            counts.skipped
        );
        eprintln!("{file} {filter}: {}", counts.summary(started));
        counts.assert_agreed();
    }
}

/// Runs the Cancun entries of `files` whose case name `pick` accepts.
fn run_files(
    dir: &Path,
    files: &[PathBuf],
    verifiers: &mut Verifiers,
    counts: &mut Counts,
    pick: impl Fn(&str) -> bool,
) {
    for file in files {
        let name = file.strip_prefix(dir).unwrap_or(file).display().to_string();
        let Ok(text) = std::fs::read_to_string(file) else {
            counts.skip("unreadable file");
            continue;
        };
        let suite: TestSuite = match serde_json::from_str(&text) {
            Ok(suite) => suite,
            Err(_) => {
                counts.skip("fixture does not decode");
                continue;
            }
        };
        for (test, unit) in &suite.0 {
            let Some(entries) = unit.post.get(&SpecName::Cancun) else {
                continue;
            };
            for entry in entries {
                counts.entries += 1;
                let case = format!(
                    "{name} {test}[d={},g={},v={}]",
                    entry.indexes.data, entry.indexes.gas, entry.indexes.value
                );
                if !pick(&case) {
                    counts.sampled_out += 1;
                    continue;
                }
                run_entry(verifiers, counts, &case, unit, entry);
            }
        }
    }
}

/// The Parallax block environment of a state test.
fn block_env(unit: &TestUnit) -> BlockEnv {
    let env = &unit.env;
    let mut block = BlockEnv {
        number: env.current_number,
        beneficiary: env.current_coinbase,
        timestamp: env.current_timestamp,
        gas_limit: env.current_gas_limit.saturating_to(),
        basefee: env.current_base_fee.unwrap_or_default().saturating_to(),
        difficulty: env.current_difficulty,
        prevrandao: Some(env.current_random.unwrap_or_default()),
        ..BlockEnv::default()
    };
    block.set_blob_excess_gas_and_price(0, BLOB_BASE_FEE_UPDATE_FRACTION_CANCUN);
    block
}

/// The entry's transaction, signed for `chain_id`; `Err` says why it cannot be one.
fn envelope(
    unit: &TestUnit,
    entry: &revm_statetest_types::Test,
    chain_id: u64,
) -> Result<(TxEnvelope, Address), &'static str> {
    let tx = &unit.transaction;
    let data = tx.data.get(entry.indexes.data).ok_or("data index")?.clone();
    let gas_limit = tx.gas_limit.get(entry.indexes.gas).ok_or("gas index")?;
    let value = *tx.value.get(entry.indexes.value).ok_or("value index")?;
    let key = tx.secret_key.ok_or("no secret key")?;
    let signer = PrivateKeySigner::from_bytes(&key).map_err(|_| "invalid secret key")?;
    let tx_type = tx.tx_type(entry.indexes.data).ok_or("unknown type")? as u8;
    let nonce = u64::try_from(tx.nonce).map_err(|_| "nonce above u64")?;
    let gas_limit = u64::try_from(*gas_limit).map_err(|_| "gas limit above u64")?;
    let to = tx.to.map_or(TxKind::Create, TxKind::Call);
    let access_list = tx
        .access_lists
        .get(entry.indexes.data)
        .cloned()
        .flatten()
        .unwrap_or_default();
    let u128_of = |v: Option<U256>| -> Result<u128, &'static str> {
        u128::try_from(v.unwrap_or_default()).map_err(|_| "fee above u128")
    };
    let sign = |hash: B256| signer.sign_hash_sync(&hash).map_err(|_| "cannot sign");
    let envelope = match tx_type {
        0 => {
            let t = TxLegacy {
                chain_id: Some(chain_id),
                nonce,
                gas_price: u128_of(tx.gas_price)?,
                gas_limit,
                to,
                value,
                input: data,
            };
            let signature = sign(t.signature_hash())?;
            TxEnvelope::from(t.into_signed(signature))
        }
        1 => {
            let t = TxEip2930 {
                chain_id,
                nonce,
                gas_price: u128_of(tx.gas_price)?,
                gas_limit,
                to,
                value,
                access_list,
                input: data,
            };
            let signature = sign(t.signature_hash())?;
            TxEnvelope::from(t.into_signed(signature))
        }
        2 => {
            let t = TxEip1559 {
                chain_id,
                nonce,
                gas_limit,
                max_fee_per_gas: u128_of(tx.max_fee_per_gas)?,
                max_priority_fee_per_gas: u128_of(tx.max_priority_fee_per_gas)?,
                to,
                value,
                access_list,
                input: data,
            };
            let signature = sign(t.signature_hash())?;
            TxEnvelope::from(t.into_signed(signature))
        }
        _ => return Err("blob or set-code transaction (not an L2 type)"),
    };
    Ok((envelope, signer.address()))
}

fn run_entry(
    verifiers: &mut Verifiers,
    counts: &mut Counts,
    case: &str,
    unit: &TestUnit,
    entry: &revm_statetest_types::Test,
) {
    let chain_id = unit
        .transaction
        .chain_id
        .or(unit.env.current_chain_id)
        .map_or(1, |id| id.saturating_to::<u64>());
    let (envelope, sender) = match envelope(unit, entry, chain_id) {
        Ok(tx) => tx,
        Err(reason) => {
            counts.skip(reason);
            return;
        }
    };
    // The pre-state, plus the L1 fee parameters a Parallax block has in L1Block.
    let mut pre = MemoryState::new();
    for (address, account) in &unit.pre {
        if pre
            .insert_account(
                *address,
                account.balance,
                account.nonce,
                account.code.clone(),
                account.storage.iter().map(|(k, v)| (*k, *v)),
            )
            .is_err()
        {
            counts.skip("pre-state code cannot exist (EIP-7702 delegation)");
            return;
        }
    }
    let l1_base_fee = U256::from(7_000_000_000u64);
    let l1_blob_fee = U256::from(3);
    let scalars =
        U256::from(SCALARS.base_fee_scalar) | (U256::from(SCALARS.blob_base_fee_scalar) << 32);
    if !unit.pre.contains_key(&L1_BLOCK) {
        // Only storage matters: the fee is read from slots 1, 2 and 5.
        let _ = pre.insert_account(
            L1_BLOCK,
            U256::ZERO,
            1,
            Bytes::new(),
            [
                (U256::from(1), l1_base_fee),
                (U256::from(2), l1_blob_fee),
                (U256::from(5), scalars),
            ],
        );
    }
    let mut world = WorldState::from_memory(&pre);
    let number: u64 = unit.env.current_number.saturating_to();
    let chain = HeaderChain::window(number);
    for (block, hash) in chain.hashes() {
        world.record_block_hash(block, hash);
    }
    let parent_hash = number
        .checked_sub(1)
        .and_then(|parent| chain.hash(parent))
        .unwrap_or_default();
    let raw = envelope.encoded_2718();
    let fee = l1_data_fee(&raw, l1_base_fee, l1_blob_fee, SCALARS);
    let rollup = RollupTx::signed(&envelope, sender, fee);
    let env = ExecutionEnv {
        spec: SpecId::CANCUN,
        chain_id,
        block: block_env(unit),
        base_fee_recipient: Some(BASE_FEE_VAULT),
        l1_fee_recipient: Some(L1_FEE_VAULT),
    };
    let start = TraceState::start(world.root());

    // 1. The executor, and what the commitment after it must be.
    let executed = Sequential.execute_block(&env, std::slice::from_ref(&rollup), &world);
    let (invalid, receipt) = match &executed {
        Ok(outcome) => {
            let mut post = world.clone();
            post.apply(&outcome.state_changes);
            let receipt = outcome.receipts[0].clone();
            let next = start.advance(&receipt, receipt.cumulative_gas_used, post.root());
            (false, Some((next.commitment(), receipt)))
        }
        Err(ExecutionError::InvalidTransaction { .. }) => (true, None),
        Err(error) => {
            counts
                .disagreements
                .push(format!("{case}: executor error {error}"));
            return;
        }
    };

    // 2. The witness: the challenger's for an executed transaction; for a refused one, what
    //    validation reads (the sender and the L1 fee parameters).
    let mut reads_blockhash = false;
    let witness: Bytes = if invalid {
        let mut reads = StateReads::default();
        reads.accounts.insert(sender);
        reads.accounts.insert(L1_BLOCK);
        reads
            .slots
            .entry(L1_BLOCK)
            .or_default()
            .extend(L1_FEE_SLOTS.map(U256::from));
        let nodes: MemoryNodes = world.trie_nodes().into_iter().map(|(_, n)| n).collect();
        let state = match StateWitnessBuilder::new(&nodes, world.root())
            .build(&reads, &StateChanges::default())
        {
            Ok(state) => state,
            Err(error) => {
                counts
                    .disagreements
                    .push(format!("{case}: witness of a refused transaction: {error}"));
                return;
            }
        };
        let accounts: Vec<Address> = reads.accounts.iter().copied().collect();
        let owners = vec![L1_BLOCK; L1_FEE_SLOTS.len()];
        let keys: Vec<U256> = L1_FEE_SLOTS.iter().map(|s| U256::from(*s)).collect();
        (
            state.nodes,
            Vec::<Bytes>::new(),
            accounts,
            owners,
            keys,
            Vec::<Bytes>::new(),
        )
            .abi_encode_params()
            .into()
    } else {
        match step_witness(&env, &rollup, &world, &chain.ancestors_of(number)) {
            Ok(w) => {
                reads_blockhash = !w.block_hashes_read.is_empty();
                w.encoded
            }
            Err(error) => {
                counts
                    .disagreements
                    .push(format!("{case}: step_witness: {error}"));
                return;
            }
        }
    };

    // 3. The model.
    let block = &env.block;
    let model = step_model::execute_transaction(&step_model::StepInput {
        ctx: step_model::BlockContext {
            number: block.number,
            timestamp: block.timestamp,
            coinbase: block.beneficiary,
            gas_limit: U256::from(block.gas_limit),
            base_fee: U256::from(block.basefee),
            prev_randao: block.prevrandao.unwrap_or_default(),
            parent_hash,
        },
        config: step_model::ChainConfig {
            chain_id,
            base_fee_vault: BASE_FEE_VAULT,
            l1_fee_vault: L1_FEE_VAULT,
        },
        pre_state_root: start.state_root,
        pre_cumulative_gas: 0,
        pre_receipts_hash: B256::ZERO,
        tx_rlp: &raw,
        witness: &witness,
    });
    let model_verdict = match &model {
        Ok(outcome) => Verdict::Committed(outcome.commitment),
        Err(error) => model_error(error),
    };
    if let (Ok(outcome), Some((_, receipt))) = (&model, &receipt) {
        if outcome.result.success != receipt.status.is_success()
            || outcome.result.gas_used != receipt.gas_used
            || outcome.result.logs_acc != logs_accumulator(&receipt.logs)
        {
            counts.disagreements.push(format!(
                "{case}: model status/gas/logs {} {} vs executor {:?} {}",
                outcome.result.success, outcome.result.gas_used, receipt.status, receipt.gas_used
            ));
            return;
        }
    }

    // 4. The verifier.
    let verifier = verifiers.verifier(chain_id);
    let call = EvmStepVerifier::verifyTransactionCall {
        ctx: EvmStepVerifier::BlockContext {
            chainId: U256::from(chain_id),
            number: block.number,
            timestamp: block.timestamp,
            coinbase: block.beneficiary,
            gasLimit: U256::from(block.gas_limit),
            baseFee: U256::from(block.basefee),
            prevRandao: block.prevrandao.unwrap_or_default(),
            parentHash: parent_hash,
        },
        txIndex: U256::ZERO,
        preStateRoot: start.state_root,
        preCumulativeGas: U256::ZERO,
        preReceiptsHash: B256::ZERO,
        txRlp: raw.clone().into(),
        witness,
    };
    let mut run_verifier = |gas_limit: u64| match verifiers.chain.call(
        Address::ZERO,
        verifier,
        call.abi_encode().into(),
        gas_limit,
    ) {
        ExecutionResult::Success { output, .. } => {
            match EvmStepVerifier::verifyTransactionCall::abi_decode_returns(output.data()) {
                Ok(commitment) => Verdict::Committed(commitment),
                Err(error) => Verdict::Other(format!("undecodable output: {error}")),
            }
        }
        // The interpreter's call ran out of L1 gas: the verifier bubbles up an empty revert.
        ExecutionResult::Revert { output, gas, .. }
            if output.is_empty() && gas.tx_gas_used() >= gas_limit / 64 * 60 =>
        {
            Verdict::OverBudget
        }
        ExecutionResult::Revert { output, .. } => revert_verdict(&output),
        ExecutionResult::Halt { .. } => Verdict::OverBudget,
    };
    let mut verifier_verdict = run_verifier(L1_GAS_BUDGET);
    let mut over_budget = false;
    if verifier_verdict == Verdict::OverBudget {
        // Still compare: the same proof with (much) more L1 gas than a block has.
        over_budget = true;
        verifier_verdict = run_verifier(EXTENDED_L1_GAS);
    }

    // 5. Compare.
    let executor_verdict = receipt.as_ref().map(|(commitment, _)| *commitment);
    match (&executor_verdict, &model_verdict, &verifier_verdict) {
        (Some(c), Verdict::Committed(m), Verdict::Committed(v)) if c == m && m == v => {
            counts.agreed_executed += 1;
            counts.over_budget += usize::from(over_budget);
            counts.agreed_blockhash += usize::from(reads_blockhash);
        }
        (None, Verdict::Invalid(m), Verdict::Invalid(v)) if m == v => counts.agreed_invalid += 1,
        (_, Verdict::Unsupported(m), Verdict::Unsupported(v)) if m == v => {
            counts.skip("unsupported by the verifier (large modexp)");
        }
        (Some(c), Verdict::Committed(m), Verdict::OverBudget) if c == m => {
            counts.skip("verifier over 2G L1 gas (model agrees with executor)");
        }
        _ => counts.disagreements.push(format!(
            "{case}: executor {executor_verdict:?} (invalid: {invalid}), model {model_verdict:?}, verifier {verifier_verdict:?}"
        )),
    }
}

fn model_error(error: &StepModelError) -> Verdict {
    match error {
        StepModelError::InvalidTransaction(reason) => Verdict::Invalid(*reason),
        StepModelError::Unsupported(op) => Verdict::Unsupported(*op),
        StepModelError::MissingAccount(a) => Verdict::Missing(format!("account {a}")),
        StepModelError::MissingSlot(a, k) => Verdict::Missing(format!("slot {a} {k}")),
        StepModelError::MissingCode(h) => Verdict::Missing(format!("code {h}")),
        StepModelError::MissingAncestor(n) => Verdict::Missing(format!("ancestor {n}")),
        StepModelError::Trie(MptError::MissingNode(h)) => Verdict::Missing(format!("node {h}")),
        other => Verdict::Other(other.to_string()),
    }
}

/// The verifier's revert data as a verdict (errors of the interpreter bubble up unchanged).
fn revert_verdict(output: &[u8]) -> Verdict {
    let selector = |sig: &str| keccak256(sig.as_bytes())[..4].to_vec();
    if output.len() < 4 {
        return Verdict::Other(format!("revert {}", alloy::hex::encode(output)));
    }
    let (sel, args) = output.split_at(4);
    let word = |i: usize| -> U256 {
        args.get(32 * i..32 * (i + 1))
            .map_or(U256::ZERO, U256::from_be_slice)
    };
    let address = |i: usize| Address::from_word(B256::from(word(i)));
    if sel == selector("InvalidTransaction(uint8)") {
        Verdict::Invalid(word(0).saturating_to())
    } else if sel == selector("Unsupported(uint8)") {
        Verdict::Unsupported(word(0).saturating_to())
    } else if sel == selector("MissingAccount(address)") {
        Verdict::Missing(format!("account {}", address(0)))
    } else if sel == selector("MissingSlot(address,uint256)") {
        Verdict::Missing(format!("slot {} {}", address(0), word(1)))
    } else if sel == selector("MissingCode(bytes32)") {
        Verdict::Missing(format!("code {}", B256::from(word(0))))
    } else if sel == selector("MissingAncestor(uint256)") {
        Verdict::Missing(format!("ancestor {}", word(0)))
    } else if sel == selector("MissingNode(bytes32)") {
        Verdict::Missing(format!("node {}", B256::from(word(0))))
    } else if sel == selector("PrecompileOutOfL1Gas()") {
        Verdict::OverBudget
    } else {
        Verdict::Other(format!("revert {}", alloy::hex::encode(output)))
    }
}
