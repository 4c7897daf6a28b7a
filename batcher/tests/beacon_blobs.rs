//! Blobs for verifiers from a beacon API: the batcher posts a chain as blobs to anvil; two small
//! beacon-API-compatible servers (axum, in this test) serve those blobs' sidecars — a "beacon
//! node" that has pruned the oldest blob slot, and an "archive" with every slot. A replica
//! reading blobs through `BeaconBlobs` with the archive behind it (`WithArchive`) derives the
//! chain hash for hash, the pruned blob coming from the archive. A beacon node serving a
//! tampered blob is rejected by the KZG check, whatever the archive says.

mod common;

use std::{
    collections::{BTreeMap, BTreeSet},
    sync::{Arc, Mutex},
    time::Duration,
};

use alloy::{
    consensus::Transaction as _,
    eips::{
        eip4844::{env_settings::EnvKzgSettings, Blob, BlobTransactionSidecar},
        BlockNumberOrTag,
    },
    primitives::{Bytes, B256},
    providers::Provider,
};
use axum::{
    extract::{Path, State},
    http::StatusCode,
    routing::get,
    Json, Router,
};
use common::{assert_same_chain, batcher, init_logs, L1, L2};
use parallax_batcher::da::BlobDa;
use parallax_l1::{
    ArchiveBlobs, BeaconBlobs, BeaconClock, BlobError, BlobSource, RpcL1, WithArchive,
};
use parallax_protocol::{block::L1BlockInfo, derive::DaSource};
use parallax_sequencer::{follow::PipelineDeriver, node::Roles};
use serde_json::{json, Value};

/// One blob as the test's servers hold it.
#[derive(Clone)]
struct Stored {
    index: u64,
    blob: Bytes,
    commitment: Bytes,
    proof: Bytes,
}

/// A beacon API over a map of slots: genesis, spec and blob sidecars, with slots it pretends to
/// have pruned (404) and a request counter per slot.
#[derive(Default)]
struct Beacon {
    genesis_time: u64,
    slots: BTreeMap<u64, Vec<Stored>>,
    pruned: BTreeSet<u64>,
    served: BTreeMap<u64, u64>,
}

type Shared = Arc<Mutex<Beacon>>;

/// Posted blobs by slot: the L1 block and its blobs with their versioned hashes.
type Slots = BTreeMap<u64, (L1BlockInfo, Vec<(B256, Stored)>)>;

async fn genesis(State(beacon): State<Shared>) -> Json<Value> {
    let time = beacon.lock().unwrap().genesis_time;
    Json(json!({"data": {
        "genesis_time": time.to_string(),
        "genesis_validators_root": B256::repeat_byte(1),
        "genesis_fork_version": "0x00000000",
    }}))
}

async fn spec() -> Json<Value> {
    Json(json!({"data": {"SECONDS_PER_SLOT": "1", "SLOTS_PER_EPOCH": "32"}}))
}

async fn sidecars(
    State(beacon): State<Shared>,
    Path(block_id): Path<String>,
) -> (StatusCode, Json<Value>) {
    let not_found = || {
        (
            StatusCode::NOT_FOUND,
            Json(json!({"code": 404, "message": "NOT_FOUND: beacon block"})),
        )
    };
    let Ok(slot) = block_id.parse::<u64>() else {
        return not_found();
    };
    let mut beacon = beacon.lock().unwrap();
    if beacon.pruned.contains(&slot) {
        return not_found();
    }
    let Some(blobs) = beacon.slots.get(&slot).cloned() else {
        return not_found();
    };
    *beacon.served.entry(slot).or_default() += 1;
    let data: Vec<Value> = blobs
        .iter()
        .map(|stored| {
            json!({
                "index": stored.index.to_string(),
                "blob": stored.blob,
                "kzg_commitment": stored.commitment,
                "kzg_proof": stored.proof,
                "signed_block_header": {"message": {"slot": slot.to_string()}},
                "kzg_commitment_inclusion_proof": [],
            })
        })
        .collect();
    (StatusCode::OK, Json(json!({ "data": data })))
}

/// Serves `beacon` on a free port; returns its URL.
async fn serve(beacon: Shared) -> String {
    let app = Router::new()
        .route("/eth/v1/beacon/genesis", get(genesis))
        .route("/eth/v1/config/spec", get(spec))
        .route("/eth/v1/beacon/blob_sidecars/{block_id}", get(sidecars))
        .with_state(beacon);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    url
}

