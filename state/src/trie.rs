//! An incremental Merkle-Patricia trie with proofs.
//!
//! Nodes are immutable and shared (`Arc`); an update copies only the nodes on the path to the
//! changed key and reuses every other subtree, together with its cached encoding, so a block's
//! updates re-hash only the touched paths. A clone of the trie is a cheap snapshot (the state at
//! an earlier block). Proofs are the hashed nodes on a key's path, in the `eth_getProof` format,
//! and verify with alloy-trie's independent verifier.
//!
//! Keys are raw bytes; the secure (hashed-key) tries of Ethereum state hash them first.

use std::sync::{
    atomic::{AtomicBool, Ordering},
    Arc, OnceLock,
};

use alloy_primitives::{keccak256, Bytes, B256};
use alloy_trie::EMPTY_ROOT_HASH;

use crate::node::{decode_node, ChildRef, DecodedNode, NodeError};
use rayon::prelude::*;

use crate::roots::{hex_prefix, rlp_bytes, rlp_list, to_nibbles};

/// A Merkle-Patricia trie over byte-string keys and values.
#[derive(Clone, Debug, Default)]
pub struct Trie {
    root: Option<Arc<Node>>,
}

#[derive(Debug)]
struct Node {
    kind: Kind,
    /// RLP encoding, computed on first use and kept while the node is shared.
    encoded: OnceLock<Vec<u8>>,
    /// Keccak of `encoded`, for nodes referenced by hash (encoding of 32 bytes or more).
    hash: OnceLock<B256>,
    /// Written to the store (with its whole subtree, which is always written first).
    persisted: AtomicBool,
}

#[derive(Debug)]
enum Kind {
    Leaf {
        path: Vec<u8>,
        value: Vec<u8>,
    },
    Extension {
        path: Vec<u8>,
        child: Arc<Node>,
    },
    Branch {
        children: Box<[Option<Arc<Node>>; 16]>,
        value: Option<Vec<u8>>,
    },
}

fn node(kind: Kind) -> Arc<Node> {
    Arc::new(Node {
        kind,
        encoded: OnceLock::new(),
        hash: OnceLock::new(),
        persisted: AtomicBool::new(false),
    })
}

/// A node read back from the store: its encoding is known and it needs no writing.
fn stored(kind: Kind, rlp: &[u8]) -> Arc<Node> {
    Arc::new(Node {
        kind,
        encoded: OnceLock::from(rlp.to_vec()),
        hash: OnceLock::new(),
        persisted: AtomicBool::new(true),
    })
}

/// Rebuilds the node `rlp` (stored under `hash`) and everything below it from `fetch`.
fn load(
    hash: B256,
    rlp: &[u8],
    fetch: &impl Fn(&B256) -> Option<Arc<[u8]>>,
) -> Result<Arc<Node>, NodeError> {
    let child = |reference: &ChildRef<'_>| -> Result<Arc<Node>, NodeError> {
        match reference {
            ChildRef::Hash(child) => {
                let bytes = fetch(child).ok_or(NodeError::Missing(*child))?;
                load(*child, &bytes, fetch)
            }
            ChildRef::Inline(inline) => load(hash, inline, fetch),
        }
    };
    let kind = match decode_node(hash, rlp)? {
        DecodedNode::Leaf { path, value } => Kind::Leaf {
            path,
            value: value.to_vec(),
        },
        DecodedNode::Extension { path, child: next } => Kind::Extension {
            path,
            child: child(&next)?,
        },
        DecodedNode::Branch { children, value } => {
            let mut loaded: Box<[Option<Arc<Node>>; 16]> = Box::default();
            for (slot, reference) in loaded.iter_mut().zip(&children) {
                if let Some(reference) = reference {
                    *slot = Some(child(reference)?);
                }
            }
            Kind::Branch {
                children: loaded,
                value: value.map(<[u8]>::to_vec),
            }
        }
    };
    Ok(stored(kind, rlp))
}

/// Children of a node, for traversals.
fn children(node: &Node) -> impl Iterator<Item = &Arc<Node>> {
    let (one, many) = match &node.kind {
        Kind::Leaf { .. } => (None, None),
        Kind::Extension { child, .. } => (Some(child), None),
        Kind::Branch { children, .. } => (None, Some(children.iter().flatten())),
    };
    one.into_iter().chain(many.into_iter().flatten())
}

