//! `parallax soak`: the rollup under sustained load while its services crash.
//!
//! On loopback only: starts anvil and deploys the contracts (the devnet's code paths), then
//! runs the sequencer, the batcher, the proposer (`parallax proposer`, a process of its own) and
//! a replica as child processes of this binary. Several senders send signed transfers at a
//! steady rate over JSON-RPC and record every transaction the sequencer acknowledged. At random
//! moments (a seeded RNG; the seed is printed, so a run can be repeated) one of the four is
//! killed with SIGKILL and restarted on the same data directory after a random pause; the
//! victims go round in a shuffled order, so every process dies once per four faults.
//!
//! When the load stops, the soak checks what a crash must never break:
//! - every acknowledged transaction has a successful receipt in a canonical block (the pool
//!   journal must bring back what a killed sequencer had accepted);
//! - the replica, which derives the chain from L1 alone, has the sequencer's block hashes and
//!   state roots for every block up to the safe head;
//! - decoding every batcher transaction in the L1 inbox shows every L2 block up to the safe
//!   head exactly once, with no frame posted twice (the batcher's journal must stop a restarted
//!   batcher from posting again what it had already sent);
//! - every output proposal on L1's `OutputOracle` is the replica's output root at its block
//!   (the replica being a restarted process too), the proposals follow each other every
//!   `proposalInterval` blocks with none twice and none skipped, the proposer sent exactly one
//!   `propose` per proposal and none of its L1 transactions reverted (a restarted proposer must
//!   not re-send a proposal the oracle already has).
//!
//! The run is bounded in time (load, then at most `--settle-timeout` to catch up) and sends
//! traffic to 127.0.0.1 only.

use std::{
    collections::{BTreeMap, HashMap},
    path::{Path, PathBuf},
    process::Stdio,
    time::{Duration, Instant},
};

use alloy::{
    consensus::{SignableTransaction, TxEip1559, TxEnvelope},
    eips::eip2718::Encodable2718,
    signers::{local::PrivateKeySigner, SignerSync},
};
use alloy_primitives::{hex, keccak256, Address, TxKind, B256, U256};
use eyre::{bail, eyre, WrapErr};
use parallax_l1::RpcL1;
use parallax_protocol::{
    channel::{decode_channel, ChannelId},
    derive::{InboxData, L1Source},
    frame::parse_frames_payload,
    RollupConfig,
};
use parallax_sequencer::genesis::dev_accounts;
use rand::{rngs::StdRng, seq::SliceRandom, Rng, SeedableRng};
use serde::Serialize;
use serde_json::{json, Value};

use crate::devnet::{
    batcher_command, dev_key, find_anvil, proposer_command, Anvil, Child, DeployedRollup,
};

/// `parallax soak` settings.
#[derive(Clone, Debug, clap::Args)]
pub struct SoakArgs {
    /// How long the load runs (and faults are injected): `90`, `90s` or `3m`.
    #[arg(long, default_value = "3m", value_parser = parse_duration)]
    pub duration: Duration,
    /// Transfers per second, over all senders.
    #[arg(long, default_value_t = 40.0)]
    pub rate: f64,
    /// Concurrent senders (dev accounts, at most 10), each with its own nonce sequence.
    #[arg(long, default_value_t = 8, value_parser = clap::value_parser!(u64).range(1..=10))]
    pub senders: u64,
    /// Seed of the fault schedule (default: from the clock; always printed).
    #[arg(long)]
    pub seed: Option<u64>,
    /// Shortest pause between two faults, in seconds.
    #[arg(long, default_value_t = 10)]
    pub min_fault_interval: u64,
    /// Longest pause between two faults, in seconds.
    #[arg(long, default_value_t = 30)]
    pub max_fault_interval: u64,
    /// Longest time a killed process stays down before its restart, in milliseconds.
    #[arg(long, default_value_t = 3_000)]
    pub max_downtime_ms: u64,
    /// L2 block time in milliseconds.
    #[arg(long, default_value_t = 500, value_parser = clap::value_parser!(u64).range(100..))]
    pub block_time: u64,
    /// L1 (anvil) block time in seconds.
    #[arg(long, default_value_t = 1)]
    pub l1_block_time: u64,
    /// Most seconds to wait after the load for inclusion, the safe head and the replica.
    #[arg(long, default_value_t = 180)]
    pub settle_timeout: u64,
    /// Data directory (anvil's state, the services' databases and logs). Default: a new
    /// temporary directory, deleted after a passing run and kept after a failing one.
    #[arg(long)]
    pub datadir: Option<PathBuf>,
    /// The anvil binary (default: contracts/node_modules, installed with npm if missing).
    #[arg(long, env = "PARALLAX_ANVIL")]
    pub anvil: Option<PathBuf>,
    /// Print the report as one JSON object instead of text.
    #[arg(long)]
    pub json: bool,
}

/// `90`, `90s`, `3m` or `1h` as a duration.
fn parse_duration(text: &str) -> Result<Duration, String> {
    let text = text.trim();
    let (number, unit) = match text.find(|c: char| !c.is_ascii_digit()) {
        Some(split) => text.split_at(split),
        None => (text, "s"),
    };
    let number: u64 = number
        .parse()
        .map_err(|_| format!("`{text}` is not a duration like 90s or 3m"))?;
    let seconds = match unit {
        "s" => number,
        "m" => number.saturating_mul(60),
        "h" => number.saturating_mul(3600),
        _ => return Err(format!("`{text}`: the unit must be s, m or h")),
    };
    Ok(Duration::from_secs(seconds))
}

/// The load that was held.
#[derive(Clone, Debug, Default, Serialize)]
pub struct LoadReport {
    /// Seconds the load ran.
    pub seconds: f64,
    /// Transfers per second asked for.
    pub target_rate: f64,
    /// Senders.
    pub senders: u64,
    /// `eth_sendRawTransaction` calls made.
    pub sent: u64,
    /// Calls the sequencer acknowledged (JSON-RPC success): these must all be included.
    pub accepted: u64,
    /// Calls the sequencer answered with an error (e.g. a nonce already taken by a transaction
    /// whose acknowledgement a crash swallowed).
    pub refused: u64,
    /// Calls that got no answer (the sequencer was down).
    pub unavailable: u64,
    /// Acknowledged transactions with a receipt.
    pub included: u64,
    /// Acknowledged transactions per second over the load.
    pub accepted_tps: f64,
    /// L2 blocks at the end (the sequencer's head).
    pub blocks: u64,
    /// Most transactions in one block.
    pub max_block_txs: u64,
    /// First refusals, for diagnosis.
    pub refusal_samples: Vec<String>,
}

