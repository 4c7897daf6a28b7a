//! `parallax batcher`: posts the sequencer's sealed blocks to L1 and, with `--proposer`, proposes
//! output roots, from the sequencer's chain store (SQLite in WAL mode lets this second process
//! read it while the sequencer writes; PostgreSQL works the same).
//!
//! `parallax proposer` runs the proposer alone, with the same flags: its own process, so that
//! it can be deployed, restarted and crash apart from the batcher (each keeps its own tx-manager
//! journal in the store, so the two never share a nonce or an intent).

use std::{
    future::Future, net::SocketAddr, path::PathBuf, process::ExitCode, sync::Arc, time::Duration,
};

use alloy::{
    primitives::Address,
    providers::{DynProvider, Provider, ProviderBuilder},
    signers::local::PrivateKeySigner,
};
use clap::{Args, ValueEnum};
use parallax_batcher::{
    da::{AutoDa, AutoPolicy, BlobDa, CalldataDa, CelestiaDa, DaClient, FallbackPolicy},
    metrics, AdminRpcBacklog, BacklogReporter, Batcher, BatcherConfig, CostModel, DefendConfig,
    Metrics, ProposeAfter, Proposer, ProposerConfig, TxManager, TxManagerConfig,
};
use parallax_contracts::{Portal, SystemConfig};
use parallax_protocol::admin_auth::JwtSecret;
use parallax_protocol::RollupConfig;
use parallax_state::store::SqlStore;

