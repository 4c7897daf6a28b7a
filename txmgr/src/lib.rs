//! The L1 transaction manager the batcher, proposer and challenger share (design §5): signs with a
//! local key, keeps nonces across restarts, bumps fees on stalls, replaces stuck transactions,
//! waits for a confirmation depth and re-broadcasts what an L1 reorg took out.
//!
//! # Journal
//! Every signed transaction (an *attempt*) is written to the chain store's journal **before** it
//! is broadcast, in the same database transaction as whatever the caller records about it (the
//! batcher's frames). So after a crash the manager knows every nonce it used and holds the raw
//! bytes of every transaction L1 may have received or may still need: it re-broadcasts them
//! instead of signing new ones, and never leaves a gap or signs a second payload at a nonce.
//!
//! An *intent* is one thing to get on chain, named by its first attempt's hash. It ends when
//! exactly one of its attempts is included `confirmations` blocks deep; then the journal marks it
//! finished (and the frames it carried point to the included transaction and block).
//!
//! # Each [`poll`](TxManager::poll)
//! For every open intent, newest attempt first, the manager looks for a receipt:
//! - included and `confirmations` deep (and the block still canonical): finished;
//! - included before but no receipt now: an L1 reorg took it out; the attempt is re-broadcast
//!   (it is still valid: same nonce, nothing else used it);
//! - not included, and L1's nonce moved past the attempt's: something else used the nonce (the
//!   key is shared by mistake); the payload is re-signed at a fresh nonce;
//! - not included for `resubmit_after`: re-signed with fees bumped by at least
//!   `fee_bump_percent` (blob transactions: `blob_fee_bump_percent` on every fee, as geth's blob
//!   pool requires), never below what the current L1 prices ask for, and broadcast as a
//!   replacement. Every earlier attempt stays watched: any of them may still be mined.
//!
//! Reorgs deeper than the confirmation depth are not followed: choose the depth accordingly
//! (finalization depth for the safest setting).
#![forbid(unsafe_code)]

mod error;
mod fees;

pub use error::TxError;
pub use fees::L1Fees;

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use alloy::{
    consensus::{
        SignableTransaction, TxEip1559, TxEip4844, TxEip4844Variant, TxEip4844WithSidecar,
        TxEnvelope,
    },
    eips::{
        eip2718::{Decodable2718, Encodable2718},
        eip4844::BlobTransactionSidecar,
        eip7594::BlobTransactionSidecarVariant,
        BlockNumberOrTag,
    },
    network::TransactionBuilder,
    primitives::{Address, Bytes, TxKind, B256, U256},
    providers::{DynProvider, Provider},
    rpc::types::{TransactionReceipt, TransactionRequest},
    signers::{local::PrivateKeySigner, SignerSync},
};
use parallax_state::store::{BlockRef, ChainStore, L1Transaction, L1TxStatus, PostedFrame};
use tokio::sync::Mutex;

/// How the manager prices, bumps and confirms.
#[derive(Clone, Debug)]
pub struct TxManagerConfig {
    /// Recorded with every journaled transaction (`batcher`, `proposer`, …).
    pub purpose: String,
    /// L1 chain id the key signs for; `None` takes the node's (checked once at start either way).
    pub chain_id: Option<u64>,
    /// Blocks an inclusion must have (the including block counts as one) to be final.
    pub confirmations: u64,
    /// Time without inclusion after which a transaction is replaced with higher fees.
    pub resubmit_after: Duration,
    /// Minimum fee increase of a replacement, in percent (geth and anvil require 10).
    pub fee_bump_percent: u128,
    /// Minimum increase of every fee of a blob transaction's replacement, in percent (geth's
    /// blob pool requires 100).
    pub blob_fee_bump_percent: u128,
    /// Lowest priority fee offered, whatever the node suggests.
    pub min_priority_fee: u128,
    /// Highest fee per gas the manager ever signs: a safety cap against fee spikes and bugs.
    pub max_fee_per_gas: u128,
    /// Highest fee per blob gas the manager ever signs.
    pub max_fee_per_blob_gas: u128,
    /// Added to the node's gas estimate, in percent (state may change before inclusion).
    pub gas_limit_margin_percent: u64,
}

