//! Real Ethereum mainnet blocks with their pre-state (the `shared/mainnet-blocks` format):
//! loading, the mainnet fork schedule, and the header checks an executor must pass.
//!
//! Directory layout: `<number>/block.json` (an `eth_getBlockByNumber(n, true)` result),
//! `<number>/pre_state.json` (address → `{balance, nonce, code_hash?, storage}`),
//! `bytecodes.json` (code hash → code) and `block_hashes.json` (number → hash).

use std::{
    collections::HashMap,
    fs,
    path::{Path, PathBuf},
    str::FromStr,
};

use alloy_primitives::{Address, Bloom, Bytes, B256, U128, U256, U64};
use parallax_executor::{
    revm::{
        context::{BlockEnv, TxEnv},
        context_interface::transaction::{AccessList, AccessListItem},
        database::{CacheDB, EmptyDB},
        primitives::{
            eip4844::{BLOB_BASE_FEE_UPDATE_FRACTION_CANCUN, BLOB_BASE_FEE_UPDATE_FRACTION_PRAGUE},
            hardfork::SpecId,
            TxKind, KECCAK_EMPTY,
        },
        state::{AccountInfo, Bytecode},
    },
    BlockOutcome, ExecutionEnv,
};
use serde::{de::DeserializeOwned, Deserialize};

/// First block whose receipts commit to a status code rather than an intermediate state root
/// (Byzantium): from here on the receipts root can be checked without the full state.
pub const BYZANTIUM_BLOCK: u64 = 4_370_000;

/// Mainnet chain id.
pub const MAINNET_CHAIN_ID: u64 = 1;

/// The EVM rules mainnet applies to block `number` with timestamp `timestamp`, Frontier to
/// Prague. Forks without EVM changes (DAO at 1,920,000; Muir Glacier at 9,200,000, Arrow and Gray
/// Glacier, which only delay the difficulty bomb) keep the rules in force, as revm has no
/// separate spec for them.
pub fn mainnet_spec(number: u64, timestamp: u64) -> SpecId {
    match (number, timestamp) {
        (_, t) if t >= 1_746_612_311 => SpecId::PRAGUE,
        (_, t) if t >= 1_710_338_135 => SpecId::CANCUN,
        (_, t) if t >= 1_681_338_455 => SpecId::SHANGHAI,
        (n, _) if n >= 15_537_394 => SpecId::MERGE,
        (n, _) if n >= 12_965_000 => SpecId::LONDON,
        (n, _) if n >= 12_244_000 => SpecId::BERLIN,
        (n, _) if n >= 9_069_000 => SpecId::ISTANBUL,
        (n, _) if n >= 7_280_000 => SpecId::PETERSBURG,
        (n, _) if n >= 4_370_000 => SpecId::BYZANTIUM,
        (n, _) if n >= 2_675_000 => SpecId::SPURIOUS_DRAGON,
        (n, _) if n >= 2_463_000 => SpecId::TANGERINE,
        (n, _) if n >= 1_150_000 => SpecId::HOMESTEAD,
        _ => SpecId::FRONTIER,
    }
}

/// Why a block directory could not be loaded.
#[derive(Debug, thiserror::Error)]
pub enum LoadError {
    /// A file or directory could not be read.
    #[error("cannot read {}: {error}", path.display())]
    Io {
        /// What was being read.
        path: PathBuf,
        /// The I/O error.
        error: std::io::Error,
    },
    /// A file is not the expected JSON.
    #[error("cannot parse {}: {error}", path.display())]
    Json {
        /// The file.
        path: PathBuf,
        /// The parse error.
        error: serde_json::Error,
    },
    /// A file parsed but holds an invalid value.
    #[error("{}: {message}", path.display())]
    Invalid {
        /// The file.
        path: PathBuf,
        /// What is wrong.
        message: String,
    },
}

/// Header fields a correct execution reproduces.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ExpectedHeader {
    /// `gasUsed`.
    pub gas_used: u64,
    /// `logsBloom`.
    pub logs_bloom: Bloom,
    /// `receiptsRoot` (checked from [`BYZANTIUM_BLOCK`] on).
    pub receipts_root: B256,
}

/// A mainnet block ready to execute.
#[derive(Debug)]
pub struct MainnetBlock {
    /// Block number.
    pub number: u64,
    /// Spec from [`mainnet_spec`], chain id 1, header fields; base fee burnt.
    pub env: ExecutionEnv,
    /// The block's transactions with their senders (`from`).
    pub txs: Vec<TxEnv>,
    /// Every account, slot, code and block hash the block reads.
    pub state: CacheDB<EmptyDB>,
    /// What the header commits to.
    pub expected: ExpectedHeader,
}