/// One injected fault.
#[derive(Clone, Debug, Serialize)]
pub struct FaultEvent {
    /// Seconds into the load.
    pub at_secs: f64,
    /// `sequencer`, `replica`, `batcher` or `proposer`.
    pub process: String,
    /// How long it stayed down before the restart (ms).
    pub downtime_ms: u64,
    /// Seconds from the restart until the restarted sequencer or replica answered JSON-RPC
    /// again.
    pub recovery_secs: Option<f64>,
}

/// The faults survived.
#[derive(Clone, Debug, Default, Serialize)]
pub struct FaultReport {
    /// The RNG seed of the schedule.
    pub seed: u64,
    /// SIGKILLs of the sequencer.
    pub sequencer_kills: u64,
    /// SIGKILLs of the batcher.
    pub batcher_kills: u64,
    /// SIGKILLs of the proposer.
    pub proposer_kills: u64,
    /// SIGKILLs of the replica.
    pub replica_kills: u64,
    /// Restarts (one per kill).
    pub restarts: u64,
    /// Slowest restart of the sequencer until it answered JSON-RPC (s).
    pub max_sequencer_recovery_secs: f64,
    /// Slowest restart of the replica until it answered JSON-RPC (s).
    pub max_replica_recovery_secs: f64,
    /// Processes that exited without being killed (each is a failure, and was restarted).
    pub unexpected_exits: Vec<String>,
    /// Every fault in order.
    pub events: Vec<FaultEvent>,
}

/// One end-of-run check.
#[derive(Clone, Debug, Serialize)]
pub struct Check {
    /// What was checked.
    pub name: String,
    /// Whether it held.
    pub passed: bool,
    /// Figures, or what went wrong.
    pub detail: String,
}

/// What `parallax soak` found.
#[derive(Clone, Debug, Serialize)]
pub struct SoakReport {
    /// Where the logs and databases are (deleted after a passing run with a temporary dir).
    pub datadir: PathBuf,
    /// The load held.
    pub load: LoadReport,
    /// The faults survived.
    pub faults: FaultReport,
    /// The L2 safe head the replica and DA checks covered.
    pub safe_head: u64,
    /// The checks.
    pub checks: Vec<Check>,
    /// All checks passed and no process exited on its own.
    pub passed: bool,
}

impl SoakReport {
    /// Human-readable form.
    pub fn to_text(&self) -> String {
        let load = &self.load;
        let faults = &self.faults;
        let mut text = format!(
            "soak: seed {}, {:.0} s of load, {} senders at {} tx/s (data in {})\n",
            faults.seed,
            load.seconds,
            load.senders,
            load.target_rate,
            self.datadir.display()
        );
        text += &format!(
            "load held: {} sent, {} accepted ({:.1} tx/s), {} refused, {} unanswered; \
             {} of {} accepted included; {} L2 blocks (largest {} txs)\n",
            load.sent,
            load.accepted,
            load.accepted_tps,
            load.refused,
            load.unavailable,
            load.included,
            load.accepted,
            load.blocks,
            load.max_block_txs
        );
        text += &format!(
            "faults survived: SIGKILLs of the sequencer {}x, replica {}x, batcher {}x, \
             proposer {}x; {} restarts (slowest recovery: sequencer {:.1} s, replica {:.1} s)\n",
            faults.sequencer_kills,
            faults.replica_kills,
            faults.batcher_kills,
            faults.proposer_kills,
            faults.restarts,
            faults.max_sequencer_recovery_secs,
            faults.max_replica_recovery_secs
        );
        for event in &faults.events {
            text += &format!(
                "  {:>7.1} s  kill -9 {:<9} down {:>4} ms{}\n",
                event.at_secs,
                event.process,
                event.downtime_ms,
                event
                    .recovery_secs
                    .map(|secs| format!(", answering again after {secs:.1} s"))
                    .unwrap_or_default()
            );
        }
        for exit in &faults.unexpected_exits {
            text += &format!("  unexpected exit: {exit}\n");
        }
        text += &format!("checks (up to safe head {}):\n", self.safe_head);
        for check in &self.checks {
            text += &format!(
                "  [{}] {}: {}\n",
                if check.passed { "ok" } else { "FAILED" },
                check.name,
                check.detail
            );
        }
        text += if self.passed {
            "result: PASS\n"
        } else {
            "result: FAIL\n"
        };
        text
    }
}

/// Runs the soak (see the module docs). Errors are setup failures; a failed check is in the
/// report (`passed: false`).
pub fn run(args: &SoakArgs) -> eyre::Result<SoakReport> {
    if args.min_fault_interval == 0 || args.min_fault_interval > args.max_fault_interval {
        bail!("need 0 < --min-fault-interval <= --max-fault-interval");
    }
    if args.rate.is_nan() || args.rate <= 0.0 {
        bail!("--rate must be positive");
    }
    let seed = args.seed.unwrap_or_else(|| {
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |since| since.as_nanos() as u64)
    });
    let (datadir, temporary) = match &args.datadir {
        Some(dir) => {
            if dir.exists() {
                std::fs::remove_dir_all(dir)
                    .wrap_err_with(|| format!("removing {}", dir.display()))?;
            }
            (dir.clone(), false)
        }
        None => (
            std::env::temp_dir().join(format!("parallax-soak-{seed}-{}", std::process::id())),
            true,
        ),
    };
    std::fs::create_dir_all(&datadir)?;
    if !args.json {
        println!(
            "soak: seed {seed}; logs and databases in {}",
            datadir.display()
        );
    }
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    let report = runtime.block_on(soak(args, seed, &datadir))?;
    if report.passed && temporary {
        let _ = std::fs::remove_dir_all(&datadir);
    }
    Ok(report)
}

/// A free TCP port on 127.0.0.1 (the OS picks it; released again for the child to bind).
fn free_port() -> eyre::Result<u16> {
    Ok(std::net::TcpListener::bind(("127.0.0.1", 0))?
        .local_addr()?
        .port())
}

/// A child process the soak restarts: how to start it, and its current life.
struct Service {
    name: &'static str,
    make: Box<dyn Fn() -> eyre::Result<tokio::process::Command> + Send>,
    log: PathBuf,
    child: Child,
}

impl Service {
    fn start(
        name: &'static str,
        log: PathBuf,
        make: Box<dyn Fn() -> eyre::Result<tokio::process::Command> + Send>,
    ) -> eyre::Result<Self> {
        let child = Child::spawn_appending(make()?, &log)
            .wrap_err_with(|| format!("starting the {name}"))?;
        Ok(Self {
            name,
            make,
            log,
            child,
        })
    }

    async fn restart(&mut self) -> eyre::Result<()> {
        self.child = Child::spawn_appending((self.make)()?, &self.log)
            .wrap_err_with(|| format!("restarting the {}", self.name))?;
        Ok(())
    }
}

