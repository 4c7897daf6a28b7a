//! Ethereum commitments: state, storage, receipts roots and the logs bloom.
//!
//! Account and storage roots use alloy-trie's `HashBuilder` (fixed-length hashed keys, streamed in
//! order). [`trie_root`] is an independent, straightforward Merkle-Patricia implementation for
//! arbitrary keys (keys may prefix each other, as in the TrieTests vectors); property tests check
//! the two agree, so each is a reference for the other.

use alloy_primitives::{keccak256, Bloom, Log, B256, U256};
use alloy_rlp::{Encodable, Header, EMPTY_STRING_CODE};
use alloy_trie::{HashBuilder, Nibbles, TrieAccount, EMPTY_ROOT_HASH};
use parallax_executor::{AccountBasic, TxReceipt};

/// Root of an account's storage trie from its non-zero slots (in any order).
pub fn storage_root<'a>(slots: impl IntoIterator<Item = (&'a U256, &'a U256)>) -> B256 {
    let mut leaves: Vec<(B256, U256)> = slots
        .into_iter()
        .filter(|(_, value)| !value.is_zero())
        .map(|(slot, value)| (keccak256(slot.to_be_bytes::<32>()), *value))
        .collect();
    if leaves.is_empty() {
        return EMPTY_ROOT_HASH;
    }
    leaves.sort_unstable_by_key(|(key, _)| *key);
    let mut builder = HashBuilder::default();
    for (key, value) in leaves {
        builder.add_leaf(Nibbles::unpack(key), &alloy_rlp::encode_fixed_size(&value));
    }
    builder.root()
}

/// Root of the account trie from `(address, account, storage root)` triples (in any order).
pub fn state_root(
    accounts: impl IntoIterator<Item = (alloy_primitives::Address, AccountBasic, B256)>,
) -> B256 {
    let mut leaves: Vec<(B256, TrieAccount)> = accounts
        .into_iter()
        .map(|(address, info, storage_root)| {
            let account = TrieAccount {
                nonce: info.nonce,
                balance: info.balance,
                storage_root,
                code_hash: info.code_hash,
                ..Default::default()
            };
            (keccak256(address), account)
        })
        .collect();
    if leaves.is_empty() {
        return EMPTY_ROOT_HASH;
    }
    leaves.sort_unstable_by_key(|(key, _)| *key);
    let mut builder = HashBuilder::default();
    let mut encoded = Vec::with_capacity(128);
    for (key, account) in leaves {
        encoded.clear();
        account.encode(&mut encoded);
        builder.add_leaf(Nibbles::unpack(key), &encoded);
    }
    builder.root()
}

/// Bloom filter of a set of logs.
pub fn logs_bloom_of<'a>(logs: impl IntoIterator<Item = &'a Log>) -> Bloom {
    let mut bloom = Bloom::ZERO;
    for log in logs {
        bloom.accrue_log(log);
    }
    bloom
}

/// Bloom filter of a block: the union of its receipts' blooms.
pub fn logs_bloom(receipts: &[TxReceipt]) -> Bloom {
    logs_bloom_of(receipts.iter().flat_map(|receipt| receipt.logs.iter()))
}

/// EIP-2718 encoding of a receipt as committed to by the receipts root (Byzantium and later):
/// `rlp([status, cumulative_gas, bloom, logs])`, prefixed by the type byte for typed transactions.
pub fn encode_receipt(receipt: &TxReceipt, out: &mut Vec<u8>) {
    let status = u8::from(receipt.status.is_success());
    let bloom = logs_bloom_of(receipt.logs.iter());
    let logs_length = alloy_rlp::list_length(&receipt.logs);
    let payload_length =
        status.length() + receipt.cumulative_gas_used.length() + bloom.length() + logs_length;
    if receipt.tx_type != 0 {
        out.push(receipt.tx_type);
    }
    Header {
        list: true,
        payload_length,
    }
    .encode(out);
    status.encode(out);
    receipt.cumulative_gas_used.encode(out);
    bloom.encode(out);
    alloy_rlp::encode_list(&receipt.logs, out);
}

