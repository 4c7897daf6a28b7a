//! Parallax protocol rules shared by every service: the rollup configuration, the L2 fee rules
//! and output roots. Pure functions and types, no I/O.

pub mod config;
pub mod fees;
pub mod output;

pub use config::{ConfigError, Eip1559Params, RollupConfig};
pub use fees::next_base_fee;
pub use output::{output_root, OutputRootInput, OUTPUT_VERSION_V0};
