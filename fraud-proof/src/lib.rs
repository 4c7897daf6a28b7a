//! The challenger's core (issue #9, design §6): everything needed to take part in a dispute game
//! over an L2 output root, independent of how it reaches L1.
//!
//! The protocol it implements is written down in `contracts/DISPUTE.md`: level-1 bisection over
//! output roots of L2 blocks, level-2 bisection over per-transaction commitments inside the first
//! disputed block, and a one-step proof of a single transaction that the L1 `EvmStepVerifier`
//! re-executes.

pub mod game;
pub mod mpt;
pub mod player;
pub mod replay;
pub mod service;
pub mod step;
pub mod step_model;
pub mod trace;
pub mod truth;
pub mod witness;

pub use mpt::{FnSource, MemoryNodes, Mpt, MptError, NodeSource};
pub use replay::{ReplayError, ReplayState, StoreState};
pub use witness::{FetchWitnessError, StateReads, StateWitness, StateWitnessBuilder, WitnessError};
