//! `parallax`: the Parallax rollup's command-line tool.

use std::{path::PathBuf, process::ExitCode, time::Instant};

use clap::{Args, Parser, Subcommand, ValueEnum};
use parallax_cli::ethtest::{self, RunOptions};
use parallax_executor::{BlockStm, Engine};
use parallax_state::store::SqlStore;

#[derive(Debug, Parser)]
#[command(name = "parallax", version, about = "Parallax optimistic rollup")]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Run Ethereum test vectors (GeneralStateTests, BlockchainTests, TrieTests) through the
    /// executor and state crate.
    Ethtest(EthtestArgs),
    /// Benchmark Block-STM against the sequential executor (synthetic workloads, mainnet blocks).
    #[command(subcommand)]
    Bench(parallax_cli::bench::BenchCommand),
    /// Chain database maintenance.
    #[command(subcommand)]
    Db(DbCommand),
}

#[derive(Debug, Subcommand)]
enum DbCommand {
    /// Create the schema or apply pending migrations (nodes also do this at start).
    Migrate {
        /// `sqlite:PATH` (created if missing) or `postgres://USER:PASS@HOST:PORT/DB`.
        #[arg(long, env = "PARALLAX_DATABASE_URL")]
        database_url: String,
    },
}

#[derive(Debug, Args)]
struct EthtestArgs {
    /// Execution engine.
    #[arg(long, value_enum, default_value_t = EngineKind::Blockstm)]
    engine: EngineKind,
    /// Worker threads of the Block-STM engine (default: available parallelism).
    #[arg(long)]
    threads: Option<usize>,
    /// Smallest block Block-STM runs in parallel; the runner defaults to 0 so that every
    /// multi-transaction block takes the parallel path.
    #[arg(long, default_value_t = 0)]
    min_parallel_txs: usize,
    /// Also print skipped cases with their reason, and the run time.
    #[arg(short, long)]
    verbose: bool,
    /// Fixture files or folders (searched recursively for `.json` files).
    #[arg(required = true)]
    paths: Vec<PathBuf>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
enum EngineKind {
    /// One transaction after the other (the reference).
    Sequential,
    /// Block-STM optimistic parallel execution.
    Blockstm,
}

fn main() -> eyre::Result<ExitCode> {
    match Cli::parse().command {
        Command::Ethtest(args) => run_ethtest(args),
        Command::Bench(command) => {
            parallax_cli::bench::run(&command)?;
            Ok(ExitCode::SUCCESS)
        }
        Command::Db(DbCommand::Migrate { database_url }) => {
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()?;
            runtime.block_on(async {
                let store = SqlStore::connect(&database_url).await?;
                let before = store.schema_version().await?;
                let after = store.migrate().await?;
                store.close().await;
                match before {
                    Some(before) if before == after => {
                        println!(
                            "{} database is up to date (schema {after})",
                            store.backend()
                        )
                    }
                    _ => println!("{} database migrated to schema {after}", store.backend()),
                }
                Ok::<_, eyre::Report>(())
            })?;
            Ok(ExitCode::SUCCESS)
        }
    }
}

fn run_ethtest(args: EthtestArgs) -> eyre::Result<ExitCode> {
    let engine = match args.engine {
        EngineKind::Sequential => Engine::Sequential,
        EngineKind::Blockstm => {
            let threads = args
                .threads
                .unwrap_or_else(|| std::thread::available_parallelism().map_or(1, |n| n.get()));
            Engine::BlockStm(BlockStm::new(threads).with_min_parallel_txs(args.min_parallel_txs))
        }
    };
    let started = Instant::now();
    let report = ethtest::run_paths(&args.paths, &RunOptions { engine })?;
    for case in &report.cases {
        let show = match case.status {
            ethtest::CaseStatus::Failed(_) => true,
            ethtest::CaseStatus::Skipped(_) => args.verbose,
            ethtest::CaseStatus::Passed => false,
        };
        if show {
            println!("{case}");
        }
    }
    if args.verbose {
        println!(
            "ran in {:.2?} with {engine:?}: {}",
            started.elapsed(),
            report.counters()
        );
    }
    println!("{}", report.summary());
    Ok(if report.failed() == 0 {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    })
}
