//! Background work: paths to render into result storage without a visitor waiting (pre-heat,
//! the presets of a new upload, `regenerate --enqueue`; `regenerate` itself renders the same
//! way in its own process). One path's render is `render_path`. A job is a list of paths
//! written as after the signature (`300x200/a.jpg`); [`Background::submit`] queues them and
//! answers a [`JobId`] at once, workers render them through the normal imaging path at
//! background priority (`server::admission`: never ahead of a visitor, at most
//! BACKGROUND_RENDERS slots), and [`Background::status`] counts what became of them.
//!
//! The queue is in process (bounded by BACKGROUND_QUEUE_SIZE) unless BACKGROUND_QUEUE=sqs
//! (`sqs`), where every instance of a fleet consumes one backlog.

pub mod message;
pub mod regenerate;
pub mod render_path;
pub mod settings;
pub mod sqs;
pub mod status;

use crate::error::PictorError;
use crate::metrics::METRICS;
use message::QueueMessage;
use settings::{BackgroundSettings, QueueKind};
use sqs::SqsQueue;
use status::{JobStatus, JobTable, PathOutcome};
use std::collections::VecDeque;
use std::future::Future;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;
use tokio::sync::Notify;

/// What the workers need of the server: the queue it owns and a render of one path into
/// result storage. A trait, so that this module does not import the server (which holds the
/// queue in its `App`): `render_path` implements it for `App`.
pub trait BackgroundRenderer: Send + Sync + 'static {
    /// The queue the workers take paths from.
    fn background(&self) -> &Background;
    /// Renders `path` (as after the signature) into result storage at background priority.
    fn render_to_storage(
        &self,
        path: &str,
    ) -> impl Future<Output = Result<StoredOutcome, PictorError>> + Send;
}

/// What a background render of one path did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StoredOutcome {
    /// Rendered and written to result storage.
    Rendered,
    /// Result storage held it (every variant) already: a lookup, no render.
    AlreadyStored,
}

/// After the shared queue could not be reached, a worker waits this long before asking again.
const QUEUE_RETRY: Duration = Duration::from_secs(5);

/// What a job's status says when its paths are on a fleet's shared queue.
const SHARED_QUEUE_NOTE: &str = "BACKGROUND_QUEUE=sqs: done counts the paths this instance \
    rendered (or found stored); other instances count theirs, and failed attempts are retried, \
    then moved to the dead-letter queue by the queue's redrive policy";

/// A job's name: 16 hex digits, unique within an instance's lifetime and unlikely to repeat
/// across a fleet.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct JobId(pub String);

impl std::fmt::Display for JobId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl JobId {
    fn new() -> JobId {
        use std::hash::BuildHasher;
        static NEXT: AtomicU64 = AtomicU64::new(0);
        let sequence = NEXT.fetch_add(1, Ordering::Relaxed);
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap_or_default()
            .as_nanos();
        // RandomState is seeded from the OS once per process: ids of two instances differ.
        let hash = std::hash::RandomState::new().hash_one((sequence, nanos, std::process::id()));
        JobId(format!("{hash:016x}"))
    }
}

/// One path of one job, waiting.
#[derive(Debug, Clone)]
struct Task {
    job: String,
    path: String,
}

/// The in-process backlog: bounded, all of a job's paths queued or none.
struct InProcessQueue {
    tasks: Mutex<VecDeque<Task>>,
    ready: Notify,
    capacity: usize,
}

/// The background queue and the jobs this instance accepted.
pub struct Background {
    settings: BackgroundSettings,
    jobs: Mutex<JobTable>,
    queue: InProcessQueue,
    /// With BACKGROUND_QUEUE=sqs, the fleet's queue (then `queue` stays empty).
    shared: Option<SqsQueue>,
}

fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    // Nothing panics while holding these locks; a poisoned one still holds consistent data.
    mutex
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

impl Background {
    pub fn new(settings: &BackgroundSettings) -> Background {
        Background {
            settings: settings.clone(),
            jobs: Mutex::new(JobTable::default()),
            queue: InProcessQueue {
                tasks: Mutex::new(VecDeque::new()),
                ready: Notify::new(),
                capacity: settings.queue_size,
            },
            shared: (settings.queue == QueueKind::Sqs).then(|| SqsQueue::new(settings)),
        }
    }

    /// Queues `paths` (as after the signature) as one job owned by no app (uploads,
    /// regenerate). See [`Background::submit_for`].
    pub async fn submit(&self, paths: Vec<String>) -> Result<JobId, PictorError> {
        self.submit_for("", paths).await
    }

    /// Queues `paths` as one job whose status only `owner` (an app name) may read. In process,
    /// all paths are queued or none: a full queue is a 503 (`Overloaded`), as is a shared
    /// queue that cannot be reached.
    pub async fn submit_for(&self, owner: &str, paths: Vec<String>) -> Result<JobId, PictorError> {
        let id = JobId::new();
        if let Some(shared) = &self.shared {
            let messages: Vec<QueueMessage> = paths
                .into_iter()
                .map(|path| QueueMessage {
                    job: id.0.clone(),
                    path,
                })
                .collect();
            lock(&self.jobs).insert(&id.0, owner, messages.len());
            if let Err(e) = shared.send(&messages).await {
                lock(&self.jobs).remove(&id.0);
                return Err(e);
            }
            return Ok(id);
        }
        let mut tasks = lock(&self.queue.tasks);
        if tasks.len() + paths.len() > self.queue.capacity {
            return Err(PictorError::Overloaded(format!(
                "background queue full: {} paths waiting, BACKGROUND_QUEUE_SIZE={}",
                tasks.len(),
                self.queue.capacity
            )));
        }
        lock(&self.jobs).insert(&id.0, owner, paths.len());
        tasks.extend(paths.into_iter().map(|path| Task {
            job: id.0.clone(),
            path,
        }));
        METRICS
            .background_queued
            .store(tasks.len() as u64, Ordering::Relaxed);
        drop(tasks);
        self.queue.ready.notify_waiters();
        Ok(id)
    }

