//! Genesis: the initial L2 state and block, from a geth/anvil-style JSON file or the built-in
//! development genesis (the ten accounts of the `test … junk` mnemonic, 10,000 ETH each).

use std::collections::BTreeMap;

use alloy::signers::local::{coins_bip39::English, MnemonicBuilder};
use alloy_primitives::{keccak256, Address, Bytes, B256, U256};
use parallax_executor::{AccountBasic, AccountChange, StateChanges};
use revm::{bytecode::Bytecode, primitives::KECCAK_EMPTY};
use serde::Deserialize;

/// The mnemonic every Ethereum dev tool funds (anvil, hardhat, geth --dev scripts).
pub const DEV_MNEMONIC: &str = "test test test test test test test test test test test junk";

/// Balance of each dev account: 10,000 ETH.
pub const DEV_BALANCE_WEI: u128 = 10_000 * 10u128.pow(18);

/// Why a genesis could not be used.
#[derive(Debug, thiserror::Error)]
pub enum GenesisError {
    /// The file is not valid genesis JSON.
    #[error("invalid genesis JSON: {0}")]
    Json(#[from] serde_json::Error),
    /// An account's code is not valid EVM bytecode.
    #[error("invalid code for {address}: {reason}")]
    Code {
        /// The account.
        address: Address,
        /// What is wrong.
        reason: String,
    },
    /// Deriving the dev keys failed.
    #[error("dev mnemonic: {0}")]
    Mnemonic(String),
}

/// One pre-funded or pre-deployed account.
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GenesisAccount {
    /// Balance in wei.
    #[serde(default)]
    pub balance: U256,
    /// Nonce.
    #[serde(default, with = "alloy::serde::quantity::opt")]
    pub nonce: Option<u64>,
    /// Runtime bytecode.
    #[serde(default)]
    pub code: Option<Bytes>,
    /// Storage slots.
    #[serde(default)]
    pub storage: Option<BTreeMap<B256, B256>>,
}

/// The genesis file (the subset of geth's format an L2 needs).
#[derive(Clone, Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Genesis {
    /// Chain parameters; only `chainId` is read (the rest comes from the rollup config).
    #[serde(default)]
    pub config: serde_json::Value,
    /// Genesis timestamp (seconds).
    #[serde(default, with = "alloy::serde::quantity")]
    pub timestamp: u64,
    /// Extra data of the genesis header.
    #[serde(default)]
    pub extra_data: Bytes,
    /// Initial accounts.
    #[serde(default)]
    pub alloc: BTreeMap<Address, GenesisAccount>,
}

/// A dev account: address and private key (printed at start so wallets can import it).
#[derive(Clone, Debug)]
pub struct DevAccount {
    /// The address.
    pub address: Address,
    /// Its secp256k1 private key.
    pub private_key: B256,
}

/// The ten standard dev accounts.
pub fn dev_accounts() -> Result<Vec<DevAccount>, GenesisError> {
    (0..10u32)
        .map(|index| {
            let signer = MnemonicBuilder::<English>::default()
                .phrase(DEV_MNEMONIC)
                .index(index)
                .map_err(|error| GenesisError::Mnemonic(error.to_string()))?
                .build()
                .map_err(|error| GenesisError::Mnemonic(error.to_string()))?;
            Ok(DevAccount {
                address: signer.address(),
                private_key: B256::from_slice(&signer.credential().to_bytes()),
            })
        })
        .collect()
}

impl Genesis {
    /// Parses a genesis file.
    pub fn from_json(json: &str) -> Result<Self, GenesisError> {
        Ok(serde_json::from_str(json)?)
    }

    /// The development genesis: dev accounts funded, at `timestamp`.
    pub fn dev(timestamp: u64) -> Result<Self, GenesisError> {
        let alloc = dev_accounts()?
            .into_iter()
            .map(|account| {
                let funded = GenesisAccount {
                    balance: U256::from(DEV_BALANCE_WEI),
                    ..Default::default()
                };
                (account.address, funded)
            })
            .collect();
        Ok(Self {
            config: serde_json::Value::Null,
            timestamp,
            extra_data: Bytes::from_static(b"parallax dev genesis"),
            alloc,
        })
    }

    /// Adds an account unless the file already defines one at that address (predeploys).
    pub fn with_default_account(mut self, address: Address, account: GenesisAccount) -> Self {
        self.alloc.entry(address).or_insert(account);
        self
    }

