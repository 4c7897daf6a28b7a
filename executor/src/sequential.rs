//! The reference engine: plain revm, one transaction after the other, each committed into an
//! in-memory overlay on top of the block's pre-state.

use std::collections::{BTreeMap, HashMap};

use alloy_primitives::{Address, B256, U256};
use revm::{
    context::TxEnv,
    database_interface::{DBErrorMarker, Database},
    state::{AccountInfo, Bytecode},
};

use crate::{
    changes::{receipt, seal_receipts, tx_writes, TxFailure, TxWrites},
    evm::{cfg_env, transact, FeeMode},
    types::{
        AccountBasic, AccountChange, BlockOutcome, ExecutionEnv, ExecutionError, ExecutionStats,
        StateChanges,
    },
    BlockExecutor, StateView,
};

/// Executes transactions one by one with revm. This is the definition of correct: the parallel
/// engine must produce exactly the same [`BlockOutcome`].
#[derive(Clone, Copy, Debug, Default)]
pub struct Sequential;

impl BlockExecutor for Sequential {
    fn execute_block_with_stats<S: StateView>(
        &self,
        env: &ExecutionEnv,
        txs: &[TxEnv],
        state: &S,
    ) -> Result<(BlockOutcome, ExecutionStats), ExecutionError> {
        let cfg = cfg_env(env);
        let mut overlay = Overlay::new(state);
        let mut receipts = Vec::with_capacity(txs.len());
        for (index, tx) in txs.iter().enumerate() {
            let output = transact(env, &cfg, tx, &mut overlay, FeeMode::Immediate)
                .map_err(|error| TxFailure::from(error).at(index))?;
            overlay.apply(&tx_writes(&output.state, env.spec));
            receipts.push(receipt(tx.tx_type, output.result));
        }
        let gas_used = seal_receipts(&mut receipts);
        let stats = ExecutionStats {
            executions: txs.len() as u64,
            fell_back_to_sequential: true,
            ..Default::default()
        };
        Ok((
            BlockOutcome {
                receipts,
                state_changes: overlay.into_changes(),
                gas_used,
            },
            stats,
        ))
    }
}

/// Changes of the block so far, layered over the pre-state.
pub(crate) struct Overlay<'s, S> {
    view: &'s S,
    accounts: HashMap<Address, AccountChangeBuf>,
    contracts: BTreeMap<B256, Bytecode>,
}

#[derive(Default)]
struct AccountChangeBuf {
    info: Option<AccountBasic>,
    storage_cleared: bool,
    storage: HashMap<U256, U256>,
}

impl<'s, S: StateView> Overlay<'s, S> {
    pub(crate) fn new(view: &'s S) -> Self {
        Self {
            view,
            accounts: HashMap::new(),
            contracts: BTreeMap::new(),
        }
    }

    /// Commits one transaction's writes.
    pub(crate) fn apply(&mut self, writes: &TxWrites) {
        for write in &writes.accounts {
            let account = self.accounts.entry(write.address).or_default();
            account.info = write.info;
            if write.storage_reset {
                account.storage_cleared = true;
                account.storage.clear();
            }
        }
        for (address, slot, value) in &writes.storage {
            self.accounts
                .entry(*address)
                .or_default()
                .storage
                .insert(*slot, *value);
        }
        for (hash, code) in &writes.contracts {
            self.contracts.insert(*hash, code.clone());
        }
    }

    pub(crate) fn into_changes(self) -> StateChanges {
        let accounts = self
            .accounts
            .into_iter()
            .map(|(address, buf)| {
                let change = AccountChange {
                    info: buf.info,
                    storage_cleared: buf.storage_cleared,
                    storage: buf.storage.into_iter().collect(),
                };
                (address, change)
            })
            .collect();
        StateChanges {
            accounts,
            contracts: self.contracts,
        }
    }
}

/// Error of a read through the overlay: the pre-state's own error.
#[derive(Debug, thiserror::Error)]
#[error(transparent)]
pub(crate) struct ViewError(pub(crate) Box<dyn std::error::Error + Send + Sync>);

impl DBErrorMarker for ViewError {}

impl<S: StateView> Database for &mut Overlay<'_, S> {
    type Error = ViewError;

    fn basic(&mut self, address: Address) -> Result<Option<AccountInfo>, Self::Error> {
        match self.accounts.get(&address) {
            Some(account) => Ok(account.info.map(AccountInfo::from)),
            None => self.view.basic_ref(address).map_err(view_error),
        }
    }

    fn code_by_hash(&mut self, code_hash: B256) -> Result<Bytecode, Self::Error> {
        match self.contracts.get(&code_hash) {
            Some(code) => Ok(code.clone()),
            None => self.view.code_by_hash_ref(code_hash).map_err(view_error),
        }
    }

    fn storage(&mut self, address: Address, index: U256) -> Result<U256, Self::Error> {
        if let Some(account) = self.accounts.get(&address) {
            if let Some(value) = account.storage.get(&index) {
                return Ok(*value);
            }
            if account.storage_cleared {
                return Ok(U256::ZERO);
            }
        }
        self.view.storage_ref(address, index).map_err(view_error)
    }

    fn block_hash(&mut self, number: u64) -> Result<B256, Self::Error> {
        self.view.block_hash_ref(number).map_err(view_error)
    }
}

pub(crate) fn view_error<E: std::error::Error + Send + Sync + 'static>(error: E) -> ViewError {
    ViewError(Box::new(error))
}
