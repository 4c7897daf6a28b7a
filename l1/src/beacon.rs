//! Blobs for verifiers on a production L1: from the consensus layer's beacon API, with archives
//! behind it for blobs the beacon node has pruned (nodes keep blobs for about 18 days).
//!
//! [`BeaconBlobs`] reads `GET /eth/v1/beacon/blob_sidecars/{slot}`; the slot of an L1 block is
//! computed from its timestamp with the chain's genesis time (`/eth/v1/beacon/genesis`) and slot
//! length (`SECONDS_PER_SLOT` from `/eth/v1/config/spec`), both read once. [`ArchiveBlobs`] is
//! an archive: another server with the same sidecar API (a long-retention beacon node or a blob
//! archive speaking it), or a directory of blobs named by versioned hash. [`WithArchive`]
//! composes them: primary first, then each archive in turn. Every blob, whoever served it, is
//! checked against the versioned hash of the L1 transaction through its KZG commitment
//! ([`verify_blob`]) before derivation sees it, so a source can withhold data but never change it.
//!
//! [`BlobSourceSpec`] is the `--blob-source` option of the replica and the challenger:
//! `none`, `anvil`, or `beacon:URL`, followed by any number of `,archive:URL` and
//! `,archive-dir:PATH`.

use std::{
    path::PathBuf,
    str::FromStr,
    sync::{Arc, OnceLock},
    time::Duration,
};

use alloy_primitives::{Bytes, B256};
use parallax_protocol::{block::L1BlockInfo, derive::DaSource, frame::CelestiaPointer};
use serde::Deserialize;

use crate::{verify_blob, AnvilBlobs, BlobError, NoDaSource, RpcL1};

/// How long one beacon API request may take.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(30);

/// The beacon chain's clock: which slot an L1 block's timestamp falls in.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct BeaconClock {
    /// Unix time of slot 0.
    pub genesis_time: u64,
    /// Slot length (12 on mainnet).
    pub seconds_per_slot: u64,
}

impl BeaconClock {
    /// The slot of a block with `timestamp`; execution blocks are produced exactly at slot
    /// starts, so any other timestamp means the clock or the block is not what we think.
    pub fn slot(&self, timestamp: u64) -> Result<u64, BlobError> {
        let since = timestamp.checked_sub(self.genesis_time).ok_or_else(|| {
            BlobError::Beacon(format!(
                "block time {timestamp} is before beacon genesis {}",
                self.genesis_time
            ))
        })?;
        if self.seconds_per_slot == 0 || since % self.seconds_per_slot != 0 {
            return Err(BlobError::Beacon(format!(
                "block time {timestamp} is not a slot start (genesis {}, {} s slots)",
                self.genesis_time, self.seconds_per_slot
            )));
        }
        Ok(since / self.seconds_per_slot)
    }
}

/// `{"data": …}`, the envelope of every beacon API answer.
#[derive(Deserialize)]
struct Envelope<T> {
    data: T,
}

#[derive(Deserialize)]
struct GenesisData {
    #[serde(with = "quoted")]
    genesis_time: u64,
}

#[derive(Deserialize)]
struct SpecData {
    #[serde(rename = "SECONDS_PER_SLOT", with = "quoted")]
    seconds_per_slot: u64,
}

/// One blob sidecar as the beacon API serves it (fields derivation does not need are ignored).
#[derive(Clone, Debug, Deserialize)]
pub struct Sidecar {
    /// Position of the blob in its block.
    #[serde(with = "quoted")]
    pub index: u64,
    /// The blob (131,072 bytes).
    pub blob: Bytes,
    /// Its KZG commitment (48 bytes); its versioned hash names the blob.
    pub kzg_commitment: Bytes,
}

/// The beacon API writes integers as decimal strings.
mod quoted {
    use serde::{Deserialize, Deserializer};

    pub(super) fn deserialize<'de, D: Deserializer<'de>>(deserializer: D) -> Result<u64, D::Error> {
        String::deserialize(deserializer)?
            .parse()
            .map_err(serde::de::Error::custom)
    }
}

/// A beacon node's blob sidecars (see the module docs).
#[derive(Debug)]
pub struct BeaconBlobs {
    base: String,
    client: reqwest::Client,
    runtime: tokio::runtime::Handle,
    /// Read on the first request (so a node starts while its beacon node is still down).
    clock: OnceLock<BeaconClock>,
}