impl Default for TxManagerConfig {
    fn default() -> Self {
        Self {
            purpose: "batcher".into(),
            chain_id: None,
            confirmations: 4,
            resubmit_after: Duration::from_secs(48),
            fee_bump_percent: 10,
            blob_fee_bump_percent: 100,
            min_priority_fee: 1_000_000_000,
            max_fee_per_gas: 2_000_000_000_000,
            max_fee_per_blob_gas: 2_000_000_000_000,
            gas_limit_margin_percent: 20,
        }
    }
}

/// A transaction to get on L1; the manager chooses nonce and fees.
#[derive(Clone, Debug, Default)]
pub struct TxCandidate {
    /// Recipient.
    pub to: Address,
    /// Calldata.
    pub data: Bytes,
    /// Wei sent along (the proposer's bond).
    pub value: U256,
    /// Gas limit; `None` asks the node for an estimate (plus the configured margin).
    pub gas_limit: Option<u64>,
    /// Blobs with their KZG commitments and proofs: makes it an EIP-4844 transaction.
    pub sidecar: Option<BlobTransactionSidecar>,
}

/// An intent that reached the confirmation depth.
#[derive(Clone, Debug)]
pub struct Confirmation {
    /// The intent (its first attempt's hash).
    pub intent: B256,
    /// The attempt L1 included.
    pub hash: B256,
    /// The including block.
    pub block: BlockRef,
    /// Its receipt (status, gas, logs).
    pub receipt: TransactionReceipt,
}

impl Confirmation {
    /// Whether the transaction succeeded (a calldata or blob post always does; a contract call
    /// may revert).
    pub fn success(&self) -> bool {
        self.receipt.status()
    }

    /// Wei paid: execution gas plus blob gas.
    pub fn fee_wei(&self) -> u128 {
        let execution = u128::from(self.receipt.gas_used) * self.receipt.effective_gas_price;
        let blobs = u128::from(self.receipt.blob_gas_used.unwrap_or(0))
            * self.receipt.blob_gas_price.unwrap_or(0);
        execution.saturating_add(blobs)
    }
}

/// What a [`poll`](TxManager::poll) saw happen.
#[derive(Clone, Debug)]
pub enum TxEvent {
    /// An intent is final.
    Confirmed(Box<Confirmation>),
    /// A stalled attempt was replaced by one with higher fees.
    Bumped {
        /// The intent.
        intent: B256,
        /// The attempt it replaces.
        replaced: B256,
        /// The new attempt.
        by: B256,
    },
    /// An inclusion disappeared in an L1 reorg; the transaction was broadcast again.
    Reorged {
        /// The intent.
        intent: B256,
        /// The attempt that had been included.
        hash: B256,
        /// The block that no longer holds it.
        block: BlockRef,
    },
    /// Something else used the intent's nonce; its payload was re-signed at `nonce`.
    Renonced {
        /// The intent.
        intent: B256,
        /// The fresh nonce.
        nonce: u64,
    },
}

#[derive(Clone, Debug)]
struct Attempt {
    hash: B256,
    nonce: u64,
    envelope: TxEnvelope,
    sent_at_ms: u64,
}

#[derive(Clone, Debug)]
struct Intent {
    id: B256,
    purpose: String,
    /// Oldest first.
    attempts: Vec<Attempt>,
    /// The inclusion seen at the last poll.
    included: Option<(B256, BlockRef)>,
    /// Whether the newest attempt reached L1 since this process started.
    broadcast: bool,
}

impl Intent {
    fn latest(&self) -> &Attempt {
        // An intent always holds its first attempt.
        &self.attempts[self.attempts.len() - 1]
    }
}