/// Every blob the batcher posted, read back from anvil, by slot (one-second slots from L1's
/// genesis), with the L1 block info derivation asks with.
async fn posted_blobs(l1: &L1) -> (u64, Slots) {
    let genesis_time = l1
        .provider
        .get_block_by_number(BlockNumberOrTag::Number(0))
        .await
        .unwrap()
        .unwrap()
        .header
        .timestamp;
    let head = l1.provider.get_block_number().await.unwrap();
    let mut slots = BTreeMap::new();
    for number in 0..=head {
        let block = l1
            .provider
            .get_block_by_number(BlockNumberOrTag::Number(number))
            .full()
            .await
            .unwrap()
            .unwrap();
        let mut stored = Vec::new();
        for tx in block.transactions.as_transactions().unwrap_or_default() {
            for &hash in tx.blob_versioned_hashes().unwrap_or_default() {
                let blob: Bytes = l1.rpc("anvil_getBlobByHash", json!([hash])).await;
                // Commitment and proof as the consensus client computes them.
                let sidecar = BlobTransactionSidecar::try_from_blobs_with_settings(
                    vec![Blob::from_slice(&blob)],
                    EnvKzgSettings::Default.get(),
                )
                .unwrap();
                assert_eq!(sidecar.versioned_hashes().next(), Some(hash));
                stored.push((
                    hash,
                    Stored {
                        index: stored.len() as u64,
                        blob,
                        commitment: Bytes::copy_from_slice(sidecar.commitments[0].as_slice()),
                        proof: Bytes::copy_from_slice(sidecar.proofs[0].as_slice()),
                    },
                ));
            }
        }
        if !stored.is_empty() {
            let header = &block.header;
            let info = L1BlockInfo {
                number,
                hash: header.hash,
                parent_hash: header.parent_hash,
                timestamp: header.timestamp,
                base_fee: 0,
                blob_base_fee: 0,
            };
            slots.insert(header.timestamp - genesis_time, (info, stored));
        }
    }
    (genesis_time, slots)
}

fn beacon_with(genesis_time: u64, slots: &Slots) -> Beacon {
    Beacon {
        genesis_time,
        slots: slots
            .iter()
            .map(|(slot, (_, blobs))| {
                (
                    *slot,
                    blobs.iter().map(|(_, stored)| stored.clone()).collect(),
                )
            })
            .collect(),
        ..Beacon::default()
    }
}

