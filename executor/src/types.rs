//! Shared vocabulary of both engines: what goes into a block execution and what comes out.

use std::collections::BTreeMap;

use alloy_primitives::{Address, Bytes, Log, B256, U256};
use revm::{
    context::{BlockEnv, TxEnv},
    primitives::hardfork::SpecId,
    state::Bytecode,
};

/// Index of a transaction inside its block.
pub type TxIdx = usize;

/// Everything about the block, other than its transactions, that execution depends on.
#[derive(Clone, Debug)]
pub struct ExecutionEnv {
    /// EVM rules to apply (Parallax L2 runs Cancun; mainnet replays pick the block's own fork).
    pub spec: SpecId,
    /// Chain id checked against EIP-155 / typed transactions and returned by `CHAINID`.
    pub chain_id: u64,
    /// Header fields visible to the EVM (number, timestamp, beneficiary, base fee, ...).
    pub block: BlockEnv,
    /// Receiver of the base fee. `None` burns it (Ethereum L1); the Parallax L2 credits it to
    /// the base-fee vault predeploy so the operator can fund L1 posting.
    pub base_fee_recipient: Option<Address>,
    /// Receiver of the L1 data fees ([`TxFunding::Signed`]). `None` on Ethereum L1, where no
    /// transaction pays one.
    pub l1_fee_recipient: Option<Address>,
}

impl ExecutionEnv {
    /// An environment with Ethereum L1 fee rules (base fee burnt).
    pub fn ethereum(spec: SpecId, chain_id: u64, block: BlockEnv) -> Self {
        Self {
            spec,
            chain_id,
            block,
            base_fee_recipient: None,
            l1_fee_recipient: None,
        }
    }

    /// Accounts every transaction may credit fees to, each once, in a fixed order (beneficiary,
    /// base-fee vault, L1-fee vault). The parallel engine accounts them lazily so that fee
    /// payments do not make every transaction depend on the previous one.
    pub(crate) fn fee_recipients(&self) -> Vec<Address> {
        let mut recipients = vec![self.block.beneficiary];
        for vault in [self.base_fee_recipient, self.l1_fee_recipient]
            .into_iter()
            .flatten()
        {
            if !recipients.contains(&vault) {
                recipients.push(vault);
            }
        }
        recipients
    }
}

/// How a transaction is paid for on the rollup, beyond what revm's [`TxEnv`] says.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TxFunding {
    /// A signed transaction: it pays for gas as on Ethereum, plus `l1_data_fee` (its share of
    /// posting the batch to L1, computed by the block builder from its size and the L1 origin's
    /// fees) into [`ExecutionEnv::l1_fee_recipient`]. The sender must afford gas, value and this
    /// fee, or the transaction is invalid.
    Signed {
        /// Wei charged up front, kept even if the transaction reverts.
        l1_data_fee: U256,
    },
    /// A deposit (type `0x7E`) made on L1: `mint` wei are created in the sender's account first
    /// (paid for on L1, so kept whatever happens next); then it runs without a signature, nonce
    /// check or fees. A deposit is never invalid: one revm would refuse (value above the balance,
    /// gas limit below the intrinsic gas, ...) is included as a failure that still mints, bumps
    /// the sender's nonce and uses its whole gas limit, as on the OP Stack.
    Deposit {
        /// Wei created for the sender.
        mint: U256,
        /// The protocol's own deposit (the L1-info deposit): its gas is not counted against the
        /// block, so its receipt reports none.
        system: bool,
    },
}

impl TxFunding {
    /// A signed transaction without an L1 data fee: Ethereum's rules.
    pub const ETHEREUM: Self = Self::Signed {
        l1_data_fee: U256::ZERO,
    };
}

/// A transaction as an engine executes it. Plain [`TxEnv`]s are Ethereum transactions; the
/// rollup's block builder passes [`RollupTx`] to add deposits and L1 data fees.
pub trait BlockTransaction: Sync {
    /// What revm runs. For a deposit: the sender, target, value, data and gas limit, with gas
    /// price zero.
    fn env(&self) -> &TxEnv;

    /// How it is paid for.
    fn funding(&self) -> TxFunding {
        TxFunding::ETHEREUM
    }

    /// The EIP-2718 type its receipt reports (revm knows no deposit type, so a deposit's
    /// [`TxEnv`] is legacy-shaped).
    fn receipt_type(&self) -> u8 {
        self.env().tx_type
    }

    /// Whether its gas counts towards the block's (false only for system deposits).
    fn counts_gas(&self) -> bool {
        !matches!(self.funding(), TxFunding::Deposit { system: true, .. })
    }
}

impl BlockTransaction for TxEnv {
    fn env(&self) -> &TxEnv {
        self
    }
}

/// A transaction of a rollup block.
#[derive(Clone, Debug)]
pub struct RollupTx {
    /// What revm runs.
    pub env: TxEnv,
    /// How it is paid for.
    pub funding: TxFunding,
}

impl BlockTransaction for RollupTx {
    fn env(&self) -> &TxEnv {
        &self.env
    }

    fn funding(&self) -> TxFunding {
        self.funding
    }

    fn receipt_type(&self) -> u8 {
        match self.funding {
            TxFunding::Deposit { .. } => parallax_protocol::deposit::DEPOSIT_TX_TYPE,
            TxFunding::Signed { .. } => self.env.tx_type,
        }
    }
}