#[derive(Debug)]
struct State {
    next_nonce: u64,
    /// Open intents, by the nonce of their newest attempt.
    intents: Vec<Intent>,
}

/// Sends L1 transactions for one key; see the module docs. Cheap to share behind an `Arc`.
#[derive(Debug)]
pub struct TxManager<S> {
    store: S,
    provider: DynProvider,
    signer: PrivateKeySigner,
    chain_id: u64,
    config: TxManagerConfig,
    state: Mutex<State>,
}

/// How a node answered a broadcast.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Broadcast {
    Accepted,
    /// The node has it already: fine.
    Known,
    /// The nonce is used: included (ours, seen next poll) or taken by something else.
    NonceTooLow,
    /// A replacement with too small a bump, or fees under the node's floor: bump again later.
    Underpriced,
    /// Anything else (node down, insufficient funds): retried next poll.
    Failed,
}

impl Broadcast {
    /// Whether sending the same bytes again is pointless: the node has them, or would refuse
    /// them again (underpriced: the resubmission timer bumps the fees; nonce too low: the next
    /// poll finds the receipt or re-sends at a new nonce). Only other failures are retried as is.
    fn settled(self) -> bool {
        !matches!(self, Self::Failed)
    }
}

fn now_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |elapsed| {
            u64::try_from(elapsed.as_millis()).unwrap_or(u64::MAX)
        })
}

/// Fees one attempt offers.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Price {
    max_fee: u128,
    tip: u128,
    blob_fee: Option<u128>,
}

fn price_of(envelope: &TxEnvelope) -> Price {
    match envelope {
        TxEnvelope::Eip4844(signed) => {
            let tx = signed.tx().tx();
            Price {
                max_fee: tx.max_fee_per_gas,
                tip: tx.max_priority_fee_per_gas,
                blob_fee: Some(tx.max_fee_per_blob_gas),
            }
        }
        TxEnvelope::Eip1559(signed) => Price {
            max_fee: signed.tx().max_fee_per_gas,
            tip: signed.tx().max_priority_fee_per_gas,
            blob_fee: None,
        },
        other => Price {
            max_fee: alloy::consensus::Transaction::max_fee_per_gas(other),
            tip: alloy::consensus::Transaction::max_priority_fee_per_gas(other).unwrap_or(0),
            blob_fee: alloy::consensus::Transaction::max_fee_per_blob_gas(other),
        },
    }
}

/// `value` raised by `percent`, rounded up, and by at least one wei.
fn bump(value: u128, percent: u128) -> u128 {
    value.saturating_add((value.saturating_mul(percent)).div_ceil(100).max(1))
}

/// A transaction before signing; what a fee bump or re-nonce changes.
#[derive(Clone, Debug)]
enum Unsigned {
    Eip1559(TxEip1559),
    Eip4844(TxEip4844WithSidecar<BlobTransactionSidecarVariant>),
}

impl Unsigned {
    fn from_envelope(envelope: &TxEnvelope) -> Result<Self, TxError> {
        match envelope {
            TxEnvelope::Eip1559(signed) => Ok(Self::Eip1559(signed.tx().clone())),
            TxEnvelope::Eip4844(signed) => match signed.tx() {
                TxEip4844Variant::TxEip4844WithSidecar(tx) => Ok(Self::Eip4844(tx.clone())),
                TxEip4844Variant::TxEip4844(_) => {
                    Err(TxError::UnsupportedJournalType(*envelope.tx_hash()))
                }
            },
            _ => Err(TxError::UnsupportedJournalType(*envelope.tx_hash())),
        }
    }

    fn set(&mut self, nonce: u64, price: Price) {
        match self {
            Self::Eip1559(tx) => {
                tx.nonce = nonce;
                tx.max_fee_per_gas = price.max_fee;
                tx.max_priority_fee_per_gas = price.tip;
            }
            Self::Eip4844(tx) => {
                tx.tx.nonce = nonce;
                tx.tx.max_fee_per_gas = price.max_fee;
                tx.tx.max_priority_fee_per_gas = price.tip;
                if let Some(blob_fee) = price.blob_fee {
                    tx.tx.max_fee_per_blob_gas = blob_fee;
                }
            }
        }
    }

