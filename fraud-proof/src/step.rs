//! The one-step proof's witness: what the L1 `EvmStepVerifier` needs to re-execute one
//! transaction from a committed pre-state (its encoding is documented on the contract):
//! the pre-state trie nodes, the bytecode that runs, the list of accounts and slots the
//! transaction reads, each of which the verifier proves against the pre-state root, and the
//! ancestor headers its BLOCKHASH reads need, which the verifier proves against the block's
//! parent hash.
//!
//! The reads are recorded by running the transaction on the sequential engine over a
//! recording view of the pre-state; the nodes come from the twin of the Solidity trie library
//! ([`StateWitnessBuilder`]), so they are exactly the ones the verifier's reads and writes
//! touch. revm asks the database for a block hash only for numbers inside the 256-block window,
//! so the deepest number asked for says how many headers the verifier needs.

use std::{
    collections::{BTreeMap, BTreeSet},
    sync::Mutex,
};

use crate::{
    replay::ReplayState,
    step_model::state::MAX_ANCESTORS,
    witness::{StateReads, StateWitnessBuilder, WitnessError},
};
use alloy::sol_types::SolValue;
use alloy_primitives::{Address, Bytes, B256, U256};
use parallax_executor::{
    revm::{
        database_interface::DatabaseRef, primitives::KECCAK_EMPTY, state::AccountInfo,
        state::Bytecode,
    },
    BlockExecutor, BlockTransaction, ExecutionEnv, Sequential, TxFunding,
};
use parallax_protocol::predeploys::L1_BLOCK;

/// `L1Block` slots the verifier reads to price a signed transaction's L1 data fee: the L1 base
/// fee (1), blob base fee (2) and the fee scalars (5). The executor is handed the fee instead,
/// so these reads are added by hand.
pub const L1_FEE_SLOTS: [u64; 3] = [1, 2, 5];

/// Why a witness could not be built.
#[derive(Debug, thiserror::Error)]
pub enum StepError {
    /// The transaction does not execute on the pre-state.
    #[error("the transaction does not execute: {0}")]
    Execution(#[from] parallax_executor::ExecutionError),
    /// The pre-state trie is incomplete or malformed.
    #[error(transparent)]
    Witness(#[from] WitnessError),
    /// BLOCKHASH read block `number`, but the ancestor headers given do not reach it.
    #[error("the transaction reads the hash of block {number}, deeper than the {given} ancestor headers given")]
    MissingAncestor {
        /// The block whose hash was read.
        number: u64,
        /// How many ancestor headers the caller gave.
        given: usize,
    },
}

/// A one-step witness and what the transaction leads to.
#[derive(Clone, Debug)]
pub struct StepWitness {
    /// `abi.encode(bytes[] nodes, bytes[] codes, address[] accounts, address[] slotOwners,
    /// uint256[] slotKeys, bytes[] ancestors)`, the verifier's `witness` argument.
    pub encoded: Bytes,
    /// The state root the verifier must compute (from the twin of its trie library).
    pub post_state_root: B256,
    /// The block numbers whose hash the transaction's BLOCKHASH read (inside the 256-block
    /// window; the witness carries the headers the deepest one needs).
    pub block_hashes_read: BTreeSet<u64>,
}

/// A view of the pre-state that records every account, slot and code the execution reads.
struct Recording<'w, W> {
    world: &'w W,
    accounts: Mutex<BTreeSet<Address>>,
    slots: Mutex<BTreeMap<Address, BTreeSet<U256>>>,
    codes: Mutex<BTreeMap<B256, Bytes>>,
    /// Block numbers whose hash BLOCKHASH read.
    block_hashes: Mutex<BTreeSet<u64>>,
}

impl<W> Recording<'_, W> {
    fn note_code(&self, hash: B256, code: Option<&Bytecode>) {
        if hash == KECCAK_EMPTY {
            return;
        }
        if let (Some(code), Ok(mut codes)) = (code, self.codes.lock()) {
            codes.insert(hash, code.original_bytes());
        }
    }
}

