//! Whole-pipeline tests: a simulated sequencer and batcher write an L2 chain to an in-memory L1
//! (calldata, blobs, Celestia pointers); derivation must give the same chain back.

use std::collections::BTreeMap;
use std::sync::Arc;

use alloy_primitives::{keccak256, Address, Bytes, B256, U256};
use proptest::prelude::*;

use super::test_utils::{MemoryDa, MemoryL1};
use super::*;
use crate::batch::Batch;
use crate::blob::{encode_blob, MAX_BLOB_DATA_LEN};
use crate::block::BlockId;
use crate::channel::{ChannelBuilder, ChannelId, Compression};
use crate::frame::{encode_frames_payload, CelestiaPointer, Frame};

const L1_BLOCK_TIME: u64 = 12;
const OTHER: Address = Address::repeat_byte(0x07);

/// splitmix64: the simulation's randomness, seeded by proptest.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    fn below(&mut self, n: u64) -> u64 {
        self.next() % n.max(1)
    }

    fn chance(&mut self, percent: u64) -> bool {
        self.below(100) < percent
    }

    fn bytes(&mut self, len: usize) -> Vec<u8> {
        (0..len).map(|_| self.next() as u8).collect()
    }

    fn random_bytes(&mut self, max: u64) -> Vec<u8> {
        let len = self.below(max) as usize;
        self.bytes(len)
    }

    fn random_bytes_nonempty(&mut self, max: u64) -> Vec<u8> {
        let len = 1 + self.below(max) as usize;
        self.bytes(len)
    }
}

/// The block hash a fake executor gives: binds everything in the attributes.
fn mock_hash(attributes: &PayloadAttributes) -> B256 {
    let mut preimage = attributes.parent_hash.to_vec();
    preimage.extend_from_slice(&attributes.number.to_be_bytes());
    preimage.extend_from_slice(&attributes.timestamp_ms.to_be_bytes());
    preimage.extend_from_slice(attributes.l1_origin.hash.as_slice());
    for tx in &attributes.transactions {
        preimage.extend_from_slice(keccak256(tx).as_slice());
    }
    keccak256(preimage)
}

