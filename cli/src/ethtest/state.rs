//! GeneralStateTests: every `post.Cancun` entry is a one-transaction block executed on the
//! fixture's pre-state; the resulting state root and logs hash must match the entry's.

use std::path::Path;

use alloy_primitives::{keccak256, B256, U256};
use parallax_executor::{
    revm::{
        context::{either::Either, BlockEnv, TxEnv},
        primitives::{eip4844::BLOB_BASE_FEE_UPDATE_FRACTION_CANCUN, hardfork::SpecId, TxKind},
    },
    BlockExecutor, Engine, ExecutionEnv, ExecutionError,
};
use parallax_state::{MemoryState, WorldState};
use revm_statetest_types::{recover_address, SpecName, Test, TestUnit};

use super::{decode_test, logs_hash, CaseResult, ExecCounters, Suite};

/// Files revm's own state-test runner skips, with the reason. Matched on the file name prefix
/// (and, for the pyspec folder, on any path component).
const SKIPPED_FILES: &[(&str, &str)] = &[
    ("create2collisionStorage", EIP7610),
    ("RevertInCreateInInit", EIP7610),
    ("dynamicAccountOverwriteEmpty", EIP7610),
    ("InitCollision", EIP7610),
    ("test_init_collision_create_opcode", EIP7610),
    (
        "ValueOverflow",
        "malformed fixture: transaction value above 2^256 cannot be represented",
    ),
];

const EIP7610: &str =
    "EIP-7610 create collision with pre-existing storage is not checked by revm 43";

/// Why `file` is out of scope, if it is.
pub fn skip_reason(file: &Path) -> Option<&'static str> {
    if file
        .components()
        .any(|component| component.as_os_str() == "eip7610_create_collision")
    {
        return Some(EIP7610);
    }
    let name = file.file_name()?.to_str()?;
    SKIPPED_FILES
        .iter()
        .find(|(prefix, _)| name.starts_with(prefix))
        .map(|(_, reason)| *reason)
}

/// Runs every test of a GeneralStateTests file.
pub(crate) fn run_suite(file: &Path, tests: Suite, engine: &Engine) -> Vec<CaseResult> {
    let mut results = Vec::new();
    for (name, json) in tests {
        let unit: TestUnit = match decode_test(file, &name, json) {
            Ok(unit) => unit,
            Err(failure) => {
                results.push(failure);
                continue;
            }
        };
        let Some(entries) = unit.post.get(&SpecName::Cancun) else {
            results.push(CaseResult::skipped(
                file,
                name,
                "no Cancun post-state (older forks only)",
            ));
            continue;
        };
        let prepared = match Prepared::new(&unit) {
            Ok(prepared) => prepared,
            Err(reason) => {
                results.push(CaseResult::failed(
                    file,
                    name,
                    format!("malformed fixture: {reason}"),
                ));
                continue;
            }
        };
        for entry in entries {
            let case = format!(
                "{name}[d={},g={},v={}]",
                entry.indexes.data, entry.indexes.gas, entry.indexes.value
            );
            let mut counters = ExecCounters::default();
            let result = match prepared.run(&unit, entry, engine, &mut counters) {
                Ok(()) => CaseResult::passed(file, case),
                Err(reason) => CaseResult::failed(file, case, reason),
            };
            results.push(result.with_counters(counters));
        }
    }
    results
}

/// What every entry of one test shares: pre-state (with block hashes) and block environment.
struct Prepared {
    pre: MemoryState,
    /// The same pre-state as an incremental trie: each entry applies its changes to a snapshot.
    pre_world: WorldState,
    pre_root: B256,
    env: ExecutionEnv,
}

