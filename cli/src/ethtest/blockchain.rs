//! BlockchainTests: RLP blocks imported one by one on top of a genesis state, each validated
//! against its parent, executed, and checked against its header; invalid blocks must be
//! rejected and leave the chain as it was. The head (the last valid block imported) must end
//! with the fixture's `lastblockhash` and post-state.

use std::{collections::BTreeMap, collections::HashMap, path::Path};

use alloy_consensus::{proofs, Block, Header, Transaction, TxEnvelope, EMPTY_OMMER_ROOT_HASH};
use alloy_eips::{
    eip4788::BEACON_ROOTS_ADDRESS,
    eip4844::{DATA_GAS_PER_BLOB, MAX_DATA_GAS_PER_BLOCK_DENCUN, TARGET_DATA_GAS_PER_BLOCK_DENCUN},
};
use alloy_primitives::{Address, Bytes, B256, B64, U256};
use parallax_executor::{
    revm::{
        context::BlockEnv,
        primitives::{eip4844::BLOB_BASE_FEE_UPDATE_FRACTION_CANCUN, hardfork::SpecId},
    },
    BlockExecutor, Engine, ExecutionEnv,
};
use parallax_state::MemoryState;
use serde::Deserialize;

use super::{decode_test, tx, CaseResult, ExecCounters, Suite};

/// Chain id of every BlockchainTests network.
const CHAIN_ID: u64 = 1;
/// EIP-4788 ring buffer length of the beacon roots contract.
const HISTORY_BUFFER_LENGTH: u64 = 8191;
/// Bounds of EIP-1559 headers (yellow paper / geth `VerifyGaslimit`).
const GAS_LIMIT_BOUND_DIVISOR: u64 = 1024;
const MIN_GAS_LIMIT: u64 = 5000;
const MAX_GAS_LIMIT: u64 = 0x7fff_ffff_ffff_ffff;
const MAX_EXTRA_DATA: usize = 32;
/// Wei per gwei (withdrawal amounts are in gwei).
const GWEI: u64 = 1_000_000_000;

/// One BlockchainTests test case, as far as the runner needs it.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct Fixture {
    network: String,
    #[serde(rename = "genesisRLP")]
    genesis_rlp: Option<String>,
    genesis_block_header: HashOnly,
    blocks: Vec<FixtureBlock>,
    pre: BTreeMap<Address, FixtureAccount>,
    post_state: Option<BTreeMap<Address, FixtureAccount>>,
    post_state_hash: Option<B256>,
    lastblockhash: B256,
}

