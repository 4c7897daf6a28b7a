//! The reference engine: plain revm, one transaction after the other, each committed into an
//! in-memory overlay on top of the block's pre-state.

use std::collections::BTreeMap;

use alloy_primitives::map::{AddressMap, U256Map};

use alloy_primitives::{Address, B256, U256};
use revm::{
    context::TxEnv,
    database_interface::{DBErrorMarker, Database},
    state::{AccountInfo, Bytecode},
};

use crate::{
    changes::{seal_receipts, tx_receipt, tx_writes, TxFailure, TxWrites},
    evm::{cfg_env, transact, Executed, FeeMode, KeepFrames, TxOutput},
    types::{
        AccountBasic, AccountChange, BlockOutcome, ExecutionEnv, ExecutionError, ExecutionStats,
        StateChanges,
    },
    BlockExecutor, BlockTransaction, StateView,
};

/// Executes transactions one by one with revm. This is the definition of correct: the parallel
/// engine must produce exactly the same [`BlockOutcome`].
#[derive(Clone, Copy, Debug, Default)]
pub struct Sequential;

impl BlockExecutor for Sequential {
    fn execute_block_with_stats<S: StateView, T: BlockTransaction>(
        &self,
        env: &ExecutionEnv,
        txs: &[T],
        state: &S,
    ) -> Result<(BlockOutcome, ExecutionStats), ExecutionError> {
        let cfg = cfg_env(env);
        let _frames = KeepFrames::new();
        let mut overlay = Overlay::new(state);
        let mut receipts = Vec::with_capacity(txs.len());
        for (index, tx) in txs.iter().enumerate() {
            overlay.loaded.clear();
            let output = transact(env, &cfg, tx, &mut overlay, FeeMode::Immediate)
                .map_err(|error| TxFailure::from(error).at(index))?;
            let writes = tx_writes(&output.state, env.spec, |address| {
                overlay.loaded_info(address)
            });
            overlay.apply(&writes);
            receipts.push(tx_receipt(tx, output.result));
        }
        let gas_used = seal_receipts(&mut receipts);
        let stats = ExecutionStats {
            executions: txs.len() as u64,
            fell_back_to_sequential: true,
            ..Default::default()
        };
        let state_changes = overlay
            .into_changes()
            .map_err(|error| ExecutionError::State(Box::new(error)))?;
        Ok((
            BlockOutcome {
                receipts,
                state_changes,
                gas_used,
            },
            stats,
        ))
    }
}

/// Changes of the block so far, layered over the pre-state.
pub(crate) struct Overlay<'s, S> {
    view: &'s S,
    accounts: AddressMap<AccountChangeBuf>,
    contracts: BTreeMap<B256, Bytecode>,
    /// Accounts the current transaction loaded, as it loaded them.
    loaded: Vec<(Address, Option<AccountBasic>)>,
}

#[derive(Default)]
struct AccountChangeBuf {
    /// `None`: the block never wrote the account's fields (only its storage).
    info: Option<Option<AccountBasic>>,
    storage_cleared: bool,
    storage: U256Map<U256>,
}

impl<'s, S: StateView> Overlay<'s, S> {
    pub(crate) fn new(view: &'s S) -> Self {
        Self {
            view,
            accounts: AddressMap::default(),
            contracts: BTreeMap::new(),
            loaded: Vec::new(),
        }
    }

    /// Forgets what the previous transaction loaded, before the next one runs.
    pub(crate) fn clear_loaded(&mut self) {
        self.loaded.clear();
    }

    /// The account as the current transaction loaded it.
    pub(crate) fn loaded_info(&self, address: &Address) -> Option<Option<AccountBasic>> {
        self.loaded
            .iter()
            .find(|(loaded, _)| loaded == address)
            .map(|(_, info)| *info)
    }

    /// Commits one transaction's writes.
    pub(crate) fn apply(&mut self, writes: &TxWrites) {
        for write in &writes.accounts {
            let account = self.accounts.entry(write.address).or_default();
            account.info = Some(write.info);
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

    /// The block's net changes. Accounts whose storage changed but whose fields did not take
    /// their fields from the pre-state.
    pub(crate) fn into_changes(self) -> Result<StateChanges, ViewError> {
        let mut changes = Vec::with_capacity(self.accounts.len());
        for (address, buf) in self.accounts {
            let info = match buf.info {
                Some(info) => info,
                None => self
                    .view
                    .basic_ref(address)
                    .map_err(view_error)?
                    .map(|info| AccountBasic::from(&info)),
            };
            let mut storage: Vec<(U256, U256)> = buf.storage.into_iter().collect();
            storage.sort_unstable_by_key(|(slot, _)| *slot);
            let storage = storage.into_iter().collect();
            changes.push((
                address,
                AccountChange {
                    info,
                    storage_cleared: buf.storage_cleared,
                    storage,
                },
            ));
        }
        // Sorted input: the map is bulk-built rather than inserted into one by one.
        changes.sort_unstable_by_key(|(address, _)| *address);
        Ok(StateChanges {
            accounts: changes.into_iter().collect(),
            contracts: self.contracts,
        })
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
        let info = match self.accounts.get(&address).and_then(|account| account.info) {
            Some(info) => info.map(AccountInfo::from),
            None => self.view.basic_ref(address).map_err(view_error)?,
        };
        self.loaded
            .push((address, info.as_ref().map(AccountBasic::from)));
        Ok(info)
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

/// What [`simulate`] relaxes compared with block execution, as `eth_call` and `eth_estimateGas`
/// do in every Ethereum client.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct SimulationOptions {
    /// Accept any nonce (calls do not have to be the sender's next transaction).
    pub skip_nonce_check: bool,
    /// Accept a gas price below the base fee (a call with no price pays nothing).
    pub skip_base_fee_check: bool,
}

/// Runs one transaction on `state` without committing anything and returns its result (gas,
/// output or revert data, logs): the engine behind `eth_call` and `eth_estimateGas`.
pub fn simulate<S: StateView>(
    env: &ExecutionEnv,
    tx: &TxEnv,
    state: &S,
    options: SimulationOptions,
) -> Result<revm::context::result::ExecutionResult, ExecutionError> {
    let mut cfg = cfg_env(env);
    cfg.disable_nonce_check = options.skip_nonce_check;
    cfg.disable_base_fee = options.skip_base_fee_check;
    let mut overlay = Overlay::new(state);
    match transact(env, &cfg, tx, &mut overlay, FeeMode::Immediate) {
        Ok(TxOutput {
            result: Executed::Evm(result),
            ..
        }) => Ok(result),
        // A plain `TxEnv` is never a deposit.
        Ok(TxOutput {
            result: Executed::FailedDeposit { reason, .. },
            ..
        }) => Err(ExecutionError::InvalidTransaction {
            index: 0,
            reason: crate::types::InvalidTx(reason),
        }),
        Err(error) => Err(TxFailure::from(error).at(0)),
    }
}