impl MainnetBlock {
    /// Whether the receipts root is checked for this block (Byzantium and later).
    pub fn checks_receipts_root(&self) -> bool {
        self.number >= BYZANTIUM_BLOCK
    }

    /// Differences between `outcome` and the header (empty when the block checks out).
    pub fn header_mismatches(&self, outcome: &BlockOutcome) -> Vec<String> {
        let mut mismatches = Vec::new();
        if outcome.gas_used != self.expected.gas_used {
            mismatches.push(format!(
                "gasUsed {} != header {}",
                outcome.gas_used, self.expected.gas_used
            ));
        }
        if outcome.receipts.len() != self.txs.len() {
            mismatches.push(format!(
                "{} receipts for {} transactions",
                outcome.receipts.len(),
                self.txs.len()
            ));
        }
        let bloom = parallax_state::logs_bloom(&outcome.receipts);
        if bloom != self.expected.logs_bloom {
            mismatches.push("logsBloom differs from header".to_owned());
        }
        if self.checks_receipts_root() {
            let root = parallax_state::receipts_root(&outcome.receipts);
            if root != self.expected.receipts_root {
                mismatches.push(format!(
                    "receiptsRoot {root} != header {}",
                    self.expected.receipts_root
                ));
            }
        }
        mismatches
    }
}

/// Loads every block of `dir` (sub-directories named by block number), sorted by number.
pub fn load_blocks(dir: &Path) -> Result<Vec<MainnetBlock>, LoadError> {
    let shared = SharedData::load(dir)?;
    let mut numbers = Vec::new();
    let entries = fs::read_dir(dir).map_err(|error| LoadError::Io {
        path: dir.to_owned(),
        error,
    })?;
    for entry in entries {
        let entry = entry.map_err(|error| LoadError::Io {
            path: dir.to_owned(),
            error,
        })?;
        // `Path::is_dir` follows symbolic links, so a directory of links to blocks works too.
        let is_dir = entry.path().is_dir();
        if let (true, Some(Ok(number))) = (is_dir, entry.file_name().to_str().map(u64::from_str)) {
            numbers.push(number);
        }
    }
    if numbers.is_empty() {
        return Err(LoadError::Invalid {
            path: dir.to_owned(),
            message: "no block directories".into(),
        });
    }
    numbers.sort_unstable();
    numbers
        .into_iter()
        .map(|number| shared.load_block(dir, number))
        .collect()
}

/// Loads block `number` of `dir`.
pub fn load_block(dir: &Path, number: u64) -> Result<MainnetBlock, LoadError> {
    SharedData::load(dir)?.load_block(dir, number)
}

/// Files shared by all blocks of a directory.
struct SharedData {
    bytecodes_path: PathBuf,
    /// Raw code by hash; analysed (jump table) only when a block uses it.
    bytecodes: HashMap<B256, Bytes>,
    block_hashes: Vec<(U256, B256)>,
}

impl SharedData {
    fn load(dir: &Path) -> Result<Self, LoadError> {
        let bytecodes_path = dir.join("bytecodes.json");
        let raw: HashMap<String, Bytes> = read_json(&bytecodes_path)?;
        let mut bytecodes = HashMap::with_capacity(raw.len());
        for (hash, code) in raw {
            let hash = parse::<B256>(&bytecodes_path, "code hash", &hash)?;
            bytecodes.insert(hash, code);
        }
        let hashes_path = dir.join("block_hashes.json");
        let raw: HashMap<String, B256> = read_json(&hashes_path)?;
        let mut block_hashes = Vec::with_capacity(raw.len());
        for (number, hash) in raw {
            block_hashes.push((
                U256::from(parse::<u64>(&hashes_path, "block number", &number)?),
                hash,
            ));
        }
        Ok(Self {
            bytecodes_path,
            bytecodes,
            block_hashes,
        })
    }

