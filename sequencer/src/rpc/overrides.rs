//! `eth_call`'s state overrides (the third parameter geth, reth and anvil accept): balances,
//! nonces, code and storage replaced for one call, layered over any state view without
//! copying it.

use alloy::rpc::types::state::{AccountOverride, StateOverride};
use alloy_primitives::{map::B256Map, Address, B256, U256};
use revm::{bytecode::Bytecode, database_interface::DatabaseRef, state::AccountInfo};

/// Refuses overrides no client may combine (`state` with `stateDiff`) or that are not
/// supported here (moving precompiles).
pub(super) fn validate(overrides: &StateOverride) -> Result<(), String> {
    for (address, account) in overrides {
        if account.state.is_some() && account.state_diff.is_some() {
            return Err(format!(
                "account {address} has both 'state' and 'stateDiff'"
            ));
        }
        if account.move_precompile_to.is_some() {
            return Err("movePrecompileToAddress is not supported".into());
        }
    }
    Ok(())
}

/// `inner` as seen with `overrides` applied.
#[derive(Debug)]
pub(super) struct WithOverrides<D> {
    inner: D,
    overrides: StateOverride,
    /// Code of overridden accounts, by hash.
    codes: B256Map<Bytecode>,
}

impl<D> WithOverrides<D> {
    /// Layers `overrides` (checked with [`validate`]) over `inner`.
    pub(super) fn new(inner: D, overrides: StateOverride) -> Self {
        let codes = overrides
            .values()
            .filter_map(|account| account.code.clone())
            .map(|code| {
                let bytecode = Bytecode::new_raw(code);
                (bytecode.hash_slow(), bytecode)
            })
            .collect();
        Self {
            inner,
            overrides,
            codes,
        }
    }

    fn account(&self, address: &Address) -> Option<&AccountOverride> {
        self.overrides.get(address)
    }
}

impl<D: DatabaseRef> DatabaseRef for WithOverrides<D> {
    type Error = D::Error;

    fn basic_ref(&self, address: Address) -> Result<Option<AccountInfo>, Self::Error> {
        let info = self.inner.basic_ref(address)?;
        let Some(account) = self.account(&address) else {
            return Ok(info);
        };
        let mut info = info.unwrap_or_default();
        if let Some(balance) = account.balance {
            info.balance = balance;
        }
        if let Some(nonce) = account.nonce {
            info.nonce = nonce;
        }
        if let Some(code) = &account.code {
            let bytecode = Bytecode::new_raw(code.clone());
            info.code_hash = bytecode.hash_slow();
            info.code = Some(bytecode);
        }
        Ok(Some(info))
    }

    fn code_by_hash_ref(&self, code_hash: B256) -> Result<Bytecode, Self::Error> {
        match self.codes.get(&code_hash) {
            Some(code) => Ok(code.clone()),
            None => self.inner.code_by_hash_ref(code_hash),
        }
    }

    fn storage_ref(&self, address: Address, index: U256) -> Result<U256, Self::Error> {
        let slot = B256::from(index.to_be_bytes::<32>());
        if let Some(account) = self.account(&address) {
            if let Some(state) = &account.state {
                // The whole storage is replaced: unlisted slots are zero.
                return Ok(state.get(&slot).map_or(U256::ZERO, |value| (*value).into()));
            }
            if let Some(value) = account.state_diff.as_ref().and_then(|diff| diff.get(&slot)) {
                return Ok((*value).into());
            }
        }
        self.inner.storage_ref(address, index)
    }

    fn block_hash_ref(&self, number: u64) -> Result<B256, Self::Error> {
        self.inner.block_hash_ref(number)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use revm::database::{CacheDB, EmptyDB};

    #[test]
    fn overrides_replace_fields_code_and_storage() {
        let owner = Address::repeat_byte(1);
        let mut db = CacheDB::new(EmptyDB::default());
        db.insert_account_info(
            owner,
            AccountInfo {
                balance: U256::from(5),
                nonce: 3,
                ..Default::default()
            },
        );
        db.insert_account_storage(owner, U256::from(1), U256::from(11))
            .unwrap();
        db.insert_account_storage(owner, U256::from(2), U256::from(22))
            .unwrap();
        let slot = |n: u64| B256::from(U256::from(n).to_be_bytes::<32>());

        let mut overrides = StateOverride::default();
        overrides.insert(
            owner,
            AccountOverride {
                balance: Some(U256::from(100)),
                code: Some(vec![0x60, 0x00].into()),
                state_diff: Some([(slot(1), slot(99))].into_iter().collect()),
                ..Default::default()
            },
        );
        let view = WithOverrides::new(&db, overrides.clone());
        let info = view.basic_ref(owner).unwrap().unwrap();
        assert_eq!((info.balance, info.nonce), (U256::from(100), 3));
        assert_eq!(
            view.code_by_hash_ref(info.code_hash)
                .unwrap()
                .original_byte_slice(),
            [0x60, 0x00]
        );
        assert_eq!(
            view.storage_ref(owner, U256::from(1)).unwrap(),
            U256::from(99)
        );
        assert_eq!(
            view.storage_ref(owner, U256::from(2)).unwrap(),
            U256::from(22)
        );

        // `state` replaces all storage.
        overrides.get_mut(&owner).unwrap().state_diff = None;
        overrides.get_mut(&owner).unwrap().state =
            Some([(slot(3), slot(33))].into_iter().collect());
        let view = WithOverrides::new(&db, overrides.clone());
        assert_eq!(view.storage_ref(owner, U256::from(2)).unwrap(), U256::ZERO);
        assert_eq!(
            view.storage_ref(owner, U256::from(3)).unwrap(),
            U256::from(33)
        );

        // An account that does not exist can be conjured.
        let ghost = Address::repeat_byte(9);
        let mut conjure = StateOverride::default();
        conjure.insert(
            ghost,
            AccountOverride {
                balance: Some(U256::from(7)),
                ..Default::default()
            },
        );
        assert_eq!(
            WithOverrides::new(&db, conjure)
                .basic_ref(ghost)
                .unwrap()
                .unwrap()
                .balance,
            U256::from(7)
        );

        overrides.get_mut(&owner).unwrap().state_diff = Some(Default::default());
        assert!(validate(&overrides).is_err());
    }
}
