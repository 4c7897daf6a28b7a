//! `parallax devnet`: the whole rollup on one machine with one command.
//!
//! Starts anvil (from npm) as L1, deploys the settlement contracts on the first run, then runs
//! in this process a sequencer following L1, a replica deriving from L1 alone, and the batcher
//! and proposer when they are enabled, each with its own SQLite database under the data
//! directory. Everything the devnet is made of is written to `devnet.json` there (URLs, chain
//! ids, contract addresses, dev keys), so scripts and tests can drive it. Stopping it (Ctrl-C)
//! shuts every part down and has anvil save L1, so the same data directory resumes the chain.

use std::{
    net::{IpAddr, Ipv4Addr, SocketAddr},
    path::{Path, PathBuf},
    process::Stdio,
    sync::Arc,
    time::Duration,
};

use alloy::{
    network::EthereumWallet,
    primitives::U256,
    providers::{Provider, ProviderBuilder},
    signers::local::PrivateKeySigner,
};
use eyre::{bail, eyre, WrapErr};
use parallax_contracts::{deploy, DeployConfig, Deployment};
use parallax_l1::{AnvilBlobs, RpcL1};
use parallax_protocol::RollupConfig;
use parallax_sequencer::{
    genesis::{dev_accounts, Genesis, DEV_MNEMONIC},
    node::{self, NodeConfig, Roles, RunningNode},
    origin::L1Origins,
};
use parallax_state::store::SqlStore;
use serde::{Deserialize, Serialize};

/// The devnet's deployment parameters (anvil's well-known accounts as operators).
const DEPLOY_CONFIG: &str = include_str!("../../contracts/deploy/devnet.json");

/// `parallax devnet` settings.
#[derive(Clone, Debug, clap::Args)]
pub struct DevnetArgs {
    /// Where L1's state, the databases and `devnet.json` live.
    #[arg(long, env = "PARALLAX_DEVNET_DIR", default_value = "./devnet-data")]
    pub datadir: PathBuf,
    /// Start from scratch: delete the data directory first.
    #[arg(long)]
    pub fresh: bool,
    /// L1 (anvil) JSON-RPC port.
    #[arg(long, default_value_t = 8545)]
    pub l1_port: u16,
    /// Sequencer JSON-RPC port (HTTP and WebSocket).
    #[arg(long, default_value_t = 9545)]
    pub l2_port: u16,
    /// Replica JSON-RPC port.
    #[arg(long, default_value_t = 9546)]
    pub replica_port: u16,
    /// Sequencer metrics port.
    #[arg(long, default_value_t = 9645)]
    pub metrics_port: u16,
    /// Port of the sequencer's admin JSON-RPC (JWT secret in `admin-jwt.hex` under the data
    /// directory); the batcher reports its DA backlog there.
    #[arg(long, default_value_t = 9551)]
    pub admin_port: u16,
    /// Unposted DA bytes above which the sequencer refuses new transactions until the batcher
    /// catches up (0: no limit; the backlog is reported either way, see `admin_daBacklog`).
    #[arg(long, default_value_t = 0)]
    pub max_da_backlog: u64,
    /// L2 block time in milliseconds.
    #[arg(long, default_value_t = 1_000, value_parser = clap::value_parser!(u64).range(100..))]
    pub block_time: u64,
    /// L1 block time in seconds.
    #[arg(long, default_value_t = 2)]
    pub l1_block_time: u64,
    /// Seconds an output proposal can be challenged before it (and withdrawals proven against
    /// it) may finalize (default: `challengeWindow` of `contracts/deploy/devnet.json`). Applies
    /// to a fresh deployment only; a resumed devnet keeps the window it was deployed with.
    #[arg(long, value_parser = clap::value_parser!(u64).range(1..=u64::from(u32::MAX)))]
    pub challenge_window: Option<u64>,
    /// The anvil binary (default: contracts/node_modules, installed with npm if missing).
    #[arg(long, env = "PARALLAX_ANVIL")]
    pub anvil: Option<PathBuf>,
    /// Where the batcher posts L2 data: `calldata`, `blobs` (EIP-4844), `auto` (by L1 prices)
    /// or `celestia` (a local Celestia server, `parallax celestia-server`, with its pointers on
    /// L1 and `auto` as the fallback when it is down).
    #[arg(long, default_value = "calldata", value_parser = ["calldata", "blobs", "auto", "celestia"])]
    pub da: String,
    /// Port of the local Celestia server (`--da celestia`).
    #[arg(long, default_value_t = 26658)]
    pub celestia_port: u16,
    /// `--da celestia`: seconds of Celestia outage before the batcher falls back to L1.
    #[arg(long, default_value_t = 30)]
    pub celestia_fallback_after: u64,
    /// Batcher and proposer metrics port.
    #[arg(long, default_value_t = 9646)]
    pub batcher_metrics_port: u16,
    /// Run without the batcher and proposer (L2 data then never reaches L1).
    #[arg(long)]
    pub no_batcher: bool,
    /// Run without the challenger.
    #[arg(long)]
    pub no_challenger: bool,
    /// Challenger metrics port.
    #[arg(long, default_value_t = 9647)]
    pub challenger_metrics_port: u16,
    /// Fraud-proof demo: the proposer's first proposal posts a wrong output root (1 ETH out of
    /// thin air in one block) and defends it; watch the challenger prove it wrong on L1
    /// (`challenger.log`) and the honest re-proposal finalize.
    #[arg(long)]
    pub malicious_proposer: bool,
}

