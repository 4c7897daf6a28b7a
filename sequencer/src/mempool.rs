//! The transaction pool: validation on entry, per-sender nonce queues, replacement with a price
//! bump, limits with eviction of the cheapest, and block candidate selection.
//!
//! Errors carry the messages geth uses (`nonce too low`, `replacement transaction
//! underpriced`, ...) because wallets and libraries match on them.

use std::{
    cmp::Reverse,
    collections::{BTreeMap, BinaryHeap, HashMap, VecDeque},
    sync::Arc,
};

use alloy_consensus::{Transaction, TxEnvelope, Typed2718};
use alloy_primitives::{Address, Bytes, B256, B512, U256};

/// Pool limits and policy.
#[derive(Clone, Debug)]
pub struct PoolConfig {
    /// Chain id every transaction must be signed for.
    pub chain_id: u64,
    /// Largest gas limit one transaction may ask for.
    pub max_tx_gas: u64,
    /// Base fee floor of the chain: a fee cap below it can never be included.
    pub min_base_fee: u64,
    /// Transactions kept per sender (pending and queued).
    pub max_per_sender: usize,
    /// Transactions kept in total; beyond it the cheapest are evicted.
    pub max_total: usize,
    /// Minimum fee increase, in percent, for a replacement.
    pub price_bump_percent: u64,
}

impl Default for PoolConfig {
    fn default() -> Self {
        Self {
            chain_id: 901,
            max_tx_gas: 30_000_000,
            min_base_fee: 0,
            max_per_sender: 256,
            max_total: 50_000,
            price_bump_percent: 10,
        }
    }
}

/// Why a transaction was refused.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum PoolError {
    /// The same transaction is already pooled.
    #[error("already known")]
    AlreadyKnown,
    /// Its nonce was already used.
    #[error("nonce too low: next nonce {expected}, tx nonce {got}")]
    NonceTooLow {
        /// The account's nonce.
        expected: u64,
        /// The transaction's.
        got: u64,
    },
    /// A replacement that does not pay enough more.
    #[error("replacement transaction underpriced")]
    ReplacementUnderpriced,
    /// The sender cannot pay for gas and value.
    #[error("insufficient funds for gas * price + value: balance {balance}, tx cost {cost}")]
    InsufficientFunds {
        /// The sender's balance.
        balance: U256,
        /// gas limit × max fee + value.
        cost: U256,
    },
    /// The gas limit is below the transaction's intrinsic cost.
    #[error("intrinsic gas too low: have {have}, want {want}")]
    IntrinsicGasTooLow {
        /// The gas limit.
        have: u64,
        /// The intrinsic gas.
        want: u64,
    },
    /// The gas limit is above the per-transaction cap.
    #[error("exceeds block gas limit")]
    GasLimitExceeded,
    /// The fee cap is below the chain's base fee floor.
    #[error(
        "max fee per gas less than block base fee: maxFeePerGas {fee_cap}, baseFee {base_fee}"
    )]
    FeeCapTooLow {
        /// The fee cap.
        fee_cap: u128,
        /// The floor.
        base_fee: u64,
    },
    /// The tip is above the fee cap.
    #[error("max priority fee per gas higher than max fee per gas")]
    TipAboveFeeCap,
    /// Signed for another chain.
    #[error("invalid chain id for signer: have {have}, want {want}")]
    WrongChainId {
        /// The transaction's chain id.
        have: u64,
        /// This chain's.
        want: u64,
    },
    /// A legacy transaction without EIP-155 replay protection.
    #[error("only replay-protected (EIP-155) transactions allowed over RPC")]
    Unprotected,
    /// Blob or other unsupported transaction types.
    #[error("transaction type not supported")]
    TypeNotSupported,
    /// The per-sender limit is reached.
    #[error("txpool is full: sender has {0} pooled transactions")]
    SenderFull(usize),
    /// The pool is full of transactions that pay more.
    #[error("txpool is full")]
    PoolFull,
}