/// Attributes with the fields that depend on where data landed on L1 cleared.
fn comparable(attributes: &PayloadAttributes) -> PayloadAttributes {
    PayloadAttributes {
        derived_from: BlockId::default(),
        ..attributes.clone()
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum DaMode {
    Calldata,
    Blobs,
    Celestia,
    Mixed,
}

struct SimBlock {
    attributes: PayloadAttributes,
    info: L2BlockInfo,
    batch: Batch,
}

/// A sequencer + batcher writing to a [`MemoryL1`].
struct Sim {
    config: Arc<RollupConfig>,
    l1: Arc<MemoryL1>,
    da: Arc<MemoryDa>,
    rng: Rng,
    genesis: L2BlockInfo,
    epochs: Vec<Arc<L1Epoch>>,
    chain: Vec<SimBlock>,
    /// Blocks handed to the batcher.
    posted: usize,
    /// Transactions waiting for their L1 block.
    scheduled: BTreeMap<u64, Vec<InboxTransaction>>,
    /// Real payloads posted so far (for duplicates and copies).
    real_payloads: Vec<Bytes>,
    compression: Option<Compression>,
    da_mode: DaMode,
    garbage: bool,
    channels: u128,
    celestia_height: u64,
    /// Up to this many transactions per block.
    max_txs: u64,
    /// Fixed channel target and payload size instead of random small ones.
    sizes: Option<(usize, usize)>,
    /// The key the batcher posts with.
    batcher: Address,
    /// Sends the conflicting channels of `garbage` to the inbox itself (e.g. a retired batcher).
    impostor: Option<Address>,
}

impl Sim {
    fn new(seed: u64, block_time_ms: u64, sequencing_window: u64) -> Self {
        let l1 = Arc::new(MemoryL1::new(L1_BLOCK_TIME));
        let genesis_l1 = l1.info(0).expect("genesis");
        let mut config = RollupConfig {
            block_time_ms,
            max_sequencer_drift: 60,
            sequencing_window,
            channel_timeout: 8,
            ..RollupConfig::default()
        };
        config.genesis = crate::config::Genesis {
            l1: genesis_l1.id(),
            l2: BlockId {
                number: 0,
                hash: B256::repeat_byte(0x99),
            },
            l2_timestamp: genesis_l1.timestamp,
        };
        config.validate().expect("valid test config");
        let genesis = config.genesis_block_info();
        let mut sim = Self {
            config: Arc::new(config),
            l1,
            da: Arc::new(MemoryDa::default()),
            rng: Rng(seed),
            genesis,
            epochs: Vec::new(),
            chain: Vec::new(),
            posted: 0,
            scheduled: BTreeMap::new(),
            real_payloads: Vec::new(),
            compression: None,
            da_mode: DaMode::Calldata,
            garbage: false,
            channels: 0,
            celestia_height: 0,
            max_txs: 4,
            sizes: None,
            batcher: Address::ZERO,
            impostor: None,
        };
        sim.batcher = sim.config.batcher_address;
        sim.epochs.push(sim.read_epoch(0));
        sim
    }

    fn read_epoch(&self, number: u64) -> Arc<L1Epoch> {
        let mut traversal = L1Traversal::new(self.l1.clone(), &self.config, number);
        traversal.advance_origin().expect("epoch")
    }

    fn head(&self) -> L2BlockInfo {
        self.chain.last().map_or(self.genesis, |b| b.info)
    }

    fn latest_l1(&self) -> u64 {
        self.l1.len() - 1
    }

    /// Mines one L1 block with random deposits, the scheduled batcher txs and maybe garbage.
    fn mine(&mut self) {
        self.l1.extend(1);
        let number = self.latest_l1();
        for _ in 0..self.rng.below(3) {
            let data = self.rng.random_bytes(40);
            self.l1.add_deposit(
                number,
                self.config.portal_address,
                Address::repeat_byte(0x55),
                U256::from(self.rng.below(1_000_000)),
                &data,
            );
        }
        let mut txs = self.scheduled.remove(&number).unwrap_or_default();
        if self.garbage {
            // Garbage goes in front of the real data, which stays in order behind it.
            let mut garbage = self.garbage_txs();
            garbage.append(&mut txs);
            txs = garbage;
        }
        for tx in txs {
            self.l1.add_tx(number, tx.from, tx.to, tx.data);
        }
        let epoch = self.read_epoch(number);
        self.epochs.push(epoch);
    }

    fn garbage_txs(&mut self) -> Vec<InboxTransaction> {
        let batcher = self.batcher;
        let inbox = self.config.batch_inbox_address;
        let mut txs = Vec::new();
        for _ in 0..1 + self.rng.below(3) {
            let tx = |from, data| InboxTransaction {
                from,
                to: inbox,
                data,
            };
            match self.rng.below(7) {
                // Random calldata, sometimes with a valid version byte.
                0 => {
                    let mut data = self.rng.random_bytes(300);
                    if self.rng.chance(50) && !data.is_empty() {
                        data[0] = 0;
                    }
                    txs.push(tx(batcher, InboxData::Calldata(data.into())));
                }
                // Well-formed frames of random channels with random contents.
                1 => {
                    let frames: Vec<Frame> = (0..1 + self.rng.below(3))
                        .map(|_| Frame {
                            channel_id: ChannelId::from_slice(&self.rng.bytes(16)),
                            number: self.rng.below(3) as u16,
                            data: self.rng.random_bytes(200).into(),
                            is_last: self.rng.chance(50),
                        })
                        .collect();
                    let payload = encode_frames_payload(&frames);
                    txs.push(tx(batcher, InboxData::Calldata(payload.into())));
                }
                // Real frames from someone else, or from the batcher to another address.
                2 | 3 if !self.real_payloads.is_empty() => {
                    let i = self.rng.below(self.real_payloads.len() as u64) as usize;
                    let payload = self.real_payloads[i].clone();
                    if self.rng.chance(50) {
                        txs.push(tx(OTHER, InboxData::Calldata(payload)));
                    } else {
                        txs.push(InboxTransaction {
                            from: batcher,
                            to: OTHER,
                            data: InboxData::Calldata(payload),
                        });
                    }
                }
                // A real payload posted again by the batcher: duplicate frames.
                4 if !self.real_payloads.is_empty() => {
                    let i = self.rng.below(self.real_payloads.len() as u64) as usize;
                    let payload = self.real_payloads[i].clone();
                    txs.push(tx(batcher, InboxData::Calldata(payload)));
                }
                // A blob that is not a valid packing, and a Celestia pointer to garbage.
                5 => {
                    let hash = self.da.add_blob(self.rng.bytes(131_072));
                    txs.push(tx(batcher, InboxData::Blobs(vec![hash])));
                }
                _ => {
                    self.celestia_height += 1;
                    let pointer = CelestiaPointer {
                        height: self.celestia_height,
                        commitment: B256::from_slice(&self.rng.bytes(32)),
                    };
                    self.da.add_celestia(pointer, self.rng.bytes(100));
                    txs.push(tx(batcher, InboxData::Calldata(pointer.encode().into())));
                }
            }
        }
        txs
    }

    /// Sequences L2 blocks up to the time of the next L1 block, with origins already on L1.
    fn sequence(&mut self) {
        let latest = self.latest_l1();
        let next_l1_ms = (self.epochs[latest as usize].info.timestamp + L1_BLOCK_TIME) * 1000;
        loop {
            let parent = self.head();
            let number = parent.number + 1;
            let time_ms = self.config.l2_timestamp_ms(number).expect("time");
            if time_ms >= next_l1_ms {
                break;
            }
            let mut origin = parent.l1_origin.number;
            let origin_ms = self.epochs[origin as usize].info.timestamp * 1000;
            if origin < latest {
                let next = &self.epochs[origin as usize + 1];
                let urgent = time_ms + 20_000 > origin_ms + self.config.max_sequencer_drift * 1000;
                if next.info.timestamp * 1000 <= time_ms && (urgent || self.rng.chance(60)) {
                    origin += 1;
                }
            }
            let epoch = self.epochs[origin as usize].clone();
            assert!(time_ms <= (epoch.info.timestamp + self.config.max_sequencer_drift) * 1000);
            let transactions: Vec<Bytes> = (0..self.rng.below(self.max_txs))
                .map(|_| {
                    let mut tx = self.rng.random_bytes_nonempty(120);
                    tx[0] = 2;
                    tx.into()
                })
                .collect();
            let sequence_number = if origin == parent.l1_origin.number {
                parent.sequence_number + 1
            } else {
                0
            };
            let block = DerivedBlock {
                parent_hash: parent.hash,
                number,
                timestamp_ms: time_ms,
                origin: epoch.clone(),
                sequence_number,
                transactions: transactions.clone(),
                derived_from: BlockId::default(),
                forced: false,
            };
            let attributes = build_attributes(&block);
            let info = attributes.executed(mock_hash(&attributes));
            self.chain.push(SimBlock {
                attributes,
                info,
                batch: Batch {
                    parent_hash: parent.hash,
                    l1_origin: epoch.info.id(),
                    timestamp_ms: time_ms,
                    transactions,
                },
            });
        }
    }

    /// Posts every unposted block in channels whose frames land in the next `spread + 1` L1
    /// blocks, in random order.
    fn batch(&mut self, spread: u64) {
        let next_l1 = self.latest_l1() + 1;
        while self.posted < self.chain.len() {
            self.channels += 1;
            let compression = self.compression.unwrap_or(if self.rng.chance(50) {
                Compression::Zstd
            } else {
                Compression::Brotli
            });
            let (target, max_payload) = self.sizes.unwrap_or_else(|| {
                (
                    100 + self.rng.below(3000) as usize,
                    40 + self.rng.below(1500) as usize,
                )
            });
            let mut builder = ChannelBuilder::new(
                ChannelId::from(self.channels.to_be_bytes()),
                compression,
                target,
                self.config.max_channel_decompressed(),
            );
            let start = self.posted;
            while self.posted < self.chain.len() {
                if builder.add_batch(&self.chain[self.posted].batch).is_err() {
                    break;
                }
                self.posted += 1;
            }
            if self.garbage {
                self.post_conflicting_channel(start, compression, max_payload, next_l1);
            }
            let frames = builder.close().frames(max_payload).expect("frames");
            for frame in frames {
                let payload = encode_frames_payload(&[frame]);
                let at = next_l1 + self.rng.below(spread + 1);
                let tx = self.payload_tx(payload);
                self.scheduled.entry(at).or_default().push(tx);
            }
        }
    }

    /// A valid channel with the same blocks but other transactions, sent ahead of the real one
    /// by someone else or to another address: it must have no effect.
    fn post_conflicting_channel(
        &mut self,
        start: usize,
        compression: Compression,
        max_payload: usize,
        at: u64,
    ) {
        self.channels += 1;
        let mut builder = ChannelBuilder::new(
            ChannelId::from(self.channels.to_be_bytes()),
            compression,
            usize::MAX,
            self.config.max_channel_decompressed(),
        );
        for block in &self.chain[start..self.posted] {
            let fake = Batch {
                transactions: vec![Bytes::from_static(&[2, 0xff])],
                ..block.batch.clone()
            };
            builder.add_batch(&fake).expect("fits");
        }
        let (from, to) = if let Some(impostor) = self.impostor {
            (impostor, self.config.batch_inbox_address)
        } else if self.rng.chance(50) {
            (OTHER, self.config.batch_inbox_address)
        } else {
            (self.batcher, OTHER)
        };
        for frame in builder.close().frames(max_payload).expect("frames") {
            let payload = encode_frames_payload(&[frame]);
            self.scheduled
                .entry(at)
                .or_default()
                .push(InboxTransaction {
                    from,
                    to,
                    data: InboxData::Calldata(payload.into()),
                });
        }
    }

    fn payload_tx(&mut self, payload: Vec<u8>) -> InboxTransaction {
        let mode = match self.da_mode {
            DaMode::Mixed => {
                [DaMode::Calldata, DaMode::Blobs, DaMode::Celestia][self.rng.below(3) as usize]
            }
            mode => mode,
        };
        self.real_payloads.push(payload.clone().into());
        let data = match mode {
            DaMode::Blobs => {
                assert!(payload.len() <= MAX_BLOB_DATA_LEN);
                InboxData::Blobs(vec![self.da.add_blob(encode_blob(&payload).expect("fits"))])
            }
            DaMode::Celestia => {
                self.celestia_height += 1;
                let pointer = CelestiaPointer {
                    height: self.celestia_height,
                    commitment: keccak256(&payload),
                };
                self.da.add_celestia(pointer, payload);
                InboxData::Calldata(pointer.encode().into())
            }
            _ => InboxData::Calldata(payload.into()),
        };
        InboxTransaction {
            from: self.batcher,
            to: self.config.batch_inbox_address,
            data,
        }
    }

    /// Runs `l1_blocks` L1 blocks of sequencing and batching (posting every `post_every`
    /// blocks), then mines until every scheduled transaction is on L1.
    fn run(&mut self, l1_blocks: u64, post_every: u64, spread: u64) {
        self.sequence();
        for i in 0..l1_blocks {
            self.mine();
            self.sequence();
            if i % post_every == 0 {
                self.batch(spread);
            }
        }
        while !self.scheduled.is_empty() {
            self.mine();
        }
    }

    fn pipeline(&self) -> Pipeline<MemoryL1, MemoryDa> {
        Pipeline::new(
            self.config.clone(),
            self.l1.clone(),
            self.da.clone(),
            &self.genesis,
        )
    }
}

/// Derives until L1 runs out, executing with [`mock_hash`].
fn derive_all(
    pipeline: &mut Pipeline<MemoryL1, MemoryDa>,
    mut head: L2BlockInfo,
) -> Vec<PayloadAttributes> {
    let mut out = Vec::new();
    loop {
        match pipeline.next_attributes(&head) {
            Ok(attributes) => {
                head = attributes.executed(mock_hash(&attributes));
                out.push(attributes);
            }
            Err(PipelineError::L1NotReady(_)) => return out,
            Err(other) => panic!("derivation failed: {other}"),
        }
    }
}

fn assert_same_chain(sim: &Sim, derived: &[PayloadAttributes]) {
    assert_eq!(
        derived.len(),
        sim.posted,
        "every posted block, nothing more"
    );
    for (block, attributes) in sim.chain.iter().zip(derived) {
        assert!(!attributes.forced);
        assert_eq!(comparable(attributes), comparable(&block.attributes));
        assert!(attributes.derived_from.number > attributes.l1_origin.number);
    }
}

proptest! {
    // Whole-chain cases are slow: 24 by default, `PROPTEST_CASES` for deeper runs.
    #![proptest_config(ProptestConfig::with_cases(
        std::env::var("PROPTEST_CASES").ok().and_then(|v| v.parse().ok()).unwrap_or(24)
    ))]

    /// Random chains → batches → channels (both compressions) → frames of random sizes over
    /// every DA kind → derived back identically.
    #[test]
    fn random_chains_round_trip(
        seed in any::<u64>(),
        block_time_ms in prop_oneof![Just(500u64), Just(1000), Just(2000), Just(3000)],
        compression in prop_oneof![Just(Some(Compression::Zstd)), Just(Some(Compression::Brotli)), Just(None)],
        da_mode in prop_oneof![Just(DaMode::Calldata), Just(DaMode::Blobs), Just(DaMode::Celestia), Just(DaMode::Mixed)],
        l1_blocks in 4u64..16,
        post_every in 1u64..4,
        spread in 0u64..4,
    ) {
        let mut sim = Sim::new(seed, block_time_ms, 30);
        sim.compression = compression;
        sim.da_mode = da_mode;
        sim.run(l1_blocks, post_every, spread);
        prop_assert!(sim.posted > 0);
        let derived = derive_all(&mut sim.pipeline(), sim.genesis);
        assert_same_chain(&sim, &derived);
    }

    /// Garbage from the batcher, real frames from other senders or to other addresses,
    /// duplicate frames and bad blobs / Celestia blobs never change the derived chain.
    #[test]
    fn garbage_never_changes_the_chain(
        seed in any::<u64>(),
        l1_blocks in 4u64..14,
        spread in 0u64..4,
    ) {
        let mut sim = Sim::new(seed, 1000, 30);
        sim.da_mode = DaMode::Mixed;
        sim.garbage = true;
        sim.run(l1_blocks, 2, spread);
        let mut pipeline = sim.pipeline();
        let derived = derive_all(&mut pipeline, sim.genesis);
        assert_same_chain(&sim, &derived);
        let counters = pipeline.counters();
        prop_assert_eq!(counters.forced_blocks, 0);
    }

    /// Arbitrary inbox bytes (as calldata or blobs, from the batcher) never panic and the chain
    /// is exactly what the same L1 without them gives: forced empty blocks with deposits.
    #[test]
    fn arbitrary_inbox_data_never_panics(
        payloads in proptest::collection::vec(
            (0u64..12, proptest::collection::vec(any::<u8>(), 0..400), any::<bool>()),
            0..30,
        ),
    ) {
        let build = |with_garbage: bool| {
            let mut sim = Sim::new(7, 2000, 4);
            for _ in 0..12 {
                sim.mine();
            }
            if with_garbage {
                for (block, bytes, as_blob) in &payloads {
                    let data = if *as_blob {
                        let mut blob = bytes.repeat(131_072 / bytes.len().max(1) + 1);
                        blob.resize(131_072, 0);
                        InboxData::Blobs(vec![sim.da.add_blob(blob)])
                    } else {
                        InboxData::Calldata(bytes.clone().into())
                    };
                    sim.l1.add_tx(
                        block + 1,
                        sim.config.batcher_address,
                        sim.config.batch_inbox_address,
                        data,
                    );
                }
            }
            let mut pipeline = sim.pipeline();
            derive_all(&mut pipeline, sim.genesis)
        };
        let clean = build(false);
        prop_assert!(!clean.is_empty());
        prop_assert_eq!(build(true), clean);
    }
}