    /// What became of job `id` so far, if `owner` submitted it here and it is still kept.
    pub fn status(&self, id: &str, owner: &str) -> Option<JobStatus> {
        let mut status = lock(&self.jobs).status(id, owner)?;
        if self.shared.is_some() {
            status.note = Some(SHARED_QUEUE_NOTE);
        }
        Some(status)
    }

    /// Starts the workers: BACKGROUND_RENDERS of them, each rendering one path at a time, so
    /// background work never waits for more slots than it may hold.
    pub fn start_workers<R: BackgroundRenderer>(app: &Arc<R>) {
        for _ in 0..app.background().settings.background_renders {
            let app = app.clone();
            if app.background().shared.is_some() {
                tokio::spawn(async move { shared_queue_worker(app).await });
            } else {
                tokio::spawn(async move { in_process_worker(app).await });
            }
        }
    }

    /// The next queued task, waiting for one.
    async fn next_task(&self) -> Task {
        loop {
            // Registered before looking, so a submit between the look and the wait still wakes
            // this worker.
            let ready = self.queue.ready.notified();
            tokio::pin!(ready);
            ready.as_mut().enable();
            {
                let mut tasks = lock(&self.queue.tasks);
                if let Some(task) = tasks.pop_front() {
                    METRICS
                        .background_queued
                        .store(tasks.len() as u64, Ordering::Relaxed);
                    return task;
                }
            }
            ready.await;
        }
    }

    fn record(&self, task: &Task, outcome: PathOutcome) {
        lock(&self.jobs).record(&task.job, &task.path, outcome);
    }

    /// BACKGROUND_QUEUE and its keys.
    pub fn settings(&self) -> &BackgroundSettings {
        &self.settings
    }
}

async fn in_process_worker<R: BackgroundRenderer>(app: Arc<R>) {
    loop {
        let task = app.background().next_task().await;
        let outcome = render_path(&*app, &task.path).await;
        app.background().record(&task, outcome);
    }
}

/// Takes paths from the fleet's queue one at a time; deletes a message only once its result
/// is stored, so a crash mid-render (or a failed render) leaves it to be delivered again.
async fn shared_queue_worker<R: BackgroundRenderer>(app: Arc<R>) {
    let Some(queue) = &app.background().shared else {
        return;
    };
    loop {
        let received = match queue.receive().await {
            Ok(Some(received)) => received,
            Ok(None) => continue,
            Err(e) => {
                tracing::warn!(error = %e, "background queue: receive failed; retrying");
                tokio::time::sleep(QUEUE_RETRY).await;
                continue;
            }
        };
        let message = match QueueMessage::parse(&received.body) {
            Ok(message) => message,
            Err(e) => {
                // Not deleted: the redrive policy moves it to the dead-letter queue.
                METRICS.background_failed.fetch_add(1, Ordering::Relaxed);
                tracing::warn!(error = %e, "background queue: a message that is not a path job");
                continue;
            }
        };
        let outcome = render_path(&*app, &message.path).await;
        if matches!(outcome, PathOutcome::Failed(_)) {
            // Left on the queue: delivered again after the visibility timeout, until the
            // redrive policy gives up on it. Not counted in the job: it may yet succeed.
            continue;
        }
        if let Err(e) = queue.delete(&received.receipt).await {
            // Delivered again later; the render then finds the result stored.
            tracing::warn!(error = %e, "background queue: delete failed");
        }
        lock(&app.background().jobs).record(&message.job, &message.path, outcome);
    }
}

/// Renders one path into result storage and counts the outcome in /metrics.
async fn render_path<R: BackgroundRenderer>(app: &R, path: &str) -> PathOutcome {
    match app.render_to_storage(path).await {
        Ok(StoredOutcome::Rendered) => {
            METRICS.background_renders.fetch_add(1, Ordering::Relaxed);
            PathOutcome::Rendered
        }
        Ok(StoredOutcome::AlreadyStored) => {
            METRICS
                .background_already_stored
                .fetch_add(1, Ordering::Relaxed);
            PathOutcome::AlreadyStored
        }
        Err(e) => {
            METRICS.background_failed.fetch_add(1, Ordering::Relaxed);
            tracing::info!(path, error = %e, "background render failed");
            PathOutcome::Failed(failure_reason(&e))
        }
    }
}

/// The reason a job's status gives for a failed path: the error's own words where they say
/// only what the path asked for, the public line where they could name loader roots or origins.
fn failure_reason(e: &PictorError) -> String {
    match e {
        PictorError::NotFound(_)
        | PictorError::BadGateway(_)
        | PictorError::GatewayTimeout(_)
        | PictorError::Internal(_) => format!("{}: {}", e.status().as_u16(), e.public_reason()),
        _ => format!("{}: {e}", e.status().as_u16()),
    }
}
