//! Instance slots and the bounded queue in front of them.
//!
//! `limits.max_instances` instances may run at once (the pooling allocator's size). A request
//! takes a place in the queue *before* its body is read, reserving the body's declared size, and
//! gives it back once it holds a slot (or gives up). The queue is bounded in requests and in
//! bytes, so a burst of large requests is refused at once (503, `Retry-After`) instead of being
//! buffered without bound; and the wait for a slot has its own bound, apart from the plugin's
//! wall-clock limit, so a request that never got a slot is reported as such (`capacity`).

use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use tokio::sync::{OwnedSemaphorePermit, Semaphore};

use crate::config::Limits;

/// The queue is full (in requests or bytes).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct QueueFull;

/// No slot freed up within the queue wait.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SlotTimeout;

/// The instance slots and their queue.
pub struct Slots {
    permits: Arc<Semaphore>,
    pending: Mutex<Pending>,
    max_requests: usize,
    max_bytes: usize,
    wait: Duration,
}

/// What is queued now.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Pending {
    /// Requests holding a queue place.
    pub requests: usize,
    /// Body bytes they reserved.
    pub bytes: usize,
}

/// A place in the queue; given back when dropped.
#[must_use = "the place is given back when dropped"]
pub struct QueueTicket {
    slots: Arc<Slots>,
    bytes: usize,
}

/// A running instance's slot; freed when dropped.
pub struct Slot {
    _permit: OwnedSemaphorePermit,
}

impl Slots {
    /// Slots and queue sized by `limits`.
    pub fn new(limits: &Limits) -> Arc<Self> {
        Arc::new(Self {
            permits: Arc::new(Semaphore::new(limits.max_instances as usize)),
            pending: Mutex::new(Pending::default()),
            max_requests: limits.queue_requests as usize,
            max_bytes: limits.queue_bytes,
            wait: limits.queue_wait(),
        })
    }

    /// Nothing panics while holding this lock and each update is one step: a poisoned lock
    /// still guards consistent counts.
    fn pending_counts(&self) -> MutexGuard<'_, Pending> {
        self.pending.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// What is queued now.
    pub fn pending(&self) -> Pending {
        *self.pending_counts()
    }

    /// Instances running now.
    pub fn busy(&self, max_instances: usize) -> usize {
        max_instances.saturating_sub(self.permits.available_permits())
    }

    /// Takes a queue place for a request of `bytes` body bytes, or refuses at once. A request
    /// larger than the whole byte budget may still queue alone, so no valid request is refused
    /// forever.
    pub fn enqueue(self: &Arc<Self>, bytes: usize) -> Result<QueueTicket, QueueFull> {
        let mut pending = self.pending_counts();
        let fits = pending.requests < self.max_requests
            && (pending.bytes.saturating_add(bytes) <= self.max_bytes || pending.requests == 0);
        if !fits {
            return Err(QueueFull);
        }
        pending.requests += 1;
        pending.bytes = pending.bytes.saturating_add(bytes);
        Ok(QueueTicket {
            slots: self.clone(),
            bytes,
        })
    }

    /// Waits (at most the queue wait) for a slot; the queue place is given back either way.
    pub async fn take(&self, ticket: QueueTicket) -> Result<Slot, SlotTimeout> {
        let slot = self.acquire().await;
        drop(ticket);
        slot
    }

    /// Waits (at most the queue wait) for a slot, outside the queue's accounting (plugin loads).
    pub async fn acquire(&self) -> Result<Slot, SlotTimeout> {
        match tokio::time::timeout(self.wait, self.permits.clone().acquire_owned()).await {
            Ok(Ok(permit)) => Ok(Slot { _permit: permit }),
            // The semaphore is never closed; treat it like a timeout rather than panic.
            Ok(Err(_)) | Err(_) => Err(SlotTimeout),
        }
    }
}

impl QueueTicket {
    /// Corrects the reserved size once the body is read (it is at most what was reserved).
    pub fn settle(&mut self, bytes: usize) {
        let mut pending = self.slots.pending_counts();
        pending.bytes = pending
            .bytes
            .saturating_sub(self.bytes)
            .saturating_add(bytes);
        self.bytes = bytes;
    }
}

impl Drop for QueueTicket {
    fn drop(&mut self) {
        let mut pending = self.slots.pending_counts();
        pending.requests = pending.requests.saturating_sub(1);
        pending.bytes = pending.bytes.saturating_sub(self.bytes);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn slots(instances: u32, requests: u32, bytes: usize) -> Arc<Slots> {
        Slots::new(&Limits {
            max_instances: instances,
            queue_requests: requests,
            queue_bytes: bytes,
            queue_wait_ms: 50,
            ..Limits::default()
        })
    }

    #[test]
    fn the_queue_is_bounded_in_requests_and_bytes_and_gives_places_back() {
        let s = slots(1, 3, 100);
        let a = s.enqueue(60).unwrap();
        assert_eq!(s.enqueue(50).err(), Some(QueueFull), "bytes");
        let mut b = s.enqueue(40).unwrap();
        b.settle(10);
        let c = s.enqueue(30).unwrap();
        assert_eq!(s.enqueue(0).err(), Some(QueueFull), "requests");
        assert_eq!(
            s.pending(),
            Pending {
                requests: 3,
                bytes: 100
            }
        );
        drop((a, b, c));
        assert_eq!(s.pending(), Pending::default());
        let alone = s.enqueue(1_000).unwrap();
        assert_eq!(s.enqueue(1).err(), Some(QueueFull));
        drop(alone);
    }

    #[tokio::test]
    async fn the_slot_wait_is_bounded_and_frees_the_queue_place() {
        let s = slots(1, 8, 1 << 20);
        let running = s.take(s.enqueue(5).unwrap()).await.unwrap();
        assert_eq!(s.pending(), Pending::default());
        let waiting = s.enqueue(7).unwrap();
        assert_eq!(s.take(waiting).await.err(), Some(SlotTimeout));
        assert_eq!(s.pending(), Pending::default());
        drop(running);
        assert!(s.take(s.enqueue(0).unwrap()).await.is_ok());
    }
}