#[test]
fn full_size_payloads_round_trip() {
    for (da_mode, max_payload) in [
        (DaMode::Calldata, crate::frame::MAX_CALLDATA_PAYLOAD),
        (DaMode::Blobs, MAX_BLOB_DATA_LEN),
    ] {
        let mut sim = Sim::new(21, 1000, 30);
        sim.da_mode = da_mode;
        sim.max_txs = 200;
        // Channels of up to three payloads.
        sim.sizes = Some((3 * max_payload - 100, max_payload));
        sim.run(8, 4, 1);
        assert!(sim.posted > 50);
        assert!(sim.real_payloads.iter().any(|p| p.len() == max_payload));
        assert!(sim.real_payloads.iter().all(|p| p.len() <= max_payload));
        let derived = derive_all(&mut sim.pipeline(), sim.genesis);
        assert_same_chain(&sim, &derived);
    }
}

#[test]
fn batcher_rotation_and_system_config_updates_follow_l1() {
    let mut sim = Sim::new(31, 1000, 30);
    let old = sim.batcher;
    let new = Address::repeat_byte(0xb2);
    sim.run(3, 1, 0);
    // SystemConfig moves the batcher and raises the gas limit in the next L1 block; from then
    // on the old key's posts are ignored.
    sim.l1.extend(1);
    let rotation = sim.latest_l1();
    let system_config = sim.config.system_config_address;
    sim.l1.set_batcher(rotation, system_config, new);
    let mut gas = U256::from(45_000_000u64).to_be_bytes::<32>().to_vec();
    sim.l1.add_raw_log(
        rotation,
        system_config,
        vec![crate::system_config::GAS_LIMIT_UPDATED_TOPIC],
        std::mem::take(&mut gas),
    );
    sim.epochs.push(sim.read_epoch(rotation));
    assert_eq!(sim.epochs[rotation as usize].system_config.batcher, new);
    sim.sequence();
    // The old batcher posts conflicting data, the new one the real chain.
    sim.garbage = true;
    sim.impostor = Some(old);
    sim.batcher = new;
    for _ in 0..12 {
        sim.mine();
        sim.sequence();
        sim.batch(0);
    }
    while !sim.scheduled.is_empty() {
        sim.mine();
    }
    let mut pipeline = sim.pipeline();
    let derived = derive_all(&mut pipeline, sim.genesis);
    assert_same_chain(&sim, &derived);
    let after = derived
        .iter()
        .find(|a| a.l1_origin.number >= rotation)
        .expect("blocks on the new origin");
    assert_eq!(after.gas_limit, 45_000_000);
    let info = crate::l1_info::L1Info::decode(
        &crate::deposit::DepositTx::decode(&after.transactions[0])
            .expect("deposit")
            .data,
    )
    .expect("l1 info");
    assert_eq!(info.batcher_hash, new.into_word());
    assert!(derived
        .iter()
        .filter(|a| a.l1_origin.number < rotation)
        .all(|a| a.gas_limit == 30_000_000));

    // A pipeline started after the rotation rebuilds the SystemConfig state from history.
    let safe_index = derived
        .iter()
        .position(|a| a.l1_origin.number > rotation + sim.config.channel_timeout)
        .expect("a late enough block");
    let safe = derived[safe_index].executed(mock_hash(&derived[safe_index]));
    assert!(Pipeline::<MemoryL1, MemoryDa>::start_block(&sim.config, &safe) > rotation);
    pipeline.reset(&safe);
    let rest = derive_all(&mut pipeline, safe);
    assert_eq!(rest[..], derived[safe_index + 1..]);
}

