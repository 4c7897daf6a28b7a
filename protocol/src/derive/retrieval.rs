//! Inbox retrieval: the batcher's payloads in the current L1 block, from calldata, blobs or
//! Celestia.
//!
//! Only transactions to the batch inbox from the batcher in force at that L1 block (SystemConfig)
//! count; anything else is ignored, as is
//! calldata with an unknown version byte and a blob that is not a valid packing. What cannot be
//! fetched yet (a blob, a Celestia blob) stops the stage *before* it consumes the block, so a
//! retry sees the block again from its first transaction.

use std::collections::VecDeque;
use std::sync::Arc;

use alloy_primitives::{Address, Bytes};

use crate::blob::decode_blob;
use crate::frame::CalldataPayload;

use super::error::{DaRequest, PipelineError};
use super::traits::{DaSource, DataProvider, InboxData, InboxPayload, L1Epoch, L1Source, Stage};
use super::DerivationCounters;

/// Pulls inbox transactions of each L1 block and resolves them to frame payloads.
#[derive(Debug)]
pub struct InboxRetrieval<P, L, D> {
    prev: P,
    l1: Arc<L>,
    da: Arc<D>,
    inbox: Address,
    current: Option<Arc<L1Epoch>>,
    fetched: bool,
    queue: VecDeque<InboxPayload>,
    ignored_transactions: u64,
    malformed_payloads: u64,
}

impl<P: Stage, L: L1Source, D: DaSource> InboxRetrieval<P, L, D> {
    /// Reads transactions to `inbox` from the batcher in force at each L1 block.
    pub fn new(prev: P, l1: Arc<L>, da: Arc<D>, inbox: Address) -> Self {
        Self {
            prev,
            l1,
            da,
            inbox,
            current: None,
            fetched: false,
            queue: VecDeque::new(),
            ignored_transactions: 0,
            malformed_payloads: 0,
        }
    }

    /// The stage below.
    pub fn prev(&self) -> &P {
        &self.prev
    }

    fn fetch(&mut self, epoch: &L1Epoch) -> Result<(), PipelineError> {
        let info = &epoch.info;
        let batcher = epoch.system_config.batcher;
        let txs = self
            .l1
            .inbox_transactions(info, self.inbox)
            .map_err(|e| PipelineError::L1Source(Box::new(e)))?;
        let (mut ignored, mut malformed) = (0, 0);
        let mut payloads = Vec::new();
        for tx in txs {
            if tx.to != self.inbox || tx.from != batcher {
                ignored += 1;
                continue;
            }
            match tx.data {
                InboxData::Calldata(calldata) => match CalldataPayload::parse(&calldata) {
                    Ok(CalldataPayload::Frames(data)) => payloads.push(data),
                    Ok(CalldataPayload::Celestia(pointer)) => {
                        let request = DaRequest::Celestia(pointer);
                        let data = self
                            .da
                            .celestia(&pointer)
                            .map_err(|e| PipelineError::DaSource {
                                request,
                                source: Box::new(e),
                            })?
                            .ok_or(PipelineError::DaNotReady(request))?;
                        payloads.push(data);
                    }
                    Err(_) => malformed += 1,
                },
                InboxData::Blobs(hashes) => {
                    for versioned_hash in hashes {
                        let request = DaRequest::Blob {
                            l1_block: info.id(),
                            versioned_hash,
                        };
                        let blob = self
                            .da
                            .blob(info, versioned_hash)
                            .map_err(|e| PipelineError::DaSource {
                                request,
                                source: Box::new(e),
                            })?
                            .ok_or(PipelineError::DaNotReady(request))?;
                        match decode_blob(&blob) {
                            Ok(data) => payloads.push(Bytes::from(data)),
                            Err(_) => malformed += 1,
                        }
                    }
                }
            }
        }
        self.ignored_transactions += ignored;
        self.malformed_payloads += malformed;
        self.queue
            .extend(payloads.into_iter().map(|data| InboxPayload {
                data,
                l1_block: info.id(),
            }));
        Ok(())
    }
}

impl<P: Stage, L: L1Source, D: DaSource> Stage for InboxRetrieval<P, L, D> {
    fn advance_origin(&mut self) -> Result<Arc<L1Epoch>, PipelineError> {
        let epoch = self.prev.advance_origin()?;
        self.current = Some(epoch.clone());
        self.fetched = false;
        self.queue.clear();
        Ok(epoch)
    }

    fn counters(&self, out: &mut DerivationCounters) {
        out.ignored_transactions += self.ignored_transactions;
        out.malformed_payloads += self.malformed_payloads;
        self.prev.counters(out);
    }
}

