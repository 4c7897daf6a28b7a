//! The Parallax sequencer: Ethereum JSON-RPC for wallets and tools, a transaction pool, and
//! block production with the Block-STM executor onto the chain store.
//!
//! [`node::start`] runs it; [`genesis`] builds the initial state (a geth-style file or the dev
//! accounts); [`chain`] seals blocks atomically; [`mempool`] validates and orders
//! transactions; [`rpc`] serves the `eth_` namespace.

pub mod chain;
pub mod follow;
pub mod genesis;
pub mod journal;
pub mod mempool;
pub mod metrics;
pub mod node;
pub mod origin;
pub mod rpc;
