//! Admission control for renders, in two steps. A render first takes one of
//! MAX_CONCURRENT_RENDERS slots (the header probe and the memory estimate run under it, on the
//! blocking pool), then its share of the RENDER_MEMORY_MB budget, estimated from that probe,
//! while still holding the slot. Urgent renders (visitors) waiting for either count against
//! MAX_QUEUED_RENDERS, so the queue stays bounded whichever of the two is exhausted. What does
//! not fit is refused at once (503 when busy, 400 when one request alone is over the budget).
//!
//! Renders come in two classes. Urgent ones (visitor requests) always get a freed slot before
//! background ones (pre-heat, presets of uploads); a background render starts only when no
//! urgent one waits (with BACKGROUND_WHEN_IDLE, the default: when none runs either, and it
//! waits between its steps while one does: [`IdleGate`]), and at most BACKGROUND_RENDERS of
//! them hold slots at once, so a backlog can never take the whole pool. The memory budget is shared by both classes. Background renders wait
//! as long as it takes and do not count against MAX_QUEUED_RENDERS: their number is bounded by
//! the background workers that ask (`jobs`).

use crate::error::PictorError;
use crate::metrics::{Refusal, METRICS};
use std::collections::VecDeque;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::time::{Duration, Instant};
use tokio::sync::{oneshot, OwnedSemaphorePermit, Semaphore};

/// The memory budget is counted in KiB so a `u32` of permits covers terabytes.
const KIB: u64 = 1024;

/// Which class of work a render belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Priority {
    /// A visitor waits for it.
    Urgent,
    /// Pre-heat or regenerate work: only spare capacity, never ahead of a visitor.
    Background,
}

pub struct Admission {
    slots: Arc<Slots>,
    memory: Arc<Semaphore>,
    memory_budget_kib: u64,
    /// Urgent renders waiting for a slot or for memory: the queue MAX_QUEUED_RENDERS bounds.
    queued: AtomicUsize,
    /// Renders (of either class) waiting for memory while holding a slot (not running yet).
    waiting_for_memory: AtomicUsize,
    max_queued: usize,
}

/// The render slots and who waits for them, by class. A freed slot is handed straight to the
/// first urgent waiter, else to the first background waiter when fewer than
/// `max_background` background renders hold slots, else it becomes free.
struct Slots {
    state: Mutex<SlotState>,
    /// Signalled when the last urgent render gives its slot back (see [`IdleGate`]).
    urgent_ended: Condvar,
    max_background: usize,
    /// BACKGROUND_WHEN_IDLE: a background render starts only while no urgent one holds a slot.
    background_when_idle: bool,
}

struct SlotState {
    free: usize,
    /// Slots held by background renders (also those handed to a waiter not yet woken).
    background_held: usize,
    /// Slots held by urgent renders (also those handed to a waiter not yet woken).
    urgent_held: usize,
    urgent: VecDeque<oneshot::Sender<()>>,
    background: VecDeque<oneshot::Sender<()>>,
}

/// One held slot; dropping it frees the slot (or hands it to the next waiter).
struct HeldSlot {
    slots: Arc<Slots>,
    priority: Priority,
}

impl Drop for HeldSlot {
    fn drop(&mut self) {
        self.slots.release(self.priority);
    }
}

/// A place in a slot queue. If it is dropped after a slot was handed to it but before its
/// owner took it (the waiting future was cancelled), the slot goes back.
struct SlotWait {
    slots: Arc<Slots>,
    priority: Priority,
    granted: oneshot::Receiver<()>,
    taken: bool,
}

impl Drop for SlotWait {
    fn drop(&mut self) {
        if self.taken {
            return;
        }
        // After close() no slot can be handed to this waiter any more; one handed before is
        // still in the channel.
        self.granted.close();
        if self.granted.try_recv().is_ok() {
            self.slots.release(self.priority);
        }
    }
}

impl Slots {
    fn new(count: usize, max_background: usize, background_when_idle: bool) -> Slots {
        Slots {
            urgent_ended: Condvar::new(),
            state: Mutex::new(SlotState {
                free: count,
                background_held: 0,
                urgent_held: 0,
                urgent: VecDeque::new(),
                background: VecDeque::new(),
            }),
            max_background: max_background.clamp(1, count),
            background_when_idle,
        }
    }