/// What `devnet.json` records: enough to drive the devnet from scripts and tests.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct DevnetInfo {
    /// L1 JSON-RPC.
    pub l1_rpc: String,
    /// L1 chain id.
    pub l1_chain_id: u64,
    /// Sequencer JSON-RPC (also WebSocket).
    pub l2_rpc: String,
    /// Replica JSON-RPC.
    pub replica_rpc: String,
    /// L2 chain id.
    pub l2_chain_id: u64,
    /// Prometheus metrics of the sequencer.
    pub metrics: String,
    /// The sequencer's admin JSON-RPC (HS256 JWT with the secret in `admin_jwt_secret`).
    #[serde(default)]
    pub admin_rpc: String,
    /// The file holding the admin port's JWT secret.
    #[serde(default)]
    pub admin_jwt_secret: PathBuf,
    /// Prometheus metrics of the batcher and proposer.
    pub batcher_metrics: String,
    /// Prometheus metrics of the challenger (empty without one).
    pub challenger_metrics: String,
    /// The sequencer's status page.
    pub status: String,
    /// DA backend of the batcher.
    pub da: String,
    /// The local Celestia server's JSON-RPC (empty unless `--da celestia`); its auth token is
    /// in `celestia.token` beside `devnet.json`.
    #[serde(default)]
    pub celestia_rpc: String,
    /// The rollup's Celestia namespace (the 29 bytes, hex; empty unless `--da celestia`), to
    /// fetch the batcher's blobs by hand with `blob.Get`.
    #[serde(default)]
    pub celestia_namespace: String,
    /// L1 contract addresses by name.
    pub contracts: serde_json::Value,
    /// The rollup configuration every node uses.
    pub rollup: RollupConfig,
    /// Funded accounts (on L1 and L2) with their private keys.
    pub accounts: Vec<serde_json::Value>,
    /// Their mnemonic.
    pub mnemonic: String,
}

/// Start-up steps the progress display counts.
const STEPS: usize = 8;

/// Prints one start-up step.
fn step(number: usize, total: usize, what: &str) {
    println!("[{number}/{total}] {what}");
}

/// Runs the devnet until Ctrl-C.
pub fn run(args: &DevnetArgs) -> eyre::Result<()> {
    if args.fresh && args.datadir.exists() {
        std::fs::remove_dir_all(&args.datadir)
            .wrap_err_with(|| format!("removing {}", args.datadir.display()))?;
    }
    std::fs::create_dir_all(&args.datadir)?;
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    runtime.block_on(run_async(args))
}

async fn run_async(args: &DevnetArgs) -> eyre::Result<()> {
    step(
        1,
        STEPS,
        "finding anvil (installing it from npm if missing)",
    );
    let anvil_path = find_anvil(args.anvil.clone())?;

    step(2, STEPS, "starting L1 (anvil)");
    let mut anvil =
        Anvil::start(&anvil_path, args.l1_port, args.l1_block_time, &args.datadir).await?;
    let result = run_nodes(args, &anvil).await;
    anvil.child.stop().await;
    result
}

