//! Randomized differential test: Block-STM must produce exactly the sequential outcome.
//!
//! Thousands of random blocks mix ETH transfers, token transfers, contract calls that read and
//! write shared slots, creates, CREATE2 collisions, self-destructs (EIP-6780), reverts,
//! out-of-gas, transient storage, precompile calls, and transactions that read or pay the fee
//! recipient, with a tunable conflict rate. Each block runs on the sequential engine and on
//! Block-STM with 2 and 8 threads; receipts, state changes and gas must be identical, and so
//! must the error when a block holds an invalid transaction.
//!
//! `PARALLAX_DIFF_BLOCKS` sets the number of blocks (default 1500); `PARALLAX_DIFF_SEED` the seed.

use alloy_primitives::{Address, Bytes, TxKind, B256, U256};
use parallax_executor::{
    revm::{
        context::{BlockEnv, TxEnv},
        context_interface::block::BlobExcessGasAndPrice,
        database::{CacheDB, EmptyDB},
        primitives::hardfork::SpecId,
        state::{AccountInfo, Bytecode},
    },
    BlockExecutor, BlockStm, BlockTransaction, ExecutionEnv, ExecutionError, RollupTx, Sequential,
    TxFunding,
};
use parallax_protocol::deposit::DepositTx;
use rand::{rngs::StdRng, Rng, SeedableRng};