/// Account fields that live in the account trie leaf (code itself is content-addressed).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct AccountBasic {
    /// Balance in wei.
    pub balance: U256,
    /// Transactions sent (or contracts created, for contracts).
    pub nonce: u64,
    /// `keccak256(code)`; [`revm::primitives::KECCAK_EMPTY`] for accounts without code.
    pub code_hash: B256,
}

impl Default for AccountBasic {
    /// An empty account: no balance, no nonce, and the hash of empty code (not zero).
    fn default() -> Self {
        Self {
            balance: U256::ZERO,
            nonce: 0,
            code_hash: revm::primitives::KECCAK_EMPTY,
        }
    }
}

impl AccountBasic {
    /// EIP-161 emptiness: no balance, no nonce, no code.
    pub fn is_empty(&self) -> bool {
        self.balance.is_zero()
            && self.nonce == 0
            && self.code_hash == revm::primitives::KECCAK_EMPTY
    }
}

impl From<&revm::state::AccountInfo> for AccountBasic {
    fn from(info: &revm::state::AccountInfo) -> Self {
        Self {
            balance: info.balance,
            nonce: info.nonce,
            code_hash: info.code_hash,
        }
    }
}

impl From<AccountBasic> for revm::state::AccountInfo {
    fn from(basic: AccountBasic) -> Self {
        revm::state::AccountInfo {
            balance: basic.balance,
            nonce: basic.nonce,
            code_hash: basic.code_hash,
            // Code is looked up by hash when the EVM needs it.
            code: None,
            ..Default::default()
        }
    }
}

/// Net effect of a block on one account.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct AccountChange {
    /// The account after the block; `None` when it no longer exists (self-destructed, or emptied
    /// and removed by EIP-161).
    pub info: Option<AccountBasic>,
    /// The account's storage was wiped during the block (it was created or destroyed) before
    /// `storage` was applied: slots not listed in `storage` are now zero.
    pub storage_cleared: bool,
    /// Final value of every slot the block wrote.
    pub storage: BTreeMap<U256, U256>,
}

/// Net state effect of a block: what the state crate applies to the trie.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct StateChanges {
    /// Changed accounts, sorted by address so iteration (and hashing) is deterministic.
    pub accounts: BTreeMap<Address, AccountChange>,
    /// Code of contracts deployed in the block, by code hash.
    pub contracts: BTreeMap<B256, Bytecode>,
}

/// How a transaction ended.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum TxStatus {
    /// Ran to completion; its state changes are applied.
    Success,
    /// Reverted (REVERT opcode); carries the revert data for `execution reverted` errors.
    Revert(Bytes),
    /// Halted exceptionally (out of gas, invalid opcode, ...): all gas is consumed.
    Halt(String),
}

impl TxStatus {
    /// The receipt status bit (EIP-658).
    pub fn is_success(&self) -> bool {
        matches!(self, Self::Success)
    }
}

/// Receipt of one executed transaction.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TxReceipt {
    /// EIP-2718 type of the transaction (0 legacy, 1, 2, 3, ...).
    pub tx_type: u8,
    /// Outcome of the execution.
    pub status: TxStatus,
    /// Gas charged to the sender for this transaction (after refunds).
    pub gas_used: u64,
    /// Gas used by this and all earlier transactions of the block.
    pub cumulative_gas_used: u64,
    /// Logs emitted, in order (empty unless the transaction succeeded).
    pub logs: Vec<Log>,
    /// Address of the contract a successful creation deployed.
    pub contract_address: Option<Address>,
}

/// Result of executing a block: identical, byte for byte, whichever engine produced it.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct BlockOutcome {
    /// One receipt per transaction, in block order.
    pub receipts: Vec<TxReceipt>,
    /// Net state changes of the whole block.
    pub state_changes: StateChanges,
    /// Total gas used by the block.
    pub gas_used: u64,
}

/// Statistics of one execution, for metrics and benchmarks (not part of the outcome).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct ExecutionStats {
    /// Transaction executions, including re-executions.
    pub executions: u64,
    /// Executions whose result was discarded (failed validation or hit a dependency).
    pub aborts: u64,
    /// Validations performed.
    pub validations: u64,
    /// The block was run sequentially (small, or detected as a dependency chain).
    pub fell_back_to_sequential: bool,
}

/// Why a transaction cannot be included in the block.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct InvalidTx(pub String);

/// Errors of block execution. A reverted or halted transaction is a receipt, never an error.
#[derive(Debug, thiserror::Error)]
pub enum ExecutionError {
    /// A transaction is invalid against the state it executes on (nonce, balance, gas limit, fee
    /// cap, ...). The block builder drops it and rebuilds; a block importer rejects the block.
    #[error("transaction {index} is invalid: {reason}")]
    InvalidTransaction {
        /// Position of the offending transaction in the block.
        index: TxIdx,
        /// What is wrong with it.
        reason: InvalidTx,
    },
    /// The block header is invalid for these rules (e.g. missing prevrandao after the merge).
    #[error("invalid block environment: {0}")]
    InvalidHeader(String),
    /// The underlying state could not be read.
    #[error("state read failed: {0}")]
    State(#[source] Box<dyn std::error::Error + Send + Sync>),
    /// A worker thread panicked; the block is not executed.
    #[error("executor worker panicked: {0}")]
    WorkerPanic(String),
}
