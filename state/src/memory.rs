//! A complete world state held in memory: the pre-state of test vectors, benchmarks and
//! mainnet replays, and the reference the persisted trie is compared with.

use std::collections::HashMap;

use alloy_primitives::{keccak256, Address, Bytes, B256, U256};
use parallax_executor::{
    revm::{
        database_interface::{DBErrorMarker, DatabaseRef},
        primitives::KECCAK_EMPTY,
        state::{AccountInfo, Bytecode},
    },
    AccountBasic, StateChanges,
};

use crate::roots;

/// One account with its storage.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct MemoryAccount {
    /// Balance, nonce, code hash.
    pub info: AccountBasic,
    /// Non-zero storage slots.
    pub storage: HashMap<U256, U256>,
}

/// World state in memory. Implements revm's `DatabaseRef`, so it is an executor `StateView`.
#[derive(Clone, Debug, Default)]
pub struct MemoryState {
    accounts: HashMap<Address, MemoryAccount>,
    contracts: HashMap<B256, Bytecode>,
    block_hashes: HashMap<u64, B256>,
}

/// A read the in-memory state cannot answer.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum MemoryStateError {
    /// `BLOCKHASH` asked for a block whose hash was never inserted.
    #[error("no hash known for block {0}")]
    MissingBlockHash(u64),
    /// An account's code hash names code that is not stored.
    #[error("no code stored for hash {0}")]
    MissingCode(B256),
    /// Code that no chain can hold (a malformed EIP-7702 delegation designator).
    #[error("invalid code with hash {0}: {1}")]
    InvalidCode(B256, String),
}

impl DBErrorMarker for MemoryStateError {}

impl MemoryState {
    /// An empty state.
    pub fn new() -> Self {
        Self::default()
    }

    /// Inserts (or replaces) an account; `code` may be empty. Zero-valued slots are ignored.
    /// Fails on code that cannot exist on chain (a malformed EIP-7702 delegation).
    pub fn insert_account(
        &mut self,
        address: Address,
        balance: U256,
        nonce: u64,
        code: Bytes,
        storage: impl IntoIterator<Item = (U256, U256)>,
    ) -> Result<(), MemoryStateError> {
        let code_hash = if code.is_empty() {
            KECCAK_EMPTY
        } else {
            self.insert_code(code)?
        };
        self.insert_account_with_code_hash(
            address,
            AccountBasic {
                balance,
                nonce,
                code_hash,
            },
            storage,
        );
        Ok(())
    }

    /// Inserts an account whose code is stored separately with [`MemoryState::insert_code`].
    pub fn insert_account_with_code_hash(
        &mut self,
        address: Address,
        info: AccountBasic,
        storage: impl IntoIterator<Item = (U256, U256)>,
    ) {
        let storage = storage
            .into_iter()
            .filter(|(_, value)| !value.is_zero())
            .collect();
        self.accounts
            .insert(address, MemoryAccount { info, storage });
    }

    /// Stores contract code under its hash, which it returns.
    pub fn insert_code(&mut self, code: Bytes) -> Result<B256, MemoryStateError> {
        let hash = keccak256(&code);
        let bytecode = Bytecode::new_raw_checked(code)
            .map_err(|error| MemoryStateError::InvalidCode(hash, error.to_string()))?;
        self.contracts.insert(hash, bytecode);
        Ok(hash)
    }

    /// Makes `BLOCKHASH(number)` return `hash`.
    pub fn insert_block_hash(&mut self, number: u64, hash: B256) {
        self.block_hashes.insert(number, hash);
    }

    /// Applies a block's net changes.
    pub fn apply(&mut self, changes: &StateChanges) {
        for (hash, code) in &changes.contracts {
            self.contracts.insert(*hash, code.clone());
        }
        for (address, change) in &changes.accounts {
            let Some(info) = change.info else {
                self.accounts.remove(address);
                continue;
            };
            let account = self.accounts.entry(*address).or_default();
            account.info = info;
            if change.storage_cleared {
                account.storage.clear();
            }
            for (slot, value) in &change.storage {
                if value.is_zero() {
                    account.storage.remove(slot);
                } else {
                    account.storage.insert(*slot, *value);
                }
            }
        }
    }

    /// Writes one storage slot directly (system writes such as the EIP-4788 beacon root).
    pub fn set_storage(&mut self, address: Address, slot: U256, value: U256) {
        let account = self.account_mut(address);
        if value.is_zero() {
            account.storage.remove(&slot);
        } else {
            account.storage.insert(slot, value);
        }
    }

    /// Credits `amount` wei to `address`, creating the account if needed (beacon withdrawals).
    pub fn increment_balance(&mut self, address: Address, amount: U256) {
        let account = self.account_mut(address);
        account.info.balance = account.info.balance.saturating_add(amount);
    }

    /// The account at `address`, created empty if missing.
    fn account_mut(&mut self, address: Address) -> &mut MemoryAccount {
        self.accounts.entry(address).or_default()
    }

    /// The account's fields, if it exists.
    pub fn basic(&self, address: Address) -> Option<AccountBasic> {
        self.accounts.get(&address).map(|account| account.info)
    }

    /// A storage slot (zero when unset).
    pub fn storage(&self, address: Address, slot: U256) -> U256 {
        self.accounts
            .get(&address)
            .and_then(|account| account.storage.get(&slot).copied())
            .unwrap_or_default()
    }

    /// The account's code, if it has any.
    pub fn code(&self, address: Address) -> Option<Bytes> {
        let account = self.accounts.get(&address)?;
        self.contracts
            .get(&account.info.code_hash)
            .map(|code| code.original_bytes())
    }

    /// Every account, for comparisons with expected post-states.
    pub fn accounts(&self) -> impl Iterator<Item = (&Address, &MemoryAccount)> {
        self.accounts.iter()
    }

    /// The Ethereum state root of the whole state.
    pub fn state_root(&self) -> B256 {
        roots::state_root(self.accounts.iter().map(|(address, account)| {
            (
                *address,
                account.info,
                roots::storage_root(&account.storage),
            )
        }))
    }
}

impl DatabaseRef for MemoryState {
    type Error = MemoryStateError;

    fn basic_ref(&self, address: Address) -> Result<Option<AccountInfo>, Self::Error> {
        Ok(self.accounts.get(&address).map(|account| {
            let mut info = AccountInfo::from(account.info);
            info.code = self.contracts.get(&account.info.code_hash).cloned();
            info
        }))
    }

    fn code_by_hash_ref(&self, code_hash: B256) -> Result<Bytecode, Self::Error> {
        if code_hash == KECCAK_EMPTY {
            return Ok(Bytecode::default());
        }
        self.contracts
            .get(&code_hash)
            .cloned()
            .ok_or(MemoryStateError::MissingCode(code_hash))
    }

    fn storage_ref(&self, address: Address, index: U256) -> Result<U256, Self::Error> {
        Ok(self.storage(address, index))
    }

    fn block_hash_ref(&self, number: u64) -> Result<B256, Self::Error> {
        self.block_hashes
            .get(&number)
            .copied()
            .ok_or(MemoryStateError::MissingBlockHash(number))
    }
}
