//! The Rust twin and witness builder against the Solidity `WorldState` / `MptDb`
//! (contracts/src/verifier/), run in revm through the test-only `MptHarness`
//! (`contracts/artifacts/test/MptHarness.json`):
//!
//! - random worlds (`parallax_state::WorldState`) and random transactions' writes (balance and
//!   nonce updates, new accounts, deleted accounts, slot inserts / updates / deletes, wiped and
//!   re-created storage): the builder's post-state root equals the state crate's root after the
//!   same changes, and the Solidity library, given only the builder's witness and the writes in
//!   a random order, computes the same root and reads the same values;
//! - dropping any one witness node makes the Solidity side revert `MissingNode(hash)`;
//! - raw tries with short keys that prefix each other (branch values, embedded nodes) and short
//!   values: `MptDb.put` sequences on the twin's witness give the twin's root (and the state
//!   crate's), and miss nodes exactly where the twin does;
//! - gas per account update / insert / delete / storage write on a state of 1,000 accounts
//!   (`gas_report`, printed with `--nocapture`).

use std::collections::BTreeMap;

use alloy::sol_types::{SolCall, SolError};
use alloy_primitives::{keccak256, Address, Bytes, B256, U256};
use parallax_executor::{
    revm::{
        context::{result::ExecutionResult, Context, TxEnv},
        database::{CacheDB, EmptyDB},
        primitives::{hardfork::SpecId, TxKind},
        state::{AccountInfo, Bytecode},
        ExecuteCommitEvm, MainBuilder, MainContext,
    },
    AccountBasic, AccountChange, StateChanges,
};
use parallax_fraud_proof::{
    MemoryNodes, Mpt, MptError, StateReads, StateWitnessBuilder, WitnessError,
};
use parallax_state::{Trie, WorldState};
use rand::{rngs::StdRng, Rng, SeedableRng};

alloy::sol!(
    #[derive(Debug)]
    MptHarness,
    "../contracts/artifacts/test/MptHarness.json"
);

const HARNESS: Address = Address::new([0x7e; 20]);
const GAS_LIMIT: u64 = 200_000_000;

/// revm with the harness installed.
struct Chain {
    db: CacheDB<EmptyDB>,
}

impl Chain {
    fn new() -> Self {
        let mut db = CacheDB::new(EmptyDB::default());
        let code = Bytecode::new_raw(Bytes::copy_from_slice(&MptHarness::DEPLOYED_BYTECODE));
        db.insert_account_info(
            HARNESS,
            AccountInfo::default().with_code(code).with_nonce(1),
        );
        Self { db }
    }

    /// Calls the harness; `Ok((return, tx gas))` or `Err(revert data)`.
    fn call<C: SolCall>(&mut self, call: C) -> Result<(C::Return, u64), Bytes> {
        let mut evm = Context::mainnet()
            .with_db(&mut self.db)
            .modify_cfg_chained(|cfg| {
                cfg.spec = SpecId::CANCUN;
                cfg.disable_base_fee = true;
                cfg.disable_nonce_check = true;
                cfg.tx_gas_limit_cap = Some(u64::MAX);
            })
            .modify_block_chained(|block| block.gas_limit = GAS_LIMIT)
            .build_mainnet();
        let tx = TxEnv {
            caller: Address::ZERO,
            kind: TxKind::Call(HARNESS),
            data: call.abi_encode().into(),
            gas_limit: GAS_LIMIT,
            gas_price: 0,
            ..Default::default()
        };
        match evm.transact_commit(tx).expect("valid call") {
            ExecutionResult::Success { output, gas, .. } => Ok((
                C::abi_decode_returns(output.data()).expect("output decodes"),
                gas.tx_gas_used(),
            )),
            ExecutionResult::Revert { output, .. } => Err(output),
            halt => panic!("harness halted: {halt:?}"),
        }
    }
}

