//! `parallax bench`: Block-STM against the sequential reference, on synthetic workloads
//! ([`workloads`]) and on real mainnet blocks ([`mainnet`]).
//!
//! Both benchmarks run the two engines on the same block in the same process: one warm-up run
//! each, then `runs` timed runs alternating between the engines, reporting median times and the
//! median of the paired ratios (each sequential run against the parallel run right after it). Every run's
//! outcome must equal the sequential one; a difference is reported as a failure, never hidden.

mod asm;
pub mod contracts;
pub mod da;
pub mod mainnet;
pub mod sequencer;
pub mod state;
pub mod workloads;

use std::{
    num::NonZeroUsize,
    path::{Path, PathBuf},
    time::{Duration, Instant},
};

use parallax_executor::{
    revm::context::TxEnv, BlockExecutor, BlockOutcome, BlockStm, ExecutionEnv, ExecutionError,
    ExecutionStats, Sequential, StateView,
};
use serde::Serialize;

use self::state::StateReport;

pub use self::{
    mainnet::{load_blocks, mainnet_spec, LoadError, MainnetBlock},
    workloads::{build, Workload, WorkloadKind},
};

/// Errors of the benchmark commands.
#[derive(Debug, thiserror::Error)]
pub enum BenchError {
    /// Mainnet block data could not be loaded.
    #[error(transparent)]
    Load(#[from] LoadError),
    /// An engine rejected a synthetic block (a workload bug, or an engine bug).
    #[error("{engine} failed on the {workload} workload: {source}")]
    Execution {
        /// The engine that failed.
        engine: &'static str,
        /// The workload.
        workload: WorkloadKind,
        /// Its error.
        source: ExecutionError,
    },
    /// Block-STM's outcome differs from the sequential one.
    #[error("Block-STM ({threads} threads) differs from Sequential on the {workload} workload (--txs {txs} --seed {seed}): {difference}")]
    Mismatch {
        /// The workload.
        workload: WorkloadKind,
        /// Its size.
        txs: usize,
        /// Its seed.
        seed: u64,
        /// Block-STM threads.
        threads: usize,
        /// First difference found.
        difference: String,
    },
    /// Two sequential runs of the same block differ.
    #[error("Sequential is not deterministic on the {workload} workload: {difference}")]
    NonDeterministic {
        /// The workload.
        workload: WorkloadKind,
        /// First difference found.
        difference: String,
    },
    /// Some mainnet blocks failed their checks (details were printed).
    #[error("{failed} of {total} blocks failed")]
    BlocksFailed {
        /// Failed blocks.
        failed: usize,
        /// Blocks run.
        total: usize,
    },
    /// The state benchmark failed: roots disagree, or the store failed or read back wrong.
    #[error(transparent)]
    State(#[from] state::StateBenchError),
    /// The sequencer benchmark failed.
    #[error(transparent)]
    Sequencer(#[from] sequencer::SequencerBenchError),
    /// The DA benchmark failed.
    #[error(transparent)]
    Da(#[from] da::DaBenchError),
    /// The report could not be written as JSON.
    #[error("cannot serialize the report: {0}")]
    Json(#[from] serde_json::Error),
}

fn default_threads() -> NonZeroUsize {
    std::thread::available_parallelism().unwrap_or(NonZeroUsize::MIN)
}

/// `parallax bench` subcommands.
#[derive(Debug, clap::Subcommand)]
pub enum BenchCommand {
    /// Sequential vs Block-STM on a synthetic block built in memory.
    Executor(ExecutorArgs),
    /// Sequential vs Block-STM on real mainnet blocks, checked against their headers.
    Blocks(BlocksArgs),
    /// Incremental state-root update vs full recomputation for one block over a large state.
    State(state::StateArgs),
    /// End-to-end sequencer throughput: signed transfers over JSON-RPC to inclusion.
    Sequencer(sequencer::SequencerArgs),
    /// L1 bytes, gas and cost per L2 transaction: calldata vs blobs, zstd vs brotli, on anvil.
    Da(da::DaArgs),
}

/// Arguments of `parallax bench executor`.
#[derive(Debug, clap::Args)]
pub struct ExecutorArgs {
    /// Block shape: transfers, erc20, uniswap, chain or mixed.
    #[arg(long)]
    pub workload: WorkloadKind,
    /// Transactions in the block.
    #[arg(long, default_value_t = 2_000)]
    pub txs: usize,
    /// Block-STM worker threads (default: available parallelism).
    #[arg(long, default_value_t = default_threads())]
    pub threads: NonZeroUsize,
    /// Timed runs per engine (the median is reported).
    #[arg(long, default_value_t = 5, value_parser = clap::value_parser!(u32).range(1..))]
    pub runs: u32,
    /// Seed of the workload's randomness.
    #[arg(long, default_value_t = 1)]
    pub seed: u64,
    /// Print one JSON object instead of text.
    #[arg(long)]
    pub json: bool,
}

/// Arguments of `parallax bench blocks`.
#[derive(Debug, clap::Args)]
pub struct BlocksArgs {
    /// Directory in the `mainnet-blocks` format.
    pub dir: PathBuf,
    /// Block-STM worker threads (default: available parallelism).
    #[arg(long, default_value_t = default_threads())]
    pub threads: NonZeroUsize,
    /// Timed runs per engine and block (the median is reported).
    #[arg(long, default_value_t = 5, value_parser = clap::value_parser!(u32).range(1..))]
    pub runs: u32,
    /// Print one JSON object instead of text.
    #[arg(long)]
    pub json: bool,
}

/// Runs a `parallax bench` subcommand, printing its report to stdout.
pub fn run(command: &BenchCommand) -> Result<(), BenchError> {
    match command {
        BenchCommand::State(args) => {
            let report = state::bench_state(
                args.accounts,
                args.updates,
                args.seed,
                &args.db,
                args.postgres_url.as_deref(),
            )?;
            emit(args.json, &report, StateReport::to_text)
        }
        BenchCommand::Sequencer(args) => {
            let report = sequencer::bench_sequencer(args)?;
            emit(args.json, &report, sequencer::SequencerReport::to_text)
        }
        BenchCommand::Da(args) => {
            let report = da::bench_da(args)?;
            emit(args.json, &report, da::DaReport::to_text)
        }
        BenchCommand::Executor(args) => {
            let report = bench_executor(
                args.workload,
                args.txs,
                args.seed,
                args.threads.get(),
                args.runs as usize,
            )?;
            emit(args.json, &report, ExecutorReport::to_text)
        }
        BenchCommand::Blocks(args) => {
            let report = bench_blocks(&args.dir, args.threads.get(), args.runs as usize, |line| {
                if !args.json {
                    println!("{line}");
                }
            })?;
            emit(args.json, &report, BlocksReport::summary_text)?;
            match report.failed {
                0 => Ok(()),
                failed => Err(BenchError::BlocksFailed {
                    failed,
                    total: report.blocks.len(),
                }),
            }
        }
    }
}

/// Prints a report as one JSON object (`--json`) or as text.
fn emit<R: Serialize>(json: bool, report: &R, text: fn(&R) -> String) -> Result<(), BenchError> {
    if json {
        println!("{}", serde_json::to_string(report)?);
    } else {
        print!("{}", text(report));
    }
    Ok(())
}

/// Result of `parallax bench executor`.
#[derive(Clone, Debug, Serialize)]
pub struct ExecutorReport {
    /// Workload name.
    pub workload: String,
    /// Transactions in the block.
    pub txs: usize,
    /// Block-STM worker threads.
    pub threads: usize,
    /// Timed runs per engine.
    pub runs: usize,
    /// Workload seed.
    pub seed: u64,
    /// Gas used by the block.
    pub gas_used: u64,
    /// Median sequential time, milliseconds.
    pub sequential_ms: f64,
    /// Median Block-STM time, milliseconds.
    pub parallel_ms: f64,
    /// Median over the runs of `sequential / parallel`, each pair timed back to back (robust
    /// against the machine's speed drifting during the benchmark).
    pub speedup: f64,
    /// Block-STM throughput: gas per second of the median run.
    pub gas_per_sec: f64,
    /// Transaction executions of the median Block-STM run, re-executions included.
    pub executions: u64,
    /// Discarded executions of that run.
    pub aborts: u64,
    /// Validations of that run.
    pub validations: u64,
    /// Whether that run ended up (or started) sequential.
    pub fell_back_to_sequential: bool,
}

impl ExecutorReport {
    /// Human-readable report.
    pub fn to_text(&self) -> String {
        format!(
            "workload {} ({} txs, {} gas, seed {}), Block-STM with {} threads, median of {} runs\n  \
             sequential  {:>10.3} ms\n  block-stm   {:>10.3} ms   speedup {:.2}x   {:.1} Mgas/s\n  \
             block-stm stats: {} executions, {} aborts, {} validations, fell back to sequential: {}\n",
            self.workload,
            self.txs,
            self.gas_used,
            self.seed,
            self.threads,
            self.runs,
            self.sequential_ms,
            self.parallel_ms,
            self.speedup,
            self.gas_per_sec / 1e6,
            self.executions,
            self.aborts,
            self.validations,
            if self.fell_back_to_sequential { "yes" } else { "no" },
        )
    }
}

/// Times one execution.
fn timed<E: BlockExecutor, S: StateView>(
    engine: &E,
    env: &ExecutionEnv,
    txs: &[TxEnv],
    state: &S,
) -> (
    Duration,
    Result<(BlockOutcome, ExecutionStats), ExecutionError>,
) {
    let start = Instant::now();
    let result = engine.execute_block_with_stats(env, txs, state);
    (start.elapsed(), result)
}

/// Median of `times` (sorted in place), in milliseconds; the index of the lower median.
/// Median of the per-run ratios `sequential[i] / parallel[i]`: each pair ran back to back, so
/// slow drift of a shared machine cancels out of every ratio.
fn paired_speedup(sequential: &[Duration], parallel: &[Duration]) -> f64 {
    let mut ratios: Vec<f64> = sequential
        .iter()
        .zip(parallel)
        .map(|(s, p)| s.as_secs_f64() / p.as_secs_f64())
        .filter(|ratio| ratio.is_finite())
        .collect();
    if ratios.is_empty() {
        return f64::NAN;
    }
    ratios.sort_unstable_by(f64::total_cmp);
    let mid = ratios.len() / 2;
    if ratios.len() % 2 == 1 {
        ratios[mid]
    } else {
        (ratios[mid - 1] + ratios[mid]) / 2.0
    }
}

fn median_ms(times: &[Duration]) -> (f64, usize) {
    let mut order: Vec<usize> = (0..times.len()).collect();
    order.sort_by_key(|&i| times[i]);
    let ms = |i: usize| times[order[i]].as_secs_f64() * 1e3;
    let mid = order.len() / 2;
    if order.len() % 2 == 1 {
        (ms(mid), order[mid])
    } else {
        ((ms(mid - 1) + ms(mid)) / 2.0, order[mid - 1])
    }
}

/// Builds workload `kind` and benchmarks both engines on it (see the module docs).
pub fn bench_executor(
    kind: WorkloadKind,
    txs: usize,
    seed: u64,
    threads: usize,
    runs: usize,
) -> Result<ExecutorReport, BenchError> {
    let workload = build(kind, txs, seed);
    let Workload {
        env,
        txs: block,
        state,
        ..
    } = &workload;
    let parallel = BlockStm::new(threads);
    let execution = |engine: &'static str| {
        move |source| BenchError::Execution {
            engine,
            workload: kind,
            source,
        }
    };
    let mismatch = |difference: String| BenchError::Mismatch {
        workload: kind,
        txs,
        seed,
        threads,
        difference,
    };

    // Warm-up, which also fixes the reference outcome.
    let (_, reference) = timed(&Sequential, env, block, state);
    let (reference, _) = reference.map_err(execution("Sequential"))?;
    let check = |result: Result<(BlockOutcome, ExecutionStats), ExecutionError>| {
        let (outcome, stats) = result.map_err(execution("Block-STM"))?;
        match first_difference(&reference, &outcome) {
            None => Ok(stats),
            Some(difference) => Err(mismatch(difference)),
        }
    };
    check(timed(&parallel, env, block, state).1)?;

    let mut sequential_times = Vec::with_capacity(runs);
    let mut parallel_times = Vec::with_capacity(runs);
    let mut parallel_stats = Vec::with_capacity(runs);
    for _ in 0..runs {
        let (time, result) = timed(&Sequential, env, block, state);
        let (outcome, _) = result.map_err(execution("Sequential"))?;
        if let Some(difference) = first_difference(&reference, &outcome) {
            return Err(BenchError::NonDeterministic {
                workload: kind,
                difference,
            });
        }
        sequential_times.push(time);
        let (time, result) = timed(&parallel, env, block, state);
        parallel_stats.push(check(result)?);
        parallel_times.push(time);
    }
    let (sequential_ms, _) = median_ms(&sequential_times);
    let (parallel_ms, median_run) = median_ms(&parallel_times);
    let stats = parallel_stats[median_run];
    Ok(ExecutorReport {
        workload: kind.name().to_owned(),
        txs,
        threads,
        runs,
        seed,
        gas_used: reference.gas_used,
        sequential_ms,
        parallel_ms,
        speedup: paired_speedup(&sequential_times, &parallel_times),
        gas_per_sec: reference.gas_used as f64 / (parallel_ms / 1e3),
        executions: stats.executions,
        aborts: stats.aborts,
        validations: stats.validations,
        fell_back_to_sequential: stats.fell_back_to_sequential,
    })
}

/// Describes the first difference between two outcomes, or `None` when they are equal.
pub fn first_difference(expected: &BlockOutcome, actual: &BlockOutcome) -> Option<String> {
    if expected == actual {
        return None;
    }
    if expected.receipts.len() != actual.receipts.len() {
        return Some(format!(
            "{} receipts instead of {}",
            actual.receipts.len(),
            expected.receipts.len()
        ));
    }
    for (index, (want, got)) in expected.receipts.iter().zip(&actual.receipts).enumerate() {
        if want != got {
            return Some(format!(
                "receipt of tx {index}: expected {want:?}, got {got:?}"
            ));
        }
    }
    if expected.gas_used != actual.gas_used {
        return Some(format!(
            "gas used {} instead of {}",
            actual.gas_used, expected.gas_used
        ));
    }
    let (want, got) = (&expected.state_changes, &actual.state_changes);
    for address in want.accounts.keys().chain(got.accounts.keys()) {
        let (a, b) = (want.accounts.get(address), got.accounts.get(address));
        if a != b {
            return Some(format!(
                "state change of {address}: expected {a:?}, got {b:?}"
            ));
        }
    }
    for hash in want.contracts.keys().chain(got.contracts.keys()) {
        if want.contracts.get(hash) != got.contracts.get(hash) {
            return Some(format!("deployed code {hash} differs"));
        }
    }
    Some("outcomes differ".to_owned())
}

/// One block of `parallax bench blocks`.
#[derive(Clone, Debug, Serialize)]
pub struct BlockReport {
    /// Block number.
    pub number: u64,
    /// Transactions.
    pub txs: usize,
    /// Gas used according to the header.
    pub gas_used: u64,
    /// Median sequential time, milliseconds (0 when the block failed before timing).
    pub sequential_ms: f64,
    /// Median Block-STM time, milliseconds.
    pub parallel_ms: f64,
    /// Median over the runs of `sequential / parallel`, each pair timed back to back (robust
    /// against the machine's speed drifting during the benchmark).
    pub speedup: f64,
    /// Block-STM executions of the median run.
    pub executions: u64,
    /// Block-STM aborts of the median run.
    pub aborts: u64,
    /// Block-STM validations of the median run.
    pub validations: u64,
    /// Whether Block-STM ran (or fell back to running) the block sequentially.
    pub fell_back_to_sequential: bool,
    /// Whether both engines agree with each other and with the header.
    pub ok: bool,
    /// What went wrong, if anything.
    pub errors: Vec<String>,
}

impl BlockReport {
    /// One line of the text report.
    pub fn to_line(&self) -> String {
        let mut line = format!(
            "block {:>9}  txs {:>5}  gas {:>9}  seq {:>9.3} ms  par {:>9.3} ms  {:>5.2}x  {}{}",
            self.number,
            self.txs,
            self.gas_used,
            self.sequential_ms,
            self.parallel_ms,
            self.speedup,
            if self.ok { "OK" } else { "FAIL" },
            if self.fell_back_to_sequential {
                "  (sequential)"
            } else {
                ""
            },
        );
        for error in &self.errors {
            line.push_str("\n    ");
            line.push_str(error);
        }
        line
    }
}

/// Result of `parallax bench blocks`.
#[derive(Clone, Debug, Serialize)]
pub struct BlocksReport {
    /// Block-STM worker threads.
    pub threads: usize,
    /// Timed runs per engine and block.
    pub runs: usize,
    /// Every block, in number order.
    pub blocks: Vec<BlockReport>,
    /// Blocks that failed.
    pub failed: usize,
    /// Geometric mean of the speedups of passing blocks with transactions.
    pub geomean_speedup: f64,
    /// Smallest of those speedups.
    pub min_speedup: f64,
    /// Largest of those speedups.
    pub max_speedup: f64,
    /// Sum of the sequential medians, milliseconds.
    pub total_sequential_ms: f64,
    /// Sum of the Block-STM medians, milliseconds.
    pub total_parallel_ms: f64,
    /// Total gas of all blocks.
    pub total_gas: u64,
}

impl BlocksReport {
    /// Summary lines of the text report.
    pub fn summary_text(&self) -> String {
        format!(
            "{} blocks, {} failed, Block-STM with {} threads, median of {} runs\n\
             total: sequential {:.3} ms, block-stm {:.3} ms ({:.2}x overall, {:.1} Mgas/s)\n\
             speedup per block: geomean {:.3}x, min {:.3}x, max {:.3}x\n",
            self.blocks.len(),
            self.failed,
            self.threads,
            self.runs,
            self.total_sequential_ms,
            self.total_parallel_ms,
            self.total_sequential_ms / self.total_parallel_ms,
            self.total_gas as f64 / (self.total_parallel_ms / 1e3) / 1e6,
            self.geomean_speedup,
            self.min_speedup,
            self.max_speedup,
        )
    }
}

/// Runs every block of `dir` with both engines, checking them against each other and the
/// header; `on_block` gets each block's line as soon as it is done.
pub fn bench_blocks(
    dir: &Path,
    threads: usize,
    runs: usize,
    mut on_block: impl FnMut(&str),
) -> Result<BlocksReport, BenchError> {
    let blocks = load_blocks(dir)?;
    let parallel = BlockStm::new(threads);
    let mut reports = Vec::with_capacity(blocks.len());
    for block in &blocks {
        let report = bench_block(block, &parallel, runs);
        on_block(&report.to_line());
        reports.push(report);
    }
    let speedups: Vec<f64> = reports
        .iter()
        .filter(|report| report.ok && report.txs > 0 && report.speedup.is_finite())
        .map(|report| report.speedup)
        .collect();
    let geomean_speedup = if speedups.is_empty() {
        f64::NAN
    } else {
        (speedups.iter().map(|s| s.ln()).sum::<f64>() / speedups.len() as f64).exp()
    };
    Ok(BlocksReport {
        threads,
        runs,
        failed: reports.iter().filter(|report| !report.ok).count(),
        geomean_speedup,
        min_speedup: speedups.iter().copied().fold(f64::INFINITY, f64::min),
        max_speedup: speedups.iter().copied().fold(f64::NEG_INFINITY, f64::max),
        total_sequential_ms: reports.iter().map(|report| report.sequential_ms).sum(),
        total_parallel_ms: reports.iter().map(|report| report.parallel_ms).sum(),
        total_gas: reports.iter().map(|report| report.gas_used).sum(),
        blocks: reports,
    })
}

/// Benchmarks and checks one mainnet block.
fn bench_block(block: &MainnetBlock, parallel: &BlockStm, runs: usize) -> BlockReport {
    let mut report = BlockReport {
        number: block.number,
        txs: block.txs.len(),
        gas_used: block.expected.gas_used,
        sequential_ms: 0.0,
        parallel_ms: 0.0,
        speedup: 0.0,
        executions: 0,
        aborts: 0,
        validations: 0,
        fell_back_to_sequential: false,
        ok: false,
        errors: Vec::new(),
    };
    let (env, txs, state) = (&block.env, &block.txs[..], &block.state);
    let reference = match timed(&Sequential, env, txs, state).1 {
        Ok((outcome, _)) => outcome,
        Err(error) => {
            report.errors.push(format!("Sequential: {error}"));
            return report;
        }
    };
    report.errors.extend(
        block
            .header_mismatches(&reference)
            .into_iter()
            .map(|m| format!("Sequential: {m}")),
    );
    let check_parallel = |result: Result<(BlockOutcome, ExecutionStats), ExecutionError>,
                          errors: &mut Vec<String>| match result {
        Ok((outcome, stats)) => {
            if let Some(difference) = first_difference(&reference, &outcome) {
                errors.push(format!("Block-STM differs from Sequential: {difference}"));
            }
            Some(stats)
        }
        Err(error) => {
            errors.push(format!("Block-STM: {error}"));
            None
        }
    };
    if check_parallel(timed(parallel, env, txs, state).1, &mut report.errors).is_none() {
        return report;
    }
    let mut sequential_times = Vec::with_capacity(runs);
    let mut parallel_times = Vec::with_capacity(runs);
    let mut parallel_stats = Vec::with_capacity(runs);
    for _ in 0..runs {
        let (time, result) = timed(&Sequential, env, txs, state);
        match result {
            Ok((outcome, _)) if outcome == reference => {}
            Ok(_) => report
                .errors
                .push("Sequential is not deterministic".to_owned()),
            Err(error) => report.errors.push(format!("Sequential: {error}")),
        }
        sequential_times.push(time);
        let (time, result) = timed(parallel, env, txs, state);
        let Some(stats) = check_parallel(result, &mut report.errors) else {
            return report;
        };
        parallel_times.push(time);
        parallel_stats.push(stats);
    }
    report.errors.dedup();
    let (sequential_ms, _) = median_ms(&sequential_times);
    let (parallel_ms, median_run) = median_ms(&parallel_times);
    let stats = parallel_stats[median_run];
    report.sequential_ms = sequential_ms;
    report.parallel_ms = parallel_ms;
    report.speedup = paired_speedup(&sequential_times, &parallel_times);
    report.executions = stats.executions;
    report.aborts = stats.aborts;
    report.validations = stats.validations;
    report.fell_back_to_sequential = stats.fell_back_to_sequential;
    report.ok = report.errors.is_empty();
    report
}