impl<P: Stage, L: L1Source, D: DaSource> DataProvider for InboxRetrieval<P, L, D> {
    fn next_data(&mut self) -> Result<Option<InboxPayload>, PipelineError> {
        if !self.fetched {
            if let Some(epoch) = self.current.clone() {
                self.fetch(&epoch)?;
                self.fetched = true;
            }
        }
        Ok(self.queue.pop_front())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::blob::encode_blob;
    use crate::config::RollupConfig;
    use crate::derive::error::Severity;
    use crate::derive::test_utils::{MemoryDa, MemoryL1};
    use crate::derive::traversal::L1Traversal;
    use crate::frame::CelestiaPointer;
    use alloy_primitives::B256;

    const BATCHER: Address = Address::repeat_byte(0xba);
    const INBOX: Address = Address::repeat_byte(0x1b);

    fn stage(
        l1: &Arc<MemoryL1>,
        da: &Arc<MemoryDa>,
    ) -> InboxRetrieval<L1Traversal<MemoryL1>, MemoryL1, MemoryDa> {
        let config = RollupConfig {
            batcher_address: BATCHER,
            ..RollupConfig::default()
        };
        let traversal = L1Traversal::new(l1.clone(), &config, 1);
        InboxRetrieval::new(traversal, l1.clone(), da.clone(), INBOX)
    }

    fn drain(stage: &mut InboxRetrieval<L1Traversal<MemoryL1>, MemoryL1, MemoryDa>) -> Vec<Bytes> {
        let mut out = Vec::new();
        while let Some(payload) = stage.next_data().expect("data") {
            out.push(payload.data);
        }
        out
    }

    #[test]
    fn filters_by_sender_and_recipient_and_resolves_da() {
        let l1 = Arc::new(MemoryL1::new(100));
        let da = Arc::new(MemoryDa::default());
        l1.extend(1);
        let frames = Bytes::from_static(&[0, 1, 2]);
        l1.add_tx(1, BATCHER, INBOX, InboxData::Calldata(frames.clone()));
        l1.add_tx(1, Address::ZERO, INBOX, InboxData::Calldata(frames.clone()));
        l1.add_tx(
            1,
            BATCHER,
            Address::ZERO,
            InboxData::Calldata(frames.clone()),
        );
        l1.add_tx(
            1,
            BATCHER,
            INBOX,
            InboxData::Calldata(Bytes::from_static(&[9, 9])),
        );
        let blob_hash = da.add_blob(encode_blob(&[0, 7, 7]).expect("fits"));
        let garbage_blob = da.add_blob(vec![1; 131_072]);
        l1.add_tx(
            1,
            BATCHER,
            INBOX,
            InboxData::Blobs(vec![blob_hash, garbage_blob]),
        );
        let pointer = CelestiaPointer {
            height: 5,
            commitment: B256::repeat_byte(3),
        };
        da.add_celestia(pointer, vec![0, 4, 4]);
        l1.add_tx(
            1,
            BATCHER,
            INBOX,
            InboxData::Calldata(pointer.encode().into()),
        );

        let mut stage = stage(&l1, &da);
        assert_eq!(stage.next_data().expect("no block yet"), None);
        stage.advance_origin().expect("block 1");
        assert_eq!(
            drain(&mut stage),
            vec![
                frames,
                Bytes::from_static(&[0, 7, 7]),
                Bytes::from_static(&[0, 4, 4])
            ]
        );
        let mut counters = DerivationCounters::default();
        stage.counters(&mut counters);
        assert_eq!(counters.ignored_transactions, 2);
        assert_eq!(counters.malformed_payloads, 2);
    }

    #[test]
    fn missing_da_data_stalls_without_losing_anything() {
        let l1 = Arc::new(MemoryL1::new(100));
        let da = Arc::new(MemoryDa::default());
        l1.extend(1);
        let pointer = CelestiaPointer {
            height: 9,
            commitment: B256::repeat_byte(1),
        };
        l1.add_tx(
            1,
            BATCHER,
            INBOX,
            InboxData::Calldata(Bytes::from_static(&[0, 1])),
        );
        l1.add_tx(
            1,
            BATCHER,
            INBOX,
            InboxData::Calldata(pointer.encode().into()),
        );
        let mut stage = stage(&l1, &da);
        stage.advance_origin().expect("block 1");
        for _ in 0..2 {
            let error = stage.next_data().expect_err("celestia blob missing");
            assert!(
                matches!(error, PipelineError::DaNotReady(DaRequest::Celestia(p)) if p == pointer)
            );
            assert_eq!(error.severity(), Severity::Temporary);
        }
        da.add_celestia(pointer, vec![0, 2]);
        assert_eq!(
            drain(&mut stage),
            vec![Bytes::from_static(&[0, 1]), Bytes::from_static(&[0, 2])]
        );
    }
}