/// `parallax sequencer` (this binary) on L1, as the sequencer or (`follow`) a replica.
fn node_command(
    datadir: &Path,
    l1_url: &str,
    rollup_file: &Path,
    port: u16,
    follow: bool,
) -> eyre::Result<tokio::process::Command> {
    let mut command = tokio::process::Command::new(std::env::current_exe()?);
    command
        .args(["sequencer", "--dev", "--l1-rpc", l1_url])
        .arg("--rollup-config")
        .arg(rollup_file)
        .args(["--l1-confirmations", "1"])
        .arg("--datadir")
        .arg(datadir)
        .args(["--http-port", &port.to_string(), "--metrics-port", "0"])
        .env_remove("PARALLAX_CONFIG")
        .stdin(Stdio::null());
    if follow {
        command.arg("--follow");
    }
    Ok(command)
}

async fn soak(args: &SoakArgs, seed: u64, datadir: &Path) -> eyre::Result<SoakReport> {
    let anvil_path = find_anvil(args.anvil.clone())?;
    let mut anvil = Anvil::start(&anvil_path, free_port()?, args.l1_block_time, datadir).await?;
    let result = soak_on(args, seed, datadir, &anvil.url()).await;
    anvil.child.stop().await;
    result
}

async fn soak_on(
    args: &SoakArgs,
    seed: u64,
    datadir: &Path,
    l1_url: &str,
) -> eyre::Result<SoakReport> {
    let say = |line: String| {
        if !args.json {
            println!("{line}");
        }
    };
    let DeployedRollup {
        rollup,
        rollup_file,
        deployment,
    } = DeployedRollup::deploy_or_resume(l1_url, datadir, args.block_time, None).await?;
    say(format!("contracts deployed on anvil at {l1_url}"));

    let sequencer_port = free_port()?;
    let replica_port = free_port()?;
    let sequencer_url = format!("http://127.0.0.1:{sequencer_port}");
    let replica_url = format!("http://127.0.0.1:{replica_port}");
    let node = |dir: PathBuf, port: u16, follow: bool| {
        let l1_url = l1_url.to_owned();
        let rollup_file = rollup_file.clone();
        Box::new(move || node_command(&dir, &l1_url, &rollup_file, port, follow))
            as Box<dyn Fn() -> eyre::Result<tokio::process::Command> + Send>
    };
    let mut sequencer = Service::start(
        "sequencer",
        datadir.join("sequencer.log"),
        node(datadir.join("sequencer"), sequencer_port, false),
    )?;
    let mut replica = Service::start(
        "replica",
        datadir.join("replica.log"),
        node(datadir.join("replica"), replica_port, true),
    )?;
    let client = reqwest::Client::builder()
        .timeout(Duration::from_secs(10))
        .build()?;
    wait_answering(&client, &sequencer_url, Duration::from_secs(120)).await?;
    wait_answering(&client, &replica_url, Duration::from_secs(120)).await?;
    let mut batcher = Service::start("batcher", datadir.join("batcher.log"), {
        let datadir = datadir.to_owned();
        let l1_url = l1_url.to_owned();
        let rollup_file = rollup_file.clone();
        Box::new(move || batcher_command(&datadir, &l1_url, &rollup_file, "calldata", 0, false))
    })?;
    let mut proposer = Service::start("proposer", datadir.join("proposer.log"), {
        let datadir = datadir.to_owned();
        let l1_url = l1_url.to_owned();
        let rollup_file = rollup_file.clone();
        Box::new(move || proposer_command(&datadir, &l1_url, &rollup_file, 0))
    })?;
    say(format!(
        "sequencer {sequencer_url}, replica {replica_url}, batcher and proposer running; \
         load for {} s",
        args.duration.as_secs()
    ));

    // The load.
    let start = Instant::now();
    let deadline = start + args.duration;
    let accounts = dev_accounts()?;
    let interval = Duration::from_secs_f64(args.senders as f64 / args.rate);
    let mut senders = Vec::new();
    for (index, account) in accounts.iter().take(args.senders as usize).enumerate() {
        let key = PrivateKeySigner::from_bytes(&account.private_key)?;
        let sender = Sender {
            index,
            key,
            chain_id: rollup.l2_chain_id,
            url: sequencer_url.clone(),
            client: client.clone(),
        };
        senders.push(tokio::spawn(sender.run(interval, deadline)));
    }

    // The faults, while the load runs.
    let mut rng = StdRng::seed_from_u64(seed);
    let mut faults = FaultReport {
        seed,
        ..FaultReport::default()
    };
    let mut victims: Vec<Victim> = Vec::new();
    loop {
        let pause = Duration::from_millis(
            rng.random_range(args.min_fault_interval * 1000..=args.max_fault_interval * 1000),
        );
        if victims.is_empty() {
            // A new round: every process once, in a random order.
            victims = Victim::ALL.to_vec();
            victims.shuffle(&mut rng);
        }
        let victim = victims.pop().unwrap_or(Victim::Sequencer);
        let downtime = rng.random_range(0..=args.max_downtime_ms);
        let at = start.elapsed() + pause;
        if at + Duration::from_millis(downtime) >= args.duration {
            break;
        }
        watch_exits(
            &mut [&mut sequencer, &mut batcher, &mut proposer, &mut replica],
            start + at,
            &mut faults,
            start,
        )
        .await?;
        let service = match victim {
            Victim::Sequencer => &mut sequencer,
            Victim::Replica => &mut replica,
            Victim::Batcher => &mut batcher,
            Victim::Proposer => &mut proposer,
        };
        service.child.kill().await;
        tokio::time::sleep(Duration::from_millis(downtime)).await;
        service.restart().await?;
        faults.restarts += 1;
        let answering = |url: String| {
            let client = client.clone();
            async move {
                let restarted = Instant::now();
                wait_answering(&client, &url, Duration::from_secs(120)).await?;
                Ok::<_, eyre::Report>(restarted.elapsed().as_secs_f64())
            }
        };
        let recovery_secs = match victim {
            Victim::Sequencer => {
                faults.sequencer_kills += 1;
                let secs = answering(sequencer_url.clone()).await?;
                faults.max_sequencer_recovery_secs = faults.max_sequencer_recovery_secs.max(secs);
                Some(secs)
            }
            Victim::Replica => {
                faults.replica_kills += 1;
                let secs = answering(replica_url.clone()).await?;
                faults.max_replica_recovery_secs = faults.max_replica_recovery_secs.max(secs);
                Some(secs)
            }
            Victim::Batcher => {
                faults.batcher_kills += 1;
                None
            }
            Victim::Proposer => {
                faults.proposer_kills += 1;
                None
            }
        };
        let event = FaultEvent {
            at_secs: at.as_secs_f64(),
            process: service.name.to_owned(),
            downtime_ms: downtime,
            recovery_secs,
        };
        say(format!(
            "  {:>6.1} s: kill -9 {} (down {} ms){}",
            event.at_secs,
            event.process,
            event.downtime_ms,
            recovery_secs
                .map(|secs| format!(", answering again after {secs:.1} s"))
                .unwrap_or_default()
        ));
        faults.events.push(event);
    }
    watch_exits(
        &mut [&mut sequencer, &mut batcher, &mut proposer, &mut replica],
        deadline,
        &mut faults,
        start,
    )
    .await?;

    let mut load = LoadReport {
        seconds: args.duration.as_secs_f64(),
        target_rate: args.rate,
        senders: args.senders,
        ..LoadReport::default()
    };
    let mut accepted = Vec::new();
    for sender in senders {
        let outcome = sender.await?;
        load.sent += outcome.sent;
        load.refused += outcome.refused;
        load.unavailable += outcome.unavailable;
        for sample in outcome.refusal_samples {
            if load.refusal_samples.len() < 5 {
                load.refusal_samples.push(sample);
            }
        }
        accepted.extend(outcome.accepted);
    }
    load.accepted = accepted.len() as u64;
    load.accepted_tps = load.accepted as f64 / load.seconds;
    say(format!(
        "load done: {} accepted; waiting for inclusion, the safe head and the replica",
        load.accepted
    ));

    let settle_deadline = Instant::now() + Duration::from_secs(args.settle_timeout);
    let mut checks = Vec::new();

    // 1. Every acknowledged transaction has a receipt.
    let receipts = wait_receipts(&client, &sequencer_url, &accepted, settle_deadline).await?;
    load.included = receipts.len() as u64;
    let reverted = receipts
        .values()
        .filter(|receipt| receipt.status != 1)
        .count();

    // 2. The safe head reaches everything the load produced, and the replica follows it.
    let head = block_number(&client, &sequencer_url, "latest").await?;
    let target = receipts
        .values()
        .map(|receipt| receipt.block)
        .max()
        .unwrap_or(0)
        .max(head);
    let safe = loop {
        let safe = block_number(&client, &sequencer_url, "safe").await?;
        let replica_head = block_number(&client, &replica_url, "latest")
            .await
            .unwrap_or(0);
        if (safe >= target && replica_head >= target) || Instant::now() >= settle_deadline {
            break safe.min(replica_head);
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
    };
    watch_exits(
        &mut [&mut sequencer, &mut batcher, &mut proposer, &mut replica],
        Instant::now(),
        &mut faults,
        start,
    )
    .await?;

    let sequencer_blocks = blocks(&client, &sequencer_url, 0..=head.max(safe)).await?;
    let replica_blocks = blocks(&client, &replica_url, 0..=safe).await?;
    load.blocks = head;
    load.max_block_txs = sequencer_blocks
        .iter()
        .map(|block| block.transactions.len().saturating_sub(1) as u64)
        .max()
        .unwrap_or(0);

    let not_in_chain = receipts
        .iter()
        .filter(|(hash, receipt)| {
            sequencer_blocks
                .get(receipt.block as usize)
                .is_none_or(|block| {
                    block.hash != receipt.block_hash || !block.transactions.contains(hash)
                })
        })
        .count();
    let missing: Vec<String> = accepted
        .iter()
        .filter(|hash| !receipts.contains_key(*hash))
        .take(5)
        .map(|hash| hash.to_string())
        .collect();
    let lost = accepted.len() - receipts.len();
    checks.push(Check {
        name: "no accepted transaction lost".into(),
        passed: lost == 0 && reverted == 0 && not_in_chain == 0,
        detail: if lost == 0 && reverted == 0 && not_in_chain == 0 {
            format!(
                "all {} accepted transactions have a successful receipt in a canonical block",
                accepted.len()
            )
        } else {
            format!(
                "{lost} of {} accepted transactions have no receipt (e.g. {}), {reverted} \
                 receipts failed, {not_in_chain} receipts point outside the canonical chain",
                accepted.len(),
                missing.join(", ")
            )
        },
    });

    checks.push(Check {
        name: "safe head reached the end of the load".into(),
        passed: safe >= target,
        detail: format!("safe head {safe}, last block of the load {target}"),
    });

    let diverged: Vec<u64> = (0..=safe)
        .filter(|&number| {
            let (Some(ours), Some(theirs)) = (
                sequencer_blocks.get(number as usize),
                replica_blocks.get(number as usize),
            ) else {
                return true;
            };
            ours.hash != theirs.hash || ours.state_root != theirs.state_root
        })
        .collect();
    checks.push(Check {
        name: "replica agrees with the sequencer".into(),
        passed: diverged.is_empty(),
        detail: if diverged.is_empty() {
            format!(
                "blocks 0..={safe}: equal block hashes and state roots (head {:#.10})",
                sequencer_blocks
                    .get(safe as usize)
                    .map(|block| block.hash)
                    .unwrap_or_default()
            )
        } else {
            format!("{} blocks differ, first {}", diverged.len(), diverged[0])
        },
    });

    // 3. Every block's batch is on L1 exactly once.
    let inbox = {
        // RpcL1 answers synchronously on this runtime: run it from a blocking thread.
        let l1 = RpcL1::connect(l1_url)?;
        let rollup = rollup.clone();
        tokio::task::spawn_blocking(move || scan_inbox(&l1, &rollup)).await??
    };
    checks.push(check_da(&inbox, &rollup, &sequencer_blocks, safe));

    // 4. Every proposal on L1 is the replica's output root, in sequence, none sent twice. The
    //    proposals trail the safe head by an L1 confirmation: give them at least 60 s more.
    let proposals_deadline = settle_deadline.max(Instant::now() + Duration::from_secs(60));
    checks.push(
        check_proposals(
            &client,
            &replica_url,
            l1_url,
            deployment.output_oracle,
            dev_key(PROPOSER_ACCOUNT)?.address(),
            safe,
            proposals_deadline,
        )
        .await?,
    );

    if !faults.unexpected_exits.is_empty() {
        checks.push(Check {
            name: "no process exited on its own".into(),
            passed: false,
            detail: faults.unexpected_exits.join("; "),
        });
    }
    let kills = [
        faults.sequencer_kills,
        faults.replica_kills,
        faults.batcher_kills,
        faults.proposer_kills,
    ];
    if kills.contains(&0) {
        checks.push(Check {
            name: "every process was killed".into(),
            passed: false,
            detail: format!(
                "sequencer {}x, replica {}x, batcher {}x, proposer {}x: run longer or with a \
                 shorter --max-fault-interval",
                kills[0], kills[1], kills[2], kills[3]
            ),
        });
    }

    proposer.child.stop().await;
    batcher.child.stop().await;
    replica.child.stop().await;
    sequencer.child.stop().await;
    let passed = checks.iter().all(|check| check.passed);
    Ok(SoakReport {
        datadir: datadir.to_owned(),
        load,
        faults,
        safe_head: safe,
        checks,
        passed,
    })
}

/// The processes the faults hit.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Victim {
    Sequencer,
    Replica,
    Batcher,
    Proposer,
}

