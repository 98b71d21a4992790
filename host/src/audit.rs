//! The audit log writer: one row per plugin call, written off the request path.
//!
//! Requests hand their record to a bounded queue and answer at once; one task writes the rows.
//! A full queue makes requests wait rather than drop rows, and shutdown drains the queue.

use broker_store::{AuditRecord, Store};
use tokio::sync::mpsc;
use tokio::task::JoinHandle;

/// Records waiting to be written before requests start to wait for the writer.
const QUEUE: usize = 10_000;
/// Most records written in one transaction: the writer takes whatever has queued up since its
/// last write, so a busy broker pays one commit per batch instead of one per request.
const BATCH: usize = 256;

/// Handle to the audit writer.
pub struct AuditLog {
    queue: mpsc::Sender<AuditRecord>,
    writer: JoinHandle<()>,
}

impl AuditLog {
    /// Starts the writer task.
    pub fn start(store: Store) -> Self {
        let (queue, mut records) = mpsc::channel::<AuditRecord>(QUEUE);
        let writer = tokio::spawn(async move {
            let mut batch = Vec::with_capacity(BATCH);
            while records.recv_many(&mut batch, BATCH).await > 0 {
                if let Err(e) = store.record_calls(&batch).await {
                    tracing::error!(
                        error.type = "audit_write_failed",
                        rows = batch.len(),
                        first_request_id = %batch[0].request_id,
                        "could not write audit rows: {e}"
                    );
                }
                batch.clear();
            }
        });
        Self { queue, writer }
    }

    /// Queues one record.
    pub async fn record(&self, record: AuditRecord) {
        if self.queue.send(record).await.is_err() {
            tracing::error!(error.type = "audit_write_failed", "audit writer has stopped");
        }
    }

    /// Writes every queued record, then stops.
    pub async fn close(self) {
        drop(self.queue);
        let _ = self.writer.await;
    }
}