#[derive(Debug, Args)]
pub(crate) struct BatcherArgs {
    /// TOML file of these settings (keys are the flag names, e.g. `deploy/config/batcher.toml`);
    /// flags and PARALLAX_* variables override it.
    #[arg(long, env = "PARALLAX_CONFIG")]
    config: Option<PathBuf>,
    /// L1 JSON-RPC endpoint (http or https).
    #[arg(long, env = "PARALLAX_L1_RPC")]
    l1_rpc: reqwest::Url,
    /// Data directory of the sequencer (its SQLite chain database is read and the journals
    /// written there).
    #[arg(long, env = "PARALLAX_DATADIR", default_value = "./parallax-data")]
    datadir: PathBuf,
    /// Chain database URL (overrides the SQLite file under --datadir), e.g. postgres://…
    #[arg(long, env = "PARALLAX_DATABASE_URL")]
    database_url: Option<String>,
    /// Rollup configuration (JSON, the protocol's `RollupConfig`); the devnet defaults without.
    #[arg(long, env = "PARALLAX_ROLLUP_CONFIG")]
    rollup_config: Option<PathBuf>,
    /// Batcher key (hex, or @FILE holding it); must be the SystemConfig's batcher. Required by
    /// `parallax batcher`; `parallax proposer` does not batch and ignores it.
    #[arg(long, env = "PARALLAX_BATCHER_KEY", hide_env_values = true)]
    batcher_key: Option<String>,
    /// Where frames go.
    #[arg(long, env = "PARALLAX_DA", value_enum, default_value_t = DaKind::Calldata)]
    da: DaKind,
    /// The Celestia node `--da celestia` submits to.
    #[command(flatten)]
    celestia: parallax_cli::celestia::CelestiaArgs,
    /// `--da celestia`: seconds of Celestia failures after which channels go to Ethereum DA
    /// (calldata or blobs by L1 prices, as `--da auto`) until Celestia answers again. Without
    /// it an outage stalls posting until Celestia is back.
    #[arg(long, env = "PARALLAX_CELESTIA_FALLBACK_AFTER")]
    celestia_fallback_after: Option<u64>,
    /// Also run the proposer (`parallax proposer` always does, and only it).
    #[arg(long, env = "PARALLAX_PROPOSER")]
    proposer: bool,
    /// Proposer key (hex, or @FILE holding it); must be the SystemConfig's proposer. Required
    /// with --proposer.
    #[arg(long, env = "PARALLAX_PROPOSER_KEY", hide_env_values = true)]
    proposer_key: Option<String>,
    /// Which blocks the proposer may propose: `safe` (the safe head the sequencer's
    /// derivation moves) or `confirmed-frames` (covered by confirmed batcher transactions, for a
    /// sequencer that does not follow L1).
    #[arg(long, env = "PARALLAX_PROPOSE_AFTER", value_enum, default_value_t = ProposeAfterArg::Safe)]
    propose_after: ProposeAfterArg,
    /// DEMO ONLY: the first proposal at or after this L2 block posts a wrong output root and
    /// defends it in the dispute game with a consistent fake trace (`parallax devnet
    /// --malicious-proposer`), to watch a challenger prove it wrong. Never set in production.
    #[arg(long, env = "PARALLAX_MALICIOUS_PROPOSER_FROM")]
    malicious_proposer_from: Option<u64>,
    /// OutputOracle address (default: the Portal's oracle).
    #[arg(long, env = "PARALLAX_OUTPUT_ORACLE")]
    output_oracle: Option<Address>,
    /// L1 blocks an inclusion needs before it counts (the including block is one).
    #[arg(long, env = "PARALLAX_L1_CONFIRMATIONS", default_value_t = 4)]
    l1_confirmations: u64,
    /// Seconds without inclusion before a transaction is replaced with higher fees.
    #[arg(long, env = "PARALLAX_RESUBMIT_AFTER", default_value_t = 48)]
    resubmit_after: u64,
    /// Highest fee per gas ever signed, in gwei.
    #[arg(long, env = "PARALLAX_MAX_FEE_GWEI", default_value_t = 2_000)]
    max_fee_gwei: u64,
    /// Seconds after which a channel that is not full is posted anyway.
    #[arg(long, env = "PARALLAX_MAX_CHANNEL_DURATION", default_value_t = 120)]
    max_channel_duration: u64,
    /// Milliseconds between steps.
    #[arg(long, env = "PARALLAX_POLL_INTERVAL_MS", default_value_t = 1_000)]
    poll_interval_ms: u64,
    /// Compression level (zstd 1..=19, brotli 0..=11; default per algorithm).
    #[arg(long, env = "PARALLAX_COMPRESSION_LEVEL")]
    compression_level: Option<u32>,
    /// `auto`: how much cheaper (percent) the other backend must be to switch.
    #[arg(long, env = "PARALLAX_AUTO_MARGIN_PERCENT", default_value_t = 20)]
    auto_margin_percent: u128,
    /// `auto`: for how many consecutive channel decisions.
    #[arg(long, env = "PARALLAX_AUTO_CONSECUTIVE", default_value_t = 3)]
    auto_consecutive: u32,
    /// Calldata gas per byte the `auto` cost model uses (16 on Cancun, 40 under Prague's
    /// EIP-7623 floor).
    #[arg(long, env = "PARALLAX_CALLDATA_GAS_PER_BYTE", default_value_t = 16)]
    calldata_gas_per_byte: u128,
    /// Listen address of the metrics endpoint.
    #[arg(long, env = "PARALLAX_METRICS_ADDR", default_value = "127.0.0.1")]
    metrics_addr: std::net::IpAddr,
    /// Port of the Prometheus metrics endpoint (`/metrics`); 0 disables it.
    #[arg(long, env = "PARALLAX_BATCHER_METRICS_PORT", default_value_t = 9546)]
    metrics_port: u16,
    /// The sequencer's admin JSON-RPC (its --admin-port), to report the DA backlog to
    /// (`admin_setDaBacklog`; the sequencer refuses new transactions while it is over its
    /// --max-da-backlog). Needs --sequencer-jwt-secret; without it nothing is reported.
    #[arg(
        long,
        env = "PARALLAX_SEQUENCER_ADMIN_RPC",
        requires = "sequencer_jwt_secret"
    )]
    sequencer_admin_rpc: Option<reqwest::Url>,
    /// File holding the sequencer admin port's JWT secret (64 hex digits, the sequencer's
    /// --admin-jwt-secret).
    #[arg(long, env = "PARALLAX_SEQUENCER_JWT_SECRET")]
    sequencer_jwt_secret: Option<PathBuf>,
    /// Seconds between DA backlog reports when it does not change (it is also reported on every
    /// change).
    #[arg(long, env = "PARALLAX_BACKLOG_REPORT_INTERVAL", default_value_t = 5, value_parser = clap::value_parser!(u64).range(1..))]
    backlog_report_interval: u64,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
enum DaKind {
    /// Calldata of transactions to the batch inbox.
    Calldata,
    /// EIP-4844 blobs.
    Blobs,
    /// Calldata or blobs, whichever L1 prices make cheaper (with hysteresis).
    Auto,
    /// A Celestia blob per channel, its pointer in calldata (needs --celestia-url).
    Celestia,
}

/// A private key given as hex, or as `@FILE` holding the hex (keeps it out of the process list
/// and the environment).
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
enum ProposeAfterArg {
    /// Blocks at or below the safe head.
    Safe,
    /// Blocks covered by confirmed frames.
    ConfirmedFrames,
}

