//! The proven pre-state the model executes on, read from the one-step witness exactly as
//! `EvmStepVerifier` reads it (through the [`Mpt`] twin of `MptDb` / `WorldState`), and the
//! post-state root computed with `WorldState.stateRoot`'s canonical write order.

use std::collections::{BTreeMap, HashMap};

use alloy::sol_types::SolValue;
use alloy_primitives::{keccak256, Address, Bytes, B256, U256};
use alloy_trie::{TrieAccount, EMPTY_ROOT_HASH};

use super::{PostAccount, PostSlot, StepModelError, EMPTY_CODE_HASH};
use crate::mpt::{MemoryNodes, Mpt};

/// An account of the pre-state as the witness proves it (`PreAccount` of EvmTypes.sol).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PreAccount {
    /// Nonce (0 when absent).
    pub nonce: u64,
    /// Balance (0 when absent).
    pub balance: U256,
    /// Code hash (`keccak256("")` when absent or code-less).
    pub code_hash: B256,
    /// Whether the account is in the trie.
    pub exists: bool,
}

/// What the witness proves: the accounts, slots and bytecode the transaction may read. Anything
/// else the execution needs is a [`StepModelError::MissingAccount`] / `MissingSlot` /
/// `MissingCode`, as on L1.
#[derive(Clone, Debug, Default)]
pub struct Witness {
    accounts: HashMap<Address, PreAccount>,
    slots: HashMap<(Address, U256), U256>,
    codes: HashMap<B256, Bytes>,
    /// Proven hashes of the previous blocks, nearest first (`[0]` is the parent hash).
    block_hashes: Vec<B256>,
}

impl Witness {
    /// A witness over already-proven values (for tests of the interpreter alone).
    pub fn from_parts(
        accounts: impl IntoIterator<Item = (Address, PreAccount)>,
        slots: impl IntoIterator<Item = ((Address, U256), U256)>,
        codes: impl IntoIterator<Item = Bytes>,
    ) -> Self {
        Self {
            accounts: accounts.into_iter().collect(),
            slots: slots.into_iter().collect(),
            codes: codes
                .into_iter()
                .map(|code| (keccak256(&code), code))
                .collect(),
            block_hashes: Vec::new(),
        }
    }

    /// Sets the proven hashes of the previous blocks, nearest first: `hashes[j]` is the hash of
    /// block `number - 1 - j` (from [`block_hashes`], or given directly in tests).
    pub fn set_block_hashes(&mut self, hashes: Vec<B256>) {
        self.block_hashes = hashes;
    }

    /// The proven hash of block `number - 1 - depth`, `None` when the witness's ancestor headers
    /// do not reach that deep.
    pub fn block_hash(&self, depth: usize) -> Option<B256> {
        self.block_hashes.get(depth).copied()
    }

    /// The proven pre-state account `address`.
    pub fn account(&self, address: Address) -> Result<PreAccount, StepModelError> {
        self.accounts
            .get(&address)
            .copied()
            .ok_or(StepModelError::MissingAccount(address))
    }

    /// The proven pre-state value of slot `key` of `address`.
    pub fn slot(&self, address: Address, key: U256) -> Result<U256, StepModelError> {
        self.slots
            .get(&(address, key))
            .copied()
            .ok_or(StepModelError::MissingSlot(address, key))
    }

    /// Bytecode by hash.
    pub fn code(&self, hash: B256) -> Result<&Bytes, StepModelError> {
        self.codes
            .get(&hash)
            .ok_or(StepModelError::MissingCode(hash))
    }
}

/// The pre-state trie opened over the witness nodes, with every account leaf read, so the
/// post-state root can be computed from the final writes.
pub struct ProvenState {
    mpt: Mpt<MemoryNodes>,
    root: B256,
    /// Account leaves read (by address), `None` when absent.
    leaves: HashMap<Address, Option<TrieAccount>>,
}

/// The state part of the decoded witness argument of `EvmStepVerifier`: nodes, codes,
/// accounts, slot owners and slot keys.
pub type DecodedWitness = (
    Vec<Bytes>,
    Vec<Bytes>,
    Vec<Address>,
    Vec<Address>,
    Vec<U256>,
);

/// The whole witness encoding: the state part and the ancestor headers.
type EncodedWitness = (
    Vec<Bytes>,
    Vec<Bytes>,
    Vec<Address>,
    Vec<Address>,
    Vec<U256>,
    Vec<Bytes>,
);