fn leaf(path: &[u8], value: Vec<u8>) -> Arc<Node> {
    node(Kind::Leaf {
        path: path.to_vec(),
        value,
    })
}

fn common_prefix(a: &[u8], b: &[u8]) -> usize {
    a.iter().zip(b).take_while(|(x, y)| x == y).count()
}

/// `prefix` followed by `child`, merging paths so no extension ever points at a leaf or another
/// extension (the canonical form every client hashes the same way).
fn join(prefix: &[u8], child: Arc<Node>) -> Arc<Node> {
    if prefix.is_empty() {
        return child;
    }
    let joined = |path: &[u8]| [prefix, path].concat();
    match &child.kind {
        Kind::Leaf { path, value } => leaf(&joined(path), value.clone()),
        Kind::Extension { path, child } => node(Kind::Extension {
            path: joined(path),
            child: child.clone(),
        }),
        Kind::Branch { .. } => node(Kind::Extension {
            path: prefix.to_vec(),
            child,
        }),
    }
}

/// A branch from its parts, collapsed when fewer than two entries remain.
fn branch(children: Box<[Option<Arc<Node>>; 16]>, value: Option<Vec<u8>>) -> Option<Arc<Node>> {
    let occupied: Vec<usize> = (0..16).filter(|&i| children[i].is_some()).collect();
    match (occupied.as_slice(), value) {
        ([], None) => None,
        ([], Some(value)) => Some(leaf(&[], value)),
        ([only], None) => children[*only]
            .clone()
            .map(|child| join(&[*only as u8], child)),
        (_, value) => Some(node(Kind::Branch { children, value })),
    }
}

fn insert(current: Option<&Arc<Node>>, path: &[u8], value: Vec<u8>) -> Arc<Node> {
    let Some(current) = current else {
        return leaf(path, value);
    };
    match &current.kind {
        Kind::Leaf {
            path: existing,
            value: old,
        } => {
            if existing.as_slice() == path {
                return leaf(path, value);
            }
            let common = common_prefix(existing, path);
            let mut children: Box<[Option<Arc<Node>>; 16]> = Box::default();
            let mut branch_value = None;
            for (key, value) in [(existing.as_slice(), old.clone()), (path, value)] {
                match key.get(common) {
                    None => branch_value = Some(value),
                    Some(nibble) => {
                        children[*nibble as usize] = Some(leaf(&key[common + 1..], value))
                    }
                }
            }
            join(
                &path[..common],
                node(Kind::Branch {
                    children,
                    value: branch_value,
                }),
            )
        }
        Kind::Extension {
            path: prefix,
            child,
        } => {
            let common = common_prefix(prefix, path);
            if common == prefix.len() {
                return join(prefix, insert(Some(child), &path[common..], value));
            }
            // Split the extension where the paths diverge.
            let mut children: Box<[Option<Arc<Node>>; 16]> = Box::default();
            children[prefix[common] as usize] = Some(join(&prefix[common + 1..], child.clone()));
            let mut branch_value = None;
            match path.get(common) {
                None => branch_value = Some(value),
                Some(nibble) => children[*nibble as usize] = Some(leaf(&path[common + 1..], value)),
            }
            join(
                &path[..common],
                node(Kind::Branch {
                    children,
                    value: branch_value,
                }),
            )
        }
        Kind::Branch {
            children,
            value: branch_value,
        } => {
            let mut children = children.clone();
            let mut branch_value = branch_value.clone();
            match path.split_first() {
                None => branch_value = Some(value),
                Some((nibble, rest)) => {
                    let slot = &mut children[*nibble as usize];
                    *slot = Some(insert(slot.as_ref(), rest, value));
                }
            }
            node(Kind::Branch {
                children,
                value: branch_value,
            })
        }
    }
}

/// The node after removing `path` below it: `None` if the key was absent (nothing changes),
/// `Some(None)` if the node disappears.
fn remove(current: &Arc<Node>, path: &[u8]) -> Option<Option<Arc<Node>>> {
    match &current.kind {
        Kind::Leaf { path: existing, .. } => (existing.as_slice() == path).then_some(None),
        Kind::Extension {
            path: prefix,
            child,
        } => {
            let rest = path.strip_prefix(prefix.as_slice())?;
            let updated = remove(child, rest)?;
            Some(updated.map(|child| join(prefix, child)))
        }
        Kind::Branch { children, value } => match path.split_first() {
            None => {
                value.as_ref()?;
                Some(branch(children.clone(), None))
            }
            Some((nibble, rest)) => {
                let updated = remove(children[*nibble as usize].as_ref()?, rest)?;
                let mut children = children.clone();
                children[*nibble as usize] = updated;
                Some(branch(children, value.clone()))
            }
        },
    }
}

