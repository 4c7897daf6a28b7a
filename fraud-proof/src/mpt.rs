//! The Rust twin of the Solidity `MptDb` (contracts/src/verifier/MptDb.sol): the same
//! Merkle-Patricia get / put / delete over hash-keyed nodes, step for step, so that the nodes it
//! reads from its [`NodeSource`] are exactly the witness the L1 step verifier needs.
//!
//! "Step for step" matters for deletes: a branch left with one child collapses, and the
//! collapse must read that child's node. Which nodes that is depends on the order of
//! operations and on shortcuts (an unchanged child leaves its parent untouched), so this module
//! takes the same shortcuts in the same places as the Solidity code.
//!
//! Nodes created by [`Mpt::put`] live in an overlay (like the Solidity store, which adds them
//! to its table); only nodes fetched from the source are recorded.

use std::collections::{HashMap, HashSet};

use alloy_primitives::{keccak256, Bytes, B256};
use alloy_rlp::Encodable;
use alloy_trie::EMPTY_ROOT_HASH;
use parallax_state::node::{decode_node, ChildRef, DecodedNode, NodeError};

/// Trie nodes by hash: the pre-state the twin reads from.
pub trait NodeSource {
    /// The RLP of the node with keccak `hash`, if the source has it. Implementations return
    /// what they hold; the twin checks the bytes against the hash itself.
    fn node(&self, hash: &B256) -> Option<Bytes>;
}

/// An in-memory node source (e.g. nodes collected from a `parallax_state::Trie`).
#[derive(Clone, Debug, Default)]
pub struct MemoryNodes {
    nodes: HashMap<B256, Bytes>,
}

impl MemoryNodes {
    /// An empty source.
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds a node under its own hash and returns the hash.
    pub fn insert(&mut self, node: impl Into<Bytes>) -> B256 {
        let node = node.into();
        let hash = keccak256(&node);
        self.nodes.insert(hash, node);
        hash
    }

    /// Removes a node (to build incomplete witnesses in tests).
    pub fn remove(&mut self, hash: &B256) -> Option<Bytes> {
        self.nodes.remove(hash)
    }

    /// Number of nodes held.
    pub fn len(&self) -> usize {
        self.nodes.len()
    }

    /// Whether no node is held.
    pub fn is_empty(&self) -> bool {
        self.nodes.is_empty()
    }
}

impl<N: Into<Bytes>> FromIterator<N> for MemoryNodes {
    fn from_iter<I: IntoIterator<Item = N>>(iter: I) -> Self {
        let mut nodes = Self::new();
        for node in iter {
            nodes.insert(node);
        }
        nodes
    }
}

impl NodeSource for MemoryNodes {
    fn node(&self, hash: &B256) -> Option<Bytes> {
        self.nodes.get(hash).cloned()
    }
}

/// A node source over a lookup function, e.g. the persisted node store's fetch (the same shape
/// `parallax_state::WorldState::load` takes).
pub struct FnSource<F>(pub F);

impl<F: Fn(&B256) -> Option<Bytes>> NodeSource for FnSource<F> {
    fn node(&self, hash: &B256) -> Option<Bytes> {
        (self.0)(hash)
    }
}

impl<S: NodeSource + ?Sized> NodeSource for &S {
    fn node(&self, hash: &B256) -> Option<Bytes> {
        (**self).node(hash)
    }
}

impl<S: NodeSource + ?Sized> NodeSource for std::sync::Arc<S> {
    fn node(&self, hash: &B256) -> Option<Bytes> {
        (**self).node(hash)
    }
}

/// Why a trie operation failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum MptError {
    /// A node the operation needs is neither in the source nor created by an earlier put
    /// (the Solidity side reverts `MissingNode(hash)` here).
    #[error("trie node {0} is missing")]
    MissingNode(B256),
    /// The source returned bytes that do not hash to the requested node.
    #[error("trie node {0} from the source is corrupt")]
    Corrupt(B256),
    /// A node is malformed (the Solidity side reverts `InvalidNode()`).
    #[error(transparent)]
    Node(#[from] NodeError),
}

/// A child reference exactly as its parent holds it (the RLP item in the parent).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
enum Ref {
    /// The empty string: no child.
    #[default]
    Empty,
    /// By hash (nodes of 32 bytes or more, and roots).
    Hash(B256),
    /// An embedded node (its RLP, under 32 bytes).
    Inline(Vec<u8>),
}

