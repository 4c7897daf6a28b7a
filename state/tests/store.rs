//! The chain store's behaviour, checked identically on SQLite and (when
//! `PARALLAX_TEST_POSTGRES_URL` is set) PostgreSQL: round trips, log queries against a scan,
//! historical state and proofs against the in-memory state and alloy-trie's verifier, pruning,
//! head rules, and clear errors on bad input.

mod common;

use alloy_primitives::{keccak256, Address, Bytes, B256, U256};
use alloy_trie::{proof::verify_proof, Nibbles, TrieAccount};
use common::{sqlite, stores, ChainBuilder};
use parallax_state::{
    node::NodeError,
    store::{
        load_world_state, BlockCommit, BlockRef, ChainStore, DisputeGameRecord, HeadKind,
        HistoricalState, L1Origin, L1Transaction, L1TxStatus, LogFilter, PostedFrame, Proposal,
        Rewound, SqlStore, StoreError,
    },
};
use rand::Rng;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn blocks_transactions_and_receipts_round_trip() {
    for test in stores().await {
        let store = &test.store;
        let mut chain = ChainBuilder::new(1);
        assert_eq!(store.head(HeadKind::Unsafe).await.unwrap(), None);
        for _ in 0..6 {
            chain.commit_random(store, 5, 7).await;
        }
        let head = store.head(HeadKind::Unsafe).await.unwrap();
        assert_eq!(head, Some(chain.blocks[5].block_ref()), "{}", test.name);
        for after in [0, 3, 5] {
            let expected: usize = chain.blocks[after as usize + 1..]
                .iter()
                .flat_map(|block| &block.transactions)
                .map(|tx| tx.raw.len())
                .sum();
            assert_eq!(
                store.transaction_bytes_after(after).await.unwrap(),
                expected as u64,
                "{}",
                test.name
            );
        }
        for block in &chain.blocks {
            let number = block.header.number;
            assert_eq!(
                store.block(number).await.unwrap().as_ref(),
                Some(block),
                "{}",
                test.name
            );
            assert_eq!(store.block_number(block.hash).await.unwrap(), Some(number));
            let mut first_log = 0;
            for (index, (tx, receipt)) in block.transactions.iter().zip(&block.receipts).enumerate()
            {
                let (stored, location) = store.transaction(tx.hash).await.unwrap().expect("tx");
                assert_eq!(&stored, tx);
                assert_eq!(location.block, block.block_ref());
                assert_eq!(location.index, index as u64);
                let (stored, location, first) =
                    store.receipt(tx.hash).await.unwrap().expect("receipt");
                assert_eq!(&stored, receipt, "{}", test.name);
                assert_eq!(location.index, index as u64);
                assert_eq!(first, first_log);
                first_log += receipt.logs.len() as u64;
            }
        }
        assert_eq!(store.block(99).await.unwrap(), None);
        assert_eq!(store.transaction(B256::repeat_byte(7)).await.unwrap(), None);
        assert_eq!(store.receipt(B256::repeat_byte(7)).await.unwrap(), None);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_block_that_does_not_extend_the_head_is_refused_and_changes_nothing() {
    for test in stores().await {
        let store = &test.store;
        let mut chain = ChainBuilder::new(2);
        chain.commit_random(store, 3, 2).await;
        chain.commit_random(store, 3, 2).await;
        let changes = chain.random_changes(2);
        let (mut block, nodes) = chain.block(&changes, 2);
        block.header.parent_hash = B256::repeat_byte(9);
        block.hash = block.header.hash_slow();
        let result = store
            .commit_block(BlockCommit {
                block: &block,
                trie_nodes: &nodes,
                bytecodes: &[],
            })
            .await;
        assert!(
            matches!(result, Err(StoreError::NotChild { number: 2, .. })),
            "{}: {result:?}",
            test.name
        );
        assert_eq!(
            store.head(HeadKind::Unsafe).await.unwrap(),
            Some(chain.blocks[1].block_ref())
        );
        assert_eq!(store.block(2).await.unwrap(), None);
        assert_eq!(
            store.transaction(block.transactions[0].hash).await.unwrap(),
            None
        );
        // Committing block 1 again (a duplicate) is refused too.
        let duplicate = chain.blocks[1].clone();
        let result = store
            .commit_block(BlockCommit {
                block: &duplicate,
                trie_nodes: &[],
                bytecodes: &[],
            })
            .await;
        assert!(
            matches!(result, Err(StoreError::NotChild { .. })),
            "{result:?}"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn log_queries_match_a_scan_of_all_logs() {
    for test in stores().await {
        let store = &test.store;
        let mut chain = ChainBuilder::new(3);
        for _ in 0..12 {
            chain.commit_random(store, 2, 6).await;
        }
        let all: Vec<(u64, u64, Address, Vec<B256>)> = chain
            .blocks
            .iter()
            .flat_map(|block| {
                let number = block.header.number;
                block
                    .receipts
                    .iter()
                    .flat_map(|receipt| receipt.logs.iter())
                    .enumerate()
                    .map(move |(index, log)| {
                        (number, index as u64, log.address, log.topics().to_vec())
                    })
            })
            .collect();
        let mut rng = chain.rng.clone();
        for _ in 0..150 {
            let from = rng.random_range(0..12u64);
            let filter = LogFilter {
                from_block: from,
                to_block: rng.random_range(from..14),
                addresses: (0..rng.random_range(0..3))
                    .map(|_| Address::with_last_byte(rng.random_range(0..6)))
                    .collect(),
                topics: std::array::from_fn(|_| {
                    if rng.random::<f64>() < 0.6 {
                        Vec::new()
                    } else {
                        (0..rng.random_range(1..3))
                            .map(|_| B256::with_last_byte(rng.random_range(0..6)))
                            .collect()
                    }
                }),
            };
            let expected: Vec<(u64, u64)> = all
                .iter()
                .filter(|(number, _, address, topics)| {
                    (filter.from_block..=filter.to_block).contains(number)
                        && (filter.addresses.is_empty() || filter.addresses.contains(address))
                        && filter.topics.iter().enumerate().all(|(position, wanted)| {
                            wanted.is_empty()
                                || topics
                                    .get(position)
                                    .is_some_and(|topic| wanted.contains(topic))
                        })
                })
                .map(|(number, index, _, _)| (*number, *index))
                .collect();
            let found = store.logs(&filter, 10_000).await.unwrap();
            let positions: Vec<(u64, u64)> = found
                .iter()
                .map(|record| (record.block.number, record.log_index))
                .collect();
            assert_eq!(positions, expected, "{}: {filter:?}", test.name);
            for record in &found {
                let block = &chain.blocks[record.block.number as usize];
                assert_eq!(record.block.hash, block.hash);
                assert_eq!(
                    record.tx_hash,
                    block.transactions[record.tx_index as usize].hash
                );
            }
            if expected.len() > 1 {
                let limited = store.logs(&filter, expected.len() - 1).await;
                assert!(
                    matches!(limited, Err(StoreError::TooManyLogs(_))),
                    "{limited:?}"
                );
            }
        }
    }
}

/// The proofs of `proof` verify against `root` with alloy-trie's verifier.
fn assert_proof_verifies(root: B256, address: &Address, proof: &parallax_state::AccountProof) {
    let leaf = proof.account.map(|info| {
        alloy_rlp::encode(TrieAccount {
            nonce: info.nonce,
            balance: info.balance,
            storage_root: proof.storage_root,
            code_hash: info.code_hash,
        })
    });
    verify_proof(
        root,
        Nibbles::unpack(keccak256(address)),
        leaf,
        &proof.account_proof,
    )
    .expect("account proof verifies");
    for (slot, value, nodes) in &proof.storage_proofs {
        let expected = (!value.is_zero()).then(|| alloy_rlp::encode(value));
        verify_proof(
            proof.storage_root,
            Nibbles::unpack(keccak256(slot.to_be_bytes::<32>())),
            expected,
            nodes,
        )
        .expect("storage proof verifies");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_retained_block_state_reads_and_proves_like_the_in_memory_state() {
    for test in stores().await {
        let store = &test.store;
        let mut chain = ChainBuilder::new(4);
        for _ in 0..10 {
            chain.commit_random(store, 8, 1).await;
        }
        let slots: Vec<U256> = (0..32).map(U256::from).collect();
        for (number, snapshot) in chain.snapshots.iter().enumerate() {
            let view = HistoricalState::at(store.clone(), number as u64)
                .await
                .unwrap();
            assert_eq!(view.state_root(), snapshot.root());
            for index in 0..42u8 {
                let address = Address::with_last_byte(index);
                assert_eq!(
                    view.account(&address).await.unwrap(),
                    snapshot.account(&address),
                    "{} block {number}",
                    test.name
                );
                for slot in [0u64, 3, 17, 29] {
                    assert_eq!(
                        view.storage(&address, U256::from(slot)).await.unwrap(),
                        snapshot.storage(&address, U256::from(slot))
                    );
                }
                let proof = view.proof(&address, &slots).await.unwrap();
                assert_eq!(
                    proof,
                    snapshot.proof(&address, &slots),
                    "{} block {number} account {index}",
                    test.name
                );
                assert_proof_verifies(snapshot.root(), &address, &proof);
            }
        }
        // The latest state rebuilt from the store is the same state, and keeps updating
        // incrementally with the same roots.
        let mut loaded = load_world_state(store, 9).await.unwrap();
        assert_eq!(loaded.root(), chain.world.root());
        let changes = chain.random_changes(10);
        loaded.apply(&changes);
        chain.world.apply(&changes);
        assert_eq!(loaded.root(), chain.world.root());
        // Only the new paths are unpersisted in the rebuilt state, as in the original.
        let mut fresh: Vec<B256> = loaded
            .unpersisted_nodes()
            .into_iter()
            .map(|(hash, _)| hash)
            .collect();
        let mut original: Vec<B256> = chain
            .world
            .unpersisted_nodes()
            .into_iter()
            .map(|(hash, _)| hash)
            .collect();
        fresh.sort();
        original.sort();
        assert_eq!(fresh, original);
        assert!(matches!(
            HistoricalState::at(store.clone(), 10).await,
            Err(StoreError::UnknownBlock(10))
        ));
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pruning_keeps_retained_states_and_refuses_older_ones() {
    for test in stores().await {
        let store = &test.store;
        let mut chain = ChainBuilder::new(5);
        for _ in 0..12 {
            chain.commit_random(store, 10, 1).await;
        }
        let stats = store.prune_state(8).await.unwrap();
        assert!(stats.deleted_nodes > 0, "{}: {stats:?}", test.name);
        assert_eq!(store.pruned_below().await.unwrap(), 8);
        for number in 0..8u64 {
            let result = HistoricalState::at(store.clone(), number).await;
            assert!(
                matches!(
                    result,
                    Err(StoreError::StatePruned {
                        pruned_below: 8,
                        ..
                    })
                ),
                "{result:?}"
            );
            // History other than state stays.
            assert!(store.block(number).await.unwrap().is_some());
        }
        let slots = [U256::from(1), U256::from(7)];
        for number in 8..12u64 {
            let view = HistoricalState::at(store.clone(), number).await.unwrap();
            let snapshot = &chain.snapshots[number as usize];
            for index in 0..42u8 {
                let address = Address::with_last_byte(index);
                assert_eq!(
                    view.proof(&address, &slots).await.unwrap(),
                    snapshot.proof(&address, &slots)
                );
            }
        }
        // New blocks after pruning, then pruning again, still leave a loadable head.
        for _ in 0..4 {
            chain.commit_random(store, 10, 1).await;
        }
        store.prune_state(14).await.unwrap();
        assert_eq!(
            load_world_state(store, 15).await.unwrap().root(),
            chain.world.root()
        );
        // Pruning never moves back.
        store.prune_state(3).await.unwrap();
        assert_eq!(store.pruned_below().await.unwrap(), 14);
        assert!(matches!(
            store.prune_state(99).await,
            Err(StoreError::UnknownBlock(99))
        ));
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn heads_move_only_where_allowed_and_rewinds_drop_unsafe_blocks() {
    for test in stores().await {
        let store = &test.store;
        let mut chain = ChainBuilder::new(6);
        for _ in 0..6 {
            chain.commit_random(store, 2, 3).await;
        }
        let at = |n: usize| chain.blocks[n].block_ref();
        let bad =
            |result: Result<(), StoreError>| matches!(result, Err(StoreError::BadHead { .. }));
        assert!(
            bad(store.set_head(HeadKind::Finalized, at(1)).await),
            "finalized beyond safe"
        );
        store.set_head(HeadKind::Safe, at(3)).await.unwrap();
        store.set_head(HeadKind::Finalized, at(2)).await.unwrap();
        assert!(bad(store
            .set_head(
                HeadKind::Safe,
                BlockRef {
                    number: 4,
                    hash: B256::ZERO
                }
            )
            .await));
        assert!(bad(store.set_head(HeadKind::Unsafe, at(4)).await));
        assert!(
            bad(store.rewind_unsafe(at(2), Rewound::Forget).await.map(drop)),
            "below the safe head"
        );
        assert_eq!(store.head(HeadKind::Safe).await.unwrap(), Some(at(3)));
        assert_eq!(store.head(HeadKind::Finalized).await.unwrap(), Some(at(2)));

        let dropped = chain.blocks[5].transactions[0].hash;
        let returned = store
            .rewind_unsafe(at(4), Rewound::ReturnToPool)
            .await
            .unwrap();
        assert_eq!(store.head(HeadKind::Unsafe).await.unwrap(), Some(at(4)));
        assert_eq!(store.block(5).await.unwrap(), None);
        // Block 5's user transactions went back to the pool journal, ahead of what was pending.
        let expected: Vec<_> = chain.blocks[5]
            .transactions
            .iter()
            .filter(|tx| tx.raw.first() != Some(&0x7e))
            .cloned()
            .collect();
        assert_eq!(expected.len(), chain.blocks[5].transactions.len() - 1);
        assert_eq!(returned, expected, "{}", test.name);
        assert_eq!(
            store.pending_transactions().await.unwrap()[..expected.len()],
            expected[..]
        );
        assert_eq!(store.transaction(dropped).await.unwrap(), None);
        let everything = LogFilter {
            from_block: 0,
            to_block: 10,
            ..Default::default()
        };
        assert!(store
            .logs(&everything, 10_000)
            .await
            .unwrap()
            .iter()
            .all(|log| log.block.number <= 4));
        // A different block 5 can now follow block 4.
        chain.parent = Some(at(4));
        chain.world = chain.snapshots[4].clone();
        chain.commit_random(store, 2, 3).await;
        assert_eq!(
            store
                .head(HeadKind::Unsafe)
                .await
                .unwrap()
                .map(|head| head.number),
            Some(5)
        );
        assert_eq!(
            load_world_state(store, 5).await.unwrap().root(),
            chain.world.root(),
            "{}",
            test.name
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn service_records_round_trip() {
    for test in stores().await {
        let store = &test.store;
        let origin = L1Origin {
            number: 7,
            hash: B256::repeat_byte(1),
            parent_hash: B256::repeat_byte(2),
            timestamp: 99,
            base_fee: u128::MAX - 5,
            blob_base_fee: 1,
        };
        store.put_l1_origin(&origin).await.unwrap();
        assert_eq!(store.l1_origin(7).await.unwrap(), Some(origin));
        let reorged = L1Origin {
            hash: B256::repeat_byte(3),
            ..origin
        };
        store.put_l1_origin(&reorged).await.unwrap();
        assert_eq!(store.l1_origin(7).await.unwrap(), Some(reorged));
        assert_eq!(store.l1_origin(8).await.unwrap(), None);

        let mut frame = PostedFrame {
            channel_id: [5; 16],
            frame_number: 2,
            first_block: 10,
            last_block: 20,
            da: "blobs".into(),
            l1_tx_hash: B256::repeat_byte(4),
            l1_block: None,
            last_block_hash: Some(B256::repeat_byte(20)),
            size: Some(120_001),
        };
        store.put_frame(&frame).await.unwrap();
        frame.l1_block = Some(123);
        store.put_frame(&frame).await.unwrap();
        assert_eq!(store.frames_after(19).await.unwrap(), vec![frame.clone()]);
        assert!(store.frames_after(20).await.unwrap().is_empty());

        let proposal = Proposal {
            l2_block_number: 100,
            output_root: B256::repeat_byte(6),
            oracle_index: None,
            l1_tx_hash: None,
            status: "pending".into(),
            finalizes_at: None,
        };
        store.put_proposal(&proposal).await.unwrap();
        let proposed = Proposal {
            oracle_index: Some(3),
            l1_tx_hash: Some(B256::repeat_byte(8)),
            status: "proposed".into(),
            finalizes_at: Some(1_800_000_604),
            ..proposal
        };
        store.put_proposal(&proposed).await.unwrap();
        assert_eq!(store.proposals(0).await.unwrap(), vec![proposed]);
        assert!(store.proposals(101).await.unwrap().is_empty());

        let game = DisputeGameRecord {
            address: Address::repeat_byte(9),
            oracle_index: 3,
            role: "challenger".into(),
            status: "in_progress".into(),
            state: Bytes::from_static(b"bisection at 17"),
            updated_block: 55,
        };
        store.put_dispute_game(&game).await.unwrap();
        assert_eq!(
            store.dispute_games().await.unwrap(),
            vec![game],
            "{}",
            test.name
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_l1_transaction_journal_commits_with_its_frames_and_finishes_intents() {
    for test in stores().await {
        let store = &test.store;
        let sender = Address::repeat_byte(0x5e);
        assert_eq!(store.max_l1_nonce(sender).await.unwrap(), None);
        assert_eq!(store.latest_posted_block().await.unwrap(), None);
        let first = L1Transaction {
            hash: B256::repeat_byte(1),
            intent: B256::repeat_byte(1),
            sender,
            nonce: 7,
            raw: Bytes::from_static(b"signed attempt 1"),
            purpose: "batcher".into(),
            status: L1TxStatus::Pending,
            l1_block: None,
            sent_at_ms: 1_000,
        };
        let frames: Vec<PostedFrame> = (0..2)
            .map(|frame_number| PostedFrame {
                channel_id: [9; 16],
                frame_number,
                first_block: 1,
                last_block: 10,
                da: "calldata".into(),
                l1_tx_hash: first.intent,
                l1_block: None,
                last_block_hash: None,
                size: None,
            })
            .collect();
        store
            .put_l1_transactions(std::slice::from_ref(&first), &frames)
            .await
            .unwrap();
        // A fee bump: a second attempt of the same intent and nonce, without frames.
        let bump = L1Transaction {
            hash: B256::repeat_byte(2),
            raw: Bytes::from_static(b"signed attempt 2"),
            sent_at_ms: 2_000,
            ..first.clone()
        };
        store
            .put_l1_transactions(std::slice::from_ref(&bump), &[])
            .await
            .unwrap();
        // Another sender's transaction is not this sender's business.
        let other = L1Transaction {
            hash: B256::repeat_byte(3),
            intent: B256::repeat_byte(3),
            sender: Address::repeat_byte(0x77),
            nonce: 100,
            ..first.clone()
        };
        store
            .put_l1_transactions(std::slice::from_ref(&other), &[])
            .await
            .unwrap();
        assert_eq!(
            store.open_l1_transactions(sender).await.unwrap(),
            vec![first.clone(), bump.clone()],
            "{}",
            test.name
        );
        assert_eq!(store.max_l1_nonce(sender).await.unwrap(), Some(7));
        assert_eq!(store.latest_posted_block().await.unwrap(), Some(10));
        assert_eq!(store.unconfirmed_frames().await.unwrap(), frames);

        let block = BlockRef {
            number: 55,
            hash: B256::repeat_byte(0x55),
        };
        // Only an attempt of the intent can finish it.
        assert!(matches!(
            store
                .finish_l1_intent(first.intent, other.hash, block)
                .await,
            Err(StoreError::Corrupt(_))
        ));
        store
            .finish_l1_intent(first.intent, bump.hash, block)
            .await
            .unwrap();
        assert!(store.open_l1_transactions(sender).await.unwrap().is_empty());
        let finished = store.l1_intent(first.intent).await.unwrap();
        assert_eq!(
            finished,
            vec![
                L1Transaction {
                    raw: Bytes::new(),
                    status: L1TxStatus::Superseded,
                    ..first.clone()
                },
                L1Transaction {
                    raw: Bytes::new(),
                    status: L1TxStatus::Confirmed,
                    l1_block: Some(block),
                    ..bump.clone()
                },
            ],
            "{}",
            test.name
        );
        assert!(store.unconfirmed_frames().await.unwrap().is_empty());
        let confirmed = store.frames_after(0).await.unwrap();
        assert_eq!(confirmed.len(), 2);
        assert!(confirmed
            .iter()
            .all(|frame| frame.l1_tx_hash == bump.hash && frame.l1_block == Some(55)));
        assert_eq!(store.max_l1_nonce(sender).await.unwrap(), Some(7));
    }
}

/// Runs a raw statement against the test database, to damage it.
async fn tamper(url: &str, statement: &str) {
    let statement = sqlx::AssertSqlSafe(statement.to_string());
    if url.starts_with("sqlite:") {
        let mut connection = <sqlx::SqliteConnection as sqlx::Connection>::connect(url)
            .await
            .unwrap();
        sqlx::Executor::execute(&mut connection, statement)
            .await
            .unwrap();
    } else {
        let mut connection = <sqlx::PgConnection as sqlx::Connection>::connect(url)
            .await
            .unwrap();
        sqlx::Executor::execute(&mut connection, statement)
            .await
            .unwrap();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn corrupt_or_missing_trie_nodes_are_named_not_recomputed() {
    for test in stores().await {
        let store = &test.store;
        let mut chain = ChainBuilder::new(7);
        for _ in 0..3 {
            chain.commit_random(store, 10, 1).await;
        }
        let root = chain.world.root();
        let hex_root = alloy_primitives::hex::encode(root);
        let literal = |hex: &str| {
            if test.name == "sqlite" {
                format!("x'{hex}'")
            } else {
                format!("'\\x{hex}'::bytea")
            }
        };
        tamper(
            &test.url,
            &format!(
                "UPDATE trie_nodes SET node = {} WHERE hash = {}",
                literal("c0"),
                literal(&hex_root)
            ),
        )
        .await;
        let error = load_world_state(store, 2).await.unwrap_err();
        assert!(
            matches!(error, StoreError::Node(NodeError::Corrupt(hash, _)) if hash == root),
            "{}: {error}",
            test.name
        );
        assert!(error.to_string().contains(&hex_root), "{error}");
        let view = HistoricalState::at(store.clone(), 2).await.unwrap();
        assert!(matches!(
            view.account(&Address::ZERO).await,
            Err(StoreError::Node(NodeError::Corrupt(..)))
        ));

        tamper(
            &test.url,
            &format!("DELETE FROM trie_nodes WHERE hash = {}", literal(&hex_root)),
        )
        .await;
        let error = load_world_state(store, 2).await.unwrap_err();
        assert!(
            matches!(error, StoreError::Node(NodeError::Missing(hash)) if hash == root),
            "{error}"
        );
        // Nothing was rewritten behind our back.
        assert!(store.trie_nodes(&[root]).await.unwrap().is_empty());
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_database_from_a_newer_schema_is_refused() {
    for test in stores().await {
        test.store.close().await;
        tamper(
            &test.url,
            "INSERT INTO _sqlx_migrations (version, description, success, checksum, execution_time) \
             VALUES (99990101000000, 'from the future', TRUE, x'00', 1)"
                .replace("x'00'", if test.name == "sqlite" { "x'00'" } else { "'\\x00'::bytea" })
                .as_str(),
        )
        .await;
        let error = SqlStore::open(&test.url).await.unwrap_err();
        // The newest schema this binary knows: one migration per file, numbered from 1.
        let migrations =
            std::fs::read_dir(concat!(env!("CARGO_MANIFEST_DIR"), "/../migrations/sqlite"))
                .expect("migrations")
                .count() as i64;
        assert!(
            matches!(
                error,
                StoreError::NewerSchema {
                    found: 99990101000000,
                    supported
                } if supported == migrations
            ),
            "{}: {error}",
            test.name
        );
        assert!(error.to_string().contains("newer"), "{error}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unreachable_or_unsupported_urls_are_clear_errors() {
    let error = SqlStore::open("postgres://parallax:secret@127.0.0.1:1/chain")
        .await
        .unwrap_err();
    let message = error.to_string();
    assert!(matches!(error, StoreError::Connect { .. }), "{message}");
    assert!(
        message.contains("127.0.0.1:1") && !message.contains("secret"),
        "{message}"
    );
    let error = SqlStore::open("mysql://localhost/chain").await.unwrap_err();
    assert!(matches!(error, StoreError::UnsupportedUrl(_)), "{error}");
    let error = SqlStore::open("sqlite:/nonexistent-dir/for/sure/chain.db")
        .await
        .unwrap_err();
    assert!(matches!(error, StoreError::Connect { .. }), "{error}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn repeated_nodes_and_code_in_one_commit_are_stored_once() {
    for test in stores().await {
        let store = &test.store;
        let mut chain = ChainBuilder::new(8);
        let changes = chain.random_changes(6);
        let (block, nodes) = chain.block(&changes, 1);
        // Two contracts with identical storage share nodes; the same code can deploy twice.
        let twice: Vec<_> = nodes.iter().chain(&nodes).cloned().collect();
        let code = (keccak256([1u8]), Bytes::from_static(&[1]));
        store
            .commit_block(BlockCommit {
                block: &block,
                trie_nodes: &twice,
                bytecodes: &[code.clone(), code.clone()],
            })
            .await
            .unwrap_or_else(|error| panic!("{}: {error}", test.name));
        chain.world.mark_persisted();
        assert_eq!(
            load_world_state(store, 0).await.unwrap().root(),
            chain.world.root()
        );
        assert_eq!(store.bytecode(code.0).await.unwrap(), Some(code.1));
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_pool_journal_keeps_arrival_order_until_removed() {
    for test in stores().await {
        let store = &test.store;
        let tx = |byte: u8| parallax_state::store::StoredTransaction {
            hash: B256::repeat_byte(byte),
            sender: Address::repeat_byte(byte),
            raw: Bytes::from(vec![byte; 3]),
        };
        store
            .put_pending_transactions(&[tx(3), tx(1)])
            .await
            .unwrap();
        store
            .put_pending_transactions(&[tx(2), tx(3)])
            .await
            .unwrap();
        let hashes = |list: Vec<parallax_state::store::StoredTransaction>| {
            list.into_iter().map(|tx| tx.hash).collect::<Vec<_>>()
        };
        assert_eq!(
            hashes(store.pending_transactions().await.unwrap()),
            vec![tx(3).hash, tx(1).hash, tx(2).hash],
            "{}",
            test.name
        );
        store
            .remove_pending_transactions(&[tx(1).hash, tx(9).hash])
            .await
            .unwrap();
        assert_eq!(
            store.pending_transactions().await.unwrap(),
            vec![tx(3), tx(2)]
        );
    }
}

/// SQLite checkpoints in the background: a block's pages reach the database file after the
/// commit returned, with no automatic checkpoint inside it, and the WAL file is cut back.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_moves_committed_blocks_into_the_database_file_in_the_background() {
    let test = sqlite().await;
    let path = test.url.trim_start_matches("sqlite:").to_string();
    let file_size = |suffix: &str| {
        std::fs::metadata(format!("{path}{suffix}")).map_or(0, |metadata| metadata.len())
    };
    let before = file_size("");
    let mut chain = ChainBuilder::new(21);
    let mut committed_bytes = 0;
    for _ in 0..4 {
        let changes = chain.random_changes(2_000);
        let (block, nodes) = chain.block(&changes, 1);
        committed_bytes += nodes.iter().map(|(_, node)| node.len() as u64).sum::<u64>();
        test.store
            .commit_block(BlockCommit {
                block: &block,
                trie_nodes: &nodes,
                bytecodes: &[],
            })
            .await
            .expect("commit");
        chain.world.mark_persisted();
        chain.parent = Some(block.block_ref());
    }
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
    while file_size("") < before + committed_bytes {
        assert!(
            std::time::Instant::now() < deadline,
            "the database file stayed at {} bytes ({} before, {committed_bytes} bytes of nodes \
             committed, WAL {} bytes): nothing checkpointed",
            file_size(""),
            before,
            file_size("-wal")
        );
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    // Everything reads back through the file as it did through the WAL.
    assert_eq!(
        load_world_state(&test.store, 3).await.unwrap().root(),
        chain.world.root()
    );
    // An explicit checkpoint leaves an empty WAL file.
    test.store.checkpoint().await.expect("checkpoint");
    assert_eq!(file_size("-wal"), 0);
}