impl Node {
    /// Keccak of the encoding (cached).
    fn hash(&self) -> B256 {
        *self.hash.get_or_init(|| keccak256(self.encoded()))
    }

    /// How a parent embeds this node: its RLP if shorter than 32 bytes, else its hash.
    fn reference(&self) -> Vec<u8> {
        let encoded = self.encoded();
        if encoded.len() < 32 {
            encoded.to_vec()
        } else {
            rlp_bytes(self.hash().as_slice())
        }
    }

    /// Computes encodings of the top `levels` of changed subtrees in parallel, so hashing a
    /// block's changes uses every core (the rest recurses inside each task).
    fn encode_parallel(&self, levels: usize) {
        if self.encoded.get().is_some() {
            return;
        }
        if levels > 0 {
            let pending: Vec<&Arc<Node>> = children(self)
                .filter(|child| child.encoded.get().is_none())
                .collect();
            if pending.len() > 1 {
                pending
                    .par_iter()
                    .for_each(|child| child.encode_parallel(levels - 1));
            }
        }
        let _ = self.encoded();
    }

    fn encoded(&self) -> &[u8] {
        self.encoded.get_or_init(|| match &self.kind {
            Kind::Leaf { path, value } => {
                rlp_list(&[rlp_bytes(&hex_prefix(path, true)), rlp_bytes(value)])
            }
            Kind::Extension { path, child } => {
                rlp_list(&[rlp_bytes(&hex_prefix(path, false)), child.reference()])
            }
            Kind::Branch { children, value } => {
                let mut items: Vec<Vec<u8>> = children
                    .iter()
                    .map(|child| match child {
                        Some(child) => child.reference(),
                        None => rlp_bytes(&[]),
                    })
                    .collect();
                items.push(rlp_bytes(value.as_deref().unwrap_or_default()));
                rlp_list(&items)
            }
        })
    }
}

impl Trie {
    /// An empty trie.
    pub fn new() -> Self {
        Self::default()
    }

    /// Sets `key` to `value`; an empty value removes the key (as in Ethereum's tries).
    pub fn insert(&mut self, key: &[u8], value: Vec<u8>) {
        if value.is_empty() {
            self.remove(key);
            return;
        }
        self.root = Some(insert(self.root.as_ref(), &to_nibbles(key), value));
    }

    /// Removes `key`; returns whether it was present.
    pub fn remove(&mut self, key: &[u8]) -> bool {
        let Some(root) = &self.root else { return false };
        match remove(root, &to_nibbles(key)) {
            Some(updated) => {
                self.root = updated;
                true
            }
            None => false,
        }
    }

    /// The value stored under `key`.
    pub fn get(&self, key: &[u8]) -> Option<&[u8]> {
        let path = to_nibbles(key);
        let mut rest = path.as_slice();
        let mut current = self.root.as_ref()?;
        loop {
            match &current.kind {
                Kind::Leaf { path, value } => {
                    return (path.as_slice() == rest).then_some(value.as_slice())
                }
                Kind::Extension { path, child } => {
                    rest = rest.strip_prefix(path.as_slice())?;
                    current = child;
                }
                Kind::Branch { children, value } => match rest.split_first() {
                    None => return value.as_deref(),
                    Some((nibble, tail)) => {
                        current = children[*nibble as usize].as_ref()?;
                        rest = tail;
                    }
                },
            }
        }
    }

    /// The root hash. Only nodes changed since the last call are hashed again.
    pub fn root(&self) -> B256 {
        self.root.as_ref().map_or(EMPTY_ROOT_HASH, |root| {
            root.encode_parallel(2);
            root.hash()
        })
    }