/// A validated transaction in the pool.
#[derive(Clone, Debug)]
pub struct PooledTx {
    /// Transaction hash.
    pub hash: B256,
    /// Recovered sender.
    pub sender: Address,
    /// The transaction.
    pub envelope: Arc<TxEnvelope>,
    /// Its EIP-2718 encoding.
    pub raw: Bytes,
    /// Arrival order, for ties.
    pub arrival: u64,
}

impl PooledTx {
    fn nonce(&self) -> u64 {
        self.envelope.nonce()
    }

    /// What the sender pays the sequencer per gas at `base_fee` (`None`: not includable).
    pub fn effective_tip(&self, base_fee: u64) -> Option<u128> {
        self.envelope.effective_tip_per_gas(base_fee)
    }
}

/// Gas a transaction costs before executing (Cancun rules): base, calldata, creation and
/// init-code words, access list.
pub fn intrinsic_gas(tx: &TxEnvelope) -> u64 {
    let data = tx.input();
    let zeros = data.iter().filter(|byte| **byte == 0).count() as u64;
    let mut gas = 21_000 + zeros * 4 + (data.len() as u64 - zeros) * 16;
    if tx.kind().is_create() {
        gas += 32_000 + 2 * (data.len() as u64).div_ceil(32);
    }
    if let Some(list) = tx.access_list() {
        gas += list
            .iter()
            .map(|item| 2_400 + 1_900 * item.storage_keys.len() as u64)
            .sum::<u64>();
    }
    gas
}

/// Per-sender queues and the hash index.
#[derive(Debug, Default)]
pub struct Mempool {
    config: PoolConfig,
    senders: HashMap<Address, BTreeMap<u64, PooledTx>>,
    by_hash: HashMap<B256, (Address, u64)>,
    arrivals: u64,
}

impl Mempool {
    /// An empty pool.
    pub fn new(config: PoolConfig) -> Self {
        Self {
            config,
            ..Self::default()
        }
    }

    /// Pooled transactions.
    pub fn len(&self) -> usize {
        self.by_hash.len()
    }

    /// Whether the pool is empty.
    pub fn is_empty(&self) -> bool {
        self.by_hash.is_empty()
    }

    /// A pooled transaction by hash.
    pub fn get(&self, hash: &B256) -> Option<&PooledTx> {
        let (sender, nonce) = self.by_hash.get(hash)?;
        self.senders.get(sender)?.get(nonce)
    }

    /// The nonce after the sender's pooled transactions that follow `state_nonce` without a gap
    /// (the `pending` transaction count).
    pub fn pending_nonce(&self, sender: &Address, state_nonce: u64) -> u64 {
        let mut next = state_nonce;
        if let Some(queue) = self.senders.get(sender) {
            for nonce in queue.range(state_nonce..).map(|(nonce, _)| *nonce) {
                if nonce != next {
                    break;
                }
                next += 1;
            }
        }
        next
    }