impl Ref {
    fn from_child(child: Option<&ChildRef<'_>>) -> Self {
        match child {
            None => Ref::Empty,
            Some(ChildRef::Hash(hash)) => Ref::Hash(*hash),
            Some(ChildRef::Inline(rlp)) => Ref::Inline(rlp.to_vec()),
        }
    }

    /// The RLP item the parent holds.
    fn encode(&self) -> Vec<u8> {
        match self {
            Ref::Empty => vec![0x80],
            Ref::Hash(hash) => rlp_bytes(hash.as_slice()),
            Ref::Inline(rlp) => rlp.clone(),
        }
    }
}

/// An owned node structure, decoded from RLP.
enum Node {
    Leaf(Vec<u8>, Vec<u8>),
    Extension(Vec<u8>, Ref),
    Branch(Box<[Ref; 16]>, Vec<u8>),
}

/// The twin: a Merkle-Patricia trie database over a [`NodeSource`] that records what it reads.
pub struct Mpt<S> {
    source: S,
    /// Nodes created by puts (and roots under 32 bytes), by hash.
    created: HashMap<B256, Vec<u8>>,
    /// Nodes read from the source, in first-read order.
    read: Vec<Bytes>,
    read_set: HashSet<B256>,
}

impl<S: NodeSource> Mpt<S> {
    /// A twin reading the pre-state from `source`.
    pub fn new(source: S) -> Self {
        Self {
            source,
            created: HashMap::new(),
            read: Vec::new(),
            read_set: HashSet::new(),
        }
    }

    /// A node created by an earlier [`Mpt::put`], by hash: the part of the trie that exists
    /// only here.
    pub fn created_node(&self, hash: &B256) -> Option<Bytes> {
        self.created
            .get(hash)
            .map(|node| Bytes::copy_from_slice(node))
    }

    /// Number of nodes created by puts.
    pub fn created_len(&self) -> usize {
        self.created.len()
    }

    /// Every node read from the source so far, in first-read order: the witness.
    pub fn witness(&self) -> &[Bytes] {
        &self.read
    }

    /// Takes the witness, leaving the twin's record empty.
    pub fn take_witness(&mut self) -> Vec<Bytes> {
        self.read_set.clear();
        std::mem::take(&mut self.read)
    }

    /// The value under `key` in the trie with root `root` (`None` when absent).
    pub fn get(&mut self, root: B256, key: &[u8]) -> Result<Option<Vec<u8>>, MptError> {
        if root == EMPTY_ROOT_HASH {
            return Ok(None);
        }
        let nib = nibbles(key);
        let mut idx = 0;
        let mut node = self.decode_ref(&Ref::Hash(root))?;
        loop {
            let next = match node {
                Node::Branch(children, value) => {
                    if idx == nib.len() {
                        return Ok((!value.is_empty()).then_some(value));
                    }
                    let child = children[usize::from(nib[idx])].clone();
                    idx += 1;
                    child
                }
                Node::Leaf(path, value) => {
                    return Ok((nib[idx..] == path[..]).then_some(value));
                }
                Node::Extension(path, child) => {
                    if !nib[idx..].starts_with(&path) {
                        return Ok(None);
                    }
                    idx += path.len();
                    child
                }
            };
            if next == Ref::Empty {
                return Ok(None);
            }
            node = self.decode_ref(&next)?;
        }
    }

    /// Sets `key` to `value` (empty deletes) in the trie with root `root`; returns the new root.
    pub fn put(&mut self, root: B256, key: &[u8], value: &[u8]) -> Result<B256, MptError> {
        let start = if root == EMPTY_ROOT_HASH {
            Ref::Empty
        } else {
            Ref::Hash(root)
        };
        Ok(match self.put_at(&start, &nibbles(key), 0, value)? {
            Ref::Empty => EMPTY_ROOT_HASH,
            Ref::Hash(hash) => hash,
            // A root under 32 bytes is still referenced by its hash.
            Ref::Inline(rlp) => {
                let hash = keccak256(&rlp);
                self.created.insert(hash, rlp);
                hash
            }
        })
    }

