//! Celestia in the CLI: the connection flags the batcher, the replica (`sequencer --follow`)
//! and the challenger share, the derivation source they build from them, and
//! `parallax celestia-server`, the local Celestia-compatible node.

use std::{net::SocketAddr, path::PathBuf, sync::Arc, time::Duration};

use clap::Args;
use parallax_celestia::{
    parse_namespace, rollup_namespace, server, CelestiaClient, CelestiaConfig, CelestiaSource,
};
use parallax_l1::RpcL1;
use parallax_protocol::{derive::DaSource, RollupConfig};
use parallax_sequencer::follow::{Deriver, PipelineDeriver};

/// How to reach a Celestia node (a light node, or `parallax celestia-server`).
#[derive(Clone, Debug, Default, Args)]
pub struct CelestiaArgs {
    /// Celestia node JSON-RPC URL (a light node listens on http://HOST:26658). The batcher
    /// submits there with `--da celestia`; derivation fetches Celestia batches from there.
    #[arg(long, env = "PARALLAX_CELESTIA_URL")]
    pub celestia_url: Option<String>,
    /// The node's auth token (hex/JWT, or @FILE holding it; `celestia light auth write`).
    #[arg(long, env = "PARALLAX_CELESTIA_AUTH_TOKEN", hide_env_values = true)]
    pub celestia_auth_token: Option<String>,
    /// The rollup's Celestia namespace id (hex, 1..=10 bytes). Default: derived from the chain
    /// id (`RollupConfig::celestia_namespace_id`); the batcher and every verifier must agree.
    #[arg(long, env = "PARALLAX_CELESTIA_NAMESPACE")]
    pub celestia_namespace: Option<String>,
    /// Seconds one Celestia request may take (`blob.Submit` waits for inclusion).
    #[arg(long, env = "PARALLAX_CELESTIA_TIMEOUT", default_value_t = 60)]
    pub celestia_timeout: u64,
}

impl CelestiaArgs {
    /// The client these flags describe, or `None` without `--celestia-url`.
    pub async fn client(&self, rollup: &RollupConfig) -> eyre::Result<Option<CelestiaClient>> {
        let Some(url) = &self.celestia_url else {
            return Ok(None);
        };
        let namespace = match &self.celestia_namespace {
            Some(hex) => parse_namespace(hex)?,
            None => rollup_namespace(rollup),
        };
        let mut config = CelestiaConfig::new(url.clone(), namespace);
        config.auth_token = self
            .celestia_auth_token
            .as_deref()
            .map(|token| read_secret(token, "--celestia-auth-token"))
            .transpose()?;
        config.request_timeout = Duration::from_secs(self.celestia_timeout.max(1));
        Ok(Some(CelestiaClient::new(config).await?))
    }
}

/// A secret given inline or as `@FILE` (kept out of the process list and the environment).
pub fn read_secret(value: &str, flag: &str) -> eyre::Result<String> {
    let secret = match value.strip_prefix('@') {
        Some(path) => std::fs::read_to_string(path)
            .map_err(|error| eyre::eyre!("{flag}: cannot read {path}: {error}"))?,
        None => value.to_string(),
    };
    Ok(secret.trim().to_string())
}

/// A derivation pipeline over `l1` reading blobs through `blobs` and, with a client, Celestia
/// batches through it (without one, a Celestia pointer stalls derivation with a clear error).
pub fn deriver<D>(
    rollup: &Arc<RollupConfig>,
    l1: Arc<RpcL1>,
    blobs: Arc<D>,
    celestia: Option<CelestiaClient>,
) -> eyre::Result<Box<dyn Deriver>>
where
    D: DaSource + Send + Sync + std::fmt::Debug + 'static,
{
    let start = rollup.genesis_block_info();
    Ok(match celestia {
        Some(client) => Box::new(PipelineDeriver::new(
            rollup.clone(),
            l1,
            Arc::new(CelestiaSource::new(blobs, client)?),
            &start,
        )),
        None => Box::new(PipelineDeriver::new(rollup.clone(), l1, blobs, &start)),
    })
}

/// `parallax celestia-server`.
#[derive(Debug, Args)]
pub struct CelestiaServerArgs {
    /// Port to listen on (26658 is a light node's).
    #[arg(long, env = "PARALLAX_CELESTIA_PORT", default_value_t = 26658)]
    pub port: u16,
    /// Listen address.
    #[arg(long, env = "PARALLAX_CELESTIA_ADDR", default_value = "127.0.0.1")]
    pub addr: std::net::IpAddr,
    /// Directory keeping the blobs across restarts (memory only without).
    #[arg(long, env = "PARALLAX_CELESTIA_DATADIR")]
    pub datadir: Option<PathBuf>,
    /// Token every request must present as `Authorization: Bearer` (or @FILE holding it).
    #[arg(
        long,
        env = "PARALLAX_CELESTIA_SERVER_AUTH_TOKEN",
        hide_env_values = true
    )]
    pub auth_token: Option<String>,
}

/// Runs the local Celestia server until Ctrl-C or SIGTERM.
pub fn run_server(args: CelestiaServerArgs) -> eyre::Result<()> {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    runtime.block_on(async {
        let auth_token = args
            .auth_token
            .as_deref()
            .map(|token| read_secret(token, "--auth-token"))
            .transpose()?;
        let running = server::start(server::ServerConfig {
            addr: Some(SocketAddr::new(args.addr, args.port)),
            datadir: args.datadir.clone(),
            auth_token,
        })
        .await?;
        println!(
            "parallax celestia-server: {} (head {}, {})",
            running.url(),
            running.state().head(),
            match &args.datadir {
                Some(dir) => format!("blobs in {}", dir.display()),
                None => "blobs in memory".into(),
            }
        );
        crate::shutdown_signal().await?;
        running.stop();
        running.stopped().await;
        Ok(())
    })
}