async fn run_nodes(args: &DevnetArgs, anvil: &Anvil) -> eyre::Result<()> {
    let l1_url = anvil.url();
    let l1_chain_id = ProviderBuilder::new()
        .connect_http(l1_url.parse()?)
        .get_chain_id()
        .await?;

    let rollup_file = DeployedRollup::rollup_file(&args.datadir);
    if rollup_file.exists() {
        step(3, STEPS, "contracts already deployed (resuming)");
    } else {
        step(3, STEPS, "deploying the settlement contracts");
    }
    let DeployedRollup {
        rollup, deployment, ..
    } = DeployedRollup::deploy_or_resume(
        &l1_url,
        &args.datadir,
        args.block_time,
        args.challenge_window,
    )
    .await?;

    let localhost = IpAddr::V4(Ipv4Addr::LOCALHOST);
    let genesis = Genesis::dev(rollup.genesis.l2_timestamp)?;
    let source = Arc::new(RpcL1::connect(&l1_url)?);
    let shared = Arc::new(rollup.clone());
    let mut celestia = if args.da == "celestia" {
        step(
            4,
            STEPS,
            &format!(
                "starting the local Celestia server on port {}",
                args.celestia_port
            ),
        );
        Some(start_celestia(args, &rollup).await?)
    } else {
        step(
            4,
            STEPS,
            "no Celestia (--da celestia starts a local server)",
        );
        None
    };
    // Blobs are read back from anvil, Celestia blobs from the local server; the DA source also
    // serves calldata-only chains.
    let client = match &celestia {
        Some(server) => Some(server.client(&rollup).await?),
        None => None,
    };
    let deriver = |source: Arc<RpcL1>| {
        crate::celestia::deriver(
            &shared,
            source.clone(),
            Arc::new(AnvilBlobs::new(source)),
            client.clone(),
        )
    };
    step(5, STEPS, "starting the sequencer and a replica");
    let (admin_secret_file, admin_secret) = admin_secret(&args.datadir)?;
    let mut sequencer_config = node_config(
        &rollup,
        SocketAddr::new(localhost, args.l2_port),
        Some(args.metrics_port),
    );
    sequencer_config.admin = Some(node::AdminConfig {
        addr: SocketAddr::new(localhost, args.admin_port),
        jwt_secret: admin_secret,
    });
    sequencer_config.max_da_backlog = args.max_da_backlog;
    let sequencer = start_node(
        &args.datadir.join("sequencer"),
        &genesis,
        sequencer_config,
        Roles {
            sequencer: Some(Box::new(L1Origins::new(source.clone(), shared.clone(), 1))),
            derivation: Some(deriver(source.clone())?),
        },
    )
    .await?;
    let replica = start_node(
        &args.datadir.join("replica"),
        &genesis,
        node_config(&rollup, SocketAddr::new(localhost, args.replica_port), None),
        Roles {
            sequencer: None,
            derivation: Some(deriver(source.clone())?),
        },
    )
    .await?;

    let mut batcher = if args.no_batcher {
        step(
            6,
            STEPS,
            "not starting the batcher and proposer (--no-batcher)",
        );
        None
    } else {
        step(
            6,
            STEPS,
            &format!("starting the batcher ({}) and the proposer", args.da),
        );
        let admin_rpc = sequencer
            .admin_addr
            .map(|addr| (format!("http://{addr}"), admin_secret_file.as_path()));
        Some(start_batcher(args, &l1_url, &rollup_file, celestia.as_ref(), admin_rpc).await?)
    };
    let mut challenger = if args.no_challenger {
        step(7, STEPS, "not starting the challenger (--no-challenger)");
        None
    } else {
        step(
            7,
            STEPS,
            "starting the challenger (its own replica, watching every proposal)",
        );
        Some(start_challenger(args, &l1_url, &rollup_file, celestia.as_ref()).await?)
    };

    step(8, STEPS, "writing devnet.json");
    let info = DevnetInfo {
        l1_rpc: l1_url.clone(),
        l1_chain_id,
        l2_rpc: format!("http://{}", sequencer.rpc_addr),
        replica_rpc: format!("http://{}", replica.rpc_addr),
        l2_chain_id: rollup.l2_chain_id,
        metrics: sequencer
            .metrics_addr
            .map(|addr| format!("http://{addr}/metrics"))
            .unwrap_or_default(),
        admin_rpc: sequencer
            .admin_addr
            .map(|addr| format!("http://{addr}"))
            .unwrap_or_default(),
        admin_jwt_secret: admin_secret_file.clone(),
        batcher_metrics: format!("http://127.0.0.1:{}/metrics", args.batcher_metrics_port),
        challenger_metrics: if args.no_challenger {
            String::new()
        } else {
            format!("http://127.0.0.1:{}/metrics", args.challenger_metrics_port)
        },
        status: format!("http://{}/status", sequencer.rpc_addr),
        da: args.da.clone(),
        celestia_rpc: celestia
            .as_ref()
            .map(|server| server.url())
            .unwrap_or_default(),
        celestia_namespace: client
            .as_ref()
            .map(|client| alloy::primitives::hex::encode_prefixed(client.namespace().as_bytes()))
            .unwrap_or_default(),
        contracts: serde_json::json!({
            "Portal": deployment.portal,
            "OutputOracle": deployment.output_oracle,
            "SystemConfig": deployment.system_config,
            "BatchInbox": deployment.batch_inbox,
            "ProxyAdmin": deployment.proxy_admin,
            "DisputeGameFactory": deployment.dispute_game_factory,
            "EvmStepVerifier": deployment.step_verifier,
        }),
        rollup: rollup.clone(),
        accounts: dev_accounts()?
            .iter()
            .map(|account| {
                serde_json::json!({
                    "address": account.address,
                    "privateKey": account.private_key,
                })
            })
            .collect(),
        mnemonic: DEV_MNEMONIC.to_owned(),
    };
    std::fs::write(
        args.datadir.join("devnet.json"),
        serde_json::to_string_pretty(&info)?,
    )?;
    print_summary(&info, &args.datadir);

    tokio::select! {
        result = crate::shutdown_signal() => {
            result?;
            println!("stopping the devnet");
        }
        () = sequencer.stopping() => println!("the sequencer stopped; stopping the devnet"),
        () = replica.stopping() => println!("the replica stopped; stopping the devnet"),
    }
    if let Some(batcher) = batcher.as_mut() {
        batcher.stop().await;
    }
    if let Some(challenger) = challenger.as_mut() {
        challenger.stop().await;
    }
    let sequencer_result = sequencer.stop().await;
    let replica_result = replica.stop().await;
    if let Some(celestia) = celestia.as_mut() {
        celestia.child.stop().await;
    }
    sequencer_result?;
    replica_result?;
    Ok(())
}

