//! Runner for the official Ethereum test vectors (`ethereum/tests`): GeneralStateTests,
//! BlockchainTests and TrieTests, executed through the Parallax executor and state crate.
//!
//! [`run_paths`] walks files and folders, recognises each fixture by its folder or JSON shape
//! and returns one [`CaseResult`] per test case. Problems with a fixture (unreadable, malformed,
//! unexpected shape) are failures of that file, never panics; cases outside the runner's scope
//! are skipped with a reason.

pub mod blockchain;
pub mod state;
pub mod trie;
pub mod tx;

use std::{
    fmt,
    panic::{catch_unwind, AssertUnwindSafe},
    path::{Path, PathBuf},
};

use alloy_primitives::B256;
use parallax_executor::Engine;
use rayon::prelude::*;
use serde_json::{Map, Value};

/// Errors of the runner itself (as opposed to failing test cases).
#[derive(Debug, thiserror::Error)]
pub enum EthTestError {
    /// A path given on the command line or found while walking folders cannot be read.
    #[error("cannot read {}: {source}", path.display())]
    Io {
        /// The path.
        path: PathBuf,
        /// The I/O error.
        #[source]
        source: std::io::Error,
    },
}

/// How one test case ended.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum CaseStatus {
    /// The case reproduced the fixture's expectations.
    Passed,
    /// The case did not; the string says what differs.
    Failed(String),
    /// The case is outside the runner's scope; the string says why.
    Skipped(String),
}

/// Result of one test case (or of a whole file that could not be run).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CaseResult {
    /// Fixture file.
    pub file: PathBuf,
    /// Test name inside the file (with the post-state index for state tests); empty when the
    /// result concerns the whole file.
    pub name: String,
    /// Outcome.
    pub status: CaseStatus,
    /// What the executor did for this case.
    pub counters: ExecCounters,
}

/// Executor work behind a case or a run: shows how much of it took Block-STM's parallel path.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct ExecCounters {
    /// Blocks handed to the executor (a state-test entry is a one-transaction block).
    pub blocks: u64,
    /// Of those, blocks the engine actually ran in parallel (no sequential fallback).
    pub parallel_blocks: u64,
    /// Transactions in the blocks handed to the executor.
    pub transactions: u64,
    /// Block-STM executions discarded after a conflict.
    pub aborts: u64,
}

impl ExecCounters {
    /// Records one execution of a block of `transactions` transactions.
    pub fn record(&mut self, transactions: usize, stats: &parallax_executor::ExecutionStats) {
        self.blocks += 1;
        self.parallel_blocks += u64::from(!stats.fell_back_to_sequential);
        self.transactions += transactions as u64;
        self.aborts += stats.aborts;
    }
}

impl std::ops::AddAssign for ExecCounters {
    fn add_assign(&mut self, other: Self) {
        self.blocks += other.blocks;
        self.parallel_blocks += other.parallel_blocks;
        self.transactions += other.transactions;
        self.aborts += other.aborts;
    }
}

impl fmt::Display for ExecCounters {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} blocks executed ({} in parallel), {} transactions, {} aborts",
            self.blocks, self.parallel_blocks, self.transactions, self.aborts
        )
    }
}

impl CaseResult {
    pub(crate) fn new(file: &Path, name: impl Into<String>, status: CaseStatus) -> Self {
        Self {
            file: file.to_path_buf(),
            name: name.into(),
            status,
            counters: ExecCounters::default(),
        }
    }

    pub(crate) fn with_counters(mut self, counters: ExecCounters) -> Self {
        self.counters = counters;
        self
    }

    pub(crate) fn passed(file: &Path, name: impl Into<String>) -> Self {
        Self::new(file, name, CaseStatus::Passed)
    }

    pub(crate) fn failed(file: &Path, name: impl Into<String>, reason: impl Into<String>) -> Self {
        Self::new(file, name, CaseStatus::Failed(reason.into()))
    }

    pub(crate) fn skipped(file: &Path, name: impl Into<String>, reason: impl Into<String>) -> Self {
        Self::new(file, name, CaseStatus::Skipped(reason.into()))
    }
}

impl fmt::Display for CaseResult {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let (tag, detail) = match &self.status {
            CaseStatus::Passed => ("PASS", None),
            CaseStatus::Failed(reason) => ("FAIL", Some(reason)),
            CaseStatus::Skipped(reason) => ("SKIP", Some(reason)),
        };
        write!(f, "{tag} {}", self.file.display())?;
        if !self.name.is_empty() {
            write!(f, " {}", self.name)?;
        }
        if let Some(detail) = detail {
            write!(f, ": {detail}")?;
        }
        Ok(())
    }
}