impl BeaconBlobs {
    /// The beacon API at `url` (e.g. `http://localhost:5052`). Must be called inside a tokio
    /// runtime, whose handle later runs the requests; call [`DaSource::blob`] from a blocking
    /// thread, as derivation does.
    pub fn new(url: &str) -> Result<Self, BlobError> {
        let runtime = tokio::runtime::Handle::try_current()
            .map_err(|_| BlobError::L1(crate::L1Error::NoRuntime))?;
        let base = url.trim_end_matches('/').to_owned();
        if !(base.starts_with("http://") || base.starts_with("https://")) {
            return Err(BlobError::Beacon(format!(
                "beacon API URL must be http(s): {url}"
            )));
        }
        let client = reqwest::Client::builder()
            .timeout(REQUEST_TIMEOUT)
            .build()
            .map_err(|error| BlobError::Beacon(format!("HTTP client: {error}")))?;
        Ok(Self {
            base,
            client,
            runtime,
            clock: OnceLock::new(),
        })
    }

    /// With a known clock (skips the genesis and spec requests).
    pub fn with_clock(self, clock: BeaconClock) -> Self {
        let _ = self.clock.set(clock);
        self
    }

    /// `GET {base}{path}`, decoded from JSON; `None` on 404 (unknown or pruned).
    fn get<T: serde::de::DeserializeOwned>(&self, path: &str) -> Result<Option<T>, BlobError> {
        let url = format!("{}{path}", self.base);
        let request = self.client.get(&url).header("accept", "application/json");
        self.runtime.block_on(async {
            let response = request
                .send()
                .await
                .map_err(|error| BlobError::Beacon(format!("GET {url}: {error}")))?;
            let status = response.status();
            if status == reqwest::StatusCode::NOT_FOUND {
                return Ok(None);
            }
            if !status.is_success() {
                return Err(BlobError::Beacon(format!("GET {url}: HTTP {status}")));
            }
            let body = response
                .bytes()
                .await
                .map_err(|error| BlobError::Beacon(format!("GET {url}: {error}")))?;
            serde_json::from_slice(&body)
                .map(Some)
                .map_err(|error| BlobError::Beacon(format!("GET {url}: bad JSON: {error}")))
        })
    }

    /// The chain's clock, read once from the node.
    pub fn clock(&self) -> Result<BeaconClock, BlobError> {
        if let Some(clock) = self.clock.get() {
            return Ok(*clock);
        }
        let missing = |what: &str| BlobError::Beacon(format!("the beacon node has no {what}"));
        let genesis: Envelope<GenesisData> = self
            .get("/eth/v1/beacon/genesis")?
            .ok_or_else(|| missing("genesis"))?;
        let spec: Envelope<SpecData> = self
            .get("/eth/v1/config/spec")?
            .ok_or_else(|| missing("spec"))?;
        let clock = BeaconClock {
            genesis_time: genesis.data.genesis_time,
            seconds_per_slot: spec.data.seconds_per_slot,
        };
        if clock.seconds_per_slot == 0 {
            return Err(BlobError::Beacon("SECONDS_PER_SLOT is 0".into()));
        }
        Ok(*self.clock.get_or_init(|| clock))
    }

    /// The blob sidecars of `slot`; `None` if the node has none for it (pruned, or an empty
    /// slot).
    pub fn sidecars(&self, slot: u64) -> Result<Option<Vec<Sidecar>>, BlobError> {
        Ok(self
            .get::<Envelope<Vec<Sidecar>>>(&format!("/eth/v1/beacon/blob_sidecars/{slot}"))?
            .map(|envelope| envelope.data))
    }
}

impl DaSource for BeaconBlobs {
    type Error = BlobError;

    fn blob(&self, block: &L1BlockInfo, versioned_hash: B256) -> Result<Option<Bytes>, BlobError> {
        let slot = self.clock()?.slot(block.timestamp)?;
        let Some(sidecars) = self.sidecars(slot)? else {
            return Ok(None);
        };
        let Some(sidecar) = sidecars.into_iter().find(|sidecar| {
            alloy_eips::eip4844::kzg_to_versioned_hash(&sidecar.kzg_commitment) == versioned_hash
        }) else {
            return Ok(None);
        };
        // The commitment names the blob, but only the blob itself proves it: recompute.
        verify_blob(&sidecar.blob, versioned_hash)?;
        Ok(Some(sidecar.blob))
    }

    fn celestia(&self, _pointer: &CelestiaPointer) -> Result<Option<Bytes>, BlobError> {
        Err(NoDaSource("Celestia").into())
    }
}

/// Where blobs older than the beacon node's retention are kept.
#[derive(Debug)]
pub enum ArchiveBlobs {
    /// A server with the beacon sidecar API that keeps blobs for longer.
    Beacon(BeaconBlobs),
    /// A directory with one file per blob, named by its versioned hash (`0x…`, lowercase),
    /// holding the 131,072 blob bytes.
    Directory(PathBuf),
}

impl DaSource for ArchiveBlobs {
    type Error = BlobError;