    /// The reference replacing `reference` after setting `nib[idx..]` to `value` below it
    /// (`MptDb._put`).
    fn put_at(
        &mut self,
        reference: &Ref,
        nib: &[u8],
        idx: usize,
        value: &[u8],
    ) -> Result<Ref, MptError> {
        if *reference == Ref::Empty {
            if value.is_empty() {
                return Ok(Ref::Empty);
            }
            return Ok(self.store(leaf_node(&nib[idx..], value)));
        }
        let (path, second) = match self.decode_ref(reference)? {
            Node::Branch(children, branch_value) => {
                return self.put_branch(reference, *children, branch_value, nib, idx, value)
            }
            Node::Leaf(path, leaf_value) => (path, Second::Value(leaf_value)),
            Node::Extension(path, child) => (path, Second::Child(child)),
        };
        let shared = shared_prefix(&path, &nib[idx..]);
        match &second {
            // Same key: replace or delete the value.
            Second::Value(_) if shared == path.len() && idx + shared == nib.len() => {
                if value.is_empty() {
                    return Ok(Ref::Empty);
                }
                return Ok(self.store(leaf_node(&path, value)));
            }
            // The key continues below this extension.
            Second::Child(child) if shared == path.len() => {
                let new_child = self.put_at(child, nib, idx + shared, value)?;
                if new_child == *child {
                    return Ok(reference.clone());
                }
                return self.prefixed(&path, new_child);
            }
            _ => {}
        }
        if value.is_empty() {
            return Ok(reference.clone());
        }
        let mut refs: [Ref; 16] = Default::default();
        let mut branch_value = Vec::new();
        match second {
            Second::Value(old) => {
                if shared == path.len() {
                    branch_value = old;
                } else {
                    refs[usize::from(path[shared])] =
                        self.store(leaf_node(&path[shared + 1..], &old));
                }
            }
            Second::Child(child) => {
                refs[usize::from(path[shared])] = if shared + 1 == path.len() {
                    child
                } else {
                    self.store(ext_node(&path[shared + 1..], &child))
                };
            }
        }
        let at = idx + shared;
        if at == nib.len() {
            branch_value = value.to_vec();
        } else {
            refs[usize::from(nib[at])] = self.store(leaf_node(&nib[at + 1..], value));
        }
        let branch = self.store(branch_node(&refs, &branch_value));
        if shared == 0 {
            return Ok(branch);
        }
        Ok(self.store(ext_node(&path[..shared], &branch)))
    }

    /// `put_at` at a branch (`MptDb._putBranch`).
    fn put_branch(
        &mut self,
        reference: &Ref,
        mut refs: [Ref; 16],
        mut branch_value: Vec<u8>,
        nib: &[u8],
        idx: usize,
        value: &[u8],
    ) -> Result<Ref, MptError> {
        if idx == nib.len() {
            if branch_value == value {
                return Ok(reference.clone());
            }
            branch_value = value.to_vec();
        } else {
            let n = usize::from(nib[idx]);
            let new_child = self.put_at(&refs[n], nib, idx + 1, value)?;
            if new_child == refs[n] {
                return Ok(reference.clone());
            }
            refs[n] = new_child;
        }
        // Only a delete can leave fewer than two entries; only then are they counted.
        if !value.is_empty() {
            return Ok(self.store(branch_node(&refs, &branch_value)));
        }
        let children: Vec<usize> = (0..16).filter(|&i| refs[i] != Ref::Empty).collect();
        let count = children.len() + usize::from(!branch_value.is_empty());
        if count >= 2 {
            return Ok(self.store(branch_node(&refs, &branch_value)));
        }
        if count == 0 {
            return Ok(Ref::Empty);
        }
        if !branch_value.is_empty() {
            return Ok(self.store(leaf_node(&[], &branch_value)));
        }
        let last = children[0];
        let only = std::mem::replace(&mut refs[last], Ref::Empty);
        // `last < 16`, so it is a nibble.
        self.prefixed(&[last as u8], only)
    }

    /// `child` seen through the non-empty `path` (`MptDb._prefixed`).
    fn prefixed(&mut self, path: &[u8], child: Ref) -> Result<Ref, MptError> {
        if child == Ref::Empty {
            return Ok(child);
        }
        Ok(match self.decode_ref(&child)? {
            Node::Branch(..) => self.store(ext_node(path, &child)),
            Node::Leaf(child_path, value) => {
                self.store(leaf_node(&[path, &child_path].concat(), &value))
            }
            Node::Extension(child_path, grandchild) => {
                self.store(ext_node(&[path, &child_path].concat(), &grandchild))
            }
        })
    }