    fn is_blob(&self) -> bool {
        matches!(self, Self::Eip4844(_))
    }
}

impl<S: ChainStore> TxManager<S> {
    /// A manager for `signer` on the L1 behind `provider`: checks the chain id, loads the open
    /// intents from the journal and takes the next nonce as the larger of L1's pending nonce and
    /// the journal's highest plus one.
    pub async fn new(
        store: S,
        provider: DynProvider,
        signer: PrivateKeySigner,
        config: TxManagerConfig,
    ) -> Result<Self, TxError> {
        let actual = provider.get_chain_id().await?;
        if let Some(expected) = config.chain_id {
            if expected != actual {
                return Err(TxError::ChainId { expected, actual });
            }
        }
        let address = signer.address();
        let pending_nonce = provider.get_transaction_count(address).pending().await?;
        let journaled = store.max_l1_nonce(address).await?;
        let next_nonce = journaled.map_or(pending_nonce, |nonce| pending_nonce.max(nonce + 1));
        let mut intents: Vec<Intent> = Vec::new();
        for row in store.open_l1_transactions(address).await? {
            let envelope = TxEnvelope::decode_2718(&mut row.raw.as_ref()).map_err(|source| {
                TxError::CorruptJournal {
                    hash: row.hash,
                    source,
                }
            })?;
            let attempt = Attempt {
                hash: row.hash,
                nonce: row.nonce,
                envelope,
                sent_at_ms: row.sent_at_ms,
            };
            match intents.iter_mut().find(|intent| intent.id == row.intent) {
                Some(intent) => intent.attempts.push(attempt),
                None => intents.push(Intent {
                    id: row.intent,
                    purpose: row.purpose,
                    attempts: vec![attempt],
                    included: None,
                    broadcast: false,
                }),
            }
        }
        for intent in &mut intents {
            intent.attempts.sort_by_key(|attempt| attempt.sent_at_ms);
        }
        intents.sort_by_key(|intent| intent.latest().nonce);
        tracing::info!(
            %address,
            chain_id = actual,
            next_nonce,
            open = intents.len(),
            purpose = %config.purpose,
            "L1 tx manager ready"
        );
        Ok(Self {
            store,
            provider,
            signer,
            chain_id: actual,
            config,
            state: Mutex::new(State {
                next_nonce,
                intents,
            }),
        })
    }

    /// The signing address.
    pub fn address(&self) -> Address {
        self.signer.address()
    }

    /// The L1 chain id.
    pub fn chain_id(&self) -> u64 {
        self.chain_id
    }

    /// The configuration in force.
    pub fn config(&self) -> &TxManagerConfig {
        &self.config
    }

    /// The L1 provider (for callers that read contracts).
    pub fn provider(&self) -> &DynProvider {
        &self.provider
    }

    /// Intents not yet confirmed (their first attempts' hashes), oldest nonce first.
    pub async fn open_intents(&self) -> Vec<B256> {
        self.state
            .lock()
            .await
            .intents
            .iter()
            .map(|intent| intent.id)
            .collect()
    }

    /// The nonce the next new intent gets.
    pub async fn next_nonce(&self) -> u64 {
        self.state.lock().await.next_nonce
    }