    /// Validates a transaction against the sender's current `state_nonce` and `balance` and
    /// pools it (replacing a same-nonce one that pays at least the bump less).
    pub fn insert(
        &mut self,
        tx: PooledTx,
        state_nonce: u64,
        balance: U256,
    ) -> Result<B256, PoolError> {
        let envelope = &tx.envelope;
        if self.by_hash.contains_key(&tx.hash) {
            return Err(PoolError::AlreadyKnown);
        }
        if !matches!(envelope.ty(), 0..=2) {
            return Err(PoolError::TypeNotSupported);
        }
        match envelope.chain_id() {
            None => return Err(PoolError::Unprotected),
            Some(chain_id) if chain_id != self.config.chain_id => {
                return Err(PoolError::WrongChainId {
                    have: chain_id,
                    want: self.config.chain_id,
                })
            }
            Some(_) => {}
        }
        if envelope.nonce() < state_nonce {
            return Err(PoolError::NonceTooLow {
                expected: state_nonce,
                got: envelope.nonce(),
            });
        }
        if envelope.gas_limit() > self.config.max_tx_gas {
            return Err(PoolError::GasLimitExceeded);
        }
        let want = intrinsic_gas(envelope);
        if envelope.gas_limit() < want {
            return Err(PoolError::IntrinsicGasTooLow {
                have: envelope.gas_limit(),
                want,
            });
        }
        let fee_cap = envelope.max_fee_per_gas();
        if envelope
            .max_priority_fee_per_gas()
            .is_some_and(|tip| tip > fee_cap)
        {
            return Err(PoolError::TipAboveFeeCap);
        }
        if fee_cap < u128::from(self.config.min_base_fee) {
            return Err(PoolError::FeeCapTooLow {
                fee_cap,
                base_fee: self.config.min_base_fee,
            });
        }
        let cost = U256::from(envelope.gas_limit()) * U256::from(fee_cap) + envelope.value();
        if cost > balance {
            return Err(PoolError::InsufficientFunds { balance, cost });
        }
        let queue_len = self.senders.get(&tx.sender).map_or(0, BTreeMap::len);
        let replaced = self
            .senders
            .get(&tx.sender)
            .and_then(|queue| queue.get(&envelope.nonce()))
            .cloned();
        if let Some(old) = &replaced {
            let bump =
                |value: u128| value + value * u128::from(self.config.price_bump_percent) / 100;
            let old_tip = old
                .envelope
                .max_priority_fee_per_gas()
                .unwrap_or(old.envelope.max_fee_per_gas());
            let new_tip = envelope.max_priority_fee_per_gas().unwrap_or(fee_cap);
            if fee_cap < bump(old.envelope.max_fee_per_gas()) || new_tip < bump(old_tip) {
                return Err(PoolError::ReplacementUnderpriced);
            }
        } else if queue_len >= self.config.max_per_sender {
            return Err(PoolError::SenderFull(queue_len));
        }
        if replaced.is_none() && self.len() >= self.config.max_total {
            self.evict_cheapest(fee_cap)?;
        }
        if let Some(old) = replaced {
            self.by_hash.remove(&old.hash);
        }
        self.arrivals += 1;
        let hash = tx.hash;
        let mut tx = tx;
        tx.arrival = self.arrivals;
        self.by_hash.insert(hash, (tx.sender, tx.nonce()));
        self.senders
            .entry(tx.sender)
            .or_default()
            .insert(tx.nonce(), tx);
        Ok(hash)
    }

    /// Makes room by dropping the highest-nonce transaction of the sender whose last
    /// transaction pays the least, if it pays less than `fee_cap`.
    fn evict_cheapest(&mut self, fee_cap: u128) -> Result<(), PoolError> {
        let victim = self
            .senders
            .iter()
            .filter_map(|(sender, queue)| {
                let (_, last) = queue.last_key_value()?;
                Some((last.envelope.max_fee_per_gas(), *sender))
            })
            .min();
        match victim {
            Some((cheapest, sender)) if cheapest < fee_cap => {
                if let Some(queue) = self.senders.get_mut(&sender) {
                    if let Some((_, dropped)) = queue.pop_last() {
                        self.by_hash.remove(&dropped.hash);
                    }
                    if queue.is_empty() {
                        self.senders.remove(&sender);
                    }
                }
                Ok(())
            }
            _ => Err(PoolError::PoolFull),
        }
    }