pub(crate) fn parse_key(value: &str, flag: &str) -> eyre::Result<PrivateKeySigner> {
    let hex = match value.strip_prefix('@') {
        Some(path) => std::fs::read_to_string(path)
            .map_err(|error| eyre::eyre!("{flag}: cannot read {path}: {error}"))?,
        None => value.to_string(),
    };
    // The error never echoes the key.
    hex.trim()
        .parse()
        .map_err(|_| eyre::eyre!("{flag} is not a hex secp256k1 private key"))
}

/// Which services one `parallax batcher` / `parallax proposer` process runs.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Services {
    /// `parallax batcher`: the batcher, and the proposer with `--proposer`.
    Batcher,
    /// `parallax proposer`: the proposer alone.
    ProposerOnly,
}

pub(crate) fn run(mut args: BatcherArgs, services: Services) -> eyre::Result<ExitCode> {
    let rollup = match &args.rollup_config {
        Some(path) => serde_json::from_str::<RollupConfig>(&std::fs::read_to_string(path)?)?,
        None => RollupConfig::default(),
    };
    rollup.validate()?;
    let batcher_key = match services {
        Services::Batcher => Some(parse_key(
            args.batcher_key
                .as_deref()
                .ok_or_else(|| eyre::eyre!("parallax batcher needs --batcher-key"))?,
            "--batcher-key",
        )?),
        Services::ProposerOnly => {
            args.proposer = true;
            None
        }
    };
    let proposer_key = match (args.proposer, &args.proposer_key) {
        (true, Some(key)) => Some(parse_key(key, "--proposer-key")?),
        (true, None) => eyre::bail!("--proposer needs --proposer-key"),
        (false, _) => None,
    };
    let backlog = match (&args.sequencer_admin_rpc, &args.sequencer_jwt_secret) {
        (Some(url), Some(path)) => {
            let text = std::fs::read_to_string(path)
                .map_err(|error| eyre::eyre!("{}: {error}", path.display()))?;
            let secret = JwtSecret::parse(&text)
                .map_err(|error| eyre::eyre!("{}: {error}", path.display()))?;
            Some((url.clone(), secret))
        }
        (Some(_), None) => eyre::bail!("--sequencer-admin-rpc needs --sequencer-jwt-secret FILE"),
        (None, _) => None,
    };
    let database_url = crate::database_url(args.database_url.as_deref(), &args.datadir);
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    runtime.block_on(serve(
        args,
        rollup,
        batcher_key,
        proposer_key,
        backlog,
        database_url,
    ))?;
    Ok(ExitCode::SUCCESS)
}

async fn serve(
    args: BatcherArgs,
    rollup: RollupConfig,
    batcher_key: Option<PrivateKeySigner>,
    proposer_key: Option<PrivateKeySigner>,
    backlog: Option<(reqwest::Url, JwtSecret)>,
    database_url: String,
) -> eyre::Result<()> {
    let store = SqlStore::open(&database_url).await?;
    let provider: DynProvider = ProviderBuilder::new()
        .connect_http(args.l1_rpc.clone())
        .erased();
    let txmgr_config = |purpose: &str| TxManagerConfig {
        purpose: purpose.into(),
        confirmations: args.l1_confirmations.max(1),
        resubmit_after: Duration::from_secs(args.resubmit_after),
        max_fee_per_gas: u128::from(args.max_fee_gwei) * 1_000_000_000,
        ..TxManagerConfig::default()
    };
    let metrics = Arc::new(Metrics::default());
    let (shutdown, stop) = tokio::sync::watch::channel(false);
    let mut tasks = Vec::new();
    if args.metrics_port != 0 {
        let (addr, server) = metrics::serve(
            SocketAddr::new(args.metrics_addr, args.metrics_port),
            {
                let metrics = metrics.clone();
                move || metrics.render()
            },
            stop.clone(),
        )
        .await?;
        println!("metrics on http://{addr}/metrics");
        tasks.push(tokio::spawn(async move {
            server.await??;
            Ok::<_, eyre::Report>(())
        }));
    }

    if let Some(batcher_key) = batcher_key {
        start_batching(
            &args,
            &rollup,
            &store,
            &provider,
            batcher_key,
            txmgr_config("batcher"),
            &metrics,
            backlog,
            &stop,
            &mut tasks,
        )
        .await?;
    }
    if let Some(key) = proposer_key {
        let oracle = output_oracle(args.output_oracle, &rollup, &provider).await?;
        let txmgr = TxManager::new(
            store.clone(),
            provider.clone(),
            key,
            txmgr_config("proposer"),
        )
        .await?;
        let proposer = Proposer::new(
            store.clone(),
            txmgr,
            ProposerConfig {
                oracle,
                genesis: rollup.genesis.l2.number,
                poll_interval: Duration::from_millis(args.poll_interval_ms.max(10)),
                after: match args.propose_after {
                    ProposeAfterArg::Safe => ProposeAfter::SafeHead,
                    ProposeAfterArg::ConfirmedFrames => ProposeAfter::ConfirmedFrames,
                },
                defend: Some(DefendConfig {
                    rollup: rollup.clone(),
                    malicious_from: args.malicious_proposer_from,
                    lie: DefendConfig::balance_lie(),
                }),
            },
            metrics.clone(),
        )
        .await?;
        let stop = stop.clone();
        tasks.push(tokio::spawn(async move {
            proposer.run(stop).await?;
            Ok(())
        }));
        println!("proposer posting to OutputOracle {oracle}");
    }

    let failed = tokio::select! {
        result = tokio::signal::ctrl_c() => {
            result?;
            tracing::info!("shutting down");
            None
        }
        finished = first_exit(&mut tasks) => finished,
    };
    let _ = shutdown.send(true);
    for task in tasks {
        match task.await {
            Ok(Err(error)) => tracing::error!(%error, "service failed"),
            Err(error) => tracing::error!(%error, "service panicked"),
            Ok(Ok(())) => {}
        }
    }
    store.close().await;
    match failed {
        Some(error) => Err(error),
        None => Ok(()),
    }
}