#[test]
fn garbage_is_seen_and_skipped() {
    let mut sim = Sim::new(11, 1000, 30);
    sim.da_mode = DaMode::Mixed;
    sim.garbage = true;
    sim.run(12, 1, 2);
    let mut pipeline = sim.pipeline();
    let derived = derive_all(&mut pipeline, sim.genesis);
    assert_same_chain(&sim, &derived);
    // A restarting node rebuilds its safe head from the stored block's first transaction.
    let last = derived.last().expect("blocks");
    let head = crate::l1_info::L1Info::from_deposit(&last.transactions[0])
        .expect("l1 info")
        .l2_block_info(last.number, mock_hash(last));
    assert_eq!(head, last.executed(mock_hash(last)));
    let counters = pipeline.counters();
    assert!(counters.ignored_transactions > 0, "{counters:?}");
    assert!(counters.malformed_payloads > 0, "{counters:?}");
    assert!(counters.duplicate_frames > 0, "{counters:?}");
    assert_eq!(counters.forced_blocks, 0);
}

#[test]
fn forced_inclusion_when_the_sequencer_is_silent() {
    let sim = Sim::new(1, 2000, 5);
    // Deposits in L1 blocks 1 and 3; the batcher posts nothing.
    sim.l1.extend(1);
    sim.l1.add_deposit(
        1,
        sim.config.portal_address,
        Address::repeat_byte(1),
        U256::from(10),
        b"a",
    );
    sim.l1.extend(1);
    sim.l1.extend(1);
    sim.l1.add_deposit(
        3,
        sim.config.portal_address,
        Address::repeat_byte(3),
        U256::from(30),
        b"c",
    );
    let mut pipeline = sim.pipeline();
    // Window 5 from origin 0: nothing is decided before L1 block 4 is read.
    assert!(derive_all(&mut pipeline, sim.genesis).is_empty());
    for _ in 0..3 {
        sim.l1.extend(1);
    }
    let derived = derive_all(&mut pipeline, sim.genesis);
    assert!(!derived.is_empty());
    let mut deposits_seen = Vec::new();
    for (i, attributes) in derived.iter().enumerate() {
        assert!(attributes.forced);
        assert_eq!(attributes.number, i as u64 + 1);
        // Origins follow L1 time: the newest L1 block not after the L2 block.
        let expected_origin = ((attributes.timestamp - MemoryL1::GENESIS_TIME) / L1_BLOCK_TIME)
            .min(attributes.derived_from.number);
        assert_eq!(
            attributes.l1_origin.number,
            expected_origin,
            "block {}",
            i + 1
        );
        let user_deposits = attributes.deposit_count - 1;
        assert_eq!(attributes.transactions.len(), attributes.deposit_count);
        if attributes.sequence_number == 0 {
            deposits_seen.push((attributes.l1_origin.number, user_deposits));
        } else {
            assert_eq!(user_deposits, 0);
        }
    }
    assert_eq!(&deposits_seen[..3], &[(1, 1), (2, 0), (3, 1)]);
    let deposit = crate::deposit::DepositTx::decode(&derived[5].transactions[1]).expect("deposit");
    assert_eq!(deposit.mint, U256::from(10));
    assert_eq!(pipeline.counters().forced_blocks, derived.len() as u64);
}

