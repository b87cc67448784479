//! Admission control for renders: a bounded number run at once, a bounded number wait, and
//! each holds its share of a memory budget estimated from the header probe. What does not fit
//! is refused at once (503 when busy, 400 when one request alone is over the budget).

use crate::error::PictorError;
use crate::metrics::{Refusal, METRICS};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use tokio::sync::{OwnedSemaphorePermit, Semaphore};

/// The memory budget is counted in KiB so a `u32` of permits covers terabytes.
const KIB: u64 = 1024;

pub struct Admission {
    slots: Arc<Semaphore>,
    memory: Arc<Semaphore>,
    memory_budget_kib: u64,
    queued: AtomicUsize,
    max_queued: usize,
}

/// Held while a render runs; dropping it frees the slot and the memory share.
pub struct RenderPermit {
    _slot: OwnedSemaphorePermit,
    _memory: OwnedSemaphorePermit,
}

/// Counts a waiting render for as long as it waits (also when its future is dropped).
struct QueuedGuard<'a>(&'a AtomicUsize);

impl Drop for QueuedGuard<'_> {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::SeqCst);
    }
}

impl Admission {
    pub fn new(max_concurrent: usize, max_queued: usize, memory_budget_bytes: u64) -> Admission {
        let memory_budget_kib = (memory_budget_bytes / KIB).clamp(1, u64::from(u32::MAX >> 3));
        Admission {
            slots: Arc::new(Semaphore::new(max_concurrent.max(1))),
            memory: Arc::new(Semaphore::new(memory_budget_kib as usize)),
            memory_budget_kib,
            queued: AtomicUsize::new(0),
            max_queued,
        }
    }

    /// Waits for a render slot and `estimated_bytes` of the memory budget.
    pub async fn admit(&self, estimated_bytes: u64) -> Result<RenderPermit, PictorError> {
        let need_kib = estimated_bytes.div_ceil(KIB).max(1);
        if need_kib > self.memory_budget_kib {
            METRICS.record_refusal(Refusal::MemoryBudget);
            return Err(PictorError::TooLarge(format!(
                "render needs about {} MB, more than RENDER_MEMORY_MB",
                estimated_bytes / (KIB * KIB)
            )));
        }
        let waiting = self.queued.fetch_add(1, Ordering::SeqCst);
        let _guard = QueuedGuard(&self.queued);
        if waiting >= self.max_queued && self.slots.available_permits() == 0 {
            METRICS.record_refusal(Refusal::QueueFull);
            return Err(PictorError::Overloaded(format!(
                "{waiting} renders already waiting"
            )));
        }
        let memory = self
            .memory
            .clone()
            .acquire_many_owned(need_kib as u32)
            .await
            .map_err(|_| PictorError::Overloaded("shutting down".into()))?;
        let slot = self
            .slots
            .clone()
            .acquire_owned()
            .await
            .map_err(|_| PictorError::Overloaded("shutting down".into()))?;
        Ok(RenderPermit {
            _slot: slot,
            _memory: memory,
        })
    }

    /// Renders waiting for a slot or memory right now.
    pub fn queued(&self) -> usize {
        self.queued.load(Ordering::SeqCst)
    }

    /// Renders running right now.
    pub fn running(&self, max_concurrent: usize) -> usize {
        max_concurrent.saturating_sub(self.slots.available_permits())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[tokio::test]
    async fn refuses_when_the_queue_is_full_and_recovers() {
        let admission = Arc::new(Admission::new(1, 2, 1 << 30));
        let running = admission.admit(1000).await.unwrap();
        // Two may wait...
        let mut waiters = Vec::new();
        for _ in 0..2 {
            let a = admission.clone();
            waiters.push(tokio::spawn(async move { a.admit(1000).await.map(|_| ()) }));
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
        assert_eq!(admission.queued(), 2);
        // ...the third is refused at once.
        assert!(matches!(
            admission.admit(1000).await,
            Err(PictorError::Overloaded(_))
        ));
        drop(running);
        for w in waiters {
            w.await.unwrap().unwrap();
        }
        assert_eq!(admission.queued(), 0);
        assert!(admission.admit(1000).await.is_ok());
    }

    #[tokio::test]
    async fn memory_budget_bounds_concurrent_renders() {
        let admission = Arc::new(Admission::new(4, 16, 10 * 1024 * 1024));
        // One request alone over the budget is the client's problem.
        assert!(matches!(
            admission.admit(11 * 1024 * 1024).await,
            Err(PictorError::TooLarge(_))
        ));
        let big = admission.admit(8 * 1024 * 1024).await.unwrap();
        let a = admission.clone();
        let second = tokio::spawn(async move { a.admit(4 * 1024 * 1024).await.map(|_| ()) });
        tokio::time::sleep(Duration::from_millis(50)).await;
        assert!(!second.is_finished(), "must wait for memory");
        drop(big);
        second.await.unwrap().unwrap();
    }

    #[tokio::test]
    async fn a_dropped_waiter_leaves_the_queue() {
        let admission = Arc::new(Admission::new(1, 4, 1 << 30));
        let _running = admission.admit(1).await.unwrap();
        let a = admission.clone();
        let waiter = tokio::spawn(async move { a.admit(1).await.map(|_| ()) });
        tokio::time::sleep(Duration::from_millis(20)).await;
        assert_eq!(admission.queued(), 1);
        waiter.abort();
        let _ = waiter.await;
        assert_eq!(admission.queued(), 0);
    }
}
