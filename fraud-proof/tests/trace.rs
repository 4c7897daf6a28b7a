//! The per-transaction trace of a block against whole-block execution: the trace's last state
//! must be exactly the block's post-state, gas and receipts, on random rollup blocks mixing
//! deposits (the L1-info system deposit, minting and failing ones), transfers, contract calls
//! with storage and logs, and transactions that revert.

mod common;

use alloy_primitives::{address, keccak256, Address, Bytes, Log, LogData, TxKind, B256, U256};
use parallax_executor::{
    revm::{
        context::{BlockEnv, TxEnv},
        primitives::hardfork::SpecId,
    },
    BlockExecutor, BlockStm, ExecutionEnv, RollupTx, Sequential, TxFunding,
};
use parallax_fraud_proof::{
    step::step_witness,
    trace::{logs_accumulator, receipt_leaf, trace_block, BlockTrace, TraceState},
    ReplayState, StoreState,
};
use parallax_protocol::predeploys::{BASE_FEE_VAULT, L1_FEE_VAULT, SEQUENCER_FEE_VAULT};
use parallax_state::{MemoryState, WorldState};
use proptest::prelude::*;

const CHAIN_ID: u64 = 901;
const SENDERS: usize = 6;
/// Stores CALLVALUE at slot CALLDATALOAD(0), emits LOG2(topic, caller) over 32 bytes of
/// memory, and reverts when the first calldata word is 0xdead.
const CONTRACT: Address = address!("00000000000000000000000000000000000c0de1");

fn sender(index: usize) -> Address {
    Address::with_last_byte(0x10 + index as u8)
}

fn contract_code() -> Bytes {
    let mut code = vec![
        0x60, 0x00, 0x35, // CALLDATALOAD(0)
        0x61, 0xde, 0xad, 0x14, // == 0xdead
        0x60, 0x1c, 0x57, // JUMPI to the revert
        0x34, 0x60, 0x00, 0x35, 0x55, // SSTORE(CALLDATALOAD(0), CALLVALUE)
        0x34, 0x60, 0x00, 0x52, // MSTORE(0, CALLVALUE)
        0x33, // CALLER (topic 2)
        0x60, 0x2a, // topic 1
        0x60, 0x20, 0x60, 0x00, 0xa2, // LOG2(0, 32, 42, caller)
        0x00, // STOP
    ];
    assert_eq!(code.len(), 0x1c);
    code.extend_from_slice(&[0x5b, 0x60, 0x00, 0x60, 0x00, 0xfd]); // JUMPDEST REVERT(0, 0)
    code.into()
}

fn world() -> WorldState {
    let mut memory = MemoryState::new();
    for index in 0..SENDERS {
        memory
            .insert_account(
                sender(index),
                U256::from(10u64).pow(U256::from(20)),
                0,
                Bytes::new(),
                [],
            )
            .expect("plain account");
    }
    memory
        .insert_account(
            CONTRACT,
            U256::ZERO,
            1,
            contract_code(),
            [(U256::from(7), U256::from(1))],
        )
        .expect("contract");
    WorldState::from_memory(&memory)
}

fn env() -> ExecutionEnv {
    let mut env = ExecutionEnv::ethereum(
        SpecId::CANCUN,
        CHAIN_ID,
        BlockEnv {
            number: U256::from(5),
            beneficiary: SEQUENCER_FEE_VAULT,
            timestamp: U256::from(1_700_000_000u64),
            gas_limit: 30_000_000,
            basefee: 7,
            ..BlockEnv::default()
        },
    );
    env.base_fee_recipient = Some(BASE_FEE_VAULT);
    env.l1_fee_recipient = Some(L1_FEE_VAULT);
    env
}

/// What one generated transaction does.
#[derive(Clone, Debug)]
enum Action {
    Transfer {
        from: usize,
        to: usize,
        value: u64,
        tip: u64,
    },
    Call {
        from: usize,
        slot: u64,
        value: u64,
    },
    Revert {
        from: usize,
    },
    Deposit {
        to: usize,
        mint: u64,
        value: u64,
        gas_limit: u64,
    },
}

fn action() -> impl Strategy<Value = Action> {
    let who = 0..SENDERS;
    prop_oneof![
        (who.clone(), 0..SENDERS, 0..1_000_000u64, 0..3u64).prop_map(|(from, to, value, tip)| {
            Action::Transfer {
                from,
                to,
                value,
                tip,
            }
        }),
        (who.clone(), 0..4u64, 0..1_000u64).prop_map(|(from, slot, value)| Action::Call {
            from,
            slot,
            value
        }),
        who.clone().prop_map(|from| Action::Revert { from }),
        // Gas limits from below intrinsic (a failed deposit) to ample.
        (
            0..SENDERS,
            0..5_000_000u64,
            0..10_000_000u64,
            prop_oneof![Just(10_000u64), Just(100_000u64)]
        )
            .prop_map(|(to, mint, value, gas_limit)| Action::Deposit {
                to,
                mint,
                value,
                gas_limit
            }),
    ]
}

