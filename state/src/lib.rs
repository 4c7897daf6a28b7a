//! Parallax world state: Ethereum-exact commitments (state, storage and receipts roots, logs
//! bloom) and state views the executor reads through.

mod memory;
pub mod node;
pub mod roots;
pub mod store;
pub mod trie;
pub mod world;

pub use memory::{MemoryAccount, MemoryState, MemoryStateError};
pub use roots::{logs_bloom, receipts_root, secure_trie_root, state_root, storage_root, trie_root};
pub use trie::Trie;
pub use world::{AccountProof, WorldState, WorldStateError};