/// A tiny EVM assembler: opcodes, pushes, and labels resolved to 2-byte jump targets.
mod asm {
    pub(crate) enum Item {
        Op(u8),
        Push(Vec<u8>),
        Label(&'static str),
        PushLabel(&'static str),
    }

    pub(crate) fn assemble(items: &[Item]) -> Vec<u8> {
        let mut labels = std::collections::HashMap::new();
        let mut offset = 0usize;
        for item in items {
            match item {
                Item::Op(_) => offset += 1,
                Item::Push(bytes) => offset += 1 + bytes.len(),
                Item::Label(name) => {
                    labels.insert(*name, offset);
                    offset += 1;
                }
                Item::PushLabel(_) => offset += 3,
            }
        }
        let mut code = Vec::with_capacity(offset);
        for item in items {
            match item {
                Item::Op(op) => code.push(*op),
                Item::Push(bytes) => {
                    assert!(!bytes.is_empty() && bytes.len() <= 32);
                    code.push(0x5f + bytes.len() as u8);
                    code.extend_from_slice(bytes);
                }
                Item::Label(_) => code.push(0x5b),
                Item::PushLabel(name) => {
                    let target = labels[name] as u16;
                    code.push(0x61);
                    code.extend_from_slice(&target.to_be_bytes());
                }
            }
        }
        code
    }
}

use asm::Item::{self, Label, Op, PushLabel};

fn push(value: u64) -> Item {
    let bytes = value.to_be_bytes();
    let first = bytes.iter().position(|b| *b != 0).unwrap_or(7);
    Item::Push(bytes[first..].to_vec())
}

fn push_bytes(bytes: &[u8]) -> Item {
    Item::Push(bytes.to_vec())
}

// Opcodes used below.
const STOP: u8 = 0x00;
const ADD: u8 = 0x01;
const SUB: u8 = 0x03;
const LT: u8 = 0x10;
const EQ: u8 = 0x14;
const BALANCE: u8 = 0x31;
const CALLER: u8 = 0x33;
const CALLDATALOAD: u8 = 0x35;
const BLOCKHASH: u8 = 0x40;
const COINBASE: u8 = 0x41;
const NUMBER: u8 = 0x43;
const SELFBALANCE: u8 = 0x47;
const BLOBHASH: u8 = 0x49;
const POP: u8 = 0x50;
const MLOAD: u8 = 0x51;
const MSTORE: u8 = 0x52;
const SLOAD: u8 = 0x54;
const SSTORE: u8 = 0x55;
const JUMP: u8 = 0x56;
const JUMPI: u8 = 0x57;
const GAS: u8 = 0x5a;
const TLOAD: u8 = 0x5c;
const TSTORE: u8 = 0x5d;
const DUP1: u8 = 0x80;
const DUP2: u8 = 0x81;
const DUP3: u8 = 0x82;
const DUP6: u8 = 0x85;
const SWAP1: u8 = 0x90;
const LOG1: u8 = 0xa1;
const LOG3: u8 = 0xa3;
const CREATE: u8 = 0xf0;
const CALL: u8 = 0xf1;
const RETURN: u8 = 0xf3;
const STATICCALL: u8 = 0xfa;
const CREATE2: u8 = 0xf5;
const REVERT: u8 = 0xfd;
const SELFDESTRUCT: u8 = 0xff;
const CODECOPY: u8 = 0x39;

/// Init code of a child that stores 1 in slot 1 during construction and whose runtime code
/// self-destructs to its caller.
fn selfdestructing_child_init() -> Vec<u8> {
    let runtime = asm::assemble(&[Op(CALLER), Op(SELFDESTRUCT)]);
    init_code_for(&runtime, true)
}

/// Init code returning `runtime`; optionally writes slot 1 first.
fn init_code_for(runtime: &[u8], store: bool) -> Vec<u8> {
    let mut prefix = Vec::new();
    if store {
        prefix.extend(asm::assemble(&[push(1), push(1), Op(SSTORE)]));
    }
    // PUSH1 len PUSH1 offset PUSH1 0 CODECOPY PUSH1 len PUSH1 0 RETURN = 12 bytes.
    let offset = prefix.len() + 12;
    prefix.extend(asm::assemble(&[
        push(runtime.len() as u64),
        push(offset as u64),
        push(0),
        Op(CODECOPY),
        push(runtime.len() as u64),
        push(0),
        Op(RETURN),
    ]));
    assert_eq!(prefix.len(), offset, "init code prefix size");
    prefix.extend_from_slice(runtime);
    prefix
}

/// The "hub" contract. Calldata: word 0 selects the action, words 1 and 2 are arguments `a`, `b`.
fn hub_code() -> Vec<u8> {
    let child = selfdestructing_child_init();
    let create2_child = init_code_for(&[STOP], true);
    let mut items = vec![push(0), Op(CALLDATALOAD)];
    for selector in 0..10u64 {
        items.extend([
            Op(DUP1),
            push(selector),
            Op(EQ),
            PushLabel(SELECTORS[selector as usize]),
            Op(JUMPI),
        ]);
    }
    items.push(Op(STOP));

    // 0: counter — slot[a] += b; LOG1(topic a, data new value).
    items.extend([
        Label("counter"),
        push(32),
        Op(CALLDATALOAD), // a
        Op(DUP1),
        Op(SLOAD),
        push(64),
        Op(CALLDATALOAD),
        Op(ADD), // a, new
        Op(DUP1),
        push(0),
        Op(MSTORE), // a, new
        Op(DUP2),
        push(32),
        push(0),
        Op(LOG1), // a, new
        Op(SWAP1),
        Op(SSTORE),
        Op(STOP),
    ]);
    // 1: token transfer of b from caller to address a; reverts on insufficient balance.
    items.extend([
        Label("token"),
        Op(CALLER),
        Op(SLOAD), // bal
        push(64),
        Op(CALLDATALOAD), // bal, amount
        Op(DUP1),
        Op(DUP3),
        Op(LT),
        PushLabel("revert"),
        Op(JUMPI), // bal < amount → revert
        Op(DUP1),
        Op(DUP3),
        Op(SUB),
        Op(CALLER),
        Op(SSTORE), // caller bal -= amount
        push(32),
        Op(CALLDATALOAD),
        Op(DUP1),
        Op(SLOAD),
        Op(DUP3),
        Op(ADD),
        Op(SWAP1),
        Op(SSTORE), // to += amount
        Op(DUP1),
        push(0),
        Op(MSTORE),
        push(32),
        Op(CALLDATALOAD),
        Op(CALLER),
        push(0xddf2),
        push(32),
        push(0),
        Op(LOG3),
        Op(STOP),
    ]);
    // 2: record the fee recipient's balance in slot 0xc0.
    items.extend([
        Label("coinbase"),
        Op(COINBASE),
        Op(BALANCE),
        push(0xc0),
        Op(SSTORE),
        Op(STOP),
    ]);
    // 3: write slot a, then revert.
    items.extend([
        Label("write_revert"),
        push(7),
        push(32),
        Op(CALLDATALOAD),
        Op(SSTORE),
        PushLabel("revert"),
        Op(JUMP),
    ]);
    // 4: burn all gas in a loop.
    items.extend([
        Label("loop"),
        push(1),
        push(0x10),
        Op(SSTORE),
        PushLabel("loop"),
        Op(JUMP),
    ]);
    // 5: create a child (it stores a slot) and call it: it self-destructs in its creation tx.
    let mut create_child = vec![Label("create_child")];
    create_child.extend(code_to_memory(&child));
    create_child.extend([
        push(child.len() as u64),
        push(0),
        push(0),
        Op(CREATE), // addr
        Op(DUP1),
        push(0xc5),
        Op(SSTORE),
        push(0),
        push(0),
        push(0),
        push(0),
        push(0),
        Op(DUP6),
        Op(GAS),
        Op(CALL),
        Op(POP),
        Op(POP),
        Op(STOP),
    ]);
    items.extend(create_child);
    // 6: CREATE2 with salt a (a repeated salt collides and yields address 0).
    let mut create2 = vec![Label("create2")];
    create2.extend(code_to_memory(&create2_child));
    create2.extend([
        push(32),
        Op(CALLDATALOAD),
        push(create2_child.len() as u64),
        push(0),
        push(0),
        Op(CREATE2),
        push(0xc6),
        Op(SSTORE),
        Op(STOP),
    ]);
    items.extend(create2);
    // 7: transient storage, BLOCKHASH, BLOBHASH and a SHA-256 precompile call.
    items.extend([
        Label("misc"),
        push(32),
        Op(CALLDATALOAD),
        push(1),
        Op(TSTORE),
        push(1),
        Op(TLOAD),
        push(0xd0),
        Op(SSTORE),
        push(1),
        Op(NUMBER),
        Op(SUB),
        Op(BLOCKHASH),
        push(0xd1),
        Op(SSTORE),
        push(0),
        Op(BLOBHASH),
        push(0xd2),
        Op(SSTORE),
        push(32),
        push(0),
        push(32),
        push(0),
        push(2),
        Op(GAS),
        Op(STATICCALL),
        Op(POP),
        push(0),
        Op(MLOAD),
        push(0xd3),
        Op(SSTORE),
        Op(STOP),
    ]);
    // 8: send b wei of the hub's balance to the fee recipient.
    items.extend([
        Label("pay_coinbase"),
        push(0),
        push(0),
        push(0),
        push(0),
        push(64),
        Op(CALLDATALOAD),
        Op(COINBASE),
        Op(GAS),
        Op(CALL),
        Op(POP),
        Op(SELFBALANCE),
        push(0xd4),
        Op(SSTORE),
        Op(STOP),
    ]);
    // 9: SELFDESTRUCT to address a (pre-existing contract: only moves the balance under EIP-6780).
    items.extend([
        Label("destruct"),
        push(32),
        Op(CALLDATALOAD),
        Op(SELFDESTRUCT),
    ]);
    items.extend([Label("revert"), push(0), push(0), Op(REVERT)]);
    asm::assemble(&items)
}

const SELECTORS: [&str; 10] = [
    "counter",
    "token",
    "coinbase",
    "write_revert",
    "loop",
    "create_child",
    "create2",
    "misc",
    "pay_coinbase",
    "destruct",
];

/// Items that copy `code` into memory at 0, 32 bytes at a time.
fn code_to_memory(code: &[u8]) -> Vec<Item> {
    let mut items = Vec::new();
    for (index, chunk) in code.chunks(32).enumerate() {
        let mut word = [0u8; 32];
        word[..chunk.len()].copy_from_slice(chunk);
        items.extend([push_bytes(&word), push(index as u64 * 32), Op(MSTORE)]);
    }
    items
}

fn calldata(selector: u64, a: U256, b: U256) -> Bytes {
    let mut data = Vec::with_capacity(96);
    data.extend_from_slice(&U256::from(selector).to_be_bytes::<32>());
    data.extend_from_slice(&a.to_be_bytes::<32>());
    data.extend_from_slice(&b.to_be_bytes::<32>());
    data.into()
}

const BASE_FEE: u64 = 7;

struct World {
    eoas: Vec<Address>,
    hubs: Vec<Address>,
    victims: Vec<Address>,
}

fn address(tag: u8, index: usize) -> Address {
    let mut bytes = [0u8; 20];
    bytes[0] = tag;
    bytes[12..20].copy_from_slice(&(index as u64).to_be_bytes());
    Address::from(bytes)
}

fn build_state(rng: &mut StdRng) -> (CacheDB<EmptyDB>, World) {
    let mut db = CacheDB::new(EmptyDB::default());
    let code = Bytecode::new_raw(Bytes::from(hub_code()));
    let world = World {
        eoas: (0..64).map(|i| address(0xee, i)).collect(),
        hubs: (0..3).map(|i| address(0xab, i)).collect(),
        victims: (0..4).map(|i| address(0xde, i)).collect(),
    };
    for eoa in &world.eoas {
        let balance = U256::from(rng.random_range(1u64..1_000_000_000_000_000));
        db.insert_account_info(
            *eoa,
            AccountInfo {
                balance,
                ..Default::default()
            },
        );
    }
    for contract in world.hubs.iter().chain(&world.victims) {
        let info = AccountInfo {
            balance: U256::from(rng.random_range(0u64..1_000_000)),
            nonce: 1,
            code_hash: code.hash_slow(),
            code: Some(code.clone()),
            ..Default::default()
        };
        db.insert_account_info(*contract, info);
        // Token balances for the EOAs and a few pre-set counters.
        for eoa in &world.eoas {
            if rng.random_bool(0.7) {
                let slot = U256::from_be_slice(eoa.as_slice());
                let _ = db.insert_account_storage(
                    *contract,
                    slot,
                    U256::from(rng.random_range(0u64..1_000)),
                );
            }
        }
        for slot in 0..8u64 {
            let _ = db.insert_account_storage(
                *contract,
                U256::from(slot),
                U256::from(rng.random_range(0u64..5)),
            );
        }
    }
    (db, world)
}

/// Knobs for one block.
struct Shape {
    txs: usize,
    /// Probability that a transaction picks a "hot" sender, slot or recipient.
    conflict: f64,
}

fn random_block(rng: &mut StdRng, world: &World, shape: &Shape) -> (ExecutionEnv, Vec<TxEnv>) {
    // Fee recipient: a fresh address, an active EOA, or a contract.
    let beneficiary = match rng.random_range(0..4) {
        0 => world.eoas[rng.random_range(0..world.eoas.len())],
        1 => world.hubs[0],
        _ => address(0xcb, rng.random_range(0..3)),
    };
    let block = BlockEnv {
        number: U256::from(1000),
        beneficiary,
        timestamp: U256::from(1_700_000_000u64),
        gas_limit: 30_000_000,
        basefee: BASE_FEE,
        difficulty: U256::ZERO,
        prevrandao: Some(B256::with_last_byte(9)),
        blob_excess_gas_and_price: Some(BlobExcessGasAndPrice::new(0, 3_338_477)),
        ..Default::default()
    };
    let mut env = ExecutionEnv::ethereum(SpecId::CANCUN, 1, block);
    if rng.random_bool(0.3) {
        env.base_fee_recipient = Some(if rng.random_bool(0.2) {
            beneficiary
        } else {
            address(0xfe, 0)
        });
    }

    let mut nonces = std::collections::HashMap::<Address, u64>::new();
    let mut txs = Vec::with_capacity(shape.txs);
    let hot = |rng: &mut StdRng| rng.random_bool(shape.conflict);
    for index in 0..shape.txs {
        let sender = if hot(rng) {
            world.eoas[rng.random_range(0..4)]
        } else {
            world.eoas[index % world.eoas.len()]
        };
        let nonce = nonces.entry(sender).or_default();
        let hub = world.hubs[if hot(rng) {
            0
        } else {
            rng.random_range(0..world.hubs.len())
        }];
        let slot = U256::from(if hot(rng) {
            rng.random_range(0..2u64)
        } else {
            rng.random_range(0..1_000u64)
        });
        let recipient = match rng.random_range(0..5) {
            0 => beneficiary,
            1 => address(0x77, rng.random_range(0..1_000)), // fresh account
            _ => world.eoas[rng.random_range(0..world.eoas.len())],
        };
        let (kind, value, data, gas_limit) = match rng.random_range(0..14) {
            0..=2 => (
                TxKind::Call(recipient),
                U256::from(rng.random_range(0u64..1_000_000)),
                Bytes::new(),
                21_000,
            ),
            3 | 4 => (
                TxKind::Call(hub),
                U256::ZERO,
                calldata(0, slot, U256::from(rng.random_range(1u64..10))),
                100_000,
            ),
            5 | 6 => {
                let to = U256::from_be_slice(
                    world.eoas[rng.random_range(0..world.eoas.len())].as_slice(),
                );
                (
                    TxKind::Call(hub),
                    U256::ZERO,
                    calldata(1, to, U256::from(rng.random_range(0u64..600))),
                    100_000,
                )
            }
            7 => (
                TxKind::Call(hub),
                U256::ZERO,
                calldata(2, U256::ZERO, U256::ZERO),
                60_000,
            ),
            8 => (
                TxKind::Call(hub),
                U256::from(5),
                calldata(3, slot, U256::ZERO),
                60_000,
            ),
            9 => (
                TxKind::Call(hub),
                U256::ZERO,
                calldata(4, U256::ZERO, U256::ZERO),
                rng.random_range(25_000..40_000),
            ),
            10 => (
                TxKind::Call(hub),
                U256::ZERO,
                calldata(5, U256::ZERO, U256::ZERO),
                300_000,
            ),
            11 => (
                TxKind::Call(hub),
                U256::ZERO,
                calldata(6, U256::from(rng.random_range(0u64..3)), U256::ZERO),
                200_000,
            ),
            12 => match rng.random_range(0..3) {
                0 => (
                    TxKind::Call(hub),
                    U256::ZERO,
                    calldata(7, slot, U256::ZERO),
                    120_000,
                ),
                1 => (
                    TxKind::Call(hub),
                    U256::from(100),
                    calldata(8, U256::ZERO, U256::from(rng.random_range(0u64..200))),
                    100_000,
                ),
                _ => {
                    let victim = world.victims[rng.random_range(0..world.victims.len())];
                    let to = U256::from_be_slice(recipient.as_slice());
                    (
                        TxKind::Call(victim),
                        U256::ZERO,
                        calldata(9, to, U256::ZERO),
                        60_000,
                    )
                }
            },
            _ => (
                TxKind::Create,
                U256::from(rng.random_range(0u64..3)),
                Bytes::from(selfdestructing_child_init()),
                120_000,
            ),
        };
        let legacy = rng.random_bool(0.25);
        let max_fee = rng.random_range(BASE_FEE..BASE_FEE + 20) as u128;
        let mut tx = TxEnv {
            tx_type: if legacy { 0 } else { 2 },
            caller: sender,
            gas_limit,
            gas_price: max_fee,
            gas_priority_fee: (!legacy).then(|| rng.random_range(0..=max_fee - BASE_FEE as u128)),
            kind,
            value,
            data,
            nonce: *nonce,
            chain_id: Some(1),
            ..Default::default()
        };
        if !legacy && rng.random_bool(0.2) {
            tx.access_list = vec![
                parallax_executor::revm::context::transaction::AccessListItem {
                    address: hub,
                    storage_keys: vec![B256::from(slot.to_be_bytes::<32>())],
                },
            ]
            .into();
            tx.gas_limit += 2_400 + 1_900; // intrinsic cost of the access list
        }
        *nonce += 1;
        txs.push(tx);
    }
    (env, txs)
}

/// Runs the block on all engines and asserts they agree. Returns whether the block was valid and
/// how many of the parallel runs really ran in parallel (rather than falling back).
fn check_block<T: BlockTransaction>(
    env: &ExecutionEnv,
    txs: &[T],
    state: &CacheDB<EmptyDB>,
    context: &str,
) -> (bool, usize) {
    let sequential = Sequential.execute_block(env, txs, state);
    let mut parallel_runs = 0;
    for threads in [2, 8] {
        let parallel = BlockStm::new(threads)
            .with_min_parallel_txs(0)
            .execute_block_with_stats(env, txs, state)
            .map(|(outcome, stats)| {
                parallel_runs += usize::from(!stats.fell_back_to_sequential);
                outcome
            });
        match (&sequential, &parallel) {
            (Ok(expected), Ok(actual)) => {
                if expected != actual {
                    for (i, (e, a)) in expected.receipts.iter().zip(&actual.receipts).enumerate() {
                        if e != a {
                            eprintln!("{context}: receipt {i} differs:\n  sequential {e:?}\n  parallel   {a:?}");
                        }
                    }
                    for (address, change) in &expected.state_changes.accounts {
                        let other = actual.state_changes.accounts.get(address);
                        if other != Some(change) {
                            eprintln!("{context}: account {address} differs:\n  sequential {change:?}\n  parallel   {other:?}");
                        }
                    }
                    for (address, change) in &actual.state_changes.accounts {
                        if !expected.state_changes.accounts.contains_key(address) {
                            eprintln!("{context}: parallel-only account {address}: {change:?}");
                        }
                    }
                    panic!("{context}: Block-STM ({threads} threads) differs from sequential");
                }
            }
            (
                Err(ExecutionError::InvalidTransaction { index: e, .. }),
                Err(ExecutionError::InvalidTransaction { index: a, .. }),
            ) => assert_eq!(e, a, "{context}: invalid transaction index differs"),
            (expected, actual) => panic!(
                "{context}: outcomes differ ({threads} threads):\n  sequential {:?}\n  parallel   {:?}",
                expected.as_ref().err(),
                actual.as_ref().err()
            ),
        }
    }
    if let Err(error) = &sequential {
        if std::env::var("PARALLAX_DIFF_VERBOSE").is_ok() {
            eprintln!("{context}: invalid block: {error}");
        }
    }
    (sequential.is_ok(), parallel_runs)
}

fn env_number(name: &str, default: u64) -> u64 {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

#[test]
fn block_stm_equals_sequential_on_random_blocks() {
    let blocks = env_number("PARALLAX_DIFF_BLOCKS", 1500);
    let seed = env_number("PARALLAX_DIFF_SEED", 0x9a11a7);
    let mut rng = StdRng::seed_from_u64(seed);
    let mut valid = 0;
    let mut parallel_runs = 0;
    for block in 0..blocks {
        let (state, world) = build_state(&mut rng);
        let shape = Shape {
            txs: rng.random_range(1..=96),
            conflict: [0.0, 0.05, 0.2, 0.5, 0.9][block as usize % 5],
        };
        let (env, txs) = random_block(&mut rng, &world, &shape);
        let (is_valid, parallel) =
            check_block(&env, &txs, &state, &format!("seed {seed} block {block}"));
        valid += u64::from(is_valid);
        parallel_runs += parallel as u64;
    }
    // Fees and balances are generous: almost every block must be valid, or the test tests little.
    assert!(
        valid * 10 >= blocks * 9,
        "only {valid} of {blocks} random blocks were valid"
    );
    // Most runs must take the parallel path (the rest are single-sender chains or fell back).
    assert!(
        parallel_runs * 4 >= blocks * 2 * 3,
        "only {parallel_runs} of {} runs were parallel",
        blocks * 2
    );
    eprintln!("{blocks} random blocks equal ({valid} valid, {parallel_runs} of {} Block-STM runs parallel)", blocks * 2);
}

#[test]
fn invalid_transaction_is_reported_identically() {
    let mut rng = StdRng::seed_from_u64(7);
    let (state, world) = build_state(&mut rng);
    let (env, mut txs) = random_block(
        &mut rng,
        &world,
        &Shape {
            txs: 20,
            conflict: 0.1,
        },
    );
    txs[11].nonce += 5; // nonce too high
    let sequential = Sequential.execute_block(&env, &txs, &state);
    assert!(
        matches!(
            sequential,
            Err(ExecutionError::InvalidTransaction { index: 11, .. })
        ),
        "{sequential:?}"
    );
    check_block(&env, &txs, &state, "nonce gap");

    let (env, mut txs) = random_block(
        &mut rng,
        &world,
        &Shape {
            txs: 20,
            conflict: 0.1,
        },
    );
    txs[3].gas_limit = 40_000_000; // above the block gas limit
    check_block(&env, &txs, &state, "gas above limit");
}

#[test]
fn hub_bytecode_behaves() {
    // The assembled contract does what the generator expects: counter, revert and create paths.
    let mut rng = StdRng::seed_from_u64(1);
    let (state, world) = build_state(&mut rng);
    let (env, _) = random_block(
        &mut rng,
        &world,
        &Shape {
            txs: 1,
            conflict: 0.0,
        },
    );
    let hub = world.hubs[1];
    let tx = |selector, a: u64, b: u64, nonce| TxEnv {
        tx_type: 2,
        caller: world.eoas[0],
        gas_limit: 300_000,
        gas_price: 100,
        gas_priority_fee: Some(1),
        kind: TxKind::Call(hub),
        data: calldata(selector, U256::from(a), U256::from(b)),
        nonce,
        chain_id: Some(1),
        ..Default::default()
    };
    let txs = vec![
        tx(0, 5, 3, 0),
        tx(3, 5, 0, 1),
        tx(5, 0, 0, 2),
        tx(7, 9, 0, 3),
    ];
    let outcome = Sequential
        .execute_block(&env, &txs, &state)
        .expect("valid block");
    let statuses: Vec<bool> = outcome
        .receipts
        .iter()
        .map(|r| r.status.is_success())
        .collect();
    assert_eq!(statuses, [true, false, true, true]);
    assert_eq!(outcome.receipts[0].logs.len(), 1);
    let hub_storage = &outcome.state_changes.accounts[&hub].storage;
    assert_eq!(
        hub_storage.get(&U256::from(0xd0)),
        Some(&U256::from(9)),
        "transient storage round trip"
    );
    let child_slot = hub_storage
        .get(&U256::from(0xc5))
        .copied()
        .unwrap_or_default();
    assert!(!child_slot.is_zero(), "child was created");
    let child = Address::from_word(B256::from(child_slot.to_be_bytes::<32>()));
    // Created and self-destructed in the same transaction (EIP-6780): it never existed before
    // or after the block, so it is no change at all (and its constructor's slot is gone too).
    assert_eq!(outcome.state_changes.accounts.get(&child), None);
    // The hub itself changed only storage: its fields are reported as they were.
    let hub_change = &outcome.state_changes.accounts[&hub];
    assert_eq!(
        hub_change.info.map(|info| info.nonce),
        Some(1 + 1),
        "hub nonce bumped by CREATE"
    );
}

/// A pre-state whose storage fails for one account: storage errors must surface as
/// `ExecutionError::State` from both engines, never as a panic, a hang or a wrong outcome.
struct FailingView {
    inner: CacheDB<EmptyDB>,
    broken: Address,
}

#[derive(Debug, thiserror::Error)]
#[error("disk on fire reading {0}")]
struct DiskError(Address);

impl parallax_executor::revm::database_interface::DBErrorMarker for DiskError {}

impl parallax_executor::revm::database_interface::DatabaseRef for FailingView {
    type Error = DiskError;

    fn basic_ref(&self, address: Address) -> Result<Option<AccountInfo>, DiskError> {
        Ok(self.inner.basic_ref(address).unwrap_or_default())
    }

    fn code_by_hash_ref(&self, code_hash: B256) -> Result<Bytecode, DiskError> {
        Ok(self.inner.code_by_hash_ref(code_hash).unwrap_or_default())
    }

    fn storage_ref(&self, address: Address, index: U256) -> Result<U256, DiskError> {
        if address == self.broken {
            return Err(DiskError(address));
        }
        Ok(self.inner.storage_ref(address, index).unwrap_or_default())
    }

    fn block_hash_ref(&self, number: u64) -> Result<B256, DiskError> {
        Ok(self.inner.block_hash_ref(number).unwrap_or_default())
    }
}

#[test]
fn state_errors_are_reported_not_panicked() {
    let mut rng = StdRng::seed_from_u64(3);
    let (inner, world) = build_state(&mut rng);
    let broken = world.hubs[0];
    let view = FailingView { inner, broken };
    // Many transactions, some of them touching the broken contract's storage.
    let (env, txs) = random_block(
        &mut rng,
        &world,
        &Shape {
            txs: 64,
            conflict: 0.5,
        },
    );
    assert!(
        txs.iter().any(|tx| tx.kind == TxKind::Call(broken)),
        "the block reaches the broken account"
    );
    let engines = [
        parallax_executor::Engine::Sequential,
        parallax_executor::Engine::BlockStm(BlockStm::new(2).with_min_parallel_txs(0)),
        parallax_executor::Engine::BlockStm(BlockStm::new(8).with_min_parallel_txs(0)),
    ];
    for engine in engines {
        match engine.execute_block(&env, &txs, &view) {
            Err(ExecutionError::State(error)) => {
                assert!(
                    error.to_string().contains("disk on fire"),
                    "{engine:?}: {error}"
                )
            }
            other => panic!(
                "{engine:?}: expected a state error, got {:?}",
                other.map(|o| o.gas_used)
            ),
        }
    }
}

/// Turns a random Ethereum block into a rollup block: deposits first (transfers, hub calls and
/// creations with mints, some refused by revm so they fail but still mint), then the signed
/// transactions, each paying a random L1 data fee into a vault that may also be a fee recipient.
fn rollup_block(
    rng: &mut StdRng,
    world: &World,
    env: &mut ExecutionEnv,
    signed: Vec<TxEnv>,
) -> Vec<RollupTx> {
    env.base_fee_recipient = Some(address(0xfe, 0));
    env.l1_fee_recipient = Some(match rng.random_range(0..4) {
        0 => env.block.beneficiary,
        1 => address(0xfe, 0),
        _ => address(0xfe, 1),
    });
    let mut txs = Vec::new();
    for index in 0..rng.random_range(0..8) {
        // Mostly fresh (aliased L1) senders, sometimes a contract (EIP-3607 refuses it).
        let caller = if rng.random_bool(0.1) {
            world.hubs[0]
        } else {
            address(0xd0, rng.random_range(0..4))
        };
        let mint = U256::from(rng.random_range(0u64..2_000_000));
        let to = world.eoas[rng.random_range(0..world.eoas.len())];
        let (kind, value, data, gas_limit) = match rng.random_range(0..5) {
            0 | 1 => (
                TxKind::Call(to),
                U256::from(rng.random_range(0u64..2_500_000)),
                Bytes::new(),
                21_000,
            ),
            2 => (
                TxKind::Call(world.hubs[rng.random_range(0..world.hubs.len())]),
                U256::ZERO,
                calldata(
                    0,
                    U256::from(rng.random_range(0..2u64)),
                    U256::from(index + 1),
                ),
                100_000,
            ),
            3 => (
                TxKind::Create,
                U256::ZERO,
                Bytes::from(selfdestructing_child_init()),
                120_000,
            ),
            // Below the intrinsic gas: refused by revm, included as a failed deposit.
            _ => (TxKind::Call(to), U256::ZERO, Bytes::new(), 1_000),
        };
        txs.push(RollupTx {
            env: TxEnv {
                tx_type: 0,
                caller,
                gas_limit,
                gas_price: 0,
                kind,
                value,
                data,
                ..Default::default()
            },
            funding: TxFunding::Deposit {
                mint,
                system: false,
            },
        });
    }
    txs.extend(signed.into_iter().map(|env| RollupTx {
        env,
        funding: TxFunding::Signed {
            l1_data_fee: U256::from(rng.random_range(0u64..50_000)),
        },
    }));
    txs
}

#[test]
fn block_stm_equals_sequential_on_rollup_blocks() {
    let blocks = env_number("PARALLAX_DIFF_BLOCKS", 1500) / 3;
    let seed = env_number("PARALLAX_DIFF_SEED", 0x9a11a7) ^ 0x7e;
    let mut rng = StdRng::seed_from_u64(seed);
    let (mut valid, mut failed_deposits, mut deposits) = (0, 0, 0);
    for block in 0..blocks {
        let (state, world) = build_state(&mut rng);
        let shape = Shape {
            txs: rng.random_range(1..=64),
            conflict: [0.0, 0.2, 0.9][block as usize % 3],
        };
        let (mut env, signed) = random_block(&mut rng, &world, &shape);
        let txs = rollup_block(&mut rng, &world, &mut env, signed);
        let context = format!("rollup seed {seed} block {block}");
        let (is_valid, _) = check_block(&env, &txs, &state, &context);
        if let Ok(outcome) = Sequential.execute_block(&env, &txs, &state) {
            for receipt in outcome.receipts.iter().filter(|r| r.tx_type == 0x7E) {
                deposits += 1;
                failed_deposits += u64::from(!receipt.status.is_success());
            }
        }
        valid += u64::from(is_valid);
    }
    assert!(
        valid * 10 >= blocks * 8,
        "only {valid} of {blocks} rollup blocks were valid"
    );
    assert!(
        failed_deposits > 0 && failed_deposits < deposits,
        "{failed_deposits} of {deposits} deposits failed: both outcomes must be exercised"
    );
    eprintln!("{blocks} rollup blocks equal ({valid} valid; {deposits} deposits, {failed_deposits} failed)");
}

/// The deposit and L1-fee rules on hand-made cases, checked against the numbers they must give.
#[test]
fn deposits_mint_and_signed_transactions_pay_the_l1_fee() {
    let mut db = CacheDB::new(EmptyDB::default());
    let sender = address(0xee, 1);
    let hub = address(0xab, 0);
    let code = Bytecode::new_raw(Bytes::from(hub_code()));
    db.insert_account_info(
        sender,
        AccountInfo {
            balance: U256::from(10_000_000u64),
            ..Default::default()
        },
    );
    db.insert_account_info(
        hub,
        AccountInfo {
            nonce: 1,
            code_hash: code.hash_slow(),
            code: Some(code),
            ..Default::default()
        },
    );
    let block = BlockEnv {
        number: U256::from(5),
        beneficiary: address(0xcb, 0),
        timestamp: U256::from(1_700_000_000u64),
        gas_limit: 30_000_000,
        basefee: BASE_FEE,
        prevrandao: Some(B256::with_last_byte(9)),
        blob_excess_gas_and_price: Some(BlobExcessGasAndPrice::new(0, 1)),
        ..Default::default()
    };
    // Not chain 1: a deposit carries no chain id, and must not be checked against one.
    let mut env = ExecutionEnv::ethereum(SpecId::CANCUN, 901, block);
    env.base_fee_recipient = Some(address(0xfe, 0));
    env.l1_fee_recipient = Some(address(0xfe, 1));
    let depositor = address(0xd0, 0);
    let deposit = |value: u64, gas_limit: u64, mint: u64| {
        RollupTx::deposit(&DepositTx {
            from: depositor,
            to: TxKind::Call(sender),
            mint: U256::from(mint),
            value: U256::from(value),
            gas_limit,
            ..Default::default()
        })
    };
    let transfer = RollupTx {
        env: TxEnv {
            tx_type: 2,
            caller: sender,
            gas_limit: 21_000,
            gas_price: u128::from(BASE_FEE) + 2,
            gas_priority_fee: Some(2),
            kind: TxKind::Call(depositor),
            value: U256::from(1_000u64),
            nonce: 0,
            chain_id: Some(901),
            ..Default::default()
        },
        funding: TxFunding::Signed {
            l1_data_fee: U256::from(12_345u64),
        },
    };
    // The L1-info deposit: a system deposit from an account that does not exist, using no block
    // gas.
    let system = RollupTx::deposit(&DepositTx {
        from: address(0xde, 1),
        to: TxKind::Call(address(0x42, 0x15)),
        gas_limit: 1_000_000,
        is_system: true,
        data: Bytes::from(vec![1u8; 156]),
        ..Default::default()
    });
    let txs = vec![
        system,
        deposit(600, 21_000, 1_000), // mints 1000, sends 600 to `sender`
        deposit(5_000, 21_000, 100), // value above balance: fails, still mints 100
        deposit(0, 1_000, 7),        // gas below intrinsic: fails, still mints 7
        transfer,
    ];
    let outcome = Sequential
        .execute_block(&env, &txs, &db)
        .expect("valid block");
    let statuses: Vec<bool> = outcome
        .receipts
        .iter()
        .map(|r| r.status.is_success())
        .collect();
    assert_eq!(statuses, [true, true, false, false, true]);
    let types: Vec<u8> = outcome.receipts.iter().map(|r| r.tx_type).collect();
    assert_eq!(types, [0x7E, 0x7E, 0x7E, 0x7E, 2]);
    // The system deposit counts no gas; failed deposits use their whole gas limit.
    assert_eq!(outcome.receipts[0].gas_used, 0);
    assert_eq!(outcome.receipts[2].gas_used, 21_000);
    assert_eq!(outcome.receipts[3].gas_used, 1_000);
    let info = |address: Address| {
        outcome.state_changes.accounts[&address]
            .info
            .expect("account exists")
    };
    // 1000 + 100 + 7 minted, 600 sent, 1000 received back; three deposits bump the nonce.
    assert_eq!(
        info(depositor).balance,
        U256::from(1_000 + 100 + 7 - 600 + 1_000)
    );
    assert_eq!(info(depositor).nonce, 3);
    let gas_cost = 21_000 * (BASE_FEE + 2);
    assert_eq!(
        info(sender).balance,
        U256::from(10_000_000 + 600 - 1_000 - 12_345 - gas_cost)
    );
    assert_eq!(info(address(0xfe, 1)).balance, U256::from(12_345u64));
    // Deposits pay no base fee: the vault gets only the transfer's.
    assert_eq!(
        info(address(0xfe, 0)).balance,
        U256::from(21_000 * BASE_FEE)
    );
    assert_eq!(info(address(0xcb, 0)).balance, U256::from(21_000 * 2u64));
    check_block(&env, &txs, &db, "hand-made rollup block");

    // A sender who can pay gas and value but not the L1 fee is refused.
    let mut broke = txs[4].clone();
    broke.funding = TxFunding::Signed {
        l1_data_fee: U256::from(10_000_000u64),
    };
    let refused = Sequential.execute_block(&env, std::slice::from_ref(&broke), &db);
    assert!(
        matches!(
            refused,
            Err(ExecutionError::InvalidTransaction { index: 0, .. })
        ),
        "{refused:?}"
    );
}