/// The settlement contracts on a devnet's L1 and the rollup they settle, as `deployment.json`
/// and `rollup.json` in its data directory record them (shared by `parallax devnet` and
/// `parallax soak`).
pub(crate) struct DeployedRollup {
    /// The rollup configuration every node of the devnet uses.
    pub(crate) rollup: RollupConfig,
    /// The contract addresses.
    pub(crate) deployment: Deployment,
    /// `rollup.json`, for the child processes' `--rollup-config`.
    pub(crate) rollup_file: PathBuf,
}

impl DeployedRollup {
    /// Where `datadir`'s rollup configuration lives (it exists once the contracts are deployed).
    pub(crate) fn rollup_file(datadir: &Path) -> PathBuf {
        datadir.join("rollup.json")
    }

    /// Deploys the contracts from the devnet configuration with dev account 0 on the L1 at
    /// `l1_url` (L2 blocks of `block_time_ms`), or reads back the deployment an earlier run
    /// recorded in `datadir`.
    pub(crate) async fn deploy_or_resume(
        l1_url: &str,
        datadir: &Path,
        block_time_ms: u64,
        challenge_window: Option<u64>,
    ) -> eyre::Result<Self> {
        let deployment_file = datadir.join("deployment.json");
        let rollup_file = Self::rollup_file(datadir);
        if !rollup_file.exists() {
            let l1 = ProviderBuilder::new()
                .wallet(EthereumWallet::from(dev_key(0)?))
                .connect_http(l1_url.parse()?);
            let mut config: DeployConfig = serde_json::from_str(DEPLOY_CONFIG)?;
            // The oracle times proposals by the L2 block time (a block may be proposed once its
            // timestamp has passed on L1), so it must be the one the nodes run.
            config.l2_block_time_ms = U256::from(block_time_ms);
            if let Some(window) = challenge_window {
                config.challenge_window = U256::from(window);
            }
            let deployment = deploy(&l1, &config).await?;
            let anchor = deployment.genesis_anchor(&l1).await?;
            let rollup = deployment.rollup_config(&config, 901, anchor);
            std::fs::write(&deployment_file, serde_json::to_string_pretty(&deployment)?)?;
            std::fs::write(&rollup_file, serde_json::to_string_pretty(&rollup)?)?;
        }
        Ok(Self {
            rollup: serde_json::from_str(&std::fs::read_to_string(&rollup_file)?)?,
            deployment: serde_json::from_str(&std::fs::read_to_string(&deployment_file)?)?,
            rollup_file,
        })
    }
}