    fn blob(&self, block: &L1BlockInfo, versioned_hash: B256) -> Result<Option<Bytes>, BlobError> {
        match self {
            Self::Beacon(beacon) => beacon.blob(block, versioned_hash),
            Self::Directory(dir) => {
                let path = dir.join(format!("{versioned_hash:#x}"));
                let blob = match std::fs::read(&path) {
                    Ok(blob) => Bytes::from(blob),
                    Err(error) if error.kind() == std::io::ErrorKind::NotFound => return Ok(None),
                    Err(error) => {
                        return Err(BlobError::Archive(format!("{}: {error}", path.display())))
                    }
                };
                verify_blob(&blob, versioned_hash)?;
                Ok(Some(blob))
            }
        }
    }

    fn celestia(&self, _pointer: &CelestiaPointer) -> Result<Option<Bytes>, BlobError> {
        Err(NoDaSource("Celestia").into())
    }
}

/// A primary blob source with archives behind it: a blob the primary does not have, or fails to
/// serve, is asked of each archive in turn. A primary failure is only returned when no archive
/// has the blob, so derivation retries rather than taking the blob for missing.
#[derive(Debug)]
pub struct WithArchive<P> {
    primary: P,
    archives: Vec<ArchiveBlobs>,
}

impl<P> WithArchive<P> {
    /// `primary`, then `archives` in order.
    pub fn new(primary: P, archives: Vec<ArchiveBlobs>) -> Self {
        Self { primary, archives }
    }
}

impl<P: DaSource<Error = BlobError>> DaSource for WithArchive<P> {
    type Error = BlobError;

    fn blob(&self, block: &L1BlockInfo, versioned_hash: B256) -> Result<Option<Bytes>, BlobError> {
        let mut failure = match self.primary.blob(block, versioned_hash) {
            Ok(Some(blob)) => return Ok(Some(blob)),
            Ok(None) => None,
            Err(error) => {
                tracing::warn!(%versioned_hash, %error, "primary blob source failed; trying archives");
                Some(error)
            }
        };
        for archive in &self.archives {
            match archive.blob(block, versioned_hash) {
                Ok(Some(blob)) => {
                    tracing::debug!(%versioned_hash, block = block.number, "blob served by an archive");
                    return Ok(Some(blob));
                }
                Ok(None) => {}
                Err(error) => {
                    tracing::warn!(%versioned_hash, %error, "blob archive failed");
                    failure.get_or_insert(error);
                }
            }
        }
        failure.map_or(Ok(None), Err)
    }

    fn celestia(&self, pointer: &CelestiaPointer) -> Result<Option<Bytes>, BlobError> {
        self.primary.celestia(pointer)
    }
}

/// The blob source a node's derivation uses.
#[derive(Debug)]
pub enum BlobSource {
    /// None: calldata-only chains (derivation stops at the first blob batch and says why).
    None,
    /// The L1 node itself when it is anvil (`anvil_getBlobByHash`): devnets.
    Anvil(AnvilBlobs),
    /// A beacon node's sidecar API: production L1s.
    Beacon(BeaconBlobs),
}

impl DaSource for BlobSource {
    type Error = BlobError;

    fn blob(&self, block: &L1BlockInfo, versioned_hash: B256) -> Result<Option<Bytes>, BlobError> {
        match self {
            Self::None => Err(NoDaSource("blob").into()),
            Self::Anvil(anvil) => anvil.blob(block, versioned_hash),
            Self::Beacon(beacon) => beacon.blob(block, versioned_hash),
        }
    }

    fn celestia(&self, _pointer: &CelestiaPointer) -> Result<Option<Bytes>, BlobError> {
        Err(NoDaSource("Celestia").into())
    }
}

/// The primary of a `--blob-source`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum PrimarySpec {
    /// `none`.
    None,
    /// `anvil`.
    Anvil,
    /// `beacon:URL`.
    Beacon(String),
}

/// An archive of a `--blob-source`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ArchiveSpec {
    /// `archive:URL` (beacon sidecar API).
    Http(String),
    /// `archive-dir:PATH`.
    Directory(PathBuf),
}

/// A parsed `--blob-source` (see the module docs for the syntax).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BlobSourceSpec {
    /// Asked first.
    pub primary: PrimarySpec,
    /// Asked in order when the primary has no blob.
    pub archives: Vec<ArchiveSpec>,
}

/// A `--blob-source` that does not parse.
#[derive(Debug, thiserror::Error)]
#[error("bad blob source {0:?}: expected none, anvil or beacon:URL, then any ,archive:URL or ,archive-dir:PATH")]
pub struct BadBlobSource(String);