fn random_value(rng: &mut StdRng) -> U256 {
    match rng.random_range(0..3) {
        0 => U256::from(rng.random_range(1u64..256)),
        1 => U256::from(rng.random::<u64>() | 1),
        _ => U256::from_be_bytes(rng.random::<[u8; 32]>()) | U256::from(1),
    }
}

fn random_account(rng: &mut StdRng) -> AccountBasic {
    AccountBasic {
        balance: random_value(rng),
        nonce: rng.random_range(0..1_000),
        code_hash: if rng.random_bool(0.3) {
            B256::from(rng.random::<[u8; 32]>())
        } else {
            AccountBasic::default().code_hash
        },
    }
}

/// A world of `accounts` random accounts, about a third with up to `max_slots` slots (small slot
/// numbers, so storage tries of different accounts share keys).
fn world(rng: &mut StdRng, accounts: usize, max_slots: u64) -> (WorldState, Vec<Address>) {
    let mut changes = StateChanges::default();
    let mut addresses = Vec::new();
    for _ in 0..accounts {
        let address = Address::from(rng.random::<[u8; 20]>());
        let storage = if rng.random_bool(0.35) {
            (0..rng.random_range(1..=max_slots))
                .map(|_| {
                    (
                        U256::from(rng.random_range(0..max_slots * 2)),
                        random_value(rng),
                    )
                })
                .collect()
        } else {
            BTreeMap::new()
        };
        changes.accounts.insert(
            address,
            AccountChange {
                info: Some(random_account(rng)),
                storage_cleared: false,
                storage,
            },
        );
        addresses.push(address);
    }
    let mut world = WorldState::new();
    world.apply(&changes);
    (world, addresses)
}

/// Every node of a world built from scratch.
fn nodes_of(world: &WorldState) -> MemoryNodes {
    world
        .unpersisted_nodes()
        .into_iter()
        .map(|(_, rlp)| rlp)
        .collect()
}

/// Slots of `address` in the world (probing the small slot numbers `world` uses).
fn slots_of(world: &WorldState, address: &Address, max_slots: u64) -> Vec<U256> {
    (0..max_slots * 2)
        .map(U256::from)
        .filter(|slot| !world.storage(address, *slot).is_zero())
        .collect()
}

/// Random writes of one transaction over `world`, and what it read.
fn random_tx(
    rng: &mut StdRng,
    world: &WorldState,
    addresses: &[Address],
    max_slots: u64,
) -> (StateReads, StateChanges) {
    let mut reads = StateReads::default();
    let mut writes = StateChanges::default();
    for _ in 0..rng.random_range(1..8) {
        let existing = addresses[rng.random_range(0..addresses.len())];
        let kind = rng.random_range(0..10);
        let address = if kind == 0 {
            Address::from(rng.random::<[u8; 20]>())
        } else {
            existing
        };
        let current = world.account(&address);
        let mut change = AccountChange::default();
        match kind {
            // Deleted (self-destructed or emptied).
            1 => change.info = None,
            // Wiped and re-created with fresh storage.
            2 => {
                change.info = Some(random_account(rng));
                change.storage_cleared = true;
            }
            _ => {
                let mut info = current.unwrap_or_default();
                if rng.random_bool(0.7) {
                    info.balance = random_value(rng);
                    info.nonce += 1;
                }
                change.info = Some(info);
            }
        }
        if change.info.is_some() {
            let mut slots = slots_of(world, &address, max_slots);
            for _ in 0..rng.random_range(0..4) {
                slots.push(U256::from(rng.random_range(0..max_slots * 2)));
            }
            for slot in slots {
                match rng.random_range(0..4) {
                    0 => {
                        change.storage.insert(slot, U256::ZERO);
                    }
                    1 => {
                        change.storage.insert(slot, random_value(rng));
                    }
                    2 => {
                        reads.slots.entry(address).or_default().insert(slot);
                    }
                    _ => {}
                }
            }
        }
        writes.accounts.insert(address, change);
    }
    for _ in 0..rng.random_range(0..4) {
        reads
            .accounts
            .insert(addresses[rng.random_range(0..addresses.len())]);
    }
    reads
        .accounts
        .insert(Address::from(rng.random::<[u8; 20]>()));
    (reads, writes)
}