    /// Adds the predeploys every Parallax L2 has (design §2) unless the file places accounts at
    /// those addresses itself: `L1Block` (the L1-info deposit opening every block writes the L1
    /// origin into it), the `L2ToL1MessagePasser` (withdrawals are proven against its storage)
    /// and the fee vaults (plain accounts collecting fees). Contracts get nonce 1, as if
    /// deployed, so the state matches what a deployment would have produced.
    pub fn with_predeploys(self) -> Self {
        use parallax_protocol::predeploys;
        let contract = |code: &'static [u8]| GenesisAccount {
            code: Some(Bytes::from_static(code)),
            nonce: Some(1),
            ..Default::default()
        };
        let mut genesis = self
            .with_default_account(
                predeploys::L1_BLOCK,
                contract(&parallax_contracts::L1Block::DEPLOYED_BYTECODE),
            )
            .with_default_account(
                predeploys::L2_TO_L1_MESSAGE_PASSER,
                contract(&parallax_contracts::L2ToL1MessagePasser::DEPLOYED_BYTECODE),
            );
        for vault in [
            predeploys::SEQUENCER_FEE_VAULT,
            predeploys::BASE_FEE_VAULT,
            predeploys::L1_FEE_VAULT,
        ] {
            genesis = genesis.with_default_account(vault, GenesisAccount::default());
        }
        genesis
    }

    /// The genesis state as one block's worth of changes.
    pub fn state_changes(&self) -> Result<StateChanges, GenesisError> {
        let mut changes = StateChanges::default();
        for (address, account) in &self.alloc {
            let code_hash = match &account.code {
                Some(code) if !code.is_empty() => {
                    let bytecode = Bytecode::new_raw_checked(code.clone()).map_err(|error| {
                        GenesisError::Code {
                            address: *address,
                            reason: format!("{error:?}"),
                        }
                    })?;
                    let hash = keccak256(code);
                    changes.contracts.insert(hash, bytecode);
                    hash
                }
                _ => KECCAK_EMPTY,
            };
            let storage = account
                .storage
                .iter()
                .flatten()
                .map(|(slot, value)| (U256::from_be_bytes(slot.0), U256::from_be_bytes(value.0)))
                .collect();
            changes.accounts.insert(
                *address,
                AccountChange {
                    info: Some(AccountBasic {
                        balance: account.balance,
                        nonce: account.nonce.unwrap_or_default(),
                        code_hash,
                    }),
                    storage_cleared: true,
                    storage,
                },
            );
        }
        Ok(changes)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dev_accounts_are_the_well_known_ones() {
        let accounts = dev_accounts().expect("derive");
        assert_eq!(accounts.len(), 10);
        assert_eq!(
            accounts[0].address,
            "0xf39Fd6e51aad88F6F4ce6aB8827279cffFb92266"
                .parse::<Address>()
                .expect("address")
        );
        assert_eq!(
            accounts[9].address,
            "0xa0Ee7A142d267C1f36714E4a8F75612F20a79720"
                .parse::<Address>()
                .expect("address")
        );
    }

    #[test]
    fn parses_a_geth_style_file() {
        let genesis = Genesis::from_json(
            r#"{"config":{"chainId":901},"timestamp":"0x10","alloc":{
                "0x0000000000000000000000000000000000000001":{"balance":"0x2a"},
                "0x0000000000000000000000000000000000000002":{"balance":"0x0","code":"0x6001","storage":{"0x0000000000000000000000000000000000000000000000000000000000000001":"0x0000000000000000000000000000000000000000000000000000000000000005"}}}}"#,
        )
        .expect("parses");
        assert_eq!(genesis.timestamp, 16);
        let changes = genesis.state_changes().expect("valid");
        assert_eq!(changes.accounts.len(), 2);
        assert_eq!(changes.contracts.len(), 1);
        assert!(Genesis::from_json(r#"{"alloc":{"0x01":{"balance":"0x1","bogus":1}}}"#).is_err());
    }

    #[test]
    fn predeploys_are_placed_unless_the_file_has_them() {
        use parallax_protocol::predeploys;
        let genesis = Genesis::dev(0).expect("dev genesis").with_predeploys();
        // Ten dev accounts, two predeployed contracts, three fee vaults.
        assert_eq!(genesis.alloc.len(), 15);
        let code = |address: Address| {
            let account = &genesis.alloc[&address];
            assert_eq!(account.nonce, Some(1), "{address} nonce");
            account.code.clone().expect("predeploy has code")
        };
        assert_eq!(
            code(predeploys::L1_BLOCK),
            parallax_contracts::L1Block::DEPLOYED_BYTECODE
        );
        assert_eq!(
            code(predeploys::L2_TO_L1_MESSAGE_PASSER),
            parallax_contracts::L2ToL1MessagePasser::DEPLOYED_BYTECODE
        );
        let changes = genesis.state_changes().expect("valid code");
        assert_eq!(changes.accounts.len(), 15);
        assert_eq!(changes.contracts.len(), 2);

        // A file that already places an account at a predeploy address keeps it.
        let own = GenesisAccount {
            balance: U256::from(7),
            ..Default::default()
        };
        let genesis = Genesis::dev(0)
            .expect("dev genesis")
            .with_default_account(predeploys::L1_BLOCK, own)
            .with_predeploys();
        assert_eq!(genesis.alloc[&predeploys::L1_BLOCK].balance, U256::from(7));
        assert!(genesis.alloc[&predeploys::L1_BLOCK].code.is_none());
    }
}
