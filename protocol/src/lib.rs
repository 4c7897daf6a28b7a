//! Parallax protocol rules shared by every service: the rollup configuration, the L2 fee rules,
//! output roots, deposits, the batch / channel / frame codec and derivation. Pure functions and
//! types, no I/O.
#![forbid(unsafe_code)]

pub mod batch;
pub mod blob;
pub mod block;
pub mod channel;
pub mod config;
pub mod deposit;
pub mod derive;
pub mod fees;
pub mod frame;
pub mod l1_info;
pub mod output;
pub mod predeploys;

pub use block::{BlockId, L1BlockInfo, L2BlockInfo};
pub use config::{ConfigError, Eip1559Params, Genesis, RollupConfig};
pub use fees::next_base_fee;
pub use output::{output_root, OutputRootInput, OUTPUT_VERSION_V0};