    /// Current L1 prices: the latest block's base fee, the node's suggested tip and the blob
    /// base fee (the minimum, 1 wei, if the node has none: pre-Cancun).
    pub async fn fees(&self) -> Result<L1Fees, TxError> {
        let block = self
            .provider
            .get_block_by_number(BlockNumberOrTag::Latest)
            .await?
            .ok_or(TxError::NoBaseFee)?;
        let base_fee = block
            .header
            .base_fee_per_gas
            .map(u128::from)
            .ok_or(TxError::NoBaseFee)?;
        let priority_fee = self.provider.get_max_priority_fee_per_gas().await?;
        let blob_base_fee = match self.provider.get_blob_base_fee().await {
            Ok(fee) => fee.max(1),
            Err(error) => {
                tracing::debug!(%error, "no blob base fee from L1; assuming the minimum");
                1
            }
        };
        Ok(L1Fees {
            base_fee,
            priority_fee,
            blob_base_fee,
        })
    }

    fn initial_price(&self, fees: &L1Fees, blob: bool) -> Price {
        let tip = fees.priority_fee.max(self.config.min_priority_fee);
        let max_fee = fees
            .base_fee
            .saturating_mul(2)
            .saturating_add(tip)
            .min(self.config.max_fee_per_gas)
            .max(tip.min(self.config.max_fee_per_gas));
        Price {
            max_fee,
            tip: tip.min(max_fee),
            blob_fee: blob.then(|| {
                fees.blob_base_fee
                    .saturating_mul(2)
                    .max(1)
                    .min(self.config.max_fee_per_blob_gas)
            }),
        }
    }

    /// Fees of a replacement: every fee up by the bump percentage, and at least what the
    /// current prices ask. `None` when that would pass a configured cap (the node would refuse a
    /// smaller bump, so the attempt keeps waiting instead).
    fn bumped_price(&self, old: Price, fees: &L1Fees) -> Option<Price> {
        let percent = if old.blob_fee.is_some() {
            self.config.blob_fee_bump_percent
        } else {
            self.config.fee_bump_percent
        };
        let current = self.initial_price(fees, old.blob_fee.is_some());
        let tip = bump(old.tip, percent).max(current.tip);
        let max_fee = bump(old.max_fee, percent)
            .max(fees.base_fee.saturating_mul(2).saturating_add(tip))
            .max(tip);
        let blob_fee = old
            .blob_fee
            .map(|fee| bump(fee, percent).max(current.blob_fee.unwrap_or(1)));
        if max_fee > self.config.max_fee_per_gas
            || blob_fee.is_some_and(|fee| fee > self.config.max_fee_per_blob_gas)
        {
            return None;
        }
        Some(Price {
            max_fee,
            tip,
            blob_fee,
        })
    }

    fn sign(&self, unsigned: Unsigned) -> Result<TxEnvelope, TxError> {
        Ok(match unsigned {
            Unsigned::Eip1559(tx) => {
                let signature = self.signer.sign_hash_sync(&tx.signature_hash())?;
                TxEnvelope::Eip1559(tx.into_signed(signature))
            }
            Unsigned::Eip4844(tx) => {
                let signature = self.signer.sign_hash_sync(&tx.signature_hash())?;
                let signed = tx.into_signed(signature);
                TxEnvelope::Eip4844(signed.into())
            }
        })
    }

    async fn gas_limit(&self, candidate: &TxCandidate) -> Result<u64, TxError> {
        if let Some(limit) = candidate.gas_limit {
            return Ok(limit);
        }
        let request = TransactionRequest::default()
            .with_from(self.address())
            .with_to(candidate.to)
            .with_input(candidate.data.clone())
            .with_value(candidate.value);
        let estimate = self.provider.estimate_gas(request).await?;
        Ok(estimate
            .saturating_add(estimate.saturating_mul(self.config.gas_limit_margin_percent) / 100))
    }