#[derive(Debug, Deserialize)]
struct HashOnly {
    hash: B256,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct FixtureBlock {
    /// Kept as text: an invalid block's RLP may not even be valid hex.
    rlp: String,
    expect_exception: Option<String>,
    block_header: Option<HashOnly>,
}

#[derive(Debug, Deserialize)]
struct FixtureAccount {
    balance: U256,
    code: Bytes,
    nonce: U256,
    storage: BTreeMap<U256, U256>,
}

/// A block of the imported tree and the state after it.
struct Node {
    header: Header,
    state: MemoryState,
}

/// Runs every test of a BlockchainTests file.
pub(crate) fn run_suite(file: &Path, tests: Suite, engine: &Engine) -> Vec<CaseResult> {
    tests
        .into_iter()
        .map(|(name, json)| {
            let fixture: Fixture = match decode_test(file, &name, json) {
                Ok(fixture) => fixture,
                Err(failure) => return failure,
            };
            if fixture.network != "Cancun" {
                return CaseResult::skipped(
                    file,
                    name,
                    format!(
                        "network {} is out of scope (only Cancun is run)",
                        fixture.network
                    ),
                );
            }
            let mut counters = ExecCounters::default();
            let result = match run_test(&fixture, engine, &mut counters) {
                Ok(()) => CaseResult::passed(file, name),
                Err(reason) => CaseResult::failed(file, name, reason),
            };
            result.with_counters(counters)
        })
        .collect()
}

fn run_test(fixture: &Fixture, engine: &Engine, counters: &mut ExecCounters) -> Result<(), String> {
    let genesis_rlp = fixture
        .genesis_rlp
        .as_deref()
        .ok_or("malformed fixture: no genesisRLP")?;
    let genesis_rlp = decode_hex(genesis_rlp)
        .map_err(|error| format!("malformed fixture: genesisRLP: {error}"))?;
    let (genesis, genesis_hash) = decode_block(&genesis_rlp)
        .map_err(|error| format!("malformed fixture: genesisRLP: {error}"))?;
    if genesis_hash != fixture.genesis_block_header.hash {
        return Err(format!(
            "genesis hash {genesis_hash} != genesisBlockHeader.hash {}",
            fixture.genesis_block_header.hash
        ));
    }
    let state =
        memory_state(&fixture.pre).map_err(|error| format!("malformed fixture: pre: {error}"))?;
    let genesis_root = state.state_root();
    if genesis_root != genesis.header.state_root {
        return Err(format!(
            "pre-state root {genesis_root} != genesis stateRoot {}",
            genesis.header.state_root
        ));
    }

    let mut chain = HashMap::new();
    chain.insert(
        genesis_hash,
        Node {
            header: genesis.header,
            state,
        },
    );
    let mut head = genesis_hash;
    for (index, block) in fixture.blocks.iter().enumerate() {
        let imported = import_block(&chain, &block.rlp, engine, counters);
        match (imported, &block.expect_exception) {
            (Ok((hash, node)), None) => {
                if let Some(expected) = block.block_header.as_ref().map(|header| header.hash) {
                    if hash != expected {
                        return Err(format!("block {index}: hash {hash} != blockHeader.hash {expected}"));
                    }
                }
                chain.insert(hash, node);
                head = hash;
            }
            (Ok((hash, _)), Some(expected)) => {
                return Err(format!(
                    "block {index} ({hash}) was accepted but the fixture expects it to be invalid: {expected}"
                ))
            }
            (Err(_rejected), Some(_)) => {}
            (Err(reason), None) => return Err(format!("valid block {index} was rejected: {reason}")),
        }
    }

    if head != fixture.lastblockhash {
        return Err(format!(
            "head {head} != lastblockhash {}",
            fixture.lastblockhash
        ));
    }
    let head_state = &chain
        .get(&head)
        .ok_or("head block missing from the chain")?
        .state;
    let root = head_state.state_root();
    if let Some(expected) = fixture.post_state_hash {
        if root != expected {
            return Err(format!(
                "post-state root {root} != postStateHash {expected}"
            ));
        }
    }
    if let Some(post) = &fixture.post_state {
        let expected =
            memory_state(post).map_err(|error| format!("malformed fixture: postState: {error}"))?;
        let expected_root = expected.state_root();
        if root != expected_root {
            return Err(format!(
                "post-state root {root} != root of postState {expected_root}: {}",
                describe_state_diff(head_state, &expected)
            ));
        }
    }
    Ok(())
}

/// Imports one block on top of its parent in `chain`: its hash and the new node, or why the
/// block is invalid.
fn import_block(
    chain: &HashMap<B256, Node>,
    rlp: &str,
    engine: &Engine,
    counters: &mut ExecCounters,
) -> Result<(B256, Node), String> {
    let rlp = decode_hex(rlp)?;
    let (block, hash) = decode_block(&rlp)?;
    let header = &block.header;
    let parent = chain
        .get(&header.parent_hash)
        .ok_or_else(|| format!("unknown parent {}", header.parent_hash))?;
    validate_header(header, &parent.header)?;
    validate_body(&block)?;

    let txs =
        tx::tx_envs_with_senders(&block.body.transactions).map_err(|error| error.to_string())?;
    let mut state = parent.state.clone();
    state.insert_block_hash(parent.header.number, header.parent_hash);
    if let Some(beacon_root) = header.parent_beacon_block_root {
        apply_beacon_root(&mut state, header.timestamp, beacon_root);
    }

    let env = ExecutionEnv::ethereum(SpecId::CANCUN, CHAIN_ID, block_env(header));
    let (outcome, stats) = engine
        .execute_block_with_stats(&env, &txs, &state)
        .map_err(|error| error.to_string())?;
    counters.record(txs.len(), &stats);
    // Each transaction's gas limit must fit in what the block has left (geth's gas pool).
    let mut used_before = 0u64;
    for (index, (tx, receipt)) in txs.iter().zip(&outcome.receipts).enumerate() {
        let available = header.gas_limit.saturating_sub(used_before);
        if tx.gas_limit > available {
            return Err(format!(
                "transaction {index}: gas limit {} exceeds the block's remaining gas {available}",
                tx.gas_limit
            ));
        }
        used_before = receipt.cumulative_gas_used;
    }
    state.apply(&outcome.state_changes);
    for withdrawal in block.body.withdrawals.iter().flatten() {
        // A zero withdrawal touches nothing (an empty account would be removed by EIP-161).
        if withdrawal.amount > 0 {
            state.increment_balance(
                withdrawal.address,
                U256::from(withdrawal.amount) * U256::from(GWEI),
            );
        }
    }

    if outcome.gas_used != header.gas_used {
        return Err(format!(
            "gas used {} != header gasUsed {}",
            outcome.gas_used, header.gas_used
        ));
    }
    let receipts_root = parallax_state::receipts_root(&outcome.receipts);
    if receipts_root != header.receipts_root {
        return Err(format!(
            "receipts root {receipts_root} != header {}",
            header.receipts_root
        ));
    }
    let bloom = parallax_state::logs_bloom(&outcome.receipts);
    if bloom != header.logs_bloom {
        return Err("logs bloom differs from the header's".to_string());
    }
    let state_root = state.state_root();
    if state_root != header.state_root {
        return Err(format!(
            "state root {state_root} != header stateRoot {}",
            header.state_root
        ));
    }
    Ok((
        hash,
        Node {
            header: block.header,
            state,
        },
    ))
}

/// Decodes a block and hashes its header's RLP bytes as they appear in the encoding.
fn decode_block(rlp: &[u8]) -> Result<(Block<TxEnvelope>, B256), String> {
    let mut buf = rlp;
    let sealed = Block::<TxEnvelope>::decode_sealed(&mut buf)
        .map_err(|error| format!("invalid block RLP: {error}"))?;
    if !buf.is_empty() {
        return Err(format!("invalid block RLP: {} trailing bytes", buf.len()));
    }
    Ok(sealed.into_parts())
}

/// Consensus rules of a post-merge Cancun header relative to its parent.
fn validate_header(header: &Header, parent: &Header) -> Result<(), String> {
    if Some(header.number) != parent.number.checked_add(1) {
        return Err(format!(
            "number {} does not follow parent number {}",
            header.number, parent.number
        ));
    }
    if header.timestamp <= parent.timestamp {
        return Err(format!(
            "timestamp {} not after parent timestamp {}",
            header.timestamp, parent.timestamp
        ));
    }
    if header.extra_data.len() > MAX_EXTRA_DATA {
        return Err(format!(
            "extra data is {} bytes (max {MAX_EXTRA_DATA})",
            header.extra_data.len()
        ));
    }
    if header.gas_limit > MAX_GAS_LIMIT {
        return Err(format!("gas limit {} above 2^63-1", header.gas_limit));
    }
    if header.gas_used > header.gas_limit {
        return Err(format!(
            "gas used {} above gas limit {}",
            header.gas_used, header.gas_limit
        ));
    }
    let limit_change = parent.gas_limit / GAS_LIMIT_BOUND_DIVISOR;
    if header.gas_limit.abs_diff(parent.gas_limit) >= limit_change {
        return Err(format!(
            "gas limit {} changes too much from parent gas limit {}",
            header.gas_limit, parent.gas_limit
        ));
    }
    if header.gas_limit < MIN_GAS_LIMIT {
        return Err(format!(
            "gas limit {} below {MIN_GAS_LIMIT}",
            header.gas_limit
        ));
    }
    let base_fee = header.base_fee_per_gas.ok_or("missing base fee")?;
    let expected_base_fee = next_base_fee(parent).ok_or("parent has no base fee")?;
    if u128::from(base_fee) != expected_base_fee {
        return Err(format!(
            "base fee {base_fee} != expected {expected_base_fee}"
        ));
    }
    if !header.difficulty.is_zero() {
        return Err(format!(
            "difficulty {} is not 0 after the merge",
            header.difficulty
        ));
    }
    if header.nonce != B64::ZERO {
        return Err(format!("nonce {} is not 0 after the merge", header.nonce));
    }
    if header.ommers_hash != EMPTY_OMMER_ROOT_HASH {
        return Err("ommers hash is not the empty list's after the merge".to_string());
    }
    if header.withdrawals_root.is_none() {
        return Err("missing withdrawals root".to_string());
    }
    let blob_gas_used = header.blob_gas_used.ok_or("missing blob gas used")?;
    let excess_blob_gas = header.excess_blob_gas.ok_or("missing excess blob gas")?;
    if blob_gas_used > MAX_DATA_GAS_PER_BLOCK_DENCUN {
        return Err(format!(
            "blob gas used {blob_gas_used} above {MAX_DATA_GAS_PER_BLOCK_DENCUN}"
        ));
    }
    if blob_gas_used % DATA_GAS_PER_BLOB != 0 {
        return Err(format!(
            "blob gas used {blob_gas_used} is not a multiple of {DATA_GAS_PER_BLOB}"
        ));
    }
    let expected_excess = parent
        .excess_blob_gas
        .unwrap_or_default()
        .saturating_add(parent.blob_gas_used.unwrap_or_default())
        .saturating_sub(TARGET_DATA_GAS_PER_BLOCK_DENCUN);
    if excess_blob_gas != expected_excess {
        return Err(format!(
            "excess blob gas {excess_blob_gas} != expected {expected_excess}"
        ));
    }
    if header.parent_beacon_block_root.is_none() {
        return Err("missing parent beacon block root".to_string());
    }
    if header.requests_hash.is_some() {
        return Err("requests hash is not allowed before Prague".to_string());
    }
    Ok(())
}

/// The EIP-1559 base fee a child of `parent` must have (in `u128`, so no input overflows it).
fn next_base_fee(parent: &Header) -> Option<u128> {
    let base_fee = u128::from(parent.base_fee_per_gas?);
    let target = u128::from(parent.gas_limit) / 2;
    let used = u128::from(parent.gas_used);
    if target == 0 {
        return Some(base_fee);
    }
    Some(match used.cmp(&target) {
        std::cmp::Ordering::Equal => base_fee,
        std::cmp::Ordering::Greater => base_fee + (base_fee * (used - target) / target / 8).max(1),
        std::cmp::Ordering::Less => base_fee - base_fee * (target - used) / target / 8,
    })
}

/// Body rules: transaction and withdrawal roots, no uncles, blob gas accounting.
fn validate_body(block: &Block<TxEnvelope>) -> Result<(), String> {
    let header = &block.header;
    let body = &block.body;
    let transactions_root = proofs::calculate_transaction_root(&body.transactions);
    if transactions_root != header.transactions_root {
        return Err(format!(
            "transactions root {transactions_root} != header {}",
            header.transactions_root
        ));
    }
    if !body.ommers.is_empty() {
        return Err(format!("{} uncles after the merge", body.ommers.len()));
    }
    let withdrawals = body.withdrawals.as_ref().ok_or("missing withdrawals")?;
    let withdrawals_root = proofs::calculate_withdrawals_root(withdrawals);
    if Some(withdrawals_root) != header.withdrawals_root {
        return Err(format!(
            "withdrawals root {withdrawals_root} != header {:?}",
            header.withdrawals_root
        ));
    }
    if body.transactions.iter().any(tx::has_blob_sidecar) {
        return Err("blob transaction with a sidecar inside a block".to_string());
    }
    let blob_gas: u64 = body
        .transactions
        .iter()
        .map(|tx| tx.blob_gas_used().unwrap_or_default())
        .fold(0, u64::saturating_add);
    if Some(blob_gas) != header.blob_gas_used {
        return Err(format!(
            "blob gas of the transactions {blob_gas} != header {:?}",
            header.blob_gas_used
        ));
    }
    Ok(())
}

/// The EIP-4788 system call, as its effect: the beacon roots contract (when deployed) records
/// the timestamp and the parent beacon block root in its ring buffer.
fn apply_beacon_root(state: &mut MemoryState, timestamp: u64, root: B256) {
    if state
        .code(BEACON_ROOTS_ADDRESS)
        .is_none_or(|code| code.is_empty())
    {
        return;
    }
    let slot = timestamp % HISTORY_BUFFER_LENGTH;
    state.set_storage(
        BEACON_ROOTS_ADDRESS,
        U256::from(slot),
        U256::from(timestamp),
    );
    state.set_storage(
        BEACON_ROOTS_ADDRESS,
        U256::from(slot + HISTORY_BUFFER_LENGTH),
        U256::from_be_bytes(root.0),
    );
}

/// The EVM's view of a header.
fn block_env(header: &Header) -> BlockEnv {
    let mut block = BlockEnv {
        number: U256::from(header.number),
        beneficiary: header.beneficiary,
        timestamp: U256::from(header.timestamp),
        gas_limit: header.gas_limit,
        basefee: header.base_fee_per_gas.unwrap_or_default(),
        difficulty: header.difficulty,
        prevrandao: Some(header.mix_hash),
        ..BlockEnv::default()
    };
    if let Some(excess) = header.excess_blob_gas {
        block.set_blob_excess_gas_and_price(excess, BLOB_BASE_FEE_UPDATE_FRACTION_CANCUN);
    }
    block
}

fn memory_state(accounts: &BTreeMap<Address, FixtureAccount>) -> Result<MemoryState, String> {
    let mut state = MemoryState::new();
    for (address, account) in accounts {
        let nonce =
            u64::try_from(account.nonce).map_err(|_| format!("nonce of {address} above 2^64-1"))?;
        state
            .insert_account(
                *address,
                account.balance,
                nonce,
                account.code.clone(),
                account.storage.iter().map(|(slot, value)| (*slot, *value)),
            )
            .map_err(|error| format!("account {address}: {error}"))?;
    }
    Ok(state)
}

/// The first few accounts on which `actual` and `expected` differ, for failure messages.
fn describe_state_diff(actual: &MemoryState, expected: &MemoryState) -> String {
    let mut addresses: Vec<Address> = actual
        .accounts()
        .chain(expected.accounts())
        .map(|(address, _)| *address)
        .collect();
    addresses.sort_unstable();
    addresses.dedup();
    let mut diffs = Vec::new();
    for address in addresses {
        let (ours, theirs) = (actual.basic(address), expected.basic(address));
        if ours != theirs {
            diffs.push(format!("{address}: {ours:?} != expected {theirs:?}"));
            continue;
        }
        let slots = |state: &MemoryState| -> BTreeMap<U256, U256> {
            state
                .accounts()
                .find(|(a, _)| **a == address)
                .map(|(_, account)| account.storage.iter().map(|(k, v)| (*k, *v)).collect())
                .unwrap_or_default()
        };
        let (ours, theirs) = (slots(actual), slots(expected));
        if ours != theirs {
            let differing: Vec<String> = ours
                .keys()
                .chain(theirs.keys())
                .filter(|slot| ours.get(slot) != theirs.get(slot))
                .take(4)
                .map(|slot| {
                    format!(
                        "slot {slot}: {:?} != expected {:?}",
                        ours.get(slot),
                        theirs.get(slot)
                    )
                })
                .collect();
            diffs.push(format!("{address} storage: {}", differing.join(", ")));
        }
    }
    let more = diffs.len().saturating_sub(4);
    diffs.truncate(4);
    if more > 0 {
        diffs.push(format!("and {more} more accounts"));
    }
    diffs.join("; ")
}

fn decode_hex(text: &str) -> Result<Vec<u8>, String> {
    alloy_primitives::hex::decode(text).map_err(|error| format!("invalid hex: {error}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base_fee_follows_eip1559() {
        let parent = Header {
            gas_limit: 30_000_000,
            gas_used: 15_000_000,
            base_fee_per_gas: Some(1000),
            ..Default::default()
        };
        assert_eq!(next_base_fee(&parent), Some(1000));
        let full = Header {
            gas_used: 30_000_000,
            ..parent.clone()
        };
        assert_eq!(next_base_fee(&full), Some(1125));
        let empty = Header {
            gas_used: 0,
            ..parent
        };
        assert_eq!(next_base_fee(&empty), Some(875));
    }
}