/// All results of a run.
#[derive(Clone, Debug, Default)]
pub struct Report {
    /// One entry per test case, in file order.
    pub cases: Vec<CaseResult>,
}

impl Report {
    /// Cases that passed.
    pub fn passed(&self) -> usize {
        self.count(|status| matches!(status, CaseStatus::Passed))
    }

    /// Cases that failed.
    pub fn failed(&self) -> usize {
        self.count(|status| matches!(status, CaseStatus::Failed(_)))
    }

    /// Cases that were skipped.
    pub fn skipped(&self) -> usize {
        self.count(|status| matches!(status, CaseStatus::Skipped(_)))
    }

    /// The failed cases.
    pub fn failures(&self) -> impl Iterator<Item = &CaseResult> {
        self.cases
            .iter()
            .filter(|case| matches!(case.status, CaseStatus::Failed(_)))
    }

    /// The skipped cases.
    pub fn skips(&self) -> impl Iterator<Item = &CaseResult> {
        self.cases
            .iter()
            .filter(|case| matches!(case.status, CaseStatus::Skipped(_)))
    }

    /// Executor work summed over all cases.
    pub fn counters(&self) -> ExecCounters {
        let mut total = ExecCounters::default();
        for case in &self.cases {
            total += case.counters;
        }
        total
    }

    /// The summary line: `N passed, M failed, K skipped`.
    pub fn summary(&self) -> String {
        format!(
            "{} passed, {} failed, {} skipped",
            self.passed(),
            self.failed(),
            self.skipped()
        )
    }

    fn count(&self, predicate: impl Fn(&CaseStatus) -> bool) -> usize {
        self.cases
            .iter()
            .filter(|case| predicate(&case.status))
            .count()
    }
}

/// The kinds of fixture the runner executes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FixtureKind {
    /// GeneralStateTests: one transaction per post-state entry.
    State,
    /// BlockchainTests: RLP blocks imported on a genesis state.
    Blockchain,
    /// TrieTests: trie roots of key/value sets.
    Trie,
}

impl FixtureKind {
    /// The kind implied by a folder of the `ethereum/tests` layout in `path`, if any.
    pub fn from_path(path: &Path) -> Option<Self> {
        path.components()
            .rev()
            .find_map(|component| match component.as_os_str().to_str()? {
                "GeneralStateTests" | "LegacyTests" => Some(Self::State),
                "BlockchainTests" => Some(Self::Blockchain),
                "TrieTests" => Some(Self::Trie),
                _ => None,
            })
    }

    /// The kind a parsed fixture file has, judged by the fields of its first test.
    pub fn from_json(json: &Value) -> Option<Self> {
        let (_, first) = json.as_object()?.iter().next()?;
        let first = first.as_object()?;
        if first.contains_key("blocks") && first.contains_key("genesisBlockHeader") {
            Some(Self::Blockchain)
        } else if first.contains_key("transaction")
            && first.contains_key("post")
            && first.contains_key("pre")
        {
            Some(Self::State)
        } else if first.contains_key("in")
            && (first.contains_key("root") || first.contains_key("tests"))
        {
            Some(Self::Trie)
        } else {
            None
        }
    }
}

/// Options of a run.
#[derive(Clone, Copy, Debug)]
pub struct RunOptions {
    /// Engine every block (and state-test transaction) is executed with.
    pub engine: Engine,
}

/// Every `.json` file under `paths` (files are taken as given, folders are walked
/// recursively), sorted and de-duplicated.
pub fn collect_files(paths: &[PathBuf]) -> Result<Vec<PathBuf>, EthTestError> {
    let mut files = Vec::new();
    for path in paths {
        let metadata = std::fs::metadata(path).map_err(|source| EthTestError::Io {
            path: path.clone(),
            source,
        })?;
        if metadata.is_dir() {
            walk(path, &mut files)?;
        } else {
            files.push(path.clone());
        }
    }
    files.sort();
    files.dedup();
    Ok(files)
}

