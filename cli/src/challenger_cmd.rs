//! `parallax challenger`: a replica that derives the L2 chain from L1 and DA alone (its own
//! chain store), and a dispute-game player over it that challenges every proposal whose output
//! root differs from the derived chain's and plays the game to the one-step proof.

use std::{net::SocketAddr, path::PathBuf, process::ExitCode, sync::Arc, time::Duration};

use alloy::providers::{DynProvider, Provider, ProviderBuilder};
use clap::Args;
use parallax_batcher::{metrics, TxManager, TxManagerConfig};
use parallax_fraud_proof::{
    player::{GamePlayer, PlayerConfig},
    service::{run_player, PlayerMetrics},
    truth::ChainTruth,
};
use parallax_protocol::RollupConfig;
use parallax_sequencer::{genesis::Genesis, node};
use parallax_state::store::SqlStore;

use crate::batcher_cmd::{output_oracle, parse_key};

#[derive(Debug, Args)]
pub(crate) struct ChallengerArgs {
    /// TOML file of these settings (keys are the flag names); flags and PARALLAX_* variables
    /// override it.
    #[arg(long, env = "PARALLAX_CONFIG")]
    config: Option<PathBuf>,
    /// L1 JSON-RPC endpoint.
    #[arg(long, env = "PARALLAX_L1_RPC")]
    l1_rpc: reqwest::Url,
    /// Rollup configuration (JSON, as `parallax devnet` writes it).
    #[arg(long, env = "PARALLAX_ROLLUP_CONFIG")]
    rollup_config: PathBuf,
    /// L2 genesis (geth-style JSON); without it, the development genesis (`--dev` chains).
    #[arg(long, env = "PARALLAX_GENESIS")]
    genesis: Option<PathBuf>,
    /// The challenger's own data directory (its replica's chain database and tx journal).
    #[arg(
        long,
        env = "PARALLAX_DATADIR",
        default_value = "./parallax-challenger"
    )]
    datadir: PathBuf,
    /// Chain database URL (overrides the SQLite file under --datadir), e.g. postgres://…
    #[arg(long, env = "PARALLAX_DATABASE_URL")]
    database_url: Option<String>,
    /// Challenger key (hex, or @FILE holding it); pays the challenge bonds and receives the
    /// proposers' bonds it wins.
    #[arg(long, env = "PARALLAX_CHALLENGER_KEY", hide_env_values = true)]
    challenger_key: String,
    /// OutputOracle address (default: the Portal's oracle).
    #[arg(long, env = "PARALLAX_OUTPUT_ORACLE")]
    output_oracle: Option<alloy::primitives::Address>,
    /// Where the replica reads blobs: `beacon:URL` (the L1 consensus node's blob sidecar API),
    /// `anvil` (its `anvil_getBlobByHash`, the devnet's L1) or `none` (calldata-only chains),
    /// then any number of archives for blobs the node pruned: `,archive:URL` (a server with the
    /// beacon sidecar API) or `,archive-dir:PATH` (files named by versioned hash).
    #[arg(long, env = "PARALLAX_BLOB_SOURCE", default_value = "none")]
    blob_source: parallax_l1::BlobSourceSpec,
    /// Where the replica reads Celestia batches.
    #[command(flatten)]
    celestia: parallax_cli::celestia::CelestiaArgs,
    /// L1 blocks an inclusion needs before it counts.
    #[arg(long, env = "PARALLAX_L1_CONFIRMATIONS", default_value_t = 2)]
    l1_confirmations: u64,
    /// Highest fee per gas ever signed, in gwei.
    #[arg(long, env = "PARALLAX_MAX_FEE_GWEI", default_value_t = 2_000)]
    max_fee_gwei: u64,
    /// Milliseconds between player steps.
    #[arg(long, env = "PARALLAX_POLL_INTERVAL_MS", default_value_t = 1_000)]
    poll_interval_ms: u64,
    /// Listen address of the replica's JSON-RPC and the metrics.
    #[arg(long, env = "PARALLAX_HTTP_ADDR", default_value = "127.0.0.1")]
    http_addr: std::net::IpAddr,
    /// Port of the replica's (read-only) JSON-RPC; 0 picks a free one.
    #[arg(long, env = "PARALLAX_HTTP_PORT", default_value_t = 0)]
    http_port: u16,
    /// Port of the challenger's Prometheus metrics (`/metrics`); 0 disables them.
    #[arg(long, env = "PARALLAX_CHALLENGER_METRICS_PORT", default_value_t = 9547)]
    metrics_port: u16,
}