    /// Whether a background render may have a slot now (one being free aside): its share is
    /// not used up, no urgent render waits, and with BACKGROUND_WHEN_IDLE none runs either.
    fn background_may_start(&self, state: &SlotState) -> bool {
        state.background_held < self.max_background
            && state.urgent.is_empty()
            && (!self.background_when_idle || state.urgent_held == 0)
    }

    fn lock(&self) -> MutexGuard<'_, SlotState> {
        // Nothing panics while holding the lock; a poisoned lock still holds consistent counts.
        self.state
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// A slot at once if the class may take one now, without waiting.
    fn try_take(&self, priority: Priority) -> bool {
        self.take_now(&mut self.lock(), priority)
    }

    /// Takes a free slot for `priority` if the class may have one now: urgent whenever one is
    /// free; background as `background_may_start` says.
    fn take_now(&self, state: &mut SlotState, priority: Priority) -> bool {
        let allowed = state.free > 0
            && match priority {
                Priority::Urgent => true,
                Priority::Background => self.background_may_start(state),
            };
        if allowed {
            state.free -= 1;
            match priority {
                Priority::Urgent => state.urgent_held += 1,
                Priority::Background => state.background_held += 1,
            }
        }
        allowed
    }

    /// A slot now, or a place at the back of the class's queue.
    fn take_or_wait(self: &Arc<Self>, priority: Priority) -> Result<(), SlotWait> {
        if self.try_take(priority) {
            return Ok(());
        }
        let (sender, granted) = oneshot::channel();
        let mut state = self.lock();
        // Freed between the two locks: take it now rather than queue behind nobody.
        if self.take_now(&mut state, priority) {
            return Ok(());
        }
        match priority {
            Priority::Urgent => state.urgent.push_back(sender),
            Priority::Background => state.background.push_back(sender),
        }
        Err(SlotWait {
            slots: self.clone(),
            priority,
            granted,
            taken: false,
        })
    }

    /// Gives back a slot of `priority`: to the first urgent waiter, else to a background
    /// waiter if `background_may_start`, else to the free count. (With BACKGROUND_WHEN_IDLE
    /// the last urgent render to end is what hands a waiting background render its slot.)
    fn release(&self, priority: Priority) {
        let mut state = self.lock();
        match priority {
            Priority::Urgent => state.urgent_held -= 1,
            Priority::Background => state.background_held -= 1,
        }
        if state.urgent_held == 0 && state.urgent.is_empty() {
            self.urgent_ended.notify_all();
        }
        while let Some(waiter) = state.urgent.pop_front() {
            if waiter.send(()).is_ok() {
                state.urgent_held += 1;
                return;
            }
        }
        if self.background_may_start(&state) {
            while let Some(waiter) = state.background.pop_front() {
                if waiter.send(()).is_ok() {
                    state.background_held += 1;
                    return;
                }
            }
        }
        state.free += 1;
    }

    fn free(&self) -> usize {
        self.lock().free
    }
}

/// Where a background render's CPU thread waits between pipeline steps while visitors' renders
/// run (BACKGROUND_WHEN_IDLE): a render started in a quiet moment does not go on beside the
/// visitors who arrive after it, only its current step does. Blocking (it is called on the
/// background render's own idle-priority thread).
#[derive(Clone)]
pub struct IdleGate {
    slots: Arc<Slots>,
}

impl crate::imaging::pipeline::BetweenSteps for IdleGate {
    /// Returns once no urgent render holds or waits for a slot, or at `until` (the render's
    /// deadline, which then stops it). Woken by the last urgent render to end; it also looks
    /// again every 100 ms, so a missed signal costs at most that.
    fn wait(&self, until: Option<Instant>) {
        let mut state = self.slots.lock();
        while state.urgent_held > 0 || !state.urgent.is_empty() {
            let now = Instant::now();
            let step = Duration::from_millis(100);
            let timeout = match until {
                Some(until) if until <= now => return,
                Some(until) => step.min(until - now),
                None => step,
            };
            state = match self.slots.urgent_ended.wait_timeout(state, timeout) {
                Ok((state, _)) => state,
                Err(poisoned) => poisoned.into_inner().0,
            };
        }
    }
}

