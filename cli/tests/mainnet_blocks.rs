//! Every block of `shared/mainnet-blocks` executed by Sequential and by Block-STM with 2 and 8
//! threads (parallel path forced): the outcomes must be equal, and must reproduce the header's
//! `gasUsed`, `logsBloom` and (from Byzantium on) `receiptsRoot`.
//!
//! The directory is `$MAINNET_BLOCKS_DIR`, by default `../../shared/mainnet-blocks` from this
//! crate. When it is missing the test fails under `CI=true` and is skipped otherwise.

use std::path::PathBuf;

use parallax_cli::bench::{first_difference, load_blocks};
use parallax_executor::{BlockExecutor, BlockStm, Sequential};

fn blocks_dir() -> Option<PathBuf> {
    let dir = std::env::var_os("MAINNET_BLOCKS_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| {
            PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../shared/mainnet-blocks")
        });
    if dir.join("bytecodes.json").is_file() {
        return Some(dir);
    }
    let message = format!("mainnet blocks not found at {}", dir.display());
    if std::env::var("CI").is_ok_and(|ci| ci == "true") {
        panic!("{message}");
    }
    eprintln!("note: {message}; skipping (set MAINNET_BLOCKS_DIR)");
    None
}

#[test]
fn mainnet_blocks_match_headers_on_every_engine() {
    let Some(dir) = blocks_dir() else { return };
    let blocks = load_blocks(&dir).unwrap_or_else(|error| panic!("{error}"));
    assert!(!blocks.is_empty(), "no blocks in {}", dir.display());
    let mut failures = Vec::new();
    for block in &blocks {
        let sequential = match Sequential.execute_block(&block.env, &block.txs, &block.state) {
            Ok(outcome) => outcome,
            Err(error) => {
                failures.push(format!("block {}: Sequential: {error}", block.number));
                continue;
            }
        };
        for mismatch in block.header_mismatches(&sequential) {
            failures.push(format!("block {}: Sequential: {mismatch}", block.number));
        }
        for threads in [2, 8] {
            let engine = BlockStm::new(threads).with_min_parallel_txs(0);
            match engine.execute_block(&block.env, &block.txs, &block.state) {
                Ok(parallel) => {
                    if let Some(difference) = first_difference(&sequential, &parallel) {
                        failures.push(format!(
                            "block {}: Block-STM({threads}) differs from Sequential: {difference}",
                            block.number
                        ));
                    }
                }
                Err(error) => failures.push(format!(
                    "block {}: Block-STM({threads}): {error}",
                    block.number
                )),
            }
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {} blocks failed:\n{}",
        failures.len(),
        blocks.len(),
        failures.join("\n")
    );
}

#[test]
fn header_checks_catch_a_wrong_outcome() {
    let Some(dir) = blocks_dir() else { return };
    let blocks = load_blocks(&dir).unwrap_or_else(|error| panic!("{error}"));
    let block = blocks
        .iter()
        .find(|block| block.checks_receipts_root() && !block.txs.is_empty())
        .expect("a post-Byzantium block with transactions");
    let outcome = Sequential
        .execute_block(&block.env, &block.txs, &block.state)
        .expect("block executes");
    assert!(block.header_mismatches(&outcome).is_empty());

    let mut wrong = outcome.clone();
    let last = wrong.receipts.len() - 1;
    wrong.receipts[last].cumulative_gas_used += 1;
    wrong.gas_used += 1;
    let mismatches = block.header_mismatches(&wrong);
    assert!(
        mismatches.iter().any(|m| m.starts_with("gasUsed")),
        "{mismatches:?}"
    );
    assert!(
        mismatches.iter().any(|m| m.starts_with("receiptsRoot")),
        "{mismatches:?}"
    );

    let mut wrong = outcome;
    let with_logs = wrong
        .receipts
        .iter()
        .position(|receipt| !receipt.logs.is_empty())
        .expect("a log");
    wrong.receipts[with_logs].logs.clear();
    let mismatches = block.header_mismatches(&wrong);
    assert!(
        mismatches.iter().any(|m| m.starts_with("logsBloom")),
        "{mismatches:?}"
    );
}