    /// The reference to a new node: embedded under 32 bytes, else kept and hashed.
    fn store(&mut self, rlp: Vec<u8>) -> Ref {
        if rlp.len() < 32 {
            return Ref::Inline(rlp);
        }
        let hash = keccak256(&rlp);
        self.created.insert(hash, rlp);
        Ref::Hash(hash)
    }

    /// Decodes the node a non-empty reference points to, fetching (and recording) it if needed.
    fn decode_ref(&mut self, reference: &Ref) -> Result<Node, MptError> {
        let (hash, rlp) = match reference {
            // Callers check for the empty reference; never a node.
            Ref::Empty => {
                return Err(MptError::Node(NodeError::Malformed {
                    hash: B256::ZERO,
                    reason: "empty child reference",
                }))
            }
            Ref::Inline(rlp) => (keccak256(rlp), rlp.clone()),
            Ref::Hash(hash) => (*hash, self.load(hash)?),
        };
        Ok(match decode_node(hash, &rlp)? {
            DecodedNode::Leaf { path, value } => Node::Leaf(path, value.to_vec()),
            DecodedNode::Extension { path, child } => {
                Node::Extension(path, Ref::from_child(Some(&child)))
            }
            DecodedNode::Branch { children, value } => {
                let refs: [Ref; 16] =
                    std::array::from_fn(|i| Ref::from_child(children[i].as_ref()));
                Node::Branch(
                    Box::new(refs),
                    value.map(<[u8]>::to_vec).unwrap_or_default(),
                )
            }
        })
    }

    /// A node by hash: created by a put, or from the source (then recorded).
    fn load(&mut self, hash: &B256) -> Result<Vec<u8>, MptError> {
        if let Some(rlp) = self.created.get(hash) {
            return Ok(rlp.clone());
        }
        let rlp = self.source.node(hash).ok_or(MptError::MissingNode(*hash))?;
        if keccak256(&rlp) != *hash {
            return Err(MptError::Corrupt(*hash));
        }
        if self.read_set.insert(*hash) {
            self.read.push(rlp.clone());
        }
        Ok(rlp.to_vec())
    }
}

/// The second item of a leaf or extension.
enum Second {
    Value(Vec<u8>),
    Child(Ref),
}

fn nibbles(key: &[u8]) -> Vec<u8> {
    key.iter().flat_map(|b| [b >> 4, b & 0x0f]).collect()
}

fn shared_prefix(a: &[u8], b: &[u8]) -> usize {
    a.iter().zip(b).take_while(|(x, y)| x == y).count()
}

fn rlp_bytes(bytes: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(bytes.len() + 3);
    bytes.encode(&mut out);
    out
}

fn rlp_list(items: &[Vec<u8>]) -> Vec<u8> {
    let payload_length = items.iter().map(Vec::len).sum();
    let mut out = Vec::with_capacity(payload_length + 3);
    alloy_rlp::Header {
        list: true,
        payload_length,
    }
    .encode(&mut out);
    for item in items {
        out.extend_from_slice(item);
    }
    out
}

/// Hex-prefix encoding of a nibble path.
fn hex_prefix(path: &[u8], leaf: bool) -> Vec<u8> {
    let odd = path.len() % 2;
    let flag = (if leaf { 2 } else { 0 }) + odd as u8;
    let mut out = Vec::with_capacity(path.len() / 2 + 1);
    let rest = if odd == 1 {
        out.push((flag << 4) | path[0]);
        &path[1..]
    } else {
        out.push(flag << 4);
        path
    };
    out.extend(rest.chunks_exact(2).map(|pair| (pair[0] << 4) | pair[1]));
    out
}

fn leaf_node(path: &[u8], value: &[u8]) -> Vec<u8> {
    rlp_list(&[rlp_bytes(&hex_prefix(path, true)), rlp_bytes(value)])
}

fn ext_node(path: &[u8], child: &Ref) -> Vec<u8> {
    rlp_list(&[rlp_bytes(&hex_prefix(path, false)), child.encode()])
}

fn branch_node(refs: &[Ref; 16], value: &[u8]) -> Vec<u8> {
    let mut items: Vec<Vec<u8>> = refs.iter().map(Ref::encode).collect();
    items.push(rlp_bytes(value));
    rlp_list(&items)
}

#[cfg(test)]
mod tests {
    use super::*;
    use parallax_state::Trie;
    use rand::{rngs::StdRng, Rng, SeedableRng};

    /// All nodes of a trie built from scratch (root included).
    fn nodes_of(trie: &Trie) -> MemoryNodes {
        let mut nodes = Vec::new();
        trie.unpersisted_nodes(&mut nodes);
        nodes.into_iter().map(|(_, rlp)| rlp).collect()
    }