/// A render slot: held while the header is probed and the memory estimated, then handed to
/// [`Admission::memory`]. Dropping it frees the slot.
pub struct SlotPermit {
    slot: HeldSlot,
}

/// Held while a render runs; dropping it frees the slot and the memory share.
pub struct RenderPermit {
    _slot: HeldSlot,
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

/// A wait for a slot or for memory ended because the admission is going away.
fn shutting_down<E>(_: E) -> PictorError {
    PictorError::Overloaded("shutting down".into())
}

impl Admission {
    /// `background_renders`: slots background renders may hold at once (at least 1, at most
    /// `max_concurrent`); `background_when_idle`: they start only while no urgent render runs
    /// (BACKGROUND_WHEN_IDLE), not only while none waits.
    pub fn new(
        max_concurrent: usize,
        max_queued: usize,
        memory_budget_bytes: u64,
        background_renders: usize,
        background_when_idle: bool,
    ) -> Admission {
        let memory_budget_kib = (memory_budget_bytes / KIB).clamp(1, u64::from(u32::MAX >> 3));
        Admission {
            slots: Arc::new(Slots::new(
                max_concurrent.max(1),
                background_renders,
                background_when_idle,
            )),
            memory: Arc::new(Semaphore::new(memory_budget_kib as usize)),
            memory_budget_kib,
            queued: AtomicUsize::new(0),
            waiting_for_memory: AtomicUsize::new(0),
            max_queued,
        }
    }

    /// A place in the queue MAX_QUEUED_RENDERS bounds, for as long as the guard lives: an
    /// urgent render's, or a 503 when that many already wait (`what` says for what, after
    /// "renders already waiting"). Background renders wait outside it (`None`).
    fn join_queue(
        &self,
        priority: Priority,
        what: &str,
    ) -> Result<Option<WaitingGuard<'_>>, PictorError> {
        if priority == Priority::Background {
            return Ok(None);
        }
        let (waiting, guard) = WaitingGuard::enter(&self.queued);
        if waiting >= self.max_queued {
            METRICS.record_refusal(Refusal::QueueFull);
            return Err(PictorError::Overloaded(format!(
                "{waiting} renders already waiting{what}"
            )));
        }
        Ok(Some(guard))
    }

    /// Step one for a visitor's render: [`Admission::slot_for`] at urgent priority.
    pub async fn slot(&self) -> Result<SlotPermit, PictorError> {
        self.slot_for(Priority::Urgent).await
    }

    /// Step one: a render slot, at once when one is free (for background work: and no urgent
    /// render waits, and the background share is not used up); else a place in the class's
    /// queue. An urgent render is refused (503) when MAX_QUEUED_RENDERS urgent renders already
    /// wait (for a slot or for memory); a background one waits as long as it takes.
    pub async fn slot_for(&self, priority: Priority) -> Result<SlotPermit, PictorError> {
        let held = |slots: &Arc<Slots>| SlotPermit {
            slot: HeldSlot {
                slots: slots.clone(),
                priority,
            },
        };
        if self.slots.try_take(priority) {
            return Ok(held(&self.slots));
        }
        let _queued = self.join_queue(priority, "")?;
        let mut wait = match self.slots.take_or_wait(priority) {
            Ok(()) => return Ok(held(&self.slots)),
            Err(wait) => wait,
        };
        (&mut wait.granted).await.map_err(shutting_down)?;
        wait.taken = true;
        Ok(held(&self.slots))
    }

    /// Step two: `estimated_bytes` of the memory budget for the render holding `slot`. More
    /// than the whole budget is the request's fault (400). A render that must wait for memory
    /// keeps its slot; an urgent one takes a place in the queue: 503 when MAX_QUEUED_RENDERS
    /// urgent renders already wait (for memory or for a slot).
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
                let _queued = self.join_queue(slot.slot.priority, " (for memory or a slot)")?;
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