#[test]
fn sequencer_stops_posting_then_blocks_are_forced() {
    let mut sim = Sim::new(2, 1000, 10);
    sim.run(3, 1, 0);
    let posted = sim.posted;
    // The sequencer keeps producing but its batcher is down for longer than the window.
    for _ in 0..14 {
        sim.mine();
        sim.sequence();
    }
    let mut pipeline = sim.pipeline();
    let derived = derive_all(&mut pipeline, sim.genesis);
    assert!(derived.len() > posted);
    for (i, attributes) in derived.iter().enumerate() {
        if i < posted {
            assert_eq!(comparable(attributes), comparable(&sim.chain[i].attributes));
        } else {
            assert!(attributes.forced, "block {} should be forced", i + 1);
            assert_eq!(attributes.transactions.len(), attributes.deposit_count);
        }
    }
    // When the batcher comes back, its batches for the forced heights are dropped: the
    // chain stays as forced.
    sim.posted = posted;
    sim.batch(0);
    sim.mine();
    let again = derive_all(&mut sim.pipeline(), sim.genesis);
    assert_eq!(again[..derived.len()], derived[..]);
}

#[test]
fn timed_out_channel_is_ignored_and_a_repost_derives() {
    let mut sim = Sim::new(3, 2000, 30);
    sim.sequence();
    sim.mine();
    sim.sequence();
    // Post the first blocks as one channel whose last frame comes too late.
    let blocks = sim.chain.len();
    let mut builder = ChannelBuilder::new(
        ChannelId::repeat_byte(0xee),
        Compression::Zstd,
        1_000_000,
        1_000_000,
    );
    for block in &sim.chain {
        builder.add_batch(&block.batch).expect("fits");
    }
    let frames = builder.close().frames(100).expect("frames");
    assert!(frames.len() >= 2);
    let first_l1 = sim.latest_l1() + 1;
    for (i, frame) in frames.iter().enumerate() {
        let at = if i + 1 == frames.len() {
            first_l1 + sim.config.channel_timeout + 1
        } else {
            first_l1
        };
        let tx = sim.payload_tx(encode_frames_payload(std::slice::from_ref(frame)));
        sim.scheduled.entry(at).or_default().push(tx);
    }
    // The batcher gives up on that channel and re-posts the same blocks in a new one.
    sim.mine();
    sim.posted = 0;
    sim.batch(0);
    sim.posted = blocks;
    while !sim.scheduled.is_empty() {
        sim.mine();
    }
    let mut pipeline = sim.pipeline();
    let derived = derive_all(&mut pipeline, sim.genesis);
    assert_same_chain(&sim, &derived);
    assert_eq!(pipeline.counters().timed_out_channels, 1);
}

