//! Admission control for renders, in two steps. A render first takes one of
//! MAX_CONCURRENT_RENDERS slots (the header probe and the memory estimate run under it, on the
//! blocking pool), then its share of the RENDER_MEMORY_MB budget, estimated from that probe,
//! while still holding the slot. Renders waiting for either count against
//! MAX_QUEUED_RENDERS, so the queue stays bounded whichever of the two is exhausted. What does
//! not fit is refused at once (503 when busy, 400 when one request alone is over the budget).

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
    /// Renders waiting for a slot or for memory: the queue MAX_QUEUED_RENDERS bounds.
    queued: AtomicUsize,
    /// The part of `queued` that waits for memory while holding a slot (not running yet).
    waiting_for_memory: AtomicUsize,
    max_queued: usize,
}

/// A render slot: held while the header is probed and the memory estimated, then handed to
/// [`Admission::memory`]. Dropping it frees the slot.
pub struct SlotPermit {
    slot: OwnedSemaphorePermit,
}

/// Held while a render runs; dropping it frees the slot and the memory share.
pub struct RenderPermit {
    _slot: OwnedSemaphorePermit,
    _memory: OwnedSemaphorePermit,
}

/// Counts a waiting render for as long as it waits (also when its future is dropped).
struct WaitingGuard<'a>(&'a AtomicUsize);

impl<'a> WaitingGuard<'a> {
    fn enter(counter: &'a AtomicUsize) -> (usize, WaitingGuard<'a>) {
        (
            counter.fetch_add(1, Ordering::SeqCst),
            WaitingGuard(counter),
        )
    }
}

impl Drop for WaitingGuard<'_> {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::SeqCst);
    }
}

fn shutting_down(_: tokio::sync::AcquireError) -> PictorError {
    PictorError::Overloaded("shutting down".into())
}

impl Admission {
    pub fn new(max_concurrent: usize, max_queued: usize, memory_budget_bytes: u64) -> Admission {
        let memory_budget_kib = (memory_budget_bytes / KIB).clamp(1, u64::from(u32::MAX >> 3));
        Admission {
            slots: Arc::new(Semaphore::new(max_concurrent.max(1))),
            memory: Arc::new(Semaphore::new(memory_budget_kib as usize)),
            memory_budget_kib,
            queued: AtomicUsize::new(0),
            waiting_for_memory: AtomicUsize::new(0),
            max_queued,
        }
    }

    /// Step one: a render slot, at once when one is free; else a place in the queue, or 503
    /// when MAX_QUEUED_RENDERS renders already wait (for a slot or for memory).
    pub async fn slot(&self) -> Result<SlotPermit, PictorError> {
        if let Ok(slot) = self.slots.clone().try_acquire_owned() {
            return Ok(SlotPermit { slot });
        }
        let (waiting, _queued) = WaitingGuard::enter(&self.queued);
        if waiting >= self.max_queued {
            METRICS.record_refusal(Refusal::QueueFull);
            return Err(PictorError::Overloaded(format!(
                "{waiting} renders already waiting"
            )));
        }
        let slot = self
            .slots
            .clone()
            .acquire_owned()
            .await
            .map_err(shutting_down)?;
        Ok(SlotPermit { slot })
    }