/// Receipts root of a block (Byzantium and later receipts).
pub fn receipts_root(receipts: &[TxReceipt]) -> B256 {
    ordered_root(receipts.len(), |index, out| {
        encode_receipt(&receipts[index], out)
    })
}

/// Root of a trie keyed by `rlp(index)`, the layout of transactions, receipts and withdrawals
/// roots. `encode(i, out)` appends item `i`'s encoding.
pub fn ordered_root(len: usize, mut encode: impl FnMut(usize, &mut Vec<u8>)) -> B256 {
    if len == 0 {
        return EMPTY_ROOT_HASH;
    }
    let mut keyed: Vec<(Vec<u8>, usize)> = (0..len).map(|i| (alloy_rlp::encode(i), i)).collect();
    keyed.sort_unstable();
    let mut builder = HashBuilder::default();
    let mut value = Vec::new();
    for (key, index) in keyed {
        value.clear();
        encode(index, &mut value);
        builder.add_leaf(Nibbles::unpack(&key), &value);
    }
    builder.root()
}

/// Merkle-Patricia root of arbitrary `(key, value)` pairs: later pairs overwrite earlier ones
/// with the same key and an empty value deletes the key (the TrieTests convention).
pub fn trie_root(pairs: impl IntoIterator<Item = (Vec<u8>, Vec<u8>)>) -> B256 {
    let mut map = std::collections::BTreeMap::new();
    for (key, value) in pairs {
        if value.is_empty() {
            map.remove(&key);
        } else {
            map.insert(key, value);
        }
    }
    let leaves: Vec<(Vec<u8>, &[u8])> = map
        .iter()
        .map(|(key, value)| (to_nibbles(key), value.as_slice()))
        .collect();
    if leaves.is_empty() {
        return EMPTY_ROOT_HASH;
    }
    keccak256(encode_node(&leaves, 0))
}

/// [`trie_root`] with every key replaced by its keccak256 (the "secure" trie of Ethereum state).
pub fn secure_trie_root(pairs: impl IntoIterator<Item = (Vec<u8>, Vec<u8>)>) -> B256 {
    trie_root(
        pairs
            .into_iter()
            .map(|(key, value)| (keccak256(key).to_vec(), value)),
    )
}

pub(crate) fn to_nibbles(bytes: &[u8]) -> Vec<u8> {
    bytes
        .iter()
        .flat_map(|byte| [byte >> 4, byte & 0x0f])
        .collect()
}

/// Hex-prefix encoding of a nibble path (Yellow Paper appendix C).
pub(crate) fn hex_prefix(nibbles: &[u8], leaf: bool) -> Vec<u8> {
    let flag = if leaf { 2 } else { 0 };
    let mut out = Vec::with_capacity(nibbles.len() / 2 + 1);
    let rest = if nibbles.len() % 2 == 1 {
        out.push(((flag + 1) << 4) | nibbles[0]);
        &nibbles[1..]
    } else {
        out.push(flag << 4);
        nibbles
    };
    out.extend(rest.chunks(2).map(|pair| (pair[0] << 4) | pair[1]));
    out
}

/// RLP of the node holding `leaves` (sorted, unique, all sharing the first `depth` nibbles).
fn encode_node(leaves: &[(Vec<u8>, &[u8])], depth: usize) -> Vec<u8> {
    if let [(key, value)] = leaves {
        return rlp_list(&[
            rlp_bytes(&hex_prefix(&key[depth..], true)),
            rlp_bytes(value),
        ]);
    }
    let first = &leaves[0].0;
    let last = &leaves[leaves.len() - 1].0;
    let common = first[depth..]
        .iter()
        .zip(&last[depth..])
        .take_while(|(a, b)| a == b)
        .count();
    if common > 0 {
        let child = encode_node(leaves, depth + common);
        return rlp_list(&[
            rlp_bytes(&hex_prefix(&first[depth..depth + common], false)),
            node_ref(child),
        ]);
    }
    let mut items = Vec::with_capacity(17);
    let mut value: &[u8] = &[];
    let mut rest = leaves;
    if let Some(((key, terminal), tail)) = rest.split_first() {
        if key.len() == depth {
            value = terminal;
            rest = tail;
        }
    }
    for nibble in 0..16u8 {
        let end = rest
            .iter()
            .position(|(key, _)| key[depth] != nibble)
            .unwrap_or(rest.len());
        let (group, tail) = rest.split_at(end);
        items.push(if group.is_empty() {
            vec![EMPTY_STRING_CODE]
        } else {
            node_ref(encode_node(group, depth + 1))
        });
        rest = tail;
    }
    items.push(rlp_bytes(value));
    rlp_list(&items)
}