pub(crate) fn run(args: ChallengerArgs) -> eyre::Result<ExitCode> {
    let rollup: RollupConfig = serde_json::from_str(&std::fs::read_to_string(&args.rollup_config)?)
        .map_err(|error| eyre::eyre!("{}: {error}", args.rollup_config.display()))?;
    rollup.validate()?;
    let key = parse_key(&args.challenger_key, "--challenger-key")?;
    let genesis = match &args.genesis {
        Some(path) => Genesis::from_json(&std::fs::read_to_string(path)?)?,
        None => Genesis::dev(rollup.genesis.l2_timestamp)?,
    };
    std::fs::create_dir_all(&args.datadir)?;
    let database_url = crate::database_url(args.database_url.as_deref(), &args.datadir);
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    runtime.block_on(async move {
        let store = SqlStore::open(&database_url).await?;
        let l1 = Arc::new(parallax_l1::RpcL1::connect(args.l1_rpc.as_str())?);
        let shared = Arc::new(rollup.clone());
        let celestia = args.celestia.client(&rollup).await?;
        let derivation = parallax_cli::celestia::deriver(
            &shared,
            l1.clone(),
            Arc::new(args.blob_source.open(l1.clone())?),
            celestia,
        )?;
        let config = node::NodeConfig::new(&rollup, SocketAddr::new(args.http_addr, args.http_port));
        let replica = node::start(
            store.clone(),
            &genesis,
            config,
            node::Roles {
                sequencer: None,
                derivation: Some(derivation),
            },
        )
        .await?;

        let provider: DynProvider = ProviderBuilder::new()
            .connect_http(args.l1_rpc.clone())
            .erased();
        let oracle = output_oracle(args.output_oracle, &rollup, &provider).await?;
        let me = key.address();
        let txmgr = TxManager::new(
            store.clone(),
            provider.clone(),
            key,
            TxManagerConfig {
                purpose: "challenger".into(),
                confirmations: args.l1_confirmations.max(1),
                max_fee_per_gas: u128::from(args.max_fee_gwei) * 1_000_000_000,
                ..TxManagerConfig::default()
            },
        )
        .await?;
        let player = GamePlayer::new(
            ChainTruth::new(store.clone(), rollup.clone()),
            store.clone(),
            provider,
            me,
            PlayerConfig {
                oracle,
                challenge: true,
                max_scan: 64,
            },
        );
        let metrics = Arc::new(PlayerMetrics::default());
        let (shutdown, stop) = tokio::sync::watch::channel(false);
        let server = if args.metrics_port == 0 {
            None
        } else {
            let render = {
                let metrics = metrics.clone();
                move || metrics.render("parallax_challenger")
            };
            let (addr, server) = metrics::serve(
                SocketAddr::new(args.http_addr, args.metrics_port),
                render,
                stop.clone(),
            )
            .await?;
            println!("challenger metrics on http://{addr}/metrics");
            Some(server)
        };
        println!(
            "parallax challenger {me}: replica on http://{} deriving from {}, watching OutputOracle {oracle}",
            replica.rpc_addr, args.l1_rpc
        );
        let interval = Duration::from_millis(args.poll_interval_ms.max(10));
        let playing = {
            let metrics = metrics.clone();
            let stop = stop.clone();
            tokio::spawn(async move { run_player(player, txmgr, interval, &metrics, stop).await })
        };
        tokio::select! {
            result = parallax_cli::shutdown_signal() => {
                result?;
                tracing::info!("shutting down");
            }
            () = replica.stopping() => tracing::error!("the replica stopped"),
        }
        let _ = shutdown.send(true);
        playing.await?;
        if let Some(server) = server {
            server.await??;
        }
        replica.stop().await?;
        store.close().await;
        Ok::<_, eyre::Report>(())
    })?;
    Ok(ExitCode::SUCCESS)
}