/// Decodes the verifier's `witness` argument (checked like `_decodeWitness`: as many owners as
/// keys) into its state part and the ancestor headers (nearest first).
pub fn decode(encoded: &[u8]) -> Result<(DecodedWitness, Vec<Bytes>), StepModelError> {
    let (nodes, codes, accounts, owners, keys, ancestors) =
        EncodedWitness::abi_decode_params(encoded).map_err(|_| StepModelError::MalformedWitness)?;
    if owners.len() != keys.len() {
        return Err(StepModelError::MalformedWitness);
    }
    Ok(((nodes, codes, accounts, owners, keys), ancestors))
}

/// The most ancestor headers a witness may carry: header `number - 255`'s parentHash is the
/// oldest hash of the BLOCKHASH window.
pub const MAX_ANCESTORS: usize = 255;

/// `EvmStepVerifier._blockHashes`: the hashes of blocks `number - 1`, `number - 2`, … proven
/// from `parent_hash` down the `headers` chain (nearest first). Header `i` is block
/// `number - 1 - i`: it must hash to the hash proven before it, and its parentHash field (the
/// first item of its RLP list) proves the next. Reading only that field is exact because the
/// keccak check comes first: a header that hashes right is the block's real header.
pub fn block_hashes(
    number: U256,
    parent_hash: B256,
    headers: &[Bytes],
) -> Result<Vec<B256>, StepModelError> {
    if headers.len() > MAX_ANCESTORS || U256::from(headers.len()) >= number {
        return Err(StepModelError::MalformedWitness);
    }
    // `number > headers.len()`, and the verifier only builds a context for numbers it can
    // subtract from; the block numbers below fit u64 in any real chain.
    let number: u64 = number.saturating_to();
    let mut hashes = Vec::with_capacity(headers.len() + 1);
    hashes.push(parent_hash);
    for (i, header) in headers.iter().enumerate() {
        let block = number - 1 - i as u64;
        if keccak256(header) != hashes[i] {
            return Err(StepModelError::AncestorMismatch(block));
        }
        hashes.push(header_parent(header).ok_or(StepModelError::MalformedAncestor(block))?);
    }
    Ok(hashes)
}

/// The first item of an RLP list when it is a 32-byte string (a header's parentHash), as the
/// verifier reads it: a list prefix (0xc0-0xf7, or 0xf8-0xff followed by `prefix - 0xf7` length
/// bytes) and then `0xa0` and 32 bytes.
fn header_parent(header: &[u8]) -> Option<B256> {
    let prefix = *header.first()?;
    let offset = match prefix {
        0xc0..=0xf7 => 1,
        0xf8..=0xff => usize::from(prefix - 0xf6),
        _ => return None,
    };
    if header.len().checked_sub(offset)? < 33 || header[offset] != 0xa0 {
        return None;
    }
    Some(B256::from_slice(&header[offset + 1..offset + 33]))
}

/// Proves every listed account and slot against `pre_state_root` (the verifier's `_execute`
/// after decoding the transaction, up to the interpreter call).
pub fn open(
    pre_state_root: B256,
    decoded: DecodedWitness,
) -> Result<(Witness, ProvenState), StepModelError> {
    let (nodes, codes, accounts, owners, keys) = decoded;
    let mut state = ProvenState {
        mpt: Mpt::new(nodes.into_iter().collect()),
        root: pre_state_root,
        leaves: HashMap::new(),
    };
    let mut witness = Witness {
        codes: codes
            .into_iter()
            .map(|code| (keccak256(&code), code))
            .collect(),
        ..Witness::default()
    };
    for address in accounts.iter().chain(owners.iter()) {
        let leaf = state.leaf(*address)?;
        if accounts.contains(address) {
            witness.accounts.insert(
                *address,
                match leaf {
                    Some(leaf) => PreAccount {
                        nonce: leaf.nonce,
                        balance: leaf.balance,
                        code_hash: if leaf.code_hash.is_zero() {
                            EMPTY_CODE_HASH
                        } else {
                            leaf.code_hash
                        },
                        exists: true,
                    },
                    None => PreAccount {
                        nonce: 0,
                        balance: U256::ZERO,
                        code_hash: EMPTY_CODE_HASH,
                        exists: false,
                    },
                },
            );
        }
    }
    for (owner, key) in owners.into_iter().zip(keys) {
        let value = state.pre_slot(owner, key)?;
        witness.slots.insert((owner, key), value);
    }
    Ok((witness, state))
}

