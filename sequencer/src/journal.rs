//! The pool journal: every transaction accepted over RPC is written to the chain store before it
//! is acknowledged, so a restart loses nothing a client was told was accepted. Writes are
//! grouped (one database transaction for every acceptance waiting at that moment), so the
//! journal costs one commit per burst, not one per transaction.

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
}
