//! The pool journal: every transaction accepted over RPC is written to the chain store before it
//! is acknowledged, so a restart loses nothing a client was told was accepted. Writes are
//! grouped (one database transaction for every acceptance waiting at that moment), so the
//! journal costs one commit per burst, not one per transaction.

use alloy_primitives::B256;
use parallax_state::store::{ChainStore, StoreError, StoredTransaction};
use tokio::sync::{mpsc, oneshot};

/// Most transactions written in one group.
const MAX_GROUP: usize = 4_096;

type Ack = oneshot::Sender<Result<(), String>>;

/// Handle to the journal writer task.
#[derive(Clone, Debug)]
pub struct Journal {
    requests: mpsc::Sender<(StoredTransaction, Ack)>,
}

impl Journal {
    /// Starts the writer on `store`.
    pub fn spawn<S: ChainStore>(store: S) -> Self {
        let (requests, mut incoming) = mpsc::channel::<(StoredTransaction, Ack)>(MAX_GROUP * 4);
        tokio::spawn(async move {
            while let Some(first) = incoming.recv().await {
                let mut group = vec![first];
                while group.len() < MAX_GROUP {
                    match incoming.try_recv() {
                        Ok(next) => group.push(next),
                        Err(_) => break,
                    }
                }
                let transactions: Vec<StoredTransaction> =
                    group.iter().map(|(tx, _)| tx.clone()).collect();
                let result = store
                    .put_pending_transactions(&transactions)
                    .await
                    .map_err(|error: StoreError| error.to_string());
                for (_, ack) in group {
                    let _ = ack.send(result.clone());
                }
            }
        });
        Self { requests }
    }

    /// Durably records `transaction`; returns once it is committed.
    pub async fn record(&self, transaction: StoredTransaction) -> Result<(), String> {
        let (ack, done) = oneshot::channel();
        self.requests
            .send((transaction, ack))
            .await
            .map_err(|_| "journal writer stopped".to_string())?;
        done.await
            .map_err(|_| "journal writer stopped".to_string())?
    }

    /// Durably records every transaction of a burst (they join the same group commit, unless
    /// the group is full); returns each one's hash and outcome once all are settled.
    pub async fn record_many(
        &self,
        transactions: Vec<StoredTransaction>,
    ) -> Vec<(B256, Result<(), String>)> {
        let mut waiting = Vec::with_capacity(transactions.len());
        for transaction in transactions {
            let hash = transaction.hash;
            let (ack, done) = oneshot::channel();
            let sent = self.requests.send((transaction, ack)).await;
            waiting.push((hash, sent.is_ok().then_some(done)));
        }
        let mut outcomes = Vec::with_capacity(waiting.len());
        for (hash, done) in waiting {
            let outcome = match done {
                Some(done) => done
                    .await
                    .unwrap_or_else(|_| Err("journal writer stopped".to_string())),
                None => Err("journal writer stopped".to_string()),
            };
            outcomes.push((hash, outcome));
        }
        outcomes
    }
}