    fn load_block(&self, dir: &Path, number: u64) -> Result<MainnetBlock, LoadError> {
        let block_path = dir.join(number.to_string()).join("block.json");
        let block: RpcBlock = read_json(&block_path)?;
        let invalid = |message: String| LoadError::Invalid {
            path: block_path.clone(),
            message,
        };
        if block.number.to::<u64>() != number {
            return Err(invalid(format!("holds block {} instead", block.number)));
        }
        let timestamp = block.timestamp.to::<u64>();
        let spec = mainnet_spec(number, timestamp);
        let mut env_block = BlockEnv {
            number: U256::from(number),
            beneficiary: block.miner,
            timestamp: U256::from(timestamp),
            gas_limit: block.gas_limit.to(),
            basefee: match block.base_fee_per_gas {
                Some(fee) => {
                    u64::try_from(fee).map_err(|_| invalid(format!("base fee {fee} above 2^64")))?
                }
                None => 0,
            },
            difficulty: block.difficulty,
            prevrandao: None,
            blob_excess_gas_and_price: None,
            ..BlockEnv::default()
        };
        if spec.is_enabled_in(SpecId::MERGE) {
            env_block.prevrandao = Some(
                block
                    .mix_hash
                    .ok_or_else(|| invalid("post-merge block without mixHash".into()))?,
            );
        }
        if spec.is_enabled_in(SpecId::CANCUN) {
            let excess = block
                .excess_blob_gas
                .ok_or_else(|| invalid("Cancun block without excessBlobGas".into()))?;
            let fraction = if spec.is_enabled_in(SpecId::PRAGUE) {
                BLOB_BASE_FEE_UPDATE_FRACTION_PRAGUE
            } else {
                BLOB_BASE_FEE_UPDATE_FRACTION_CANCUN
            };
            env_block.set_blob_excess_gas_and_price(excess.to(), fraction);
        }
        let txs = block
            .transactions
            .iter()
            .enumerate()
            .map(|(index, tx)| {
                tx.to_tx_env()
                    .map_err(|message| invalid(format!("transaction {index}: {message}")))
            })
            .collect::<Result<Vec<_>, _>>()?;

        let state_path = dir.join(number.to_string()).join("pre_state.json");
        let accounts: HashMap<String, RpcAccount> = read_json(&state_path)?;
        let mut state = CacheDB::new(EmptyDB::default());
        for (address, account) in accounts {
            let address = parse::<Address>(&state_path, "address", &address)?;
            let mut info = AccountInfo {
                balance: account.balance,
                nonce: account.nonce,
                ..AccountInfo::default()
            };
            if let Some(code_hash) = account.code_hash.filter(|hash| *hash != KECCAK_EMPTY) {
                let code = self
                    .bytecodes
                    .get(&code_hash)
                    .ok_or_else(|| LoadError::Invalid {
                        path: self.bytecodes_path.clone(),
                        message: format!("no code for hash {code_hash} of {address}"),
                    })?;
                info = info.with_code_and_hash(Bytecode::new_raw(code.clone()), code_hash);
            }
            state.insert_account_info(address, info);
            for (slot, value) in account.storage {
                let slot = parse::<U256>(&state_path, "storage slot", &slot)?;
                // The account was just inserted: the empty database behind it is never read.
                let Ok(()) = state.insert_account_storage(address, slot, value);
            }
        }
        state
            .cache
            .block_hashes
            .extend(self.block_hashes.iter().copied());

        Ok(MainnetBlock {
            number,
            env: ExecutionEnv::ethereum(spec, MAINNET_CHAIN_ID, env_block),
            txs,
            state,
            expected: ExpectedHeader {
                gas_used: block.gas_used.to(),
                logs_bloom: block.logs_bloom,
                receipts_root: block.receipts_root,
            },
        })
    }
}

fn read_json<T: DeserializeOwned>(path: &Path) -> Result<T, LoadError> {
    let text = fs::read(path).map_err(|error| LoadError::Io {
        path: path.to_owned(),
        error,
    })?;
    serde_json::from_slice(&text).map_err(|error| LoadError::Json {
        path: path.to_owned(),
        error,
    })
}

fn parse<T: FromStr>(path: &Path, what: &str, text: &str) -> Result<T, LoadError> {
    text.parse().map_err(|_| LoadError::Invalid {
        path: path.to_owned(),
        message: format!("invalid {what} {text:?}"),
    })
}

