//! Crash safety: a writer process is killed with SIGKILL at random points while it commits
//! blocks; every reopen must find the store exactly at some block (all rows, all trie nodes,
//! the head on it), never in between, and never behind a block the writer saw acknowledged.
//! The writer resumes from the store after each kill, as a restarted sequencer does.

mod common;

use std::{
    io::{BufRead, BufReader, Write},
    process::{Command, Stdio},
    time::{Duration, Instant},
};

use common::{fresh_postgres_url, ChainBuilder};
use parallax_state::store::{load_world_state, ChainStore, HeadKind, SqlStore};
use rand::Rng;

const URL_ENV: &str = "PARALLAX_CRASH_WRITER_URL";
const ACK_ENV: &str = "PARALLAX_CRASH_WRITER_ACKS";

/// The writer: resumes at the store's head and commits large random blocks until killed,
/// appending each acknowledged block to the ack file. Only runs when the parent test spawns it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "child process of killed_writer_leaves_the_store_at_a_whole_block"]
async fn crash_writer() {
    let (Ok(url), Ok(acks)) = (std::env::var(URL_ENV), std::env::var(ACK_ENV)) else {
        return;
    };
    let store = SqlStore::open(&url).await.expect("open");
    let mut chain = ChainBuilder::new(rand::rng().random());
    if let Some(head) = store.head(HeadKind::Unsafe).await.expect("head") {
        chain.world = load_world_state(&store, head.number).await.expect("resume");
        chain.world.mark_persisted();
        chain.parent = Some(head);
    }
    let mut ack = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(acks)
        .expect("ack file");
    println!("ready");
    loop {
        let block = chain.commit_random(&store, 120, 150).await;
        writeln!(ack, "{} {}", block.header.number, block.hash).expect("ack");
        ack.sync_data().expect("sync ack");
        chain.snapshots.clear();
        chain.blocks.clear();
    }
}

async fn check_after_kill(url: &str, acks: &std::path::Path) -> u64 {
    let store = SqlStore::open(url).await.expect("reopen after kill");
    let Some(head) = store.head(HeadKind::Unsafe).await.expect("head") else {
        assert!(
            std::fs::read_to_string(acks).unwrap_or_default().is_empty(),
            "acknowledged blocks lost"
        );
        return 0;
    };
    // Never behind what the writer was told is committed.
    if let Some(last) = std::fs::read_to_string(acks)
        .unwrap_or_default()
        .lines()
        .last()
    {
        let (number, hash) = last.split_once(' ').expect("ack line");
        let number: u64 = number.parse().expect("ack number");
        assert!(
            head.number >= number,
            "head {} is behind acknowledged block {number}",
            head.number
        );
        let stored = store
            .header(number)
            .await
            .unwrap()
            .expect("acknowledged block");
        assert_eq!(stored.hash.to_string(), hash);
    }
    // Every block up to the head is whole; nothing exists above it.
    for number in 0..=head.number {
        let block = store
            .block(number)
            .await
            .unwrap()
            .unwrap_or_else(|| panic!("block {number} missing"));
        assert_eq!(
            block.transactions.len(),
            block.receipts.len(),
            "block {number}"
        );
        if number > 0 {
            let parent = store.header(number - 1).await.unwrap().expect("parent");
            assert_eq!(block.header.parent_hash, parent.hash);
        }
    }
    assert_eq!(
        store
            .header(head.number)
            .await
            .unwrap()
            .map(|header| header.hash),
        Some(head.hash)
    );
    assert!(
        store.block(head.number + 1).await.unwrap().is_none(),
        "a block above the head"
    );
    // The head's whole state is there: every trie node of its root.
    let world = load_world_state(&store, head.number)
        .await
        .expect("head state loads");
    let header = store
        .header(head.number)
        .await
        .unwrap()
        .expect("head header");
    assert_eq!(world.root(), header.header.state_root);
    store.close().await;
    head.number
}

async fn run_kills(url: &str, rounds: usize) {
    let dir = tempfile::tempdir().expect("temp dir");
    let acks = dir.path().join("acks");
    let mut rng = rand::rng();
    let mut heads = Vec::new();
    for _ in 0..rounds {
        let mut child = Command::new(std::env::current_exe().expect("test binary"))
            .args([
                "--exact",
                "crash_writer",
                "--ignored",
                "--nocapture",
                "--test-threads=1",
            ])
            .env(URL_ENV, url)
            .env(ACK_ENV, &acks)
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("spawn writer");
        // Wait until the writer has resumed, then let it commit for a random while.
        let stdout = child.stdout.take().expect("stdout");
        let mut lines = BufReader::new(stdout).lines();
        let started = Instant::now();
        loop {
            match lines.next() {
                Some(Ok(line)) if line.contains("ready") => break,
                Some(_) if started.elapsed() < Duration::from_secs(120) => continue,
                _ => panic!("writer did not start"),
            }
        }
        std::thread::sleep(Duration::from_millis(rng.random_range(150..1500)));
        if let Some(status) = child.try_wait().expect("writer status") {
            panic!("the writer stopped by itself ({status}) instead of being killed");
        }
        child.kill().expect("SIGKILL the writer");
        child.wait().expect("reap");
        heads.push(check_after_kill(url, &acks).await);
    }
    eprintln!(
        "{}: heads after each kill: {heads:?}",
        url.split(':').next().unwrap_or_default()
    );
    assert!(
        heads.windows(2).all(|pair| pair[0] <= pair[1]),
        "heads went back: {heads:?}"
    );
    assert!(
        heads.last().copied().unwrap_or(0) > 0,
        "the writer never committed: {heads:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn killed_writer_leaves_the_store_at_a_whole_block() {
    let dir = tempfile::tempdir().expect("temp dir");
    run_kills(
        &format!("sqlite:{}", dir.path().join("chain.db").display()),
        6,
    )
    .await;
    if let Some(url) = fresh_postgres_url().await {
        run_kills(&url, 4).await;
    }
}