impl Prepared {
    fn new(unit: &TestUnit) -> Result<Self, String> {
        let mut pre = MemoryState::new();
        for (address, account) in &unit.pre {
            pre.insert_account(
                *address,
                account.balance,
                account.nonce,
                account.code.clone(),
                account.storage.iter().map(|(slot, value)| (*slot, *value)),
            )
            .map_err(|error| format!("account {address}: {error}"))?;
        }
        let pre_root = pre.state_root();
        let pre_world = WorldState::from_memory(&pre);
        // BLOCKHASH in state tests: block n's hash is keccak256 of n in decimal.
        if let Ok(number) = u64::try_from(unit.env.current_number) {
            for n in number.saturating_sub(256)..number {
                pre.insert_block_hash(n, keccak256(n.to_string()));
            }
        }
        let chain_id = unit.env.current_chain_id.map_or(1, |id| id.saturating_to());
        let env = ExecutionEnv::ethereum(SpecId::CANCUN, chain_id, block_env(unit));
        Ok(Self {
            pre,
            pre_world,
            pre_root,
            env,
        })
    }

    /// Runs one post-state entry; `Err` says what differs.
    fn run(
        &self,
        unit: &TestUnit,
        entry: &Test,
        engine: &Engine,
        counters: &mut ExecCounters,
    ) -> Result<(), String> {
        let expected_exception = entry.expect_exception.as_deref();
        let tx = match tx_env(unit, entry) {
            Ok(tx) => tx,
            Err(TxError::Malformed(reason)) => return Err(format!("malformed fixture: {reason}")),
            // The transaction is invalid before it reaches the executor (no signature, a blob
            // transaction creating a contract, ...): exactly what an exception entry expects.
            Err(TxError::Invalid(reason)) => {
                return match expected_exception {
                    Some(_) => Ok(()),
                    None => Err(format!("transaction cannot be built: {reason}")),
                }
            }
        };
        let executed = engine
            .execute_block_with_stats(&self.env, std::slice::from_ref(&tx), &self.pre)
            .map(|(outcome, stats)| {
                counters.record(1, &stats);
                outcome
            });
        let outcome = match (executed, expected_exception) {
            (Err(ExecutionError::InvalidTransaction { .. }), Some(_)) => {
                // The rejected transaction leaves the state untouched.
                return if entry.hash == self.pre_root {
                    Ok(())
                } else {
                    Err(format!(
                        "transaction rejected as expected, but the fixture's post-state root {} is not the pre-state root {}",
                        entry.hash, self.pre_root
                    ))
                };
            }
            (Err(error), Some(expected)) => {
                return Err(format!(
                    "expected exception {expected}, got a non-transaction error: {error}"
                ))
            }
            (Err(error), None) => return Err(format!("unexpected error: {error}")),
            (Ok(outcome), Some(expected)) => {
                return Err(format!(
                "expected exception {expected}, but the transaction executed ({:?}, gas used {})",
                outcome.receipts.first().map(|receipt| &receipt.status),
                outcome.gas_used
            ))
            }
            (Ok(outcome), None) => outcome,
        };
        let mut post = self.pre.clone();
        post.apply(&outcome.state_changes);
        let root = post.state_root();
        let mut post_world = self.pre_world.clone();
        post_world.apply(&outcome.state_changes);
        let incremental_root = post_world.root();
        let logs = logs_hash(
            outcome
                .receipts
                .iter()
                .flat_map(|receipt| receipt.logs.iter()),
        );
        let mut differences = Vec::new();
        if root != entry.hash {
            differences.push(format!("state root {root} != expected {}", entry.hash));
        }
        if incremental_root != entry.hash {
            differences.push(format!(
                "incremental state root {incremental_root} != expected {}",
                entry.hash
            ));
        }
        if logs != entry.logs {
            differences.push(format!("logs hash {logs} != expected {}", entry.logs));
        }
        if differences.is_empty() {
            Ok(())
        } else {
            if let Some(receipt) = outcome.receipts.first() {
                differences.push(format!(
                    "(tx status {:?}, gas used {})",
                    receipt.status, receipt.gas_used
                ));
            }
            Err(differences.join("; "))
        }
    }
}