impl<W: DatabaseRef> DatabaseRef for Recording<'_, W> {
    type Error = W::Error;

    fn basic_ref(&self, address: Address) -> Result<Option<AccountInfo>, Self::Error> {
        if let Ok(mut accounts) = self.accounts.lock() {
            accounts.insert(address);
        }
        let info = self.world.basic_ref(address)?;
        if let Some(info) = &info {
            self.note_code(info.code_hash, info.code.as_ref());
        }
        Ok(info)
    }

    fn code_by_hash_ref(&self, code_hash: B256) -> Result<Bytecode, Self::Error> {
        let code = self.world.code_by_hash_ref(code_hash)?;
        self.note_code(code_hash, Some(&code));
        Ok(code)
    }

    fn storage_ref(&self, address: Address, index: U256) -> Result<U256, Self::Error> {
        if let Ok(mut slots) = self.slots.lock() {
            slots.entry(address).or_default().insert(index);
        }
        self.world.storage_ref(address, index)
    }

    fn block_hash_ref(&self, number: u64) -> Result<B256, Self::Error> {
        if let Ok(mut numbers) = self.block_hashes.lock() {
            numbers.insert(number);
        }
        self.world.block_hash_ref(number)
    }
}

/// Builds the witness for executing `tx` under `env` on `pre` (the state after the block's
/// earlier transactions). `ancestors` are the RLP headers of blocks `number - 1`, `number - 2`,
/// … (nearest first, as many as the caller has, at most [`MAX_ANCESTORS`] are used); the witness
/// carries only the prefix the transaction's BLOCKHASH reads need: none for the parent's hash
/// (the verifier has it), `number - n - 1` headers for block `n`. `pre`'s block hashes must be
/// those of the same chain (the verifier checks the headers against the parent hash).
pub fn step_witness<T: BlockTransaction, W: ReplayState>(
    env: &ExecutionEnv,
    tx: &T,
    pre: &W,
    ancestors: &[Bytes],
) -> Result<StepWitness, StepError> {
    let recording = Recording {
        world: pre,
        accounts: Mutex::default(),
        slots: Mutex::default(),
        codes: Mutex::default(),
        block_hashes: Mutex::default(),
    };
    let outcome = Sequential.execute_block(env, std::slice::from_ref(tx), &recording)?;
    let Recording {
        accounts,
        slots,
        codes,
        block_hashes,
        ..
    } = recording;
    let block_hashes_read = block_hashes.into_inner().unwrap_or_default();
    let headers = ancestors_needed(
        env.block.number.saturating_to(),
        &block_hashes_read,
        ancestors,
    )?;
    let mut reads = StateReads {
        accounts: accounts.into_inner().unwrap_or_default(),
        slots: slots.into_inner().unwrap_or_default(),
    };
    if matches!(tx.funding(), TxFunding::Signed { .. }) {
        let l1_block = reads.slots.entry(L1_BLOCK).or_default();
        l1_block.extend(L1_FEE_SLOTS.map(U256::from));
        reads.accounts.insert(L1_BLOCK);
    }
    let state = StateWitnessBuilder::new(pre.witness_source(), pre.state_root())
        .build(&reads, &outcome.state_changes)?;
    let codes: Vec<Bytes> = codes
        .into_inner()
        .unwrap_or_default()
        .into_values()
        .collect();
    let accounts: Vec<alloy_primitives::Address> = reads.accounts.iter().copied().collect();
    let (owners, keys): (Vec<Address>, Vec<U256>) = reads
        .slots
        .iter()
        .flat_map(|(owner, slots)| slots.iter().map(move |slot| (*owner, *slot)))
        .unzip();
    let encoded = (state.nodes, codes, accounts, owners, keys, headers).abi_encode_params();
    Ok(StepWitness {
        encoded: encoded.into(),
        post_state_root: state.post_state_root,
        block_hashes_read,
    })
}

/// The ancestor headers the verifier needs to answer BLOCKHASH for every block in `read`
/// (numbers revm asked for, all inside `number`'s window): block `n` is proven by the headers of
/// `number - 1` down to `n + 1`, the parent's hash by none.
pub fn ancestors_needed(
    number: u64,
    read: &BTreeSet<u64>,
    ancestors: &[Bytes],
) -> Result<Vec<Bytes>, StepError> {
    let Some(&deepest) = read.first() else {
        return Ok(Vec::new());
    };
    let count = number.saturating_sub(deepest).saturating_sub(1) as usize;
    if count > ancestors.len().min(MAX_ANCESTORS) {
        return Err(StepError::MissingAncestor {
            number: deepest,
            given: ancestors.len(),
        });
    }
    Ok(ancestors[..count].to_vec())
}