    fn unsigned(
        &self,
        candidate: TxCandidate,
        nonce: u64,
        gas_limit: u64,
        price: Price,
    ) -> Unsigned {
        match candidate.sidecar {
            None => Unsigned::Eip1559(TxEip1559 {
                chain_id: self.chain_id,
                nonce,
                gas_limit,
                max_fee_per_gas: price.max_fee,
                max_priority_fee_per_gas: price.tip,
                to: TxKind::Call(candidate.to),
                value: candidate.value,
                access_list: Default::default(),
                input: candidate.data,
            }),
            Some(sidecar) => {
                let tx = TxEip4844 {
                    chain_id: self.chain_id,
                    nonce,
                    gas_limit,
                    max_fee_per_gas: price.max_fee,
                    max_priority_fee_per_gas: price.tip,
                    to: candidate.to,
                    value: candidate.value,
                    access_list: Default::default(),
                    blob_versioned_hashes: sidecar.versioned_hashes().collect(),
                    max_fee_per_blob_gas: price.blob_fee.unwrap_or(1),
                    input: candidate.data,
                };
                Unsigned::Eip4844(TxEip4844WithSidecar::from_tx_and_sidecar(
                    tx,
                    BlobTransactionSidecarVariant::Eip4844(sidecar),
                ))
            }
        }
    }

    fn journal_row(&self, intent: B256, purpose: &str, attempt: &Attempt) -> L1Transaction {
        L1Transaction {
            hash: attempt.hash,
            intent,
            sender: self.address(),
            nonce: attempt.nonce,
            raw: attempt.envelope.encoded_2718().into(),
            purpose: purpose.to_string(),
            status: L1TxStatus::Pending,
            l1_block: None,
            sent_at_ms: attempt.sent_at_ms,
        }
    }

    /// Sends `candidates` at consecutive nonces. They are signed, then journaled together with
    /// the frames `frames` returns for their intent ids (one database transaction), and only
    /// then broadcast. Returns the intent ids, in order. On an error nothing was journaled and no
    /// nonce is used.
    pub async fn send_with_frames(
        &self,
        candidates: Vec<TxCandidate>,
        frames: impl FnOnce(&[B256]) -> Vec<PostedFrame>,
    ) -> Result<Vec<B256>, TxError> {
        if candidates.is_empty() {
            return Ok(Vec::new());
        }
        let fees = self.fees().await?;
        let mut state = self.state.lock().await;
        let mut intents = Vec::with_capacity(candidates.len());
        for (offset, candidate) in candidates.into_iter().enumerate() {
            let nonce = state.next_nonce + offset as u64;
            let gas_limit = self.gas_limit(&candidate).await?;
            let price = self.initial_price(&fees, candidate.sidecar.is_some());
            let unsigned = self.unsigned(candidate, nonce, gas_limit, price);
            let envelope = self.sign(unsigned)?;
            let attempt = Attempt {
                hash: *envelope.tx_hash(),
                nonce,
                envelope,
                sent_at_ms: now_ms(),
            };
            intents.push(Intent {
                id: attempt.hash,
                purpose: self.config.purpose.clone(),
                attempts: vec![attempt],
                included: None,
                broadcast: false,
            });
        }
        let ids: Vec<B256> = intents.iter().map(|intent| intent.id).collect();
        let rows: Vec<L1Transaction> = intents
            .iter()
            .map(|intent| self.journal_row(intent.id, &intent.purpose, intent.latest()))
            .collect();
        self.store.put_l1_transactions(&rows, &frames(&ids)).await?;
        state.next_nonce += intents.len() as u64;
        for mut intent in intents {
            let attempt = intent.latest();
            let outcome = self.broadcast(&attempt.envelope).await;
            tracing::info!(
                intent = %intent.id,
                nonce = attempt.nonce,
                purpose = %intent.purpose,
                ?outcome,
                "L1 transaction sent"
            );
            intent.broadcast = outcome.settled();
            state.intents.push(intent);
        }
        Ok(ids)
    }

    /// Sends `candidates` (nothing journaled with them but the transactions); see
    /// [`send_with_frames`](Self::send_with_frames).
    pub async fn send(&self, candidates: Vec<TxCandidate>) -> Result<Vec<B256>, TxError> {
        self.send_with_frames(candidates, |_| Vec::new()).await
    }