/// Turns actions into rollup transactions with correct nonces; every block opens with a system
/// deposit, as derivation builds them.
fn block(actions: &[Action]) -> Vec<RollupTx> {
    let mut nonces = [0u64; SENDERS];
    let signed = |from: usize,
                  kind: TxKind,
                  value: u64,
                  data: Bytes,
                  tip: u64,
                  nonces: &mut [u64; SENDERS]| {
        let nonce = nonces[from];
        nonces[from] += 1;
        RollupTx {
            env: TxEnv {
                tx_type: 2,
                caller: sender(from),
                gas_limit: 200_000,
                gas_price: 100,
                gas_priority_fee: Some(u128::from(tip)),
                kind,
                value: U256::from(value),
                data,
                nonce,
                chain_id: Some(CHAIN_ID),
                ..TxEnv::default()
            },
            funding: TxFunding::Signed {
                l1_data_fee: U256::from(1_000 + value % 7),
            },
        }
    };
    let deposit =
        |from: Address, to: TxKind, mint: u64, value: u64, gas_limit: u64, system: bool| RollupTx {
            env: TxEnv {
                tx_type: 0,
                caller: from,
                gas_limit,
                gas_price: 0,
                kind: to,
                value: U256::from(value),
                chain_id: Some(CHAIN_ID),
                ..TxEnv::default()
            },
            funding: TxFunding::Deposit {
                mint: U256::from(mint),
                system,
            },
        };
    let mut txs = vec![deposit(
        parallax_protocol::predeploys::L1_INFO_DEPOSITOR,
        TxKind::Call(CONTRACT),
        0,
        0,
        1_000_000,
        true,
    )];
    for action in actions {
        txs.push(match *action {
            Action::Transfer {
                from,
                to,
                value,
                tip,
            } => signed(
                from,
                TxKind::Call(sender(to)),
                value,
                Bytes::new(),
                tip,
                &mut nonces,
            ),
            Action::Call { from, slot, value } => signed(
                from,
                TxKind::Call(CONTRACT),
                value,
                U256::from(slot).to_be_bytes::<32>().to_vec().into(),
                1,
                &mut nonces,
            ),
            Action::Revert { from } => signed(
                from,
                TxKind::Call(CONTRACT),
                0,
                U256::from(0xdead).to_be_bytes::<32>().to_vec().into(),
                0,
                &mut nonces,
            ),
            Action::Deposit {
                to,
                mint,
                value,
                gas_limit,
            } => {
                // Deposits come from L1 addresses with no L2 nonce to track.
                deposit(
                    Address::with_last_byte(0xe0),
                    TxKind::Call(sender(to)),
                    mint,
                    value,
                    gas_limit,
                    false,
                )
            }
        });
    }
    txs
}

#[test]
fn commitment_is_the_packed_preimage_hash() {
    let state = TraceState {
        state_root: B256::repeat_byte(0x11),
        cumulative_gas: 0x0102_0304,
        receipts_hash: B256::repeat_byte(0x22),
    };
    let mut packed = Vec::new();
    packed.extend_from_slice(&[0x11; 32]);
    packed.extend_from_slice(&U256::from(0x0102_0304u64).to_be_bytes::<32>());
    packed.extend_from_slice(&[0x22; 32]);
    assert_eq!(state.commitment(), keccak256(&packed));
    assert_eq!(
        TraceState::start(B256::repeat_byte(0x11)).commitment(),
        keccak256([&[0x11; 32][..], &[0; 64][..]].concat())
    );
}

#[test]
fn logs_and_receipt_leaves_follow_the_spec() {
    assert_eq!(logs_accumulator(&[]), B256::ZERO);
    let log = Log {
        address: Address::repeat_byte(0xaa),
        data: LogData::new_unchecked(
            vec![B256::repeat_byte(1), B256::repeat_byte(2)],
            Bytes::from_static(b"hi"),
        ),
    };
    let first = keccak256(
        [
            &[0u8; 32][..],
            &[0xaa; 20][..],
            &[2u8][..],
            &[1u8; 32][..],
            &[2u8; 32][..],
            keccak256(b"hi").as_slice(),
        ]
        .concat(),
    );
    assert_eq!(logs_accumulator(std::slice::from_ref(&log)), first);
    let second = keccak256(
        [
            first.as_slice(),
            &[0xaa; 20][..],
            &[2u8][..],
            &[1u8; 32][..],
            &[2u8; 32][..],
            keccak256(b"hi").as_slice(),
        ]
        .concat(),
    );
    assert_eq!(logs_accumulator(&[log.clone(), log]), second);
    let leaf = receipt_leaf(2, true, 21_000, first);
    assert_eq!(
        leaf,
        keccak256(
            [
                &[2u8, 1][..],
                &21_000u64.to_be_bytes()[..],
                first.as_slice()
            ]
            .concat()
        )
    );
}