#[test]
fn l1_reorg_resets_and_rederives() {
    let mut sim = Sim::new(4, 1000, 30);
    sim.run(6, 1, 0);
    let mut pipeline = sim.pipeline();
    let derived = derive_all(&mut pipeline, sim.genesis);
    assert_same_chain(&sim, &derived);
    let mut head = derived
        .last()
        .map(|a| a.executed(mock_hash(a)))
        .expect("blocks");

    // L1 reorgs from block 4: the batches posted there are gone. The sequencer's chain
    // up to what was derived from blocks before 4 survives; the batcher re-posts the rest.
    let reorg_at = 4;
    let surviving = derived
        .iter()
        .take_while(|a| a.derived_from.number < reorg_at)
        .count();
    sim.l1.reorg_from(reorg_at);
    sim.epochs.truncate(reorg_at as usize);
    sim.epochs.push(sim.read_epoch(reorg_at));
    sim.chain.truncate(surviving);
    // Blocks whose origin was reorged out cannot survive either.
    sim.chain
        .retain(|b| b.attributes.l1_origin.number < reorg_at);
    let surviving = sim.chain.len();
    sim.posted = surviving;
    sim.sequence();
    for _ in 0..5 {
        sim.mine();
        sim.sequence();
        sim.batch(0);
    }
    while !sim.scheduled.is_empty() {
        sim.mine();
    }

    // The old pipeline notices the reorg on its next step.
    let error = loop {
        match pipeline.next_attributes(&head) {
            Ok(attributes) => head = attributes.executed(mock_hash(&attributes)),
            Err(error) => break error,
        }
    };
    assert!(matches!(error, PipelineError::L1Reorg { .. }), "{error}");
    assert_eq!(error.severity(), Severity::Reset);
    // The node rewinds its safe head to the last block derived from surviving L1 data.
    let safe = if surviving == 0 {
        sim.genesis
    } else {
        derived[surviving - 1].executed(mock_hash(&derived[surviving - 1]))
    };
    pipeline.reset(&safe);
    let rederived = derive_all(&mut pipeline, safe);
    let mut all: Vec<PayloadAttributes> = derived[..surviving].to_vec();
    all.extend(rederived);
    assert_same_chain(&sim, &all);
}