    async fn broadcast(&self, envelope: &TxEnvelope) -> Broadcast {
        let raw = envelope.encoded_2718();
        match self.provider.send_raw_transaction(&raw).await {
            Ok(_) => Broadcast::Accepted,
            Err(error) => {
                let message = error
                    .as_error_resp()
                    .map(|payload| payload.message.to_lowercase())
                    .unwrap_or_default();
                let outcome = if message.contains("already known")
                    || message.contains("already imported")
                    || message.contains("known transaction")
                {
                    Broadcast::Known
                } else if message.contains("nonce too low") {
                    Broadcast::NonceTooLow
                } else if message.contains("underpriced") {
                    Broadcast::Underpriced
                } else {
                    Broadcast::Failed
                };
                if outcome != Broadcast::Known {
                    tracing::warn!(hash = %envelope.tx_hash(), %error, ?outcome, "L1 broadcast refused");
                }
                outcome
            }
        }
    }

    /// Finds a receipt of any attempt of `intent`, newest attempt first.
    async fn inclusion(&self, intent: &Intent) -> Result<Option<TransactionReceipt>, TxError> {
        for attempt in intent.attempts.iter().rev() {
            if let Some(receipt) = self.provider.get_transaction_receipt(attempt.hash).await? {
                if receipt.block_number.is_some() && receipt.block_hash.is_some() {
                    return Ok(Some(receipt));
                }
            }
        }
        Ok(None)
    }

    /// Signs, journals and broadcasts a new attempt of `intent`.
    async fn replace(
        &self,
        intent: &mut Intent,
        nonce: u64,
        price: Price,
    ) -> Result<(B256, Broadcast), TxError> {
        let mut unsigned = Unsigned::from_envelope(&intent.latest().envelope)?;
        let price = Price {
            blob_fee: price.blob_fee.filter(|_| unsigned.is_blob()),
            ..price
        };
        unsigned.set(nonce, price);
        let envelope = self.sign(unsigned)?;
        let attempt = Attempt {
            hash: *envelope.tx_hash(),
            nonce,
            envelope,
            sent_at_ms: now_ms(),
        };
        self.store
            .put_l1_transactions(
                &[self.journal_row(intent.id, &intent.purpose, &attempt)],
                &[],
            )
            .await?;
        let hash = attempt.hash;
        intent.attempts.push(attempt);
        let outcome = self.broadcast(&intent.latest().envelope).await;
        intent.broadcast = outcome.settled();
        Ok((hash, outcome))
    }