fn print_summary(info: &DevnetInfo, datadir: &Path) {
    println!();
    println!("Parallax devnet is up");
    println!(
        "  L1 (anvil)   {}  chain id {}",
        info.l1_rpc, info.l1_chain_id
    );
    println!(
        "  L2 sequencer {}  chain id {}  (WebSocket on the same port)",
        info.l2_rpc, info.l2_chain_id
    );
    println!("  L2 replica   {}", info.replica_rpc);
    println!("  status page  {}", info.status);
    if !info.admin_rpc.is_empty() {
        println!(
            "  admin RPC    {} (JWT secret {}; the batcher reports its DA backlog here)",
            info.admin_rpc,
            info.admin_jwt_secret.display()
        );
    }
    if !info.celestia_rpc.is_empty() {
        println!(
            "  celestia     {} (token in {}, log {})",
            info.celestia_rpc,
            datadir.join("celestia.token").display(),
            datadir.join("celestia.log").display()
        );
    }
    println!(
        "  metrics      {} (sequencer), {} (batcher, proposer)",
        info.metrics, info.batcher_metrics
    );
    println!(
        "  batcher      posting to {} through {}",
        info.da,
        datadir.join("batcher.log").display()
    );
    if !info.challenger_metrics.is_empty() {
        println!(
            "  challenger   {} (log {})",
            info.challenger_metrics,
            datadir.join("challenger.log").display()
        );
    }
    println!("  contracts    {}", info.contracts);
    println!(
        "  dev accounts (funded on L1 and L2; mnemonic \"{}\"):",
        info.mnemonic
    );
    for (index, account) in info.accounts.iter().enumerate() {
        println!(
            "    ({index}) {}  key {}",
            account["address"].as_str().unwrap_or_default(),
            account["privateKey"].as_str().unwrap_or_default()
        );
    }
    println!(
        "  everything above is in {}",
        datadir.join("devnet.json").display()
    );
    println!("Ctrl-C stops it; run again with the same --datadir to resume.");
}

pub(crate) fn dev_key(index: usize) -> eyre::Result<PrivateKeySigner> {
    let account = dev_accounts()?
        .into_iter()
        .nth(index)
        .ok_or_else(|| eyre!("no dev account {index}"))?;
    Ok(PrivateKeySigner::from_bytes(&account.private_key)?)
}

fn node_config(
    rollup: &RollupConfig,
    http_addr: SocketAddr,
    metrics_port: Option<u16>,
) -> NodeConfig {
    let mut config = NodeConfig::new(rollup, http_addr);
    config.cors_origin = Some("*".into());
    config.metrics_addr = metrics_port.map(|port| SocketAddr::new(http_addr.ip(), port));
    config
}

async fn start_node(
    dir: &Path,
    genesis: &Genesis,
    config: NodeConfig,
    roles: Roles,
) -> eyre::Result<RunningNode> {
    std::fs::create_dir_all(dir)?;
    let store = SqlStore::open(&format!("sqlite:{}", dir.join("chain.db").display())).await?;
    Ok(node::start(store, genesis, config, roles).await?)
}