fn op(
    kind: u8,
    addr: Address,
    slot: U256,
    value: U256,
    account: MptHarness::Account,
) -> MptHarness::Op {
    MptHarness::Op {
        kind,
        addr,
        slot,
        value,
        account,
    }
}

fn sol_account(info: Option<AccountBasic>) -> MptHarness::Account {
    let info_or_empty = info.unwrap_or_default();
    MptHarness::Account {
        nonce: info_or_empty.nonce,
        balance: info_or_empty.balance,
        storageRoot: B256::ZERO,
        codeHash: info_or_empty.code_hash,
        exists: info.is_some(),
    }
}

/// The WorldState calls of a transaction: first every read (accounts, then slots read or
/// written, as the EVM reads a slot before writing it), then the writes, each account's in
/// order, interleaved across accounts at random. Expected read results alongside.
fn ops_for(
    rng: &mut StdRng,
    world: &WorldState,
    reads: &StateReads,
    writes: &StateChanges,
) -> (Vec<MptHarness::Op>, Vec<U256>) {
    let mut ops = Vec::new();
    let mut expected = Vec::new();
    let none = sol_account(None);
    let touched: std::collections::BTreeSet<Address> = reads
        .accounts
        .iter()
        .chain(reads.slots.keys())
        .chain(writes.accounts.keys())
        .copied()
        .collect();
    for address in &touched {
        ops.push(op(0, *address, U256::ZERO, U256::ZERO, none.clone()));
        expected.push(world.account(address).map_or(U256::MAX, |a| a.balance));
    }
    for address in &touched {
        let read = reads.slots.get(address).into_iter().flatten();
        let written = writes
            .accounts
            .get(address)
            .into_iter()
            .flat_map(|c| c.storage.keys());
        for slot in read.chain(written) {
            ops.push(op(1, *address, *slot, U256::ZERO, none.clone()));
            expected.push(world.storage(address, *slot));
        }
    }
    let mut per_account: Vec<Vec<MptHarness::Op>> = writes
        .accounts
        .iter()
        .map(|(address, change)| {
            let mut seq = Vec::new();
            if change.info.is_none() || change.storage_cleared {
                seq.push(op(2, *address, U256::ZERO, U256::ZERO, sol_account(None)));
            }
            if let Some(info) = change.info {
                seq.push(op(
                    2,
                    *address,
                    U256::ZERO,
                    U256::ZERO,
                    sol_account(Some(info)),
                ));
                for (slot, value) in &change.storage {
                    // Sometimes write an intermediate value first.
                    if rng.random_bool(0.3) {
                        seq.push(op(3, *address, *slot, U256::from(12345), none.clone()));
                    }
                    seq.push(op(3, *address, *slot, *value, none.clone()));
                }
            }
            seq
        })
        .collect();
    let mut cursors = vec![0usize; per_account.len()];
    let total: usize = per_account.iter().map(Vec::len).sum();
    for _ in 0..total {
        let live: Vec<usize> = (0..per_account.len())
            .filter(|&i| cursors[i] < per_account[i].len())
            .collect();
        let pick = live[rng.random_range(0..live.len())];
        ops.push(per_account[pick][cursors[pick]].clone());
        expected.push(U256::ZERO);
        cursors[pick] += 1;
    }
    per_account.clear();
    (ops, expected)
}

