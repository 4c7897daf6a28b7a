//! Decoding of Merkle-Patricia nodes read back from storage.
//!
//! Stored nodes are untrusted bytes (a damaged database, a bad proof): every malformed shape is an
//! error, never a panic. Hash references are checked by the reader that fetched the node (the
//! fetched bytes must hash to the reference), so a decoded node is only ever trusted as far as
//! its hash.

use alloy_primitives::{keccak256, B256};
use alloy_rlp::Header;

/// Why a node could not be used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum NodeError {
    /// The node's RLP is not a valid leaf, extension or branch.
    #[error("malformed trie node {hash}: {reason}")]
    Malformed {
        /// Hash of the enclosing stored node.
        hash: B256,
        /// What is wrong with it.
        reason: &'static str,
    },
    /// A referenced node is not in the store.
    #[error("trie node {0} is missing from the store")]
    Missing(B256),
    /// The stored bytes do not hash to the key they are stored under.
    #[error("trie node {0} is corrupt: its bytes hash to {1}")]
    Corrupt(B256, B256),
}

/// How a node refers to a child: by hash (stored separately) or embedded (RLP shorter than 32
/// bytes, inside the parent).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ChildRef<'a> {
    /// Keccak of the child's RLP.
    Hash(B256),
    /// The child's own RLP.
    Inline(&'a [u8]),
}

/// A node's structure with borrowed contents.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DecodedNode<'a> {
    /// The end of a key: the remaining nibbles and the value.
    Leaf {
        /// Remaining key nibbles.
        path: Vec<u8>,
        /// The stored value.
        value: &'a [u8],
    },
    /// A shared run of nibbles.
    Extension {
        /// The shared nibbles.
        path: Vec<u8>,
        /// The node below them.
        child: ChildRef<'a>,
    },
    /// Sixteen children and an optional value for a key ending here.
    Branch {
        /// Children by nibble.
        children: [Option<ChildRef<'a>>; 16],
        /// Value of the key that ends at this branch.
        value: Option<&'a [u8]>,
    },
}

/// Checks that `bytes`, fetched for `hash`, really are that node.
pub fn verify_node_hash(hash: B256, bytes: &[u8]) -> Result<(), NodeError> {
    let actual = keccak256(bytes);
    if actual == hash {
        Ok(())
    } else {
        Err(NodeError::Corrupt(hash, actual))
    }
}

/// Splits one RLP item off the front of `input`: (is_list, payload, whole item, rest).
fn split_item(input: &[u8]) -> Option<(bool, &[u8], &[u8], &[u8])> {
    let mut cursor = input;
    let header = Header::decode(&mut cursor).ok()?;
    let header_len = input.len() - cursor.len();
    let total = header_len.checked_add(header.payload_length)?;
    if total > input.len() {
        return None;
    }
    Some((
        header.list,
        &input[header_len..total],
        &input[..total],
        &input[total..],
    ))
}

/// A branch or extension child item: empty, a hash, or an embedded node.
fn child_ref<'a>(
    hash: B256,
    (is_list, item, whole): (bool, &'a [u8], &'a [u8]),
) -> Result<Option<ChildRef<'a>>, NodeError> {
    let malformed = |reason| NodeError::Malformed { hash, reason };
    match (is_list, item.len()) {
        (true, _) if whole.len() < 32 => Ok(Some(ChildRef::Inline(whole))),
        (true, _) => Err(malformed("embedded node of 32 bytes or more")),
        (false, 0) => Ok(None),
        (false, 32) => Ok(Some(ChildRef::Hash(B256::from_slice(item)))),
        (false, _) => Err(malformed("child reference is neither a hash nor a node")),
    }
}

/// Decodes a node's RLP; `hash` names the stored node it came from, for errors.
pub fn decode_node(hash: B256, rlp: &[u8]) -> Result<DecodedNode<'_>, NodeError> {
    let malformed = |reason| NodeError::Malformed { hash, reason };
    let (is_list, mut payload, whole, rest) = split_item(rlp).ok_or(malformed("bad RLP"))?;
    if !is_list || !rest.is_empty() || whole.len() != rlp.len() {
        return Err(malformed("not a single RLP list"));
    }
    let mut items: Vec<(bool, &[u8], &[u8])> = Vec::with_capacity(17);
    while !payload.is_empty() {
        let (is_list, item, whole, rest) = split_item(payload).ok_or(malformed("bad RLP item"))?;
        items.push((is_list, item, whole));
        payload = rest;
    }
    let child = |item| child_ref(hash, item);
    match items.len() {
        2 => {
            let (is_list, encoded_path, _) = items[0];
            if is_list || encoded_path.is_empty() {
                return Err(malformed("bad hex-prefix path"));
            }
            let flag = encoded_path[0] >> 4;
            let mut path = Vec::with_capacity(encoded_path.len() * 2);
            match flag {
                0 | 2 if encoded_path[0] & 0x0f == 0 => {}
                1 | 3 => path.push(encoded_path[0] & 0x0f),
                _ => return Err(malformed("bad hex-prefix flag")),
            }
            for byte in &encoded_path[1..] {
                path.extend([byte >> 4, byte & 0x0f]);
            }
            if flag >= 2 {
                let (is_list, value, _) = items[1];
                if is_list {
                    return Err(malformed("leaf value is a list"));
                }
                Ok(DecodedNode::Leaf { path, value })
            } else {
                if path.is_empty() {
                    return Err(malformed("extension with an empty path"));
                }
                let child = child(items[1])?.ok_or(malformed("extension without a child"))?;
                Ok(DecodedNode::Extension { path, child })
            }
        }
        17 => {
            let mut children: [Option<ChildRef<'_>>; 16] = Default::default();
            for (slot, item) in children.iter_mut().zip(&items) {
                *slot = child(*item)?;
            }
            let (is_list, value, _) = items[16];
            if is_list {
                return Err(malformed("branch value is a list"));
            }
            Ok(DecodedNode::Branch {
                children,
                value: (!value.is_empty()).then_some(value),
            })
        }
        _ => Err(malformed("a node has 2 or 17 items")),
    }
}

