//! The official Ethereum test vectors through the Parallax executor and state crate.
//!
//! GeneralStateTests and BlockchainTests (ValidBlocks and InvalidBlocks) run with three engine
//! configurations — sequential, Block-STM with 2 threads and Block-STM with 8 threads (forced
//! onto the parallel path for any block of two or more transactions) — and TrieTests against the
//! state crate's trie roots. Fixtures are read from `$ETHTESTS_DIR`, by default
//! `../shared/ethtests` beside the workspace.

use std::{
    path::{Path, PathBuf},
    time::Instant,
};

use parallax_cli::ethtest::{run_paths, Report, RunOptions};
use parallax_executor::{BlockStm, Engine};

/// The fixtures folder, or `None` (after saying how to get it) when it is missing outside CI.
fn fixtures_dir() -> Option<PathBuf> {
    let dir = std::env::var_os("ETHTESTS_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("../../shared/ethtests"));
    if dir.is_dir() {
        return Some(std::fs::canonicalize(&dir).unwrap_or(dir));
    }
    let message = format!(
        "Ethereum test vectors not found at {}. Get them with \
         `git clone https://github.com/ethereum/tests ethereum-tests` and run with \
         `ETHTESTS_DIR=/path/to/ethereum-tests`.",
        dir.display()
    );
    if std::env::var("CI").is_ok_and(|ci| ci == "true") {
        panic!("{message}");
    }
    eprintln!("skipping: {message}");
    None
}

fn block_stm(threads: usize) -> Engine {
    Engine::BlockStm(BlockStm::new(threads).with_min_parallel_txs(0))
}

/// Runs the given sub-folders of the fixtures with `engine` and asserts that nothing failed.
fn run_suite(label: &str, folders: &[&str], engine: Engine) {
    let Some(root) = fixtures_dir() else { return };
    let paths: Vec<PathBuf> = folders.iter().map(|folder| root.join(folder)).collect();
    for path in &paths {
        assert!(path.is_dir(), "missing fixture folder {}", path.display());
    }
    let started = Instant::now();
    let report = run_paths(&paths, &RunOptions { engine }).expect("fixture folders are readable");
    report_and_assert(label, &report, started);
}

fn report_and_assert(label: &str, report: &Report, started: Instant) {
    for failure in report.failures() {
        println!("{failure}");
    }
    if report.counters().blocks > 0 {
        println!("{label}: {}", report.counters());
    }
    println!("{label}: {} ({:.1?})", report.summary(), started.elapsed());
    assert!(report.passed() > 0, "{label}: no test case ran");
    assert_eq!(report.failed(), 0, "{label}: {}", report.summary());
}

const STATE_TESTS: &[&str] = &["GeneralStateTests"];
const BLOCKCHAIN_TESTS: &[&str] = &[
    "BlockchainTests/ValidBlocks",
    "BlockchainTests/InvalidBlocks",
];

#[test]
fn general_state_tests_sequential() {
    run_suite(
        "GeneralStateTests sequential",
        STATE_TESTS,
        Engine::Sequential,
    );
}

#[test]
fn general_state_tests_block_stm_2_threads() {
    run_suite("GeneralStateTests block-stm(2)", STATE_TESTS, block_stm(2));
}

#[test]
fn general_state_tests_block_stm_8_threads() {
    run_suite("GeneralStateTests block-stm(8)", STATE_TESTS, block_stm(8));
}

#[test]
fn blockchain_tests_sequential() {
    run_suite(
        "BlockchainTests sequential",
        BLOCKCHAIN_TESTS,
        Engine::Sequential,
    );
}

#[test]
fn blockchain_tests_block_stm_2_threads() {
    run_suite(
        "BlockchainTests block-stm(2)",
        BLOCKCHAIN_TESTS,
        block_stm(2),
    );
}

#[test]
fn blockchain_tests_block_stm_8_threads() {
    run_suite(
        "BlockchainTests block-stm(8)",
        BLOCKCHAIN_TESTS,
        block_stm(8),
    );
}

/// TrieTests do not involve the executor: the engine is irrelevant.
#[test]
fn trie_tests() {
    run_suite("TrieTests", &["TrieTests"], Engine::Sequential);
}