/// The roots agree: builder == state crate == Solidity on the builder's witness; the reads
/// agree; every witness node is needed (dropping one reverts `MissingNode` with its hash).
#[test]
fn solidity_world_state_matches_the_twin() {
    let mut chain = Chain::new();
    for seed in 0..40u64 {
        let mut rng = StdRng::seed_from_u64(seed);
        let max_slots = if seed % 3 == 0 { 3 } else { 40 };
        let accounts = rng.random_range(1..120);
        let (pre, addresses) = world(&mut rng, accounts, max_slots);
        let source = nodes_of(&pre);
        for _ in 0..4 {
            let (reads, writes) = random_tx(&mut rng, &pre, &addresses, max_slots);
            let witness = StateWitnessBuilder::new(&source, pre.root())
                .build(&reads, &writes)
                .expect("full pre-state");
            let mut post = pre.clone();
            post.apply(&writes);
            assert_eq!(witness.post_state_root, post.root(), "seed {seed}");

            let (ops, expected) = ops_for(&mut rng, &pre, &reads, &writes);
            let (got, _) = chain
                .call(MptHarness::runCall {
                    root: pre.root(),
                    nodes: witness.nodes.clone(),
                    ops: ops.clone(),
                })
                .unwrap_or_else(|revert| panic!("seed {seed}: run reverted {revert}"));
            assert_eq!(got.newRoot, witness.post_state_root, "seed {seed}");
            for (i, want) in expected.iter().enumerate() {
                if ops[i].kind <= 1 {
                    assert_eq!(got.reads[i], *want, "seed {seed} op {i}");
                }
            }

            // Drop one node (a few per transaction, to keep the test fast).
            for _ in 0..3.min(witness.nodes.len()) {
                let drop = rng.random_range(0..witness.nodes.len());
                let hash = keccak256(&witness.nodes[drop]);
                let mut nodes = witness.nodes.clone();
                nodes.remove(drop);
                let revert = chain
                    .call(MptHarness::runCall {
                        root: pre.root(),
                        nodes: nodes.clone(),
                        ops: ops.clone(),
                    })
                    .expect_err("a missing node reverts");
                assert_eq!(
                    revert,
                    Bytes::from(MptHarness::MissingNode { hash }.abi_encode()),
                    "seed {seed}"
                );
                let partial: MemoryNodes = nodes.into_iter().collect();
                assert_eq!(
                    StateWitnessBuilder::new(&partial, pre.root())
                        .build(&reads, &writes)
                        .unwrap_err(),
                    WitnessError::Trie(MptError::MissingNode(hash))
                );
            }
        }
    }
}

/// Short keys over a 3-nibble alphabet: they share prefixes and prefix each other.
fn short_key(rng: &mut StdRng) -> Vec<u8> {
    let len = rng.random_range(1..4);
    (0..len)
        .map(|_| [0x00, 0x11, 0x12][rng.random_range(0..3)])
        .collect()
}

/// Mostly values short enough for embedded nodes, some long.
fn short_value(rng: &mut StdRng) -> Vec<u8> {
    let len = if rng.random_bool(0.7) {
        rng.random_range(1..4)
    } else {
        rng.random_range(30..40)
    };
    (0..len).map(|_| rng.random()).collect()
}