    /// Both steps at once, for a visitor's render whose estimate needs no probe under the slot.
    pub async fn admit(&self, estimated_bytes: u64) -> Result<RenderPermit, PictorError> {
        let slot = self.slot().await?;
        self.memory(slot, estimated_bytes).await
    }

    /// Urgent renders waiting for a slot or memory right now.
    pub fn queued(&self) -> usize {
        self.queued.load(Ordering::SeqCst)
    }

    /// Renders holding a slot and not waiting for memory: probing or rendering right now.
    pub fn running(&self, max_concurrent: usize) -> usize {
        max_concurrent
            .saturating_sub(self.slots.free())
            .saturating_sub(self.waiting_for_memory.load(Ordering::SeqCst))
    }

    /// The gate a background render waits at between its steps, with BACKGROUND_WHEN_IDLE
    /// (`None` without: background renders then go on beside visitors').
    pub fn idle_gate(&self) -> Option<IdleGate> {
        self.slots.background_when_idle.then(|| IdleGate {
            slots: self.slots.clone(),
        })
    }

    /// Slots held by background renders right now.
    pub fn background_running(&self) -> usize {
        self.slots.lock().background_held
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[tokio::test]
    async fn refuses_when_the_queue_is_full_and_recovers() {
        let admission = Arc::new(Admission::new(1, 2, 1 << 30, 1, false));
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
        let admission = Arc::new(Admission::new(4, 16, 10 * 1024 * 1024, 1, false));
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
        let admission = Arc::new(Admission::new(1, 4, 1 << 30, 1, false));
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
        let admission = Arc::new(Admission::new(8, 2, 10 * 1024 * 1024, 1, false));
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
        assert_eq!(admission.slots.free(), 8 - 3);
        drop(big);
        for w in waiters {
            w.await.unwrap().unwrap();
        }
        assert_eq!(admission.queued(), 0);
        assert_eq!(admission.slots.free(), 8);
    }

    #[tokio::test]
    async fn a_slot_is_held_between_the_two_steps() {
        let admission = Arc::new(Admission::new(1, 1, 1 << 30, 1, false));
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

    /// Polls `future` once, without a runtime's waker: `Some` when it is ready.
    fn poll_once<F: std::future::Future + Unpin>(future: &mut F) -> Option<F::Output> {
        let mut context = std::task::Context::from_waker(std::task::Waker::noop());
        match std::pin::Pin::new(future).poll(&mut context) {
            std::task::Poll::Ready(output) => Some(output),
            std::task::Poll::Pending => None,
        }
    }

    #[test]
    fn a_freed_slot_goes_to_the_urgent_waiter_before_the_background_one() {
        let admission = Admission::new(2, 8, 1 << 30, 1, false);
        let first = poll_once(&mut Box::pin(admission.slot())).unwrap().unwrap();
        let second = poll_once(&mut Box::pin(admission.slot())).unwrap().unwrap();
        // Both slots taken: a background waiter queues first, then an urgent one.
        let mut background = Box::pin(admission.slot_for(Priority::Background));
        assert!(poll_once(&mut background).is_none());
        let mut urgent = Box::pin(admission.slot());
        assert!(poll_once(&mut urgent).is_none());
        drop(first);
        let urgent = poll_once(&mut urgent).expect("the urgent waiter got the freed slot");
        assert!(urgent.is_ok());
        assert!(
            poll_once(&mut background).is_none(),
            "background still waits"
        );
        assert_eq!(admission.background_running(), 0);
        // The next freed slot, with no urgent render waiting, goes to the background one.
        drop(second);
        let background = poll_once(&mut background).unwrap().unwrap();
        assert_eq!(admission.background_running(), 1);
        drop(background);
        assert_eq!(admission.background_running(), 0);
    }

    #[test]
    fn background_renders_never_hold_more_than_their_share() {
        let admission = Admission::new(4, 8, 1 << 30, 2, false);
        let mut held = Vec::new();
        for _ in 0..2 {
            let slot = poll_once(&mut Box::pin(admission.slot_for(Priority::Background)));
            held.push(slot.unwrap().unwrap());
        }
        // Two slots are free, but the background share (2) is used up.
        let mut third = Box::pin(admission.slot_for(Priority::Background));
        assert!(poll_once(&mut third).is_none());
        assert_eq!(admission.slots.free(), 2);
        assert_eq!(admission.background_running(), 2);
        // Urgent renders still take the free slots at once.
        let urgent = poll_once(&mut Box::pin(admission.slot())).unwrap().unwrap();
        // A background render ending hands its slot to the waiting background one.
        drop(held.pop());
        let third = poll_once(&mut third).unwrap().unwrap();
        assert_eq!(admission.background_running(), 2);
        assert_eq!(admission.slots.free(), 1);
        drop(urgent);
        drop(third);
        drop(held);
        assert_eq!(admission.slots.free(), 4);
        assert_eq!(admission.background_running(), 0);
    }

    #[test]
    fn a_cancelled_background_waiter_gives_its_slot_back() {
        let admission = Admission::new(1, 8, 1 << 30, 1, false);
        let only = poll_once(&mut Box::pin(admission.slot())).unwrap().unwrap();
        let mut background = Box::pin(admission.slot_for(Priority::Background));
        assert!(poll_once(&mut background).is_none());
        // The slot is handed to the waiter, which is dropped before it takes it.
        drop(only);
        drop(background);
        assert_eq!(admission.slots.free(), 1);
        assert_eq!(admission.background_running(), 0);
        // Background waiters do not count against MAX_QUEUED_RENDERS.
        assert_eq!(admission.queued(), 0);
    }

    #[test]
    fn when_idle_a_background_render_waits_for_the_last_urgent_one_to_end() {
        let admission = Admission::new(4, 8, 1 << 30, 1, true);
        let first = poll_once(&mut Box::pin(admission.slot())).unwrap().unwrap();
        let second = poll_once(&mut Box::pin(admission.slot())).unwrap().unwrap();
        // Two slots are free, but urgent renders run: the background one waits.
        let mut background = Box::pin(admission.slot_for(Priority::Background));
        assert!(poll_once(&mut background).is_none());
        assert_eq!(admission.slots.free(), 2);
        drop(first);
        assert!(
            poll_once(&mut background).is_none(),
            "an urgent render still runs"
        );
        assert_eq!(admission.slots.free(), 3);
        drop(second);
        let background = poll_once(&mut background)
            .expect("the last urgent render to end handed it a slot")
            .unwrap();
        assert_eq!(admission.background_running(), 1);
        // Visitors' renders still start at once beside it.
        let urgent = poll_once(&mut Box::pin(admission.slot())).unwrap().unwrap();
        drop(urgent);
        drop(background);
        assert_eq!(admission.slots.free(), 4);
        assert_eq!(admission.background_running(), 0);
    }

    #[test]
    fn the_idle_gate_holds_a_background_render_while_visitors_renders_run() {
        use crate::imaging::pipeline::BetweenSteps;
        let admission = Admission::new(2, 8, 1 << 30, 1, true);
        let gate = admission.idle_gate().expect("BACKGROUND_WHEN_IDLE is on");
        // No visitor's render: no wait.
        gate.wait(None);
        let urgent = poll_once(&mut Box::pin(admission.slot())).unwrap().unwrap();
        // One runs: the gate holds until the deadline...
        let start = Instant::now();
        gate.wait(Some(start + Duration::from_millis(50)));
        assert!(start.elapsed() >= Duration::from_millis(50));
        // ...or until the render ends.
        let (done, woken) = std::sync::mpsc::channel();
        let waiting = gate.clone();
        let thread = std::thread::spawn(move || {
            waiting.wait(None);
            done.send(()).unwrap();
        });
        assert!(
            woken.recv_timeout(Duration::from_millis(100)).is_err(),
            "still held"
        );
        drop(urgent);
        woken
            .recv_timeout(Duration::from_secs(10))
            .expect("let go when the visitor's render ended");
        thread.join().unwrap();
        assert!(Admission::new(2, 8, 1 << 30, 1, false)
            .idle_gate()
            .is_none());
    }
}