    /// Block candidates: for each sender its transactions from `state_nonce(sender)` without
    /// gaps, interleaved by effective tip at `base_fee` (then arrival), within `gas_limit`.
    pub fn select(
        &self,
        base_fee: u64,
        gas_limit: u64,
        state_nonce: impl Fn(&Address) -> u64,
    ) -> Vec<PooledTx> {
        // Each sender's executable run; the heap holds the best head of every run.
        let mut runs: HashMap<Address, VecDeque<&PooledTx>> = HashMap::new();
        let mut heap = BinaryHeap::new();
        for (sender, queue) in &self.senders {
            let mut next = state_nonce(sender);
            let mut run = VecDeque::new();
            for (nonce, tx) in queue.range(next..) {
                if *nonce != next {
                    break;
                }
                run.push_back(tx);
                next += 1;
            }
            if let Some(tip) = run.front().and_then(|head| head.effective_tip(base_fee)) {
                heap.push((tip, Reverse(run[0].arrival), *sender));
                runs.insert(*sender, run);
            }
        }
        let mut selected = Vec::new();
        let mut gas_left = gas_limit;
        while let Some((_, _, sender)) = heap.pop() {
            let Some(run) = runs.get_mut(&sender) else {
                continue;
            };
            let Some(head) = run.pop_front() else {
                continue;
            };
            if head.envelope.gas_limit() > gas_left {
                // Later transactions of this sender depend on this one: skip the sender.
                continue;
            }
            gas_left -= head.envelope.gas_limit();
            selected.push(head.clone());
            if let Some(next) = run.front() {
                if let Some(tip) = next.effective_tip(base_fee) {
                    heap.push((tip, Reverse(next.arrival), sender));
                }
            }
        }
        selected
    }

    /// Drops transactions a block made stale: every pooled transaction of `senders` below the
    /// sender's new `state_nonce`.
    pub fn remove_stale<'a>(
        &mut self,
        senders: impl IntoIterator<Item = &'a Address>,
        state_nonce: impl Fn(&Address) -> u64,
    ) {
        for sender in senders {
            let Some(queue) = self.senders.get_mut(sender) else {
                continue;
            };
            let keep = queue.split_off(&state_nonce(sender));
            for stale in queue.values() {
                self.by_hash.remove(&stale.hash);
            }
            *queue = keep;
            if queue.is_empty() {
                self.senders.remove(sender);
            }
        }
    }

    /// Removes one transaction (e.g. found invalid while building a block) and every later
    /// one of its sender, which can no longer execute.
    pub fn remove_with_descendants(&mut self, hash: &B256) -> Vec<B256> {
        let Some((sender, nonce)) = self.by_hash.get(hash).copied() else {
            return Vec::new();
        };
        let mut removed = Vec::new();
        if let Some(queue) = self.senders.get_mut(&sender) {
            for (_, tx) in queue.split_off(&nonce) {
                self.by_hash.remove(&tx.hash);
                removed.push(tx.hash);
            }
            if queue.is_empty() {
                self.senders.remove(&sender);
            }
        }
        removed
    }

    /// Every pooled transaction (for `txpool`-style listings and the restart journal).
    pub fn all(&self) -> impl Iterator<Item = &PooledTx> {
        self.senders.values().flat_map(BTreeMap::values)
    }
}

/// Why raw bytes are not a transaction the pool or a block can take.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DecodeError {
    /// Deposits (0x7E), blob (3) and set-code (4) transactions are not accepted on L2.
    #[error("transaction type not supported")]
    UnsupportedType,
    /// Not a valid EIP-2718 envelope (or bytes after it).
    #[error("rlp: {0}")]
    Rlp(String),
    /// The signature does not recover to an address.
    #[error("invalid sender")]
    InvalidSender,
}

/// Decodes untrusted bytes (`eth_sendRawTransaction`, a batch from L1) into a signed L2
/// transaction. The whole input must be one envelope: trailing bytes would make the stored raw
/// transaction disagree with its hash.
pub fn decode_transaction(raw: &[u8]) -> Result<TxEnvelope, DecodeError> {
    use alloy_eips::eip2718::Decodable2718;
    if raw.first() == Some(&parallax_protocol::deposit::DEPOSIT_TX_TYPE) {
        return Err(DecodeError::UnsupportedType);
    }
    let envelope =
        TxEnvelope::decode_2718_exact(raw).map_err(|error| DecodeError::Rlp(error.to_string()))?;
    if envelope.is_eip4844() || envelope.is_eip7702() {
        return Err(DecodeError::UnsupportedType);
    }
    Ok(envelope)
}