impl Victim {
    const ALL: [Self; 4] = [
        Self::Sequencer,
        Self::Replica,
        Self::Batcher,
        Self::Proposer,
    ];
}

/// The dev account the devnet's SystemConfig names as the proposer.
const PROPOSER_ACCOUNT: usize = 4;

/// Waits (until `deadline`) for the oracle to have every proposal up to `safe`, then checks
/// them all: proposal i is for block `startingBlockNumber + (i + 1) * proposalInterval` (none
/// twice, none skipped), by `proposer`, with the replica's output root at that block; and, from
/// every L1 transaction the proposer signed, that it sent exactly one `propose` per proposal and
/// none of its transactions reverted (a restarted proposer re-proposing a block the oracle
/// already has would revert with `UnexpectedBlockNumber`). Its other transactions are
/// `claimCredit`s of bonds returned after the challenge window.
async fn check_proposals(
    client: &reqwest::Client,
    replica_url: &str,
    l1_url: &str,
    oracle: Address,
    proposer: Address,
    safe: u64,
    deadline: Instant,
) -> eyre::Result<Check> {
    use alloy::providers::{Provider, ProviderBuilder};
    let provider = ProviderBuilder::new().connect_http(l1_url.parse()?);
    let oracle = parallax_contracts::OutputOracle::new(oracle, &provider);
    let to_u64 = |value: U256| u64::try_from(value).unwrap_or(u64::MAX);
    let interval = to_u64(oracle.proposalInterval().call().await?);
    let starting = to_u64(oracle.startingBlockNumber().call().await?);
    if interval == 0 {
        bail!("the oracle's proposalInterval is 0");
    }
    let mut next = to_u64(oracle.nextBlockNumber().call().await?);
    while next <= safe && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(500)).await;
        next = to_u64(oracle.nextBlockNumber().call().await?);
    }
    // Proposals and the proposer's transactions as of one L1 block, so that a proposal landing
    // in between cannot skew the comparison.
    let head = provider.get_block_number().await?;
    let at = alloy::eips::BlockId::number(head);
    let count = to_u64(oracle.outputCount().call().block(at).await?);
    let sent = proposer_transactions(client, l1_url, proposer, head).await?;
    let mut out_of_sequence = Vec::new();
    let mut wrong_roots = Vec::new();
    let mut last = starting;
    for index in 0..count {
        let proposal = oracle.getOutput(U256::from(index)).call().block(at).await?;
        let number = proposal.l2BlockNumber;
        last = number;
        let expected = starting + (index + 1) * interval;
        if number != expected || proposal.proposer != proposer {
            out_of_sequence.push(format!(
                "#{index}: block {number} by {}, expected block {expected}",
                proposal.proposer
            ));
        }
        // The replica may still be deriving the newest proposed blocks: poll for each.
        let replica_root = loop {
            let answer = call(
                client,
                replica_url,
                "rollup_outputAtBlock",
                json!([format!("{number:#x}")]),
            )
            .await;
            let root = answer
                .ok()
                .and_then(|output| output["outputRoot"].as_str()?.parse::<B256>().ok());
            if root.is_some() || Instant::now() >= deadline {
                break root;
            }
            tokio::time::sleep(Duration::from_millis(500)).await;
        };
        if replica_root != Some(proposal.outputRoot) {
            wrong_roots.push(format!(
                "#{index} (block {number}): oracle {}, replica {}",
                proposal.outputRoot,
                replica_root.map_or_else(|| "none".into(), |root| root.to_string())
            ));
        }
    }
    let covered = next > safe;
    let passed = count > 0
        && covered
        && out_of_sequence.is_empty()
        && wrong_roots.is_empty()
        && sent.proposals == count
        && sent.reverted.is_empty();
    let signed = format!(
        "the proposer signed {} L1 transactions: {} proposals, {} other ({} reverted{})",
        sent.total,
        sent.proposals,
        sent.total - sent.proposals,
        sent.reverted.len(),
        sent.reverted
            .first()
            .map(|hash| format!(", e.g. {hash}"))
            .unwrap_or_default()
    );
    Ok(Check {
        name: "every proposal correct, in sequence, sent once".into(),
        passed,
        detail: if passed {
            format!(
                "{count} proposals, blocks {}..={last} every {interval}, each equal to the \
                 replica's output root; {signed}",
                starting + interval
            )
        } else {
            format!(
                "{count} proposals (through block {last}, next {next}, safe head {safe}{}); \
                 {} out of sequence ({}); {} unlike the replica's output root ({}); {signed}",
                if covered {
                    ""
                } else {
                    ": the safe head is not covered"
                },
                out_of_sequence.len(),
                out_of_sequence.first().cloned().unwrap_or_default(),
                wrong_roots.len(),
                wrong_roots.first().cloned().unwrap_or_default(),
            )
        },
    })
}