/// Checks the batcher key against the SystemConfig and starts the batcher on `args.da`.
#[allow(clippy::too_many_arguments)]
async fn start_batching(
    args: &BatcherArgs,
    rollup: &RollupConfig,
    store: &SqlStore,
    provider: &DynProvider,
    batcher_key: PrivateKeySigner,
    txmgr_config: TxManagerConfig,
    metrics: &Arc<Metrics>,
    backlog: Option<(reqwest::Url, JwtSecret)>,
    stop: &tokio::sync::watch::Receiver<bool>,
    tasks: &mut Vec<Task>,
) -> eyre::Result<()> {
    let system_config = SystemConfig::new(rollup.system_config_address, provider.clone());
    let expected = system_config.batcher().call().await.map_err(|error| {
        eyre::eyre!(
            "reading the batcher from SystemConfig {}: {error}",
            rollup.system_config_address
        )
    })?;
    if expected != batcher_key.address() {
        return Err(parallax_batcher::Error::WrongKey {
            role: "batcher",
            key: batcher_key.address(),
            expected,
        }
        .into());
    }
    let batcher_txmgr =
        TxManager::new(store.clone(), provider.clone(), batcher_key, txmgr_config).await?;
    let config = BatcherConfig {
        poll_interval: Duration::from_millis(args.poll_interval_ms.max(10)),
        max_channel_duration: Duration::from_secs(args.max_channel_duration),
        compression_level: args.compression_level,
        ..BatcherConfig::new(rollup.clone())
    };
    let inbox = rollup.batch_inbox_address;
    let backlog = match backlog {
        Some((url, secret)) => {
            println!("reporting the DA backlog to the sequencer's admin RPC at {url}");
            Some(Backlog {
                client: AdminRpcBacklog::new(url, secret, Duration::from_secs(5))?,
                interval: Duration::from_secs(args.backlog_report_interval),
            })
        }
        None => None,
    };
    let backlog = backlog.as_ref();
    match args.da {
        DaKind::Calldata => {
            spawn_batcher(
                tasks,
                store,
                CalldataDa::new(inbox),
                batcher_txmgr,
                config,
                metrics,
                backlog,
                stop,
            )
            .await?
        }
        DaKind::Blobs => {
            spawn_batcher(
                tasks,
                store,
                BlobDa::new(inbox),
                batcher_txmgr,
                config,
                metrics,
                backlog,
                stop,
            )
            .await?
        }
        DaKind::Auto => {
            spawn_batcher(
                tasks,
                store,
                auto_da(args, inbox),
                batcher_txmgr,
                config,
                metrics,
                backlog,
                stop,
            )
            .await?
        }
        DaKind::Celestia => {
            let client = args.celestia.client(rollup).await?.ok_or_else(|| {
                eyre::eyre!(
                    "--da celestia needs --celestia-url (a light node or parallax celestia-server)"
                )
            })?;
            println!(
                "celestia: {} namespace 0x{}",
                client.config().url,
                alloy::primitives::hex::encode(client.namespace().id_v0().unwrap_or_default())
            );
            let mut da = CelestiaDa::<AutoDa>::new(client, inbox).with_metrics(metrics.clone());
            if let Some(after) = args.celestia_fallback_after {
                da = da.with_fallback(
                    auto_da(args, inbox),
                    FallbackPolicy {
                        after: Duration::from_secs(after),
                    },
                );
            }
            spawn_batcher(
                tasks,
                store,
                da,
                batcher_txmgr,
                config,
                metrics,
                backlog,
                stop,
            )
            .await?
        }
    }

    println!(
        "parallax batcher: {} to inbox {inbox} via {}, chain store {}",
        match args.da {
            DaKind::Calldata => "calldata",
            DaKind::Blobs => "blobs",
            DaKind::Auto => "auto (calldata or blobs)",
            DaKind::Celestia => "celestia",
        },
        args.l1_rpc,
        store.backend()
    );
    Ok(())
}