/// The anvil binary: the given one, the project's npm install, or `anvil` on the PATH; installs
/// the project's pinned version with npm when none is found.
pub(crate) fn find_anvil(given: Option<PathBuf>) -> eyre::Result<PathBuf> {
    if let Some(path) = given {
        return Ok(path);
    }
    let contracts = Path::new(env!("CARGO_MANIFEST_DIR")).join("../contracts");
    let installed = contracts.join("node_modules/@foundry-rs/anvil-linux-amd64/bin/anvil");
    if installed.exists() {
        return Ok(installed);
    }
    if contracts.join("package.json").exists() {
        println!(
            "      npm ci (anvil, forge, cast, solc-js) in {}",
            contracts.display()
        );
        let status = std::process::Command::new("npm")
            .args(["ci", "--no-audit", "--no-fund"])
            .current_dir(&contracts)
            .status()
            .wrap_err("running npm (Node 20+ is required)")?;
        if status.success() && installed.exists() {
            return Ok(installed);
        }
    }
    let on_path = std::env::var_os("PATH")
        .into_iter()
        .flat_map(|paths| std::env::split_paths(&paths).collect::<Vec<_>>())
        .map(|dir| dir.join("anvil"))
        .find(|path| path.exists());
    on_path.ok_or_else(|| eyre!("anvil not found: install Node 20+ and run `npm ci` in contracts/"))
}

/// A child process of the devnet, stopped with SIGINT (so anvil saves its state and the batcher
/// finishes its step), killed if it hangs.
pub(crate) struct Child {
    child: tokio::process::Child,
}

impl Child {
    /// Starts `command` with its output in a new file `log`.
    pub(crate) fn spawn(command: tokio::process::Command, log: &Path) -> eyre::Result<Self> {
        Self::spawn_logging(command, std::fs::File::create(log)?)
    }

    /// Starts `command` with its output appended to `log` (a restarted process keeps the log of
    /// its earlier lives).
    pub(crate) fn spawn_appending(
        command: tokio::process::Command,
        log: &Path,
    ) -> eyre::Result<Self> {
        let file = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(log)?;
        Self::spawn_logging(command, file)
    }

    fn spawn_logging(
        mut command: tokio::process::Command,
        log: std::fs::File,
    ) -> eyre::Result<Self> {
        let child = command
            .stdout(Stdio::from(log.try_clone()?))
            .stderr(Stdio::from(log))
            .kill_on_drop(true)
            .spawn()?;
        Ok(Self { child })
    }

    /// SIGKILL: the process gets no chance to clean up (a crash), and is reaped.
    pub(crate) async fn kill(&mut self) {
        let _ = self.child.kill().await;
    }

    /// Whether the process has exited (and how), without waiting.
    pub(crate) fn exited(&mut self) -> Option<std::process::ExitStatus> {
        self.child.try_wait().ok().flatten()
    }

    /// Stops the process with SIGINT, SIGKILL after 10 s.
    pub(crate) async fn stop(&mut self) {
        if let Some(pid) = self.child.id() {
            let _ = std::process::Command::new("kill")
                .args(["-INT", &pid.to_string()])
                .status();
        }
        if tokio::time::timeout(Duration::from_secs(10), self.child.wait())
            .await
            .is_err()
        {
            let _ = self.child.kill().await;
        }
    }
}

/// The sequencer admin port's JWT secret: `datadir/admin-jwt.hex` (mode 0600), made once,
/// random, and kept so a resumed devnet's tools keep working.
fn admin_secret(
    datadir: &Path,
) -> eyre::Result<(PathBuf, parallax_sequencer::rpc::admin::JwtSecret)> {
    let path = datadir.join("admin-jwt.hex");
    if !path.exists() {
        let secret: [u8; 32] = rand::random();
        std::fs::write(&path, alloy::primitives::hex::encode(secret))?;
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600))?;
    }
    let secret = parallax_sequencer::rpc::admin::JwtSecret::parse(&std::fs::read_to_string(&path)?)
        .map_err(|error| eyre!("{}: {error}", path.display()))?;
    Ok((path, secret))
}

/// `parallax batcher` (this binary) on the sequencer's database, with the proposer: a separate
/// process, as in production. The devnet's operator keys (anvil accounts 3 and 4, the batcher
/// and proposer `contracts/deploy/devnet.json` names) are passed as files, never as arguments.
/// With `admin_rpc` (the sequencer's admin URL and JWT secret file) it reports its DA backlog
/// there.
async fn start_batcher(
    args: &DevnetArgs,
    l1_url: &str,
    rollup_file: &Path,
    celestia: Option<&CelestiaChild>,
    admin_rpc: Option<(String, &Path)>,
) -> eyre::Result<Child> {
    let mut command = batcher_command(
        &args.datadir,
        l1_url,
        rollup_file,
        &args.da,
        args.batcher_metrics_port,
        true,
    )?;
    if args.malicious_proposer {
        command.args(["--malicious-proposer-from", "1"]);
    }
    if let Some((url, secret)) = admin_rpc {
        command
            .args(["--sequencer-admin-rpc", &url])
            .arg("--sequencer-jwt-secret")
            .arg(secret);
    }
    if let Some(celestia) = celestia {
        celestia.pass_to(&mut command);
        command.args([
            "--celestia-fallback-after",
            &args.celestia_fallback_after.to_string(),
        ]);
    }
    Child::spawn(command, &args.datadir.join("batcher.log"))
}