/// What the proposer's key signed on L1.
struct ProposerTransactions {
    /// Transactions from the proposer in L1 blocks up to the head.
    total: u64,
    /// Of those, `propose` calls.
    proposals: u64,
    /// Hashes of those that reverted.
    reverted: Vec<String>,
}

/// Every transaction `proposer` signed in L1 blocks `0..=head`, with its receipt's status.
async fn proposer_transactions(
    client: &reqwest::Client,
    l1_url: &str,
    proposer: Address,
    head: u64,
) -> eyre::Result<ProposerTransactions> {
    use alloy::sol_types::SolCall;
    let selector = hex::encode_prefixed(parallax_contracts::OutputOracle::proposeCall::SELECTOR);
    let mut found = ProposerTransactions {
        total: 0,
        proposals: 0,
        reverted: Vec::new(),
    };
    let numbers: Vec<u64> = (0..=head).collect();
    for chunk in numbers.chunks(100) {
        let calls: Vec<(&str, Value)> = chunk
            .iter()
            .map(|number| {
                (
                    "eth_getBlockByNumber",
                    json!([format!("{number:#x}"), true]),
                )
            })
            .collect();
        for block in call_batch(client, l1_url, &calls).await? {
            let block = block.map_err(|error| eyre!("L1 block: {error}"))?;
            for tx in block["transactions"].as_array().into_iter().flatten() {
                let from = tx["from"]
                    .as_str()
                    .and_then(|from| from.parse::<Address>().ok());
                if from != Some(proposer) {
                    continue;
                }
                found.total += 1;
                let input = tx["input"].as_str().unwrap_or_default();
                if input.starts_with(&selector) {
                    found.proposals += 1;
                }
                let hash = tx["hash"].as_str().unwrap_or_default().to_owned();
                let receipt = call(client, l1_url, "eth_getTransactionReceipt", json!([hash]))
                    .await
                    .map_err(|error| eyre!("receipt of {hash}: {error}"))?;
                if quantity(&receipt["status"]) != Some(1) {
                    found.reverted.push(hash);
                }
            }
        }
    }
    Ok(found)
}