fn check(actions: &[Action]) {
    let txs = block(actions);
    let env = env();
    let pre = world();
    let whole = Sequential
        .execute_block(&env, &txs, &pre)
        .expect("the block is valid");
    let parallel = BlockStm::new(2)
        .execute_block(&env, &txs, &pre)
        .expect("the block is valid");
    assert_eq!(whole, parallel);
    let mut post = pre.clone();
    post.apply(&whole.state_changes);

    let mut traced = pre.clone();
    let trace = trace_block(&env, &txs, &mut traced).expect("the block traces");
    assert_eq!(trace.start, TraceState::start(pre.root()));
    assert_eq!(trace.len(), txs.len());
    assert_eq!(trace.end().state_root, post.root(), "post-state root");
    assert_eq!(traced.root(), post.root());
    assert_eq!(trace.end().cumulative_gas, whole.gas_used, "block gas");
    let mut expected = TraceState::start(pre.root());
    for (position, (step, receipt)) in trace.steps.iter().zip(&whole.receipts).enumerate() {
        assert_eq!(&step.receipt, receipt, "receipt {position}");
        assert_eq!(trace.at(position + 1), Some(step.after));
        let leaf = receipt_leaf(
            receipt.tx_type,
            receipt.status.is_success(),
            receipt.cumulative_gas_used,
            logs_accumulator(&receipt.logs),
        );
        expected = TraceState {
            state_root: step.after.state_root,
            cumulative_gas: receipt.cumulative_gas_used,
            receipts_hash: keccak256([expected.receipts_hash.as_slice(), leaf.as_slice()].concat()),
        };
        assert_eq!(step.after, expected, "trace state {position}");
    }
    assert_eq!(trace.at(txs.len() + 1), None);
    check_store_replay(&pre, &env, &txs, &trace);
}

/// The same block replayed on a [`StoreState`] over `pre` committed to a fresh SQLite store:
/// the same trace, and before every transaction the same step witness as over the whole state
/// in memory.
fn check_store_replay(pre: &WorldState, env: &ExecutionEnv, txs: &[RollupTx], trace: &BlockTrace) {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .expect("runtime");
    let (_dir, replayed, stepped) = runtime.block_on(async {
        let code = [(keccak256(contract_code()), contract_code())];
        let (dir, store) = common::store_with_genesis(pre, &code).await;
        let at_genesis = || StoreState::at(store.clone(), 0);
        (
            dir,
            at_genesis().await.expect("genesis state"),
            at_genesis().await.expect("genesis state"),
        )
    });
    let (mut replayed, mut stepped) = (replayed, stepped);
    let from_store = trace_block(env, txs, &mut replayed).expect("the block traces from the store");
    assert_eq!(from_store.len(), trace.len());
    for position in 0..=trace.len() {
        assert_eq!(
            from_store.at(position),
            trace.at(position),
            "trace state {position}"
        );
    }
    assert_eq!(replayed.state_root(), trace.end().state_root);

    let mut world = pre.clone();
    for (index, tx) in txs.iter().enumerate() {
        let in_memory = step_witness(env, tx, &world, &[]).expect("in-memory witness");
        let from_store = step_witness(env, tx, &stepped, &[]).expect("store witness");
        assert_eq!(from_store.encoded, in_memory.encoded, "witness {index}");
        assert_eq!(from_store.post_state_root, in_memory.post_state_root);
        let outcome = Sequential
            .execute_block(env, std::slice::from_ref(tx), &world)
            .expect("valid");
        world.apply(&outcome.state_changes);
        stepped
            .apply_changes(&outcome.state_changes)
            .expect("store replay applies");
        assert_eq!(stepped.state_root(), world.root(), "root after {index}");
        let (proof, storage_root) = stepped.account_proof(&CONTRACT).expect("proof");
        let expected = world.proof(&CONTRACT, &[]);
        assert_eq!(
            proof, expected.account_proof,
            "contract proof after {index}"
        );
        assert_eq!(storage_root, expected.storage_root);
    }
    assert!(
        replayed.nodes_in_memory() > 0,
        "the replay read the trie from the store"
    );
}

#[test]
fn a_block_with_every_kind_of_transaction() {
    check(&[
        Action::Deposit {
            to: 0,
            mint: 5,
            value: 0,
            gas_limit: 100_000,
        },
        Action::Transfer {
            from: 0,
            to: 1,
            value: 10,
            tip: 1,
        },
        Action::Call {
            from: 1,
            slot: 3,
            value: 9,
        },
        Action::Revert { from: 2 },
        // Below intrinsic gas, and value above the funds: both included as failures.
        Action::Deposit {
            to: 3,
            mint: 1,
            value: 0,
            gas_limit: 10_000,
        },
        Action::Deposit {
            to: 4,
            mint: 1,
            value: 10_000_000,
            gas_limit: 100_000,
        },
        Action::Call {
            from: 1,
            slot: 7,
            value: 0,
        },
    ]);
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    #[test]
    fn the_trace_ends_in_the_block_post_state(actions in prop::collection::vec(action(), 0..24)) {
        check(&actions);
    }
}