    /// Short keys over a 3-nibble alphabet (prefixes of each other, embedded nodes) or
    /// 32-byte hashed keys; short or long values.
    fn random_key(rng: &mut StdRng, hashed: bool) -> Vec<u8> {
        if hashed {
            return keccak256([rng.random_range(0u8..60)]).to_vec();
        }
        let len = rng.random_range(1..4);
        (0..len)
            .map(|_| [0x00, 0x11, 0x12][rng.random_range(0..3)])
            .collect()
    }

    fn random_value(rng: &mut StdRng) -> Vec<u8> {
        let len = if rng.random_bool(0.7) {
            rng.random_range(1..4)
        } else {
            rng.random_range(30..40)
        };
        (0..len).map(|_| rng.random()).collect()
    }

    /// Pre-trie from the state crate, random inserts / updates / deletes through the twin:
    /// roots equal the state crate's trie after the same operations; replaying on only the
    /// recorded witness gives the same root; removing any one witness node fails with
    /// `MissingNode` (never another root).
    #[test]
    fn twin_matches_state_trie_and_its_witness_is_exact() {
        for seed in 0..300u64 {
            let mut rng = StdRng::seed_from_u64(seed);
            let hashed = seed % 2 == 0;
            let mut trie = Trie::new();
            for _ in 0..rng.random_range(0..30) {
                trie.insert(&random_key(&mut rng, hashed), random_value(&mut rng));
            }
            let pre_root = trie.root();
            let source = nodes_of(&trie);
            let ops: Vec<(Vec<u8>, Vec<u8>)> = (0..rng.random_range(1..12))
                .map(|_| {
                    let key = random_key(&mut rng, hashed);
                    let value = if rng.random_bool(0.5) {
                        Vec::new()
                    } else {
                        random_value(&mut rng)
                    };
                    (key, value)
                })
                .collect();
            let run = |source: &MemoryNodes| -> Result<(B256, Vec<Bytes>), MptError> {
                let mut mpt = Mpt::new(source);
                let mut root = pre_root;
                for (key, value) in &ops {
                    root = mpt.put(root, key, value)?;
                }
                Ok((root, mpt.take_witness()))
            };
            let (root, witness) = run(&source).expect("full source");
            for (key, value) in &ops {
                trie.insert(key, value.clone());
            }
            assert_eq!(root, trie.root(), "seed {seed}");
            if hashed {
                assert_eq!(root, hash_builder_root(&trie), "seed {seed}");
            }
            let minimal: MemoryNodes = witness.iter().cloned().collect();
            assert_eq!(
                run(&minimal).expect("witness suffices").0,
                root,
                "seed {seed}"
            );
            for node in &witness {
                let mut partial = minimal.clone();
                let hash = keccak256(node);
                partial.remove(&hash);
                assert_eq!(
                    run(&partial).unwrap_err(),
                    MptError::MissingNode(hash),
                    "seed {seed}"
                );
            }
        }
    }

    /// alloy-trie's root of the trie's leaves (fixed-length keys: none prefixes another).
    fn hash_builder_root(trie: &Trie) -> B256 {
        let mut builder = alloy_trie::HashBuilder::default();
        trie.for_each_leaf(|path, value| {
            builder.add_leaf(alloy_trie::Nibbles::from_nibbles(path), value);
        });
        builder.root()
    }

    #[test]
    fn get_reads_back_and_records_the_path() {
        let mut trie = Trie::new();
        let mut rng = StdRng::seed_from_u64(7);
        let keys: Vec<Vec<u8>> = (0..200)
            .map(|i: u32| keccak256(i.to_be_bytes()).to_vec())
            .collect();
        for key in &keys {
            trie.insert(key, random_value(&mut rng));
        }
        let source = nodes_of(&trie);
        let mut mpt = Mpt::new(&source);
        for key in &keys {
            assert_eq!(mpt.get(trie.root(), key).unwrap().as_deref(), trie.get(key));
        }
        assert_eq!(mpt.get(trie.root(), &[1, 2, 3]).unwrap(), None);
        assert_eq!(mpt.witness().len(), source.len());
        let mut mpt = Mpt::new(&source);
        mpt.get(trie.root(), &keys[0]).unwrap();
        assert_eq!(mpt.witness(), trie.proof(&keys[0]).as_slice());
    }
}