/// The fields of an `eth_getBlockByNumber` result that execution needs.
#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct RpcBlock {
    number: U64,
    miner: Address,
    timestamp: U64,
    gas_limit: U64,
    gas_used: U64,
    base_fee_per_gas: Option<U256>,
    difficulty: U256,
    mix_hash: Option<B256>,
    excess_blob_gas: Option<U64>,
    logs_bloom: Bloom,
    receipts_root: B256,
    transactions: Vec<RpcTx>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct RpcTx {
    #[serde(rename = "type", default)]
    tx_type: U64,
    from: Address,
    to: Option<Address>,
    value: U256,
    gas: U64,
    nonce: U64,
    input: Bytes,
    gas_price: Option<U128>,
    max_fee_per_gas: Option<U128>,
    max_priority_fee_per_gas: Option<U128>,
    max_fee_per_blob_gas: Option<U128>,
    chain_id: Option<U64>,
    v: Option<U64>,
    #[serde(default)]
    access_list: Vec<RpcAccessListItem>,
    #[serde(default)]
    blob_versioned_hashes: Vec<B256>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct RpcAccessListItem {
    address: Address,
    storage_keys: Vec<B256>,
}

#[derive(Deserialize)]
struct RpcAccount {
    balance: U256,
    nonce: u64,
    code_hash: Option<B256>,
    #[serde(default)]
    storage: HashMap<String, U256>,
}

impl RpcTx {
    fn to_tx_env(&self) -> Result<TxEnv, String> {
        let tx_type =
            u8::try_from(self.tx_type).map_err(|_| format!("unknown type {}", self.tx_type))?;
        let access_list = AccessList(
            self.access_list
                .iter()
                .map(|item| AccessListItem {
                    address: item.address,
                    storage_keys: item.storage_keys.clone(),
                })
                .collect(),
        );
        let field = |value: Option<U128>, name: &str| {
            value
                .map(|value| value.to::<u128>())
                .ok_or_else(|| format!("type {tx_type} without {name}"))
        };
        let mut tx = TxEnv {
            tx_type,
            caller: self.from,
            gas_limit: self.gas.to(),
            kind: self.to.map_or(TxKind::Create, TxKind::Call),
            value: self.value,
            data: self.input.clone(),
            nonce: self.nonce.to(),
            ..TxEnv::default()
        };
        match tx_type {
            0 => {
                tx.gas_price = field(self.gas_price, "gasPrice")?;
                tx.gas_priority_fee = None;
                // EIP-155: v = 35 + 2 * chain_id + parity; 27/28 are unprotected.
                tx.chain_id = match self.v.map(|v| v.to::<u64>()) {
                    Some(v) if v >= 35 => Some((v - 35) / 2),
                    Some(_) => None,
                    None => self.chain_id.map(|id| id.to()),
                };
            }
            1..=3 => {
                tx.chain_id = Some(
                    self.chain_id
                        .ok_or("typed transaction without chainId")?
                        .to(),
                );
                tx.access_list = access_list;
                if tx_type == 1 {
                    tx.gas_price = field(self.gas_price, "gasPrice")?;
                    tx.gas_priority_fee = None;
                } else {
                    tx.gas_price = field(self.max_fee_per_gas, "maxFeePerGas")?;
                    tx.gas_priority_fee = Some(field(
                        self.max_priority_fee_per_gas,
                        "maxPriorityFeePerGas",
                    )?);
                }
                if tx_type == 3 {
                    tx.blob_hashes = self.blob_versioned_hashes.clone();
                    tx.max_fee_per_blob_gas = field(self.max_fee_per_blob_gas, "maxFeePerBlobGas")?;
                }
            }
            other => return Err(format!("unsupported transaction type {other}")),
        }
        Ok(tx)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fork_schedule() {
        assert_eq!(mainnet_spec(46_147, 0), SpecId::FRONTIER);
        assert_eq!(mainnet_spec(1_150_000, 0), SpecId::HOMESTEAD);
        assert_eq!(mainnet_spec(2_462_997, 0), SpecId::HOMESTEAD);
        assert_eq!(mainnet_spec(2_463_000, 0), SpecId::TANGERINE);
        assert_eq!(mainnet_spec(2_675_000, 0), SpecId::SPURIOUS_DRAGON);
        assert_eq!(mainnet_spec(4_370_000, 0), SpecId::BYZANTIUM);
        assert_eq!(mainnet_spec(7_279_999, 0), SpecId::BYZANTIUM);
        assert_eq!(mainnet_spec(7_280_000, 0), SpecId::PETERSBURG);
        assert_eq!(mainnet_spec(9_069_000, 0), SpecId::ISTANBUL);
        assert_eq!(mainnet_spec(9_200_000, 0), SpecId::ISTANBUL);
        assert_eq!(mainnet_spec(12_243_999, 0), SpecId::ISTANBUL);
        assert_eq!(mainnet_spec(12_244_000, 0), SpecId::BERLIN);
        assert_eq!(mainnet_spec(12_965_000, 0), SpecId::LONDON);
        assert_eq!(mainnet_spec(15_537_393, 1_663_224_162), SpecId::LONDON);
        assert_eq!(mainnet_spec(15_537_394, 1_663_224_179), SpecId::MERGE);
        assert_eq!(mainnet_spec(17_034_870, 1_681_338_455), SpecId::SHANGHAI);
        assert_eq!(mainnet_spec(19_426_587, 1_710_338_135), SpecId::CANCUN);
    }
}
