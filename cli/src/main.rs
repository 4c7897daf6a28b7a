//! `parallax`: the Parallax rollup's command-line tool.

use std::{path::PathBuf, process::ExitCode, time::Instant};

use clap::{Args, CommandFactory, Parser, Subcommand, ValueEnum};
use parallax_cli::ethtest::{self, RunOptions};
use parallax_executor::{BlockStm, Engine};
use parallax_state::store::SqlStore;

/// See the workspace manifest for why the binary does not use the system allocator.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

mod batcher_cmd;
mod challenger_cmd;

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
    /// Run the sequencer node (JSON-RPC, mempool, block production), or a replica (--follow).
    Sequencer(SequencerArgs),
    /// Post the sequencer's blocks to L1 (calldata, blobs or auto) and, with --proposer,
    /// propose output roots.
    Batcher(batcher_cmd::BatcherArgs),
    /// Propose output roots to L1's OutputOracle (and defend them in dispute games) as a
    /// process of its own: `parallax batcher`'s flags, with --proposer-key; no batching.
    Proposer(batcher_cmd::BatcherArgs),
    /// Derive the L2 chain from L1 alone, challenge wrong output roots and play the dispute
    /// games down to the one-step proof.
    Challenger(challenger_cmd::ChallengerArgs),
    /// The whole rollup on this machine: anvil as L1, the contracts, a sequencer and a replica.
    Devnet(parallax_cli::devnet::DevnetArgs),
    /// Soak test on loopback: sustained transfer load while the sequencer, the batcher, the
    /// proposer and the replica are SIGKILLed and restarted at random moments; then checks that
    /// no accepted transaction was lost, the replica agrees, every block is on L1 exactly once
    /// and every proposal is correct and in sequence. Non-zero exit on failure.
    Soak(parallax_cli::soak::SoakArgs),
    /// A local Celestia-compatible node (blob.Submit/Get/GetAll over JSON-RPC, real share
    /// commitments) for devnets and tests.
    CelestiaServer(parallax_cli::celestia::CelestiaServerArgs),
}