    /// Calls `visit` with every key (as nibbles) and value, in key order.
    pub fn for_each_leaf(&self, mut visit: impl FnMut(&[u8], &[u8])) {
        fn walk(node: &Node, prefix: &mut Vec<u8>, visit: &mut impl FnMut(&[u8], &[u8])) {
            let depth = prefix.len();
            match &node.kind {
                Kind::Leaf { path, value } => {
                    prefix.extend_from_slice(path);
                    visit(prefix, value);
                }
                Kind::Extension { path, child } => {
                    prefix.extend_from_slice(path);
                    walk(child, prefix, visit);
                }
                Kind::Branch { children, value } => {
                    if let Some(value) = value {
                        visit(prefix, value);
                    }
                    for (nibble, child) in children.iter().enumerate() {
                        if let Some(child) = child {
                            prefix.push(nibble as u8);
                            walk(child, prefix, visit);
                            prefix.truncate(depth);
                        }
                    }
                }
            }
            prefix.truncate(depth);
        }
        if let Some(root) = &self.root {
            walk(root, &mut Vec::with_capacity(64), &mut visit);
        }
    }

    /// Rebuilds the trie with root hash `root` from stored nodes (`fetch` returns a node's RLP
    /// by hash, already checked against the hash). Missing or malformed nodes are errors.
    pub fn load(
        root: B256,
        fetch: &impl Fn(&B256) -> Option<Arc<[u8]>>,
    ) -> Result<Self, NodeError> {
        if root == EMPTY_ROOT_HASH {
            return Ok(Self::new());
        }
        let bytes = fetch(&root).ok_or(NodeError::Missing(root))?;
        Ok(Self {
            root: Some(load(root, &bytes, fetch)?),
        })
    }

    /// Nodes not yet written to the store, as `(keccak, RLP)`: those referenced by hash (RLP of
    /// 32 bytes or more) and the root. After a block touched k keys this is O(k · depth).
    pub fn unpersisted_nodes(&self, out: &mut Vec<(B256, Vec<u8>)>) {
        fn visit(node: &Node, is_root: bool, out: &mut Vec<(B256, Vec<u8>)>) {
            if node.persisted.load(Ordering::Acquire) {
                return;
            }
            let encoded = node.encoded();
            if is_root || encoded.len() >= 32 {
                out.push((node.hash(), encoded.to_vec()));
            }
            for child in children(node) {
                visit(child, false, out);
            }
        }
        if let Some(root) = &self.root {
            visit(root, true, out);
        }
    }

    /// Every node referenced by hash (RLP of 32 bytes or more) and the root, as `(keccak,
    /// RLP)`, persisted or not: a complete node source for proofs over this trie (the
    /// challenger's one-step witnesses). O(size of the trie).
    pub fn all_nodes(&self, out: &mut Vec<(B256, Vec<u8>)>) {
        fn visit(node: &Node, is_root: bool, out: &mut Vec<(B256, Vec<u8>)>) {
            let encoded = node.encoded();
            if is_root || encoded.len() >= 32 {
                out.push((node.hash(), encoded.to_vec()));
            }
            for child in children(node) {
                visit(child, false, out);
            }
        }
        if let Some(root) = &self.root {
            visit(root, true, out);
        }
    }

    /// Records that [`Trie::unpersisted_nodes`] were committed, so the next call skips them.
    pub fn mark_persisted(&self) {
        fn visit(node: &Node) {
            if node.persisted.swap(true, Ordering::AcqRel) {
                return;
            }
            for child in children(node) {
                visit(child);
            }
        }
        if let Some(root) = &self.root {
            visit(root);
        }
    }

