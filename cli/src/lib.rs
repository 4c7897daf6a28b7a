//! The `parallax` command-line tool as a library: the subcommands' implementations, usable
//! from tests and benchmarks without going through the binary.

pub mod bench;
pub mod config_file;
pub mod ethtest;