/// Sleeps until `until`, noting (and restarting) any service that exited without being killed.
async fn watch_exits(
    services: &mut [&mut Service],
    until: Instant,
    faults: &mut FaultReport,
    start: Instant,
) -> eyre::Result<()> {
    loop {
        for service in services.iter_mut() {
            if let Some(status) = service.child.exited() {
                faults.unexpected_exits.push(format!(
                    "{} exited with {status} at {:.1} s (see {})",
                    service.name,
                    start.elapsed().as_secs_f64(),
                    service.log.display()
                ));
                tokio::time::sleep(Duration::from_secs(1)).await;
                service.restart().await?;
            }
        }
        let now = Instant::now();
        if now >= until {
            return Ok(());
        }
        tokio::time::sleep((until - now).min(Duration::from_millis(250))).await;
    }
}

/// Why a JSON-RPC call failed.
#[derive(Debug)]
enum RpcFailure {
    /// No answer (connection refused, reset, timeout).
    Transport(String),
    /// The node answered with an error.
    Refused(Value),
}

impl std::fmt::Display for RpcFailure {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Transport(error) => write!(f, "no answer: {error}"),
            Self::Refused(error) => write!(f, "refused: {error}"),
        }
    }
}

impl std::error::Error for RpcFailure {}

async fn call(
    client: &reqwest::Client,
    url: &str,
    method: &str,
    params: Value,
) -> Result<Value, RpcFailure> {
    let reply: Value = client
        .post(url)
        .json(&json!({"jsonrpc": "2.0", "id": 1, "method": method, "params": params}))
        .send()
        .await
        .map_err(|error| RpcFailure::Transport(error.to_string()))?
        .json()
        .await
        .map_err(|error| RpcFailure::Transport(error.to_string()))?;
    match reply.get("error") {
        Some(error) => Err(RpcFailure::Refused(error.clone())),
        None => Ok(reply.get("result").cloned().unwrap_or(Value::Null)),
    }
}

/// A batch of calls; the results in order (`Err` per failed call).
async fn call_batch(
    client: &reqwest::Client,
    url: &str,
    calls: &[(&str, Value)],
) -> Result<Vec<Result<Value, Value>>, RpcFailure> {
    let body: Vec<Value> = calls
        .iter()
        .enumerate()
        .map(|(id, (method, params))| {
            json!({"jsonrpc": "2.0", "id": id, "method": method, "params": params})
        })
        .collect();
    let replies: Vec<Value> = client
        .post(url)
        .json(&body)
        .send()
        .await
        .map_err(|error| RpcFailure::Transport(error.to_string()))?
        .json()
        .await
        .map_err(|error| RpcFailure::Transport(error.to_string()))?;
    let mut results: Vec<Result<Value, Value>> =
        vec![Err(Value::String("no reply".into())); calls.len()];
    for reply in replies {
        let Some(id) = reply.get("id").and_then(Value::as_u64) else {
            continue;
        };
        if let Some(slot) = results.get_mut(id as usize) {
            *slot = match reply.get("error") {
                Some(error) => Err(error.clone()),
                None => Ok(reply.get("result").cloned().unwrap_or(Value::Null)),
            };
        }
    }
    Ok(results)
}

fn quantity(value: &Value) -> Option<u64> {
    u64::from_str_radix(value.as_str()?.strip_prefix("0x")?, 16).ok()
}

async fn block_number(client: &reqwest::Client, url: &str, tag: &str) -> eyre::Result<u64> {
    let block = call(client, url, "eth_getBlockByNumber", json!([tag, false])).await?;
    quantity(&block["number"]).ok_or_else(|| eyre!("{url}: no `{tag}` block"))
}