/// The `OutputOracle` to use: the one given, or the one the rollup's `Portal` settles against.
pub(crate) async fn output_oracle(
    given: Option<alloy::primitives::Address>,
    rollup: &RollupConfig,
    provider: &DynProvider,
) -> eyre::Result<alloy::primitives::Address> {
    match given {
        Some(oracle) => Ok(oracle),
        None => Portal::new(rollup.portal_address, provider.clone())
            .oracle()
            .call()
            .await
            .map_err(|error| {
                eyre::eyre!(
                    "reading the oracle from Portal {}: {error}; give --output-oracle",
                    rollup.portal_address
                )
            }),
    }
}

/// `auto` (calldata or blobs by L1 prices) as the flags configure it.
fn auto_da(args: &BatcherArgs, inbox: Address) -> AutoDa {
    AutoDa::new(
        CalldataDa::new(inbox),
        BlobDa::new(inbox),
        AutoPolicy {
            margin_percent: args.auto_margin_percent,
            consecutive: args.auto_consecutive,
            costs: CostModel {
                calldata_gas_per_byte: args.calldata_gas_per_byte,
            },
        },
    )
}

type Task = tokio::task::JoinHandle<eyre::Result<()>>;

/// Waits for the first service to stop on its own (an error: services run until shutdown).
async fn first_exit(tasks: &mut Vec<Task>) -> Option<eyre::Report> {
    if tasks.is_empty() {
        return std::future::pending().await;
    }
    let (result, index) = std::future::poll_fn(|cx| {
        for (index, task) in tasks.iter_mut().enumerate() {
            if let std::task::Poll::Ready(result) = std::pin::Pin::new(task).poll(cx) {
                return std::task::Poll::Ready((result, index));
            }
        }
        std::task::Poll::Pending
    })
    .await;
    tasks.remove(index);
    Some(match result {
        Ok(Ok(())) => eyre::eyre!("a service stopped unexpectedly"),
        Ok(Err(error)) => error,
        Err(error) => eyre::eyre!("a service panicked: {error}"),
    })
}

/// Where and how often the DA backlog is reported.
struct Backlog {
    client: AdminRpcBacklog,
    interval: Duration,
}

#[allow(clippy::too_many_arguments)]
async fn spawn_batcher<D: DaClient>(
    tasks: &mut Vec<Task>,
    store: &SqlStore,
    da: D,
    txmgr: TxManager<SqlStore>,
    config: BatcherConfig,
    metrics: &Arc<Metrics>,
    backlog: Option<&Backlog>,
    stop: &tokio::sync::watch::Receiver<bool>,
) -> eyre::Result<()> {
    let batcher = Batcher::new(store.clone(), da, txmgr, config, metrics.clone()).await?;
    if let Some(backlog) = backlog {
        let reporter = BacklogReporter::new(
            backlog.client.clone(),
            batcher.backlog(),
            backlog.interval,
            metrics.clone(),
        );
        let stop = stop.clone();
        // Not one of `tasks`: the reporter never fails, and its end must not stop the batcher.
        tokio::spawn(reporter.run(stop));
    }
    let stop = stop.clone();
    tasks.push(tokio::spawn(async move {
        batcher.run(stop).await?;
        Ok(())
    }));
    Ok(())
}