    /// One round of watching every open intent (module docs); returns what happened.
    pub async fn poll(&self) -> Result<Vec<TxEvent>, TxError> {
        let mut state = self.state.lock().await;
        if state.intents.is_empty() {
            return Ok(Vec::new());
        }
        let mut events = Vec::new();
        let head = self.provider.get_block_number().await?;
        // Read before the receipts: an attempt mined after this read shows up as a receipt.
        let l1_nonce = self
            .provider
            .get_transaction_count(self.address())
            .latest()
            .await?;
        let mut fees: Option<L1Fees> = None;
        let mut index = 0;
        while index < state.intents.len() {
            let mut intent = state.intents[index].clone();
            let receipt = self.inclusion(&intent).await?;
            if let Some(receipt) = receipt {
                let (Some(number), Some(block_hash)) = (receipt.block_number, receipt.block_hash)
                else {
                    index += 1;
                    continue;
                };
                let block = BlockRef {
                    number,
                    hash: block_hash,
                };
                let hash = receipt.transaction_hash;
                if intent.included.is_some_and(|(_, seen)| seen != block) {
                    tracing::warn!(intent = %intent.id, %hash, block = number, "L1 transaction re-included after a reorg");
                }
                intent.included = Some((hash, block));
                let depth = head.saturating_add(1).saturating_sub(number);
                if depth >= self.config.confirmations && self.is_canonical(block).await? {
                    self.store.finish_l1_intent(intent.id, hash, block).await?;
                    tracing::info!(
                        intent = %intent.id,
                        %hash,
                        block = number,
                        success = receipt.status(),
                        gas = receipt.gas_used,
                        purpose = %intent.purpose,
                        "L1 transaction confirmed"
                    );
                    events.push(TxEvent::Confirmed(Box::new(Confirmation {
                        intent: intent.id,
                        hash,
                        block,
                        receipt,
                    })));
                    state.intents.remove(index);
                    continue;
                }
                state.intents[index] = intent;
                index += 1;
                continue;
            }
            if let Some((hash, block)) = intent.included.take() {
                tracing::warn!(intent = %intent.id, %hash, block = block.number, "L1 reorg took the transaction out; broadcasting it again");
                events.push(TxEvent::Reorged {
                    intent: intent.id,
                    hash,
                    block,
                });
                intent.broadcast = false;
            }
            let latest = intent.latest().clone();
            if l1_nonce > latest.nonce {
                // None of our attempts is included, yet the nonce is used: sign the payload again
                // at a fresh nonce.
                let current = match fees {
                    Some(fees) => fees,
                    None => *fees.insert(self.fees().await?),
                };
                let nonce = state.next_nonce.max(l1_nonce);
                let price =
                    self.initial_price(&current, price_of(&latest.envelope).blob_fee.is_some());
                let (hash, outcome) = self.replace(&mut intent, nonce, price).await?;
                state.next_nonce = nonce + 1;
                tracing::warn!(intent = %intent.id, old_nonce = latest.nonce, nonce, %hash, ?outcome, "nonce used by another transaction; re-sent at a new nonce");
                events.push(TxEvent::Renonced {
                    intent: intent.id,
                    nonce,
                });
            } else if !intent.broadcast {
                let outcome = self.broadcast(&latest.envelope).await;
                intent.broadcast = outcome.settled();
                tracing::info!(intent = %intent.id, hash = %latest.hash, ?outcome, "L1 transaction re-broadcast");
            } else if now_ms().saturating_sub(latest.sent_at_ms)
                >= u64::try_from(self.config.resubmit_after.as_millis()).unwrap_or(u64::MAX)
            {
                let current = match fees {
                    Some(fees) => fees,
                    None => *fees.insert(self.fees().await?),
                };
                let old = price_of(&latest.envelope);
                match self.bumped_price(old, &current) {
                    Some(price) => {
                        let (hash, outcome) =
                            self.replace(&mut intent, latest.nonce, price).await?;
                        tracing::info!(
                            intent = %intent.id,
                            replaced = %latest.hash,
                            by = %hash,
                            nonce = latest.nonce,
                            max_fee = price.max_fee,
                            tip = price.tip,
                            blob_fee = ?price.blob_fee,
                            ?outcome,
                            "stalled L1 transaction replaced with higher fees"
                        );
                        events.push(TxEvent::Bumped {
                            intent: intent.id,
                            replaced: latest.hash,
                            by: hash,
                        });
                    }
                    None => {
                        tracing::warn!(intent = %intent.id, hash = %latest.hash, "L1 transaction stalled but the fee caps allow no further bump");
                    }
                }
            }
            state.intents[index] = intent;
            index += 1;
        }
        state.intents.sort_by_key(|intent| intent.latest().nonce);
        Ok(events)
    }

    async fn is_canonical(&self, block: BlockRef) -> Result<bool, TxError> {
        Ok(self
            .provider
            .get_block_by_number(BlockNumberOrTag::Number(block.number))
            .await?
            .is_some_and(|canonical| canonical.header.hash == block.hash))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bumps_round_up_and_move_at_least_one_wei() {
        assert_eq!(bump(100, 10), 110);
        assert_eq!(bump(101, 10), 112);
        assert_eq!(bump(0, 10), 1);
        assert_eq!(bump(7, 100), 14);
        assert_eq!(bump(u128::MAX, 10), u128::MAX);
    }
}