    /// Step two: `estimated_bytes` of the memory budget for the render holding `slot`. More
    /// than the whole budget is the request's fault (400). A render that must wait for memory
    /// keeps its slot and takes a place in the queue: 503 when MAX_QUEUED_RENDERS renders
    /// already wait (for memory or for a slot).
    pub async fn memory(
        &self,
        slot: SlotPermit,
        estimated_bytes: u64,
    ) -> Result<RenderPermit, PictorError> {
        let need_kib = estimated_bytes.div_ceil(KIB).max(1);
        if need_kib > self.memory_budget_kib {
            METRICS.record_refusal(Refusal::MemoryBudget);
            return Err(PictorError::TooLarge(format!(
                "render needs about {} MB, more than RENDER_MEMORY_MB",
                estimated_bytes / (KIB * KIB)
            )));
        }
        // need_kib <= memory_budget_kib <= u32::MAX >> 3.
        let need_kib = need_kib as u32;
        let memory = match self.memory.clone().try_acquire_many_owned(need_kib) {
            Ok(memory) => memory,
            Err(_) => {
                let (waiting, _queued) = WaitingGuard::enter(&self.queued);
                if waiting >= self.max_queued {
                    METRICS.record_refusal(Refusal::QueueFull);
                    return Err(PictorError::Overloaded(format!(
                        "{waiting} renders already waiting (for memory or a slot)"
                    )));
                }
                let (_, _for_memory) = WaitingGuard::enter(&self.waiting_for_memory);
                self.memory
                    .clone()
                    .acquire_many_owned(need_kib)
                    .await
                    .map_err(shutting_down)?
            }
        };
        Ok(RenderPermit {
            _slot: slot.slot,
            _memory: memory,
        })
    }

    /// Both steps at once, for a render whose estimate needs no probe under the slot.
    pub async fn admit(&self, estimated_bytes: u64) -> Result<RenderPermit, PictorError> {
        let slot = self.slot().await?;
        self.memory(slot, estimated_bytes).await
    }

    /// Renders waiting for a slot or memory right now.
    pub fn queued(&self) -> usize {
        self.queued.load(Ordering::SeqCst)
    }

    /// Renders holding a slot and not waiting for memory: probing or rendering right now.
    pub fn running(&self, max_concurrent: usize) -> usize {
        max_concurrent
            .saturating_sub(self.slots.available_permits())
            .saturating_sub(self.waiting_for_memory.load(Ordering::SeqCst))
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

    #[tokio::test]
    async fn renders_waiting_for_memory_count_against_the_queue() {
        // Slots to spare, memory exhausted: the queue bound must still hold.
        let admission = Arc::new(Admission::new(8, 2, 10 * 1024 * 1024));
        let big = admission.admit(8 * 1024 * 1024).await.unwrap();
        let mut waiters = Vec::new();
        for _ in 0..2 {
            let a = admission.clone();
            waiters.push(tokio::spawn(async move {
                a.admit(4 * 1024 * 1024).await.map(|_| ())
            }));
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
        assert_eq!(admission.queued(), 2);
        assert_eq!(admission.running(8), 1, "memory waiters are not running");
        // A free slot, but two already wait for memory: refused at once (not queued behind
        // them), and the slot given back.
        let third =
            tokio::time::timeout(Duration::from_secs(1), admission.admit(4 * 1024 * 1024)).await;
        assert!(
            matches!(third, Ok(Err(PictorError::Overloaded(_)))),
            "a third memory waiter was queued"
        );
        assert_eq!(admission.slots.available_permits(), 8 - 3);
        drop(big);
        for w in waiters {
            w.await.unwrap().unwrap();
        }
        assert_eq!(admission.queued(), 0);
        assert_eq!(admission.slots.available_permits(), 8);
    }

    #[tokio::test]
    async fn a_slot_is_held_between_the_two_steps() {
        let admission = Arc::new(Admission::new(1, 1, 1 << 30));
        let slot = admission.slot().await.unwrap();
        let a = admission.clone();
        let waiter = tokio::spawn(async move { a.admit(1).await.map(|_| ()) });
        tokio::time::sleep(Duration::from_millis(20)).await;
        assert!(!waiter.is_finished(), "the probe's slot is taken");
        assert_eq!(admission.queued(), 1);
        let permit = admission.memory(slot, 1024).await.unwrap();
        drop(permit);
        waiter.await.unwrap().unwrap();
        // A slot dropped before its memory step frees it too.
        drop(admission.slot().await.unwrap());
        assert!(admission.admit(1).await.is_ok());
    }
}