impl FromStr for BlobSourceSpec {
    type Err = BadBlobSource;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        let bad = || BadBlobSource(text.to_owned());
        let mut parts = text.split(',').map(str::trim);
        let primary = match parts.next().ok_or_else(bad)? {
            "none" => PrimarySpec::None,
            "anvil" => PrimarySpec::Anvil,
            other => match other.strip_prefix("beacon:") {
                Some(url) if !url.is_empty() => PrimarySpec::Beacon(url.to_owned()),
                _ => return Err(bad()),
            },
        };
        let archives = parts
            .map(|part| {
                if let Some(url) = part.strip_prefix("archive:").filter(|url| !url.is_empty()) {
                    Ok(ArchiveSpec::Http(url.to_owned()))
                } else if let Some(path) = part
                    .strip_prefix("archive-dir:")
                    .filter(|path| !path.is_empty())
                {
                    Ok(ArchiveSpec::Directory(PathBuf::from(path)))
                } else {
                    Err(bad())
                }
            })
            .collect::<Result<Vec<_>, _>>()?;
        if primary == PrimarySpec::None && !archives.is_empty() {
            return Err(bad());
        }
        Ok(Self { primary, archives })
    }
}

impl std::fmt::Display for BlobSourceSpec {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match &self.primary {
            PrimarySpec::None => f.write_str("none")?,
            PrimarySpec::Anvil => f.write_str("anvil")?,
            PrimarySpec::Beacon(url) => write!(f, "beacon:{url}")?,
        }
        for archive in &self.archives {
            match archive {
                ArchiveSpec::Http(url) => write!(f, ",archive:{url}")?,
                ArchiveSpec::Directory(path) => write!(f, ",archive-dir:{}", path.display())?,
            }
        }
        Ok(())
    }
}

impl BlobSourceSpec {
    /// The source, reading anvil's blobs through `l1` when asked to. Must be called inside a
    /// tokio runtime.
    pub fn open(&self, l1: Arc<RpcL1>) -> Result<WithArchive<BlobSource>, BlobError> {
        let primary = match &self.primary {
            PrimarySpec::None => BlobSource::None,
            PrimarySpec::Anvil => BlobSource::Anvil(AnvilBlobs::new(l1)),
            PrimarySpec::Beacon(url) => BlobSource::Beacon(BeaconBlobs::new(url)?),
        };
        let archives = self
            .archives
            .iter()
            .map(|archive| match archive {
                ArchiveSpec::Http(url) => BeaconBlobs::new(url).map(ArchiveBlobs::Beacon),
                ArchiveSpec::Directory(path) => Ok(ArchiveBlobs::Directory(path.clone())),
            })
            .collect::<Result<Vec<_>, _>>()?;
        Ok(WithArchive::new(primary, archives))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn specs_parse_and_print_back() {
        for text in [
            "none",
            "anvil",
            "beacon:http://cl:5052",
            "beacon:http://cl:5052,archive:https://blobs.example/api",
            "anvil,archive-dir:/var/lib/blobs,archive:http://a:1",
        ] {
            let spec: BlobSourceSpec = text.parse().expect(text);
            assert_eq!(spec.to_string(), text);
        }
        let spec: BlobSourceSpec = "beacon:http://cl:5052,archive-dir:/b".parse().unwrap();
        assert_eq!(spec.primary, PrimarySpec::Beacon("http://cl:5052".into()));
        assert_eq!(spec.archives, vec![ArchiveSpec::Directory("/b".into())]);
        for bad in [
            "",
            "beacon",
            "beacon:",
            "celestia",
            "anvil,",
            "anvil,archive:",
            "anvil,beacon:http://x",
            "none,archive:http://x",
        ] {
            assert!(bad.parse::<BlobSourceSpec>().is_err(), "{bad:?} parsed");
        }
    }

    #[test]
    fn slots_follow_the_beacon_clock() {
        let clock = BeaconClock {
            genesis_time: 1_606_824_023,
            seconds_per_slot: 12,
        };
        assert_eq!(clock.slot(1_606_824_023).unwrap(), 0);
        assert_eq!(
            clock.slot(1_606_824_023 + 12 * 8_000_000).unwrap(),
            8_000_000
        );
        assert!(clock.slot(1_606_824_022).is_err());
        assert!(clock.slot(1_606_824_023 + 5).is_err());
        let broken = BeaconClock {
            genesis_time: 0,
            seconds_per_slot: 0,
        };
        assert!(broken.slot(12).is_err());
    }

    #[test]
    fn sidecar_json_decodes() {
        let json = r#"{"data":[{"index":"1","blob":"0x0102","kzg_commitment":"0xaa",
            "kzg_proof":"0xbb","signed_block_header":{},"kzg_commitment_inclusion_proof":[]}]}"#;
        let envelope: Envelope<Vec<Sidecar>> = serde_json::from_str(json).unwrap();
        assert_eq!(envelope.data[0].index, 1);
        assert_eq!(envelope.data[0].blob, Bytes::from(vec![1, 2]));
        assert!(
            serde_json::from_str::<Envelope<Vec<Sidecar>>>(r#"{"data":[{"index":1}]}"#).is_err()
        );
    }
}