    /// Proof of `key`'s value or absence: the RLP of the root and of every node on the key's
    /// path that its parent references by hash (embedded nodes are inside their parent).
    pub fn proof(&self, key: &[u8]) -> Vec<Bytes> {
        let path = to_nibbles(key);
        let mut rest = path.as_slice();
        let mut proof = Vec::new();
        let mut next = self.root.as_ref();
        let mut is_root = true;
        while let Some(current) = next {
            let encoded = current.encoded();
            if is_root || encoded.len() >= 32 {
                proof.push(Bytes::copy_from_slice(encoded));
            }
            is_root = false;
            next = match &current.kind {
                Kind::Leaf { .. } => None,
                Kind::Extension { path, child } => rest.strip_prefix(path.as_slice()).map(|tail| {
                    rest = tail;
                    child
                }),
                Kind::Branch { children, .. } => rest.split_first().and_then(|(nibble, tail)| {
                    rest = tail;
                    children[*nibble as usize].as_ref()
                }),
            };
        }
        proof
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::roots::{storage_root, trie_root};
    use alloy_primitives::U256;
    use alloy_trie::{proof::verify_proof, Nibbles};
    use proptest::prelude::*;
    use std::collections::BTreeMap;

    /// Random keys from a small alphabet so that keys share prefixes, prefix each other and
    /// collide often (the hard cases for splits and collapses).
    fn key_strategy() -> impl Strategy<Value = Vec<u8>> {
        proptest::collection::vec(
            prop_oneof![Just(0x00u8), Just(0x01), Just(0x10), Just(0x11), Just(0xff)],
            0..5,
        )
    }

    proptest! {
        /// Any sequence of inserts, updates and removals gives the root of the independent
        /// recursive implementation over the final contents, and `get` agrees with a map.
        #[test]
        fn matches_reference_after_random_updates(
            ops in proptest::collection::vec((key_strategy(), proptest::option::of(proptest::collection::vec(any::<u8>(), 1..40))), 1..80)
        ) {
            let mut trie = Trie::new();
            let mut model = BTreeMap::new();
            for (key, value) in ops {
                match value {
                    Some(value) => {
                        trie.insert(&key, value.clone());
                        model.insert(key.clone(), value);
                    }
                    None => {
                        prop_assert_eq!(trie.remove(&key), model.remove(&key).is_some());
                    }
                }
                prop_assert_eq!(trie.root(), trie_root(model.iter().map(|(k, v)| (k.clone(), v.clone()))));
            }
            for (key, value) in &model {
                prop_assert_eq!(trie.get(key), Some(value.as_slice()));
            }
        }

        /// Storage tries (hashed 32-byte keys, RLP values) equal alloy-trie's HashBuilder root,
        /// and every proof (present and absent keys) passes alloy-trie's verifier.
        #[test]
        fn storage_trie_roots_and_proofs_match_alloy(
            slots in proptest::collection::btree_map(any::<u64>(), 1u64.., 1..64),
            absent in any::<u64>(),
        ) {
            let mut trie = Trie::new();
            let slots: Vec<(U256, U256)> = slots.into_iter().map(|(k, v)| (U256::from(k), U256::from(v))).collect();
            for (slot, value) in &slots {
                trie.insert(keccak256(slot.to_be_bytes::<32>()).as_slice(), alloy_rlp::encode(value));
            }
            prop_assert_eq!(trie.root(), storage_root(slots.iter().map(|(k, v)| (k, v))));
            let root = trie.root();
            for (slot, value) in &slots {
                let key = keccak256(slot.to_be_bytes::<32>());
                let proof = trie.proof(key.as_slice());
                prop_assert!(verify_proof(root, Nibbles::unpack(key), Some(alloy_rlp::encode(value)), &proof).is_ok());
            }
            if !slots.iter().any(|(slot, _)| *slot == U256::from(absent)) {
                let key = keccak256(U256::from(absent).to_be_bytes::<32>());
                let proof = trie.proof(key.as_slice());
                prop_assert!(verify_proof(root, Nibbles::unpack(key), None, &proof).is_ok());
                // A forged value for the absent key must not verify.
                prop_assert!(verify_proof(root, Nibbles::unpack(key), Some(vec![1]), &proof).is_err());
            }
        }
    }

    #[test]
    fn updates_share_untouched_subtrees() {
        let mut trie = Trie::new();
        for i in 0..=255u8 {
            trie.insert(keccak256([i]).as_slice(), vec![i, 1]);
        }
        let before = trie.clone();
        let _ = before.root();
        trie.insert(keccak256([7u8]).as_slice(), vec![0xaa]);
        let (Some(old), Some(new)) = (&before.root, &trie.root) else {
            panic!("non-empty")
        };
        let (Kind::Branch { children: old, .. }, Kind::Branch { children: new, .. }) =
            (&old.kind, &new.kind)
        else {
            panic!("256 hashed keys make a branch root")
        };
        let changed = keccak256([7u8])[0] >> 4;
        for nibble in 0..16 {
            let shared = match (&old[nibble], &new[nibble]) {
                (Some(a), Some(b)) => Arc::ptr_eq(a, b),
                _ => false,
            };
            // Only the subtree holding the changed key was copied; the rest (and their cached
            // hashes) are the very same nodes.
            assert_eq!(shared, nibble != changed as usize, "nibble {nibble}");
        }
        // The snapshot still answers with the old value.
        assert_eq!(before.get(keccak256([7u8]).as_slice()), Some(&[7u8, 1][..]));
        assert_ne!(before.root(), trie.root());
    }
}