/// The block environment of a state test (Cancun rules: prevrandao from `currentRandom`, blob
/// gas price from `currentExcessBlobGas`). Out-of-range numbers saturate, as in revm's runner.
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
    if let Some(excess) = env.current_excess_blob_gas {
        block.set_blob_excess_gas_and_price(
            excess.saturating_to(),
            BLOB_BASE_FEE_UPDATE_FRACTION_CANCUN,
        );
    }
    block
}

/// Why the transaction of an entry could not be built.
enum TxError {
    /// The fixture is inconsistent (an index out of range).
    Malformed(&'static str),
    /// The transaction is invalid (no signature, impossible type, nonce overflow).
    Invalid(&'static str),
}

/// The transaction of one post-state entry, selected by its data/gas/value indexes.
///
/// Mirrors revm-statetest-types' `Test::tx_env` (same type inference and defaults) but reports
/// out-of-range values as errors instead of panicking.
fn tx_env(unit: &TestUnit, entry: &Test) -> Result<TxEnv, TxError> {
    let tx = &unit.transaction;
    let data = tx
        .data
        .get(entry.indexes.data)
        .ok_or(TxError::Malformed("data index out of range"))?;
    let gas_limit = tx
        .gas_limit
        .get(entry.indexes.gas)
        .ok_or(TxError::Malformed("gas index out of range"))?;
    let value = tx
        .value
        .get(entry.indexes.value)
        .ok_or(TxError::Malformed("value index out of range"))?;
    // State tests are unsigned; the secret key stands in for a valid signature, and a fixture
    // without one models an invalid signature.
    let secret_key = tx
        .secret_key
        .ok_or(TxError::Invalid("no secret key (invalid signature)"))?;
    let caller = match tx.sender {
        Some(sender) => sender,
        None => {
            recover_address(secret_key.as_slice()).ok_or(TxError::Invalid("invalid secret key"))?
        }
    };
    let tx_type = tx
        .tx_type(entry.indexes.data)
        .ok_or(TxError::Invalid("invalid transaction type"))?;
    let saturating_u128 = |value: U256| u128::try_from(value).unwrap_or(u128::MAX);
    Ok(TxEnv {
        tx_type: tx_type as u8,
        caller,
        gas_limit: gas_limit.saturating_to(),
        gas_price: saturating_u128(tx.gas_price.or(tx.max_fee_per_gas).unwrap_or_default()),
        kind: match tx.to {
            Some(to) => TxKind::Call(to),
            None => TxKind::Create,
        },
        value: *value,
        data: data.clone(),
        nonce: u64::try_from(tx.nonce).map_err(|_| TxError::Invalid("nonce above 2^64-1"))?,
        chain_id: Some(tx.chain_id.map_or(1, |id| id.saturating_to())),
        access_list: tx
            .access_lists
            .get(entry.indexes.data)
            .cloned()
            .flatten()
            .unwrap_or_default(),
        gas_priority_fee: tx.max_priority_fee_per_gas.map(saturating_u128),
        blob_hashes: tx.blob_versioned_hashes.clone(),
        max_fee_per_blob_gas: tx.max_fee_per_blob_gas.map_or(u128::MAX, saturating_u128),
        authorization_list: tx
            .authorization_list
            .clone()
            .map(|list| {
                list.into_iter()
                    .map(|auth| Either::Left(auth.into()))
                    .collect()
            })
            .unwrap_or_default(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn skips_revm_skips() {
        assert!(skip_reason(Path::new("a/stCreate2/create2collisionStorageParis.json")).is_some());
        assert!(skip_reason(Path::new("a/eip7610_create_collision/x.json")).is_some());
        assert!(skip_reason(Path::new("a/stTransactionTest/ValueOverflowParis.json")).is_some());
        assert!(skip_reason(Path::new("a/stExample/mergeTest.json")).is_none());
    }
}