/// A child reference: nodes shorter than 32 bytes are embedded, others hashed.
pub(crate) fn node_ref(node: Vec<u8>) -> Vec<u8> {
    if node.len() < 32 {
        node
    } else {
        rlp_bytes(keccak256(&node).as_slice())
    }
}

pub(crate) fn rlp_bytes(bytes: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(bytes.len() + 3);
    bytes.encode(&mut out);
    out
}

pub(crate) fn rlp_list(items: &[Vec<u8>]) -> Vec<u8> {
    let payload_length = items.iter().map(Vec::len).sum();
    let mut out = Vec::with_capacity(payload_length + 4);
    Header {
        list: true,
        payload_length,
    }
    .encode(&mut out);
    for item in items {
        out.extend_from_slice(item);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloy_primitives::Address;
    use proptest::prelude::*;

    proptest! {
        /// The generic trie and alloy-trie's HashBuilder agree on storage tries.
        #[test]
        fn generic_trie_matches_hash_builder(slots in proptest::collection::btree_map(any::<[u8; 32]>(), 1u64.., 0..64)) {
            let slots: Vec<(U256, U256)> = slots.into_iter().map(|(k, v)| (U256::from_be_bytes(k), U256::from(v))).collect();
            let expected = storage_root(slots.iter().map(|(k, v)| (k, v)));
            let generic = secure_trie_root(slots.iter().map(|(k, v)| (k.to_be_bytes::<32>().to_vec(), alloy_rlp::encode(v))));
            prop_assert_eq!(generic, expected);
        }

        /// Accounts: HashBuilder-based state root against the generic trie over RLP accounts.
        #[test]
        fn state_root_matches_generic_trie(accounts in proptest::collection::btree_map(any::<[u8; 20]>(), (any::<u64>(), any::<u64>()), 0..32)) {
            let accounts: Vec<(Address, AccountBasic)> = accounts.into_iter().map(|(a, (balance, nonce))| {
                (Address::from(a), AccountBasic { balance: U256::from(balance), nonce, code_hash: alloy_trie::KECCAK_EMPTY })
            }).collect();
            let expected = state_root(accounts.iter().map(|(a, info)| (*a, *info, EMPTY_ROOT_HASH)));
            let generic = secure_trie_root(accounts.iter().map(|(a, info)| {
                let account = TrieAccount { nonce: info.nonce, balance: info.balance, storage_root: EMPTY_ROOT_HASH, code_hash: info.code_hash, ..Default::default() };
                (a.to_vec(), alloy_rlp::encode(account))
            }));
            prop_assert_eq!(generic, expected);
        }
    }

    #[test]
    fn known_roots() {
        assert_eq!(trie_root(Vec::new()), EMPTY_ROOT_HASH);
        // From the Ethereum wiki's Patricia tree example (also in TrieTests "branchingTests").
        let root = trie_root([
            (b"do".to_vec(), b"verb".to_vec()),
            (b"dog".to_vec(), b"puppy".to_vec()),
            (b"doge".to_vec(), b"coin".to_vec()),
            (b"horse".to_vec(), b"stallion".to_vec()),
        ]);
        assert_eq!(
            root,
            "0x5991bb8c6514148a29db676a14ac506cd2cd5775ace63c30a4fe457715e9ac84"
                .parse::<B256>()
                .unwrap()
        );
    }
}