/// What a lookup finds at one node.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Step<'a> {
    /// The key's value.
    Found(&'a [u8]),
    /// The key is not in the trie.
    Absent,
    /// Continue at `child` with the key's first `consumed` remaining nibbles matched.
    Descend {
        /// The next node.
        child: ChildRef<'a>,
        /// Nibbles of the key this node matched.
        consumed: usize,
    },
}

/// One step of looking up the nibbles `rest` at the node `rlp`.
pub fn lookup_step<'a>(hash: B256, rlp: &'a [u8], rest: &[u8]) -> Result<Step<'a>, NodeError> {
    Ok(match decode_node(hash, rlp)? {
        DecodedNode::Leaf { path, value } => {
            if path == rest {
                Step::Found(value)
            } else {
                Step::Absent
            }
        }
        DecodedNode::Extension { path, child } => {
            if rest.starts_with(&path) {
                Step::Descend {
                    child,
                    consumed: path.len(),
                }
            } else {
                Step::Absent
            }
        }
        DecodedNode::Branch { children, value } => match rest.first() {
            None => value.map_or(Step::Absent, Step::Found),
            Some(nibble) => match &children[usize::from(*nibble)] {
                Some(child) => Step::Descend {
                    child: child.clone(),
                    consumed: 1,
                },
                None => Step::Absent,
            },
        },
    })
}

/// Hashes of the stored nodes `rlp` references (directly or through embedded children).
pub fn child_hashes(hash: B256, rlp: &[u8], out: &mut Vec<B256>) -> Result<(), NodeError> {
    let mut visit = |child: &ChildRef<'_>| -> Result<(), NodeError> {
        match child {
            ChildRef::Hash(child) => out.push(*child),
            ChildRef::Inline(inline) => child_hashes(hash, inline, out)?,
        }
        Ok(())
    };
    match decode_node(hash, rlp)? {
        DecodedNode::Leaf { .. } => {}
        DecodedNode::Extension { child, .. } => visit(&child)?,
        DecodedNode::Branch { children, .. } => {
            for child in children.iter().flatten() {
                visit(child)?;
            }
        }
    }
    Ok(())
}

/// For a node of the account trie: the stored nodes it references, and the storage root of
/// the account if it is a leaf (so a full-state traversal can continue into storage tries).
pub fn account_node_refs(
    hash: B256,
    rlp: &[u8],
    children: &mut Vec<B256>,
    storage_roots: &mut Vec<B256>,
) -> Result<(), NodeError> {
    if let DecodedNode::Leaf { value, .. } = decode_node(hash, rlp)? {
        let account = alloy_rlp::decode_exact::<alloy_trie::TrieAccount>(value).map_err(|_| {
            NodeError::Malformed {
                hash,
                reason: "account leaf is not an RLP account",
            }
        })?;
        if account.storage_root != alloy_trie::EMPTY_ROOT_HASH {
            storage_roots.push(account.storage_root);
        }
        return Ok(());
    }
    child_hashes(hash, rlp, children)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        /// Arbitrary bytes never panic the decoder.
        #[test]
        fn decoding_arbitrary_bytes_never_panics(bytes in proptest::collection::vec(any::<u8>(), 0..200), rest in proptest::collection::vec(0u8..16, 0..70)) {
            let _ = decode_node(B256::ZERO, &bytes);
            let _ = lookup_step(B256::ZERO, &bytes, &rest);
            let _ = child_hashes(B256::ZERO, &bytes, &mut Vec::new());
        }
    }

    #[test]
    fn rejects_what_is_not_a_node() {
        for bad in [
            &[][..],
            &[0x80],
            &[0xc0],
            &[0xc2, 0x80, 0x80, 0x00],
            &[0xc3, 0x20, 0x80, 0x80],
        ] {
            assert!(decode_node(B256::ZERO, bad).is_err(), "{bad:?}");
        }
        assert!(matches!(
            verify_node_hash(B256::ZERO, &[0xc0]),
            Err(NodeError::Corrupt(..))
        ));
    }
}