impl ProvenState {
    fn leaf(&mut self, address: Address) -> Result<Option<TrieAccount>, StepModelError> {
        if let Some(leaf) = self.leaves.get(&address) {
            return Ok(*leaf);
        }
        let leaf = match self.mpt.get(self.root, keccak256(address).as_slice())? {
            None => None,
            Some(rlp) => Some(
                alloy_rlp::decode_exact::<TrieAccount>(&rlp)
                    .map_err(|_| StepModelError::InvalidAccount(address))?,
            ),
        };
        self.leaves.insert(address, leaf);
        Ok(leaf)
    }

    fn pre_slot(&mut self, owner: Address, key: U256) -> Result<U256, StepModelError> {
        let storage_root = self
            .leaf(owner)?
            .map_or(EMPTY_ROOT_HASH, |leaf| leaf.storage_root);
        match self
            .mpt
            .get(storage_root, keccak256(key.to_be_bytes::<32>()).as_slice())?
        {
            None => Ok(U256::ZERO),
            Some(rlp) => alloy_rlp::decode_exact::<U256>(&rlp)
                .map_err(|_| StepModelError::InvalidSlot(owner, key)),
        }
    }

    /// `EvmStepVerifier._apply` then `WorldState.stateRoot`: the post-state root.
    pub fn post_state_root(
        mut self,
        accounts: &[PostAccount],
        slots: &[PostSlot],
    ) -> Result<B256, StepModelError> {
        /// One written account: its current value and its pending slot writes (each with the
        /// value the storage trie it applies to has).
        struct Pending {
            address: Address,
            current: Option<(u64, U256, B256)>,
            cleared: bool,
            slots: BTreeMap<B256, (U256, U256)>,
        }
        let mut pending: BTreeMap<B256, Pending> = BTreeMap::new();
        for account in accounts {
            let entry = pending
                .entry(keccak256(account.address))
                .or_insert_with(|| Pending {
                    address: account.address,
                    current: None,
                    cleared: false,
                    slots: BTreeMap::new(),
                });
            if account.deleted || account.storage_cleared {
                entry.current = None;
                entry.cleared = true;
                entry.slots.clear();
                if account.deleted {
                    continue;
                }
            }
            entry.current = Some((account.nonce, account.balance, account.code_hash));
        }
        for slot in slots {
            let key = keccak256(slot.address);
            if !pending.contains_key(&key) {
                let leaf = self.leaf(slot.address)?;
                pending.insert(
                    key,
                    Pending {
                        address: slot.address,
                        current: leaf.map(|l| (l.nonce, l.balance, l.code_hash)),
                        cleared: false,
                        slots: BTreeMap::new(),
                    },
                );
            }
            let cleared = pending[&key].cleared;
            let original = if cleared {
                U256::ZERO
            } else {
                self.pre_slot(slot.address, slot.slot)?
            };
            if let Some(entry) = pending.get_mut(&key) {
                let slot_key = keccak256(slot.slot.to_be_bytes::<32>());
                let original = entry
                    .slots
                    .get(&slot_key)
                    .map_or(original, |(original, _)| *original);
                entry.slots.insert(slot_key, (original, slot.value));
            }
        }
        let mut root = self.root;
        for (key, entry) in pending {
            let original = self.leaf(entry.address)?;
            match entry.current {
                Some((nonce, balance, code_hash)) => {
                    let mut storage_root = match (entry.cleared, original) {
                        (false, Some(leaf)) => leaf.storage_root,
                        _ => EMPTY_ROOT_HASH,
                    };
                    for (slot_key, (before, value)) in entry.slots {
                        if before == value {
                            continue;
                        }
                        let encoded = if value.is_zero() {
                            Vec::new()
                        } else {
                            alloy_rlp::encode(value)
                        };
                        storage_root = self.mpt.put(storage_root, slot_key.as_slice(), &encoded)?;
                    }
                    let leaf = TrieAccount {
                        nonce,
                        balance,
                        storage_root,
                        code_hash,
                    };
                    if original != Some(leaf) {
                        root = self
                            .mpt
                            .put(root, key.as_slice(), &alloy_rlp::encode(leaf))?;
                    }
                }
                None => {
                    if original.is_some() {
                        root = self.mpt.put(root, key.as_slice(), &[])?;
                    }
                }
            }
        }
        Ok(root)
    }
}