#[test]
fn solidity_mpt_matches_the_twin_on_embedded_nodes_and_branch_values() {
    let mut chain = Chain::new();
    for seed in 0..200u64 {
        let mut rng = StdRng::seed_from_u64(seed);
        let mut trie = Trie::new();
        for _ in 0..rng.random_range(0..25) {
            trie.insert(&short_key(&mut rng), short_value(&mut rng));
        }
        let pre_root = trie.root();
        let mut all = Vec::new();
        trie.unpersisted_nodes(&mut all);
        let source: MemoryNodes = all.into_iter().map(|(_, rlp)| rlp).collect();
        let (keys, values): (Vec<Vec<u8>>, Vec<Vec<u8>>) = (0..rng.random_range(1..10))
            .map(|_| {
                let value = if rng.random_bool(0.5) {
                    Vec::new()
                } else {
                    short_value(&mut rng)
                };
                (short_key(&mut rng), value)
            })
            .unzip();
        let mut mpt = Mpt::new(&source);
        let mut root = pre_root;
        for (key, value) in keys.iter().zip(&values) {
            root = mpt.put(root, key, value).expect("full source");
            trie.insert(key, value.clone());
        }
        assert_eq!(root, trie.root(), "seed {seed}");
        let witness = mpt.take_witness();
        let to_bytes = |v: &[Vec<u8>]| v.iter().cloned().map(Bytes::from).collect::<Vec<_>>();
        let call = |nodes: Vec<Bytes>| MptHarness::mptPutCall {
            root: pre_root,
            nodes,
            keys: to_bytes(&keys),
            values: to_bytes(&values),
        };
        let (got, _) = chain
            .call(call(witness.clone()))
            .unwrap_or_else(|revert| panic!("seed {seed}: mptPut reverted {revert}"));
        assert_eq!(got._0, root, "seed {seed}");
        for drop in 0..witness.len() {
            let hash = keccak256(&witness[drop]);
            let mut nodes = witness.clone();
            nodes.remove(drop);
            let revert = chain.call(call(nodes)).expect_err("a missing node reverts");
            assert_eq!(
                revert,
                Bytes::from(MptHarness::MissingNode { hash }.abi_encode()),
                "seed {seed}"
            );
        }
    }
}

/// A delete that collapses a branch needs the remaining sibling's node, which is not on the
/// deleted key's path: the twin puts it in the witness, and without it the Solidity side
/// reverts `MissingNode(sibling)`.
#[test]
fn collapse_needs_the_sibling_node() {
    let mut chain = Chain::new();
    // Two keys under one branch, with values long enough that both leaves are hashed nodes.
    let (a, b) = (vec![0x10u8], vec![0x20u8]);
    let mut trie = Trie::new();
    trie.insert(&a, vec![0xaa; 40]);
    trie.insert(&b, vec![0xbb; 40]);
    let pre_root = trie.root();
    let mut all = Vec::new();
    trie.unpersisted_nodes(&mut all);
    let source: MemoryNodes = all.into_iter().map(|(_, rlp)| rlp).collect();
    let sibling = keccak256(&trie.proof(&b)[1]);
    let path_of_a: Vec<B256> = trie.proof(&a).iter().map(keccak256).collect();
    assert!(!path_of_a.contains(&sibling));

    let mut mpt = Mpt::new(&source);
    let root = mpt.put(pre_root, &a, &[]).expect("full source");
    trie.remove(&a);
    assert_eq!(root, trie.root());
    let witness = mpt.take_witness();
    assert!(witness.iter().any(|node| keccak256(node) == sibling));

    let call = |nodes: Vec<Bytes>| MptHarness::mptPutCall {
        root: pre_root,
        nodes,
        keys: vec![Bytes::from(a.clone())],
        values: vec![Bytes::new()],
    };
    let (got, _) = chain.call(call(witness.clone())).expect("complete witness");
    assert_eq!(got._0, root);
    let without: Vec<Bytes> = witness
        .into_iter()
        .filter(|node| keccak256(node) != sibling)
        .collect();
    assert_eq!(
        chain.call(call(without)).expect_err("sibling missing"),
        Bytes::from(MptHarness::MissingNode { hash: sibling }.abi_encode())
    );
}