/// Recovers the sender of a decoded transaction (CPU work: call it off the async runtime).
///
/// Recovery is the largest per-transaction cost of accepting a transaction, so it runs on
/// libsecp256k1 (the backend revm's `ecrecover` precompile is built with), several times faster
/// than the pure-Rust k256 behind alloy's `recover_signer`; the outcome is the same, EIP-2's
/// low-`s` rule included (a property test compares the two).
pub fn recover_sender(envelope: &TxEnvelope) -> Result<Address, DecodeError> {
    let signature = envelope.signature();
    if signature.s() > alloy_consensus::crypto::SECP256K1N_HALF {
        return Err(DecodeError::InvalidSender);
    }
    let mut compact = [0u8; 64];
    compact[..32].copy_from_slice(&signature.r().to_be_bytes::<32>());
    compact[32..].copy_from_slice(&signature.s().to_be_bytes::<32>());
    let key_hash = revm::precompile::secp256k1::ecrecover(
        &B512::from(compact),
        u8::from(signature.v()),
        &envelope.signature_hash(),
    )
    .map_err(|_| DecodeError::InvalidSender)?;
    Ok(Address::from_slice(&key_hash[12..]))
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloy::signers::{local::PrivateKeySigner, SignerSync};
    use alloy_consensus::{SignableTransaction, TxEip1559, TxLegacy};
    use alloy_eips::eip2718::Encodable2718;
    use alloy_primitives::TxKind;

    fn signer(index: u8) -> PrivateKeySigner {
        PrivateKeySigner::from_bytes(&B256::repeat_byte(index + 1)).expect("key")
    }

    fn tx(key: &PrivateKeySigner, nonce: u64, fee_cap: u128, tip: u128, gas: u64) -> PooledTx {
        let unsigned = TxEip1559 {
            chain_id: 901,
            nonce,
            gas_limit: gas,
            max_fee_per_gas: fee_cap,
            max_priority_fee_per_gas: tip,
            to: TxKind::Call(Address::repeat_byte(9)),
            value: U256::from(1),
            ..Default::default()
        };
        let signature = key
            .sign_hash_sync(&unsigned.signature_hash())
            .expect("sign");
        let envelope = TxEnvelope::from(unsigned.into_signed(signature));
        PooledTx {
            hash: *envelope.tx_hash(),
            sender: key.address(),
            raw: envelope.encoded_2718().into(),
            envelope: Arc::new(envelope),
            arrival: 0,
        }
    }

    fn rich() -> U256 {
        U256::from(10u128.pow(24))
    }

    proptest::proptest! {
        /// The raw-transaction decoder never panics: arbitrary bytes, and valid transactions
        /// with bytes flipped, cut or appended, are either the same transaction (never another
        /// one under the same bytes) or a clear error.
        #[test]
        fn the_decoder_survives_arbitrary_and_mutated_input(
            noise in proptest::collection::vec(proptest::prelude::any::<u8>(), 0..300),
            flip in proptest::prelude::any::<(usize, u8)>(),
            cut in proptest::prelude::any::<usize>(),
        ) {
            let _ = decode_transaction(&noise);
            let valid = tx(&signer(1), 7, 1_000, 10, 21_000).raw.to_vec();
            let decoded = decode_transaction(&valid).expect("valid");
            proptest::prop_assert_eq!(recover_sender(&decoded), Ok(signer(1).address()));

            let mut flipped = valid.clone();
            let at = flip.0 % flipped.len();
            flipped[at] ^= flip.1.max(1);
            if let Ok(envelope) = decode_transaction(&flipped) {
                // Re-encoding must give exactly the bytes decoded.
                proptest::prop_assert_eq!(Bytes::from(envelope.encoded_2718()), Bytes::from(flipped.clone()));
                let _ = recover_sender(&envelope);
            }
            let _ = decode_transaction(&valid[..cut % valid.len()]);
            let mut longer = valid.clone();
            longer.extend_from_slice(&noise);
            if !noise.is_empty() {
                proptest::prop_assert!(decode_transaction(&longer).is_err(), "trailing bytes accepted");
            }
            let mut deposit = valid;
            deposit[0] = 0x7e;
            proptest::prop_assert_eq!(decode_transaction(&deposit), Err(DecodeError::UnsupportedType));
        }
    }

    proptest::proptest! {
        /// Sender recovery on libsecp256k1 agrees with alloy's k256 recovery: for valid
        /// signatures of random keys over random transactions, and for signatures with random
        /// or tampered `r`, `s` (high `s` included) and parity, both give the same address or
        /// both refuse.
        #[test]
        fn recovery_agrees_with_alloys(
            key in proptest::prelude::any::<[u8; 32]>(),
            nonce in proptest::prelude::any::<u64>(),
            r in proptest::prelude::any::<[u8; 32]>(),
            s in proptest::prelude::any::<[u8; 32]>(),
            parity in proptest::prelude::any::<bool>(),
            mode in 0u8..5,
        ) {
            use alloy_consensus::transaction::SignerRecoverable;
            let Ok(key) = PrivateKeySigner::from_bytes(&B256::from(key)) else {
                return Ok(());
            };
            let unsigned = TxEip1559 {
                chain_id: 901,
                nonce,
                gas_limit: 21_000,
                max_fee_per_gas: 7,
                to: TxKind::Call(Address::repeat_byte(3)),
                ..Default::default()
            };
            let valid = key.sign_hash_sync(&unsigned.signature_hash()).expect("sign");
            let n = U256::from_be_slice(&alloy_primitives::hex!(
                "fffffffffffffffffffffffffffffffebaaedce6af48a03bbfd25e8cd0364141"
            ));
            let signature = match mode {
                0 => valid,
                // The same point with high s: malleable, refused by both.
                1 => alloy_primitives::Signature::new(valid.r(), n - valid.s(), !valid.v()),
                2 => alloy_primitives::Signature::new(valid.r(), valid.s(), !valid.v()),
                3 => alloy_primitives::Signature::new(U256::from_be_bytes(r), valid.s(), parity),
                _ => alloy_primitives::Signature::new(
                    U256::from_be_bytes(r),
                    U256::from_be_bytes(s),
                    parity,
                ),
            };
            let envelope = TxEnvelope::from(unsigned.into_signed(signature));
            let ours = recover_sender(&envelope).ok();
            let alloys = envelope.recover_signer().ok();
            proptest::prop_assert_eq!(ours, alloys);
            if mode == 0 {
                proptest::prop_assert_eq!(ours, Some(key.address()));
            }
        }
    }

    #[test]
    fn validation_errors_use_the_messages_clients_match() {
        let mut pool = Mempool::new(PoolConfig {
            min_base_fee: 10,
            ..Default::default()
        });
        let key = signer(0);
        let message = |error: PoolError| error.to_string();
        assert!(message(
            pool.insert(tx(&key, 0, 100, 1, 21_000), 1, rich())
                .unwrap_err()
        )
        .starts_with("nonce too low"));
        assert!(message(
            pool.insert(tx(&key, 0, 100, 1, 21_000), 0, U256::from(5))
                .unwrap_err()
        )
        .starts_with("insufficient funds for gas * price + value"));
        assert!(message(
            pool.insert(tx(&key, 0, 100, 1, 20_000), 0, rich())
                .unwrap_err()
        )
        .starts_with("intrinsic gas too low"));
        assert!(message(
            pool.insert(tx(&key, 0, 5, 1, 21_000), 0, rich())
                .unwrap_err()
        )
        .starts_with("max fee per gas less than block base fee"));
        assert_eq!(
            pool.insert(tx(&key, 0, 100, 200, 21_000), 0, rich()),
            Err(PoolError::TipAboveFeeCap)
        );
        let accepted = tx(&key, 0, 100, 10, 21_000);
        pool.insert(accepted.clone(), 0, rich()).expect("valid");
        assert_eq!(
            pool.insert(accepted, 0, rich()),
            Err(PoolError::AlreadyKnown)
        );
        // A 5% bump is not enough; 10% is.
        assert_eq!(
            message(
                pool.insert(tx(&key, 0, 105, 11, 21_000), 0, rich())
                    .unwrap_err()
            ),
            "replacement transaction underpriced"
        );
        pool.insert(tx(&key, 0, 110, 11, 21_000), 0, rich())
            .expect("replacement");
        assert_eq!(pool.len(), 1);
        // Unprotected legacy and another chain's transactions are refused.
        let legacy = TxLegacy {
            chain_id: None,
            nonce: 1,
            gas_price: 100,
            gas_limit: 21_000,
            to: TxKind::Call(Address::ZERO),
            ..Default::default()
        };
        let signature = key.sign_hash_sync(&legacy.signature_hash()).expect("sign");
        let envelope = TxEnvelope::from(legacy.into_signed(signature));
        let unprotected = PooledTx {
            hash: *envelope.tx_hash(),
            sender: key.address(),
            raw: Bytes::new(),
            envelope: Arc::new(envelope),
            arrival: 0,
        };
        assert_eq!(
            pool.insert(unprotected, 0, rich()),
            Err(PoolError::Unprotected)
        );
        let mut other_chain = tx(&key, 1, 100, 1, 21_000);
        if let TxEnvelope::Eip1559(signed) = other_chain.envelope.as_ref() {
            let mut unsigned = signed.tx().clone();
            unsigned.chain_id = 1;
            let signature = key
                .sign_hash_sync(&unsigned.signature_hash())
                .expect("sign");
            let envelope = TxEnvelope::from(unsigned.into_signed(signature));
            other_chain.hash = *envelope.tx_hash();
            other_chain.envelope = Arc::new(envelope);
        }
        assert!(message(pool.insert(other_chain, 0, rich()).unwrap_err())
            .starts_with("invalid chain id"));
    }

    #[test]
    fn selection_keeps_nonce_order_prefers_tips_and_stops_at_gaps() {
        let mut pool = Mempool::new(PoolConfig::default());
        let (a, b) = (signer(1), signer(2));
        for (key, nonce, tip) in [(&a, 0, 1), (&a, 1, 50), (&a, 3, 90), (&b, 0, 5), (&b, 1, 2)] {
            pool.insert(tx(key, nonce, 100, tip, 21_000), 0, rich())
                .expect("valid");
        }
        assert_eq!(pool.pending_nonce(&a.address(), 0), 2);
        let order: Vec<(Address, u64)> = pool
            .select(0, 30_000_000, |_| 0)
            .iter()
            .map(|tx| (tx.sender, tx.envelope.nonce()))
            .collect();
        // b0 (tip 5) beats a0 (tip 1); b1 (tip 2) still beats a0; a3 is behind a gap.
        assert_eq!(
            order,
            vec![
                (b.address(), 0),
                (b.address(), 1),
                (a.address(), 0),
                (a.address(), 1)
            ]
        );
        // The gas limit cuts the block.
        assert_eq!(pool.select(0, 50_000, |_| 0).len(), 2);
        pool.remove_stale([&a.address()], |_| 2);
        assert_eq!(pool.len(), 3);
        assert_eq!(
            pool.remove_with_descendants(&pool.select(0, 30_000_000, |_| 0)[0].hash)
                .len(),
            2
        );
    }

    #[test]
    fn a_full_pool_evicts_the_cheapest_only_for_a_better_offer() {
        let mut pool = Mempool::new(PoolConfig {
            max_total: 2,
            ..Default::default()
        });
        pool.insert(tx(&signer(1), 0, 100, 1, 21_000), 0, rich())
            .expect("valid");
        pool.insert(tx(&signer(2), 0, 200, 1, 21_000), 0, rich())
            .expect("valid");
        assert_eq!(
            pool.insert(tx(&signer(3), 0, 50, 1, 21_000), 0, rich()),
            Err(PoolError::PoolFull)
        );
        pool.insert(tx(&signer(3), 0, 300, 1, 21_000), 0, rich())
            .expect("evicts the 100 offer");
        assert_eq!(pool.len(), 2);
        assert_eq!(pool.pending_nonce(&signer(1).address(), 0), 0);
    }
}