fn walk(dir: &Path, files: &mut Vec<PathBuf>) -> Result<(), EthTestError> {
    let io = |source| EthTestError::Io {
        path: dir.to_path_buf(),
        source,
    };
    for entry in std::fs::read_dir(dir).map_err(io)? {
        let path = entry.map_err(io)?.path();
        if path.is_dir() {
            walk(&path, files)?;
        } else if path
            .extension()
            .is_some_and(|ext| ext.eq_ignore_ascii_case("json"))
        {
            files.push(path);
        }
    }
    Ok(())
}

/// Runs every fixture under `paths`, files in parallel.
pub fn run_paths(paths: &[PathBuf], options: &RunOptions) -> Result<Report, EthTestError> {
    let files = collect_files(paths)?;
    let cases = files
        .par_iter()
        .flat_map_iter(|file| run_file(file, options))
        .collect();
    Ok(Report { cases })
}

/// Runs one fixture file. Never panics: a panic while running it is reported as a failure.
pub fn run_file(file: &Path, options: &RunOptions) -> Vec<CaseResult> {
    catch_unwind(AssertUnwindSafe(|| run_file_inner(file, options))).unwrap_or_else(|panic| {
        let message = panic
            .downcast_ref::<&str>()
            .map(|s| s.to_string())
            .or_else(|| panic.downcast_ref::<String>().cloned())
            .unwrap_or_else(|| "unknown panic".to_string());
        vec![CaseResult::failed(
            file,
            "",
            format!("runner panicked: {message}"),
        )]
    })
}

fn run_file_inner(file: &Path, options: &RunOptions) -> Vec<CaseResult> {
    if let Some(reason) = state::skip_reason(file) {
        return vec![CaseResult::skipped(file, "", reason)];
    }
    let bytes = match std::fs::read(file) {
        Ok(bytes) => bytes,
        Err(error) => {
            return vec![CaseResult::failed(
                file,
                "",
                format!("cannot read fixture: {error}"),
            )]
        }
    };
    let json: Value = match serde_json::from_slice(&bytes) {
        Ok(json) => json,
        Err(error) => {
            return vec![CaseResult::failed(
                file,
                "",
                format!("malformed fixture (invalid JSON): {error}"),
            )]
        }
    };
    let by_shape = FixtureKind::from_json(&json);
    let kind = match (FixtureKind::from_path(file), by_shape) {
        (Some(expected), Some(found)) if expected != found => {
            return vec![CaseResult::failed(
                file,
                "",
                format!("malformed fixture: a {found:?} test in a {expected:?} folder"),
            )]
        }
        (_, Some(kind)) => kind,
        (Some(expected), None) => {
            return vec![CaseResult::failed(
                file,
                "",
                format!("malformed fixture: not a {expected:?} test"),
            )]
        }
        (None, None) => {
            return vec![CaseResult::skipped(
                file,
                "",
                "not a GeneralStateTest, BlockchainTest or TrieTest fixture",
            )]
        }
    };
    let Value::Object(tests) = json else {
        return vec![CaseResult::failed(
            file,
            "",
            "malformed fixture: top level is not an object",
        )];
    };
    match kind {
        FixtureKind::State => state::run_suite(file, tests, &options.engine),
        FixtureKind::Blockchain => blockchain::run_suite(file, tests, &options.engine),
        FixtureKind::Trie => trie::run_suite(file, tests),
    }
}

/// Decodes one test of a suite, reporting a malformed one as a failure of that test.
pub(crate) fn decode_test<T: serde::de::DeserializeOwned>(
    file: &Path,
    name: &str,
    json: Value,
) -> Result<T, CaseResult> {
    serde_json::from_value(json)
        .map_err(|error| CaseResult::failed(file, name, format!("malformed fixture: {error}")))
}

/// The tests of a suite, in file order.
pub(crate) type Suite = Map<String, Value>;

/// `0x`-prefixed hex, or raw UTF-8 bytes otherwise (TrieTests' key and value convention).
pub(crate) fn hex_or_raw(text: &str) -> Result<Vec<u8>, String> {
    match text.strip_prefix("0x") {
        Some(hex) => {
            alloy_primitives::hex::decode(hex).map_err(|error| format!("bad hex {text:?}: {error}"))
        }
        None => Ok(text.as_bytes().to_vec()),
    }
}

/// `keccak256` of the RLP list of logs (the `logs` field of state tests).
pub fn logs_hash<'a>(logs: impl IntoIterator<Item = &'a alloy_primitives::Log>) -> B256 {
    let logs: Vec<&alloy_primitives::Log> = logs.into_iter().collect();
    alloy_primitives::keccak256(alloy_rlp::encode(&logs))
}