/// `source.blob(…)` on a blocking thread, as derivation calls it.
async fn fetch<S: DaSource<Error = BlobError> + Send + Sync + 'static>(
    source: &Arc<S>,
    info: L1BlockInfo,
    hash: B256,
) -> Result<Option<Bytes>, BlobError> {
    let source = source.clone();
    tokio::task::spawn_blocking(move || source.blob(&info, hash))
        .await
        .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_replica_derives_blobs_from_a_beacon_api_with_an_archive_for_pruned_ones() {
    init_logs();
    // One-second L1 blocks: each is its own one-second beacon slot.
    let Some(l1) = L1::start_with(&["--block-time", "1"]).await else {
        return;
    };
    let rollup = l1.rollup();
    let mut sequencer = L2::sequencer_on(&l1).await;
    // Small frames, one blob per transaction: the chain spreads over several blobs, posted in
    // two rounds, so in at least two L1 blocks (slots).
    let da = BlobDa::new(rollup.batch_inbox_address)
        .with_blobs_per_tx(1)
        .with_max_frame_payload(1_500);
    let mut posting = batcher(&l1, &sequencer, da).await;
    let mut head = 0;
    for round in 0..2 {
        sequencer.transact(3, 4, 4 * round).await;
        head = sequencer.head().await;
        for _ in 0..600 {
            posting.step().await.expect("batcher step");
            if posting.confirmed_block() >= head {
                break;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        assert!(
            posting.confirmed_block() >= head,
            "batcher did not post the chain"
        );
    }
    drop(posting);
    sequencer.stop().await;

    let (genesis_time, slots) = posted_blobs(&l1).await;
    assert!(slots.len() >= 2, "blobs in {} slots", slots.len());
    let first_slot = *slots.keys().next().unwrap();

    // The beacon node pruned the first blob slot; the archive has them all.
    let primary: Shared = Arc::new(Mutex::new(Beacon {
        pruned: BTreeSet::from([first_slot]),
        ..beacon_with(genesis_time, &slots)
    }));
    let archive: Shared = Arc::new(Mutex::new(beacon_with(genesis_time, &slots)));
    let primary_url = serve(primary.clone()).await;
    let archive_url = serve(archive.clone()).await;

    // Direct reads: every blob is served and checked; the pruned one only by the archive.
    let beacon_only = Arc::new(BeaconBlobs::new(&primary_url).unwrap());
    let (info, blobs) = &slots[&first_slot];
    let (hash, stored) = &blobs[0];
    assert_eq!(
        fetch(&beacon_only, *info, *hash).await.unwrap(),
        None,
        "pruned"
    );
    let composed = Arc::new(WithArchive::new(
        BeaconBlobs::new(&primary_url).unwrap(),
        vec![ArchiveBlobs::Beacon(
            BeaconBlobs::new(&archive_url).unwrap(),
        )],
    ));
    assert_eq!(
        fetch(&composed, *info, *hash).await.unwrap(),
        Some(stored.blob.clone())
    );
    assert_eq!(
        beacon_only.clock().unwrap(),
        BeaconClock {
            genesis_time,
            seconds_per_slot: 1
        }
    );
    // A blob that is not in its slot is not there (the L1 block is the wrong one).
    let (later_info, _) = slots.values().nth(1).unwrap();
    assert_eq!(fetch(&beacon_only, *later_info, *hash).await.unwrap(), None);

    // A replica deriving from L1 with the beacon API and the archive.
    let l1_source = Arc::new(RpcL1::connect(l1.anvil.endpoint().as_str()).unwrap());
    let blob_source = WithArchive::new(
        BlobSource::Beacon(BeaconBlobs::new(&primary_url).unwrap()),
        vec![ArchiveBlobs::Beacon(
            BeaconBlobs::new(&archive_url).unwrap(),
        )],
    );
    let deriver = PipelineDeriver::new(
        Arc::new(rollup.clone()),
        l1_source,
        Arc::new(blob_source),
        &rollup.genesis_block_info(),
    );
    let mut replica = L2::start_with(
        &rollup,
        Roles {
            sequencer: None,
            derivation: Some(Box::new(deriver)),
        },
    )
    .await;
    assert_same_chain(&sequencer, &replica, head).await;
    // The primary served every slot but the pruned one, which only the archive served.
    let primary_served = primary.lock().unwrap().served.clone();
    let archive_served = archive.lock().unwrap().served.clone();
    assert!(!primary_served.contains_key(&first_slot));
    assert!(archive_served.get(&first_slot).copied().unwrap_or(0) >= 1);
    for slot in slots.keys().skip(1) {
        assert!(
            primary_served.get(slot).copied().unwrap_or(0) >= 1,
            "slot {slot}"
        );
    }
    replica.stop().await;

    // A beacon node serving a tampered blob under the right commitment: rejected by the KZG
    // check, and the composed source falls back to the archive's (checked) blob.
    let mut tampered = beacon_with(genesis_time, &slots);
    for blobs in tampered.slots.values_mut() {
        for stored in blobs {
            let mut bytes = stored.blob.to_vec();
            bytes[100] ^= 0x01;
            stored.blob = bytes.into();
        }
    }
    let tampered_url = serve(Arc::new(Mutex::new(tampered))).await;
    let liar = Arc::new(BeaconBlobs::new(&tampered_url).unwrap());
    for (info, blobs) in slots.values() {
        for (hash, _) in blobs {
            assert!(
                matches!(fetch(&liar, *info, *hash).await, Err(BlobError::Mismatch(h)) if h == *hash),
                "tampered blob {hash} accepted"
            );
        }
    }
    let liar_alone = Arc::new(WithArchive::new(
        BeaconBlobs::new(&tampered_url).unwrap(),
        vec![],
    ));
    assert!(fetch(&liar_alone, *info, *hash).await.is_err());
    let rescued = Arc::new(WithArchive::new(
        BeaconBlobs::new(&tampered_url).unwrap(),
        vec![ArchiveBlobs::Beacon(
            BeaconBlobs::new(&archive_url).unwrap(),
        )],
    ));
    assert_eq!(
        fetch(&rescued, *info, *hash).await.unwrap(),
        Some(stored.blob.clone())
    );

    // A directory archive: blobs by versioned hash, checked too.
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join(format!("{hash:#x}")), &stored.blob).unwrap();
    let directory = Arc::new(ArchiveBlobs::Directory(dir.path().to_owned()));
    assert_eq!(
        fetch(&directory, *info, *hash).await.unwrap(),
        Some(stored.blob.clone())
    );
    let (other_hash, _) = &slots.values().nth(1).unwrap().1[0];
    assert_eq!(fetch(&directory, *info, *other_hash).await.unwrap(), None);
    std::fs::write(dir.path().join(format!("{other_hash:#x}")), &stored.blob).unwrap();
    assert!(matches!(
        fetch(&directory, *info, *other_hash).await,
        Err(BlobError::Mismatch(_))
    ));
}