/// Polls `url` until it answers `eth_blockNumber`.
async fn wait_answering(client: &reqwest::Client, url: &str, limit: Duration) -> eyre::Result<()> {
    let deadline = Instant::now() + limit;
    loop {
        if call(client, url, "eth_blockNumber", json!([]))
            .await
            .is_ok()
        {
            return Ok(());
        }
        if Instant::now() >= deadline {
            bail!("{url} did not answer within {} s", limit.as_secs());
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// What one sender did.
struct SenderOutcome {
    sent: u64,
    refused: u64,
    unavailable: u64,
    accepted: Vec<B256>,
    refusal_samples: Vec<String>,
}

/// One load-generating account.
struct Sender {
    index: usize,
    key: PrivateKeySigner,
    chain_id: u64,
    url: String,
    client: reqwest::Client,
}

impl Sender {
    /// Sends one transfer every `interval` until `deadline`. The nonce comes from the
    /// sequencer's pending count after every failure, so a transaction whose acknowledgement a
    /// crash swallowed is not sent twice. Every transfer has a distinct value, so a nonce the
    /// sequencer lost and gave out again yields a new hash and the lost one shows as missing.
    async fn run(self, interval: Duration, deadline: Instant) -> SenderOutcome {
        let mut outcome = SenderOutcome {
            sent: 0,
            refused: 0,
            unavailable: 0,
            accepted: Vec::new(),
            refusal_samples: Vec::new(),
        };
        let address = self.key.address();
        let recipient = Address::with_last_byte(0x50 + self.index as u8);
        let mut ticks = tokio::time::interval(interval);
        ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        let mut nonce: Option<u64> = None;
        let mut serial = 0u64;
        while Instant::now() < deadline {
            ticks.tick().await;
            let next = match nonce {
                Some(next) => next,
                None => match call(
                    &self.client,
                    &self.url,
                    "eth_getTransactionCount",
                    json!([address, "pending"]),
                )
                .await
                .ok()
                .as_ref()
                .and_then(quantity)
                {
                    Some(next) => next,
                    None => continue,
                },
            };
            serial += 1;
            let tx = TxEip1559 {
                chain_id: self.chain_id,
                nonce: next,
                gas_limit: 21_000,
                max_fee_per_gas: 100_000_000_000,
                max_priority_fee_per_gas: 1_000_000,
                to: TxKind::Call(recipient),
                value: U256::from(serial),
                ..Default::default()
            };
            let Ok(signature) = self.key.sign_hash_sync(&tx.signature_hash()) else {
                continue;
            };
            let envelope = TxEnvelope::from(tx.into_signed(signature));
            let hash = *envelope.tx_hash();
            let raw = hex::encode_prefixed(envelope.encoded_2718());
            outcome.sent += 1;
            match call(
                &self.client,
                &self.url,
                "eth_sendRawTransaction",
                json!([raw]),
            )
            .await
            {
                Ok(_) => {
                    outcome.accepted.push(hash);
                    nonce = Some(next + 1);
                }
                Err(RpcFailure::Refused(error)) => {
                    outcome.refused += 1;
                    if outcome.refusal_samples.len() < 5 {
                        outcome
                            .refusal_samples
                            .push(format!("sender {} nonce {next}: {error}", self.index));
                    }
                    nonce = None;
                }
                Err(RpcFailure::Transport(_)) => {
                    outcome.unavailable += 1;
                    nonce = None;
                }
            }
        }
        outcome
    }
}

/// A receipt's place.
struct Receipt {
    block: u64,
    block_hash: B256,
    status: u64,
}

/// Polls receipts of `hashes` until all have one or `deadline`; the receipts found.
async fn wait_receipts(
    client: &reqwest::Client,
    url: &str,
    hashes: &[B256],
    deadline: Instant,
) -> eyre::Result<HashMap<B256, Receipt>> {
    let mut found = HashMap::with_capacity(hashes.len());
    loop {
        let waiting: Vec<B256> = hashes
            .iter()
            .filter(|hash| !found.contains_key(*hash))
            .copied()
            .collect();
        for chunk in waiting.chunks(200) {
            let calls: Vec<(&str, Value)> = chunk
                .iter()
                .map(|hash| ("eth_getTransactionReceipt", json!([hash])))
                .collect();
            let Ok(results) = call_batch(client, url, &calls).await else {
                continue;
            };
            for (hash, result) in chunk.iter().zip(results) {
                let Ok(receipt) = result else { continue };
                let (Some(block), Some(block_hash), Some(status)) = (
                    quantity(&receipt["blockNumber"]),
                    receipt["blockHash"]
                        .as_str()
                        .and_then(|hash| hash.parse().ok()),
                    quantity(&receipt["status"]),
                ) else {
                    continue;
                };
                found.insert(
                    *hash,
                    Receipt {
                        block,
                        block_hash,
                        status,
                    },
                );
            }
        }
        if found.len() == hashes.len() || Instant::now() >= deadline {
            return Ok(found);
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
}

/// The parts of an L2 block the checks compare.
struct BlockSummary {
    hash: B256,
    parent_hash: B256,
    state_root: B256,
    transactions: Vec<B256>,
}

/// Blocks `range` of `url`, in order (stops at the first missing one).
async fn blocks(
    client: &reqwest::Client,
    url: &str,
    range: std::ops::RangeInclusive<u64>,
) -> eyre::Result<Vec<BlockSummary>> {
    let numbers: Vec<u64> = range.collect();
    let mut out = Vec::with_capacity(numbers.len());
    for chunk in numbers.chunks(100) {
        let calls: Vec<(&str, Value)> = chunk
            .iter()
            .map(|number| {
                (
                    "eth_getBlockByNumber",
                    json!([format!("{number:#x}"), false]),
                )
            })
            .collect();
        let results = call_batch(client, url, &calls).await?;
        for result in results {
            let Ok(block) = result else { return Ok(out) };
            let field = |name: &str| -> eyre::Result<B256> {
                block[name]
                    .as_str()
                    .and_then(|hash| hash.parse().ok())
                    .ok_or_else(|| eyre!("{url}: block without {name}"))
            };
            if block.is_null() {
                return Ok(out);
            }
            out.push(BlockSummary {
                hash: field("hash")?,
                parent_hash: field("parentHash")?,
                state_root: field("stateRoot")?,
                transactions: block["transactions"]
                    .as_array()
                    .map(|hashes| {
                        hashes
                            .iter()
                            .filter_map(|hash| hash.as_str()?.parse().ok())
                            .collect()
                    })
                    .unwrap_or_default(),
            });
        }
    }
    Ok(out)
}

/// What the L1 inbox holds: every frame the batcher posted and the batches of the channels
/// they complete.
#[derive(Debug, Default)]
struct InboxContents {
    /// Batcher transactions to the inbox.
    transactions: u64,
    /// Frames read.
    frames: u64,
    /// Frames seen before (same channel and number).
    duplicate_frames: Vec<String>,
    /// Complete channels.
    channels: u64,
    /// Channels whose frames never all arrived.
    incomplete_channels: u64,
    /// Payloads or channels that did not decode.
    undecodable: Vec<String>,
    /// Each decoded batch: (L2 timestamp in ms, parent hash, its transactions' hashes).
    batches: Vec<(u64, B256, Vec<B256>)>,
}

/// Reads every batcher transaction in L1's inbox and decodes it with the protocol codec (the
/// derivation pipeline's own frame and channel decoding, without its validity rules, so that
/// duplicates are counted rather than dropped).
fn scan_inbox(l1: &RpcL1, rollup: &RollupConfig) -> eyre::Result<InboxContents> {
    let head = l1.head_number()?;
    let mut contents = InboxContents::default();
    let mut channels: BTreeMap<ChannelId, BTreeMap<u16, (bool, Vec<u8>)>> = BTreeMap::new();
    for number in rollup.genesis.l1.number..=head {
        let Some(block) = l1.block_by_number(number)? else {
            break;
        };
        for tx in l1.inbox_transactions(&block, rollup.batch_inbox_address)? {
            if tx.from != rollup.batcher_address || tx.to != rollup.batch_inbox_address {
                continue;
            }
            contents.transactions += 1;
            let InboxData::Calldata(data) = tx.data else {
                contents
                    .undecodable
                    .push(format!("blob transaction in L1 block {number}"));
                continue;
            };
            let frames = match parse_frames_payload(&data) {
                Ok(frames) => frames,
                Err(error) => {
                    contents
                        .undecodable
                        .push(format!("payload in L1 block {number}: {error}"));
                    continue;
                }
            };
            for frame in frames {
                contents.frames += 1;
                let channel = channels.entry(frame.channel_id).or_default();
                if channel.contains_key(&frame.number) {
                    contents.duplicate_frames.push(format!(
                        "channel {} frame {} again in L1 block {number}",
                        frame.channel_id, frame.number
                    ));
                    continue;
                }
                channel.insert(frame.number, (frame.is_last, frame.data.to_vec()));
            }
        }
    }
    for (id, frames) in channels {
        let complete = frames.values().last().is_some_and(|(last, _)| *last)
            && frames.keys().copied().eq(0..frames.len() as u16);
        if !complete {
            contents.incomplete_channels += 1;
            continue;
        }
        contents.channels += 1;
        let data: Vec<u8> = frames.into_values().flat_map(|(_, data)| data).collect();
        match decode_channel(&data, rollup.max_channel_decompressed()) {
            Ok(batches) => contents.batches.extend(batches.into_iter().map(|batch| {
                let hashes = batch.transactions.iter().map(keccak256).collect();
                (batch.timestamp_ms, batch.parent_hash, hashes)
            })),
            Err(error) => contents.undecodable.push(format!("channel {id}: {error}")),
        }
    }
    Ok(contents)
}

/// Every L2 block 1..=safe has exactly one batch on L1, and it is that block's: the parent
/// hash and the (non-deposit) transactions are the sequencer's.
fn check_da(
    inbox: &InboxContents,
    rollup: &RollupConfig,
    blocks: &[BlockSummary],
    safe: u64,
) -> Check {
    let genesis_ms = rollup
        .l2_timestamp_ms(rollup.genesis.l2.number)
        .unwrap_or(0);
    let mut per_block: BTreeMap<u64, u64> = BTreeMap::new();
    let mut mismatched = Vec::new();
    for (timestamp_ms, parent_hash, hashes) in &inbox.batches {
        let offset = timestamp_ms.saturating_sub(genesis_ms);
        let number = rollup.genesis.l2.number + offset / rollup.block_time_ms;
        *per_block.entry(number).or_default() += 1;
        let Some(block) = blocks.get(number as usize) else {
            continue;
        };
        let txs = &block.transactions;
        let matches = offset % rollup.block_time_ms == 0
            && block.parent_hash == *parent_hash
            && txs.len() > hashes.len()
            && txs[txs.len() - hashes.len()..] == hashes[..];
        if !matches {
            mismatched.push(number);
        }
    }
    let first = rollup.genesis.l2.number + 1;
    let gaps: Vec<u64> = (first..=safe)
        .filter(|number| !per_block.contains_key(number))
        .collect();
    let repeated: Vec<u64> = per_block
        .iter()
        .filter(|(_, count)| **count > 1)
        .map(|(number, _)| *number)
        .collect();
    let passed = gaps.is_empty()
        && repeated.is_empty()
        && mismatched.is_empty()
        && inbox.duplicate_frames.is_empty()
        && inbox.undecodable.is_empty();
    let figures = format!(
        "{} batcher txs, {} frames, {} complete channels ({} incomplete), {} batches",
        inbox.transactions,
        inbox.frames,
        inbox.channels,
        inbox.incomplete_channels,
        inbox.batches.len()
    );
    let sample = |numbers: &[u64]| {
        numbers
            .iter()
            .take(5)
            .map(u64::to_string)
            .collect::<Vec<_>>()
            .join(", ")
    };
    Check {
        name: "every block's batch on L1 exactly once".into(),
        passed,
        detail: if passed {
            format!("blocks {first}..={safe} once each; {figures}; 0 duplicate frames")
        } else {
            format!(
                "{figures}; {} blocks missing ({}), {} blocks posted more than once ({}), {} \
                 batches unlike their block ({}), {} duplicate frames ({}), {} undecodable ({})",
                gaps.len(),
                sample(&gaps),
                repeated.len(),
                sample(&repeated),
                mismatched.len(),
                sample(&mismatched),
                inbox.duplicate_frames.len(),
                inbox.duplicate_frames.first().cloned().unwrap_or_default(),
                inbox.undecodable.len(),
                inbox.undecodable.first().cloned().unwrap_or_default()
            )
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_parse_with_units() {
        assert_eq!(parse_duration("90"), Ok(Duration::from_secs(90)));
        assert_eq!(parse_duration("60s"), Ok(Duration::from_secs(60)));
        assert_eq!(parse_duration("3m"), Ok(Duration::from_secs(180)));
        assert_eq!(parse_duration("1h"), Ok(Duration::from_secs(3600)));
        assert!(parse_duration("3x").is_err());
        assert!(parse_duration("m").is_err());
        assert!(parse_duration("").is_err());
    }

    fn summary(number: u8, parent: u8, txs: &[u8]) -> BlockSummary {
        BlockSummary {
            hash: B256::repeat_byte(number),
            parent_hash: B256::repeat_byte(parent),
            state_root: B256::ZERO,
            transactions: txs.iter().map(|tx| B256::repeat_byte(*tx)).collect(),
        }
    }

    /// Blocks 0..=3 (0 is genesis), each with a deposit (0xd*) and some user transactions.
    fn chain() -> (RollupConfig, Vec<BlockSummary>) {
        let mut rollup = RollupConfig {
            block_time_ms: 500,
            ..RollupConfig::default()
        };
        rollup.genesis.l2_timestamp = 1_000;
        let blocks = vec![
            summary(0, 0xff, &[]),
            summary(1, 0, &[0xd1, 0x11]),
            summary(2, 1, &[0xd2]),
            summary(3, 2, &[0xd3, 0x31, 0x32]),
        ];
        (rollup, blocks)
    }

    fn batch(number: u64, blocks: &[BlockSummary]) -> (u64, B256, Vec<B256>) {
        let block = &blocks[number as usize];
        (
            1_000_000 + number * 500,
            blocks[number as usize - 1].hash,
            block.transactions[1..].to_vec(),
        )
    }

    #[test]
    fn da_check_passes_only_with_each_block_once() {
        let (rollup, blocks) = chain();
        let all: Vec<_> = (1..=3).map(|number| batch(number, &blocks)).collect();
        let inbox = |batches: Vec<(u64, B256, Vec<B256>)>| InboxContents {
            batches,
            ..InboxContents::default()
        };
        assert!(check_da(&inbox(all.clone()), &rollup, &blocks, 3).passed);
        // A gap.
        let gap = vec![all[0].clone(), all[2].clone()];
        assert!(!check_da(&inbox(gap), &rollup, &blocks, 3).passed);
        // A block twice.
        let twice = vec![
            all[0].clone(),
            all[1].clone(),
            all[1].clone(),
            all[2].clone(),
        ];
        let check = check_da(&inbox(twice), &rollup, &blocks, 3);
        assert!(!check.passed);
        assert!(check.detail.contains("1 blocks posted more than once (2)"));
        // A batch whose transactions are not its block's.
        let mut wrong = all.clone();
        wrong[2].2.pop();
        assert!(!check_da(&inbox(wrong), &rollup, &blocks, 3).passed);
        // A batch on another parent.
        let mut forked = all.clone();
        forked[1].1 = B256::repeat_byte(0xee);
        assert!(!check_da(&inbox(forked), &rollup, &blocks, 3).passed);
        // A duplicate frame fails even when the batches are fine.
        let mut duplicate = inbox(all);
        duplicate.duplicate_frames.push("channel 1 frame 0".into());
        assert!(!check_da(&duplicate, &rollup, &blocks, 3).passed);
        // Blocks past the safe head need not be there yet.
        let early: Vec<_> = (1..=2).map(|number| batch(number, &blocks)).collect();
        assert!(check_da(&inbox(early), &rollup, &blocks, 2).passed);
    }
}