#[test]
fn missing_blobs_stall_until_available() {
    let mut sim = Sim::new(5, 1000, 30);
    sim.da_mode = DaMode::Blobs;
    sim.run(3, 1, 0);
    // Hide one blob of the first batcher transaction.
    let (number, hash) = (1..sim.l1.len())
        .find_map(|n| {
            let info = sim.l1.info(n)?;
            sim.l1
                .inbox_transactions(&info, sim.config.batch_inbox_address)
                .ok()?
                .into_iter()
                .find_map(|tx| match tx.data {
                    InboxData::Blobs(hashes) => Some((n, hashes[0])),
                    InboxData::Calldata(_) => None,
                })
        })
        .expect("a blob tx");
    let blob = sim.da.remove_blob(&hash).expect("stored");
    let mut pipeline = sim.pipeline();
    let mut head = sim.genesis;
    let error = loop {
        match pipeline.next_attributes(&head) {
            Ok(attributes) => head = attributes.executed(mock_hash(&attributes)),
            Err(error) => break error,
        }
    };
    assert!(
        matches!(error, PipelineError::DaNotReady(DaRequest::Blob { l1_block, versioned_hash })
            if l1_block.number == number && versioned_hash == hash),
        "{error}"
    );
    assert_eq!(error.severity(), Severity::Temporary);
    // Same answer on retry; then the blob shows up and derivation finishes identically.
    assert!(matches!(
        pipeline.next_attributes(&head),
        Err(PipelineError::DaNotReady(_))
    ));
    sim.da.add_blob(blob.to_vec());
    let mut derived: Vec<PayloadAttributes> = sim.chain[..head.number as usize]
        .iter()
        .map(|b| b.attributes.clone())
        .collect();
    derived.extend(derive_all(&mut pipeline, head));
    assert_same_chain(&sim, &derived);
}

#[test]
fn asking_twice_for_the_same_block_gives_the_same_answer() {
    let mut sim = Sim::new(6, 1000, 30);
    sim.run(3, 1, 0);
    let mut pipeline = sim.pipeline();
    let first = pipeline.next_attributes(&sim.genesis).expect("block 1");
    assert_eq!(
        pipeline.next_attributes(&sim.genesis).expect("again"),
        first
    );
    let head = first.executed(mock_hash(&first));
    let second = pipeline.next_attributes(&head).expect("block 2");
    assert_eq!(second.number, 2);
}

#[test]
fn l1_source_failures_are_temporary() {
    let mut sim = Sim::new(8, 1000, 30);
    sim.run(3, 1, 0);
    let mut pipeline = sim.pipeline();
    sim.l1.set_failing(true);
    let error = pipeline
        .next_attributes(&sim.genesis)
        .expect_err("source down");
    assert!(matches!(error, PipelineError::L1Source(_)));
    assert_eq!(error.severity(), Severity::Temporary);
    sim.l1.set_failing(false);
    let derived = derive_all(&mut pipeline, sim.genesis);
    assert_same_chain(&sim, &derived);
}