/// The devnet's `parallax batcher` command line (this binary) for the sequencer under
/// `datadir/sequencer`, posting to `da`, with the proposer in the same process when
/// `with_proposer`; the operator keys are written as files into `datadir`; metrics on
/// `metrics_port` (0: none).
pub(crate) fn batcher_command(
    datadir: &Path,
    l1_url: &str,
    rollup_file: &Path,
    da: &str,
    metrics_port: u16,
    with_proposer: bool,
) -> eyre::Result<tokio::process::Command> {
    let batcher_key = key_file(datadir, "batcher.key", 3)?;
    let mut command = operator_command("batcher", datadir, l1_url, rollup_file, metrics_port)?;
    command
        .arg("--batcher-key")
        .arg(format!("@{}", batcher_key.display()))
        .args(["--da", da])
        .args(["--max-channel-duration", "4"]);
    if with_proposer {
        add_proposer_key(&mut command, datadir)?;
        command.arg("--proposer");
    }
    Ok(command)
}

/// The devnet's `parallax proposer` command line (this binary): the proposer as a process of
/// its own, on the sequencer's store under `datadir/sequencer`.
pub(crate) fn proposer_command(
    datadir: &Path,
    l1_url: &str,
    rollup_file: &Path,
    metrics_port: u16,
) -> eyre::Result<tokio::process::Command> {
    let mut command = operator_command("proposer", datadir, l1_url, rollup_file, metrics_port)?;
    add_proposer_key(&mut command, datadir)?;
    Ok(command)
}

/// `parallax <subcommand>` with what the batcher and the proposer share on a devnet.
fn operator_command(
    subcommand: &str,
    datadir: &Path,
    l1_url: &str,
    rollup_file: &Path,
    metrics_port: u16,
) -> eyre::Result<tokio::process::Command> {
    let mut command = tokio::process::Command::new(std::env::current_exe()?);
    command
        .arg(subcommand)
        .args(["--l1-rpc", l1_url])
        .arg("--rollup-config")
        .arg(rollup_file)
        .arg("--datadir")
        .arg(datadir.join("sequencer"))
        .args(["--l1-confirmations", "1", "--poll-interval-ms", "500"])
        .args(["--metrics-port", &metrics_port.to_string()])
        .env_remove("PARALLAX_CONFIG");
    Ok(command)
}

/// Passes the devnet proposer's key (anvil account 4) as a file.
fn add_proposer_key(command: &mut tokio::process::Command, datadir: &Path) -> eyre::Result<()> {
    let proposer_key = key_file(datadir, "proposer.key", 4)?;
    command
        .arg("--proposer-key")
        .arg(format!("@{}", proposer_key.display()));
    Ok(())
}

/// `parallax challenger` (this binary): its own replica under `challenger/`, deriving from L1
/// alone, with dev account 6 as the challenger (the devnet's SystemConfig lets anyone
/// challenge).
async fn start_challenger(
    args: &DevnetArgs,
    l1_url: &str,
    rollup_file: &Path,
    celestia: Option<&CelestiaChild>,
) -> eyre::Result<Child> {
    let key = key_file(&args.datadir, "challenger.key", 6)?;
    let mut command = tokio::process::Command::new(std::env::current_exe()?);
    command
        .arg("challenger")
        .args(["--l1-rpc", l1_url])
        .arg("--rollup-config")
        .arg(rollup_file)
        .arg("--datadir")
        .arg(args.datadir.join("challenger"))
        .arg("--challenger-key")
        .arg(format!("@{}", key.display()))
        .args(["--blob-source", "anvil", "--l1-confirmations", "1"])
        .args(["--poll-interval-ms", "500"])
        .args(["--metrics-port", &args.challenger_metrics_port.to_string()])
        .env_remove("PARALLAX_CONFIG");
    if let Some(celestia) = celestia {
        celestia.pass_to(&mut command);
    }
    Child::spawn(command, &args.datadir.join("challenger.log"))
}

