//! Celestia as Parallax's DA layer (design §5).
//!
//! - [`CelestiaClient`]: submits a channel's frames (`0x00 ‖ frames`) as one blob in the rollup's
//!   namespace (`blob.Submit`) and returns the [`CelestiaPointer`] the batcher posts to the batch
//!   inbox; fetches a pointed-to blob back (`blob.Get`) and verifies it: namespace, the
//!   pointer's commitment, and the commitment recomputed from the returned data.
//! - [`CelestiaSource`]: derivation's synchronous [`DaSource`](parallax_protocol::derive::DaSource)
//!   over the client, adding Celestia to another source (L1 blobs or none).
//! - [`server`]: a local Celestia-compatible JSON-RPC server (the devnet's and the tests' light
//!   node) built on celestia-rpc's server traits, with real share commitments.
//!
//! Trust: Celestia availability is assumed, as for every alt-DA rollup. What is *not* trusted is
//! the node answering: every blob is checked against the commitment that L1 carries.
#![forbid(unsafe_code)]

mod client;
pub mod server;
mod source;

pub use celestia_types::nmt::Namespace;
pub use client::{verify, CelestiaClient, CelestiaConfig, CelestiaError};
pub use parallax_protocol::frame::CelestiaPointer;
pub use source::{CelestiaSource, SourceError};

use parallax_protocol::RollupConfig;

/// The rollup's default namespace: version 0 with [`RollupConfig::celestia_namespace_id`].
pub fn rollup_namespace(config: &RollupConfig) -> Namespace {
    Namespace::const_v0(config.celestia_namespace_id())
}

/// Parses a version-0 namespace id given as hex (1..=10 bytes, optional `0x`; shorter ids are
/// zero-padded on the left, as celestia-node does), as operators give it (`--celestia-namespace`).
pub fn parse_namespace(hex: &str) -> Result<Namespace, CelestiaError> {
    let hex = hex.trim();
    let hex = hex.strip_prefix("0x").unwrap_or(hex);
    let bytes: Vec<u8> = alloy_primitives::hex::decode(hex)
        .map_err(|error| CelestiaError::Config(format!("namespace {hex}: {error}")))?;
    if bytes.is_empty() || bytes.len() > 10 {
        return Err(CelestiaError::Config(format!(
            "namespace id must be 1 to 10 bytes, got {}",
            bytes.len()
        )));
    }
    Namespace::new_v0(&bytes).map_err(|error| CelestiaError::Config(error.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_default_namespace_depends_on_the_chain_id_only() {
        let config = RollupConfig::default();
        let other = RollupConfig {
            l2_chain_id: config.l2_chain_id + 1,
            ..config.clone()
        };
        assert_eq!(rollup_namespace(&config), rollup_namespace(&config.clone()));
        assert_ne!(rollup_namespace(&config), rollup_namespace(&other));
        let id = config.celestia_namespace_id();
        assert_eq!(
            rollup_namespace(&config),
            Namespace::new_v0(&id).expect("v0")
        );
        assert_eq!(
            parse_namespace(&alloy_primitives::hex::encode(id)).expect("hex"),
            rollup_namespace(&config)
        );
        assert!(parse_namespace("").is_err());
        assert!(parse_namespace("0x0102030405060708090a0b").is_err());
        assert!(parse_namespace("zz").is_err());
    }
}