#[derive(Debug, Args)]
struct SequencerArgs {
    /// TOML file of these settings (keys are the flag names); flags and PARALLAX_* variables
    /// override it.
    #[arg(long, env = "PARALLAX_CONFIG")]
    config: Option<PathBuf>,
    /// Development genesis: the ten `test … junk` mnemonic accounts funded with 10,000 ETH each.
    /// Without --l1-rpc, a standalone chain (chain id 901 unless set) with no L1.
    #[arg(long, env = "PARALLAX_DEV")]
    dev: bool,
    /// Rollup configuration (JSON, as `parallax devnet` writes it): chain id, block time,
    /// contract addresses and the genesis anchor on L1. Required with --l1-rpc; overrides
    /// --chain-id and --block-time.
    #[arg(long, env = "PARALLAX_ROLLUP_CONFIG")]
    rollup_config: Option<PathBuf>,
    /// L1 JSON-RPC endpoint: follow L1 for origins and deposits, and derive the safe head.
    #[arg(long, env = "PARALLAX_L1_RPC")]
    l1_rpc: Option<String>,
    /// L1 blocks that must be built on an L1 block before it becomes an L2 origin.
    #[arg(long, env = "PARALLAX_L1_CONFIRMATIONS", default_value_t = 2)]
    l1_confirmations: u64,
    /// Run as a read-only replica: derive every block from L1 (needs --l1-rpc), sequence nothing.
    #[arg(long, env = "PARALLAX_FOLLOW")]
    follow: bool,
    /// Where derivation reads Celestia batches (chains whose batcher posts to Celestia).
    #[command(flatten)]
    celestia: parallax_cli::celestia::CelestiaArgs,
    /// Where derivation reads blobs: `beacon:URL` (the L1 consensus node's blob sidecar API),
    /// `anvil` (the devnet's L1) or `none` (calldata-only chains), then any number of archives
    /// for pruned blobs: `,archive:URL` (beacon sidecar API) or `,archive-dir:PATH`.
    #[arg(long, env = "PARALLAX_BLOB_SOURCE", default_value = "none")]
    blob_source: parallax_l1::BlobSourceSpec,
    /// Genesis file (geth/anvil format); required without --dev.
    #[arg(long, env = "PARALLAX_GENESIS")]
    genesis: Option<PathBuf>,
    /// Data directory (the SQLite chain database lives here).
    #[arg(long, env = "PARALLAX_DATADIR", default_value = "./parallax-data")]
    datadir: PathBuf,
    /// Chain database URL (overrides the SQLite file under --datadir), e.g. postgres://…
    #[arg(long, env = "PARALLAX_DATABASE_URL")]
    database_url: Option<String>,
    /// JSON-RPC listen address.
    #[arg(long, env = "PARALLAX_HTTP_ADDR", default_value = "127.0.0.1")]
    http_addr: std::net::IpAddr,
    /// JSON-RPC port.
    #[arg(long, env = "PARALLAX_HTTP_PORT", default_value_t = 8545)]
    http_port: u16,
    /// Milliseconds between blocks (at least 100).
    #[arg(long, env = "PARALLAX_BLOCK_TIME_MS", default_value_t = 1_000, value_parser = clap::value_parser!(u64).range(100..))]
    block_time: u64,
    /// L2 chain id.
    #[arg(long, env = "PARALLAX_CHAIN_ID", default_value_t = 901)]
    chain_id: u64,
    /// Block-STM worker threads (default: available parallelism).
    #[arg(long, env = "PARALLAX_THREADS")]
    threads: Option<usize>,
    /// Port of the Prometheus metrics endpoint (`/metrics`, same address as RPC); 0 disables it.
    #[arg(long, env = "PARALLAX_METRICS_PORT", default_value_t = 9545)]
    metrics_port: u16,
    /// Value of Access-Control-Allow-Origin for browser dApps (e.g. `*`).
    #[arg(long, env = "PARALLAX_CORS")]
    cors: Option<String>,
    /// Port of the admin JSON-RPC (admin_stopSequencer, admin_startSequencer,
    /// admin_sequencerActive; same address as RPC). Needs --admin-jwt-secret; off when unset.
    #[arg(long, env = "PARALLAX_ADMIN_PORT", requires = "admin_jwt_secret")]
    admin_port: Option<u16>,
    /// File holding the admin port's HS256 JWT secret: 32 bytes as 64 hex digits, as geth's
    /// `jwt.hex` (create one with `openssl rand -hex 32`).
    #[arg(long, env = "PARALLAX_ADMIN_JWT_SECRET")]
    admin_jwt_secret: Option<PathBuf>,
    /// Unposted DA bytes (the batcher reports them with admin_setDaBacklog) above which new
    /// transactions are refused until the batcher catches up; 0: no limit.
    #[arg(long, env = "PARALLAX_MAX_DA_BACKLOG", default_value_t = 0)]
    max_da_backlog: u64,
    /// Start with sequencing stopped (resume it with admin_startSequencer).
    #[arg(long, env = "PARALLAX_SEQUENCER_STOPPED")]
    sequencer_stopped: bool,
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

/// Subcommands that take `--config FILE`.
const CONFIGURABLE: &[&str] = &["sequencer", "batcher", "challenger"];

/// Exports a service's `--config FILE` as environment defaults before clap parses (see
/// `parallax_cli::config_file`).
fn load_config_file() -> eyre::Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let Some(name) = args
        .first()
        .filter(|name| CONFIGURABLE.contains(&name.as_str()))
    else {
        return Ok(());
    };
    let Some(path) = parallax_cli::config_file::config_path(&args[1..]) else {
        return Ok(());
    };
    let command = Cli::command();
    let Some(subcommand) = command.find_subcommand(name) else {
        return Ok(());
    };
    for (key, value) in parallax_cli::config_file::environment_from_file(&path, subcommand)? {
        // Single-threaded here: nothing else reads the environment yet.
        std::env::set_var(key, value);
    }
    Ok(())
}