/// Writes dev account `index`'s key to `datadir/name` (mode 0600) for a child process: keys
/// are passed as files, never as arguments.
fn key_file(datadir: &Path, name: &str, index: usize) -> eyre::Result<PathBuf> {
    let path = datadir.join(name);
    let key = dev_accounts()?
        .into_iter()
        .nth(index)
        .ok_or_else(|| eyre!("no dev account {index}"))?
        .private_key;
    std::fs::write(&path, key.to_string())?;
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600))?;
    Ok(path)
}

/// `parallax celestia-server` (this binary), keeping its blobs under `celestia/` and
/// demanding the token in `celestia.token` (made once, random).
struct CelestiaChild {
    child: Child,
    port: u16,
    token_file: PathBuf,
}

impl CelestiaChild {
    fn url(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    /// A client of it in the rollup's namespace.
    async fn client(
        &self,
        rollup: &RollupConfig,
    ) -> eyre::Result<parallax_celestia::CelestiaClient> {
        let args = crate::celestia::CelestiaArgs {
            celestia_url: Some(self.url()),
            celestia_auth_token: Some(format!("@{}", self.token_file.display())),
            celestia_namespace: None,
            celestia_timeout: 30,
        };
        args.client(rollup)
            .await?
            .ok_or_else(|| eyre!("no Celestia client"))
    }

    /// The flags a child service needs to reach it.
    fn pass_to(&self, command: &mut tokio::process::Command) {
        command
            .args(["--celestia-url", &self.url()])
            .arg("--celestia-auth-token")
            .arg(format!("@{}", self.token_file.display()))
            .env_remove("PARALLAX_CELESTIA_NAMESPACE");
    }
}

async fn start_celestia(args: &DevnetArgs, rollup: &RollupConfig) -> eyre::Result<CelestiaChild> {
    let token_file = args.datadir.join("celestia.token");
    if !token_file.exists() {
        let token: [u8; 32] = rand::random();
        std::fs::write(&token_file, alloy::primitives::hex::encode(token))?;
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&token_file, std::fs::Permissions::from_mode(0o600))?;
    }
    let mut command = tokio::process::Command::new(std::env::current_exe()?);
    command
        .arg("celestia-server")
        .args(["--port", &args.celestia_port.to_string()])
        .arg("--datadir")
        .arg(args.datadir.join("celestia"))
        .arg("--auth-token")
        .arg(format!("@{}", token_file.display()));
    let child = Child::spawn(command, &args.datadir.join("celestia.log"))?;
    let celestia = CelestiaChild {
        child,
        port: args.celestia_port,
        token_file,
    };
    let client = celestia.client(rollup).await?;
    for _ in 0..100 {
        if client.probe().await.is_ok() {
            return Ok(celestia);
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    bail!(
        "the Celestia server did not answer on port {} (see celestia.log)",
        args.celestia_port
    )
}

/// anvil, saving its state on exit.
pub(crate) struct Anvil {
    pub(crate) child: Child,
    port: u16,
}

impl Anvil {
    /// Starts `binary` on `port` with `block_time`-second blocks (Cancun, state saved to and
    /// resumed from `datadir/l1-state.json`) and waits until it answers.
    pub(crate) async fn start(
        binary: &Path,
        port: u16,
        block_time: u64,
        datadir: &Path,
    ) -> eyre::Result<Self> {
        let state = datadir.join("l1-state.json");
        let mut command = tokio::process::Command::new(binary);
        command
            .args([
                "--port",
                &port.to_string(),
                "--block-time",
                &block_time.to_string(),
                "--hardfork",
                "cancun",
                "--slots-in-an-epoch",
                "4",
                "--state",
            ])
            .arg(&state);
        let child = Child::spawn(command, &datadir.join("anvil.log"))
            .wrap_err_with(|| format!("starting {}", binary.display()))?;
        let anvil = Self { child, port };
        let provider = ProviderBuilder::new().connect_http(anvil.url().parse()?);
        for _ in 0..100 {
            if provider.get_block_number().await.is_ok() {
                return Ok(anvil);
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        bail!("anvil did not answer on port {port} (see anvil.log)")
    }

    /// Its JSON-RPC URL.
    pub(crate) fn url(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }
}