/// Gas of single-operation transactions on a state of 1,000 accounts (a third with storage).
#[test]
fn gas_report() {
    let mut rng = StdRng::seed_from_u64(1000);
    let max_slots = 40;
    let (pre, addresses) = world(&mut rng, 1_000, max_slots);
    let source = nodes_of(&pre);
    let mut chain = Chain::new();
    let with_storage = *addresses
        .iter()
        .find(|a| slots_of(&pre, a, max_slots).len() >= 10)
        .expect("an account with storage");
    let existing_slot = slots_of(&pre, &with_storage, max_slots)[0];
    let new_slot = (0..1000u64)
        .map(U256::from)
        .find(|s| pre.storage(&with_storage, *s).is_zero())
        .expect("a free slot");
    let plain = addresses[1];

    let update = |address: Address| {
        let mut info = pre.account(&address).unwrap_or_default();
        info.balance += U256::from(1);
        info.nonce += 1;
        info
    };
    let slot_change = |slot: U256, value: U256| {
        let mut change = AccountChange {
            info: Some(update(with_storage)),
            ..AccountChange::default()
        };
        change.storage.insert(slot, value);
        (with_storage, change)
    };
    let cases: Vec<(&str, Vec<(Address, AccountChange)>)> = vec![
        (
            "account update",
            vec![(
                plain,
                AccountChange {
                    info: Some(update(plain)),
                    ..Default::default()
                },
            )],
        ),
        (
            "account insert",
            vec![(
                Address::repeat_byte(0x42),
                AccountChange {
                    info: Some(update(Address::repeat_byte(0x42))),
                    ..Default::default()
                },
            )],
        ),
        ("account delete", vec![(plain, AccountChange::default())]),
        (
            "storage update (+ its account)",
            vec![slot_change(existing_slot, U256::from(7))],
        ),
        (
            "storage insert (+ its account)",
            vec![slot_change(new_slot, U256::from(7))],
        ),
        (
            "storage delete (+ its account)",
            vec![slot_change(existing_slot, U256::ZERO)],
        ),
        (
            "transfer: 2 account updates",
            vec![
                (
                    plain,
                    AccountChange {
                        info: Some(update(plain)),
                        ..Default::default()
                    },
                ),
                (
                    addresses[2],
                    AccountChange {
                        info: Some(update(addresses[2])),
                        ..Default::default()
                    },
                ),
            ],
        ),
        (
            "100 account updates",
            addresses[100..200]
                .iter()
                .map(|a| {
                    (
                        *a,
                        AccountChange {
                            info: Some(update(*a)),
                            ..Default::default()
                        },
                    )
                })
                .collect(),
        ),
        (
            "10 account updates",
            addresses[10..20]
                .iter()
                .map(|a| {
                    (
                        *a,
                        AccountChange {
                            info: Some(update(*a)),
                            ..Default::default()
                        },
                    )
                })
                .collect(),
        ),
    ];
    eprintln!("state: 1,000 accounts, root {}", pre.root());
    eprintln!(
        "{:<34} {:>6} {:>9} {:>9} {:>9} {:>10} {:>10}",
        "case", "nodes", "open", "reads", "root", "in-call", "tx gas"
    );
    for (name, changes) in cases {
        let writes = StateChanges {
            accounts: changes.into_iter().collect(),
            ..StateChanges::default()
        };
        let reads = StateReads::default();
        let witness = StateWitnessBuilder::new(&source, pre.root())
            .build(&reads, &writes)
            .expect("witness");
        let mut post = pre.clone();
        post.apply(&writes);
        assert_eq!(witness.post_state_root, post.root());
        let (ops, _) = ops_for(&mut rng, &pre, &reads, &writes);
        let (got, tx_gas) = chain
            .call(MptHarness::runCall {
                root: pre.root(),
                nodes: witness.nodes.clone(),
                ops: ops.clone(),
            })
            .expect("run");
        assert_eq!(got.newRoot, witness.post_state_root, "{name}");
        let n = ops.len();
        let reads_gas: U256 = (0..n)
            .filter(|i| ops[*i].kind <= 1)
            .map(|i| got.gas[i])
            .sum();
        let writes_gas: U256 = (0..n)
            .filter(|i| ops[*i].kind > 1)
            .map(|i| got.gas[i])
            .sum();
        let root_gas = got.gas[n] + writes_gas;
        let open_gas = got.gas[n + 1];
        eprintln!(
            "{:<34} {:>6} {:>9} {:>9} {:>9} {:>10} {:>10}",
            name,
            witness.nodes.len(),
            open_gas,
            reads_gas,
            root_gas,
            open_gas + reads_gas + root_gas,
            tx_gas
        );
    }
}