fn main() -> eyre::Result<ExitCode> {
    load_config_file()?;
    match Cli::parse().command {
        Command::Ethtest(args) => run_ethtest(args),
        Command::Bench(command) => {
            parallax_cli::bench::run(&command)?;
            Ok(ExitCode::SUCCESS)
        }
        Command::Sequencer(args) => run_sequencer(args),
        Command::Batcher(args) => {
            init_tracing();
            batcher_cmd::run(args, batcher_cmd::Services::Batcher)
        }
        Command::Proposer(args) => {
            init_tracing();
            batcher_cmd::run(args, batcher_cmd::Services::ProposerOnly)
        }
        Command::Challenger(args) => {
            init_tracing();
            challenger_cmd::run(args)
        }
        Command::CelestiaServer(args) => {
            init_tracing();
            parallax_cli::celestia::run_server(args)?;
            Ok(ExitCode::SUCCESS)
        }
        Command::Devnet(args) => {
            init_tracing();
            parallax_cli::devnet::run(&args)?;
            Ok(ExitCode::SUCCESS)
        }
        Command::Soak(args) => {
            let report = parallax_cli::soak::run(&args)?;
            if args.json {
                println!("{}", serde_json::to_string_pretty(&report)?);
            } else {
                print!("{}", report.to_text());
            }
            Ok(if report.passed {
                ExitCode::SUCCESS
            } else {
                ExitCode::FAILURE
            })
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

/// The chain database: the given URL, or the SQLite file `chain.db` under `datadir`.
fn database_url(given: Option<&str>, datadir: &std::path::Path) -> String {
    given.map_or_else(
        || format!("sqlite:{}", datadir.join("chain.db").display()),
        str::to_owned,
    )
}

/// Logs to stderr, `info` unless RUST_LOG says otherwise.
fn init_tracing() {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info")),
        )
        .init();
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

fn run_sequencer(args: SequencerArgs) -> eyre::Result<ExitCode> {
    use parallax_sequencer::{genesis, node, origin};
    init_tracing();
    std::fs::create_dir_all(&args.datadir)?;
    let database_url = crate::database_url(args.database_url.as_deref(), &args.datadir);
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    let store = runtime.block_on(SqlStore::open(&database_url))?;
    let mut rollup = match &args.rollup_config {
        Some(path) => {
            serde_json::from_str::<parallax_protocol::RollupConfig>(&std::fs::read_to_string(path)?)
                .map_err(|error| eyre::eyre!("{}: {error}", path.display()))?
        }
        None => {
            eyre::ensure!(
                args.l1_rpc.is_none(),
                "--l1-rpc needs --rollup-config (the contract addresses and genesis anchor)"
            );
            parallax_protocol::RollupConfig {
                l2_chain_id: args.chain_id,
                block_time_ms: args.block_time,
                ..Default::default()
            }
        }
    };
    let genesis = match (&args.genesis, args.dev) {
        (Some(path), _) => genesis::Genesis::from_json(&std::fs::read_to_string(path)?)?,
        // On L1 the genesis time is the one the contracts were deployed with.
        (None, true) if args.rollup_config.is_some() => {
            genesis::Genesis::dev(rollup.genesis.l2_timestamp)?
        }
        (None, true) => genesis::Genesis::dev(runtime.block_on(node::genesis_time(&store))?)?,
        (None, false) => eyre::bail!("give --genesis FILE, or --dev for a development chain"),
    };
    if args.rollup_config.is_none() {
        rollup.genesis.l2_timestamp = genesis.timestamp;
    }
    rollup.validate()?;
    eyre::ensure!(
        !args.follow || args.l1_rpc.is_some(),
        "--follow derives the chain from L1: give --l1-rpc"
    );
    let threads = args
        .threads
        .unwrap_or_else(|| std::thread::available_parallelism().map_or(1, |n| n.get()));
    let mut config = node::NodeConfig::new(
        &rollup,
        std::net::SocketAddr::new(args.http_addr, args.http_port),
    );
    config.params.threads = threads;
    config.cors_origin = args.cors.clone();
    config.sequencer_active = !args.sequencer_stopped;
    config.max_da_backlog = args.max_da_backlog;
    if let Some(port) = args.admin_port {
        let path = args
            .admin_jwt_secret
            .as_ref()
            .ok_or_else(|| eyre::eyre!("--admin-port needs --admin-jwt-secret FILE"))?;
        let text = std::fs::read_to_string(path)
            .map_err(|error| eyre::eyre!("{}: {error}", path.display()))?;
        let jwt_secret = parallax_sequencer::rpc::admin::JwtSecret::parse(&text)
            .map_err(|error| eyre::eyre!("{}: {error}", path.display()))?;
        config.admin = Some(node::AdminConfig {
            addr: std::net::SocketAddr::new(args.http_addr, port),
            jwt_secret,
        });
    }
    config.metrics_addr = (args.metrics_port != 0)
        .then(|| std::net::SocketAddr::new(args.http_addr, args.metrics_port));
    runtime.block_on(async move {
        let roles = match &args.l1_rpc {
            None => node::Roles::sequencer(Box::new(origin::FixedOrigin::new(&rollup))),
            Some(url) => {
                let l1 = std::sync::Arc::new(parallax_l1::RpcL1::connect(url)?);
                let shared = std::sync::Arc::new(rollup.clone());
                let derivation = parallax_cli::celestia::deriver(
                    &shared,
                    l1.clone(),
                    std::sync::Arc::new(args.blob_source.open(l1.clone())?),
                    args.celestia.client(&rollup).await?,
                )?;
                node::Roles {
                    sequencer: (!args.follow).then(|| {
                        Box::new(origin::L1Origins::new(l1, shared, args.l1_confirmations))
                            as Box<dyn origin::OriginSelector>
                    }),
                    derivation: Some(derivation),
                }
            }
        };
        let running = node::start(store, &genesis, config, roles).await?;
        println!(
            "parallax {}: JSON-RPC on http://{}  chain id {}",
            if args.follow { "replica" } else { "sequencer" },
            running.rpc_addr,
            rollup.l2_chain_id
        );
        if args.dev {
            println!(
                "dev accounts (10,000 ETH each; mnemonic \"{}\"):",
                genesis::DEV_MNEMONIC
            );
            for (index, account) in genesis::dev_accounts()?.iter().enumerate() {
                println!(
                    "  ({index}) {}  key {}",
                    account.address, account.private_key
                );
            }
        }
        tokio::select! {
            result = parallax_cli::shutdown_signal() => {
                result?;
                tracing::info!("shutting down");
            }
            () = running.stopping() => {}
        }
        running.stop().await?;
        Ok::<_, eyre::Report>(())
    })?;
    Ok(ExitCode::SUCCESS)
}
